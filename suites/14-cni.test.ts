// Phase 14: Flannel, the seed's CNI (10.244.0.0/16, VXLAN), from our manifest applied server-side; the node turns
// Ready once the pod network is there.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { provisionFlannel } from '../fixtures/artifacts/index.ts';
import { clusterProvider, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { applyManifest, waitForReadyPods } from '../fixtures/kube.ts';
import { waitFor } from '../lib/wait.ts';

const FLANNEL_MANIFEST = fileURLToPath(new URL('../manifests/kube-flannel.yaml', import.meta.url));
const FLANNEL_CONFLIST = '/etc/cni/net.d/10-flannel.conflist';
const FLANNEL_SUBNET_ENV = '/run/flannel/subnet.env';
const POD_NETWORK = '10.244.0.0/16';

control(
  'CNI-01',
  async ({ run, evidence, log }) => {
    const cluster = await clusterProvider(run);
    // Images without a registry: built from the Go binaries and loaded into the node's runtime under the manifest's
    // names (online hosts would pull them). A cluster the suite does not own is checked by its provider instead.
    const flannel = await provisionFlannel(run.config, log);
    await evidence('flannel-artifact.json', JSON.stringify(flannel, null, 2), 'application/json');
    for (const image of [flannel.paths.image, flannel.paths.cniPluginImage]) {
      if (image) await cluster.loadImage(image, log);
    }
    const applied = await applyManifest(kube(run), readFileSync(FLANNEL_MANIFEST, 'utf8'));
    await evidence('applied.txt', applied.join('\n'));
    expect(applied).toContain('DaemonSet kube-flannel/kube-flannel-ds');
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
  expect(pods.every((pod) => pod.status?.phase === 'Running')).toBe(true);
});

control('CNI-03', async ({ evidence, log }) => {
  // The init container writes the conflist; flanneld writes subnet.env once it holds its lease, which can come a few
  // seconds after the pod is Running. The plugin needs both, so wait for both.
  const { conflist, subnetEnv } = await waitFor(
    `${FLANNEL_CONFLIST} (Flannel init container) and ${FLANNEL_SUBNET_ENV} (flanneld)`,
    async () => {
      const conflist = existsSync(FLANNEL_CONFLIST) ? readFileSync(FLANNEL_CONFLIST, 'utf8') : undefined;
      const subnetEnv = existsSync(FLANNEL_SUBNET_ENV) ? readFileSync(FLANNEL_SUBNET_ENV, 'utf8') : undefined;
      if (conflist === undefined) return { done: false, status: `${FLANNEL_CONFLIST} not there yet` };
      if (!subnetEnv?.includes('FLANNEL_SUBNET='))
        return { done: false, status: `${FLANNEL_SUBNET_ENV} not written yet` };
      return { done: true, value: { conflist, subnetEnv } };
    },
    { timeoutMs: 60_000, onProgress: log },
  ).catch(async (error: unknown) => {
    // Keep what was there for the report before failing.
    if (existsSync(FLANNEL_CONFLIST)) await evidence('10-flannel.conflist', readFileSync(FLANNEL_CONFLIST, 'utf8'));
    if (existsSync(FLANNEL_SUBNET_ENV)) await evidence('subnet.env', readFileSync(FLANNEL_SUBNET_ENV, 'utf8'));
    throw error;
  });
  await evidence('10-flannel.conflist', conflist, 'application/json');
  await evidence('subnet.env', subnetEnv);
  expect((JSON.parse(conflist) as { plugins: { type: string }[] }).plugins.map((p) => p.type)).toContain('flannel');
  expect(subnetEnv).toContain(`FLANNEL_NETWORK=${POD_NETWORK}`);
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
  expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
});
