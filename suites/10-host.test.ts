// Phase 10: host preparation, the seed's complete_k8s_setup.sh as checks that fix what they may (each fix is logged
// with the previous value). Skipped with the reason on providers that do not own the host (an existing cluster).
import { expect } from 'vitest';
import { clusterProvider, ownPids } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import {
  checkDisk,
  checkKernelFeatures,
  checkPorts,
  checkRoot,
  checkSwap,
  checkSysctls,
  checkTools,
  type HostCheck,
  realHostProbe,
} from '../fixtures/host-prep.ts';
import type { RunContext } from '../fixtures/run-context.ts';

function hostControl(
  id: string,
  check: (run: RunContext, log: (line: string) => void) => Promise<HostCheck> | HostCheck,
) {
  control(id, async ({ run, evidence, log }) => {
    const result = await check(run, log);
    const fixed = result.fixed ? `\n\nchanged by the suite: ${result.fixed.previous} -> ${result.fixed.now}` : '';
    await evidence(`${id}.txt`, `${result.title}\n\n${result.evidence}${fixed}`);
    expect(result.passed, result.evidence).toBe(true);
  });
}

hostControl('HOST-01', () => checkRoot(realHostProbe));
hostControl('HOST-02', (_, log) => checkKernelFeatures(realHostProbe, log));
hostControl('HOST-03', (_, log) => checkSysctls(realHostProbe, log));
hostControl('HOST-04', () => checkSwap(realHostProbe));
hostControl('HOST-05', (_, log) => checkTools(realHostProbe, log));
hostControl('HOST-06', () => checkDisk(realHostProbe, '/var/lib'));
hostControl('HOST-07', async (run) => {
  const cluster = await clusterProvider(run);
  return checkPorts(realHostProbe, cluster.ports(), ownPids(run));
});
