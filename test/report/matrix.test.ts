// The control matrix and its renderings: every catalogue control exactly once with a status, the WARN threshold,
// controls that did not run, vitest's view for controls that never recorded an outcome, JUnit in kube-bench's shape,
// the console summary, and the failure categories.
import { describe, expect, test } from 'vitest';
import { SEVERITY_LEVELS } from '../../lib/config.ts';
import { CONTROLS, type Control, PHASES } from '../../lib/controls.ts';
import { allure2Categories, failureCategory, INFRASTRUCTURE_PHASES } from '../../lib/report/categories.ts';
import {
  buildMatrix,
  controlIdOf,
  type RecordedOutcome,
  renderConsole,
  renderJunit,
  renderMarkdown,
  type SkipKind,
  severityAtLeast,
  summaryLine,
  xmlEscape,
} from '../../lib/report/matrix.ts';
import { descendants, parseXml } from './helpers.ts';

const at = '2026-01-01T00:00:00.000Z';

function outcome(
  id: string,
  status: RecordedOutcome['status'],
  reason?: string,
  skipped?: Pick<RecordedOutcome, 'skip' | 'rootCause'>,
): RecordedOutcome {
  return { id, status, reason, ...skipped, evidence: [`evidence/${id}/x.txt`], durationMs: 1200, finishedAt: at };
}

/** A control of each severity, for the threshold tests. */
function bySeverity(severity: string): Control {
  const found = CONTROLS.find((control) => control.severity === severity);
  if (!found) throw new Error(`the catalogue has no ${severity} control`);
  return found;
}

