// The control matrix: one row per catalogue control, whatever happened to it in the run — passed, failed, failed
// below the configured severity (WARN), skipped with the reason and its kind, or not run at all. A control at or above
// the configured severity that was never judged (blocked by a prerequisite, or not run) is BLOCKED and fails the run
// like a FAIL: a PASSED run means every required control was judged. Pure functions: the reporter
// feeds them the run's outcomes and vitest's own test results; the renderers produce compliance.json, compliance.md,
// junit.xml (kube-bench's shape: failure message = remediation, WARN as skipped) and the console summary.

import { CONTROLS, type Control, PHASES, type Phase } from '../controls.ts';
import { ACCEPTED_SKIPS, type RecordedOutcome, type SkipKind } from '../run-files.ts';
import { type SeverityLevel, severityAtLeast } from '../severity.ts';
import { describeFindings, type SecretScan } from './reports-scan.ts';

export type { RecordedOutcome, SkipKind } from '../run-files.ts';

export const EPIC = 'Phase 3: Kubernetes SPIRE Integration';

/**
 * PASS; FAIL (failed, severity at or above fail-on); WARN (failed below it); BLOCKED (at or above fail-on, but never
 * judged: blocked by a prerequisite or not run — fails the run); SKIP (not applicable, or below fail-on and not judged).
 */
export type MatrixStatus = 'PASS' | 'FAIL' | 'WARN' | 'BLOCKED' | 'SKIP';
export const MATRIX_STATUSES: readonly MatrixStatus[] = ['PASS', 'FAIL', 'WARN', 'BLOCKED', 'SKIP'];

/** What vitest saw for the test of a control — covers tests that timed out or crashed before recording. */
export interface ObservedTest {
  id: string;
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  message?: string;
  durationMs?: number;
}

export interface MatrixRow {
  id: string;
  title: string;
  phase: string;
  /** "20 SPIRE server and agent": the phase's order and name, as the Allure feature. */
  phaseName: string;
  severity: SeverityLevel;
  source: string;
  status: MatrixStatus;
  /** For BLOCKED and SKIP: why it was not judged. */
  skip?: SkipKind;
  /** For a blocked control: the control whose failure is the root cause (its remediation is this row's). */
  rootCause?: string;
  /** Why it failed, warned or was skipped ("not run" when no phase ran it). */
  reason?: string;
  /** Evidence files, relative to the reports directory. */
  evidence: string[];
  /** Measured figures the control reported (time to detection, to recovery, …). */
  figures?: Record<string, string>;
  /** The diagnostics collected when it failed, relative to the reports directory. */
  diagnostics?: string;
  /** The catalogue's remediation (or the root cause's, when the health gate found one), for anything that did not pass. */
  remediation?: string;
  durationMs?: number;
  /** Of durationMs, the time the control spent waiting for a condition (the rest is work). */
  waitedMs?: number;
  finishedAt?: string;
}

export interface Totals {
  PASS: number;
  FAIL: number;
  WARN: number;
  BLOCKED: number;
  SKIP: number;
  total: number;
  /** PASS + FAIL + WARN: the controls whose property was judged. */
  judged: number;
  /** BLOCKED + SKIP: the controls that were not, each with its reason. */
  notJudged: number;
}

export interface ComplianceMatrix {
  epic: string;
  generatedAt: string;
  /** A failed control of this severity or worse fails the run; below it, the control is WARN. */
  failOnSeverity: SeverityLevel;
  /** failed when any control is FAIL or BLOCKED, or the secret scan found a secret in the reports. */
  result: 'passed' | 'failed';
  totals: Totals;
  phases: Array<{ phase: string; name: string; totals: Totals }>;
  rows: MatrixRow[];
  /** Tests that ran but name no catalogue control (they are not in the matrix). */
  unmapped: string[];
  /** Controls whose test ran more than once (the matrix keeps the last outcome). */
  duplicates: string[];
  /**
   * The run-level check after the controls: the secret scan of the whole reports directory. Not a control (it judges
   * the suite's own output, not the system under test), but a finding fails the run all the same.
   */
  secretScan?: SecretScan;
}

