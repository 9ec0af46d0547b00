// Phase 80: pod-to-pod mTLS (the seed's next step 1). A client pod with its own SPIFFE ID reaches the server through
// its Service (kube-proxy) across the pod network; each side verifies the other's identity.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchV1Api } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { attestationMode, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { applyManifest, podLogs, podSummary, renderManifest } from '../fixtures/kube.ts';
import { dockerSelectors, EntryApi, ensureEntry, k8sSelectors } from '../fixtures/registration.ts';
import { waitFor } from '../lib/wait.ts';

const JOB_MANIFEST = fileURLToPath(new URL('../manifests/mtls-client-job.yaml', import.meta.url));
const CLIENT_CONTAINER = 'mtls-client';
const CLIENT_LABEL = 'mtls-demo-client';

control(
  'MESH-01',
  async ({ run, evidence, log }) => {
    const namespace = run.config.workload.namespace;
    const clientId = `spiffe://${run.config.trustDomain}/k8s-workload-client`;
    const api = new EntryApi(run.config.spire.serverSocket);
    try {
      const selectors =
        attestationMode(run) === 'k8s'
          ? k8sSelectors(namespace, CLIENT_CONTAINER, { key: 'app', value: CLIENT_LABEL })
          : dockerSelectors(CLIENT_CONTAINER, namespace);
      const entry = await ensureEntry(api, { spiffeId: clientId, parentId: run.shared.agentId as string, selectors });
      log(`client entry ${entry.entryId} ${entry.action}`);
    } finally {
      api.close();
    }

    const service = await kube(run).core.readNamespacedService({ name: 'mtls-app', namespace });
    const serverAddress = service.spec?.clusterIP as string;
    const jobName = `mtls-client-${Date.now().toString(36)}`;
    const manifest = renderManifest(JOB_MANIFEST, {
      JOB_NAME: jobName,
      NAMESPACE: namespace,
      CLIENT_LABEL,
      IMAGE: run.config.workload.image,
      SERVER_ADDRESS: serverAddress,
      PORT: run.config.workload.port,
      SERVER_ID: run.config.workloadSpiffeId,
      AGENT_SOCKET: run.config.spire.agentSocket,
      AGENT_SOCKET_DIR: dirname(run.config.spire.agentSocket),
    });
    await evidence('mtls-client-job.yaml', manifest, 'text/yaml');
    await applyManifest(kube(run), manifest);
    const batch = kube(run).config.makeApiClient(BatchV1Api);
    try {
      const job = await waitFor(
        `job ${jobName} to finish`,
        async () => {
          const current = await batch.readNamespacedJob({ name: jobName, namespace });
          const done = (current.status?.succeeded ?? 0) > 0 || (current.status?.failed ?? 0) > 0;
          return done
            ? { done: true, value: current }
            : { done: false, status: `active=${current.status?.active ?? 0}` };
        },
        { timeoutMs: 200_000, intervalMs: 2000, onProgress: log },
      );
      const [clientPod] = (await kube(run).core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` }))
        .items;
      const clientLog = clientPod?.metadata?.name ? await podLogs(kube(run), namespace, clientPod.metadata.name) : '';
      const server = run.shared.pod;
      const serverLog = server ? await podLogs(kube(run), namespace, server.name, run.config.workload.container) : '';
      await evidence('client-pod.log', clientLog);
      await evidence('server-pod.log', serverLog);
      await evidence(
        'path.txt',
        `client ${clientPod ? podSummary(clientPod) : '?'}\n-> Service mtls-app ${serverAddress}:${run.config.workload.port}\n` +
          `-> server ${server?.name} ${server?.ip}`,
      );
      expect(job.status?.succeeded, 'the client job failed').toBe(1);
      expect(clientLog).toContain(`[Client] ✅ VERIFIED SERVER IDENTITY: ${run.config.workloadSpiffeId}`);
      expect(clientLog).toContain('[Client] Server Replied: Secure Hello from SPIRE Server!');
      expect(serverLog).toContain(`[Server] ✅ VERIFIED CLIENT IDENTITY: ${clientId}`);
      // Across the pod network: two pods, two addresses in 10.244.0.0/16.
      expect(clientPod?.status?.podIP).toMatch(/^10\.244\./);
      expect(clientPod?.status?.podIP).not.toBe(server?.ip);
    } finally {
      await batch
        .deleteNamespacedJob({ name: jobName, namespace, propagationPolicy: 'Background' })
        .catch(() => undefined);
    }
  },
  6 * 60_000,
);