describe('buildMatrix', () => {
  test('controls of phases the selection left out (their files never loaded) are SKIP not-selected, and the run passes', () => {
    const selected = new Set(CONTROLS.filter((c) => c.phase === 'provision').map((c) => c.id));
    const matrix = buildMatrix({
      outcomes: [...selected].map((id) => ({
        id,
        status: 'passed' as const,
        evidence: [],
        durationMs: 1,
        finishedAt: '',
      })),
      failOnSeverity: 'critical',
      notSelected: (control) => (selected.has(control.id) ? undefined : 'not selected: phases 00'),
    });
    const rest = matrix.rows.filter((row) => !selected.has(row.id));
    expect(rest.every((row) => row.status === 'SKIP' && row.skip === 'not-selected')).toBe(true);
    expect(rest[0]?.reason).toBe('not selected: phases 00');
    expect(matrix.result).toBe('passed');
    expect(matrix.totals).toMatchObject({ judged: selected.size, notJudged: CONTROLS.length - selected.size });
    expect(renderConsole(matrix)).toContain(`PASSED with ${CONTROLS.length - selected.size} not judged (`);
  });

  test('has every catalogue control exactly once, in catalogue order, with a status', () => {
    const matrix = buildMatrix({ outcomes: [], failOnSeverity: 'critical', generatedAt: at });
    expect(matrix.rows.map((row) => row.id)).toEqual(CONTROLS.map((control) => control.id));
    expect(new Set(matrix.rows.map((row) => row.id)).size).toBe(CONTROLS.length);
    for (const row of matrix.rows) expect(['PASS', 'FAIL', 'WARN', 'BLOCKED', 'SKIP']).toContain(row.status);
    expect(matrix.totals.total).toBe(CONTROLS.length);
  });

  test('controls nothing ran are BLOCKED "not run" when required (the run fails), SKIP below fail-on', () => {
    const matrix = buildMatrix({ outcomes: [outcome('PROV-01', 'passed')], failOnSeverity: 'critical' });
    const row = matrix.rows.find((r) => r.id === 'SPIRE-01');
    expect(row).toMatchObject({ status: 'BLOCKED', skip: 'not-run', reason: 'not run' });
    expect(row?.remediation).toBe(CONTROLS.find((c) => c.id === 'SPIRE-01')?.remediation);
    expect(matrix.rows.find((r) => r.id === 'POD-07')).toMatchObject({ status: 'SKIP', skip: 'not-run' });
    expect(matrix.result).toBe('failed');
    const passed = matrix.rows.find((r) => r.id === 'PROV-01');
    expect(passed).toMatchObject({ status: 'PASS', evidence: ['evidence/PROV-01/x.txt'] });
    expect(passed?.remediation).toBeUndefined();
    expect(passed?.reason).toBeUndefined();
  });

  test('a run that stopped names why in the not-run reason', () => {
    const matrix = buildMatrix({
      outcomes: [],
      failOnSeverity: 'critical',
      notRunReason: 'not run (the run was interrupted)',
    });
    expect(matrix.rows.every((row) => row.reason === 'not run (the run was interrupted)')).toBe(true);
  });

  test('a failed control is FAIL at or above failOnSeverity and WARN below it', () => {
    for (const threshold of SEVERITY_LEVELS) {
      for (const severity of SEVERITY_LEVELS) {
        const control = { ...bySeverity('critical'), id: 'X-01', severity };
        const matrix = buildMatrix({
          outcomes: [outcome('X-01', 'failed', 'boom')],
          failOnSeverity: threshold,
          controls: [control],
        });
        const expected = SEVERITY_LEVELS.indexOf(severity) <= SEVERITY_LEVELS.indexOf(threshold) ? 'FAIL' : 'WARN';
        expect(matrix.rows[0]?.status, `${severity} with fail-on ${threshold}`).toBe(expected);
        expect(matrix.result).toBe(expected === 'FAIL' ? 'failed' : 'passed');
      }
    }
  });

  test('severityAtLeast orders blocker > critical > normal > minor > trivial', () => {
    expect(severityAtLeast('blocker', 'critical')).toBe(true);
    expect(severityAtLeast('critical', 'critical')).toBe(true);
    expect(severityAtLeast('normal', 'critical')).toBe(false);
    expect(severityAtLeast('trivial', 'trivial')).toBe(true);
    expect(severityAtLeast('minor', 'normal')).toBe(false);
  });

  test('a recorded WARN stays WARN; a required blocked control is BLOCKED with the root cause and its remediation', () => {
    const passedAll = CONTROLS.map((control) => outcome(control.id, 'passed'));
    const blocked = { skip: 'blocked', rootCause: 'SPIRE-01' } as const;
    const matrix = buildMatrix({
      outcomes: [
        ...passedAll,
        outcome('DOCKER-09', 'warned', 'bundle differs'),
        outcome('SPIRE-01', 'failed', 'no server'),
        outcome('SPIRE-02', 'skipped', 'blocked by SPIRE-01 (SPIRE Server is running) — failed: no server', blocked),
        outcome('POD-07', 'skipped', 'blocked by SPIRE-01 (SPIRE Server is running) — failed: no server', blocked),
        outcome('HOST-03', 'skipped', 'provider "existing": the suite does not prepare its hosts', {
          skip: 'not-applicable',
        }),
      ],
      failOnSeverity: 'critical',
    });
    const rows = new Map(matrix.rows.map((row) => [row.id, row]));
    expect(rows.get('DOCKER-09')).toMatchObject({ status: 'WARN', reason: 'bundle differs' });
    expect(rows.get('SPIRE-02')).toMatchObject({
      status: 'BLOCKED',
      skip: 'blocked',
      rootCause: 'SPIRE-01',
      reason: expect.stringMatching(/^blocked by SPIRE-01/),
      remediation: expect.stringMatching(/^SPIRE-01 is the root cause: /),
    });
    // Below fail-on, a blocked control is only skipped; a not-applicable one is skipped whatever its severity.
    expect(rows.get('POD-07')).toMatchObject({ status: 'SKIP', skip: 'blocked' });
    expect(rows.get('HOST-03')).toMatchObject({ status: 'SKIP', skip: 'not-applicable' });
    expect(matrix.result).toBe('failed');
    expect(matrix.totals).toMatchObject({ WARN: 1, FAIL: 1, BLOCKED: 1 });
  });

  test('a run whose only problems are WARN and not-applicable controls passes', () => {
    const matrix = buildMatrix({
      outcomes: [
        ...CONTROLS.map((control) => outcome(control.id, 'passed')),
        outcome('POD-03', 'warned', 'exec denied'),
        outcome('HOST-01', 'skipped', 'not owned', { skip: 'not-applicable' }),
      ],
      failOnSeverity: 'critical',
    });
    expect(matrix.result).toBe('passed');
    expect(matrix.totals).toMatchObject({ WARN: 1, SKIP: 1, BLOCKED: 0, FAIL: 0 });
  });

  test("vitest's result counts for a control that never recorded one (timeout, crash)", () => {
    const matrix = buildMatrix({
      outcomes: [outcome('PROV-01', 'passed')],
      tests: [
        { id: 'PROV-02', state: 'failed', message: '\u001b[31mTest timed out in 5000ms.\u001b[39m' },
        { id: 'PROV-03', state: 'skipped', message: 'filtered' },
        { id: 'PROV-01', state: 'failed', message: 'afterEach hook failed' },
        { id: 'PROV-04', state: 'passed' },
      ],
      failOnSeverity: 'critical',
    });
    const rows = new Map(matrix.rows.map((row) => [row.id, row]));
    expect(rows.get('PROV-02')).toMatchObject({ status: 'FAIL', reason: 'Test timed out in 5000ms.' });
    expect(rows.get('PROV-03')).toMatchObject({ status: 'BLOCKED', skip: 'not-run', reason: 'not run: filtered' });
    expect(rows.get('PROV-01')?.status).toBe('FAIL');
    expect(rows.get('PROV-01')?.reason).toContain('afterEach hook failed');
    expect(rows.get('PROV-04')?.status).toBe('PASS');
  });

  test('diagnostics are found among the evidence; duplicates and unmapped tests are reported', () => {
    const matrix = buildMatrix({
      outcomes: [{ ...outcome('SPIRE-01', 'failed', 'x'), evidence: ['evidence/SPIRE-01/diagnostics.txt'] }],
      tests: [
        { id: 'SPIRE-01', state: 'failed' },
        { id: 'SPIRE-01', state: 'failed' },
      ],
      unmapped: ['helper'],
      failOnSeverity: 'critical',
    });
    expect(matrix.rows.find((r) => r.id === 'SPIRE-01')?.diagnostics).toBe('evidence/SPIRE-01/diagnostics.txt');
    expect(matrix.duplicates).toEqual(['SPIRE-01']);
    expect(matrix.unmapped).toEqual(['helper']);
  });

  test('totals per phase add up to the totals', () => {
    const matrix = buildMatrix({
      outcomes: [outcome('PROV-01', 'passed'), outcome('SPIRE-01', 'failed', 'x'), outcome('DOCKER-09', 'warned', 'y')],
      failOnSeverity: 'critical',
    });
    const sum = (key: 'PASS' | 'FAIL' | 'WARN' | 'BLOCKED' | 'SKIP' | 'total') =>
      matrix.phases.reduce((total, phase) => total + phase.totals[key], 0);
    for (const key of ['PASS', 'FAIL', 'WARN', 'BLOCKED', 'SKIP', 'total'] as const)
      expect(sum(key)).toBe(matrix.totals[key]);
    expect(matrix.phases.map((p) => p.phase)).toEqual([...new Set(CONTROLS.map((c) => c.phase))]);
    expect(matrix.phases[0]?.name).toBe(`${PHASES.provision.order} ${PHASES.provision.name}`);
  });

  test('controlIdOf reads the id a control test name starts with', () => {
    expect(controlIdOf('SPIRE-01 SPIRE Server is running')).toBe('SPIRE-01');
    expect(controlIdOf('a helper test')).toBeUndefined();
    expect(controlIdOf('SPIRE-99 not in the catalogue')).toBeUndefined();
  });
});

