// Issue 5's acceptance, for real on this host: the local provider starts a single-node Kubernetes from nothing; a pod
// of a locally loaded image runs with an IP from 10.244.0.0/16; logs and exec work through @kubernetes/client-node; a
// ClusterIP Service answers another pod through kube-proxy; a second start with KEEP reuses the cluster; stop leaves
// no process, mount, interface, iptables chain or rule of ours. Timings are printed and written to the reports dir.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import {
  CoreV1Api,
  Exec,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  type V1Pod,
  type V1Status,
} from '@kubernetes/client-node';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { fallbackBinaries } from '../../fixtures/cluster/binaries.ts';
import { BRIDGE_CONFLIST_FILE } from '../../fixtures/cluster/configs.ts';
import {
  type ChainSnapshot,
  currentMounts,
  type LinkInfo,
  listLinks,
  mountsUnder,
  nftTables,
  ourRulesLeft,
  processesMentioning,
  snapshotOurChains,
} from '../../fixtures/cluster/hostnet.ts';
import { CNI_CONF_DIR, DEFAULT_RUN_DIR, DEFAULT_WORK_DIR } from '../../fixtures/cluster/local/layout.ts';
import { LocalProvider } from '../../fixtures/cluster/local.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { isProcessAlive } from '../../fixtures/pids.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { waitFor } from '../../lib/wait.ts';

const IMAGE = 'spire-k8s-validation/node-base:24';
const NAMESPACE = 'spire-k8s-validation-smoke';
const MANIFEST = resolve(import.meta.dirname, '../../manifests/test/smoke.yaml');
const isRoot = process.getuid?.() === 0;

const log = (line: string) => process.stderr.write(`[local-cluster] ${line}\n`);
const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

function testConfig(keep: boolean): SuiteConfig {
  const base = loadConfig();
  return { ...base, keep, reportsDir: resolve(base.reportsDir, 'test-cluster') };
}

async function exec(kc: KubeConfig, pod: string, container: string, command: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const status = await new Promise<V1Status>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`exec ${command.join(' ')} timed out`)), 30_000);
    new Exec(kc)
      .exec(
        NAMESPACE,
        pod,
        container,
        command,
        sink((t) => {
          stdout += t;
        }),
        sink((t) => {
          stderr += t;
        }),
        null,
        false,
        (s) => {
          clearTimeout(timer);
          resolvePromise(s);
        },
      )
      .catch((error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
  });
  return { status, stdout, stderr };
}

async function waitPod(core: CoreV1Api, name: string, timeoutMs: number, needReady: boolean): Promise<V1Pod> {
  return waitFor(
    `pod ${NAMESPACE}/${name} ${needReady ? 'Ready' : 'Running'}`,
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace: NAMESPACE });
      const running = pod.status?.phase === 'Running';
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      if (running && (!needReady || ready)) return { done: true, value: pod };
      const waiting = pod.status?.containerStatuses?.map((c) => c.state?.waiting?.reason).filter(Boolean);
      return { done: false, status: `${pod.status?.phase} ready=${ready} ${waiting?.join(',') ?? ''}` };
    },
    { timeoutMs, intervalMs: 500, onProgress: log },
  );
}

function inPodNetwork(ip: string | undefined): boolean {
  const [a, b] = (ip ?? '').split('.').map(Number);
  return a === 10 && b === 244;
}

