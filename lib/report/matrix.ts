// The control matrix: one row per catalogue control, whatever happened to it in the run — passed, failed, failed
// below the configured severity (WARN), skipped with the reason, or not run at all. Pure functions: the reporter
// feeds them the run's outcomes and vitest's own test results; the renderers produce compliance.json, compliance.md,
// junit.xml (kube-bench's shape: failure message = remediation, WARN as skipped) and the console summary.
import { SEVERITY_LEVELS, type SeverityLevel } from '../config.ts';
import { CONTROLS, type Control, PHASES, type Phase } from '../controls.ts';

export const EPIC = 'Phase 3: Kubernetes SPIRE Integration';

export type MatrixStatus = 'PASS' | 'FAIL' | 'WARN' | 'SKIP';
export const MATRIX_STATUSES: readonly MatrixStatus[] = ['PASS', 'FAIL', 'WARN', 'SKIP'];

/** What the worker recorded for a control (reports/run/outcomes.json). */
export interface RecordedOutcome {
  id: string;
  status: 'passed' | 'failed' | 'warned' | 'skipped';
  reason?: string;
  /** The remediation of the broken layer under the control that the health gate found (root cause). */
  remediation?: string;
  evidence: string[];
  durationMs: number;
  finishedAt: string;
}

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
  /** Why it failed, warned or was skipped ("not run" when no phase ran it). */
  reason?: string;
  /** Evidence files, relative to the reports directory. */
  evidence: string[];
  /** The diagnostics collected when it failed, relative to the reports directory. */
  diagnostics?: string;
  /** The catalogue's remediation (or the root cause's, when the health gate found one), for anything that did not pass. */
  remediation?: string;
  durationMs?: number;
  finishedAt?: string;
}

export interface Totals {
  PASS: number;
  FAIL: number;
  WARN: number;
  SKIP: number;
  total: number;
}

export interface ComplianceMatrix {
  epic: string;
  generatedAt: string;
  /** A failed control of this severity or worse fails the run; below it, the control is WARN. */
  failOnSeverity: SeverityLevel;
  /** failed when any control is FAIL. */
  result: 'passed' | 'failed';
  totals: Totals;
  phases: Array<{ phase: string; name: string; totals: Totals }>;
  rows: MatrixRow[];
  /** Tests that ran but name no catalogue control (they are not in the matrix). */
  unmapped: string[];
  /** Controls whose test ran more than once (the matrix keeps the last outcome). */
  duplicates: string[];
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
  unmapped?: string[];
}

