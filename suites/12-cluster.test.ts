// Phase 12: the cluster itself, the seed's complete_k8s_setup.sh steps on the selected provider (minikube where it can
// run, else a real local cluster from the provisioned binaries, or an existing kubeconfig).
import { statSync } from 'node:fs';
import { VersionApi } from '@kubernetes/client-node';
import { execa } from 'execa';
import { expect } from 'vitest';
import { provisionCniPlugins, provisionKubernetes } from '../fixtures/artifacts/index.ts';
import { clusterProvider, kube, ownPids } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';

/** Other clusters' processes in the way: kube components running that this run (or a KEEP=1 run) did not start. */
async function foreignKubeProcesses(ownPids: Set<number>): Promise<string[]> {
  const found = await execa('pgrep', ['-a', '-f', '(^|/)(kubelet|kube-apiserver|etcd) '], { reject: false });
  return found.stdout
    .split('\n')
    .filter(Boolean)
    .filter((line) => !ownPids.has(Number(line.split(' ')[0])));
}

control('CLUSTER-01', async ({ run, evidence }) => {
  const foreign = await foreignKubeProcesses(ownPids(run));
  await evidence('foreign-cluster-processes.txt', foreign.join('\n') || '(none)');
  expect(foreign, 'another cluster is running on this host').toEqual([]);
});

control('CLUSTER-02', async ({ run, evidence, log }) => {
  const plugins = await provisionCniPlugins(run.config, log);
  const listing = await execa('ls', ['-la', '/opt/cni/bin'], { reject: false, all: true });
  await evidence('cni-plugins.json', JSON.stringify(plugins, null, 2), 'application/json');
  await evidence('ls-opt-cni-bin.txt', listing.all ?? '');
  for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap'])
    expect(listing.stdout, `expected the CNI plugin ${plugin} in /opt/cni/bin; it is not there`).toContain(plugin);
});

control(
  'CLUSTER-03',
  async ({ run, evidence, log }) => {
    const cluster = await clusterProvider(run);
    if (cluster.name === 'local') {
      const binaries = await provisionKubernetes(run.config, log);
      await evidence('kubernetes-artifact.json', JSON.stringify(binaries, null, 2), 'application/json');
    }
    await cluster.start(log);
    const version = await kube(run).config.makeApiClient(VersionApi).getCode();
    const status = await cluster.status();
    await evidence('cluster-status.json', JSON.stringify({ version, status }, null, 2), 'application/json');
    expect(
      status.apiserver,
      `expected the apiserver to answer with the suite's credentials; it is ${status.apiserver}: ${status.detail.join('; ')}`,
    ).toBe('ready');
  },
  30 * 60_000,
);

control(
  'CLUSTER-04',
  async ({ run, evidence, log }) => {
    const cluster = await clusterProvider(run);
    const file = cluster.kubeconfigPath();
    const mode = statSync(file).mode & 0o777;
    // The provisioned kubectl (the cache answers once CLUSTER-03 provisioned it) and the client library, same file.
    const kubectl = (await provisionKubernetes(run.config, log)).paths.kubectl ?? '';
    expect(kubectl, 'provisioning should return the path of kubectl; it returned none').not.toBe('');
    const args = ['--kubeconfig', file, 'get', 'namespaces', '-o', 'name'];
    const result = await execa(kubectl, args, { reject: false, all: true, timeout: 60_000 });
    const namespaces = (await kube(run).core.listNamespace()).items.map((n) => n.metadata?.name);
    await evidence(
      'kubeconfig.txt',
      `${file} mode ${mode.toString(8)}\n\n$ ${kubectl} ${args.join(' ')}\n${result.all ?? ''}\n(exit ${result.exitCode})` +
        `\n\nclient library: namespaces ${namespaces.join(', ')}`,
    );
    // Readable by its owner only (it holds a client key), and usable by kubectl and the client library.
    expect(
      mode & 0o077,
      `kubeconfig ${file} should be readable by its owner only; its mode is ${mode.toString(8)}`,
    ).toBe(0);
    expect(
      result.exitCode,
      `kubectl get namespaces with ${file} should succeed; it exited ${result.exitCode}: ${(result.all ?? '').trim()}`,
    ).toBe(0);
    expect(
      result.stdout.split('\n'),
      `kubectl should list namespace/default; it printed: ${result.stdout.trim() || '(nothing)'}`,
    ).toContain('namespace/default');
    expect(
      namespaces,
      `the client library should list the default namespace; it listed ${namespaces.join(', ')}`,
    ).toContain('default');
  },
  // kubectl comes from the cache once CLUSTER-03 provisioned it; on other providers it may be built first.
  30 * 60_000,
);
