// Phase 12: the cluster itself, the seed's complete_k8s_setup.sh steps on the selected provider (minikube where it can
// run, else a real local cluster from the provisioned binaries, or an existing kubeconfig).
import { readFileSync, statSync } from 'node:fs';
import { VersionApi } from '@kubernetes/client-node';
import { execa } from 'execa';
import { expect } from 'vitest';
import { provisionCniPlugins, provisionKubernetes } from '../fixtures/artifacts/index.ts';
import {
  describeOutcome,
  describeSockets,
  listenersOnPort,
  listeningSocketsOf,
  plaintextGet,
  processArgs,
  tcpConnect,
  tlsGet,
} from '../fixtures/cluster/component-probes.ts';
import { runcDriverOfCriConfig } from '../fixtures/cluster/cri-runtime.ts';
import { API_PORT, KUBELET_READ_ONLY_PORT, KUBELET_SECURE_PORT } from '../fixtures/cluster/local/layout.ts';
import type { ComponentName } from '../fixtures/cluster/local/state.ts';
import { LocalProvider } from '../fixtures/cluster/local.ts';
import { pkiFiles } from '../fixtures/cluster/pki.ts';
import { clusterProvider, kube, ownPids } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { readHostCgroups } from '../fixtures/host-cgroups.ts';
import { foreignClusterProcesses, isProcessAlive } from '../fixtures/pids.ts';
import type { RunContext } from '../fixtures/run-context.ts';
import { clusterDriverProblems } from '../lib/cgroup.ts';

