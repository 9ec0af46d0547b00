// Phase 40: the seed's Docker demonstration inside the suite. The workload image runs in Docker with the labels a
// Kubernetes container would carry; the host agent's docker attestor gives it the registered identity; a second
// container proves mutual TLS both ways; the negative controls prove identities and access are not handed out freely.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadImageOnce } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { EntryApi } from '../fixtures/entry-api.ts';
import { describeExchange, readExchangeFromServerLog } from '../fixtures/exchange-log.ts';
import { ensureEntry } from '../fixtures/registration.ts';
import type { RunContext } from '../fixtures/run-context.ts';
import { judgeServedSvid, judgeSvidFiles } from '../fixtures/svid-files.ts';
import {
  adoptOrStartWorkloadContainer,
  buildWorkloadImage,
  CONTEXT_LABEL,
  inspectImage,
  runOneShot,
  SVID_DIR,
  type WorkloadContainer,
} from '../fixtures/workload-container.ts';
import { inspectSvid } from '../lib/svid-inspector.ts';
import { waitFor } from '../lib/wait.ts';
import { countExact, fetchedSpiffeIds, logLines, verifiedClientIds, verifiedServerIds } from '../lib/workload-log.ts';

const FILES = ['svid.0.pem', 'svid.0.key', 'bundle.0.pem'] as const;
const INTRUDER_CONTAINER = 'mtls-intruder';

function labelsFor(run: RunContext, container = run.config.workload.container): Record<string, string> {
  return { 'io.kubernetes.container.name': container, 'io.kubernetes.pod.namespace': run.config.workload.namespace };
}

async function readFromServer(server: WorkloadContainer, file: string): Promise<string> {
  const result = await server.exec(['cat', `${SVID_DIR}/${file}`]);
  if (result.exitCode !== 0) throw new Error(`cannot read ${SVID_DIR}/${file} in the container: ${result.stderr}`);
  return result.stdout;
}

const REPLY_LINE = '[Client] Server Replied: Secure Hello from SPIRE Server!';
/** How long a line the server wrote may take to show in `docker logs`. */
const LOG_SETTLE_MS = 30_000;

/** A one-shot workload container in client mode, labelled as `container`, sending `message` to the server container. */
function runClientContainer(
  run: RunContext,
  image: string,
  server: WorkloadContainer,
  name: string,
  container: string,
  message: string,
) {
  return runOneShot({
    image,
    name,
    labels: labelsFor(run, container),
    agentSocket: run.config.spire.agentSocket,
    args: [
      'client',
      '--connect',
      `${server.ip}:${run.config.workload.port}`,
      '--server-id',
      run.config.workloadSpiffeId,
      '--message',
      message,
    ],
    ledger: run.ledger,
    readyTimeoutMs: (run.config.timeouts.svidFetchSeconds + 30) * 1000,
  });
}

control('DOCKER-01', async ({ run, evidence, log, need, provide }) => {
  const build = await buildWorkloadImage(run.config, need('baseImage'), log);
  provide('workloadImage', build.image);
  // The image is what IMAGE-01 loads into the node (it needs this control and CNI-04): with the cluster up, the copy
  // starts now and runs while this phase does; IMAGE-01 waits for it and judges it.
  if (run.outcomes.get('CNI-04')?.status === 'passed') {
    loadImageOnce(run, build.image, 'DOCKER-01');
    log(`loading ${build.image} into the node's runtime in the background (judged by IMAGE-01)`);
  }
  await evidence('image-build.json', JSON.stringify(build, null, 2), 'application/json');
  await evidence('docker-build.log', readFileSync(build.logFile, 'utf8').slice(-6000));
  expect(build.imageId, `expected docker build to produce an image id; it reported "${build.imageId}"`).toMatch(
    /^sha256:[0-9a-f]{64}$/,
  );
  // Built now or reused, the tagged image must say it comes from workload/ as it is now.
  const tagged = await inspectImage(build.image);
  expect(
    tagged,
    `expected ${build.image} to be ${build.imageId} labelled ${CONTEXT_LABEL}=${build.fingerprint} (the fingerprint ` +
      `of workload/ now); Docker has ${tagged ? `${tagged.id} labelled "${tagged.context}"` : 'no such image'}`,
  ).toEqual({ id: build.imageId, context: build.fingerprint });
});

