// The full validation: the ordered phases in suites/, run one after the other in a single worker that shares
// module state (the fixtures started by one phase are used by the next). The suite's own tests have their own
// config in test/ and never run in the same invocation: both touch the host.

import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Runs suites/NN-*.test.ts strictly by file name; the default sequencer reorders by past failures and duration. */
class ByFileName extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
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
    reporters: ['default', ['allure-vitest/reporter', { resultsDir: 'reports/allure-results' }]],
  },
});
