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
import { countExact, logLines, verifiedClientIds, verifiedServerIds } from '../lib/workload-log.ts';

const CLIENT_MANIFEST = fileURLToPath(new URL('../manifests/mtls-client.yaml', import.meta.url));
const CLIENT_CONTAINER = 'mtls-client';
const CLIENT_LABEL = 'mtls-demo-client';
/** How often the client calls the server. */
const EVERY_SECONDS = 5;
const REPLY_LINE = '[Client] Server Replied: Secure Hello from SPIRE Server!';

control(
  'MESH-01',
  async ({ run, evidence, log, need, provide }) => {
    const namespace = run.config.workload.namespace;
    const clientId = `spiffe://${run.config.trustDomain}/k8s-workload-client`;
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
    // A client kept from an earlier run (KEEP) may have called already: count only what happens from now on, and
    // only lines naming exactly the client's ID (the server's own ID shares its prefix).
    const verifiedClients = (text: string) => countExact(verifiedClientIds(text), clientId);
    const replies = (text: string) => countExact(logLines(text), REPLY_LINE);
    const serverVerifiedBefore = verifiedClients(await serverLog());

    const service = await kube(run).core.readNamespacedService({ name: 'mtls-app', namespace });
    const serverAddress = service.spec?.clusterIP;
    if (!serverAddress || serverAddress === 'None')
      throw new Error(`expected Service ${namespace}/mtls-app to have a cluster IP; it has ${serverAddress ?? 'none'}`);
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
    if (!clientPod || !clientName)
      throw new Error(`expected a ready pod ${selector} in ${namespace}; the wait returned none`);
    const clientLog = () => podLogs(kube(run), namespace, clientName, CLIENT_CONTAINER);
    const clientRepliesBefore = replies(await clientLog());

    // The next exchanges: the client got a reply and the server logged the client's identity.
    const logs = await waitFor(
      'a new pod-to-pod exchange (a reply in the client log and the client identity in the server log)',
      async () => {
        const [client, server] = await Promise.all([clientLog(), serverLog()]);
        const newReplies = replies(client) - clientRepliesBefore;
        const verified = verifiedClients(server) - serverVerifiedBefore;
        const lastClientLine = client.trim().split('\n').at(-1) ?? '';
        return newReplies > 0 && verified > 0
          ? { done: true, value: { client, server } }
          : {
              done: false,
              status: `new replies ${newReplies}, new server verifications of ${clientId} ${verified}; client: ${lastClientLine}`,
            };
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
    expect(
      verifiedServerIds(logs.client),
      `expected the client pod to log "[Client] ✅ VERIFIED SERVER IDENTITY: ${run.config.workloadSpiffeId}"; it ` +
        `verified: ${[...new Set(verifiedServerIds(logs.client))].join(', ') || 'no server'}`,
    ).toContain(run.config.workloadSpiffeId);
    // Across the pod network: two pods, two addresses in 10.244.0.0/16.
    const clientIp = clientPod.status?.podIP;
    expect(clientIp, `expected the client pod's IP in 10.244.0.0/16; it is ${clientIp}`).toMatch(/^10\.244\./);
    expect(
      clientIp,
      `expected the client pod and the server pod to have different IPs; both have ${clientIp}`,
    ).not.toBe(server.ip);
  },
  6 * 60_000,
);