describe.skipIf(!isRoot)('local cluster provider on this host (real Kubernetes v1.34 from binaries)', () => {
  const timings: Record<string, number> = {};
  const coldConfig = testConfig(true);
  const ledgerFile = join(coldConfig.reportsDir, 'run', 'started.json');
  let first: LocalProvider;
  let linksBefore: LinkInfo[] = [];
  let chainsBefore: ChainSnapshot = {};
  let nftBefore: string[] = [];
  let pids: number[] = [];

  beforeAll(async () => {
    // "From nothing": a cluster an earlier run kept is stopped first, so this start is a cold one.
    await new LocalProvider(testConfig(false), new Ledger(ledgerFile)).stop(log, { force: true });
    linksBefore = await listLinks();
    chainsBefore = await snapshotOurChains();
    nftBefore = await nftTables();
    first = new LocalProvider(coldConfig, new Ledger(ledgerFile));
  }, 5 * 60_000);

  afterAll(async () => {
    // Whatever happened above, leave the host as it was.
    await new LocalProvider(testConfig(false), new Ledger(ledgerFile)).stop(log, { force: true });
    // And what the provider started for itself outside the cluster (dockerd, when no Docker engine was running).
    await new Ledger(ledgerFile).stopAll(log);
    const file = join(coldConfig.reportsDir, 'run', 'local-cluster-timings.json');
    mkdirSync(join(coldConfig.reportsDir, 'run'), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), timings }, null, 2)}\n`);
    console.log(`local cluster timings (s): ${JSON.stringify(timings)} -> ${file}`);
  }, 5 * 60_000);

  test('preflight passes on this host', async () => {
    const preflight = await first.preflight();
    expect(preflight.reasons).toEqual([]);
    expect(preflight.ok).toBe(true);
  });

  test(
    'cold start from nothing until the node is Ready',
    async () => {
      const started = Date.now();
      await first.start(log);
      timings.coldStart = seconds(started);
      console.log(`cold start: ${timings.coldStart}s; milestones ${JSON.stringify(first.timings())}`);
      expect(first.reused).toBe(false);
      const status = await first.status();
      expect(status.apiserver).toBe('ready');
      expect(status.node?.ready).toBe(true);
      expect(status.node?.podCidr).toMatch(/^10\.244\.\d+\.0\/24$/);
      expect(status.components.every((c) => c.running)).toBe(true);
      pids = status.components.map((c) => c.pid as number);
      expect(first.hostChecks.map((c) => `${c.id}:${c.passed}`)).toEqual(first.hostChecks.map((c) => `${c.id}:true`));
      expect(readFileSync(join(CNI_CONF_DIR, BRIDGE_CONFLIST_FILE), 'utf8')).toContain('"type": "bridge"');
    },
    5 * 60_000,
  );

  test('the kubeconfig works with kubectl and with @kubernetes/client-node', async () => {
    const kubectl = await execa(
      fallbackBinaries(first.config).kubectl,
      ['--kubeconfig', first.kubeconfigPath(), 'get', 'nodes', '-o', 'name'],
      { reject: false, all: true },
    );
    expect(kubectl.all).toContain(`node/${first.nodeName()}`);
    const core = first.kubeConfig().makeApiClient(CoreV1Api);
    const node = await core.readNode({ name: first.nodeName() });
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).not.toMatch(/^127\./);
    const endpoints = await core.readNamespacedEndpoints({ name: 'kubernetes', namespace: 'default' });
    expect(endpoints.subsets?.[0]?.addresses?.length).toBe(1);
  });

  test(
    `${IMAGE} runs as a pod with an IP in 10.244.0.0/16; logs and exec work; a Service answers another pod`,
    async () => {
      const kc = first.kubeConfig();
      const core = kc.makeApiClient(CoreV1Api);
      const loadStarted = Date.now();
      await first.loadImage(IMAGE, log);
      timings.imageLoad = seconds(loadStarted);

      const objects = parseAllDocuments(readFileSync(MANIFEST, 'utf8')).map((d) => d.toJS() as KubernetesObject);
      const api = KubernetesObjectApi.makeApiClient(kc);
      for (const object of objects) await api.create(object);

      const podStarted = Date.now();
      const echo = await waitPod(core, 'smoke-echo', first.config.timeouts.podReadySeconds * 1000, true);
      const client = await waitPod(core, 'smoke-client', first.config.timeouts.podReadySeconds * 1000, false);
      timings.podsRunning = seconds(podStarted);
      expect(inPodNetwork(echo.status?.podIP)).toBe(true);
      expect(inPodNetwork(client.status?.podIP)).toBe(true);

      const logs = await core.readNamespacedPodLog({ name: 'smoke-echo', namespace: NAMESPACE });
      expect(logs).toContain('smoke-echo listening on 8080');

      const hostnameExec = await exec(kc, 'smoke-echo', 'echo', ['cat', '/etc/hostname']);
      expect(hostnameExec.status.status).toBe('Success');
      expect(hostnameExec.stdout.trim()).toBe('smoke-echo');

      const service = await core.readNamespacedService({ name: 'smoke-echo', namespace: NAMESPACE });
      const clusterIp = service.spec?.clusterIP as string;
      expect(clusterIp).toMatch(/^10\.(9[6-9]|1[01]\d)\./);
      const call = await waitFor(
        `smoke-client → Service ${clusterIp}:80`,
        async () => {
          const result = await exec(kc, 'smoke-client', 'client', [
            'node',
            '-e',
            `fetch('http://${clusterIp}:80/', { signal: AbortSignal.timeout(3000) })` +
              '.then((r) => r.text()).then((t) => process.stdout.write(t))' +
              '.catch((e) => { console.error(String(e.cause ?? e)); process.exit(1); })',
          ]);
          return result.stdout.includes('hello from smoke-echo')
            ? { done: true, value: result.stdout }
            : { done: false, status: `${result.status.status} ${result.stderr.trim()}` };
        },
        { timeoutMs: 60_000, intervalMs: 1000, onProgress: log },
      );
      expect(call).toContain('hello from smoke-echo');
      // The echo server saw the client pod's own address: pod-to-pod through kube-proxy's DNAT, no masquerade.
      const after = await core.readNamespacedPodLog({ name: 'smoke-echo', namespace: NAMESPACE });
      expect(after).toMatch(new RegExp(`from (::ffff:)?${client.status?.podIP?.replaceAll('.', '\\.')}\\b`));
    },
    10 * 60_000,
  );

  test(
    'with KEEP, stop leaves the cluster up and a second start reuses it',
    async () => {
      await first.stop(log);
      expect(pids.every((pid) => isProcessAlive(pid))).toBe(true);

      const second = new LocalProvider(testConfig(false), new Ledger(ledgerFile));
      const started = Date.now();
      await second.start(log);
      timings.keepRestart = seconds(started);
      console.log(`start with a kept cluster: ${timings.keepRestart}s`);
      expect(second.reused).toBe(true);
      const status = await second.status();
      expect(status.components.map((c) => c.pid)).toEqual(pids);
      const pod = await second
        .kubeConfig()
        .makeApiClient(CoreV1Api)
        .readNamespacedPod({ name: 'smoke-echo', namespace: NAMESPACE });
      expect(pod.status?.phase).toBe('Running');

      const stopStarted = Date.now();
      await second.stop(log);
      timings.stop = seconds(stopStarted);
      console.log(`stop and cleanup: ${timings.stop}s`);
    },
    5 * 60_000,
  );

  test('stop left no process, mount, interface, iptables chain or rule of ours', async () => {
    expect(pids.filter((pid) => isProcessAlive(pid))).toEqual([]);
    expect(processesMentioning([DEFAULT_WORK_DIR, DEFAULT_RUN_DIR])).toEqual([]);
    expect(mountsUnder(currentMounts(), [DEFAULT_WORK_DIR, DEFAULT_RUN_DIR, '/run/netns'])).toEqual([]);
    const links = await listLinks();
    expect(links.filter((l) => /^(cni0|flannel\.\d+)$/.test(l.name))).toEqual([]);
    const before = new Set(linksBefore.map((l) => l.name));
    expect(links.filter((l) => l.kind === 'veth' && l.master !== 'docker0' && !before.has(l.name))).toEqual([]);
    expect(await snapshotOurChains()).toEqual(chainsBefore);
    expect(await ourRulesLeft()).toEqual([]);
    expect((await nftTables()).sort()).toEqual([...nftBefore].sort());
    expect(existsSync(join(CNI_CONF_DIR, BRIDGE_CONFLIST_FILE))).toBe(false);
    expect(existsSync(DEFAULT_WORK_DIR)).toBe(false);
  });
});