export interface MatrixInput {
  outcomes: readonly RecordedOutcome[];
  tests?: readonly ObservedTest[];
  failOnSeverity: SeverityLevel;
  controls?: readonly Control[];
  phases?: Readonly<Record<string, Phase>>;
  generatedAt?: string;
  /** Why controls without any result did not run; "not run" by default. */
  notRunReason?: string;
  /** The run's phase selection: why a control without any result was not selected (undefined: it was). */
  notSelected?: (control: Control) => string | undefined;
  unmapped?: string[];
}

export { severityAtLeast };

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes from vitest's error messages.
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function plain(text: string): string {
  return text.replace(ANSI, '');
}

function emptyTotals(): Totals {
  return { PASS: 0, FAIL: 0, WARN: 0, BLOCKED: 0, SKIP: 0, total: 0, judged: 0, notJudged: 0 };
}

function count(rows: readonly MatrixRow[]): Totals {
  const totals = emptyTotals();
  for (const row of rows) {
    totals[row.status] += 1;
    totals.total += 1;
    if (row.status === 'BLOCKED' || row.status === 'SKIP') totals.notJudged += 1;
    else totals.judged += 1;
  }
  return totals;
}

export function buildMatrix(input: MatrixInput): ComplianceMatrix {
  const controls = input.controls ?? CONTROLS;
  const phases = input.phases ?? (PHASES as Readonly<Record<string, Phase>>);
  const outcomes = new Map(input.outcomes.map((outcome) => [outcome.id, outcome]));
  const tests = new Map<string, ObservedTest>();
  const seen = new Map<string, number>();
  for (const test of input.tests ?? []) {
    tests.set(test.id, test);
    seen.set(test.id, (seen.get(test.id) ?? 0) + 1);
  }
  const required = (control: Control) => severityAtLeast(control.severity, input.failOnSeverity);
  const failOrWarn = (control: Control): MatrixStatus => (required(control) ? 'FAIL' : 'WARN');
  // Not judged: SKIP when for an accepted reason (by design, waived, not selected), or when not required; otherwise
  // a required control is BLOCKED and fails the run.
  const notJudged = (control: Control, kind: SkipKind): MatrixStatus =>
    !ACCEPTED_SKIPS.includes(kind) && required(control) ? 'BLOCKED' : 'SKIP';

  const rows = controls.map((control): MatrixRow => {
    const phase = phases[control.phase];
    const outcome = outcomes.get(control.id);
    const test = tests.get(control.id);
    let status: MatrixStatus;
    let reason: string | undefined;
    let skip: SkipKind | undefined;
    let rootCause: string | undefined;
    if (outcome) {
      reason = outcome.reason === undefined ? undefined : plain(outcome.reason);
      if (outcome.status === 'passed') status = 'PASS';
      else if (outcome.status === 'warned') status = 'WARN';
      else if (outcome.status === 'failed') status = failOrWarn(control);
      else {
        skip = outcome.skip ?? 'not-run';
        rootCause = outcome.rootCause;
        status = notJudged(control, skip);
      }
      // The control passed, but vitest failed its test afterwards (a hook, a timeout while keeping evidence).
      if (status === 'PASS' && test?.state === 'failed') {
        status = failOrWarn(control);
        reason = `the test failed after the control passed: ${plain(test.message ?? 'no message')}`;
      }
    } else if (test?.state === 'failed') {
      // Timed out or crashed before control() could record anything.
      status = failOrWarn(control);
      reason = plain(test.message ?? 'the test failed without a message');
    } else if (test?.state === 'passed') {
      status = 'PASS';
    } else if (!test && input.notSelected?.(control)) {
      // Left out by the user's phase selection: its phase's file was not even loaded.
      skip = 'not-selected';
      status = notJudged(control, skip);
      reason = input.notSelected(control);
    } else {
      // Filtered out, or never reached: nobody judged it.
      skip = 'not-run';
      status = notJudged(control, skip);
      reason =
        test?.state === 'skipped'
          ? `not run: ${plain(test.message ?? 'skipped (filtered out or marked skip)')}`
          : (input.notRunReason ?? 'not run');
    }
    const evidence = outcome?.evidence ?? [];
    const diagnostics = evidence.find((path) => /(^|\/)diagnostics\.txt$/.test(path));
    const rootControl = rootCause ? controls.find((c) => c.id === rootCause) : undefined;
    // The health gate's remediation (the broken layer under the control) wins over the catalogue's.
    const remediation =
      status === 'BLOCKED' && rootControl
        ? `${rootControl.id} is the root cause: ${outcomes.get(rootControl.id)?.remediation ?? rootControl.remediation}`
        : (outcome?.remediation ?? control.remediation);
    return {
      id: control.id,
      title: control.title,
      phase: control.phase,
      phaseName: phase ? `${phase.order} ${phase.name}` : control.phase,
      severity: control.severity,
      source: control.source,
      status,
      ...(skip !== undefined && status !== 'PASS' ? { skip } : {}),
      ...(rootCause !== undefined && status !== 'PASS' ? { rootCause } : {}),
      ...(reason !== undefined && status !== 'PASS' ? { reason } : {}),
      evidence,
      ...(outcome?.figures ? { figures: outcome.figures } : {}),
      ...(diagnostics ? { diagnostics } : {}),
      ...(status !== 'PASS' ? { remediation } : {}),
      ...(outcome ? { durationMs: outcome.durationMs, finishedAt: outcome.finishedAt } : {}),
      ...(outcome?.waitedMs !== undefined ? { waitedMs: outcome.waitedMs } : {}),
      ...(!outcome && test?.durationMs !== undefined ? { durationMs: test.durationMs } : {}),
    };
  });

  const phaseKeys = [...new Set(controls.map((control) => control.phase))];
  const totals = count(rows);
  return {
    epic: EPIC,
    generatedAt: input.generatedAt ?? new Date().toISOString(),
    failOnSeverity: input.failOnSeverity,
    result: totals.FAIL + totals.BLOCKED > 0 ? 'failed' : 'passed',
    totals,
    phases: phaseKeys.map((key) => {
      const phase = phases[key];
      return {
        phase: key,
        name: phase ? `${phase.order} ${phase.name}` : key,
        totals: count(rows.filter((row) => row.phase === key)),
      };
    }),
    rows,
    unmapped: [...(input.unmapped ?? [])],
    duplicates: [...seen.entries()].filter(([, times]) => times > 1).map(([id]) => id),
  };
}