/** Other clusters' processes in the way: kube components running that this run (or a KEEP=1 run) did not start. */
control('CLUSTER-01', async ({ run, evidence }) => {
  const found = await execa('pgrep', ['-a', '-f', '(^|/)(kubelet|kube-apiserver|etcd)( |$)'], { reject: false });
  const foreign = foreignClusterProcesses(found.stdout.split('\n').filter(Boolean), ownPids(run));
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

// -- Hardening of the local cluster (issue 11). Every judgement comes from the running component: the sockets its
// process holds, its command line, and what a client gets when it connects. The local provider's own credentials only
// serve to talk to it. Other providers do not own these controls (their control plane is configured elsewhere).

/** The local cluster this run started, and one of its components, running. */
async function localComponent(run: RunContext, name: ComponentName): Promise<{ local: LocalProvider; pid: number }> {
  const cluster = await clusterProvider(run);
  if (!(cluster instanceof LocalProvider))
    throw new Error(
      `expected the local cluster provider; this run uses ${cluster.name}, which should not own this control`,
    );
  const record = cluster.component(name);
  if (!record || !isProcessAlive(record.pid))
    throw new Error(
      `expected the local cluster's ${name} to be running; ${record ? `PID ${record.pid} is gone` : 'it was never started'}`,
    );
  return { local: cluster, pid: record.pid };
}

function pem(file: string): string {
  return readFileSync(file, 'utf8');
}

function credential(pair: { cert: string; key: string }): { cert: string; key: string } {
  return { cert: pem(pair.cert), key: pem(pair.key) };
}

/** The process's command line for evidence, one argument a line. */
function argsEvidence(pid: number): string {
  return `$ cat /proc/${pid}/cmdline\n${processArgs(pid).join('\n  ')}`;
}

control('CLUSTER-05', async ({ run, evidence }) => {
  const { local, pid } = await localComponent(run, 'etcd');
  const pki = pkiFiles(local.layout.pkiDir);
  const sockets = listeningSocketsOf(pid);
  const ca = pem(pki.etcdCa.cert);
  const plaintext = await plaintextGet('127.0.0.1', 2379, '/health');
  const noCertificate = await tlsGet('127.0.0.1', 2379, '/health', { ca });
  const clusterCertificate = await tlsGet('127.0.0.1', 2379, '/health', { ca, ...credential(pki.admin) });
  const etcdClient = await tlsGet('127.0.0.1', 2379, '/health', { ca, ...credential(pki.apiserverEtcdClient) });
  await evidence(
    'etcd-probes.txt',
    [
      `etcd PID ${pid} listens on: ${describeSockets(sockets)}`,
      `plaintext GET http://127.0.0.1:2379/health → ${plaintext}`,
      `TLS, no client certificate → ${describeOutcome(noCertificate)}`,
      `TLS, the cluster CA's kubernetes-admin certificate → ${describeOutcome(clusterCertificate)}`,
      `TLS, the apiserver's etcd client certificate → ${describeOutcome(etcdClient)}`,
      '',
      argsEvidence(pid),
    ].join('\n'),
  );
  expect(sockets.length, `expected etcd (PID ${pid}) to listen on a TCP port; /proc shows none`).toBeGreaterThan(0);
  expect(
    sockets.filter((socket) => socket.address !== '127.0.0.1'),
    `expected etcd to listen on 127.0.0.1 only; it listens on ${describeSockets(sockets)}`,
  ).toEqual([]);
  expect(plaintext, `expected etcd to refuse a plaintext request on 2379; it answered "${plaintext}"`).not.toMatch(
    /^HTTP\/\S+ 2\d\d/,
  );
  expect(
    noCertificate.kind,
    `expected etcd to refuse a TLS client without a certificate; it gave ${describeOutcome(noCertificate)}`,
  ).toBe('refused');
  expect(
    clusterCertificate.kind,
    `expected etcd to refuse a client certificate of the cluster CA (not etcd's CA); it gave ${describeOutcome(clusterCertificate)}`,
  ).toBe('refused');
  expect(
    etcdClient.kind === 'answered' && etcdClient.status === 200 && etcdClient.body.includes('"health":"true"'),
    `expected etcd to answer the apiserver's etcd client certificate with a healthy /health; it gave ${describeOutcome(etcdClient)}`,
  ).toBe(true);
});

control('CLUSTER-06', async ({ run, evidence }) => {
  const { local, pid } = await localComponent(run, 'kube-apiserver');
  const nodeIp = local.nodeAddress() ?? '';
  const pki = pkiFiles(local.layout.pkiDir);
  const ca = pem(pki.ca.cert);
  const sockets = listeningSocketsOf(pid).filter((socket) => socket.port === API_PORT);
  const loopback = await tcpConnect('127.0.0.1', API_PORT);
  const anonymous = await tlsGet(nodeIp, API_PORT, '/api', { ca });
  const admin = await tlsGet(nodeIp, API_PORT, '/api', { ca, ...credential(pki.admin) });
  await evidence(
    'apiserver-probes.txt',
    [
      `node address ${nodeIp}; kube-apiserver PID ${pid} listens for ${API_PORT} on: ${describeSockets(sockets)}`,
      `TCP connect 127.0.0.1:${API_PORT} → ${loopback}`,
      `GET https://${nodeIp}:${API_PORT}/api without credentials → ${describeOutcome(anonymous)}`,
      `GET https://${nodeIp}:${API_PORT}/api as kubernetes-admin → ${describeOutcome(admin)}`,
      '',
      argsEvidence(pid),
    ].join('\n'),
  );
  expect(
    sockets.map((socket) => socket.address),
    `expected kube-apiserver to listen on ${nodeIp}:${API_PORT} only; it listens on ${describeSockets(sockets)}`,
  ).toEqual([nodeIp]);
  expect(loopback, `expected nothing to accept 127.0.0.1:${API_PORT}; the connection was ${loopback}`).not.toBe('open');
  expect(
    anonymous.kind === 'answered' && anonymous.status,
    `expected an unauthenticated request to get 401 (anonymous authentication off); it got ${describeOutcome(anonymous)}`,
  ).toBe(401);
  expect(
    admin.kind === 'answered' && admin.status,
    `expected the admin certificate to be served (200) by the same endpoint; it got ${describeOutcome(admin)}`,
  ).toBe(200);
});

control('CLUSTER-07', async ({ run, evidence }) => {
  const { local, pid } = await localComponent(run, 'kubelet');
  const nodeIp = local.nodeAddress() ?? '';
  const pki = pkiFiles(local.layout.pkiDir);
  const ca = pem(pki.ca.cert);
  const anonymous = await tlsGet(nodeIp, KUBELET_SECURE_PORT, '/pods', { ca });
  const unauthorized = await tlsGet(nodeIp, KUBELET_SECURE_PORT, '/pods', { ca, ...credential(pki.kubeProxy) });
  const authorized = await tlsGet(nodeIp, KUBELET_SECURE_PORT, '/pods', {
    ca,
    ...credential(pki.apiserverKubeletClient),
  });
  await evidence(
    'kubelet-authn-authz.txt',
    [
      `kubelet PID ${pid}, GET https://${nodeIp}:${KUBELET_SECURE_PORT}/pods`,
      `without credentials → ${describeOutcome(anonymous)}`,
      `as system:kube-proxy (authenticated, RBAC allows it no nodes/pods or nodes/proxy) → ${describeOutcome(unauthorized)}`,
      `as kube-apiserver (system:kubelet-api-admin) → ${describeOutcome(authorized).slice(0, 300)}`,
      '',
      argsEvidence(pid),
    ].join('\n'),
  );
  expect(
    anonymous.kind === 'answered' && anonymous.status,
    `expected the kubelet to refuse an unauthenticated request with 401 (anonymous off); it gave ${describeOutcome(anonymous)}`,
  ).toBe(401);
  expect(
    unauthorized.kind === 'answered' && unauthorized.status,
    `expected the kubelet to refuse system:kube-proxy with 403 (webhook authorization asks RBAC); it gave ${describeOutcome(unauthorized)}`,
  ).toBe(403);
  expect(
    authorized.kind === 'answered' && authorized.status,
    `expected the kubelet to serve /pods to kube-apiserver (system:kubelet-api-admin); it gave ${describeOutcome(authorized)}`,
  ).toBe(200);
});

control('CLUSTER-08', async ({ run, evidence }) => {
  const { local, pid } = await localComponent(run, 'kubelet');
  const nodeIp = local.nodeAddress() ?? '';
  const pki = pkiFiles(local.layout.pkiDir);
  const listeners = listenersOnPort(KUBELET_READ_ONLY_PORT);
  const onNode = await tcpConnect(nodeIp, KUBELET_READ_ONLY_PORT);
  const onLoopback = await tcpConnect('127.0.0.1', KUBELET_READ_ONLY_PORT);
  // The kubelet's own account of its configuration (/configz omits readOnlyPort when it is 0).
  const configz = await tlsGet(nodeIp, KUBELET_SECURE_PORT, '/configz', {
    ca: pem(pki.ca.cert),
    ...credential(pki.apiserverKubeletClient),
  });
  const kubeletConfig =
    configz.kind === 'answered' && configz.status === 200
      ? (JSON.parse(configz.body) as { kubeletconfig?: { readOnlyPort?: number } }).kubeletconfig
      : undefined;
  const readOnlyPort = kubeletConfig ? (kubeletConfig.readOnlyPort ?? 0) : undefined;
  await evidence(
    'kubelet-read-only-port.txt',
    [
      `listening sockets on ${KUBELET_READ_ONLY_PORT} (/proc/net/tcp, tcp6): ${describeSockets(listeners)}`,
      `TCP connect ${nodeIp}:${KUBELET_READ_ONLY_PORT} → ${onNode}`,
      `TCP connect 127.0.0.1:${KUBELET_READ_ONLY_PORT} → ${onLoopback}`,
      `kubelet PID ${pid} /configz readOnlyPort → ${readOnlyPort ?? describeOutcome(configz)}`,
    ].join('\n'),
  );
  expect(
    listeners,
    `expected nothing to listen on ${KUBELET_READ_ONLY_PORT}; /proc shows ${describeSockets(listeners)}`,
  ).toEqual([]);
  for (const [where, result] of [
    [nodeIp, onNode],
    ['127.0.0.1', onLoopback],
  ] as const)
    expect(result, `expected ${where}:${KUBELET_READ_ONLY_PORT} to refuse connections; it was ${result}`).toBe(
      'ECONNREFUSED',
    );
  expect(
    readOnlyPort,
    `expected the kubelet's live configuration (/configz) to have readOnlyPort 0; it reports ${readOnlyPort ?? describeOutcome(configz)}`,
  ).toBe(0);
});

/** The cgroup drivers in force: the kubelet's from its /configz, containerd's from its loaded CRI configuration. */
control('CLUSTER-10', async ({ run, evidence }) => {
  const { local, pid } = await localComponent(run, 'kubelet');
  const nodeIp = local.nodeAddress() ?? '';
  const pki = pkiFiles(local.layout.pkiDir);
  const configz = await tlsGet(nodeIp, KUBELET_SECURE_PORT, '/configz', {
    ca: pem(pki.ca.cert),
    ...credential(pki.apiserverKubeletClient),
  });
  const kubeletDriver =
    configz.kind === 'answered' && configz.status === 200
      ? (JSON.parse(configz.body) as { kubeletconfig?: { cgroupDriver?: string } }).kubeletconfig?.cgroupDriver
      : undefined;
  const info = await local.runtimeInfo();
  const containerd = runcDriverOfCriConfig(info.config);
  const host = await readHostCgroups();
  const kubelet = kubeletDriver === 'systemd' || kubeletDriver === 'cgroupfs' ? kubeletDriver : undefined;
  const problems = clusterDriverProblems(host, { kubelet, containerd });
  const runc = (JSON.parse(info.config ?? '{}') as { containerd?: { runtimes?: { runc?: unknown } } }).containerd
    ?.runtimes?.runc;
  await evidence(
    'cgroup-drivers.txt',
    [
      `host: cgroup ${host.version}, systemd is PID 1: ${host.systemdInit ? 'yes' : 'no'}`,
      `kubelet PID ${pid} /configz cgroupDriver → ${kubeletDriver ?? describeOutcome(configz)}`,
      `containerd (CRI Status verbose on ${local.layout.containerdSocket}) runc → ${containerd ?? 'no SystemdCgroup option'}`,
      `containerd's loaded runc runtime: ${JSON.stringify(runc)}`,
      `problems: ${problems.length === 0 ? 'none' : problems.join('; ')}`,
    ].join('\n'),
  );
  expect(
    problems,
    `the kubelet's and containerd's cgroup drivers must agree with this host: ${problems.join('; ')}`,
  ).toEqual([]);
});

control('CLUSTER-09', async ({ run, evidence }) => {
  const { pid } = await localComponent(run, 'kube-apiserver');
  const flag = processArgs(pid).filter((arg) => arg.startsWith('--allow-privileged'));
  const k8s = kube(run);
  // The apiserver's answer to a privileged pod (a server-side dry run: nothing is created). kube-system carries no
  // Pod Security label, so only the apiserver's own policy can refuse it.
  let answer: string;
  try {
    await k8s.core.createNamespacedPod({
      namespace: 'kube-system',
      dryRun: 'All',
      body: {
        metadata: { name: 'spire-k8s-validation-privileged-probe' },
        spec: {
          containers: [{ name: 'probe', image: 'registry.k8s.io/pause:3.6', securityContext: { privileged: true } }],
        },
      },
    });
    answer = 'accepted (dry run)';
  } catch (error) {
    const { code, body } = error as { code?: number; body?: unknown };
    answer = `refused: HTTP ${code} ${typeof body === 'string' ? body : JSON.stringify(body)}`;
  }
  const privileged = (await k8s.core.listPodForAllNamespaces()).items.flatMap((pod) =>
    [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
      .filter((container) => container.securityContext?.privileged)
      .map((container) => `${pod.metadata?.namespace}/${pod.metadata?.name} container ${container.name}`),
  );
  await evidence(
    'privileged.txt',
    [
      `kube-apiserver PID ${pid}: ${flag.join(' ') || 'no --allow-privileged flag (default false)'}`,
      `dry-run create of a privileged pod in kube-system → ${answer}`,
      `privileged containers in running pods: ${privileged.join(', ') || '(none)'}`,
    ].join('\n'),
  );
  expect(
    flag,
    `expected kube-apiserver to run without --allow-privileged=true; its command line has ${flag.join(' ')}`,
  ).not.toContain('--allow-privileged=true');
  expect(
    answer,
    `expected the apiserver to refuse a privileged pod ("disallowed by cluster policy"); it was ${answer}`,
  ).toMatch(/disallowed by cluster policy/);
  expect(privileged, `expected no privileged container in any pod; found ${privileged.join(', ')}`).toEqual([]);
});
