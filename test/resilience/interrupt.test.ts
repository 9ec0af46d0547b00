// Interruption-safe teardown, for real: a full validation is interrupted at three points (SIGINT while the provisioning
// check runs, SIGTERM while the local cluster starts, SIGINT in the pod phase), and one is killed outright (SIGKILL:
// no handler runs) and cleaned afterwards by `npm run teardown`. After each, the host must be as it was before the
// run (fixtures/host-snapshot.ts: processes, containers, mounts, interfaces, namespaces, iptables, sysctls, cgroups,
// temp directories, the ledger and the lock), and an interrupted run must have written its reports with the
// interrupted control marked and the rest "not run".
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffSnapshots, type HostSnapshot, snapshotHost } from '../../fixtures/host-snapshot.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { acquireHostLock } from '../../lib/host-lock.ts';
import { REPO_ROOT, readCompliance, runVitest, scratchReports, waitForExclusiveHost } from '../report/helpers.ts';

/** Resilience off: the interrupt points are all before it, and each run is shorter. */
const RUN_ENV = { SPIRE_VALIDATION_RESILIENCE: '0', KEEP: '0' };
const RUN_TIMEOUT_MS = 12 * 60_000;

function configFor(reportsDir: string): SuiteConfig {
  return loadConfig({ env: { ...process.env, ...RUN_ENV, SPIRE_VALIDATION_REPORTS_DIR: reportsDir } });
}

const POINTS = [
  { name: 'provisioning', signal: 'SIGINT', when: /\] PROV-0[23] / },
  { name: 'cluster-start', signal: 'SIGTERM', when: /local cluster: kube-apiserver ready/ },
  { name: 'pod-phase', signal: 'SIGINT', when: /\] POD-0[2-4] / },
] as const;

describe('an interrupted validation tears down what it started and writes its reports', () => {
  let before: HostSnapshot;

  beforeAll(async () => {
    await waitForExclusiveHost();
    before = await snapshotHost(configFor(scratchReports('interrupt/before')));
  }, 16 * 60_000);

  it('a second run while another owns the host is refused, names the owner, and changes nothing', async () => {
    const reportsDir = scratchReports('interrupt/refused');
    const config = configFor(reportsDir);
    // This test process plays the run that owns the host.
    const lock = acquireHostLock(config.stateDir, {
      checkout: '/elsewhere/checkout',
      reportsDir: '/elsewhere/reports',
    });
    try {
      const run = await runVitest({
        env: { ...RUN_ENV, SPIRE_VALIDATION_REPORTS_DIR: reportsDir },
        timeoutMs: 120_000,
      });
      expect(run.code, 'the refused run fails').not.toBe(0);
      expect(run.output).toMatch(
        new RegExp(`Another validation run owns this host: pid ${process.pid}, .*/elsewhere/checkout`),
      );
      expect(existsSync(join(reportsDir, 'compliance.json')), 'the refused run writes no report').toBe(false);
      expect(diffSnapshots(before, await snapshotHost(config)), 'the refused run changed the host').toEqual([
        'state: + host lock: present',
        'state: - host lock: absent',
      ]);
    } finally {
      lock.release();
    }
  });

  for (const point of POINTS) {
    it(`${point.signal} during ${point.name}`, { timeout: RUN_TIMEOUT_MS + 60_000 }, async () => {
      const reportsDir = scratchReports(`interrupt/${point.name}`);
      const run = await runVitest({
        env: { ...RUN_ENV, SPIRE_VALIDATION_REPORTS_DIR: reportsDir },
        timeoutMs: RUN_TIMEOUT_MS,
        interrupt: { when: point.when, signal: point.signal },
      });
      writeFileSync(join(reportsDir, 'run-output.log'), run.output);
      const tail = run.output.split('\n').slice(-40).join('\n');
      expect(run.interruptedOn, `the run never reached ${point.when} (output's end:\n${tail})`).toBeDefined();
      const code = point.signal === 'SIGINT' ? 130 : 143;
      expect(run.code, `the interrupted run should exit ${code}; it ended ${run.code ?? run.signal}:\n${tail}`).toBe(
        code,
      );
      expect(run.output).toMatch(new RegExp(`${point.signal}: the run is interrupted`));

      const after = await snapshotHost(configFor(reportsDir));
      expect(
        diffSnapshots(before, after),
        `the host after the run interrupted during ${point.name} differs from before it`,
      ).toEqual([]);

      const doc = readCompliance(reportsDir);
      expect(doc.result, 'an interrupted run fails').toBe('failed');
      const interrupted = doc.rows.filter((row) => /^interrupted by SIG/.test(row.reason ?? ''));
      expect(
        interrupted.map((row) => `${row.id} ${row.status}`),
        'exactly one control is marked interrupted, and it did not pass',
      ).toHaveLength(1);
      expect(interrupted[0]?.status).not.toBe('PASS');
      const notRun = doc.rows.filter((row) => (row.reason ?? '').startsWith('not run (the run was interrupted'));
      expect(notRun.length, 'the controls after the interrupted one are reported as not run').toBeGreaterThan(0);
    });
  }

  it('SIGKILL (no handler runs): npm run teardown cleans only what the ledger and the cluster state list', {
    timeout: RUN_TIMEOUT_MS + 60_000,
  }, async () => {
    const reportsDir = scratchReports('interrupt/sigkill');
    const env = { ...RUN_ENV, SPIRE_VALIDATION_REPORTS_DIR: reportsDir };
    const run = await runVitest({
      env,
      timeoutMs: RUN_TIMEOUT_MS,
      interrupt: { when: /\] CNI-02 /, signal: 'SIGKILL' },
    });
    expect(run.interruptedOn, 'the run never reached CNI-02').toBeDefined();
    // The worker exits when its main process is gone; what it started (SPIRE, the cluster, dockerd) keeps running.
    const left = diffSnapshots(before, await snapshotHost(configFor(reportsDir)));
    expect(left.length, 'a killed run leaves things behind (else this case proves nothing)').toBeGreaterThan(0);
    const teardown = await execa(process.execPath, ['scripts/teardown.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      reject: false,
      all: true,
      timeout: 5 * 60_000,
    });
    writeFileSync(join(reportsDir, 'teardown-output.log'), teardown.all ?? '');
    expect(teardown.exitCode, `npm run teardown failed:\n${teardown.all}`).toBe(0);
    expect(teardown.all, 'it names the killed run').toMatch(/a run that no longer exists held the host lock/);
    expect(
      diffSnapshots(before, await snapshotHost(configFor(reportsDir))),
      `after npm run teardown the host differs from before the killed run (it had left: ${left.join('; ')})`,
    ).toEqual([]);
  });

  afterAll(async () => {
    // Whatever a failed case left: the same teardown a user would run.
    await execa(process.execPath, ['scripts/teardown.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...RUN_ENV, SPIRE_VALIDATION_REPORTS_DIR: scratchReports('interrupt/after') },
      reject: false,
      timeout: 5 * 60_000,
    });
  }, 6 * 60_000);
});
