// control() and the compliance reporter end to end, on the scenario suite (test/report/fixture-suite): the validation's
// vitest configuration and reporters, fake control bodies, no SPIRE. A FAIL fails the run with the remediation and a
// diagnostics attachment; a WARN (failed below failOnSeverity) passes it; a blocked control keeps its reason; a
// hanging control is cut off in time to collect diagnostics; a broken allure CLI does not fail a passing run; a
// crashed worker still leaves the full matrix.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { CONTROLS } from '../../lib/controls.ts';
import { severityAtLeast } from '../../lib/report/matrix.ts';
import { scanReports } from '../../lib/report/reports-scan.ts';
import {
  allureResults,
  attachmentNames,
  attachmentSource,
  type ChildRun,
  descendants,
  parseXml,
  readCompliance,
  runVitest,
  scratchReports,
} from './helpers.ts';

const CONFIG = 'test/report/fixture-suite/vitest.config.ts';

function scenario(
  name: string,
  reportsDir: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<ChildRun> {
  return runVitest({
    config: CONFIG,
    args,
    // A state directory of its own: the scenarios touch no host component, so they need not own the host.
    env: {
      FIXTURE_SCENARIO: name,
      SPIRE_VALIDATION_REPORTS_DIR: reportsDir,
      SPIRE_VALIDATION_STATE_DIR: join(reportsDir, 'state'),
      ...env,
    },
    timeoutMs: 120_000,
  });
}

describe('a run with FAIL, WARN, blocked and hanging controls', () => {
  const reports = scratchReports('fixture-mixed');
  // Judged: PROV-01..03, HOST-01 (PASS), PROV-02, HOST-06, HOST-07 (FAIL), HOST-04 (WARN), all required but HOST-04;
  // every other required control was never judged (BLOCKED), the rest is SKIP.
  const required = CONTROLS.filter((control) => severityAtLeast(control.severity, 'critical')).length;
  const blocked = required - 6;
  const skipped = CONTROLS.length - 7 - blocked;
  let run: ChildRun;
  beforeAll(async () => {
    run = await scenario('mixed', reports);
  }, 150_000);

  test('exits non-zero because controls of severity >= critical failed', () => {
    expect(run.code, run.output).toBe(1);
  });

  test('the console ends with the matrix summary and the plain counts line', () => {
    const lines = run.output.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`3 passed, ${4 + blocked} failed, ${skipped} skipped`);
    expect(run.output).toContain('== Remediations ==');
    expect(run.output).toContain(
      `3 checks PASS\n3 checks FAIL\n1 checks WARN\n${blocked} checks BLOCKED\n${skipped} checks SKIP`,
    );
    expect(run.output).toContain('root cause PROV-02: PROV-04');
    expect(run.output.lastIndexOf('== Summary total ==')).toBeGreaterThan(run.output.lastIndexOf('Test Files'));
  });

  test('every catalogue control is in compliance.json exactly once with the expected status', () => {
    const doc = readCompliance(reports);
    expect(doc.rows.map((row) => row.id)).toEqual(CONTROLS.map((control) => control.id));
    const status = Object.fromEntries(doc.rows.map((row) => [row.id, row.status]));
    expect(status).toMatchObject({
      'PROV-01': 'PASS',
      'PROV-02': 'FAIL',
      'PROV-03': 'PASS',
      'PROV-04': 'BLOCKED',
      'HOST-01': 'PASS',
      'HOST-04': 'WARN',
      'HOST-06': 'FAIL',
      'HOST-07': 'FAIL',
      'SPIRE-01': 'BLOCKED',
      'POD-07': 'SKIP',
    });
    const rows = new Map(doc.rows.map((row) => [row.id, row]));
    expect(rows.get('PROV-04')?.reason).toMatch(
      /^blocked by PROV-02 \(Docker engine is running\) — failed: connect ECONNREFUSED/,
    );
    expect(rows.get('PROV-04')).toMatchObject({ skip: 'blocked', rootCause: 'PROV-02' });
    expect(rows.get('SPIRE-01')).toMatchObject({ skip: 'not-run', reason: 'not run' });
    expect(rows.get('HOST-06')?.reason).toMatch(/did not finish within \d+ s/);
    expect(rows.get('PROV-02')?.remediation).toBe(CONTROLS.find((c) => c.id === 'PROV-02')?.remediation);
    expect(rows.get('PROV-02')?.diagnostics).toBe('evidence/PROV-02/diagnostics.txt');
    expect(doc.unmapped).toEqual(['a helper test outside the catalogue']);
    expect(doc.result).toBe('failed');
    expect(doc.environment.node).toBe(process.version);
  });

  test('failing controls carry the remediation and a diagnostics attachment in Allure', () => {
    const results = allureResults(reports);
    for (const id of ['PROV-02', 'HOST-06', 'HOST-07']) {
      const result = results.get(id);
      expect(result?.status, id).toBe('failed');
      expect(result?.statusDetails?.message, id).toContain(
        `Remediation: ${CONTROLS.find((c) => c.id === id)?.remediation}`,
      );
      expect(attachmentNames(result as NonNullable<typeof result>), id).toContain('diagnostics.txt');
    }
    const prov02 = results.get('PROV-02') as NonNullable<ReturnType<typeof results.get>>;
    const source = attachmentSource(prov02, 'diagnostics.txt') as string;
    const diagnostics = readFileSync(join(reports, 'allure-results', source), 'utf8');
    expect(diagnostics).toContain('== Diagnostics for PROV-02');
    expect(diagnostics).toContain('SPIRE server and agent processes');
    expect(prov02.labels).toContainEqual({ name: 'failureCategory', value: 'infrastructure' });
    expect(readFileSync(join(reports, 'evidence', 'PROV-02', 'diagnostics.txt'), 'utf8')).toBe(diagnostics);
  });

  test('the WARN control passed in vitest, is a failure marked WARN in Allure, and did not fail the run alone', () => {
    expect(run.output).toMatch(/✓ HOST-04 Swap state known/);
    const warn = allureResults(reports).get('HOST-04');
    expect(warn?.status).toBe('failed');
    expect(warn?.statusDetails?.message).toMatch(/^WARN \(severity minor is below fail-on critical/);
    expect(attachmentNames(warn as NonNullable<typeof warn>)).toContain('diagnostics.txt');
  });

  test('a blocked control keeps its reason and kind; labels, steps and parameters are there', () => {
    const results = allureResults(reports);
    const blocked = results.get('PROV-04');
    expect(blocked?.status).toBe('failed');
    expect(blocked?.statusDetails?.message).toMatch(/^BLOCKED \(blocked; .*\): blocked by PROV-02/);
    expect(blocked?.description).toMatch(/^Skipped \(blocked\): blocked by PROV-02/);
    expect(results.get('POD-07')?.status).toBe('skipped');
    const passed = results.get('PROV-01');
    expect(passed?.labels).toEqual(
      expect.arrayContaining([
        { name: 'epic', value: 'Phase 3: Kubernetes SPIRE Integration' },
        { name: 'feature', value: '00 Provisioning' },
        { name: 'story', value: `PROV-01 ${CONTROLS[0]?.title}` },
        { name: 'severity', value: 'blocker' },
      ]),
    );
    expect(passed?.steps.map((step) => step.name)).toContain('checking the fixture runtime');
    expect(passed?.parameters.map((p) => p.name)).toEqual(
      expect.arrayContaining(['provider', 'runtime', 'attestation', 'SPIRE', 'Kubernetes', 'Node.js']),
    );
    expect(results.size).toBe(CONTROLS.length);
  });

  test('junit.xml has one testcase per control, failures carrying the remediation', () => {
    const junit = parseXml(readFileSync(join(reports, 'junit.xml'), 'utf8'));
    const testcases = descendants(junit, 'testcase');
    // One per control, and the run check after them: the secret scan of the reports (passed here).
    expect(testcases).toHaveLength(CONTROLS.length + 1);
    expect(testcases.at(-1)?.attributes.name, 'the run check comes last').toBe('secret scan of the reports');
    expect(junit.attributes).toMatchObject({ failures: String(3 + blocked), tests: String(CONTROLS.length + 1) });
    const failed = testcases.filter((tc) =>
      tc.children.some((c) => c.name === 'failure' && c.attributes.type === 'FAIL'),
    );
    expect(failed.map((tc) => tc.attributes.name?.split(' ')[0])).toEqual(['PROV-02', 'HOST-06', 'HOST-07']);
  });

  test('no private key anywhere in the reports; the refused one is recorded as refused', () => {
    expect(scanReports(reports).findings, 'the secret scan finds no private key or join token').toEqual([]);
    expect(readFileSync(join(reports, 'evidence', 'PROV-03', 'refusal.txt'), 'utf8')).toContain(
      'contains private key material; it was not kept',
    );
  });

  test('compliance.md and the HTML report are written', () => {
    expect(readFileSync(join(reports, 'compliance.md'), 'utf8')).toContain(
      '| PROV-02 | Docker engine is running | blocker | ❌ FAIL |',
    );
    expect(existsSync(join(reports, 'html', 'index.html'))).toBe(true);
    expect(existsSync(join(reports, 'history.jsonl'))).toBe(true);
  });
});

test('a WARN alone passes the run, and a broken allure CLI is reported without failing it', async () => {
  const reports = scratchReports('fixture-warn');
  const run = await scenario('warn-only', reports, { FIXTURE_ALLURE_CLI: join(reports, 'no-such-allure-cli.js') });
  expect(run.code, run.output).toBe(0);
  expect(run.output).toContain('[report] HTML report NOT generated: the allure CLI is not installed');
  expect(run.output).toContain('PASSED with 1 not judged (1 not applicable by design) and 1 warning(s) below critical');
  expect(run.output).toContain(`${CONTROLS.length - 1} judged, 1 not judged (of ${CONTROLS.length} controls)`);
  expect(run.output.trimEnd().split('\n').at(-1)).toBe(`${CONTROLS.length - 2} passed, 1 failed, 1 skipped`);
  const doc = readCompliance(reports);
  expect(doc.result).toBe('passed');
  expect(doc.html).toMatchObject({ ok: false });
  expect(doc.rows.find((row) => row.id === 'HOST-04')?.status).toBe('WARN');
  // A figure reaches the matrix; a control not applicable in a situation its catalogue entry names is a SKIP that
  // does not fail the run, and its reason says the situation, the catalogue's reason and what was seen.
  expect(doc.rows.find((row) => row.id === 'RES-01')).toMatchObject({ figures: { 'time to recovery': '6.5 s' } });
  expect(readFileSync(join(reports, 'compliance.md'), 'utf8')).toMatch(/\| RES-01 \|.*\| time to recovery: 6\.5 s \|/);
  expect(doc.rows.find((row) => row.id === 'RES-03')).toMatchObject({
    status: 'SKIP',
    skip: 'not-applicable',
    reason:
      "not applicable by design (the SPIRE server or agent is the user's (not started by this suite or by a KEEP run " +
      'of it)): the suite never restarts a SPIRE agent it did not start — the SPIRE agent (pid 1) was not started by ' +
      'this run',
  });
  expect(run.output).toMatch(/^RES-03 \[not-applicable\] not applicable by design/m);
  expect(existsSync(join(reports, 'html'))).toBe(false);
  expect(existsSync(join(reports, 'junit.xml'))).toBe(true);
}, 150_000);

test('a WARN prerequisite does not block its dependents: POD-03 WARN, POD-04 … POD-09 and MESH-01 judged', async () => {
  const reports = scratchReports('fixture-warn-prerequisite');
  // With the resilience phase switched off: its controls are waived, named by the setting, and pass the run.
  const run = await scenario('warn-prerequisite', reports, { SPIRE_VALIDATION_RESILIENCE: '0' });
  expect(run.code, run.output).toBe(0);
  const rows = readCompliance(reports).rows;
  const status = Object.fromEntries(rows.map((row) => [row.id, row.status]));
  expect(status).toMatchObject({ 'POD-03': 'WARN', 'POD-04': 'PASS', 'POD-09': 'PASS', 'MESH-01': 'PASS' });
  for (const row of rows.filter((r) => r.phase === 'resilience'))
    expect(row).toMatchObject({
      status: 'SKIP',
      skip: 'waived',
      reason: 'waived (setting resilience.enabled=false): the resilience phase is switched off',
    });
  expect(run.output).toContain('PASSED with 5 not judged (5 waived)');
}, 150_000);

test('a secret in the reports fails a run whose controls all passed, naming the file and the kind', async () => {
  const reports = scratchReports('fixture-leak');
  const token = randomUUID();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' });
  const run = await scenario('leak', reports, {
    FIXTURE_JOIN_TOKEN: token,
    FIXTURE_PRIVATE_KEY: key.toString('base64'),
  });
  expect(run.code, `the scan's finding alone fails the run:\n${run.output}`).toBe(1);
  const doc = readCompliance(reports);
  expect(
    doc.rows.every((row) => row.status === 'PASS'),
    'every control passed',
  ).toBe(true);
  expect(doc.result, 'the run failed on the scan').toBe('failed');
  expect(
    doc.secretScan?.findings.map((finding) => `${finding.file}: ${finding.kind}`),
    'only the file written past the redaction is a finding; the evidence was redacted',
  ).toEqual([
    'leaky.log: SPIRE join token in an agent configuration (join_token = "<token>")',
    'leaky.log: PKCS#8 private key (EC), DER in base64',
  ]);
  expect(run.output, 'the console names the file and the kind').toContain(
    'leaky.log: PKCS#8 private key (EC), DER in base64',
  );
  expect(run.output, 'and says why the run failed').toContain(
    'FAILED: the secret scan found a private key or join token in 1 report file(s)',
  );
  expect(run.output, 'the console never shows the token').not.toContain(token);
  expect(readFileSync(join(reports, 'evidence', 'SPIRE-03', 'agent-process.txt'), 'utf8'), 'evidence redacted').toMatch(
    /-joinToken \[join token removed, sha256:[0-9a-f]{8}\]$/,
  );
  expect(scanReports(reports).findings, 'after the run failed, the secrets were taken out of the reports').toEqual([]);
}, 150_000);

test('a worker that dies mid-control still leaves the full matrix, the dead control as FAIL', async () => {
  const reports = scratchReports('fixture-crash');
  const run = await scenario('crash', reports);
  expect(run.code, run.output).not.toBe(0);
  const doc = readCompliance(reports);
  expect(doc.rows).toHaveLength(CONTROLS.length);
  const rows = new Map(doc.rows.map((row) => [row.id, row]));
  expect(rows.get('PROV-01')?.status).toBe('PASS');
  expect(rows.get('HOST-01')).toMatchObject({ status: 'FAIL' });
  expect(rows.get('HOST-01')?.reason).toMatch(/^the run stopped while HOST-01 was running: .*SIGKILL/);
  expect(rows.get('HOST-02')?.reason).toMatch(/^not run \(the run stopped: /);
  expect(rows.get('HOST-02')).toMatchObject({ status: 'BLOCKED', skip: 'not-run' });
  expect(run.output.trimEnd().split('\n').at(-1)).toMatch(/^1 passed, \d+ failed, \d+ skipped$/);
}, 150_000);

describe('the verdict does not depend on the reporter: a required control left unjudged (no FAIL) fails the run', () => {
  for (const reporter of ['dot', 'junit']) {
    test(`under --reporter=${reporter}: exit 1, the matrix, JUnit and Allure written, RES-05 BLOCKED with its reason`, async () => {
      const reports = scratchReports(`fixture-unjudged-${reporter}`);
      const run = await scenario('unjudged', reports, { FIXTURE_ALLURE_CLI: join(reports, 'no-allure.js') }, [
        `--reporter=${reporter}`,
      ]);
      expect(run.code, run.output).toBe(1);
      const doc = readCompliance(reports);
      expect(doc.result).toBe('failed');
      expect(doc.rows.filter((row) => row.status === 'FAIL')).toEqual([]);
      expect(doc.rows.find((row) => row.id === 'RES-05')).toMatchObject({ status: 'BLOCKED', skip: 'unjudged' });
      expect(doc.rows.find((row) => row.id === 'RES-05')?.reason).toContain(
        'the catalogue does not list the situation "spire-not-ours" for RES-05',
      );
      expect(readFileSync(join(reports, 'junit.xml'), 'utf8')).toContain('type="BLOCKED"');
      expect(existsSync(join(reports, 'allure-results', 'environment.properties'))).toBe(true);
      expect(readFileSync(join(reports, 'allure-results', 'environment.properties'), 'utf8')).toContain(
        'Not.judged=RES-05 (unjudged)',
      );
      expect(run.output).toContain('FAILED: 1 control(s) were never judged');
    }, 150_000);
  }
});

describe('waivers and phase selection: not judged for a reason the report prints, and the run still passes', () => {
  test('a waiver skips the control, names the reason and its source, and the run is "PASSED with 1 not judged"', async () => {
    const reports = scratchReports('fixture-waiver');
    const run = await scenario('unjudged', reports, {
      SPIRE_VALIDATION_WAIVERS: 'RES-05=the fixture cannot restart a pod',
    });
    expect(run.code, run.output).toBe(0);
    const row = readCompliance(reports).rows.find((r) => r.id === 'RES-05');
    expect(row).toMatchObject({
      status: 'SKIP',
      skip: 'waived',
      reason: 'waived (environment SPIRE_VALIDATION_WAIVERS): the fixture cannot restart a pod',
    });
    expect(run.output).toContain('PASSED with 1 not judged (1 waived)');
  }, 150_000);

  test('a waiver of an unknown control is rejected at load: exit non-zero, no report, nothing touched', async () => {
    const reports = scratchReports('fixture-waiver-unknown');
    const run = await scenario('all-pass', reports, { SPIRE_VALIDATION_WAIVERS: 'RES-99=no such control' });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('waivers[0].id: must be a control id of the catalogue');
    expect(run.output).toContain('nothing on the host was changed');
    expect(existsSync(join(reports, 'compliance.json'))).toBe(false);
    expect(existsSync(join(reports, 'state'))).toBe(false);
  }, 150_000);

  test('until=20: the later phases are "not selected", the run passes with them listed', async () => {
    const reports = scratchReports('fixture-until');
    const run = await scenario('all-pass', reports, { SPIRE_VALIDATION_UNTIL: '20' });
    expect(run.code, run.output).toBe(0);
    const doc = readCompliance(reports);
    const later = doc.rows.filter((row) => row.phase === 'pod' || row.phase === 'resilience');
    expect(later.length).toBeGreaterThan(0);
    for (const row of later) expect(row).toMatchObject({ status: 'SKIP', skip: 'not-selected' });
    expect(later[0]?.reason).toContain(
      "not selected: the run's phase selection is until 20: phases 00, 10, 12, 14, 20",
    );
    expect(doc.rows.find((row) => row.id === 'SPIRE-06')?.status).toBe('PASS');
    expect(run.output).toMatch(/PASSED with \d+ not judged \(\d+ not selected\)/);
  }, 150_000);
});
