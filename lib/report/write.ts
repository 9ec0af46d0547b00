// Everything the run leaves for auditors and on-call engineers, written after the run from what the worker recorded
// (reports/run/outcomes.json, evidence/) and what vitest saw: compliance.json, compliance.md, junit.xml, the completed
// Allure results (environment, executor, categories, parameters, skip reasons, not-run controls) and the HTML report;
// last, the secret scan of the whole reports directory (a private key or join token in any report fails the run).
// Used by the vitest reporter (lib/report/reporter.ts) and by `npm run report` (scripts/report.ts).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SuiteConfig } from '../config.ts';
import { CONTROLS, type Control } from '../controls.ts';
import { redact } from '../redact.ts';
import { notSelectedReason, phaseSelection } from '../selection.ts';
import { completeAllureResults } from './allure-results.ts';
import { collectRunFacts, executor, type RunFacts } from './environment.ts';
import { generateHtml, type HtmlOutcome } from './html.ts';
import {
  buildMatrix,
  type ComplianceMatrix,
  type ObservedTest,
  renderConsole,
  renderJunit,
  renderMarkdown,
  withSecretScan,
} from './matrix.ts';
import { neutraliseFindings, scanReports } from './reports-scan.ts';

export interface ComplianceDocument extends ComplianceMatrix {
  /** The run this report is of (`runId` setting, or a random UUID per run): readers check it is the run they mean. */
  runId?: string;
  environment: RunFacts;
  html: { ok: boolean; path?: string; message: string };
}

export interface WriteReportsInput {
  config: SuiteConfig;
  /** Repository root: allurerc.mjs and node_modules/allure. */
  repoRoot: string;
  runStartedAt: number;
  /** The run's identifier (see ComplianceDocument.runId). */
  runId?: string;
  tests?: ObservedTest[];
  unmapped?: string[];
  notRunReason?: string;
  /** Generate the HTML report (default true). */
  html?: boolean;
  htmlTimeoutMs?: number;
  /** Overrides the allure CLI (tests). */
  allureCli?: string;
  /** Add this run to the report history (default true; false when regenerating the same run's reports). */
  appendHistory?: boolean;
  controls?: readonly Control[];
}

export interface WriteReportsResult {
  document: ComplianceDocument;
  html: HtmlOutcome | undefined;
  /** The console summary; its last line is `N passed, N failed, N skipped`. */
  console: string;
  /** The notes under the matrix in the console (the HTML's failure). */
  notes: string[];
  /** The reports directory as the console shows it. */
  shown: string;
}

import { readOutcomes } from '../run-files.ts';

export { readOutcomes };

/** Everything the reporter writes goes through the one redaction (lib/redact.ts): a reason may quote an agent ID. */
function writeAtomically(file: string, content: string): void {
  writeFileSync(`${file}.partial`, redact(content));
  renameSync(`${file}.partial`, file);
}

/** compliance.json, compliance.md and junit.xml from the document. */
function writeComplianceFiles(reportsDir: string, shown: string, document: ComplianceDocument): void {
  const locations = { reportsDir: shown, html: document.html.ok ? 'html/index.html' : undefined };
  writeAtomically(join(reportsDir, 'compliance.json'), `${JSON.stringify(document, null, 2)}\n`);
  writeAtomically(join(reportsDir, 'compliance.md'), renderMarkdown(document, locations));
  writeAtomically(join(reportsDir, 'junit.xml'), renderJunit(document));
}

function consoleSummary(document: ComplianceDocument, shown: string, notes: string[]): string {
  const html = document.html.ok ? `${shown}/html/index.html` : undefined;
  return redact(renderConsole(document, { reportsDir: shown, html }, notes));
}

/**
 * The secret scan of the reports directory (all of it, or what changed since `modifiedSince`), recorded in the
 * compliance files: a finding fails the run, and the secrets are then taken out of the files that held them.
 */
export function recordSecretScan(
  reportsDir: string,
  result: WriteReportsResult,
  modifiedSince?: number,
): WriteReportsResult {
  const scan = scanReports(reportsDir, { modifiedSince });
  if (scan.findings.length > 0) scan.removed = neutraliseFindings(reportsDir, scan.findings);
  const earlier = result.document.secretScan;
  const merged = earlier
    ? {
        ...earlier,
        durationMs: earlier.durationMs + scan.durationMs,
        findings: [...earlier.findings, ...scan.findings],
        removed: [...(earlier.removed ?? []), ...(scan.removed ?? [])],
      }
    : scan;
  const document: ComplianceDocument = { ...result.document, ...withSecretScan(result.document, merged) };
  writeComplianceFiles(reportsDir, result.shown, document);
  return { ...result, document, console: consoleSummary(document, result.shown, result.notes) };
}

export async function writeReports(input: WriteReportsInput): Promise<WriteReportsResult> {
  const { config } = input;
  const reportsDir = config.reportsDir;
  const controls = input.controls ?? CONTROLS;
  mkdirSync(reportsDir, { recursive: true });
  const selection = phaseSelection(config);
  const matrix = buildMatrix({
    outcomes: readOutcomes(reportsDir),
    tests: input.tests,
    failOnSeverity: config.failOnSeverity,
    controls,
    notRunReason: input.notRunReason,
    notSelected: (control) => notSelectedReason(selection, control),
    unmapped: input.unmapped,
  });
  const facts = await collectRunFacts(config, input.runStartedAt);
  const shown = relative(input.repoRoot, reportsDir) || '.';
  // The matrix first: it must exist even if what follows breaks.
  const runId = input.runId === undefined ? {} : { runId: input.runId };
  writeComplianceFiles(reportsDir, shown, {
    ...runId,
    ...matrix,
    environment: facts,
    html: { ok: false, message: 'not generated yet' },
  });
  completeAllureResults({
    resultsDir: join(reportsDir, 'allure-results'),
    matrix,
    controls,
    facts,
    executor: executor(),
  });
  let html: HtmlOutcome | undefined;
  if (input.html !== false) {
    html = await generateHtml({
      reportsDir,
      repoRoot: input.repoRoot,
      timeoutMs: input.htmlTimeoutMs,
      cli: input.allureCli,
      appendHistory: input.appendHistory,
    });
  }
  const htmlState = html
    ? { ok: html.ok, ...(html.path ? { path: relative(reportsDir, html.path) } : {}), message: html.message }
    : { ok: false, message: 'HTML generation was not requested' };
  const notes: string[] = [];
  if (html && !html.ok) {
    notes.push(
      `[report] HTML report NOT generated: ${html.message}. The control matrix, JUnit and Allure results are complete; ` +
        `the run's result does not depend on the HTML.${html.output ? `\n[report] allure output (tail):\n${html.output}` : ''}`,
    );
  }
  const document: ComplianceDocument = { ...runId, ...matrix, environment: facts, html: htmlState };
  // Last, when every report file is written: the secret scan over all of them.
  return recordSecretScan(reportsDir, { document, html, console: '', notes, shown });
}