control('DOCKER-02', async ({ run, evidence, log, need, provide }) => {
  const image = need('workloadImage');
  log(`the workload server container from ${image} (labels ${JSON.stringify(labelsFor(run))})`);
  // A server a KEEP run left is adopted when it still fits (same image, labels, arguments), so reruns never pile up.
  const container = await adoptOrStartWorkloadContainer(
    {
      image,
      name: 'mtls-app',
      labels: labelsFor(run),
      agentSocket: run.config.spire.agentSocket,
      args: ['server', '--port', String(run.config.workload.port), '--allow-id', run.config.workloadSpiffeId],
      ledger: run.ledger,
      readyLog: /Successfully fetched SVIDs!/,
      readyTimeoutMs: run.config.timeouts.svidFetchSeconds * 1000,
    },
    log,
  );
  provide('dockerServer', container);
  const logs = await container.logs();
  await evidence(
    'server-container.txt',
    container.adoptedFrom
      ? `${container.name} (${container.id}): adopted, started ${container.adoptedFrom} by an earlier run with KEEP`
      : `${container.name} (${container.id}): started by this run`,
  );
  await evidence('server-container.log', logs);
  expect(logs, 'expected the server container to log "✅ Successfully fetched SVIDs!"; its log is attached').toContain(
    '✅ Successfully fetched SVIDs!',
  );
});

/** Waits (bounded) until the server's log has a line; returns the log. */
function waitForServerLog(run: RunContext, server: WorkloadContainer, what: string, line: string): Promise<string> {
  return waitFor(
    what,
    async () => {
      const current = await server.logs();
      const last = current.trim().split('\n').at(-1) ?? '';
      return current.includes(line) ? { done: true, value: current } : { done: false, status: last };
    },
    { timeoutMs: run.config.timeouts.containerReadySeconds * 1000, onProgress: (progress) => run.log(progress) },
  );
}

control('DOCKER-03', async ({ run, evidence, need }) => {
  const server = need('dockerServer');
  // The workload logs the fetch first, then writes the files (atomically, one by one).
  await waitForServerLog(run, server, 'the workload to write its SVID files', '✅ SVID files written');
  const listing = await server.exec(['stat', '-c', '%a %U %s %n', ...FILES.map((f) => `${SVID_DIR}/${f}`)]);
  await evidence('stat-app-files.txt', listing.stdout + listing.stderr);
  expect(listing.exitCode, `some SVID files are missing in ${SVID_DIR}: ${listing.stderr}`).toBe(0);
  const modes = Object.fromEntries(
    listing.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map((parts) => [parts[3], parts[0]]),
  );
  expect(modes[`${SVID_DIR}/svid.0.key`], 'the private key must be readable by its owner only').toBe('600');
});

control('DOCKER-04', async (context) => {
  const server = context.need('dockerServer');
  await judgeSvidFiles(context, (file) => readFromServer(server, file), 'the container');
});

control('DOCKER-05', async ({ run, evidence, need }) => {
  const logs = await need('dockerServer').logs();
  const reported = /SPIFFE ID:\s*(\S+)/.exec(logs)?.[1];
  await evidence('reported-spiffe-id.txt', `log: ${reported ?? '(none)'}\nexpected: ${run.config.workloadSpiffeId}`);
  expect(
    reported,
    `expected the workload to log SPIFFE ID ${run.config.workloadSpiffeId}; it logged ${reported ?? 'none'}`,
  ).toBe(run.config.workloadSpiffeId);
});

control('DOCKER-06', async ({ run, evidence, need }) => {
  const line = `[Server] Secure mTLS Server listening on 0.0.0.0:${run.config.workload.port}`;
  const logs = await waitForServerLog(run, need('dockerServer'), 'the server to listen', line);
  await evidence('server-container.log', logs);
  expect(logs, `expected the server container to log "${line}"`).toContain(line);
});

