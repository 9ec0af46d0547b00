// Provider selection (auto = minikube where its preflight passes, else local; the choice is recorded) and the
// existing-kubeconfig provider.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ExistingProvider, imageLoadCommand, podNetworkProblem } from '../../fixtures/cluster/existing.ts';
import { renderKubeconfig } from '../../fixtures/cluster/kubeconfig.ts';
import { LocalProvider } from '../../fixtures/cluster/local.ts';
import type { ClusterProvider, ProviderName } from '../../fixtures/cluster/provider.ts';
import { type ProviderFactories, selectProvider } from '../../fixtures/cluster/select.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { CONTROLS } from '../../lib/controls.ts';

function config(overrides: Partial<SuiteConfig['cluster']> = {}): SuiteConfig {
  const base = loadConfig();
  const reportsDir = mkdtempSync(join(tmpdir(), 'providers-'));
  return { ...base, reportsDir, cluster: { ...base.cluster, ...overrides } };
}

function fake(name: ProviderName, ok: boolean, reasons: string[] = []): ClusterProvider {
  return {
    name,
    preflight: async () => ({ ok, reasons }),
    start: async () => {},
    stop: async () => {},
    status: async () => ({ provider: name, apiserver: 'not-started', node: undefined, components: [], detail: [] }),
    kubeconfigPath: () => `/tmp/${name}.kubeconfig`,
    nodeName: () => 'node',
    containerRuntime: () => 'containerd',
    loadImage: async () => {},
    defaultAttestation: () => 'k8s',
    kubeletAccess: () => ({ nodeName: 'node', securePort: 10250, caPath: '/ca.crt', client: { tokenPath: '/token' } }),
    notOwnedControls: () => [],
    ports: () => [],
    ownPids: () => new Set(),
  };
}

function factories(minikubeOk: boolean): ProviderFactories & { made: string[] } {
  const made: string[] = [];
  return {
    made,
    minikube: () => {
      made.push('minikube');
      return fake('minikube', minikubeOk, minikubeOk ? [] : ['no minikube binary on PATH']);
    },
    local: () => {
      made.push('local');
      return fake('local', true);
    },
    existing: () => {
      made.push('existing');
      return fake('existing', true);
    },
  };
}

describe('selectProvider', () => {
  test('auto takes local where minikube cannot run, and records why', async () => {
    const cfg = config();
    const chosen = await selectProvider(cfg, new Ledger(join(cfg.reportsDir, 'l.json')), () => {}, factories(false));
    expect(chosen.provider.name).toBe('local');
    expect(chosen.passedOver).toEqual([{ name: 'minikube', reasons: ['no minikube binary on PATH'] }]);
    const record = JSON.parse(readFileSync(chosen.recordFile, 'utf8'));
    expect(record).toMatchObject({ requested: 'auto', served: 'local', kubeconfig: '/tmp/local.kubeconfig' });
    expect(record.passedOver[0].reasons).toEqual(['no minikube binary on PATH']);
  });

  test('auto takes minikube where its preflight passes', async () => {
    const cfg = config();
    const f = factories(true);
    const chosen = await selectProvider(cfg, new Ledger(join(cfg.reportsDir, 'l.json')), () => {}, f);
    expect(chosen.provider.name).toBe('minikube');
    expect(f.made).toEqual(['minikube']);
  });

  test('an explicit provider is used without asking minikube', async () => {
    const cfg = config({ provider: 'local' });
    const f = factories(true);
    const chosen = await selectProvider(cfg, new Ledger(join(cfg.reportsDir, 'l.json')), () => {}, f);
    expect(chosen.provider.name).toBe('local');
    expect(f.made).toEqual(['local']);
  });

  test('the real factories build the three providers', async () => {
    const cfg = config({ provider: 'local' });
    const chosen = await selectProvider(cfg, new Ledger(join(cfg.reportsDir, 'l.json')));
    expect(chosen.provider).toBeInstanceOf(LocalProvider);
    expect(chosen.provider.defaultAttestation()).toBe('k8s');
    expect(chosen.provider.containerRuntime()).toBe('containerd');
    expect(chosen.provider.notOwnedControls()).toEqual([]);
    // The kubelet's secure port, verified with the cluster CA, with the agent's own client certificate.
    expect(chosen.provider.kubeletAccess()).toMatchObject({
      securePort: 10250,
      caPath: '/var/lib/spire-k8s-validation/cluster/pki/ca.crt',
      client: { certificatePath: '/var/lib/spire-k8s-validation/cluster/pki/spire-agent-kubelet-client.crt' },
    });
  });
});

