// The full validation: the ordered phases in suites/, run one after the other in a single worker that shares
// module state (the fixtures started by one phase are used by the next). The suite's own tests have their own
// config in test/ and never run in the same invocation: both touch the host.

import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { loadConfig } from './lib/config.ts';

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

export default defineConfig({
  test: {
    include: ['suites/**/*.test.ts'],
    pool: 'forks',
    isolate: false,
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { sequencer: ByFileName },
    // Each wait inside a phase carries its own, shorter timeout; these only catch a fixture that forgot one.
    testTimeout: 20 * 60_000,
    hookTimeout: 20 * 60_000,
    globalSetup: ['fixtures/global-setup.ts'],
    // The compliance reporter (matrix, JUnit, Allure completion, HTML) must come after allure-vitest.
    reporters: [
      'default',
      ['allure-vitest/reporter', { resultsDir: join(reportsDir(), 'allure-results') }],
      './lib/report/reporter.ts',
    ],
  },
});
