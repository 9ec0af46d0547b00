// With --phases, the full validation's own wall time, as a user runs it (`npx vitest run`, binaries cached): cold
// (no cluster, no SPIRE running) and warm (everything a KEEP=1 run left, adopted), each repeated; per phase, the
// time of its controls split into waiting (the controls' waitedMs: time in lib/wait.ts waitFor) and work, from the
// run's own compliance.json. The runs go to a reports directory of their own; each takes the host lock itself.
// Order for n runs of each: n-1 cold runs without KEEP, one cold KEEP=1 run, n-1 warm KEEP=1 runs, one warm run
// without KEEP (which stops everything): the host ends as it began.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PHASES } from '../../lib/controls.ts';
import type { ComplianceDocument } from '../../lib/report/write.ts';
import { log } from './environment.ts';
import { type BenchRow, row } from './results.ts';
import { summarize } from './stats.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const VITEST = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

export interface PhaseRun {
  kind: 'cold' | 'warm' | 'empty';
  profile: string;
  keep: boolean;
  exitCode: number | null;
  wallSeconds: number;
  result: string;
  /** Per phase key: seconds of its controls, and of those the seconds spent waiting. */
  phases: Record<string, { seconds: number; waitedSeconds: number }>;
}

function validate(
  reportsDir: string,
  keep: boolean,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'run'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, KEEP: keep ? '1' : '0', SPIRE_VALIDATION_REPORTS_DIR: reportsDir, CI: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // The run's progress lines, thinned: one in twenty, so a long run shows it is alive.
    let lines = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n'))
        if (line.startsWith('[validate') && lines++ % 20 === 0) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, seconds: (Date.now() - started) / 1000 }));
  });
}

function phaseTimes(reportsDir: string): PhaseRun['phases'] {
  const doc = JSON.parse(readFileSync(join(reportsDir, 'compliance.json'), 'utf8')) as ComplianceDocument;
  const phases: PhaseRun['phases'] = {};
  for (const item of doc.rows) {
    const entry = phases[item.phase] ?? { seconds: 0, waitedSeconds: 0 };
    entry.seconds += (item.durationMs ?? 0) / 1000;
    entry.waitedSeconds += (item.waitedMs ?? 0) / 1000;
    phases[item.phase] = entry;
  }
  return phases;
}

/** Settings profiles the phases part can run besides the default one (their wall times only). */
export const PROFILES = {
  default: { env: {}, label: '' },
  'no-resilience': { env: { SPIRE_VALIDATION_RESILIENCE: 'false' }, label: ', resilience phase off' },
} as const;
export type ProfileName = keyof typeof PROFILES;

export async function benchPhases(
  runs: number,
  profiles: ProfileName[] = ['default'],
): Promise<{ rows: BenchRow[]; runs: PhaseRun[] }> {
  const reportsDir = join(REPO_ROOT, 'reports', 'bench', 'validation');
  const plan: Array<Pick<PhaseRun, 'kind' | 'keep'>> = [
    ...Array.from({ length: runs - 1 }, () => ({ kind: 'cold' as const, keep: false })),
    { kind: 'cold', keep: true },
    ...Array.from({ length: runs - 1 }, () => ({ kind: 'warm' as const, keep: true })),
    { kind: 'warm', keep: false },
  ];
  const rows: BenchRow[] = [];
  const all: PhaseRun[] = [];
  for (const profile of profiles) {
    const { env, label } = PROFILES[profile];
    const done: PhaseRun[] = [];
    for (const [index, step] of plan.entries()) {
      rmSync(reportsDir, { recursive: true, force: true });
      log(`validation ${index + 1}/${plan.length} (${profile}): ${step.kind}, KEEP=${step.keep ? 1 : 0}`);
      const { code, seconds } = await validate(reportsDir, step.keep, env);
      const doc = JSON.parse(readFileSync(join(reportsDir, 'compliance.json'), 'utf8')) as ComplianceDocument;
      done.push({
        ...step,
        profile,
        exitCode: code,
        wallSeconds: seconds,
        result: doc.result,
        phases: phaseTimes(reportsDir),
      });
      log(
        `validation ${index + 1}/${plan.length} (${profile}): ${doc.result} in ${seconds.toFixed(1)} s (exit ${code})`,
      );
    }
    const mine = [...kindRows('phases', 'warm', done, label), ...kindRows('phases', 'cold', done, label)];
    // The other profiles: their wall times only, under the default profile's per-phase table.
    rows.push(...(profile === 'default' ? mine : mine.filter((item) => item.metric.includes('wall time'))));
    all.push(...done);
  }
  return { rows, runs: all };
}