describe('existing provider', () => {
  test('preflight explains a missing kubeconfig', async () => {
    const provider = new ExistingProvider(config({ provider: 'existing', kubeconfig: '/nonexistent/kubeconfig' }));
    expect(await provider.preflight()).toEqual({
      ok: false,
      reasons: ['kubeconfig /nonexistent/kubeconfig does not exist'],
    });
  });

  test('a readable kubeconfig passes; it owns no provider-ownable control, and stands in for the installs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'existing-'));
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      renderKubeconfig({
        clusterName: 'kind-test',
        server: 'https://127.0.0.1:1',
        caPem: 'ca',
        user: 'u',
        clientCertPem: 'c',
        clientKeyPem: 'k',
      }),
    );
    const provider = new ExistingProvider(config({ provider: 'existing', kubeconfig: file }));
    expect(await provider.preflight()).toEqual({ ok: true, reasons: [] });
    const notOwned = provider.notOwnedControls();
    expect(notOwned.map((s) => s.id)).toEqual(CONTROLS.filter((c) => c.providerOwned).map((c) => c.id));
    expect(notOwned[0]?.reason).toContain('created elsewhere');
    expect(notOwned[0]?.reason).toContain(file);
    // What the suite would install, the provider checks instead; the host's own preparation is not applicable.
    expect(notOwned.filter((c) => c.equivalent).map((c) => c.id)).toEqual(['CLUSTER-02', 'CNI-01']);
  });

  test('k8s attestation: the secure port with the configured token; without a kubelet CA, SPIRE-07 is not judged and says why', () => {
    const bare = new ExistingProvider(config({ provider: 'existing', kubeconfig: '/k' }));
    expect(() => bare.kubeletAccess(), 'no credential: say which setting is missing').toThrow(
      /cluster\.kubeletToken \(SPIRE_VALIDATION_KUBELET_TOKEN\)/,
    );
    const spire07 = bare.notOwnedControls().find((c) => c.id === 'SPIRE-07');
    expect(spire07?.reason).toMatch(/skip_kubelet_verification = true.*does NOT verify/);
    expect(spire07?.situation, 'not a situation the catalogue accepts: it stays not judged').toBeUndefined();
    expect(spire07?.equivalent).toBeUndefined();

    const tokenOnly = new ExistingProvider(config({ provider: 'existing', kubeconfig: '/k', kubeletToken: '/t' }));
    expect(tokenOnly.kubeletAccess()).toMatchObject({
      securePort: 10250,
      caPath: undefined,
      client: { tokenPath: '/t' },
    });

    const verified = new ExistingProvider(
      config({ provider: 'existing', kubeconfig: '/k', kubeletToken: '/t', kubeletCa: '/ca.pem' }),
    );
    expect(verified.kubeletAccess()).toMatchObject({ securePort: 10250, caPath: '/ca.pem' });
    expect(
      verified.notOwnedControls().map((c) => c.id),
      'with its CA the kubelet verification is judged like on the local cluster',
    ).not.toContain('SPIRE-07');
  });

  test('image loading knows kind and minikube contexts only', () => {
    expect(imageLoadCommand('kind-dev', 'img:1')).toEqual(['kind', 'load', 'docker-image', 'img:1', '--name', 'dev']);
    expect(imageLoadCommand('minikube', 'img:1')).toEqual(['minikube', 'image', 'load', 'img:1']);
    expect(imageLoadCommand('prod', 'img:1')).toBeUndefined();
  });
});

describe('existing provider: pod network from the node conditions', () => {
  const node = (conditions: Array<[string, string, string?]>, podCIDR?: string) => ({
    spec: { podCIDR },
    status: { conditions: conditions.map(([type, status, message]) => ({ type, status, reason: 'r', message })) },
  });
  test('a Ready node with a pod CIDR has one', () => {
    expect(podNetworkProblem(node([['Ready', 'True']], '10.244.0.0/24'))).toBeUndefined();
  });
  test('NetworkUnavailable, a network plugin that is not ready, or no pod CIDR is named', () => {
    expect(podNetworkProblem(node([['NetworkUnavailable', 'True', 'no route']], '10.244.0.0/24'))).toMatch(
      /^NetworkUnavailable=True/,
    );
    expect(
      podNetworkProblem(
        node([['Ready', 'False', 'container runtime network not ready: cni plugin not initialized']], 'x'),
      ),
    ).toMatch(/^Ready=False/);
    expect(podNetworkProblem(node([['Ready', 'True']]))).toBe('the node has no pod CIDR');
  });
});
