// The seeded-defect matrix (mutation testing of the validator): real validation runs (`vitest run`, child processes,
// real SPIRE, Docker and the local cluster) against deliberately broken deployments (./cases.ts). Each case must end
// with a non-zero exit, the named control FAIL in compliance.json, that control's remediation in the console, and
// the time from the start of the run to that control's verdict is measured. The table of what was measured goes to
// reports/seeded-defects.md.
//
// One cluster serves the whole matrix: a healthy baseline run starts it cold with KEEP=1 (and proves the same set-up
// passes without a defect, every phase, resilience included), the cases reuse it with KEEP=1, the last case runs
// without KEEP and stops everything. Each case runs only the phase its verdict needs and the controls that phase
// depends on (phase selection, `phases`), and reads only its own run's report (its run id). Before each case the workload Deployment is deleted,
// so every case judges a pod of its own deployment.
// Never beside another validation or the cluster tests: the matrix waits until it has the host to itself.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ClusterProvider } from '../../fixtures/cluster/provider.ts';
import { selectProvider } from '../../fixtures/cluster/select.ts';
import { connect, type Kube } from '../../fixtures/kube.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { ledgerFile, type Outcome } from '../../fixtures/run-context.ts';
import { loadConfig, podLabel, type SuiteConfig } from '../../lib/config.ts';
import { getControl } from '../../lib/controls.ts';
import type { MatrixRow } from '../../lib/report/matrix.ts';
import type { ComplianceDocument } from '../../lib/report/write.ts';
import { waitFor } from '../../lib/wait.ts';
import { type ChildRun, REPO_ROOT, readCompliance, runVitest, waitForExclusiveHost } from '../report/helpers.ts';
import {
  CASES,
  type CaseContext,
  casePhases,
  type DefectCase,
  LOCAL_HOST_SPIRE,
  supportedTopology,
  VARIANT_IMAGE,
  variantManifest,
} from './cases.ts';

const REPORTS = join(REPO_ROOT, 'reports', 'selftest', 'seeded-defects');
const TABLE = join(REPO_ROOT, 'reports', 'seeded-defects.md');
const PRODUCT_MANIFEST = join(REPO_ROOT, 'manifests', 'mtls-app.yaml');
const VARIANT_DIR = join(REPO_ROOT, 'test', 'seeded', 'variant');
const RUN_TIMEOUT_MS = 30 * 60_000;

