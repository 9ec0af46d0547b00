// Phase 80: pod-to-pod mTLS (the seed's next step 1). A client Deployment whose pod has its own SPIFFE ID calls the
// server through its Service (kube-proxy) across the pod network every few seconds; each side verifies the other's
// identity. The client keeps running so that phase 90 can watch it carry on through SVID rotation.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { attestationMode, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { applyManifest, eventsOf, podLogs, podSummary, renderManifest, waitForReadyPods } from '../fixtures/kube.ts';
import { dockerSelectors, EntryApi, ensureEntry, k8sSelectors } from '../fixtures/registration.ts';
import { waitFor } from '../lib/wait.ts';

const CLIENT_MANIFEST = fileURLToPath(new URL('../manifests/mtls-client.yaml', import.meta.url));
const CLIENT_CONTAINER = 'mtls-client';
const CLIENT_LABEL = 'mtls-demo-client';
/** How often the client calls the server. */
const EVERY_SECONDS = 5;
const REPLY_LINE = '[Client] Server Replied: Secure Hello from SPIRE Server!';

const count = (text: string, line: string) => text.split('\n').filter((l) => l.trim() === line).length;

control(
  'MESH-01',
  async ({ run, evidence, log, need, provide }) => {
    const namespace = run.config.workload.namespace;
    const clientId = `spiffe://${run.config.trustDomain}/k8s-workload-client`;
    const verifiedClientLine = `[Server] ✅ VERIFIED CLIENT IDENTITY: ${clientId}`;
    const api = new EntryApi(run.config.spire.serverSocket);
    try {
      const selectors =
        attestationMode(run) === 'k8s'
          ? k8sSelectors(namespace, CLIENT_CONTAINER, { key: 'app', value: CLIENT_LABEL })
          : dockerSelectors(CLIENT_CONTAINER, namespace);
      const entry = await ensureEntry(api, { spiffeId: clientId, parentId: need('agentId'), selectors });
      log(`client entry ${entry.entryId} ${entry.action}`);
    } finally {
      api.close();
    }

    const server = need('pod');
    const serverLog = () => podLogs(kube(run), namespace, server.name, run.config.workload.container);
    // A client kept from an earlier run (KEEP) may have called already: count only what happens from now on.
    const serverVerifiedBefore = count(await serverLog(), verifiedClientLine);

    const service = await kube(run).core.readNamespacedService({ name: 'mtls-app', namespace });
    const serverAddress = service.spec?.clusterIP as string;
    const manifest = renderManifest(CLIENT_MANIFEST, {
      NAMESPACE: namespace,
      CLIENT_LABEL,
      IMAGE: run.config.workload.image,
      SERVER_ADDRESS: serverAddress,
      PORT: run.config.workload.port,
      SERVER_ID: run.config.workloadSpiffeId,
      EVERY_SECONDS,
      AGENT_SOCKET: run.config.spire.agentSocket,
      AGENT_SOCKET_DIR: dirname(run.config.spire.agentSocket),
    });
    await evidence('mtls-client.yaml', manifest, 'text/yaml');
    await applyManifest(kube(run), manifest);

    const selector = `app=${CLIENT_LABEL}`;
    let clientPod: Awaited<ReturnType<typeof waitForReadyPods>>[number] | undefined;
    try {
      [clientPod] = await waitForReadyPods(
        kube(run),
        namespace,
        selector,
        run.config.timeouts.podReadySeconds * 1000,
        log,
      );
    } catch (error) {
      const pods = await kube(run).core.listNamespacedPod({ namespace, labelSelector: selector });
      const events = await Promise.all(pods.items.map((p) => eventsOf(kube(run), namespace, p.metadata?.name ?? '')));
      await evidence('client-pod-events.txt', events.join('\n\n') || '(no events)');
      throw error;
    }
    const clientName = clientPod?.metadata?.name;
    if (!clientPod || !clientName) throw new Error('no client pod');
    const clientLog = () => podLogs(kube(run), namespace, clientName, CLIENT_CONTAINER);
    const clientRepliesBefore = count(await clientLog(), REPLY_LINE);

    // The next exchanges: the client got a reply and the server logged the client's identity.
    const logs = await waitFor(
      'a new pod-to-pod exchange (a reply in the client log and the client identity in the server log)',
      async () => {
        const [client, server] = await Promise.all([clientLog(), serverLog()]);
        const replies = count(client, REPLY_LINE) - clientRepliesBefore;
        const verified = count(server, verifiedClientLine) - serverVerifiedBefore;
        const lastClientLine = client.trim().split('\n').at(-1) ?? '';
        return replies > 0 && verified > 0
          ? { done: true, value: { client, server } }
          : { done: false, status: `replies ${replies}, server verifications ${verified}; client: ${lastClientLine}` };
      },
      { timeoutMs: 120_000, intervalMs: 2000, onProgress: log },
    ).catch(async (error: unknown) => {
      await evidence('client-pod.log', await clientLog().catch((e: unknown) => String(e)));
      await evidence('server-pod.log', await serverLog().catch((e: unknown) => String(e)));
      throw error;
    });
    const status = clientPod.status?.containerStatuses?.[0];
    provide('clientPod', {
      name: clientName,
      namespace,
      restarts: status?.restartCount ?? 0,
      startedAt: status?.state?.running?.startedAt?.toISOString() ?? '',
    });
    await evidence('client-pod.log', logs.client);
    await evidence('server-pod.log', logs.server);
    await evidence(
      'path.txt',
      `client ${podSummary(clientPod)}\n-> Service mtls-app ${serverAddress}:${run.config.workload.port}\n` +
        `-> server ${server.name} ${server.ip}`,
    );
    expect(logs.client).toContain(`[Client] ✅ VERIFIED SERVER IDENTITY: ${run.config.workloadSpiffeId}`);
    expect(logs.client).toContain(REPLY_LINE);
    expect(logs.server).toContain(verifiedClientLine);
    // Across the pod network: two pods, two addresses in 10.244.0.0/16.
    expect(clientPod.status?.podIP).toMatch(/^10\.244\./);
    expect(clientPod.status?.podIP).not.toBe(server.ip);
  },
  6 * 60_000,
);
