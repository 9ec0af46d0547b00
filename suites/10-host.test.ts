// Phase 10: host preparation, the seed's complete_k8s_setup.sh as checks that fix what they may (each fix is logged
// with the previous value). Skipped with the reason on providers that do not own the host (an existing cluster).
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { kubeletConfiguration } from '../fixtures/cluster/configs.ts';
import { clusterProvider, ownPids } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { hostCgroupMounts, kubeletCgroupDriver, readHostCgroups } from '../fixtures/host-cgroups.ts';
import {
  checkDisk,
  checkKernelFeatures,
  checkPorts,
  checkRoot,
  checkSwap,
  checkSysctls,
  checkTools,
  type HostCheck,
  type KubeletSwapSetting,
  realHostProbe,
  runningKubeletSwapSetting,
} from '../fixtures/host-prep.ts';
import type { RunContext } from '../fixtures/run-context.ts';
import {
  defaultDockerDriver,
  describeCombination,
  dockerAttestorSettings,
  dockerCgroupProblems,
  K8S_ATTESTOR_LOCATOR,
  simulatedOnlyWarning,
} from '../lib/cgroup.ts';

/**
 * The failSwapOn of this run's kubelet: the running one when the cluster is already up (a kept cluster this run
 * reuses), else the KubeletConfiguration the local provider writes when it starts the kubelet (phase 12).
 */
async function kubeletSwap(run: RunContext): Promise<KubeletSwapSetting> {
  const cluster = await clusterProvider(run);
  const running = await runningKubeletSwapSetting(realHostProbe, ownPids(run));
  if (running) return running;
  if (cluster.name === 'local') {
    // Only failSwapOn is read; it does not depend on the file layout.
    const planned = kubeletConfiguration({
      containerdSocket: '',
      clientCaFile: '',
      tlsCertFile: '',
      tlsPrivateKeyFile: '',
      podLogsDir: '',
      resolvConf: '',
      cgroupDriver: 'cgroupfs',
    });
    return {
      source: 'the KubeletConfiguration the local cluster writes when it starts (no kubelet running yet)',
      failSwapOn: typeof planned.failSwapOn === 'boolean' ? planned.failSwapOn : undefined,
    };
  }
  return {
    source: `no kubelet of the ${cluster.name} cluster running yet; its configuration is its own`,
    failSwapOn: undefined,
  };
}

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
hostControl('HOST-04', async (run) => checkSwap(realHostProbe, await kubeletSwap(run)));
hostControl('HOST-05', (_, log) => checkTools(realHostProbe, log));
hostControl('HOST-06', () => checkDisk(realHostProbe, '/var/lib'));
hostControl('HOST-07', async (run) => {
  const cluster = await clusterProvider(run);
  return checkPorts(realHostProbe, cluster.ports(), ownPids(run));
});

control('HOST-08', async ({ run, evidence, log }) => {
  const cluster = await clusterProvider(run);
  const host = await readHostCgroups();
  const dockerDriver = host.docker?.driver ?? defaultDockerDriver(host.version, host.systemdInit);
  const warning = simulatedOnlyWarning(host, cluster.name === 'local' ? kubeletCgroupDriver() : dockerDriver);
  if (warning) log(`WARNING: ${warning}`);
  const problems = dockerCgroupProblems(host);
  const mounts = hostCgroupMounts()
    .map((mount) => `  ${mount.fsType} on ${mount.mountPoint} ${mount.controllers.join(',')}`.trimEnd())
    .join('\n');
  await evidence(
    'HOST-08.txt',
    [
      `host: ${describeCombination(host.version, dockerDriver)} (Docker)`,
      `cgroup mounts (/proc/self/mountinfo):\n${mounts}`,
      `this process's cgroups (/proc/self/cgroup):\n${readFileSync('/proc/self/cgroup', 'utf8').trimEnd()}`,
      `systemd is PID 1: ${host.systemdInit ? 'yes' : 'no'}`,
      `docker info: ${host.docker ? `CgroupDriver ${host.docker.driver}, CgroupVersion ${host.docker.version}` : 'no answer'}`,
      "the kubelet's and containerd's drivers: read from the running components in phase 12 (CLUSTER-10)",
      `SPIRE agent the suite starts: docker attestor [${dockerAttestorSettings(dockerDriver).join('; ')}], k8s attestor ` +
        `[${K8S_ATTESTOR_LOCATOR}]`,
      warning ? `simulated only: ${warning}` : "this combination is the one this project's own runs execute",
      `problems: ${problems.length === 0 ? 'none' : problems.join('; ')}`,
    ].join('\n\n'),
  );
  expect(
    problems,
    `Docker's cgroup settings must agree with this ${host.version} host: ${problems.join('; ')}`,
  ).toEqual([]);
});
