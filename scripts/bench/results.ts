// What `npm run bench` found, written once at the end: reports/bench/results.json (every sample, the host, the
// method) and reports/bench/results.md (one table: each figure side by side with its reference, the ratio, the target).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from './stats.ts';

export interface Figure {
  /** What was measured, e.g. "workload server" or "openssl s_server". */
  label: string;
  summary: Summary;
}

export interface Target {
  /** The target in words, e.g. "≥ 80 % of openssl s_server". */
  text: string;
  met: boolean;
}

export interface BenchRow {
  /** The bench part: svid-fetch, handshakes, rotation, cluster. */
  part: string;
  metric: string;
  unit: string;
  subject: Figure;
  reference?: Figure;
  /** subject median / reference median. */
  ratio?: number;
  target?: Target;
}

export interface HostFacts {
  cpuModel: string;
  cpus: number;
  threadsPerCore: number;
  coresPerSocket: number;
  sockets: number;
  node: string;
  /** The OpenSSL library Node's TLS uses, and the openssl command's. */
  nodeOpenssl: string;
  opensslCommand: string;
  /** 1-minute load average when the bench began: this host is shared. */
  loadAverageAtStart: number;
}

export interface BenchResults {
  generatedAt: string;
  host: HostFacts;
  /** How each part was measured, in sentences (load shape, CPU pinning, TTLs...). */
  method: Record<string, string>;
  rows: BenchRow[];
  /** Per-part raw details (per-run counts, failures, CPU use...). */
  details: Record<string, unknown>;
}

export function row(
  part: string,
  metric: string,
  unit: string,
  subject: Figure,
  reference?: Figure,
  target?: (ratio: number | undefined, subject: Summary) => Target,
): BenchRow {
  const ratio = reference ? subject.summary.median / reference.summary.median : undefined;
  return { part, metric, unit, subject, reference, ratio, target: target?.(ratio, subject.summary) };
}

const figure = (value: number) =>
  Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);

const cells = (item: Figure | undefined) =>
  item
    ? `${item.label} (n=${item.summary.runs}) | ${[item.summary.median, item.summary.p95, item.summary.min, item.summary.max].map(figure).join(' | ')}`
    : '— | — | — | — | —';

/** The table of some rows: each figure beside its reference, the ratio and the target. */
export function tableLines(rows: readonly BenchRow[]): string[] {
  return [
    '| metric | unit | measured | median | p95 | min | max | reference | median | p95 | min | max | ratio | target |',
    '|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (item) =>
        `| ${item.metric} | ${item.unit} | ${cells(item.subject)} | ${cells(item.reference)} | ` +
        `${item.ratio === undefined ? '—' : item.ratio.toFixed(2)} | ` +
        `${item.target ? `${item.target.met ? 'met' : 'NOT met'}: ${item.target.text}` : '—'} |`,
    ),
  ];
}

export function markdownTable(results: BenchResults): string {
  const { host } = results;
  const lines = [
    `# Bench results (${results.generatedAt})`,
    '',
    `Host: ${host.cpus} CPU(s) — ${host.sockets} socket(s) × ${host.coresPerSocket} core(s) × ${host.threadsPerCore} ` +
      `thread(s), ${host.cpuModel}; Node ${host.node} (OpenSSL ${host.nodeOpenssl}); ${host.opensslCommand}; ` +
      `load average ${host.loadAverageAtStart.toFixed(2)} at the start.`,
    '',
    ...tableLines(results.rows),
    '',
    'ratio = measured median / reference median. n = repeated runs in this invocation; p95 is nearest-rank.',
    '',
    '## Method',
    '',
    ...Object.entries(results.method).map(([part, text]) => `- **${part}**: ${text}`),
    '',
  ];
  return lines.join('\n');
}

/** Writes results.json and results.md into `dir`; returns their paths. */
export function writeResults(dir: string, results: BenchResults): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'results.json');
  const markdown = join(dir, 'results.md');
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(markdown, markdownTable(results));
  return { json, markdown };
}