describe('renderings', () => {
  const matrix = buildMatrix({
    outcomes: [
      outcome('PROV-01', 'passed'),
      {
        ...outcome('SPIRE-01', 'failed', 'no SPIRE server answers at /tmp/x <&> "quoted"\nsecond line'),
        evidence: ['evidence/SPIRE-01/diagnostics.txt'],
      },
      outcome('DOCKER-09', 'warned', 'bundle | differs'),
      outcome('SPIRE-02', 'skipped', 'blocked by SPIRE-01 (SPIRE Server is running) — failed: no server', {
        skip: 'blocked',
        rootCause: 'SPIRE-01',
      }),
    ],
    failOnSeverity: 'critical',
    generatedAt: at,
  });
  // Every other control was not run: the required ones (critical or blocker) are BLOCKED, the rest SKIP.
  const required = CONTROLS.filter((control) => severityAtLeast(control.severity, 'critical')).length;
  const blockedCount = required - 2; // PROV-01 passed and SPIRE-01 failed, both blockers
  const skipCount = CONTROLS.length - 3 - blockedCount;

  test('JUnit: one testcase per control; FAIL and BLOCKED → failure with the remediation; WARN and SKIP → skipped', () => {
    expect(matrix.totals).toMatchObject({ PASS: 1, FAIL: 1, WARN: 1, BLOCKED: blockedCount, SKIP: skipCount });
    const suites = parseXml(renderJunit(matrix));
    expect(suites.name).toBe('testsuites');
    expect(suites.attributes).toMatchObject({
      tests: String(CONTROLS.length),
      failures: String(1 + blockedCount),
      errors: '0',
      skipped: String(skipCount + 1),
    });
    const testcases = descendants(suites, 'testcase');
    expect(testcases.map((tc) => tc.attributes.name?.split(' ')[0])).toEqual(CONTROLS.map((c) => c.id));
    expect(descendants(suites, 'testsuite')).toHaveLength(matrix.phases.length);
    const byId = new Map(testcases.map((tc) => [tc.attributes.name?.split(' ')[0], tc]));
    const failure = byId.get('SPIRE-01')?.children.find((c) => c.name === 'failure');
    expect(failure?.attributes.message).toBe(CONTROLS.find((c) => c.id === 'SPIRE-01')?.remediation);
    expect(failure?.text).toContain('no SPIRE server answers at /tmp/x <&> "quoted"');
    expect(byId.get('DOCKER-09')?.children.find((c) => c.name === 'skipped')?.attributes.message).toMatch(/^WARN/);
    const blocked = byId.get('SPIRE-02')?.children.find((c) => c.name === 'failure');
    expect(blocked?.attributes).toMatchObject({
      type: 'BLOCKED',
      message: expect.stringMatching(/^SPIRE-01 is the root/),
    });
    expect(blocked?.text).toMatch(/^blocked by SPIRE-01/);
    expect(byId.get('POD-07')?.children.find((c) => c.name === 'skipped')?.attributes.message).toMatch(/^not-run: /);
    expect(byId.get('PROV-01')?.children.map((c) => c.name)).toEqual(['system-out']);
    expect(JSON.parse(byId.get('PROV-01')?.children[0]?.text ?? '{}')).toMatchObject({ id: 'PROV-01', status: 'PASS' });
  });

  test('XML escaping drops ANSI and characters XML forbids', () => {
    expect(xmlEscape('\u001b[31mred\u001b[39m <a & b> "c" \'d\' \u0000\u0007')).toBe(
      'red &lt;a &amp; b&gt; &quot;c&quot; &apos;d&apos; ',
    );
  });

  test('console: every control by phase, remediations for FAIL and WARN, BLOCKED by root cause, totals, summary', () => {
    const text = renderConsole(matrix, { reportsDir: 'reports', html: 'reports/html/index.html' }, ['[report] note']);
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`1 passed, ${2 + blockedCount} failed, ${skipCount} skipped`);
    expect(lines.at(-1)).toMatch(/^\d+ passed, \d+ failed, \d+ skipped$/);
    expect(lines.at(-1)).toBe(summaryLine(matrix.totals));
    expect(lines.at(-2)).toBe('[report] note');
    for (const control of CONTROLS)
      expect(text).toMatch(new RegExp(`^\\[(PASS|FAIL|WARN|BLOCKED|SKIP)\\] ${control.id} `, 'm'));
    const remediations = text.slice(text.indexOf('== Remediations =='), text.indexOf('== Never judged'));
    expect(remediations).toContain('SPIRE-01 SPIRE Server is running [FAIL, severity blocker]');
    expect(remediations).toContain('DOCKER-09');
    expect(remediations).not.toContain('SPIRE-02');
    expect(remediations).toContain('diagnostics: reports/evidence/SPIRE-01/diagnostics.txt');
    expect(text).toContain(
      '[BLOCKED] SPIRE-02 SPIRE Server reports healthy (blocked by SPIRE-01 (SPIRE Server is running))',
    );
    expect(text).toContain('[SKIP] POD-07 SPIRE Agent binary is mounted read-only in the pod (not run)');
    const never = text.slice(text.indexOf('== Never judged'), text.indexOf('== Summary total =='));
    expect(never).toContain('root cause SPIRE-01: SPIRE-02');
    expect(never).toMatch(/^not run: PROV-02, PROV-03, /m);
    expect(text).toMatch(
      new RegExp(
        `1 checks PASS\n1 checks FAIL\n1 checks WARN\n${blockedCount} checks BLOCKED\n${skipCount} checks SKIP`,
      ),
    );
    expect(text).toMatch(/FAILED: 1 control\(s\) failed and \d+ control\(s\) were never judged/);
  });

  test('Markdown: a table per phase with a row per control, escaped cells, and the remediations', () => {
    const md = renderMarkdown(matrix, { reportsDir: 'reports', html: 'html/index.html' });
    for (const control of CONTROLS) {
      expect(md.match(new RegExp(`^\\| ${control.id} \\|`, 'gm')), control.id).toHaveLength(1);
    }
    expect(md).toContain('bundle \\| differs');
    expect(md).toContain('**Result: FAILED: 1 control(s) failed and');
    expect(md).toContain('- root cause **SPIRE-01**: SPIRE-02');
    expect(md).toContain('### SPIRE-01 SPIRE Server is running — FAIL (blocker)');
    expect(md).toContain('[diagnostics.txt](evidence/SPIRE-01/diagnostics.txt)');
  });
});

