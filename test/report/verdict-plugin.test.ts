// The verdict plugin's rule: whatever reporters vitest resolved, allure-vitest and then the compliance reporter come
// last, once each, keeping the options the configuration gave them. (The end-to-end proof, a BLOCKED-only run that
// exits 1 under --reporter=dot and --reporter=junit, is in control.test.ts.)
import { describe, expect, test } from 'vitest';
import { withComplianceReporters } from '../../lib/report/verdict-plugin.ts';

describe('withComplianceReporters', () => {
  test('--reporter=junit alone: allure-vitest and the compliance reporter are appended, in that order', () => {
    expect(withComplianceReporters([['junit', {}]], '/r/allure-results')).toEqual([
      ['junit', {}],
      ['allure-vitest/reporter', { resultsDir: '/r/allure-results' }],
      ['./lib/report/reporter.ts', {}],
    ]);
  });

  test('the configured ones keep their options and move after the others; nothing is doubled', () => {
    const configured = [
      ['./lib/report/reporter.ts', { allureCli: '/x' }],
      ['default', {}],
      ['allure-vitest/reporter', { resultsDir: '/elsewhere' }],
      ['dot', {}],
    ];
    expect(withComplianceReporters(configured, '/r/allure-results')).toEqual([
      ['default', {}],
      ['dot', {}],
      ['allure-vitest/reporter', { resultsDir: '/elsewhere' }],
      ['./lib/report/reporter.ts', { allureCli: '/x' }],
    ]);
  });

  test('an absolute path to the compliance reporter counts as it', () => {
    const out = withComplianceReporters([['/repo/lib/report/reporter.ts', {}]], '/r');
    expect(out.filter((entry) => String((entry as unknown[])[0]).endsWith('lib/report/reporter.ts'))).toHaveLength(1);
  });
});
