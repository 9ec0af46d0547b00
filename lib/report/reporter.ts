// The vitest reporter that writes the reports after every validation run. It runs in vitest's main process, so it
// still reports when the worker crashed: what the worker recorded (outcomes.json) is merged with what vitest saw
// (timeouts, crashes), and every control the run never reached is in the matrix as "not run". It must come after
// allure-vitest in `reporters` (allure-vitest writes its results synchronously in its own onTestRunEnd).
// Its console summary is the last thing the run prints; a FAIL — of a control, or of the secret scan of the reports
// (once after writing them, again over what the worker's teardown changed) — sets the exit status; the HTML report's
// failure is reported and never changes the exit status.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';
import { ConfigError, loadConfig } from '../config.ts';
import { refusedBy } from '../host-lock.ts';
import { runFile } from '../run-files.ts';
import { controlIdOf, type ObservedTest, plain } from './matrix.ts';
import { recordSecretScan, type WriteReportsResult, writeReports } from './write.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** At most this long, the summary waits for the worker's teardown (stopping the cluster, SPIRE, containers). */
const TEARDOWN_WAIT_MS = 10 * 60_000;

export function observedTests(testModules: ReadonlyArray<TestModule>): { tests: ObservedTest[]; unmapped: string[] } {
  const tests: ObservedTest[] = [];
  const unmapped: string[] = [];
  for (const module of testModules) {
    for (const test of module.children.allTests()) {
      const id = controlIdOf(test.name);
      if (!id) {
        unmapped.push(test.name);
        continue;
      }
      const result = test.result();
      const durationMs = test.diagnostic()?.duration;
      const message =
        result.state === 'failed'
          ? plain(result.errors?.[0]?.message ?? 'failed')
          : result.state === 'skipped'
            ? result.note
            : undefined;
      tests.push({
        id,
        state: result.state,
        ...(message !== undefined ? { message } : {}),
        ...(durationMs !== undefined ? { durationMs } : {}),
      });
    }
  }
  return { tests, unmapped };
}

/** The control a worker of this run was in when it stopped (a marker left by an earlier run does not count). */
export function readCurrentControl(file: string, since: number): string | undefined {
  try {
    const marker = JSON.parse(readFileSync(file, 'utf8')) as { id?: string; startedAt?: string };
    return Date.parse(marker.startedAt ?? '') >= since - 1000 ? marker.id : undefined;
  } catch {
    return undefined;
  }
}

/** What vitest saw, with the control the run stopped in marked failed (it recorded nothing itself). */
export function withStoppedControl(tests: ObservedTest[], current: string, message: string): ObservedTest[] {
  return [...tests.filter((test) => test.id !== current), { id: current, state: 'failed', message }];
}

/** True while the worker that ran the phases (fixtures/control.ts writes run/worker.json) is still tearing down. */
function workerTearingDown(file: string, since: number): boolean {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number; phase?: string; at?: string };
    if (state.phase !== 'running' || !state.pid || Date.parse(state.at ?? '') < since - 1000) return false;
    process.kill(state.pid, 0);
    return true;
  } catch {
    // No state file, unreadable, or the worker is gone (a crashed worker never reports "stopped").
    return false;
  }
}

export interface ComplianceReporterOptions {
  /** The allure CLI to generate the HTML with (default node_modules/allure/cli.js). */
  allureCli?: string;
  htmlTimeoutMs?: number;
}

export default class ComplianceReporter implements Reporter {
  private startedAt = Date.now();
  private runId: string = randomUUID();
  private readonly options: ComplianceReporterOptions;

  constructor(options: ComplianceReporterOptions = {}) {
    this.options = options;
  }

  onInit(): void {
    this.startedAt = Date.now();
    this.runId = randomUUID();
  }

  async onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): Promise<void> {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig();
    } catch (error) {
      // The global setup already printed the invalid configuration; no phase ran, nothing to report.
      if (error instanceof ConfigError) return;
      throw error;
    }
    // Refused by the global setup: another run owns the host, and its reports may be these very files.
    const owner = refusedBy();
    if (owner) {
      process.exitCode = 1;
      process.stderr.write(
        `\n[report] no reports written: the run owning the host (pid ${owner.pid}) writes its own\n`,
      );
      return;
    }
    const { tests, unmapped } = observedTests(testModules);
    const first = unhandledErrors[0];
    const stopped = first ? plain((first.cause ?? first).message ?? 'unhandled error').split('\n')[0] : undefined;
    const notRunReason =
      reason === 'interrupted'
        ? 'not run (the run was interrupted)'
        : stopped
          ? `not run (the run stopped: ${stopped})`
          : 'not run';
    // The control the worker was in when it died (control() removes the marker when a control ends).
    const current = readCurrentControl(runFile(config.reportsDir, 'currentControl'), this.startedAt);
    const observed =
      current && stopped
        ? withStoppedControl(tests, current, `the run stopped while ${current} was running: ${stopped}`)
        : tests;
    let result: WriteReportsResult;
    try {
      result = await writeReports({
        config,
        repoRoot: REPO_ROOT,
        runStartedAt: this.startedAt,
        runId: config.runId ?? this.runId,
        tests: observed,
        unmapped,
        notRunReason,
        allureCli: this.options.allureCli,
        htmlTimeoutMs: this.options.htmlTimeoutMs,
      });
    } catch (error) {
      process.exitCode = 1;
      process.stderr.write(`\n[report] the control matrix could not be written: ${(error as Error).stack}\n`);
      return;
    }
    // The worker stops what the run started concurrently with this (vitest stops it when the last file finished);
    // print the summary after that, so it ends the output.
    const state = runFile(config.reportsDir, 'worker');
    const deadline = Date.now() + TEARDOWN_WAIT_MS;
    while (workerTearingDown(state, this.startedAt) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The teardown writes too (logs of the stopping cluster, the ledger): what changed since the scan is scanned again.
    try {
      result = recordSecretScan(config.reportsDir, result, Date.parse(result.document.secretScan?.at ?? '') || 0);
    } catch (error) {
      process.exitCode = 1;
      process.stderr.write(`\n[report] the secret scan after the teardown failed: ${(error as Error).stack}\n`);
    }
    if (result.document.result === 'failed') process.exitCode = 1;
    process.stdout.write(`\n${result.console}`);
  }
}
