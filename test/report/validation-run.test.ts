// The reports of real validation runs (child processes, real SPIRE and Docker), each into its own scratch reports
// directory, and the HTML report looked at in headless Chromium (screenshots kept in reports/screenshots/):
//   - a deliberately broken run (spire.mode existing, a server socket where no SPIRE answers; the phases up to the
//     Docker workload): SPIRE-01 FAIL with the remediation and a diagnostics attachment, its dependents SKIP with the
//     reason, a non-zero exit;
//   - the full validation: the matrix agrees with the run's exit status, and no private key is anywhere in the
//     reports (DOCKER-03 reads the workload's svid.0.key).
// Never beside another validation or the cluster tests: each run waits until it has the host to itself.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { CONTROLS } from '../../lib/controls.ts';
import type { MatrixStatus } from '../../lib/report/matrix.ts';
import { scanReports } from '../../lib/report/reports-scan.ts';
import { Browser, ensureChromium, openTestResult, readReportTree } from './chromium.ts';
import {
  allureResults,
  attachmentNames,
  attachmentSource,
  type ChildRun,
  descendants,
  ENVIRONMENT_KEYS,
  parseXml,
  REPO_ROOT,
  readCompliance,
  runVitest,
  scratchReports,
  waitForExclusiveHost,
} from './helpers.ts';

/**
 * The console's last line, leaving out the worker's progress lines ("[validate +…]", on stderr): the main process may
 * relay a late teardown line of the worker after its own summary, so the two streams interleave by chance.
 */
function lastLine(output: string): string | undefined {
  return output
    .trimEnd()
    .split('\n')
    .filter((line) => !line.startsWith('[validate +'))
    .at(-1);
}

const SCREENSHOTS = join(REPO_ROOT, 'reports', 'screenshots');
const ALLURE_STATUS: Record<MatrixStatus, string> = {
  PASS: 'passed',
  FAIL: 'failed',
  WARN: 'failed',
  BLOCKED: 'failed',
  SKIP: 'skipped',
};

