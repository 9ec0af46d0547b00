// Phase 60: the seed's run_k8s_demo.sh: socket check, the deployment (hostPath mount of the agent socket directory,
// readiness probe), the rollout waited for with visible status.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { applyManifest, eventsOf, podSummary, renderManifest, waitForReadyPods } from '../fixtures/kube.ts';
import type { RunContext } from '../fixtures/run-context.ts';
import { isSocket } from '../fixtures/spire.ts';
import { podLabel } from '../lib/config.ts';
import { waitFor } from '../lib/wait.ts';

const APP_MANIFEST = fileURLToPath(new URL('../manifests/mtls-app.yaml', import.meta.url));

function appManifest(run: RunContext, agentBinary: string): string {
  return renderManifest(run.config.workload.manifest ?? APP_MANIFEST, {
    NAMESPACE: run.config.workload.namespace,
    APP_LABEL: podLabel(run.config).value,
    CONTAINER: run.config.workload.container,
    IMAGE: run.config.workload.image,
    PORT: run.config.workload.port,
    TRUST_DOMAIN: run.config.trustDomain,
    WORKLOAD_ID: run.config.workloadSpiffeId,
    ALLOWED_CLIENT_ARGS: run.config.workload.allowedClientIds.flatMap((id) => ['--allow-id', id]),
    AGENT_SOCKET: run.config.spire.agentSocket,
    AGENT_SOCKET_DIR: dirname(run.config.spire.agentSocket),
    AGENT_BINARY: agentBinary,
  });
}

const selector = (run: RunContext) => `${podLabel(run.config).key}=${podLabel(run.config).value}`;

control('DEPLOY-01', async ({ run, evidence }) => {
  const socket = run.config.spire.agentSocket;
  await evidence('socket.txt', `${socket}: ${isSocket(socket) ? 'socket' : 'missing'}`);
  expect(isSocket(socket), `${socket} is not a socket`).toBe(true);
});

control('DEPLOY-02', async ({ run, evidence, need }) => {
  const manifest = appManifest(run, need('spireBinaries').agent);
  const applied = await applyManifest(kube(run), manifest);
  await evidence('mtls-app.yaml', manifest, 'text/yaml');
  await evidence('applied.txt', applied.join('\n'));
  expect(
    applied,
    `expected the manifest to apply Deployment ${run.config.workload.namespace}/mtls-app; it applied: ${applied.join(', ')}`,
  ).toContain(`Deployment ${run.config.workload.namespace}/mtls-app`);
});

control('DEPLOY-03', async ({ run, evidence, log, provide }) => {
  const namespace = run.config.workload.namespace;
  let pods: Awaited<ReturnType<typeof waitForReadyPods>>;
  try {
    pods = await waitForReadyPods(kube(run), namespace, selector(run), run.config.timeouts.podReadySeconds * 1000, log);
  } catch (error) {
    const current = await kube(run).core.listNamespacedPod({ namespace, labelSelector: selector(run) });
    const events = await Promise.all(current.items.map((p) => eventsOf(kube(run), namespace, p.metadata?.name ?? '')));
    await evidence('pod-events.txt', events.join('\n\n') || '(no events)');
    throw error;
  }
  const pod = pods[0];
  if (!pod?.metadata?.name) throw new Error(`no pod with labels ${selector(run)} in namespace ${namespace}`);
  const status = pod.status?.containerStatuses?.[0];
  await evidence('pods.txt', pods.map(podSummary).join('\n'));
  await evidence('pod-events.txt', await eventsOf(kube(run), namespace, pod.metadata.name));
  expect(pods, `expected exactly one ready pod ${selector(run)}, saw ${pods.length}`).toHaveLength(1);
  expect(status?.ready, `container of pod ${pod.metadata.name} is not ready`).toBe(true);
  expect(status?.restartCount, `pod ${pod.metadata.name} restarted ${status?.restartCount} time(s)`).toBe(0);
  const ip = pod.status?.podIP;
  expect(ip, `expected ready pod ${pod.metadata.name} to have an IP; it has none`).toBeTruthy();
  provide('pod', {
    name: pod.metadata.name,
    namespace,
    ip: ip ?? '',
    restarts: status?.restartCount ?? 0,
    startedAt: status?.state?.running?.startedAt?.toISOString() ?? '',
  });
});

// What the demo script's success means beyond a running pod (DEPLOY-03): it deploys the mTLS server as an application,
// the Deployment AND the Service mtls-app in front of it, and it is complete when that Service routes to the pod. The
// EndpointSlice controller publishes that route: an endpoint with the pod's IP, the pod as its target, ready, on the
// named mTLS port. No other control looks at it; MESH-01 later uses the route, this says whether it was ever made.
control('DEPLOY-04', async ({ run, evidence, log, need }) => {
  const pod = need('pod');
  const port = run.config.workload.port;
  const labelSelector = 'kubernetes.io/service-name=mtls-app';
  const routes = (slices: V1EndpointSlice[]) =>
    slices.flatMap((slice) =>
      (slice.endpoints ?? []).map((endpoint) => ({
        addresses: endpoint.addresses,
        target: endpoint.targetRef?.name,
        ready: endpoint.conditions?.ready === true,
        ports: (slice.ports ?? []).map((p) => `${p.name}=${p.port}/${p.protocol}`),
      })),
    );
  const routesToPod = (route: ReturnType<typeof routes>[number]) =>
    route.addresses.includes(pod.ip) &&
    route.target === pod.name &&
    route.ready &&
    route.ports.includes(`mtls=${port}/TCP`);
  // The controller publishes the route shortly after the pod turns Ready: read until it shows, bounded.
  const slices = await waitFor(
    `Service mtls-app to route to pod ${pod.name} (${pod.ip}:${port})`,
    async () => {
      const list = await kube(run).discovery.listNamespacedEndpointSlice({ namespace: pod.namespace, labelSelector });
      const seen = routes(list.items);
      return seen.some(routesToPod) ? { done: true, value: list.items } : { done: false, status: JSON.stringify(seen) };
    },
    { timeoutMs: 30_000, intervalMs: 1000, onProgress: log },
  ).catch(
    async () =>
      (await kube(run).discovery.listNamespacedEndpointSlice({ namespace: pod.namespace, labelSelector })).items,
  );
  const seen = routes(slices);
  await evidence('endpointslices.json', JSON.stringify(slices, null, 2), 'application/json');
  expect(
    seen.filter(routesToPod),
    `expected an EndpointSlice of Service mtls-app with a ready endpoint ${pod.ip} (pod ${pod.name}) on port ` +
      `mtls=${port}/TCP; saw ${JSON.stringify(seen)}`,
  ).toHaveLength(1);
});