/** True when `severity` is at least as severe as `threshold` (blocker > critical > normal > minor > trivial). */
export function severityAtLeast(severity: SeverityLevel, threshold: SeverityLevel): boolean {
  return SEVERITY_LEVELS.indexOf(severity) <= SEVERITY_LEVELS.indexOf(threshold);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes from vitest's error messages.
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function plain(text: string): string {
  return text.replace(ANSI, '');
}

function emptyTotals(): Totals {
  return { PASS: 0, FAIL: 0, WARN: 0, SKIP: 0, total: 0 };
}

function count(rows: readonly MatrixRow[]): Totals {
  const totals = emptyTotals();
  for (const row of rows) {
    totals[row.status] += 1;
    totals.total += 1;
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
  const failOrWarn = (control: Control): MatrixStatus =>
    severityAtLeast(control.severity, input.failOnSeverity) ? 'FAIL' : 'WARN';

  const rows = controls.map((control): MatrixRow => {
    const phase = phases[control.phase];
    const outcome = outcomes.get(control.id);
    const test = tests.get(control.id);
    let status: MatrixStatus;
    let reason: string | undefined;
    if (outcome) {
      reason = outcome.reason === undefined ? undefined : plain(outcome.reason);
      if (outcome.status === 'passed') status = 'PASS';
      else if (outcome.status === 'warned') status = 'WARN';
      else if (outcome.status === 'failed') status = failOrWarn(control);
      else status = 'SKIP';
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
    } else if (test?.state === 'skipped') {
      status = 'SKIP';
      reason = plain(test.message ?? 'skipped (filtered out or marked skip)');
    } else {
      status = 'SKIP';
      reason = input.notRunReason ?? 'not run';
    }
    const evidence = outcome?.evidence ?? [];
    const diagnostics = evidence.find((path) => /(^|\/)diagnostics\.txt$/.test(path));
    return {
      id: control.id,
      title: control.title,
      phase: control.phase,
      phaseName: phase ? `${phase.order} ${phase.name}` : control.phase,
      severity: control.severity,
      source: control.source,
      status,
      ...(reason !== undefined && status !== 'PASS' ? { reason } : {}),
      evidence,
      ...(diagnostics ? { diagnostics } : {}),
      ...(status !== 'PASS' ? { remediation: outcome?.remediation ?? control.remediation } : {}),
      ...(outcome ? { durationMs: outcome.durationMs, finishedAt: outcome.finishedAt } : {}),
      ...(!outcome && test?.durationMs !== undefined ? { durationMs: test.durationMs } : {}),
    };
  });

  const phaseKeys = [...new Set(controls.map((control) => control.phase))];
  const totals = count(rows);
  return {
    epic: EPIC,
    generatedAt: input.generatedAt ?? new Date().toISOString(),
    failOnSeverity: input.failOnSeverity,
    result: totals.FAIL > 0 ? 'failed' : 'passed',
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

/** The summary line that ends the console output: `N passed, N failed, N skipped` (failed includes WARN). */
export function summaryLine(totals: Totals): string {
  return `${totals.PASS} passed, ${totals.FAIL + totals.WARN} failed, ${totals.SKIP} skipped`;
}

/** kube-bench style: every control by phase, remediations for FAIL and WARN, then the totals. */
export function renderConsole(matrix: ComplianceMatrix, locations?: ReportLocations, notes: string[] = []): string {
  const lines: string[] = [];
  lines.push(`== Control matrix: ${matrix.epic} ==`);
  for (const phase of matrix.phases) {
    lines.push(`[INFO] ${phase.name}`);
    for (const row of matrix.rows.filter((r) => r.phase === phase.phase)) {
      // A blocked control names its root cause; the full reason is in the matrix files.
      const why = row.reason?.startsWith('blocked by ') ? row.reason.split(' — ')[0] : firstLine(row.reason, 160);
      lines.push(`[${row.status}] ${row.id} ${row.title}${row.status === 'SKIP' ? ` (${why})` : ''}`);
    }
  }
  const attention = matrix.rows.filter((row) => row.status === 'FAIL' || row.status === 'WARN');
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
  const t = matrix.totals;
  lines.push('', '== Summary total ==');
  lines.push(`${t.PASS} checks PASS`, `${t.FAIL} checks FAIL`, `${t.WARN} checks WARN`, `${t.SKIP} checks SKIP`);
  lines.push(
    `fail-on severity: ${matrix.failOnSeverity} — ${
      matrix.result === 'failed'
        ? `FAILED: ${t.FAIL} control(s) of severity ${matrix.failOnSeverity} or worse failed`
        : t.WARN > 0
          ? `PASSED with ${t.WARN} warning(s) below ${matrix.failOnSeverity}`
          : 'PASSED'
    }`,
  );
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

const BADGE: Record<MatrixStatus, string> = { PASS: '✅ PASS', FAIL: '❌ FAIL', WARN: '⚠️ WARN', SKIP: '⏭️ SKIP' };

export function renderMarkdown(matrix: ComplianceMatrix, locations?: ReportLocations): string {
  const t = matrix.totals;
  const out: string[] = [];
  out.push(`# Control matrix — ${matrix.epic}`, '');
  out.push(
    `Generated ${matrix.generatedAt}. A failed control of severity **${matrix.failOnSeverity}** or worse fails the ` +
      'run; a failed control below it is **WARN**.',
  );
  out.push('', `**Result: ${matrix.result === 'failed' ? 'FAILED' : 'PASSED'}** — ${summaryLine(t)}`, '');
  out.push('| phase | PASS | FAIL | WARN | SKIP | total |', '|---|---:|---:|---:|---:|---:|');
  for (const phase of matrix.phases) {
    const p = phase.totals;
    out.push(`| ${cell(phase.name)} | ${p.PASS} | ${p.FAIL} | ${p.WARN} | ${p.SKIP} | ${p.total} |`);
  }
  out.push(`| **total** | **${t.PASS}** | **${t.FAIL}** | **${t.WARN}** | **${t.SKIP}** | **${t.total}** |`, '');
  if (locations?.html) out.push(`HTML report: \`${locations.html}\``, '');
  for (const phase of matrix.phases) {
    out.push(`## ${phase.name}`, '');
    out.push('| id | control | severity | status | evidence | reason and remediation |', '|---|---|---|---|---|---|');
    for (const row of matrix.rows.filter((r) => r.phase === phase.phase)) {
      const evidence = row.evidence.map((path) => `[${path.split('/').at(-1)}](${path})`).join('<br>');
      const notes =
        row.status === 'PASS'
          ? ''
          : `**${row.status === 'SKIP' ? 'Skipped' : 'Reason'}:** ${cell(firstLine(row.reason, 500))}<br>` +
            `**Remediation:** ${cell(row.remediation)}`;
      out.push(`| ${row.id} | ${cell(row.title)} | ${row.severity} | ${BADGE[row.status]} | ${evidence} | ${notes} |`);
    }
    out.push('');
  }
  const attention = matrix.rows.filter((row) => row.status === 'FAIL' || row.status === 'WARN');
  if (attention.length > 0) {
    out.push('## Remediations', '');
    for (const row of attention) {
      out.push(`### ${row.id} ${row.title} — ${row.status} (${row.severity})`, '');
      out.push('```text', (row.reason ?? '').trim(), '```', '');
      out.push(`**Remediation:** ${row.remediation ?? ''}`, '');
      if (row.diagnostics) out.push(`Diagnostics: [${row.diagnostics}](${row.diagnostics})`, '');
    }
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
 * JUnit XML, one testsuite per phase and one testcase per control (kube-bench's mapping): FAIL → <failure> whose
 * message is the remediation; WARN and SKIP → <skipped> with the reason; the row as JSON in <system-out>.
 */
export function renderJunit(matrix: ComplianceMatrix): string {
  const t = matrix.totals;
  const total = (rows: MatrixRow[]) => rows.reduce((sum, row) => sum + (row.durationMs ?? 0), 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="${xmlEscape(matrix.epic)}" tests="${t.total}" failures="${t.FAIL}" errors="0" ` +
      `skipped="${t.SKIP + t.WARN}" time="${seconds(total(matrix.rows))}" timestamp="${xmlEscape(matrix.generatedAt)}">`,
  );
  for (const phase of matrix.phases) {
    const rows = matrix.rows.filter((row) => row.phase === phase.phase);
    const p = phase.totals;
    out.push(
      `  <testsuite name="${xmlEscape(phase.name)}" tests="${p.total}" failures="${p.FAIL}" errors="0" ` +
        `skipped="${p.SKIP + p.WARN}" time="${seconds(total(rows))}" timestamp="${xmlEscape(matrix.generatedAt)}">`,
    );
    out.push('    <properties>');
    out.push(`      <property name="epic" value="${xmlEscape(matrix.epic)}"/>`);
    out.push(`      <property name="failOnSeverity" value="${matrix.failOnSeverity}"/>`);
    out.push('    </properties>');
    for (const row of rows) {
      out.push(
        `    <testcase name="${xmlEscape(`${row.id} ${row.title}`)}" classname="${xmlEscape(phase.name)}" ` +
          `time="${seconds(row.durationMs)}">`,
      );
      if (row.status === 'FAIL') {
        out.push(
          `      <failure message="${xmlEscape(row.remediation ?? '')}" type="FAIL">${xmlEscape(
            `${row.reason ?? ''}\n\nRemediation: ${row.remediation ?? ''}`,
          )}</failure>`,
        );
      } else if (row.status === 'WARN') {
        out.push(
          `      <skipped message="${xmlEscape(`WARN (severity ${row.severity} is below ${matrix.failOnSeverity}): ${firstLine(row.reason)} — Remediation: ${row.remediation ?? ''}`)}"/>`,
        );
      } else if (row.status === 'SKIP') {
        out.push(`      <skipped message="${xmlEscape(firstLine(row.reason, 1000))}"/>`);
      }
      out.push(`      <system-out>${xmlEscape(JSON.stringify(row))}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
