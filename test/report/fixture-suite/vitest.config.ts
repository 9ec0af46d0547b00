// The validation's own configuration (reporters, global setup, one worker), running the scenario suite in this
// directory instead of suites/: the report tests exercise control() and the compliance reporter end to end without
// SPIRE. SPIRE_VALIDATION_REPORTS_DIR points it at a scratch reports directory; FIXTURE_ALLURE_CLI replaces the
// allure CLI (a broken one proves the HTML report cannot fail a passing run).
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import base from '../../../vitest.config.ts';

const reports = process.env.SPIRE_VALIDATION_REPORTS_DIR ?? 'reports/selftest/fixture';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/report/fixture-suite/*.check.ts'],
    reporters: [
      'default',
      ['allure-vitest/reporter', { resultsDir: join(reports, 'allure-results') }],
      ['./lib/report/reporter.ts', process.env.FIXTURE_ALLURE_CLI ? { allureCli: process.env.FIXTURE_ALLURE_CLI } : {}],
    ],
  },
});