/** The matrix with the secret scan's result: any private key or join token in the reports fails the run. */
export function withSecretScan(matrix: ComplianceMatrix, scan: SecretScan): ComplianceMatrix {
  return { ...matrix, secretScan: scan, result: scan.findings.length > 0 ? 'failed' : matrix.result };
}

/** The secret scan in a sentence: what it read, and what it found (file and kind, never the secret). */
function secretScanLines(scan: SecretScan): { verdict: string; details: string[] } {
  const read = `${scan.files} files, ${(scan.bytes / 1e6).toFixed(1)} MB in ${scan.durationMs} ms`;
  if (scan.findings.length === 0) {
    return { verdict: `PASS: no private key and no join token in the reports (${read})`, details: [] };
  }
  const files = new Set(scan.findings.map((finding) => finding.file)).size;
  const removed = (scan.removed ?? []).map((entry) => `${entry.file}: ${entry.action} after the scan`);
  return {
    verdict:
      `FAIL: ${files} file(s) in the reports hold a private key or a join token (${read}); the run fails. Find ` +
      'what wrote it and redact it where it is written (lib/redact.ts)',
    details: [...describeFindings(scan), ...removed],
  };
}

/** The catalogue id a test name starts with ("SPIRE-01 SPIRE Server is running" → "SPIRE-01"). */
export function controlIdOf(testName: string, controls: readonly Control[] = CONTROLS): string | undefined {
  const first = testName.split(' ')[0] ?? '';
  return controls.some((control) => control.id === first) ? first : undefined;
}

// ── renderers ────────────────────────────────────────────────────────────────────────────────────────────────────

