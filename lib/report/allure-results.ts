// Completes the Allure results after the run, from the control matrix: the same parameters on every result
// (provider, runtime, attestation mode, versions — excluded from the history id), the failure category label, the
// skip reason as the status message (allure-vitest drops it), WARN shown as such, a result for every catalogue
// control that did not run, and environment.properties / executor.json / categories.json. Last, it makes sure no
// private key is anywhere in the results directory.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Control } from '../controls.ts';
import { redact } from '../redact.ts';
import { allure2Categories, failureCategory } from './categories.ts';
import { type Executor, environmentProperties, type RunFacts, resultParameters } from './environment.ts';
import { type ComplianceMatrix, type MatrixRow, notJudgedRows, type ObservedTest, resultSentence } from './matrix.ts';

interface AllureLabel {
  name: string;
  value: string;
}

interface AllureResult {
  uuid: string;
  name: string;
  fullName?: string;
  historyId?: string;
  testCaseId?: string;
  status?: string;
  statusDetails?: { message?: string; trace?: string };
  stage?: string;
  description?: string;
  labels: AllureLabel[];
  parameters: Array<{ name: string; value: string; excluded?: boolean; mode?: string }>;
  links?: unknown[];
  steps?: unknown[];
  attachments?: unknown[];
  start?: number;
  stop?: number;
}

/** md5("") — the parameter hash allure-js-commons puts in the history id of a result without parameters. */
const EMPTY_PARAMETERS_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

function controlIdOf(result: AllureResult): string | undefined {
  return result.labels.find((label) => label.name === 'control')?.value ?? result.testCaseId;
}

/** Sets a single-valued label in place (so completing a result twice gives the same result). */
function setLabel(result: AllureResult, name: string, value: string): void {
  const existing = result.labels.find((label) => label.name === name);
  if (existing) existing.value = value;
  else result.labels.push({ name, value });
}

/** Errors that mean the suite's own code is wrong, not the system under test. */
const PROGRAMMING_ERROR = /^(?:TypeError|ReferenceError|SyntaxError|RangeError)\b/m;

/** Applies the matrix row's verdict to one result. */
export function completeResult(result: AllureResult, row: MatrixRow, facts: RunFacts, failOn: string): AllureResult {
  for (const parameter of resultParameters(facts)) {
    if (!result.parameters.some((p) => p.name === parameter.name))
      result.parameters.push({ ...parameter, excluded: true });
  }
  setLabel(result, 'controlStatus', row.status);
  const category = failureCategory(row);
  if (category) setLabel(result, 'failureCategory', category);
  if (row.status === 'WARN') {
    // vitest passed the test (a WARN does not fail the run); the report shows the failure it is.
    result.status = 'failed';
    result.statusDetails = {
      ...result.statusDetails,
      message: `WARN (severity ${row.severity} is below fail-on ${failOn}; the run does not fail on it): ${row.reason ?? ''}\n\nRemediation: ${row.remediation ?? ''}`,
    };
    if (!result.labels.some((label) => label.name === 'tag' && label.value === 'WARN'))
      result.labels.push({ name: 'tag', value: 'WARN' });
  } else if (row.status === 'BLOCKED') {
    // vitest skipped the test; the control was never judged and the run fails on it.
    result.status = 'failed';
    result.statusDetails = {
      ...result.statusDetails,
      message: `BLOCKED (${row.skip ?? 'not-run'}; severity ${row.severity} is at or above fail-on ${failOn}, so the run fails): ${row.reason ?? ''}\n\nRemediation: ${row.remediation ?? ''}`,
    };
    setLabel(result, 'skip', row.skip ?? 'not-run');
  } else if (row.status === 'SKIP') {
    result.status = 'skipped';
    result.statusDetails = {
      ...result.statusDetails,
      message: `${row.skip ?? 'not-run'}: ${row.reason ?? 'skipped'}\n\nRemediation: ${row.remediation ?? ''}`,
    };
    setLabel(result, 'skip', row.skip ?? 'not-run');
  } else if (
    row.status === 'FAIL' &&
    result.status === 'broken' &&
    !PROGRAMMING_ERROR.test(result.statusDetails?.trace ?? '')
  ) {
    // allure-vitest calls any non-assertion error "broken" (a test defect); a control whose fixture found the system
    // wrong (no SPIRE server, no socket) is a failed control. Only a bug in the suite itself stays broken.
    result.status = 'failed';
  } else if (row.status === 'FAIL' && result.status === 'passed') {
    // Failed after the control recorded a pass (see buildMatrix): the test result is the truth.
    result.status = 'failed';
    result.statusDetails = { ...result.statusDetails, message: row.reason ?? 'failed' };
  }
  return result;
}

