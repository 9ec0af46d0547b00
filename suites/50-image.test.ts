// Phase 50: the workload image (built in the Docker phase) made available to the node's runtime without a registry:
// `minikube image load` for minikube, an import into containerd for the local cluster, nothing for a Docker runtime.
import { expect } from 'vitest';
import { clusterProvider, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { waitFor } from '../lib/wait.ts';

control('IMAGE-01', async ({ run, evidence, log }) => {
  const cluster = await clusterProvider(run);
  const image = run.config.workload.image;
  await cluster.loadImage(image, log);
  // The kubelet lists the images its runtime holds in the node status: proof that the node itself sees it.
  const wanted = image.includes('/') ? image : `docker.io/library/${image}`;
  const names = await waitFor(
    `the kubelet to report ${wanted} on node ${cluster.nodeName()}`,
    async () => {
      const node = await kube(run).core.readNode({ name: cluster.nodeName() });
      const all = (node.status?.images ?? []).flatMap((i) => i.names ?? []);
      return all.some((n) => n === wanted || n === image)
        ? { done: true, value: all }
        : { done: false, status: `${all.length} images reported` };
    },
    { timeoutMs: 90_000, intervalMs: 2000, onProgress: log },
  );
  await evidence('node-images.txt', names.join('\n'));
  expect(
    names.some((n) => n === wanted || n === image),
    `expected the kubelet to report ${wanted} among the node's images`,
  ).toBe(true);
});