const KINDS = {
  warm: { what: 'KEEP=1 reuse', target: 30 },
  cold: { what: 'binaries cached, no cluster', target: 90 },
  empty: { what: 'empty cache: SPIRE and Kubernetes built from the Go module proxy', target: 600 },
} as const;

/** The wall-time row of one kind of run (against its issue-14 target), then one row per phase. */
function kindRows(part: string, kind: PhaseRun['kind'], done: PhaseRun[], profileLabel = ''): BenchRow[] {
  const mine = done.filter((run) => run.kind === kind);
  const { what, target } = KINDS[kind];
  const rows: BenchRow[] = [
    row(
      part,
      `full validation, ${kind} (${what})${profileLabel}, wall time`,
      's',
      {
        label: `${mine.filter((run) => run.result === 'passed').length} of ${mine.length} passed`,
        summary: summarize(mine.map((run) => run.wallSeconds)),
      },
      undefined,
      (_ratio, subject) => ({ text: `≤ ${target} s (issue 14)`, met: subject.median <= target }),
    ),
  ];
  for (const [key, phase] of Object.entries(PHASES).sort((a, b) => a[1].order.localeCompare(b[1].order))) {
    const seconds = mine.map((run) => run.phases[key]?.seconds ?? 0);
    if (Math.max(...seconds) < 0.05) continue;
    // The reference column holds the waiting part of the same time: no ratio between them.
    rows.push({
      ...row(
        part,
        `${kind}: phase ${phase.order} ${phase.name}`,
        's',
        { label: 'controls, in all', summary: summarize(seconds) },
        { label: 'of which waiting', summary: summarize(mine.map((run) => run.phases[key]?.waitedSeconds ?? 0)) },
      ),
      ratio: undefined,
    });
  }
  return rows;
}

/**
 * With --empty-cache: one full validation with a new, empty cache directory (SPIRE_VALIDATION_CACHE), so SPIRE and
 * Kubernetes are built as on a new runner (their Go module and build caches live there too). What a new runner also
 * lacks and this one keeps: the Node runtime the README's first command installs, and the Docker images of earlier
 * runs (Flannel's images and the base image are reused from Docker where present, so they are not rebuilt). The
 * directory is deleted afterwards (several GB).
 */
export async function benchEmptyCache(): Promise<{ rows: BenchRow[]; runs: PhaseRun[] }> {
  const reportsDir = join(REPO_ROOT, 'reports', 'bench', 'validation');
  const cacheDir = mkdtempSync(join('/var/tmp', 'spire-validation-empty-cache-'));
  try {
    rmSync(reportsDir, { recursive: true, force: true });
    log(`validation from an empty cache (${cacheDir}); about 10-17 minutes on 2 cores`);
    const { code, seconds } = await validate(reportsDir, false, { SPIRE_VALIDATION_CACHE: cacheDir });
    const doc = JSON.parse(readFileSync(join(reportsDir, 'compliance.json'), 'utf8')) as ComplianceDocument;
    const run: PhaseRun = {
      kind: 'empty',
      profile: 'default',
      keep: false,
      exitCode: code,
      wallSeconds: seconds,
      result: doc.result,
      phases: phaseTimes(reportsDir),
    };
    log(`validation from an empty cache: ${doc.result} in ${seconds.toFixed(1)} s (exit ${code})`);
    return { rows: kindRows('empty-cache', 'empty', [run]), runs: [run] };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
