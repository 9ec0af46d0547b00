// Phase 80: pod-to-pod mTLS (the seed's next step 1). A client Deployment whose pod has its own SPIFFE ID calls the
// server through its Service (kube-proxy) across the pod network every few seconds; each side verifies the other's
// identity. The client keeps running so that phase 90 can watch it carry on through SVID rotation.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { attestationMode, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { EntryApi } from '../fixtures/entry-api.ts';
import {
  applyManifest,
  deleteManifest,
  eventsOf,
  podLogs,
  podSummary,
  renderManifest,
  waitForReadyPods,
} from '../fixtures/kube.ts';
import { dockerSelectors, ensureEntry, k8sSelectors } from '../fixtures/registration.ts';
import { meshClientSpiffeId } from '../lib/config.ts';
import { waitFor } from '../lib/wait.ts';
import {
  countExact,
  logLines,
  unauthorizedClientIds,
  verifiedClientIds,
  verifiedServerIds,
} from '../lib/workload-log.ts';

const CLIENT_MANIFEST = fileURLToPath(new URL('../manifests/mtls-client.yaml', import.meta.url));
const INTRUDER_MANIFEST = fileURLToPath(new URL('../manifests/mtls-intruder.yaml', import.meta.url));
const INTRUDER = { pod: 'mtls-intruder', container: 'mtls-intruder', label: 'mtls-demo-intruder' };
const CLIENT_CONTAINER = 'mtls-client';
const CLIENT_LABEL = 'mtls-demo-client';
/** How often the client calls the server. */
const EVERY_SECONDS = 5;
const REPLY_LINE = '[Client] Server Replied: Secure Hello from SPIRE Server!';

control(
  'MESH-01',
  async ({ run, evidence, log, need, provide }) => {
    const namespace = run.config.workload.namespace;
    const clientId = meshClientSpiffeId(run.config);
    const api = new EntryApi(run.config.spire.serverSocket);
    try {
      const selectors =
        attestationMode(run) === 'k8s'
          ? k8sSelectors(namespace, CLIENT_CONTAINER, { key: 'app', value: CLIENT_LABEL })
          : dockerSelectors(CLIENT_CONTAINER, namespace);
      const entry = await ensureEntry(api, { spiffeId: clientId, parentId: need('agentId'), selectors }, run.ledger);
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

control(
  'MESH-02',
  async ({ run, evidence, log, need }) => {
    const namespace = run.config.workload.namespace;
    const intruderId = `spiffe://${run.config.trustDomain}/k8s-intruder`;
    const api = new EntryApi(run.config.spire.serverSocket);
    try {
      const selectors =
        attestationMode(run) === 'k8s'
          ? k8sSelectors(namespace, INTRUDER.container, { key: 'app', value: INTRUDER.label })
          : dockerSelectors(INTRUDER.container, namespace);
      const entry = await ensureEntry(api, { spiffeId: intruderId, parentId: need('agentId'), selectors }, run.ledger);
      log(`intruder entry ${entry.entryId} ${entry.action} (${intruderId}, not on the server's allow-list)`);
    } finally {
      api.close();
    }
    const server = need('pod');
    const serverLog = () => podLogs(kube(run), namespace, server.name, run.config.workload.container);
    const refusedBefore = countExact(unauthorizedClientIds(await serverLog()), intruderId);
    const service = await kube(run).core.readNamespacedService({ name: 'mtls-app', namespace });
    const manifest = renderManifest(INTRUDER_MANIFEST, {
      NAMESPACE: namespace,
      INTRUDER_LABEL: INTRUDER.label,
      IMAGE: run.config.workload.image,
      SERVER_ADDRESS: service.spec?.clusterIP ?? '',
      PORT: run.config.workload.port,
      SERVER_ID: run.config.workloadSpiffeId,
      AGENT_SOCKET: run.config.spire.agentSocket,
      AGENT_SOCKET_DIR: dirname(run.config.spire.agentSocket),
    });
    await evidence('mtls-intruder.yaml', manifest, 'text/yaml');
    // A pod is immutable and runs once: one left by an earlier run (KEEP) is replaced.
    const gone = async () => {
      await deleteManifest(kube(run), manifest);
      await waitFor(
        `pod ${namespace}/${INTRUDER.pod} to be deleted`,
        async () => {
          const found = await kube(run)
            .core.readNamespacedPod({ name: INTRUDER.pod, namespace })
            .catch(() => undefined);
          return found ? { done: false, status: `still ${found.status?.phase}` } : { done: true, value: true };
        },
        { timeoutMs: 60_000, intervalMs: 1000, onProgress: log },
      );
    };
    await gone();
    await applyManifest(kube(run), manifest);
    try {
      const pod = await waitFor(
        `the intruder pod to call the server once and exit`,
        async () => {
          const found = await kube(run).core.readNamespacedPod({ name: INTRUDER.pod, namespace });
          const phase = found.status?.phase;
          return phase === 'Succeeded' || phase === 'Failed'
            ? { done: true, value: found }
            : { done: false, status: `${phase}` };
        },
        { timeoutMs: 150_000, intervalMs: 2000, onProgress: log },
      );
      const clientLog = await podLogs(kube(run), namespace, INTRUDER.pod, INTRUDER.container);
      // The server logs the refusal as it closes the connection; the client may have exited a moment before.
      const text = await waitFor(
        `the server to log its refusal of ${intruderId}`,
        async () => {
          const current = await serverLog();
          return countExact(unauthorizedClientIds(current), intruderId) > refusedBefore
            ? { done: true, value: current }
            : { done: false, status: 'no refusal logged yet' };
        },
        { timeoutMs: 20_000, intervalMs: 1000, onProgress: log },
      ).catch(async () => serverLog());
      await evidence('intruder-pod.log', clientLog);
      await evidence('server-pod.log', text);
      await evidence('intruder-pod.txt', podSummary(pod));
      expect(
        clientLog,
        `expected the intruder to get its own SVID (${intruderId}), so that a refusal is for its identity; its log shows none`,
      ).toContain(`SPIFFE ID: ${intruderId}`);
      expect(
        countExact(unauthorizedClientIds(text), intruderId),
        `expected the server to refuse ${intruderId} as not authorized (a "REJECTED CLIENT: ${intruderId} is not ` +
          'authorized" line); it logged no such refusal',
      ).toBeGreaterThan(refusedBefore);
      expect(clientLog, 'expected the intruder to get no reply from the server; it was answered').not.toContain(
        REPLY_LINE,
      );
      expect(
        pod.status?.phase,
        `expected the intruder's client to fail (pod Failed); the pod is ${pod.status?.phase}`,
      ).toBe('Failed');
    } finally {
      await gone().catch((error: unknown) => log(`could not delete the intruder pod: ${(error as Error).message}`));
    }
  },
  5 * 60_000,
);
