// The minikube provider is not run in this project's CI (the machines have no minikube, no service manager, no
// cri-dockerd/crictl, no registry): its command plan and its preflight are what is tested.
import { describe, expect, test } from 'vitest';
import {
  invokingUser,
  type MinikubeProbe,
  MinikubeProvider,
  minikubePlan,
  minikubePreflight,
} from '../../fixtures/cluster/minikube.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { loadConfig } from '../../lib/config.ts';

function probe(overrides: Partial<MinikubeProbe> & { programs?: string[]; paths?: string[] } = {}) {
  const calls = { registry: 0 };
  const programs = new Set(overrides.programs ?? ['minikube', 'cri-dockerd', 'crictl', 'conntrack']);
  const paths = new Set(overrides.paths ?? ['/run/systemd/system']);
  const fake: MinikubeProbe = {
    uid: overrides.uid ?? (() => 0),
    which: (program) => (programs.has(program) ? `/usr/bin/${program}` : undefined),
    exists: (path) => paths.has(path),
    dockerRunning: overrides.dockerRunning ?? (async () => true),
    imagePresent: overrides.imagePresent ?? (async () => false),
    registryReachable:
      overrides.registryReachable ??
      (async () => {
        calls.registry += 1;
        return undefined;
      }),
  };
  return { fake, calls };
}

describe('minikube command plan (complete_k8s_setup.sh)', () => {
  const plan = minikubePlan({ user: { name: 'dell', home: '/home/dell' }, nodeReadySeconds: 120 });

  test('follows the seed: cleanup, kernel fixes and prerequisites, CNI plugins, start, permissions, node Ready', () => {
    expect(plan.map((s) => s.id)).toEqual([
      'cleanup-delete',
      'cleanup-dirs',
      'kernel-fixes',
      'cni-plugins',
      'start',
      'permissions-owner',
      'permissions-mode',
      'node-ready',
    ]);
    expect(plan.map((s) => s.seedLine)).toContain('✅ Node is Ready');
  });

  test('exact commands', () => {
    const command = (id: string) => plan.find((s) => s.id === id)?.command;
    expect(command('cleanup-delete')).toEqual(['minikube', 'delete', '--all', '--purge']);
    expect(plan.find((s) => s.id === 'cleanup-delete')?.mayFail).toBe(true);
    expect(command('cleanup-dirs')).toEqual(['rm', '-rf', '/home/dell/.minikube', '/etc/kubernetes']);
    expect(command('start')).toEqual([
      'minikube',
      'start',
      '--driver=none',
      '--kubernetes-version=v1.34.4',
      '--container-runtime=docker',
      '--extra-config=kubeadm.pod-network-cidr=10.244.0.0/16',
      '--extra-config=kubelet.read-only-port=10255',
    ]);
    expect(command('permissions-owner')).toEqual([
      'chown',
      '-R',
      'dell:dell',
      '/home/dell/.kube',
      '/home/dell/.minikube',
    ]);
    expect(command('permissions-mode')).toEqual(['chmod', '600', '/home/dell/.kube/config']);
    expect(command('node-ready')).toEqual([
      'kubectl',
      '--kubeconfig',
      '/home/dell/.kube/config',
      'wait',
      '--for=condition=Ready',
      'node',
      '--all',
      '--timeout=120s',
    ]);
  });

  test('as plain root there is no chown step', () => {
    const rootPlan = minikubePlan({ nodeReadySeconds: 90 });
    expect(rootPlan.some((s) => s.id === 'permissions-owner')).toBe(false);
    expect(rootPlan.at(-1)?.command).toContain('--timeout=90s');
  });

  test('the invoking user comes from SUDO_USER', () => {
    expect(invokingUser({ SUDO_USER: 'dell', HOME: '/root' })).toEqual({ name: 'dell', home: '/home/dell' });
    expect(invokingUser({ HOME: '/root' })).toEqual({ name: 'root', home: '/root' });
  });
});

describe('minikube preflight', () => {
  test('passes where everything is in place (registry asked only then)', async () => {
    const { fake, calls } = probe();
    expect(await minikubePreflight(fake)).toEqual({ ok: true, reasons: [] });
    expect(calls.registry).toBe(1);
  });

  test('preloaded control-plane images make the registry unnecessary', async () => {
    const { fake, calls } = probe({ imagePresent: async () => true });
    expect((await minikubePreflight(fake)).ok).toBe(true);
    expect(calls.registry).toBe(0);
  });

  test('says exactly why it cannot run on a host like this one, without touching the network', async () => {
    const { fake, calls } = probe({ programs: ['conntrack'], paths: [], dockerRunning: async () => true });
    const preflight = await minikubePreflight(fake);
    expect(preflight.ok).toBe(false);
    expect(preflight.reasons).toEqual([
      'no minikube binary on PATH',
      'no service manager: the none driver manages the kubelet with systemd or OpenRC, and neither runs here',
      'no cri-dockerd: Kubernetes >= 1.24 with the docker runtime needs it under the none driver',
      'no crictl: the none driver requires it for Kubernetes >= 1.24',
      'registry.k8s.io/kube-apiserver:v1.34.4 is not in Docker, so kubeadm would pull the control plane from ' +
        'registry.k8s.io (registry access not probed while the prerequisites above are missing)',
    ]);
    expect(calls.registry).toBe(0);
  });

  test('no registry access is a reason of its own', async () => {
    const { fake } = probe({ registryReachable: async () => 'registry.k8s.io is not reachable (ENOTFOUND)' });
    const preflight = await minikubePreflight(fake);
    expect(preflight.reasons).toEqual([
      'no registry access and registry.k8s.io/kube-apiserver:v1.34.4 is not in Docker: registry.k8s.io is not reachable (ENOTFOUND)',
    ]);
  });

  test('OpenRC counts as a service manager; non-root and stopped Docker are reported', async () => {
    const { fake } = probe({ paths: ['/run/openrc/softlevel'], uid: () => 1000, dockerRunning: async () => false });
    const reasons = (await minikubePreflight(fake)).reasons;
    expect(reasons.some((r) => r.startsWith('no service manager'))).toBe(false);
    expect(reasons[0]).toMatch(/^not root/);
    expect(reasons).toContain('Docker is not running');
  });

  test('on this host the real preflight refuses, naming the missing minikube and service manager', async () => {
    const provider = new MinikubeProvider(loadConfig(), new Ledger('/dev/null/unused.json'));
    const preflight = await provider.preflight();
    if (preflight.ok) return; // a host with minikube: nothing to assert here
    expect(preflight.reasons.join('\n')).toContain('no minikube binary on PATH');
    expect(provider.containerRuntime()).toBe('docker');
    expect(provider.defaultAttestation()).toBe('docker');
  });
});
