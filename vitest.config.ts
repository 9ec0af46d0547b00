// The full validation: the ordered phases in suites/, run one after the other in a single worker that shares
// module state (the fixtures started by one phase are used by the next). The suite's own tests have their own
// config in test/ and never run in the same invocation: both touch the host.

import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { loadConfig } from './lib/config.ts';
import { PHASES } from './lib/controls.ts';
import { verdictPlugin } from './lib/report/verdict-plugin.ts';
import { phaseSelection } from './lib/selection.ts';

/** Runs suites/NN-*.test.ts strictly by file name; the default sequencer reorders by past failures and duration. */
class ByFileName extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

/** The configured reports directory; an invalid configuration is reported by the global setup, not here. */
function reportsDir(): string {
  try {
    return loadConfig().reportsDir;
  } catch {
    return resolve(process.env.SPIRE_VALIDATION_REPORTS_DIR ?? 'reports');
  }
}

/**
 * The phase files the run loads: all of them, or those of the phase selection (`phases`, `until`). The controls of
 * the others are in the matrix as "not selected". An invalid configuration loads them all; the global setup stops it.
 */
function suiteFiles(): string[] {
  try {
    const selection = phaseSelection(loadConfig());
    if (selection.all) return ['suites/**/*.test.ts'];
    return selection.phases.map((phase) => `suites/${PHASES[phase].order}-*.test.ts`);
  } catch {
    return ['suites/**/*.test.ts'];
  }
}

const allureResults = join(reportsDir(), 'allure-results');

export default defineConfig({
  // Whatever --reporter the user passes, the compliance reporter (matrix, JUnit, Allure, secret scan, exit status)
  // still runs, after allure-vitest.
  plugins: [verdictPlugin(allureResults)],
  test: {
    include: suiteFiles(),
    pool: 'forks',
    isolate: false,
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { sequencer: ByFileName },
    // Each wait inside a phase carries its own, shorter timeout; these only catch a fixture that forgot one.
    testTimeout: 20 * 60_000,
    hookTimeout: 20 * 60_000,
    globalSetup: ['fixtures/global-setup.ts'],
    // The compliance reporter (matrix, JUnit, Allure completion, HTML) must come after allure-vitest; the plugin above
    // keeps it so when --reporter replaces these.
    reporters: ['default', ['allure-vitest/reporter', { resultsDir: allureResults }], './lib/report/reporter.ts'],
  },
});
