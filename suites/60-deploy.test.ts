// Phase 60: the seed's run_k8s_demo.sh: socket check, the deployment (hostPath mount of the agent socket directory,
// readiness probe), the rollout waited for with visible status.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { applyManifest, eventsOf, podSummary, renderManifest, waitForReadyPods } from '../fixtures/kube.ts';
import type { RunContext } from '../fixtures/run-context.ts';
import { isSocket } from '../fixtures/spire.ts';
import { podLabel } from '../lib/config.ts';

const APP_MANIFEST = fileURLToPath(new URL('../manifests/mtls-app.yaml', import.meta.url));

function appManifest(run: RunContext, agentBinary: string): string {
  return renderManifest(run.config.workload.manifest ?? APP_MANIFEST, {
    NAMESPACE: run.config.workload.namespace,
    APP_LABEL: podLabel(run.config).value,
    CONTAINER: run.config.workload.container,
    IMAGE: run.config.workload.image,
    PORT: run.config.workload.port,
    TRUST_DOMAIN: run.config.trustDomain,
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
  expect(applied).toContain(`Deployment ${run.config.workload.namespace}/mtls-app`);
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
  provide('pod', {
    name: pod.metadata.name,
    namespace,
    ip: pod.status?.podIP ?? '',
    restarts: status?.restartCount ?? 0,
    startedAt: status?.state?.running?.startedAt?.toISOString() ?? '',
  });
});

control('DEPLOY-04', async ({ run, evidence }) => {
  const deployment = await kube(run).apps.readNamespacedDeployment({
    name: 'mtls-app',
    namespace: run.config.workload.namespace,
  });
  const s = deployment.status;
  await evidence('deployment-status.json', JSON.stringify(s, null, 2), 'application/json');
  // Rollout complete: the controller saw the latest spec and every replica is updated and available.
  expect(s?.observedGeneration).toBeGreaterThanOrEqual(deployment.metadata?.generation ?? 1);
  expect(s?.updatedReplicas).toBe(deployment.spec?.replicas);
  expect(s?.availableReplicas).toBe(deployment.spec?.replicas);
});
