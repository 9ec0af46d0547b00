// Phase 50: the workload image (built in the Docker phase) made available to the node's runtime without a registry:
// `minikube image load` for minikube, an import into containerd for the local cluster, nothing for a Docker runtime.
// The load starts as soon as DOCKER-01 has built the image (it runs while the Docker phase does); this phase waits
// for it and asks the node's runtime for the image the way the kubelet does.
import { expect } from 'vitest';
import { imageInfo, normalizeImageRef } from '../fixtures/artifacts/docker.ts';
import { clusterProvider, imageLoaded, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { waitFor } from '../lib/wait.ts';

control('IMAGE-01', async ({ run, evidence, log }) => {
  const cluster = await clusterProvider(run);
  const image = run.config.workload.image;
  const load = await imageLoaded(run, image, 'IMAGE-01', log);
  const at = (ms: number) => `+${((ms - run.startedAt) / 1000).toFixed(1)} s`;
  const loaded = `load started by ${load.startedBy} at ${at(load.startedAt)}, finished at ${at(load.finishedAt)}`;
  log(loaded);
  const wanted = normalizeImageRef(image);
  const runtimeImage = cluster.runtimeImage?.bind(cluster);
  if (runtimeImage) {
    // The kubelet's own lookup (CRI ImageStatus on its runtime endpoint), the same image id as the one Docker built.
    const built = await imageInfo(image);
    const seen = await waitFor(
      `the node's runtime to answer CRI ImageStatus for ${wanted}`,
      async () => {
        const found = await runtimeImage(wanted);
        return found ? { done: true, value: found } : { done: false, status: 'no such image yet' };
      },
      { timeoutMs: 30_000, intervalMs: 500, onProgress: log },
    );
    await evidence(
      'runtime-image.json',
      JSON.stringify({ asked: wanted, answer: seen, dockerImageId: built?.id, load: loaded }, null, 2),
      'application/json',
    );
    expect(seen.repoTags, `expected the node's runtime to list ${wanted} among the image's tags`).toContain(wanted);
    expect(
      seen.id,
      `expected the node's ${wanted} to be the image Docker built (id ${built?.id}); the runtime has id ${seen.id}`,
    ).toBe(built?.id);
    return;
  }
  // No CRI socket reachable from here: the images the kubelet reports in the node status (refreshed every 30 s).
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
  await evidence('node-images.txt', `${loaded}\n\n${names.join('\n')}`);
  expect(
    names.some((n) => n === wanted || n === image),
    `expected the kubelet to report ${wanted} among the node's images`,
  ).toBe(true);
});