/** Opens the report, checks every catalogue control is there with the matrix's status, keeps a screenshot. */
async function lookAtReport(reportsDir: string, screenshot: string): Promise<{ browser: Browser; text: string }> {
  const html = join(reportsDir, 'html', 'index.html');
  expect(existsSync(html), `${html} was not generated`).toBe(true);
  ensureChromium();
  const browser = await Browser.open(`file://${html}`, { width: 1440, height: 2400 });
  try {
    const leaves = await readReportTree(browser);
    const doc = readCompliance(reportsDir);
    expect(leaves.map((leaf) => leaf.id).sort()).toEqual(CONTROLS.map((control) => control.id).sort());
    const shown = new Map(leaves.map((leaf) => [leaf.id, leaf.status]));
    for (const row of doc.rows)
      expect(shown.get(row.id), `${row.id} in the HTML report`).toBe(ALLURE_STATUS[row.status]);
    mkdirSync(SCREENSHOTS, { recursive: true });
    writeFileSync(join(SCREENSHOTS, screenshot), await browser.screenshot());
    return { browser, text: await browser.text() };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

describe('a deliberately broken run: no SPIRE server where spire.mode=existing looks', () => {
  const reports = scratchReports('broken-run');
  let run: ChildRun;
  beforeAll(async () => {
    await waitForExclusiveHost();
    // The phases up to the Docker workload: SPIRE-01 and its dependents, without starting a cluster first (the
    // Kubernetes controls are then "not run").
    run = await runVitest({
      files: ['suites/00-', 'suites/20-', 'suites/30-', 'suites/40-'],
      env: {
        SPIRE_VALIDATION_SPIRE_MODE: 'existing',
        SPIRE_VALIDATION_SERVER_SOCKET: `/tmp/spire-validation-broken-${process.pid}/api.sock`,
        SPIRE_VALIDATION_REPORTS_DIR: reports,
      },
      timeoutMs: 30 * 60_000,
    });
    writeFileSync(join(reports, 'console.log'), run.output);
  }, 60 * 60_000);

  test('fails, and the console ends with the remediation, the totals and the counts line', () => {
    expect(run.code, run.output).toBe(1);
    expect(run.output).toContain('[FAIL] SPIRE-01 SPIRE Server is running');
    const remediations = run.output.slice(run.output.lastIndexOf('== Remediations =='));
    expect(remediations).toContain(`remediation: ${CONTROLS.find((c) => c.id === 'SPIRE-01')?.remediation}`);
    expect(remediations).toContain('diagnostics:');
    expect(run.output).toMatch(/^root cause SPIRE-01: SPIRE-02, SPIRE-03, /m);
    expect(lastLine(run.output)).toMatch(/^\d+ passed, \d+ failed, \d+ skipped$/);
  });

  test('SPIRE-01 is FAIL with its remediation and diagnostics; every dependent is BLOCKED naming SPIRE-01', () => {
    const doc = readCompliance(reports);
    expect(doc.rows.map((row) => row.id)).toEqual(CONTROLS.map((control) => control.id));
    const rows = new Map(doc.rows.map((row) => [row.id, row]));
    const spire01 = rows.get('SPIRE-01');
    expect(spire01).toMatchObject({ status: 'FAIL', diagnostics: 'evidence/SPIRE-01/diagnostics.txt' });
    expect(spire01?.reason).toContain('spire.mode is "existing"');
    expect(spire01?.remediation).toBe(CONTROLS.find((c) => c.id === 'SPIRE-01')?.remediation);
    for (const id of ['SPIRE-02', 'SPIRE-03', 'SPIRE-06', 'REG-01', 'REG-02', 'DOCKER-02', 'DOCKER-08', 'NEG-01']) {
      expect(rows.get(id), id).toMatchObject({ status: 'BLOCKED', skip: 'blocked', rootCause: 'SPIRE-01' });
      expect(rows.get(id)?.reason, id).toMatch(
        /^blocked by SPIRE-01 \(SPIRE Server is running\) — failed: no SPIRE server/,
      );
      expect(rows.get(id)?.remediation, id).toMatch(/^SPIRE-01 is the root cause: Start SPIRE/);
    }
    expect(rows.get('PROV-01')?.status).toBe('PASS');
    expect(doc.result).toBe('failed');
    const markdown = readFileSync(join(reports, 'compliance.md'), 'utf8');
    expect(markdown).toContain('### SPIRE-01 SPIRE Server is running — FAIL (blocker)');
    const junit = parseXml(readFileSync(join(reports, 'junit.xml'), 'utf8'));
    const failure = descendants(junit, 'testcase')
      .find((tc) => tc.attributes.name?.startsWith('SPIRE-01 '))
      ?.children.find((child) => child.name === 'failure');
    expect(failure?.attributes.message).toBe(spire01?.remediation);
  });

  test('in Allure: failed with the remediation, the diagnostics attached, dependents BLOCKED with the reason', () => {
    const results = allureResults(reports);
    const spire01 = results.get('SPIRE-01');
    expect(spire01?.status).toBe('failed');
    expect(spire01?.statusDetails?.message).toContain('Remediation: Start SPIRE');
    expect(spire01?.labels).toContainEqual({ name: 'failureCategory', value: 'infrastructure' });
    expect(attachmentNames(spire01 as NonNullable<typeof spire01>)).toContain('diagnostics.txt');
    const source = attachmentSource(spire01 as NonNullable<typeof spire01>, 'diagnostics.txt') as string;
    const diagnostics = readFileSync(join(reports, 'allure-results', source), 'utf8');
    for (const title of ['SPIRE sockets', 'SPIRE server and agent processes', 'CNI plugins', 'Recent logs'])
      expect(diagnostics).toContain(title);
    expect(diagnostics).toContain(`/tmp/spire-validation-broken-${process.pid}/api.sock: does not exist`);
    const spire02 = results.get('SPIRE-02');
    expect(spire02?.status).toBe('failed');
    expect(spire02?.statusDetails?.message).toMatch(/^BLOCKED \(blocked; .*\): blocked by SPIRE-01/);
    expect(scanReports(reports).findings, 'the secret scan finds no private key or join token').toEqual([]);
  });

  test('the HTML report shows every control with its status, and SPIRE-01 with remediation and diagnostics', async () => {
    const { browser } = await lookAtReport(reports, 'broken-run.png');
    try {
      const page = await openTestResult(browser, 'SPIRE-01', 'diagnostics.txt');
      expect(page).toContain('Remediation: Start SPIRE');
      expect(page).toContain('Infrastructure not ready');
      writeFileSync(join(SCREENSHOTS, 'broken-run-SPIRE-01.png'), await browser.screenshot());
    } finally {
      await browser.close();
    }
  }, 120_000);
});

describe('the full validation', () => {
  const reports = scratchReports('full-run');
  const historyBefore = existsSync(join(reports, 'history.jsonl'))
    ? readFileSync(join(reports, 'history.jsonl'), 'utf8').trim().split('\n').length
    : 0;
  let run: ChildRun;
  beforeAll(async () => {
    await waitForExclusiveHost();
    run = await runVitest({ env: { SPIRE_VALIDATION_REPORTS_DIR: reports }, timeoutMs: 60 * 60_000 });
    writeFileSync(join(reports, 'console.log'), run.output);
  }, 90 * 60_000);

  test('exits as the matrix says, and ends with its summary', () => {
    const doc = readCompliance(reports);
    expect(run.code, run.output.slice(-6000)).toBe(doc.result === 'failed' ? 1 : 0);
    const t = doc.totals;
    expect(lastLine(run.output)).toBe(`${t.PASS} passed, ${t.FAIL + t.WARN + t.BLOCKED} failed, ${t.SKIP} skipped`);
    expect(doc.rows.map((row) => row.id)).toEqual(CONTROLS.map((control) => control.id));
    // The Docker phase ran to the end: its evidence is there.
    expect(doc.rows.find((row) => row.id === 'DOCKER-03')?.status).toBe('PASS');
  });

  test('no private key anywhere in the reports, though the workload wrote one', () => {
    expect(existsSync(join(reports, 'evidence', 'DOCKER-03'))).toBe(true);
    expect(
      scanReports(join(reports, 'allure-results')).findings,
      'the secret scan finds no private key or join token',
    ).toEqual([]);
    expect(scanReports(reports).findings, 'the secret scan finds no private key or join token').toEqual([]);
    expect(readCompliance(reports).secretScan?.findings, "the run's own secret scan found nothing").toEqual([]);
  });

  test('environment, executor, categories and history are written', () => {
    const properties = readFileSync(join(reports, 'allure-results', 'environment.properties'), 'utf8');
    for (const key of ENVIRONMENT_KEYS) expect(properties).toMatch(new RegExp(`^${key.replace('.', '\\.')}=.+`, 'm'));
    expect(properties).toMatch(/^SPIRE=1\.13\.3$/m);
    expect(properties).toMatch(/^Artifact\.spire=1\.13\.3 \(\w[\w-]*\)$/m);
    expect(existsSync(join(reports, 'allure-results', 'executor.json'))).toBe(true);
    expect(existsSync(join(reports, 'allure-results', 'categories.json'))).toBe(true);
    const history = readFileSync(join(reports, 'history.jsonl'), 'utf8').trim().split('\n');
    expect(history.length).toBe(historyBefore + 1);
  });

  test('the HTML report shows every control with its status', async () => {
    const { browser, text } = await lookAtReport(reports, 'full-run.png');
    try {
      expect(text).toContain('SPIFFE/SPIRE Kubernetes validation');
      const page = await openTestResult(browser, 'DOCKER-04', 'svid-findings');
      expect(page).toContain('Passed');
    } finally {
      await browser.close();
    }
  }, 120_000);
});
