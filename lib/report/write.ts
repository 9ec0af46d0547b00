// Everything the run leaves for auditors and on-call engineers, written after the run from what the worker recorded
// (reports/run/outcomes.json, evidence/) and what vitest saw: compliance.json, compliance.md, junit.xml, the completed
// Allure results (environment, executor, categories, parameters, skip reasons, not-run controls) and the HTML report.
// Used by the vitest reporter (lib/report/reporter.ts) and by `npm run report` (scripts/report.ts).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SuiteConfig } from '../config.ts';
import { CONTROLS, type Control } from '../controls.ts';
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
} from './matrix.ts';

export interface ComplianceDocument extends ComplianceMatrix {
  environment: RunFacts;
  html: { ok: boolean; path?: string; message: string };
  /** Files under the results directory from which private key material had to be removed (should stay empty). */
  redacted: string[];
}

export interface WriteReportsInput {
  config: SuiteConfig;
  /** Repository root: allurerc.mjs and node_modules/allure. */
  repoRoot: string;
  runStartedAt: number;
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
}

import { readOutcomes } from '../run-files.ts';

export { readOutcomes };

function writeAtomically(file: string, content: string): void {
  writeFileSync(`${file}.partial`, content);
  renameSync(`${file}.partial`, file);
}

export async function writeReports(input: WriteReportsInput): Promise<WriteReportsResult> {
  const { config } = input;
  const reportsDir = config.reportsDir;
  const controls = input.controls ?? CONTROLS;
  mkdirSync(reportsDir, { recursive: true });
  const matrix = buildMatrix({
    outcomes: readOutcomes(reportsDir),
    tests: input.tests,
    failOnSeverity: config.failOnSeverity,
    controls,
    notRunReason: input.notRunReason,
    unmapped: input.unmapped,
  });
  const facts = await collectRunFacts(config, input.runStartedAt);
  const shown = relative(input.repoRoot, reportsDir) || '.';
  const write = (html: ComplianceDocument['html'], redacted: string[]): ComplianceDocument => {
    const document: ComplianceDocument = { ...matrix, environment: facts, html, redacted };
    const locations = { reportsDir: shown, html: html.ok ? 'html/index.html' : undefined };
    writeAtomically(join(reportsDir, 'compliance.json'), `${JSON.stringify(document, null, 2)}\n`);
    writeAtomically(join(reportsDir, 'compliance.md'), renderMarkdown(matrix, locations));
    writeAtomically(join(reportsDir, 'junit.xml'), renderJunit(matrix));
    return document;
  };
  // The matrix first: it must exist even if what follows breaks.
  write({ ok: false, message: 'not generated yet' }, []);
  const completed = completeAllureResults({
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
  const document = write(htmlState, completed.redacted);
  const notes: string[] = [];
  if (html && !html.ok) {
    notes.push(
      `[report] HTML report NOT generated: ${html.message}. The control matrix, JUnit and Allure results are complete; ` +
        `the run's result does not depend on the HTML.${html.output ? `\n[report] allure output (tail):\n${html.output}` : ''}`,
    );
  }
  if (completed.redacted.length > 0) {
    notes.push(`[report] private key material was removed from: ${completed.redacted.join(', ')}`);
  }
  const console = renderConsole(
    matrix,
    { reportsDir: shown, html: html?.ok ? `${shown}/html/index.html` : undefined },
    notes,
  );
  return { document, html, console };
}