control('DOCKER-07', async ({ run, evidence, need, provide }) => {
  const target = need('dockerServer');
  const clientId = run.config.workloadSpiffeId;
  // Counted exactly and marked by a message unique to this run, so that DOCKER-08 finds this exchange and no other.
  const verifiedBefore = countExact(verifiedClientIds(await target.logs()), clientId);
  const message = `DOCKER-07 client container ${randomUUID()}`;
  const client = await runClientContainer(
    run,
    need('workloadImage'),
    target,
    'mtls-client',
    run.config.workload.container,
    message,
  );
  provide('clientRun', { ...client, clientId, message, verifiedBefore });
  await evidence('client-container.log', client.logs);
  expect(
    logLines(client.logs),
    `expected the client container to print "${REPLY_LINE}"; it printed:\n${client.logs}`,
  ).toContain(REPLY_LINE);
  expect(client.exitCode, `expected the client container to exit 0; it exited ${client.exitCode}`).toBe(0);
});

control('DOCKER-08', async ({ run, evidence, log, need }) => {
  const clientRun = need('clientRun');
  const serverId = run.config.workloadSpiffeId;
  const server = need('dockerServer');
  // The server logs the exchange before it replies, but `docker logs` may not show it yet when the client has
  // exited: read it until the exchange shows (bounded), then judge what was seen.
  const seen = await readExchangeFromServerLog(() => server.logs(), clientRun, {
    timeoutMs: LOG_SETTLE_MS,
    onProgress: log,
  });
  await evidence('server-container.log', seen.log);
  await evidence('client-container.log', clientRun.logs);
  log(describeExchange(seen, clientRun));
  await evidence('exchange.txt', describeExchange(seen, clientRun));
  expect(
    verifiedServerIds(clientRun.logs),
    `expected the client container to log "[Client] ✅ VERIFIED SERVER IDENTITY: ${serverId}"; it verified: ` +
      `${verifiedServerIds(clientRun.logs).join(', ') || 'no server'}`,
  ).toContain(serverId);
  expect(
    seen.verified,
    `expected the server container to log one more "[Server] ✅ VERIFIED CLIENT IDENTITY: ${clientRun.clientId}" ` +
      `for the client container; saw ${describeExchange(seen, clientRun)}`,
  ).toBeGreaterThan(clientRun.verifiedBefore);
  expect(
    seen.received,
    `expected the server container to log the client's message as received (it does so only after verifying the ` +
      `client); saw ${describeExchange(seen, clientRun)}`,
  ).toBe(true);
});

