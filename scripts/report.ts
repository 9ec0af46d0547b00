// `npm run report`: writes the reports again from what the last validation run left in the reports directory
// (outcomes, evidence, Allure results) — compliance.json/.md, junit.xml, the completed Allure results and the HTML
// report — and prints the control matrix summary. The validation does all of this itself after every run; this is
// for regenerating after a crash of the reporter, or after changing allurerc.mjs. It does not add the run to the
// report history again. Exit 1 when a control failed (as the run did), 2 on an invalid configuration.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExplain } from '../lib/config.ts';
import { observedFromAllureResults } from '../lib/report/allure-results.ts';
import { writeReports } from '../lib/report/write.ts';

async function main(): Promise<number> {
  const config = loadConfigOrExplain();
  if (!config) return 2;
  const tests = observedFromAllureResults(join(config.reportsDir, 'allure-results'));
  // The same run's reports, rewritten: they keep its identifier.
  const previous = (() => {
    try {
      return (JSON.parse(readFileSync(join(config.reportsDir, 'compliance.json'), 'utf8')) as { runId?: string }).runId;
    } catch {
      return undefined;
    }
  })();
  const result = await writeReports({
    config,
    repoRoot: fileURLToPath(new URL('..', import.meta.url)),
    runStartedAt: 0,
    ...(previous ? { runId: previous } : {}),
    tests,
    appendHistory: false,
  });
  process.stdout.write(result.console);
  return result.document.result === 'failed' ? 1 : 0;
}

process.exitCode = await main();