/** A result for a catalogue control no test reported (not run, or dropped by the reporter). */
export function syntheticResult(control: Control, row: MatrixRow, epic: string, at: number): AllureResult {
  return {
    uuid: randomUUID(),
    name: `${control.id} ${control.title}`,
    fullName: `catalogue#${control.id}`,
    historyId: `${control.id}:${EMPTY_PARAMETERS_MD5}`,
    testCaseId: control.id,
    status: 'skipped',
    statusDetails: { message: row.reason ?? 'not run' },
    stage: 'finished',
    description: `${row.reason ?? 'not run'}: no phase of this run executed ${control.id}.`,
    labels: [
      { name: 'epic', value: epic },
      { name: 'feature', value: row.phaseName },
      { name: 'story', value: `${control.id} ${control.title}` },
      { name: 'severity', value: control.severity },
      { name: 'control', value: control.id },
      { name: 'framework', value: 'vitest' },
    ],
    parameters: [],
    links: [],
    steps: [],
    attachments: [],
    start: at,
    stop: at,
  };
}

export interface CompleteResultsInput {
  resultsDir: string;
  matrix: ComplianceMatrix;
  controls: readonly Control[];
  facts: RunFacts;
  executor: Executor;
  now?: number;
}

export interface CompleteResultsOutcome {
  updated: number;
  synthetic: number;
}

export function completeAllureResults(input: CompleteResultsInput): CompleteResultsOutcome {
  const { resultsDir, matrix, facts } = input;
  mkdirSync(resultsDir, { recursive: true });
  const rows = new Map(matrix.rows.map((row) => [row.id, row]));
  const reported = new Set<string>();
  let updated = 0;
  for (const name of readdirSync(resultsDir).filter((file) => file.endsWith('-result.json'))) {
    const path = join(resultsDir, name);
    let result: AllureResult;
    try {
      result = JSON.parse(readFileSync(path, 'utf8')) as AllureResult;
    } catch {
      continue;
    }
    result.labels ??= [];
    result.parameters ??= [];
    const id = controlIdOf(result);
    const row = id ? rows.get(id) : undefined;
    if (!id || !row) continue;
    reported.add(id);
    writeFileSync(path, redact(JSON.stringify(completeResult(result, row, facts, matrix.failOnSeverity))));
    updated += 1;
  }
  let synthetic = 0;
  const at = input.now ?? Date.now();
  for (const control of input.controls) {
    const row = rows.get(control.id);
    if (!row || reported.has(control.id)) continue;
    const result = completeResult(syntheticResult(control, row, matrix.epic, at), row, facts, matrix.failOnSeverity);
    writeFileSync(join(resultsDir, `${result.uuid}-result.json`), redact(JSON.stringify(result)));
    synthetic += 1;
  }
  // The verdict heads the environment widget: what was judged and what was not (each not-judged result says why).
  const t = matrix.totals;
  const verdict: Array<[string, string]> = [
    ['Result', resultSentence(matrix)],
    ['Judged', `${t.judged} of ${t.total}`],
    [
      'Not.judged',
      notJudgedRows(matrix)
        .map((row) => `${row.id} (${row.skip ?? 'not-run'})`)
        .join(', ') || 'none',
    ],
  ];
  writeFileSync(join(resultsDir, 'environment.properties'), environmentProperties(facts, verdict));
  writeFileSync(join(resultsDir, 'executor.json'), `${JSON.stringify(input.executor, null, 2)}\n`);
  writeFileSync(join(resultsDir, 'categories.json'), `${JSON.stringify(allure2Categories(input.controls), null, 2)}\n`);
  return { updated, synthetic };
}

/**
 * What the Allure results say about each control's test (`npm run report` has no vitest run to ask): status and
 * message per control id, for controls whose test failed before control() could record an outcome.
 */
export function observedFromAllureResults(resultsDir: string): ObservedTest[] {
  if (!existsSync(resultsDir)) return [];
  const observed: ObservedTest[] = [];
  for (const name of readdirSync(resultsDir).filter((file) => file.endsWith('-result.json'))) {
    let result: AllureResult;
    try {
      result = JSON.parse(readFileSync(join(resultsDir, name), 'utf8')) as AllureResult;
    } catch {
      continue;
    }
    const id = controlIdOf({ ...result, labels: result.labels ?? [] });
    if (!id) continue;
    // A BLOCKED control is a failed result for the report's readers, but vitest skipped its test: never judged.
    const blocked = result.labels?.some((label) => label.name === 'controlStatus' && label.value === 'BLOCKED');
    const state = blocked
      ? 'skipped'
      : result.status === 'passed'
        ? 'passed'
        : result.status === 'failed' || result.status === 'broken'
          ? 'failed'
          : result.status === 'skipped'
            ? 'skipped'
            : 'pending';
    const message = result.statusDetails?.message;
    const durationMs = result.start !== undefined && result.stop !== undefined ? result.stop - result.start : undefined;
    observed.push({
      id,
      state,
      ...(message !== undefined ? { message } : {}),
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
  }
  return observed;
}
