// Allure 3 report configuration (npm `allure`). The validation generates the report after every run
// (lib/report/html.ts); by hand: `npx allure generate reports/allure-results --config allurerc.mjs`.
// One self-contained HTML file, the tree grouped by epic (the seed's phase) and feature (the suite's phase), and a
// history file next to the reports that survives runs (the nightly workflow restores and saves it).
import { resolve } from 'node:path';
import { defineConfig } from 'allure';

const reports = resolve(process.env.SPIRE_VALIDATION_REPORTS_DIR ?? 'reports');

export default defineConfig({
  name: 'SPIFFE/SPIRE Kubernetes validation',
  output: resolve(reports, 'html'),
  historyPath: resolve(reports, 'history.jsonl'),
  // `npm run report` regenerates the report of the same run without adding it to the history again.
  appendHistory: process.env.SPIRE_VALIDATION_APPEND_HISTORY !== '0',
  historyLimit: 100,
  plugins: {
    awesome: {
      options: {
        reportName: 'SPIFFE/SPIRE Kubernetes validation',
        singleFile: true,
        reportLanguage: 'en',
        groupBy: ['epic', 'feature'],
        // Phases by their number, controls by their id ("order" would put the controls that did not run last).
        defaultSortBy: 'name,asc',
      },
    },
  },
  // The `failureCategory` label is set after the run from the control matrix (lib/report/categories.ts).
  categories: {
    rules: [
      { name: 'WARN: failed below the fail-on severity', matchers: { labels: { failureCategory: 'warning' } } },
      { name: 'Infrastructure not ready', matchers: { labels: { failureCategory: 'infrastructure' } } },
      { name: 'Identity / mTLS defect', matchers: { labels: { failureCategory: 'identity' } } },
      { name: 'Blocked by a prerequisite', matchers: { labels: { failureCategory: 'blocked' } } },
      { name: 'Not run or not applicable', matchers: { labels: { failureCategory: 'not-run' } } },
      { name: 'Test errors', matchers: { statuses: ['broken'] } },
    ],
  },
});
