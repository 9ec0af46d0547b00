// Phase 14: Flannel, the seed's CNI (10.244.0.0/16, VXLAN), from our manifest applied server-side; the node turns
// Ready once the pod network is there. Its files on the node count only when written after this cluster started.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { provisionFlannel } from '../fixtures/artifacts/index.ts';
import { clusterProvider, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { clusterStartedAt, FLANNEL_CONFLIST, FLANNEL_SUBNET_ENV, hostFile } from '../fixtures/flannel-files.ts';
import { applyAndReadBack, FIELD_MANAGER, waitForReadyPods } from '../fixtures/kube.ts';
import { appliedObjectLine, applyProblems, refText } from '../lib/applied-objects.ts';
import { parseSubnetEnv, staleFiles } from '../lib/flannel-wiring.ts';
import { waitFor } from '../lib/wait.ts';

const FLANNEL_MANIFEST = fileURLToPath(new URL('../manifests/kube-flannel.yaml', import.meta.url));
const POD_NETWORK = '10.244.0.0/16';
const FLANNEL_DAEMONSET = { kind: 'DaemonSet', namespace: 'kube-flannel', name: 'kube-flannel-ds' };

control(
  'CNI-01',
  async ({ run, evidence, log }) => {
    const cluster = await clusterProvider(run);
    // Images without a registry: built from the Go binaries and loaded into the node's runtime under the manifest's
    // names (online hosts would pull them). A cluster the suite does not own is checked by its provider instead.
    const flannel = await provisionFlannel(run.config, log);
    await evidence('flannel-artifact.json', JSON.stringify(flannel, null, 2), 'application/json');
    // The two images share no layer: both copies run at once (each is mostly waiting on the disk).
    const images = [flannel.paths.image, flannel.paths.cniPluginImage].filter((image): image is string =>
      Boolean(image),
    );
    await Promise.all(images.map((image) => cluster.loadImage(image, log)));
    // Judged from the objects read back from the API after the apply, not from the documents sent.
    const applied = await applyAndReadBack(kube(run), readFileSync(FLANNEL_MANIFEST, 'utf8'));
    await evidence('applied.txt', applied.map((object) => appliedObjectLine(object, FIELD_MANAGER)).join('\n'));
    await evidence('read-back.json', JSON.stringify(applied, null, 2), 'application/json');
    expect(
      applyProblems(applied, [FLANNEL_DAEMONSET], FIELD_MANAGER),
      `expected every object of ${FLANNEL_MANIFEST}, ${refText(FLANNEL_DAEMONSET)} among them, in the API as this ` +
        `server-side apply (field manager ${FIELD_MANAGER}) left it`,
    ).toEqual([]);
  },
  30 * 60_000,
);

control('CNI-02', async ({ run, evidence, log }) => {
  const pods = await waitForReadyPods(
    kube(run),
    'kube-flannel',
    'app=flannel',
    run.config.timeouts.podReadySeconds * 1000,
    log,
  );
  await evidence('flannel-pods.txt', pods.map((pod) => `${pod.metadata?.name} ${pod.status?.phase}`).join('\n'));
  expect(
    pods.every((pod) => pod.status?.phase === 'Running'),
    `expected every Flannel pod Running; they are: ${pods.map((pod) => `${pod.metadata?.name} ${pod.status?.phase}`).join(', ')}`,
  ).toBe(true);
});

control('CNI-03', async ({ run, evidence, log }) => {
  const started = await clusterStartedAt(await clusterProvider(run));
  const read = () => ({
    conflist: existsSync(FLANNEL_CONFLIST) ? readFileSync(FLANNEL_CONFLIST, 'utf8') : undefined,
    subnetEnv: existsSync(FLANNEL_SUBNET_ENV) ? readFileSync(FLANNEL_SUBNET_ENV, 'utf8') : undefined,
    files: [hostFile(FLANNEL_CONFLIST), hostFile(FLANNEL_SUBNET_ENV)].filter((file) => file !== undefined),
  });
  const keepFiles = async (state: ReturnType<typeof read>) => {
    if (state.conflist !== undefined) await evidence('10-flannel.conflist', state.conflist, 'application/json');
    if (state.subnetEnv !== undefined) await evidence('subnet.env', state.subnetEnv);
    await evidence(
      'freshness.txt',
      [
        `this cluster started at ${new Date(started.ms).toISOString()} (${started.source})`,
        ...state.files.map((file) => `${file.path} written at ${new Date(file.modifiedMs).toISOString()}`),
      ].join('\n'),
    );
  };
  // The init container writes the conflist; flanneld writes subnet.env once it holds its lease, which can come a few
  // seconds after the pod is Running. The plugin needs both, written by this cluster's Flannel, so wait for both.
  const state = await waitFor(
    `${FLANNEL_CONFLIST} (Flannel init container) and ${FLANNEL_SUBNET_ENV} (flanneld), written after this cluster started`,
    async () => {
      const now = read();
      if (now.conflist === undefined) return { done: false, status: `${FLANNEL_CONFLIST} not there yet` };
      if (!now.subnetEnv?.includes('FLANNEL_SUBNET='))
        return { done: false, status: `${FLANNEL_SUBNET_ENV} not written yet` };
      const stale = staleFiles(now.files, started.ms, started.source);
      return stale.length > 0 ? { done: false, status: stale.join('; ') } : { done: true, value: now };
    },
    { timeoutMs: run.config.timeouts.cniReadySeconds * 1000, onProgress: log },
  ).catch(async (error: unknown) => {
    await keepFiles(read());
    throw error;
  });
  await keepFiles(state);
  const plugins = (JSON.parse(state.conflist ?? '{}') as { plugins?: { type: string }[] }).plugins?.map((p) => p.type);
  expect(plugins, `${FLANNEL_CONFLIST} should chain the flannel plugin; its plugins are ${plugins}`).toContain(
    'flannel',
  );
  expect(
    parseSubnetEnv(state.subnetEnv ?? '').FLANNEL_NETWORK,
    `${FLANNEL_SUBNET_ENV} should give the pod network ${POD_NETWORK}`,
  ).toBe(POD_NETWORK);
});

control('CNI-04', async ({ run, evidence, log }) => {
  const cluster = await clusterProvider(run);
  const node = await waitFor(
    `node ${cluster.nodeName()} to be Ready`,
    async () => {
      const found = await kube(run).core.readNode({ name: cluster.nodeName() });
      const ready = found.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True'
        ? { done: true, value: found }
        : { done: false, status: `${ready?.reason}: ${ready?.message}` };
    },
    { timeoutMs: run.config.timeouts.nodeReadySeconds * 1000, onProgress: log },
  );
  const conditions = (node.status?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason ?? ''}`).join('\n');
  await evidence('node-conditions.txt', `${node.metadata?.name} podCIDR=${node.spec?.podCIDR}\n${conditions}`);
  expect(
    node.status?.conditions?.find((c) => c.type === 'Ready')?.status,
    `expected node ${node.metadata?.name} Ready=True`,
  ).toBe('True');
});
