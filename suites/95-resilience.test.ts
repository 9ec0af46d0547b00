// Phase 95: resilience — the day after the first SVID. While the pod-to-pod client of phase 80 keeps calling the
// server every few seconds, the phase removes and re-creates the workload's entry (with a short TTL), watches three
// rotations under that traffic, restarts the SPIRE agent and the SPIRE server (only ones this run started), and deletes
// the server pod. Every time is taken from the runtime's timestamps on the workloads' own log lines and kept as a
// figure (time to detection, time to recovery). Switched off by resilience.enabled=false.
import { expect } from 'vitest';
import { kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { EntryApi, GRPC_OK } from '../fixtures/entry-api.ts';
import { execInPod, isReady, type LogLine, podLogLines } from '../fixtures/kube.ts';
import { ensureEntry } from '../fixtures/registration.ts';
import type { Handles, RunContext } from '../fixtures/run-context.ts';
import { restartSpireDaemon } from '../fixtures/spire.ts';
import { meshClientSpiffeId, podLabel } from '../lib/config.ts';
import { SUITE_ENTRY_HINT } from '../lib/registration-entry.ts';
import { waitFor } from '../lib/wait.ts';

const CLIENT_CONTAINER = 'mtls-client';
const NEW_SVID = /^\[SVID Rotation\] New SVID serial ([0-9a-f]+)/;
const SERVED = /^\[Client\] Server certificate serial: ([0-9a-f]+)/;
const REPLIED = /^\[Client\] Server Replied:/;
const FAILED = /❌/;
/** How often the suite reads the logs while it waits. */
const POLL_MS = 1000;

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const timeline = (lines: LogLine[], since: number) =>
  lines.map((line) => `+${((line.at - since) / 1000).toFixed(1).padStart(6)} s  ${line.text}`).join('\n');

function serverLines(run: RunContext, pod: Handles['pod'], since: number): Promise<LogLine[]> {
  return podLogLines(kube(run), pod.namespace, pod.name, run.config.workload.container, since);
}

function clientLines(run: RunContext, client: Handles['clientPod'], since: number): Promise<LogLine[]> {
  return podLogLines(kube(run), client.namespace, client.name, CLIENT_CONTAINER, since);
}

/** The first line matching `pattern` at or after `since`, waited for (bounded). */
async function firstLine(
  what: string,
  read: () => Promise<LogLine[]>,
  pattern: RegExp,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<LogLine> {
  return waitFor(
    what,
    async () => {
      const lines = await read();
      const hit = lines.find((line) => pattern.test(line.text));
      return hit
        ? { done: true, value: hit }
        : { done: false, status: `${lines.length} new line(s); last: ${lines.at(-1)?.text ?? 'none'}` };
    },
    { timeoutMs, intervalMs: POLL_MS, onProgress: log },
  );
}

/** The container's restart count and start time now: a pod that was restarted did not survive the event. */
async function containerState(run: RunContext, namespace: string, name: string) {
  const pod = await kube(run).core.readNamespacedPod({ name, namespace });
  const status = pod.status?.containerStatuses?.[0];
  return { restarts: status?.restartCount ?? -1, startedAt: status?.state?.running?.startedAt?.toISOString() ?? '' };
}

async function expectNotRestarted(
  run: RunContext,
  pod: { name: string; namespace: string; restarts: number; startedAt: string },
  event: string,
) {
  const now = await containerState(run, pod.namespace, pod.name);
  expect(
    now,
    `expected pod ${pod.name} to run on through ${event} (restarts ${pod.restarts}, started ${pod.startedAt}); it has ` +
      `restarts ${now.restarts}, started ${now.startedAt}`,
  ).toEqual({ restarts: pod.restarts, startedAt: pod.startedAt });
}

control(
  'RES-01',
  async ({ run, evidence, log, need, figure, notApplicable }) => {
    const pod = need('pod');
    const entryId = need('k8sEntryId');
    const api = new EntryApi(run.config.spire.serverSocket);
    try {
      const entry = (await api.listBySpiffeId(run.config.workloadSpiffeId)).find((e) => e.id === entryId);
      if (!entry) throw new Error(`expected the workload's entry ${entryId} to exist; the Entry API does not list it`);
      if (entry.hint !== SUITE_ENTRY_HINT)
        notApplicable(
          'entry-not-ours',
          `entry ${entryId} carries the hint ${JSON.stringify(entry.hint)}, not the suite's`,
        );

      const removedAt = Date.now();
      const [result] = await api.delete([entryId]);
      if (result && result.status.code !== GRPC_OK)
        throw new Error(`expected to delete entry ${entryId}; the Entry API answered ${result.status.message}`);
      run.ledger.forget('spire-entry', entryId);
      log(`entry ${entryId} removed; waiting for the workload to be told it has no identity`);
      const denied = await firstLine(
        'the workload to be told it has no identity (PermissionDenied on its SVID stream)',
        () => serverLines(run, pod, removedAt),
        /SVID stream failed: PermissionDenied/,
        60_000,
        log,
      );
      figure('time to detection', seconds(denied.at - removedAt));

      const recreatedAt = Date.now();
      const recreated = await ensureEntry(
        api,
        {
          spiffeId: run.config.workloadSpiffeId,
          parentId: need('agentId'),
          selectors: entry.selectors,
          x509SvidTtl: run.config.resilience.x509SvidTtlSeconds,
        },
        run.ledger,
      );
      log(`entry re-created as ${recreated.entryId} (TTL ${run.config.resilience.x509SvidTtlSeconds} s)`);
      const restored = await firstLine(
        'a new SVID for the workload after its entry was re-created',
        () => serverLines(run, pod, recreatedAt),
        NEW_SVID,
        90_000,
        log,
      );
      figure('time to recovery', seconds(restored.at - recreatedAt));
      await evidence(
        'timeline.txt',
        `entry ${entryId} removed at +0.0 s; re-created as ${recreated.entryId} at ` +
          `+${((recreatedAt - removedAt) / 1000).toFixed(1)} s\n\nserver pod log from the removal:\n` +
          timeline(await serverLines(run, pod, removedAt), removedAt),
      );
      await expectNotRestarted(run, pod, 'the removal and re-creation of its entry');
    } finally {
      api.close();
    }
  },
  4 * 60_000,
);

control(
  'RES-02',
  async ({ run, evidence, log, need, figure }) => {
    const pod = need('pod');
    const client = need('clientPod');
    const ttl = run.config.resilience.x509SvidTtlSeconds;
    const since = Date.now();
    const wanted = 3;
    log(`watching ${wanted} rotations (TTL ${ttl} s: one about every ${ttl / 2} s) under the client's traffic`);
    // Each rotation counts once the client has been served that serial on a new connection and got its reply.
    const seen = await waitFor(
      `${wanted} rotations, each served to the client on a new connection`,
      async () => {
        const [server, clientLog] = await Promise.all([serverLines(run, pod, since), clientLines(run, client, since)]);
        const rotations = server.flatMap((line) => {
          const serial = NEW_SVID.exec(line.text)?.[1];
          return serial ? [{ serial, at: line.at }] : [];
        });
        const servedAt = (serial: string) => {
          const index = clientLog.findIndex((line) => SERVED.exec(line.text)?.[1] === serial);
          return index >= 0 && REPLIED.test(clientLog[index + 1]?.text ?? '') ? clientLog[index]?.at : undefined;
        };
        const observed = rotations.filter((rotation) => servedAt(rotation.serial) !== undefined);
        return observed.length >= wanted
          ? { done: true, value: { rotations, servedAt, server, clientLog } }
          : { done: false, status: `${rotations.length} rotation(s), ${observed.length} served to the client` };
      },
      { timeoutMs: (wanted * ttl + 60) * 1000, intervalMs: 2 * POLL_MS, onProgress: log },
    );
    const failures = seen.clientLog.filter((line) => FAILED.test(line.text));
    const serverFailures = seen.server.filter((line) => FAILED.test(line.text));
    const exchanges = seen.clientLog.filter((line) => REPLIED.test(line.text)).length;
    const propagation = seen.rotations
      .map((rotation) => (seen.servedAt(rotation.serial) ?? Number.NaN) - rotation.at)
      .filter(Number.isFinite);
    figure('rotations observed', String(seen.rotations.length));
    figure('exchanges', String(exchanges));
    figure('failed exchanges', String(failures.length));
    figure('longest rotation-to-client delay', seconds(Math.max(...propagation)));
    await evidence('server-pod.timeline.txt', timeline(seen.server, since));
    await evidence('client-pod.timeline.txt', timeline(seen.clientLog, since));
    expect(
      failures.map((line) => line.text),
      `expected no failed exchange through ${seen.rotations.length} rotations; the client logged ${failures.length}`,
    ).toEqual([]);
    expect(
      serverFailures.map((line) => line.text),
      `expected the server to log no failure through the rotations; it logged ${serverFailures.length}`,
    ).toEqual([]);
    await expectNotRestarted(run, pod, 'three rotations');
    await expectNotRestarted(run, client, 'three rotations');
  },
  5 * 60_000,
);

control(
  'RES-03',
  async ({ run, evidence, log, need, figure, notApplicable }) => {
    const pod = need('pod');
    const client = need('clientPod');
    const agent = need('spireAgent');
    if (!agent.startedByRun)
      notApplicable('spire-not-ours', `the SPIRE agent (pid ${agent.pid ?? 'unknown'}) was not started by the suite`);
    const since = Date.now();
    const restart = await restartSpireDaemon('spire-agent', agent, {
      config: run.config,
      binaries: need('spireBinaries'),
      ledger: run.ledger,
      log,
    });
    figure('agent socket down', seconds(restart.downMs));
    const lost = await firstLine(
      'the workload to notice the agent went away (its SVID stream failing, with a retry)',
      () => serverLines(run, pod, since),
      /SVID stream failed: .*retrying in/,
      30_000,
      log,
    );
    figure('time to detection', seconds(lost.at - since));
    // Any SVID after the stream broke comes from the restarted agent.
    const back = await firstLine(
      'the workload to get an SVID from the restarted agent',
      () => serverLines(run, pod, lost.at),
      NEW_SVID,
      90_000,
      log,
    );
    figure('time to recovery', seconds(back.at - since));
    const reply = await firstLine(
      'a new pod-to-pod exchange after the restart',
      () => clientLines(run, client, back.at),
      REPLIED,
      60_000,
      log,
    );
    const socket = await execInPod(kube(run), pod.namespace, pod.name, run.config.workload.container, [
      'ls',
      '-l',
      run.config.spire.agentSocket,
    ]);
    await evidence(
      'timeline.txt',
      `agent restarted at +0.0 s (${restart.stopped}); healthy again after ${seconds(restart.downMs)}\n` +
        `first exchange after recovery at +${((reply.at - since) / 1000).toFixed(1)} s\n` +
        `socket in the pod: ${socket.stdout.trim() || socket.stderr.trim()}\n\nserver pod log from the restart:\n` +
        timeline(await serverLines(run, pod, since), since),
    );
    expect(
      socket.stdout.trim(),
      `expected the restarted agent's socket ${run.config.spire.agentSocket} in the pod; ls says ` +
        `${socket.stdout.trim() || socket.stderr.trim()}`,
    ).toMatch(/^s/);
    await expectNotRestarted(run, pod, 'the agent restart');
    await expectNotRestarted(run, client, 'the agent restart');
  },
  4 * 60_000,
);

control(
  'RES-04',
  async ({ run, evidence, log, need, figure, notApplicable }) => {
    const pod = need('pod');
    const client = need('clientPod');
    const server = need('spireServer');
    if (!server.startedByRun)
      notApplicable('spire-not-ours', `the SPIRE server (pid ${server.pid ?? 'unknown'}) was not started by the suite`);
    const since = Date.now();
    const restart = await restartSpireDaemon('spire-server', server, {
      config: run.config,
      binaries: need('spireBinaries'),
      ledger: run.ledger,
      log,
    });
    const restartedAt = since + restart.downMs;
    figure('server down', seconds(restart.downMs));
    const renewed = await firstLine(
      'a new SVID for the workload after the server restart',
      () => serverLines(run, pod, restartedAt),
      NEW_SVID,
      (run.config.resilience.x509SvidTtlSeconds + 60) * 1000,
      log,
    );
    figure('new SVID after the restart', seconds(renewed.at - restartedAt));
    const reply = await firstLine(
      'a pod-to-pod exchange with the renewed SVID',
      () => clientLines(run, client, renewed.at),
      REPLIED,
      60_000,
      log,
    );
    const clientLog = await clientLines(run, client, since);
    const failures = clientLog.filter((line) => line.at <= reply.at && FAILED.test(line.text));
    figure('failed exchanges', String(failures.length));
    await evidence(
      'timeline.txt',
      `server restarted at +0.0 s (${restart.stopped}); healthy again after ${seconds(restart.downMs)}\n\n` +
        `client pod log:\n${timeline(clientLog, since)}\n\nserver pod log:\n` +
        timeline(await serverLines(run, pod, since), since),
    );
    expect(
      failures.map((line) => line.text),
      `expected no failed exchange while the SPIRE server restarted; the client logged ${failures.length}`,
    ).toEqual([]);
    await expectNotRestarted(run, pod, 'the server restart');
  },
  4 * 60_000,
);

control(
  'RES-05',
  async ({ run, evidence, log, need, figure }) => {
    const pod = need('pod');
    const client = need('clientPod');
    const { key, value } = podLabel(run.config);
    const deletedAt = Date.now();
    await kube(run).core.deleteNamespacedPod({ name: pod.name, namespace: pod.namespace });
    log(`pod ${pod.name} deleted; waiting for the Deployment's replacement`);
    const replacement = await waitFor(
      'a Ready replacement pod',
      async () => {
        const pods = await kube(run).core.listNamespacedPod({
          namespace: pod.namespace,
          labelSelector: `${key}=${value}`,
        });
        const fresh = pods.items.find((p) => p.metadata?.name !== pod.name && !p.metadata?.deletionTimestamp);
        return fresh && isReady(fresh)
          ? { done: true, value: fresh }
          : { done: false, status: fresh ? `${fresh.metadata?.name} ${fresh.status?.phase}` : 'no replacement yet' };
      },
      { timeoutMs: run.config.timeouts.podReadySeconds * 1000, intervalMs: POLL_MS, onProgress: log },
    );
    const name = replacement.metadata?.name ?? '';
    const newPod = { ...pod, name };
    figure('replacement Ready', seconds(Date.now() - deletedAt));
    const identity = await firstLine(
      `the replacement pod ${name} to get its SVID`,
      () => serverLines(run, newPod, deletedAt),
      new RegExp(`^SPIFFE ID: ${escaped(run.config.workloadSpiffeId)}$`),
      60_000,
      log,
    );
    figure('time to identity', seconds(identity.at - deletedAt));
    const verified = await firstLine(
      `the replacement pod to verify the client ${meshClientSpiffeId(run.config)}`,
      () => serverLines(run, newPod, deletedAt),
      new RegExp(`VERIFIED CLIENT IDENTITY: ${escaped(meshClientSpiffeId(run.config))}$`),
      90_000,
      log,
    );
    figure('pod-to-pod mTLS resumed', seconds(verified.at - deletedAt));
    await evidence(
      'timeline.txt',
      `pod ${pod.name} deleted at +0.0 s; replacement ${name}\n\nreplacement pod log:\n` +
        timeline(await serverLines(run, newPod, deletedAt), deletedAt) +
        `\n\nclient pod log:\n${timeline(await clientLines(run, client, deletedAt), deletedAt)}`,
    );
    await expectNotRestarted(run, client, 'the server pod replacement');
  },
  5 * 60_000,
);
