// Consecutive full validations leave the host identical, for real: three KEEP=1 runs in a row (the first cold, the
// next two adopting what the one before kept: cluster, SPIRE, the Docker-phase server container, the entries) leave
// the same processes, containers, pods, registration entries, mounts, interfaces and iptables chains after each;
// then a run without KEEP adopts them once more and stops everything, leaving the host as it was before the first.
// The resilience phase is off here (it restarts SPIRE under traffic; rotation and restarts have their own phase).

import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffSnapshots, type HostSnapshot, snapshotHost } from '../../fixtures/host-snapshot.ts';
import { loadConfig } from '../../lib/config.ts';
import { REPO_ROOT, readCompliance, runVitest, scratchReports, waitForExclusiveHost } from '../report/helpers.ts';

const REPORTS = scratchReports('identical-runs');
const ENV = { SPIRE_VALIDATION_RESILIENCE: '0', SPIRE_VALIDATION_REPORTS_DIR: REPORTS };
const RUN_TIMEOUT_MS = 12 * 60_000;
const config = () => loadConfig({ env: { ...process.env, ...ENV } });

async function validate(keep: boolean): Promise<string> {
  const run = await runVitest({ env: { ...ENV, KEEP: keep ? '1' : '0' }, timeoutMs: RUN_TIMEOUT_MS });
  const tail = run.output.split('\n').slice(-30).join('\n');
  expect(
    run.code,
    `the validation (KEEP=${keep ? 1 : 0}) should pass; it ended ${run.code ?? run.signal}:\n${tail}`,
  ).toBe(0);
  expect(readCompliance(REPORTS).result).toBe('passed');
  return run.output;
}

describe('three consecutive KEEP runs leave the host identical; the run after them leaves it as before', () => {
  let before: HostSnapshot;
  let first: HostSnapshot;

  beforeAll(async () => {
    await waitForExclusiveHost();
    before = await snapshotHost(config());
  }, 16 * 60_000);

  it('run 1 (KEEP=1, cold) passes and keeps what it started', { timeout: RUN_TIMEOUT_MS + 60_000 }, async () => {
    await validate(true);
    first = await snapshotHost(config());
    expect(diffSnapshots(before, first).length, 'a KEEP run leaves its cluster and SPIRE running').toBeGreaterThan(0);
  });

  for (const n of [2, 3]) {
    it(`run ${n} (KEEP=1) adopts everything run ${n - 1} kept and leaves the host identical`, {
      timeout: RUN_TIMEOUT_MS + 60_000,
    }, async () => {
      const output = await validate(true);
      for (const adopted of [
        /adopting what a KEEP run left on this host/,
        /local cluster: reusing the cluster/,
        /adopting the SPIRE server a KEEP run left/,
        /adopting the SPIRE agent a KEEP run left/,
        /adopting container mtls-app-/,
      ]) {
        expect(output, `run ${n} should say it is ${adopted.source}`).toMatch(adopted);
      }
      expect(
        diffSnapshots(first, await snapshotHost(config())),
        `the host after run ${n} differs from after run 1`,
      ).toEqual([]);
    });
  }

  it('run 4 (no KEEP) adopts, then stops everything: the host is as before run 1', {
    timeout: RUN_TIMEOUT_MS + 60_000,
  }, async () => {
    await validate(false);
    expect(
      diffSnapshots(before, await snapshotHost(config())),
      'the host after the last run differs from before the first',
    ).toEqual([]);
  });

  afterAll(async () => {
    // If a case failed half-way, nothing stays: the same teardown a user would run.
    await execa(process.execPath, ['scripts/teardown.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...ENV },
      reject: false,
      timeout: 5 * 60_000,
    });
  }, 6 * 60_000);
});