function firstLine(text: string | undefined, max = 300): string {
  const line = (text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Where the files are, for the console and Markdown. */
export interface ReportLocations {
  reportsDir: string;
  html?: string;
}

/** The summary line that ends the console output: `N passed, N failed, N skipped` (failed: FAIL, WARN, BLOCKED). */
export function summaryLine(totals: Totals): string {
  return `${totals.PASS} passed, ${totals.FAIL + totals.WARN + totals.BLOCKED} failed, ${totals.SKIP} skipped`;
}

/** Rows with a remediation of their own to act on: FAIL and WARN (BLOCKED rows are grouped by root cause). */
function attentionRows(matrix: ComplianceMatrix): MatrixRow[] {
  return matrix.rows.filter((row) => row.status === 'FAIL' || row.status === 'WARN');
}

/** BLOCKED rows grouped by their root cause (rootCause '' for controls without one, grouped by their reason). */
export function blockedGroups(matrix: ComplianceMatrix): Array<{ rootCause: string; rows: MatrixRow[] }> {
  // By root cause; controls without one (not run, not judgeable here) by their reason, so each reason is said once.
  const groups = new Map<string, { rootCause: string; rows: MatrixRow[] }>();
  for (const row of matrix.rows.filter((r) => r.status === 'BLOCKED')) {
    const key = row.rootCause ? `root:${row.rootCause}` : `reason:${firstLine(row.reason)}`;
    const group = groups.get(key) ?? { rootCause: row.rootCause ?? '', rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** Why a row was not judged, short: "blocked by SPIRE-03 (…)", "not run …", or "<kind>: <reason>". */
function notJudgedNote(row: MatrixRow): string {
  const why = row.reason?.startsWith('blocked by ') ? (row.reason.split(' — ')[0] ?? '') : firstLine(row.reason, 160);
  return why.startsWith('blocked by') || why.startsWith('not run') ? why : `${row.skip ?? 'not-run'}: ${why}`;
}

export function resultSentence(matrix: ComplianceMatrix): string {
  const t = matrix.totals;
  if (matrix.result === 'failed') {
    const parts = [
      ...(t.FAIL > 0 ? [`${t.FAIL} control(s) failed`] : []),
      ...(t.BLOCKED > 0 ? [`${t.BLOCKED} control(s) were never judged (blocked or not run)`] : []),
    ];
    const controls = parts.length > 0 ? `${parts.join(' and ')} at severity ${matrix.failOnSeverity} or worse` : '';
    const leaked = new Set(matrix.secretScan?.findings.map((finding) => finding.file)).size;
    const secrets = leaked > 0 ? `the secret scan found a private key or join token in ${leaked} report file(s)` : '';
    return `FAILED: ${[controls, secrets].filter(Boolean).join('; ')}`;
  }
  const notJudged = t.notJudged > 0 ? `${t.notJudged} not judged (${notJudgedKinds(matrix)})` : '';
  const warnings = t.WARN > 0 ? `${t.WARN} warning(s) below ${matrix.failOnSeverity}` : '';
  const extra = [notJudged, warnings].filter(Boolean).join(' and ');
  return extra ? `PASSED with ${extra}` : 'PASSED';
}

/** "2 waived, 9 not applicable by design": the reasons of the controls not judged, counted by kind. */
function notJudgedKinds(matrix: ComplianceMatrix): string {
  const counts = new Map<string, number>();
  for (const row of matrix.rows.filter((r) => r.status === 'SKIP' || r.status === 'BLOCKED')) {
    const kind = KIND_WORDS[row.skip ?? 'not-run'];
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts.entries()].map(([kind, n]) => `${n} ${kind}`).join(', ');
}

const KIND_WORDS: Record<SkipKind, string> = {
  'not-applicable': 'not applicable by design',
  waived: 'waived',
  'not-selected': 'not selected',
  blocked: 'blocked',
  unjudged: 'not judgeable here',
  'not-run': 'not run',
};

/** Every control that was not judged, with its reason: the console's and the Markdown's "Not judged" list. */
export function notJudgedRows(matrix: ComplianceMatrix): MatrixRow[] {
  return matrix.rows.filter((row) => row.status === 'SKIP' || row.status === 'BLOCKED');
}

/** kube-bench style: every control by phase, remediations for FAIL and WARN, then the totals. */
export function renderConsole(matrix: ComplianceMatrix, locations?: ReportLocations, notes: string[] = []): string {
  const lines: string[] = [];
  lines.push(`== Control matrix: ${matrix.epic} ==`);
  for (const phase of matrix.phases) {
    lines.push(`[INFO] ${phase.name}`);
    for (const row of matrix.rows.filter((r) => r.phase === phase.phase)) {
      // A control that was not judged names its kind and root cause; the full reason is in the matrix files.
      const note = row.status === 'SKIP' || row.status === 'BLOCKED' ? ` (${notJudgedNote(row)})` : '';
      lines.push(`[${row.status}] ${row.id} ${row.title}${note}`);
    }
  }
  const attention = attentionRows(matrix);
  if (attention.length > 0) {
    lines.push('', '== Remediations ==');
    for (const row of attention) {
      lines.push(`${row.id} ${row.title} [${row.status}, severity ${row.severity}]`);
      lines.push(`  reason:      ${firstLine(row.reason)}`);
      lines.push(`  remediation: ${row.remediation ?? ''}`);
      const dir = locations ? `${locations.reportsDir}/` : '';
      if (row.evidence.length > 0) lines.push(`  evidence:    ${dir}evidence/${row.id}/`);
      if (row.diagnostics) lines.push(`  diagnostics: ${dir}${row.diagnostics}`);
    }
  }
  const blocked = blockedGroups(matrix);
  if (blocked.length > 0) {
    lines.push('', '== Never judged (BLOCKED: required controls that did not run; the run fails on them) ==');
    for (const group of blocked) {
      const ids = group.rows.map((row) => row.id).join(', ');
      if (!group.rootCause) {
        lines.push(`${firstLine(group.rows[0]?.reason)}: ${ids}`);
        continue;
      }
      lines.push(`root cause ${group.rootCause}: ${ids}`);
      if (!attention.some((row) => row.id === group.rootCause))
        lines.push(`  remediation: ${group.rows[0]?.remediation ?? ''}`);
    }
  }
  const skipped = matrix.rows.filter((row) => row.status === 'SKIP');
  if (skipped.length > 0) {
    lines.push('', '== Not judged, for a reason the run accepts or below the fail-on severity (SKIP) ==');
    for (const row of skipped) lines.push(`${row.id} [${row.skip ?? 'not-run'}] ${firstLine(row.reason, 400)}`);
  }
  if (matrix.secretScan) {
    const scan = secretScanLines(matrix.secretScan);
    lines.push('', '== Secret scan of the reports ==', scan.verdict, ...scan.details.map((line) => `  ${line}`));
  }
  const t = matrix.totals;
  lines.push('', '== Summary total ==');
  lines.push(`${t.judged} judged, ${t.notJudged} not judged (of ${t.total} controls)`);
  lines.push(
    `${t.PASS} checks PASS`,
    `${t.FAIL} checks FAIL`,
    `${t.WARN} checks WARN`,
    `${t.BLOCKED} checks BLOCKED`,
    `${t.SKIP} checks SKIP`,
  );
  lines.push(`fail-on severity: ${matrix.failOnSeverity} — ${resultSentence(matrix)}`);
  if (matrix.unmapped.length > 0) lines.push(`tests outside the catalogue: ${matrix.unmapped.join(', ')}`);
  if (matrix.duplicates.length > 0) lines.push(`controls tested more than once: ${matrix.duplicates.join(', ')}`);
  if (locations) {
    const d = locations.reportsDir;
    lines.push(
      `reports: ${d}/compliance.md ${d}/compliance.json ${d}/junit.xml${locations.html ? ` ${locations.html}` : ''}`,
    );
  }
  lines.push(...notes);
  lines.push(summaryLine(t));
  return `${lines.join('\n')}\n`;
}

function cell(text: string | undefined): string {
  return (text ?? '').replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(/\r?\n/g, '<br>');
}

const BADGE: Record<MatrixStatus, string> = {
  PASS: '✅ PASS',
  FAIL: '❌ FAIL',
  WARN: '⚠️ WARN',
  BLOCKED: '⛔ BLOCKED',
  SKIP: '⏭️ SKIP',
};

export function renderMarkdown(matrix: ComplianceMatrix, locations?: ReportLocations): string {
  const t = matrix.totals;
  const out: string[] = [];
  out.push(`# Control matrix — ${matrix.epic}`, '');
  out.push(
    `Generated ${matrix.generatedAt}. A failed control of severity **${matrix.failOnSeverity}** or worse fails the ` +
      'run; a failed control below it is **WARN**; a control of that severity that was never judged (blocked by a ' +
      'prerequisite, or not run) is **BLOCKED** and fails the run too.',
  );
  out.push(
    '',
    `**Result: ${resultSentence(matrix)}** — ${summaryLine(t)}; ${t.judged} judged, ${t.notJudged} not judged`,
    '',
  );
  out.push('| phase | PASS | FAIL | WARN | BLOCKED | SKIP | total |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const phase of matrix.phases) {
    const p = phase.totals;
    out.push(`| ${cell(phase.name)} | ${p.PASS} | ${p.FAIL} | ${p.WARN} | ${p.BLOCKED} | ${p.SKIP} | ${p.total} |`);
  }
  out.push(
    `| **total** | **${t.PASS}** | **${t.FAIL}** | **${t.WARN}** | **${t.BLOCKED}** | **${t.SKIP}** | **${t.total}** |`,
    '',
  );
  if (locations?.html) out.push(`HTML report: \`${locations.html}\``, '');
  for (const phase of matrix.phases) {
    out.push(`## ${phase.name}`, '');
    out.push('| id | control | severity | status | evidence | reason and remediation |', '|---|---|---|---|---|---|');
    for (const row of matrix.rows.filter((r) => r.phase === phase.phase)) {
      const evidence = row.evidence.map((path) => `[${path.split('/').at(-1)}](${path})`).join('<br>');
      const figures = Object.entries(row.figures ?? {})
        .map(([name, value]) => `${name}: ${value}`)
        .join('; ');
      const notes =
        row.status === 'PASS'
          ? cell(figures)
          : `**${row.skip ? `Not judged (${row.skip})` : 'Reason'}:** ${cell(firstLine(row.reason, 500))}<br>` +
            `**Remediation:** ${cell(row.remediation)}`;
      out.push(`| ${row.id} | ${cell(row.title)} | ${row.severity} | ${BADGE[row.status]} | ${evidence} | ${notes} |`);
    }
    out.push('');
  }
  if (matrix.secretScan) {
    const scan = secretScanLines(matrix.secretScan);
    out.push('## Secret scan of the reports', '', `**${scan.verdict}**`, '');
    if (scan.details.length > 0) out.push(...scan.details.map((line) => `- ${cell(line)}`), '');
  }
  const attention = attentionRows(matrix);
  if (attention.length > 0) {
    out.push('## Remediations', '');
    for (const row of attention) {
      out.push(`### ${row.id} ${row.title} — ${row.status} (${row.severity})`, '');
      out.push('```text', (row.reason ?? '').trim(), '```', '');
      out.push(`**Remediation:** ${row.remediation ?? ''}`, '');
      if (row.diagnostics) out.push(`Diagnostics: [${row.diagnostics}](${row.diagnostics})`, '');
    }
  }
  const notJudged = notJudgedRows(matrix);
  if (notJudged.length > 0) {
    out.push('## Not judged', '');
    for (const row of notJudged)
      out.push(`- **${row.id}** ${row.status} (${row.skip ?? 'not-run'}): ${cell(firstLine(row.reason, 500))}`);
    out.push('');
  }
  const blocked = blockedGroups(matrix);
  if (blocked.length > 0) {
    out.push('## Never judged (BLOCKED)', '');
    out.push('Required controls that did not run; the run fails on them until their root cause is fixed.', '');
    for (const group of blocked) {
      const ids = group.rows.map((row) => row.id).join(', ');
      out.push(
        `- ${group.rootCause ? `root cause **${group.rootCause}**` : cell(firstLine(group.rows[0]?.reason))}: ${ids}`,
      );
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

// XML 1.0 allows tab, LF, CR and everything from U+0020 on (minus surrogates handled by the encoder).
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing the characters XML forbids.
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function xmlEscape(text: string): string {
  return plain(text)
    .replace(XML_FORBIDDEN, '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

/**
 * JUnit XML, one testsuite per phase and one testcase per control (kube-bench's mapping): FAIL and BLOCKED →
 * <failure> whose message is the remediation; WARN and SKIP → <skipped> with the reason (and the skip's kind); the
 * row as JSON in <system-out>.
 */
export function renderJunit(matrix: ComplianceMatrix): string {
  const t = matrix.totals;
  const total = (rows: MatrixRow[]) => rows.reduce((sum, row) => sum + (row.durationMs ?? 0), 0);
  const scan = matrix.secretScan;
  const leaked = scan && scan.findings.length > 0 ? 1 : 0;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="${xmlEscape(matrix.epic)}" tests="${t.total + (scan ? 1 : 0)}" ` +
      `failures="${t.FAIL + t.BLOCKED + leaked}" errors="0" ` +
      `skipped="${t.SKIP + t.WARN}" time="${seconds(total(matrix.rows))}" timestamp="${xmlEscape(matrix.generatedAt)}">`,
  );
  for (const phase of matrix.phases) {
    const rows = matrix.rows.filter((row) => row.phase === phase.phase);
    const p = phase.totals;
    out.push(
      `  <testsuite name="${xmlEscape(phase.name)}" tests="${p.total}" failures="${p.FAIL + p.BLOCKED}" errors="0" ` +
        `skipped="${p.SKIP + p.WARN}" time="${seconds(total(rows))}" timestamp="${xmlEscape(matrix.generatedAt)}">`,
    );
    out.push('    <properties>');
    out.push(`      <property name="epic" value="${xmlEscape(matrix.epic)}"/>`);
    out.push(`      <property name="failOnSeverity" value="${matrix.failOnSeverity}"/>`);
    out.push(`      <property name="result" value="${xmlEscape(resultSentence(matrix))}"/>`);
    out.push(`      <property name="judged" value="${t.judged}"/>`);
    out.push(`      <property name="notJudged" value="${t.notJudged}"/>`);
    out.push('    </properties>');
    for (const row of rows) {
      out.push(
        `    <testcase name="${xmlEscape(`${row.id} ${row.title}`)}" classname="${xmlEscape(phase.name)}" ` +
          `time="${seconds(row.durationMs)}">`,
      );
      if (row.status === 'FAIL' || row.status === 'BLOCKED') {
        out.push(
          `      <failure message="${xmlEscape(row.remediation ?? '')}" type="${row.status}">${xmlEscape(
            `${row.reason ?? ''}\n\nRemediation: ${row.remediation ?? ''}`,
          )}</failure>`,
        );
      } else if (row.status === 'WARN') {
        out.push(
          `      <skipped message="${xmlEscape(`WARN (severity ${row.severity} is below ${matrix.failOnSeverity}): ${firstLine(row.reason)} — Remediation: ${row.remediation ?? ''}`)}"/>`,
        );
      } else if (row.status === 'SKIP') {
        out.push(`      <skipped message="${xmlEscape(`${row.skip ?? 'not-run'}: ${firstLine(row.reason, 1000)}`)}"/>`);
      }
      out.push(`      <system-out>${xmlEscape(JSON.stringify(row))}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  if (scan) {
    // The run-level check, outside the phases: a failure here is a FAIL of the run, not of a control.
    const { verdict, details } = secretScanLines(scan);
    out.push(
      `  <testsuite name="Run checks" tests="1" failures="${leaked}" errors="0" skipped="0" ` +
        `time="${seconds(scan.durationMs)}" timestamp="${xmlEscape(scan.at)}">`,
      `    <testcase name="secret scan of the reports" classname="Run checks" time="${seconds(scan.durationMs)}">`,
      ...(leaked
        ? [`      <failure message="${xmlEscape(verdict)}" type="SECRET">${xmlEscape(details.join('\n'))}</failure>`]
        : []),
      `      <system-out>${xmlEscape(verdict)}</system-out>`,
      '    </testcase>',
      '  </testsuite>',
    );
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