const log = (line: string) => process.stderr.write(`[seeded] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Measured {
  defect: string;
  /** provider / SPIRE topology / nodes, and the phases run. */
  where: string;
  expected: string;
  exitCode: number | null;
  /** Controls that ended FAIL, and WARN, in catalogue order. */
  failed: string[];
  warned: string[];
  /** Seconds from the start of the run to the expected control's verdict (or the first FAIL's, when none is named). */
  detectionSeconds: number | undefined;
  runSeconds: number;
}

const measured: Measured[] = [];

function writeTable(): void {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const lines = [
    '# Seeded-defect matrix',
    '',
    `Measured ${new Date().toISOString()} by test/seeded/seeded-defects.test.ts: one real validation run per defect ` +
      '(the first a healthy baseline that starts the shared local cluster). Seconds to detection: from the start of ' +
      "the run (`vitest run` spawned) to the failing control's verdict (its finishedAt in compliance.json).",
    '',
    '| defect | where (provider, SPIRE, nodes; phases) | expected | controls FAIL | controls WARN | exit code | seconds to detection | run seconds |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...measured.map(
      (m) =>
        `| ${cell(m.defect)} | ${m.where} | ${m.expected} | ${m.failed.join(', ') || '—'} | ${m.warned.join(', ') || '—'} | ` +
        `${m.exitCode ?? 'killed'} | ${m.detectionSeconds?.toFixed(1) ?? '—'} | ${m.runSeconds.toFixed(0)} |`,
    ),
    '',
  ];
  writeFileSync(TABLE, lines.join('\n'));
}

/** The run's outcomes so far; undefined while the worker rewrites the file. */
function readOutcomes(): Map<string, Outcome> | undefined {
  try {
    const list = JSON.parse(readFileSync(join(REPORTS, 'run', 'outcomes.json'), 'utf8')) as Outcome[];
    return new Map(list.map((outcome) => [outcome.id, outcome]));
  } catch {
    return undefined;
  }
}

function suiteConfig(): SuiteConfig {
  return loadConfig({ env: { ...process.env, SPIRE_VALIDATION_REPORTS_DIR: REPORTS } });
}

async function provider(): Promise<ClusterProvider> {
  const config = suiteConfig();
  return (await selectProvider(config, new Ledger(ledgerFile(config)))).provider;
}

/** The kept cluster, healthy, without the workload Deployment of the previous case (and without its pods). */
async function freshCluster(): Promise<CaseContext> {
  const config = suiteConfig();
  const kube: Kube = connect((await provider()).kubeconfigPath());
  const namespace = config.workload.namespace;
  await waitFor(
    'the kept cluster node to be Ready',
    async () => {
      const nodes = (await kube.core.listNode()).items;
      const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return nodes.length > 0 && ready.length === nodes.length
        ? { done: true, value: true }
        : { done: false, status: `${ready.length}/${nodes.length} node(s) Ready` };
    },
    { timeoutMs: 120_000, intervalMs: 2000, onProgress: log },
  );
  await kube.apps
    .deleteNamespacedDeployment({ name: 'mtls-app', namespace, propagationPolicy: 'Foreground' })
    .catch(() => undefined);
  const { key, value } = podLabel(config);
  await waitFor(
    `the pods of the previous case (${key}=${value}) to be gone`,
    async () => {
      const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: `${key}=${value}` })).items;
      return pods.length === 0 ? { done: true, value: true } : { done: false, status: `${pods.length} pod(s) left` };
    },
    { timeoutMs: 120_000, intervalMs: 1000, onProgress: log },
  );
  return {
    reportsDir: REPORTS,
    ledgerFile: ledgerFile(config),
    kube,
    kubeconfig: (await provider()).kubeconfigPath(),
    log,
  };
}

/** Every file under `dir` modified at or after `since` (ms), relative to `dir`, but the matrix's own cases/ copies. */
function modifiedSince(dir: string, since: number): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => {
    if (file.startsWith('cases/')) return false;
    try {
      const stat = statSync(join(dir, file));
      return stat.isFile() && stat.mtimeMs >= since;
    } catch {
      return false;
    }
  });
}

/** The variant image, FROM the product image that the baseline's DOCKER-01 built. */
async function buildVariant(): Promise<void> {
  const product = suiteConfig().workload.image;
  const build = await execa(
    'docker',
    ['build', '--build-arg', `PRODUCT_IMAGE=${product}`, '-t', VARIANT_IMAGE, VARIANT_DIR],
    { reject: false, all: true, env: { DOCKER_BUILDKIT: '0' }, timeout: 10 * 60_000 },
  );
  expect(build.exitCode, `docker build of ${VARIANT_IMAGE} failed:\n${build.all?.slice(-3000)}`).toBe(0);
}

interface CaseRun {
  run: ChildRun;
  /** This run's report: undefined when the run wrote none (a report of another run is never taken for it). */
  doc: ComplianceDocument | undefined;
  started: number;
  watchError: unknown;
  /** The host ledger before and after the run, as text. */
  ledger: { before: string; after: string };
  where: string;
}

function readText(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function runCase(name: string, defect: DefectCase | undefined, keep: boolean): Promise<CaseRun> {
  const dir = join(REPORTS, 'cases', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const runId = `seeded-${name}-${Date.now()}`;
  const env: Record<string, string> = {
    SPIRE_VALIDATION_REPORTS_DIR: REPORTS,
    SPIRE_VALIDATION_OFFLINE: '1',
    SPIRE_VALIDATION_RUN_ID: runId,
    KEEP: keep ? '1' : '0',
  };
  const topology = defect?.topology ?? LOCAL_HOST_SPIRE;
  const unsupported = supportedTopology(topology);
  if (unsupported) throw new Error(`case ${name} needs ${JSON.stringify(topology)}: ${unsupported}`);
  // Only the phases its verdict needs (and the controls they depend on): no other phase can change that verdict.
  const phases = defect ? casePhases(defect) : [];
  if (phases.length > 0) env.SPIRE_VALIDATION_PHASES = phases.join(',');
  const where =
    `${topology.provider}, SPIRE ${topology.spire}, ${topology.nodes} node(s); ` +
    `${phases.length > 0 ? `phases ${phases.join(', ')}` : 'every phase'}`;
  let context: CaseContext | undefined;
  if (defect) {
    context = await freshCluster();
    Object.assign(env, defect.env?.(context));
    const product = readFileSync(PRODUCT_MANIFEST, 'utf8');
    const manifest = defect.variant ? variantManifest(product, defect.variant) : defect.manifest?.(product);
    if (manifest !== undefined) {
      env.SPIRE_VALIDATION_MANIFEST = join(dir, 'mtls-app.yaml');
      writeFileSync(env.SPIRE_VALIDATION_MANIFEST, manifest);
    }
    if (defect.variant) await (await provider()).loadImage(VARIANT_IMAGE, log);
    if (defect.settings) {
      env.SPIRE_VALIDATION_CONFIG = join(dir, 'config.json');
      writeFileSync(env.SPIRE_VALIDATION_CONFIG, JSON.stringify(defect.settings, null, 2));
    }
    await defect.before?.(context);
  }
  rmSync(join(REPORTS, 'run', 'outcomes.json'), { force: true });
  log(`${name}: validation run starts (KEEP=${env.KEEP}; ${where})`);
  const ledgerPath = ledgerFile(suiteConfig());
  const ledgerBefore = readText(ledgerPath);
  const started = Date.now();
  let running = true;
  let watchError: unknown;
  const watching = (async () => {
    const watch = defect?.watch;
    if (!watch || !context) return;
    while (running) {
      const outcomes = readOutcomes();
      if (outcomes) await watch(outcomes, context).catch((error: unknown) => (watchError ??= error));
      await sleep(250);
    }
  })();
  let run: ChildRun;
  try {
    run = await runVitest({ env, timeoutMs: RUN_TIMEOUT_MS, args: defect?.args ?? [] });
  } finally {
    running = false;
    await watching;
    if (defect?.after && context) await defect.after(context);
  }
  writeFileSync(join(dir, 'console.log'), run.output);
  for (const file of ['compliance.json', 'compliance.md']) {
    if (existsSync(join(REPORTS, file))) copyFileSync(join(REPORTS, file), join(dir, file));
  }
  const written = existsSync(join(REPORTS, 'compliance.json')) ? readCompliance(REPORTS) : undefined;
  // A report of an earlier run (the previous case's) is never read as this one's.
  const doc = written?.runId === runId ? written : undefined;
  if (written && !doc) log(`${name}: compliance.json is of run ${written.runId}, not of this run (${runId})`);
  log(`${name}: exit ${run.code} after ${run.seconds.toFixed(0)} s`);
  return { run, doc, started, watchError, ledger: { before: ledgerBefore, after: readText(ledgerPath) }, where };
}

/** A configuration refused at load: exit non-zero naming the problem, no report of this run, nothing changed. */
function expectRefusedAtLoad(defect: DefectCase, result: CaseRun): void {
  const { run, doc, started, ledger } = result;
  expect.soft(run.code, 'a refused configuration must fail the run').not.toBe(0);
  expect.soft(run.output, 'the refusal names the problem').toMatch(defect.rejectedAtLoad as RegExp);
  expect.soft(run.output, 'and says nothing was changed').toContain('nothing on the host was changed');
  expect.soft(doc, 'no report of this run').toBeUndefined();
  expect.soft(ledger.after, 'the host ledger is unchanged').toBe(ledger.before);
  expect.soft(modifiedSince(REPORTS, started), 'nothing in the reports directory was written').toEqual([]);
}

/** Required controls left not judged, with no FAIL: the run fails on them alone, whatever the reporter. */
function expectBlockedOnly(defect: DefectCase, result: CaseRun): void {
  const { run, doc } = result;
  expect(doc, `the run wrote no compliance.json of its own:\n${run.output.slice(-4000)}`).toBeDefined();
  expect.soft(idsWith(doc, 'FAIL'), 'no control FAILs').toEqual([]);
  for (const id of defect.blocked ?? []) {
    const row = doc?.rows.find((r) => r.id === id);
    expect.soft(row?.status, `${id} must be BLOCKED (not judged); ${row?.reason}`).toBe('BLOCKED');
  }
  expect.soft(run.code, 'a run whose required controls were not judged must exit 1').toBe(1);
  expect.soft(doc?.result).toBe('failed');
}

const idsWith = (doc: ComplianceDocument | undefined, status: MatrixRow['status']) =>
  doc?.rows.filter((row) => row.status === status).map((row) => row.id) ?? [];

function secondsTo(row: MatrixRow | undefined, started: number): number | undefined {
  return row?.finishedAt ? (Date.parse(row.finishedAt) - started) / 1000 : undefined;
}

/** The console's remediation block of one control: its header line and the indented lines after it. */
function remediationBlock(output: string, row: MatrixRow): string {
  const section = output.slice(output.lastIndexOf('== Remediations =='));
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`${row.id} ${row.title} [${row.status}`));
  if (start < 0) return '';
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('  '));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** What the case must end with, as the table says it. */
function expectation(defect: DefectCase): string {
  if (defect.rejectedAtLoad) return 'refused at load';
  if (defect.blocked) return `${defect.blocked.join(', ')} BLOCKED, no FAIL`;
  return defect.control ? `${defect.control} ${defect.status ?? 'FAIL'}` : '(none in the catalogue)';
}

/** The kept cluster as it is (the run's pods included), for confirming a defect on the live components. */
async function freshClusterContext(): Promise<CaseContext> {
  const config = suiteConfig();
  const kubeconfig = (await provider()).kubeconfigPath();
  return { reportsDir: REPORTS, ledgerFile: ledgerFile(config), kube: connect(kubeconfig), kubeconfig, log };
}

describe('seeded-defect matrix', () => {
  beforeAll(async () => {
    await waitForExclusiveHost();
    // Earlier results go; the ledger (run/) stays, so anything a crashed matrix left running is adopted and stopped.
    mkdirSync(REPORTS, { recursive: true });
    for (const entry of readdirSync(REPORTS)) {
      if (entry !== 'run' && entry !== 'history.jsonl') rmSync(join(REPORTS, entry), { recursive: true, force: true });
    }
    rmSync(TABLE, { force: true });
  }, 20 * 60_000);

  afterAll(async () => {
    writeTable();
    // Normally the last case stopped everything; after an error before it, stop what the matrix kept running.
    const ledger = new Ledger(ledgerFile(suiteConfig()));
    if (ledger.started.length === 0) return;
    log(`stopping what the matrix kept running (${ledger.started.length} resource(s) in ${ledger.file})`);
    await (await provider()).stop(log);
    await ledger.stopAll(log);
  }, 10 * 60_000);

  test(
    'baseline: the healthy deployment passes on the cluster the cases share (cold start, KEEP=1)',
    async () => {
      const { run, doc, started, where } = await runCase('baseline', undefined, true);
      const firstFail = doc?.rows.find((row) => row.status === 'FAIL');
      measured.push({
        defect: 'none (baseline: the product deployment)',
        where,
        expected: '—',
        exitCode: run.code,
        failed: idsWith(doc, 'FAIL'),
        warned: idsWith(doc, 'WARN'),
        detectionSeconds: secondsTo(firstFail, started),
        runSeconds: run.seconds,
      });
      writeTable();
      expect(run.code, `the healthy baseline must pass; it ended:\n${run.output.slice(-4000)}`).toBe(0);
      await buildVariant();
    },
    RUN_TIMEOUT_MS + 15 * 60_000,
  );

  for (const defect of CASES) {
    test(
      `${defect.name}: ${defect.defect} — ${expectation(defect)}, run exits non-zero`,
      async () => {
        const result = await runCase(defect.name, defect, !defect.last);
        const { run, doc, started, watchError, where } = result;
        const row = doc?.rows.find((r) => r.id === defect.control);
        const failed = idsWith(doc, 'FAIL');
        measured.push({
          defect: defect.defect,
          where,
          expected: expectation(defect),
          exitCode: run.code,
          failed,
          warned: idsWith(doc, 'WARN'),
          detectionSeconds: secondsTo(row ?? doc?.rows.find((r) => r.status === 'FAIL'), started),
          runSeconds: run.seconds,
        });
        writeTable();
        if (watchError) throw new Error(`the defect could not be seeded: ${(watchError as Error).message}`);
        if (defect.rejectedAtLoad) return expectRefusedAtLoad(defect, result);
        if (defect.blocked) return expectBlockedOnly(defect, result);
        expect(doc, `the run wrote no compliance.json of its own:\n${run.output.slice(-4000)}`).toBeDefined();
        if (!defect.control) {
          throw new Error(
            `NOT DETECTED by any named control: ${defect.gap}. The run exited ${run.code}; FAIL: ${failed.join(', ') || 'none'}`,
          );
        }
        const control = getControl(defect.control);
        const status = defect.status ?? 'FAIL';
        expect
          .soft(row?.status, `${control.id} must end ${status} with ${defect.defect}; reason: ${row?.reason}`)
          .toBe(status);
        expect
          .soft(run.code, `the run must exit non-zero with ${defect.defect}; FAIL: ${failed.join(', ') || 'none'}`)
          .not.toBe(0);
        if (row) {
          const block = remediationBlock(run.output, row);
          expect.soft(block, `the console must show ${control.id} among the remediations`).not.toBe('');
          // The catalogue's remediation, or the one of the broken layer the health gate named as root cause.
          expect
            .soft(block, `the console must show the remediation of ${control.id}'s failure`)
            .toContain(`  remediation: ${row.remediation}`);
          if (defect.rootCause)
            expect
              .soft(row.reason, `${control.id} must name the root cause ${defect.rootCause}`)
              .toMatch(defect.rootCause);
          else
            expect
              .soft(row.remediation, `${control.id} must carry its own remediation (no broken layer under it)`)
              .toBe(control.remediation);
        }
        if (row?.status === status && defect.confirm) {
          const context = await freshClusterContext();
          await defect.confirm(REPORTS, context);
        }
      },
      RUN_TIMEOUT_MS + 5 * 60_000,
    );
  }
});