control('DOCKER-09', async ({ run, evidence, need }) => {
  const agentBinary = need('spireBinaries').agent;
  const server = need('dockerServer');
  // The official CLI runs in a container with the same labels, so the agent attests it exactly like the workload.
  const scratch = mkdtempSync(join(tmpdir(), 'spire-fetch-'));
  const out = join(scratch, 'out');
  mkdirSync(out);
  chmodSync(out, 0o777); // the image runs as a non-root user; the 0700 parent keeps other host users out
  try {
    const fetched = await runOneShot({
      image: need('workloadImage'),
      name: 'spire-agent-fetch',
      labels: labelsFor(run),
      agentSocket: run.config.spire.agentSocket,
      mounts: [
        { source: agentBinary, target: '/opt/spire/bin/spire-agent', mode: 'ro' },
        { source: out, target: '/out', mode: 'rw' },
      ],
      entrypoint: ['/opt/spire/bin/spire-agent'],
      args: ['api', 'fetch', 'x509', '-socketPath', run.config.spire.agentSocket, '-write', '/out'],
      ledger: run.ledger,
      readyTimeoutMs: 60_000,
    });
    await evidence('spire-agent-api-fetch-x509.txt', fetched.logs);
    expect(fetched.exitCode, fetched.logs).toBe(0);
    const official = inspectSvid({
      chainPem: readFileSync(join(out, 'svid.0.pem'), 'utf8'),
      bundlePem: readFileSync(join(out, 'bundle.0.pem'), 'utf8'),
    });
    const workload = inspectSvid({
      chainPem: await readFromServer(server, 'svid.0.pem'),
      bundlePem: await readFromServer(server, 'bundle.0.pem'),
    });
    await evidence(
      'comparison.txt',
      `official CLI: ${official.summary.spiffeId}, bundle of ${official.summary.bundleSize}\n` +
        `workload:     ${workload.summary.spiffeId}, bundle of ${workload.summary.bundleSize}`,
    );
    expect(
      official.summary.spiffeId,
      `expected the official CLI and the workload to get the same SPIFFE ID; the CLI got ${official.summary.spiffeId}, the workload ${workload.summary.spiffeId}`,
    ).toBe(workload.summary.spiffeId);
    const normalized = (pem: string) => pem.replace(/\s+/g, '');
    expect(normalized(readFileSync(join(out, 'bundle.0.pem'), 'utf8'))).toBe(
      normalized(await readFromServer(server, 'bundle.0.pem')),
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

control('DOCKER-10', async (context) => {
  const server = context.need('dockerServer');
  // The host reaches the container on Docker's bridge: the suite's own TLS connection sees what any client sees.
  await judgeServedSvid(context, server.ip, (file) => readFromServer(server, file), 'the server container');
});

control('NEG-01', async ({ run, evidence, need }) => {
  // The agent answers each Workload API call at once from what it holds (no entry changes meanwhile): a few seconds
  // of asking is enough to see that no identity comes (the Kubernetes strangers of MESH-03/04 ask for 4 s).
  const fetchSeconds = 4;
  const result = await runOneShot({
    image: need('workloadImage'),
    name: 'mtls-unregistered',
    labels: { 'io.kubernetes.container.name': 'not-registered', 'io.kubernetes.pod.namespace': 'elsewhere' },
    agentSocket: run.config.spire.agentSocket,
    args: ['fetch', '--out-dir', '/tmp/svid', '--fetch-timeout', String(fetchSeconds)],
    ledger: run.ledger,
    readyTimeoutMs: (fetchSeconds + 45) * 1000,
  });
  await evidence('unregistered-container.log', result.logs);
  expect(result.logs, 'expected the unregistered container to get no SVID; it fetched one').not.toContain(
    'Successfully fetched SVIDs',
  );
  expect(
    result.logs,
    'expected the Workload API to answer the unregistered container with PermissionDenied; its log is attached',
  ).toMatch(/PermissionDenied/);
  expect(result.exitCode, 'expected the unregistered container to exit non-zero (no identity)').not.toBe(0);
});

control('NEG-02', async ({ run, evidence, log, need }) => {
  const intruderId = `spiffe://${run.config.trustDomain}/unauthorized-client`;
  const api = new EntryApi(run.config.spire.serverSocket);
  try {
    const entry = await ensureEntry(
      api,
      {
        spiffeId: intruderId,
        parentId: need('agentId'),
        selectors: Object.entries(labelsFor(run, INTRUDER_CONTAINER)).map(([k, v]) => ({
          type: 'docker',
          value: `label:${k}:${v}`,
        })),
      },
      run.ledger,
    );
    log(`intruder entry ${entry.entryId} ${entry.action}`);
  } finally {
    api.close();
  }
  const target = need('dockerServer');
  const client = await runClientContainer(
    run,
    need('workloadImage'),
    target,
    INTRUDER_CONTAINER,
    INTRUDER_CONTAINER,
    `NEG-02 intruder ${randomUUID()}`,
  );
  const serverLogs = await target.logs();
  await evidence('intruder-client.log', client.logs);
  await evidence('server-container.log', serverLogs);
  // The intruder got an identity (it is registered) and was refused for it, not for lacking one.
  expect(
    fetchedSpiffeIds(client.logs),
    `expected the intruder to get its own SVID (${intruderId}), so that a refusal is for its identity`,
  ).toContain(intruderId);
  expect(serverLogs, `expected the server to log "REJECTED CLIENT" for ${intruderId}`).toMatch(
    new RegExp(`REJECTED CLIENT.*${intruderId.replaceAll('.', '\\.')}`),
  );
  expect(client.logs, 'expected the intruder to get no reply from the server; it was answered').not.toContain(
    'Secure Hello from SPIRE Server!',
  );
  expect(client.exitCode, 'expected the intruder client to exit non-zero (refused)').not.toBe(0);
});
