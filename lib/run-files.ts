// The files a validation run keeps under <reportsDir>/run/, and their types: the worker writes them while the phases
// run, the reporter (another process) and `npm run report` / `npm run diagnose` read them afterwards. One module owns
// their names and shapes, so writer and readers cannot drift apart.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_FILES = {
  /** Every control's outcome, rewritten after each control (RecordedOutcome[]). */
  outcomes: 'outcomes.json',
  /** The worker that runs the phases: { pid, phase: running | stopped, at } (WorkerState). */
  worker: 'worker.json',
  /** The control running now; removed when it ends, so a crashed worker still names it (CurrentControl). */
  currentControl: 'current-control.json',
  /** What only the worker knows: provider, runtime, attestation mode, kubeconfig (RunFactsRecord). */
  runFacts: 'run-facts.json',
  /** Which source served each component (fixtures/artifacts). */
  artifacts: 'artifacts.json',
  /** The cluster provider chosen and why (fixtures/cluster/provider.ts). */
  clusterProvider: 'cluster-provider.json',
  /** Before the ledger was host-wide (fixtures/run-context.ts ledgerFile): what a run of this checkout started. */
  formerLedger: 'started.json',
} as const;

export type RunFileName = keyof typeof RUN_FILES;

export function runDir(reportsDir: string): string {
  return join(reportsDir, 'run');
}

export function runFile(reportsDir: string, name: RunFileName): string {
  return join(runDir(reportsDir), RUN_FILES[name]);
}

/** Writes one run file as JSON (creating run/). */
export function writeRunFile(reportsDir: string, name: RunFileName, value: unknown): string {
  mkdirSync(runDir(reportsDir), { recursive: true });
  const file = runFile(reportsDir, name);
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

/** Reads one run file, or undefined when it is missing or unreadable. */
export function readRunFile<T>(reportsDir: string, name: RunFileName): T | undefined {
  try {
    return JSON.parse(readFileSync(runFile(reportsDir, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Why a control was not judged. Accepted (the run may pass): `not-applicable` (by design, in a situation the catalogue
 * names), `waived` (the user's waiver), `not-selected` (the user's phase selection). Not accepted (BLOCKED when the
 * control is required): `blocked` (a prerequisite failed, or a handle it needs was never provided), `unjudged` (it
 * could not be judged here and none of the accepted reasons applies), `not-run` (the run never reached it).
 */
export type SkipKind = 'blocked' | 'not-applicable' | 'waived' | 'not-selected' | 'unjudged' | 'not-run';
export const SKIP_KINDS: readonly SkipKind[] = [
  'blocked',
  'not-applicable',
  'waived',
  'not-selected',
  'unjudged',
  'not-run',
];
/** The kinds a passing run accepts: the control was not judged for a reason the report prints. */
export const ACCEPTED_SKIPS: readonly SkipKind[] = ['not-applicable', 'waived', 'not-selected'];

/** `warned`: the control failed, but its severity is below `failOnSeverity`. */
export type OutcomeStatus = 'passed' | 'failed' | 'warned' | 'skipped';

/** What the worker recorded for a control. */
export interface RecordedOutcome {
  id: string;
  status: OutcomeStatus;
  /** For a skipped control: why it did not run. */
  skip?: SkipKind;
  /** For a blocked control: the control whose failure is the root cause. */
  rootCause?: string;
  /** Why it failed, warned or was skipped. */
  reason?: string;
  /** Set when a broken layer under the control is the root cause (health gate): that layer's remediation. */
  remediation?: string;
  /** Paths (relative to the reports dir) of the evidence kept for it. */
  evidence: string[];
  /** Measured figures the control reports (e.g. time to detection and to recovery), name → value with its unit. */
  figures?: Record<string, string>;
  durationMs: number;
  /** Of durationMs, the time spent waiting for a condition (lib/wait.ts waitFor); the rest is work. */
  waitedMs?: number;
  finishedAt: string;
}

export function readOutcomes(reportsDir: string): RecordedOutcome[] {
  return readRunFile<RecordedOutcome[]>(reportsDir, 'outcomes') ?? [];
}

export interface WorkerState {
  pid: number;
  phase: 'running' | 'stopped';
  at: string;
}

export interface CurrentControl {
  id: string;
  startedAt: string;
}

export interface RunFactsRecord {
  at: string;
  provider?: string;
  runtime?: string;
  attestation?: string;
  kubeconfig?: string;
}

/** The cluster provider a run chose and why the others were passed over (fixtures/cluster/provider.ts). */
export interface ClusterProviderRecord {
  requested?: string;
  served?: string;
  passedOver?: Array<{ name: string; reasons: string[] }>;
  kubeconfig?: string;
  at?: string;
}

/** Which source served each component (fixtures/artifacts). */
export interface ArtifactsRecord {
  artifacts?: unknown[];
}
