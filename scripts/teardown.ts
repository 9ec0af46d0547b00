// `npm run teardown`: stops everything the suite left running on this host — what a KEEP=1 run kept (the cluster,
// SPIRE, containers, registration entries, dockerd), or what a killed run left — and only that (the host ledger and
// the cluster's state file). Refuses while a validation run owns the host.
//
// `node scripts/teardown.ts --interrupted SIGINT --since <ms>`: run by the interrupted validation's main process
// (fixtures/interrupt.ts), which holds the host lock: the same teardown, then the control the run was in is marked
// failed ("interrupted") and the reports are written (compliance.json/.md, junit.xml; no HTML).
// Exit 0 when the teardown ran to its end, 1 when a step failed, 2 on an invalid configuration or a held lock.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopEverything } from '../fixtures/host-teardown.ts';
import { loadConfigOrExplain, type SuiteConfig } from '../lib/config.ts';
import { acquireHostLock, HostLockedError } from '../lib/host-lock.ts';
import { redact } from '../lib/redact.ts';
import { observedFromAllureResults } from '../lib/report/allure-results.ts';
import { REPO_ROOT, readCurrentControl, withStoppedControl } from '../lib/report/reporter.ts';
import { writeReports } from '../lib/report/write.ts';
import { runFile } from '../lib/run-files.ts';

const log = (line: string) => process.stderr.write(`[teardown] ${redact(line)}\n`);

async function reportInterrupted(config: SuiteConfig, signal: string, since: number): Promise<void> {
  const current = readCurrentControl(runFile(config.reportsDir, 'currentControl'), since);
  const tests = observedFromAllureResults(join(config.reportsDir, 'allure-results'));
  const during = current ? ` during ${current}` : '';
  const result = await writeReports({
    config,
    repoRoot: REPO_ROOT,
    runStartedAt: since,
    tests: current
      ? withStoppedControl(tests, current, `interrupted by ${signal} while ${current} was running; not judged`)
      : tests,
    notRunReason: `not run (the run was interrupted by ${signal}${during})`,
    html: false,
  });
  process.stdout.write(`\n${result.console}`);
  log(`${signal}${during}: reports written to ${config.reportsDir} (no HTML report: \`npm run report\` makes it)`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { interrupted: { type: 'string' }, since: { type: 'string' } },
  });
  const config = loadConfigOrExplain();
  if (!config) return 2;
  if (values.interrupted) {
    // The teardown must finish: a second Ctrl+C reaches this process too (same process group).
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => log(`${signal} ignored: the teardown is under way and ends by itself (bounded)`));
    }
    await stopEverything(config, log);
    await reportInterrupted(config, values.interrupted, Number(values.since ?? Date.now()));
    return 0;
  }
  let lock: ReturnType<typeof acquireHostLock>;
  try {
    lock = acquireHostLock(config.stateDir, { checkout: process.cwd(), reportsDir: config.reportsDir });
  } catch (error) {
    if (!(error instanceof HostLockedError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  try {
    if (lock.stale)
      log(`a run that no longer exists held the host lock (pid ${lock.stale.pid}); cleaning what it left`);
    await stopEverything(config, log);
    log('done: what the host ledger and the cluster state listed was stopped (each line above says how)');
    return 0;
  } finally {
    lock.release();
  }
}

process.exitCode = await main().catch((error: Error) => {
  log(`failed: ${error.stack ?? error.message}`);
  return 1;
});