describe('failure categories', () => {
  test('infrastructure phases, identity phases, message patterns, WARN, blocked and not run', () => {
    const row = (id: string, status: 'FAIL' | 'WARN' | 'BLOCKED' | 'SKIP', reason?: string, skip?: SkipKind) => {
      const matrix = buildMatrix({ outcomes: [], failOnSeverity: 'critical' });
      const found = matrix.rows.find((r) => r.id === id);
      if (!found) throw new Error(id);
      return { ...found, status, reason, skip };
    };
    expect(failureCategory(row('SPIRE-01', 'FAIL', 'no server'))).toBe('infrastructure');
    expect(failureCategory(row('DOCKER-05', 'FAIL', 'wrong SPIFFE ID'))).toBe('identity');
    expect(failureCategory(row('DOCKER-02', 'FAIL', 'connect ECONNREFUSED'))).toBe('infrastructure');
    expect(failureCategory(row('DOCKER-09', 'WARN', 'x'))).toBe('warning');
    expect(failureCategory(row('SPIRE-02', 'BLOCKED', 'blocked by SPIRE-01', 'blocked'))).toBe('blocked');
    expect(failureCategory(row('POD-07', 'SKIP', 'blocked by SPIRE-01', 'blocked'))).toBe('blocked');
    expect(failureCategory(row('POD-07', 'SKIP', 'not run', 'not-run'))).toBe('not-run');
    expect(failureCategory(row('HOST-01', 'SKIP', 'not owned', 'not-applicable'))).toBe('not-run');
    for (const phase of INFRASTRUCTURE_PHASES) expect(Object.keys(PHASES)).toContain(phase);
  });

  test('categories.json regexes match the messages the results carry', () => {
    const categories = allure2Categories(CONTROLS);
    const match = (status: string, message: string) =>
      categories.find((c) => c.matchedStatuses.includes(status) && new RegExp(`^(?:${c.messageRegex})$`).test(message))
        ?.name;
    expect(match('failed', 'SPIRE-01 failed: no server\n\nRemediation: start it')).toBe('Infrastructure not ready');
    expect(match('failed', 'DOCKER-05 failed: wrong ID\n\nRemediation: x')).toBe('Identity / mTLS defect');
    expect(match('failed', 'DOCKER-02 failed: connect ECONNREFUSED /tmp/x')).toBe('Infrastructure not ready');
    expect(match('failed', 'WARN (severity normal is below fail-on critical): x')).toBe(
      'WARN: failed below the fail-on severity',
    );
    const blocked = 'Not judged: blocked by a prerequisite';
    expect(match('skipped', 'blocked: blocked by SPIRE-01 (SPIRE Server is running) — failed')).toBe(blocked);
    expect(match('failed', 'BLOCKED (blocked; severity critical is at or above fail-on critical): x')).toBe(blocked);
    expect(match('skipped', 'not-run: not run')).toBe('Not run or not applicable');
    expect(match('skipped', 'not-applicable: provider "existing": the cluster was created elsewhere')).toBe(
      'Not run or not applicable',
    );
  });
});
