// Phase 20: SPIRE server and agent on the host (the seed's Step 1 and its pre-deployment verification). A running
// SPIRE is used as it is; otherwise the suite starts one and stops it at teardown.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { describeOutcome, isCertificateVerifyError, tlsGet } from '../fixtures/cluster/component-probes.ts';
import { foreignCaPem } from '../fixtures/cluster/pki.ts';
import { attestationMode } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { socketServer } from '../fixtures/socket-owner.ts';
import {
  agentHealthy,
  agentServingSocket,
  agentStoredSvid,
  ensureSpireAgent,
  ensureSpireServer,
  isSocket,
  kubeletPluginData,
  listAgents,
  printableCommand,
  runningVersion,
  type SpireComponent,
  serverHealthy,
} from '../fixtures/spire.ts';
import { agentInfo } from '../fixtures/spire-agent-debug.ts';
import { observeAgent, observeServer } from '../fixtures/spire-observation.ts';
import { agentAttestationProblems } from '../lib/agent-attestation.ts';
import { k8sAttestorSettings, kubeletVerificationProblems } from '../lib/kubelet-attestor.ts';
import { agentDifferences, serverDifferences, spireExpectation } from '../lib/spire-drift.ts';
import { isPinnedSpireVersion, PINNED_SPIRE_VERSION } from '../lib/spire-version.ts';
import { waitFor } from '../lib/wait.ts';

/**
 * The version of the process serving `socket`, asked of its own executable (/proc/<pid>/exe), so a reused server or
 * agent of another release fails however it was started.
 */
async function expectPinnedVersionServing(
  what: string,
  socket: string,
  evidence: (name: string, content: string) => Promise<void>,
): Promise<void> {
  const serving = socketServer(socket);
  const version = await runningVersion(serving);
  await evidence(
    `${what}-running-version.txt`,
    `pid ${serving.pid} serves ${socket}\nexecutable ${serving.exe}\ncommand ${printableCommand(serving.argv)}\n` +
      `$ /proc/${serving.pid}/exe --version\n${version}`,
  );
  expect(
    isPinnedSpireVersion(version),
    `the ${what} serving ${socket} (pid ${serving.pid}, ${serving.exe}) should be SPIRE ${PINNED_SPIRE_VERSION}; ` +
      `its executable reports "${version}"`,
  ).toBe(true);
}

/** For evidence: a kept daemon this run restarted because its configuration differed, and what differed. */
function restartNote(component: SpireComponent): string {
  const restarted = component.restarted;
  if (!restarted) return '';
  return (
    `\nrestarted by this run with its configuration (${restarted.freshData ? 'fresh data' : 'data kept'}): a KEEP ` +
    `run left it with another one:\n${restarted.differences.map((sentence) => `- ${sentence}`).join('\n')}`
  );
}

/** `pgrep -a`-style evidence: the process lines of an executable. */
async function processLines(name: string): Promise<string> {
  const result = await execa('pgrep', ['-a', name], { reject: false });
  return result.stdout.trim();
}

control('SPIRE-01', async ({ run, evidence, log, need, provide }) => {
  const spire = need('spireBinaries');
  const server = await ensureSpireServer({ config: run.config, binaries: spire, ledger: run.ledger, log });
  provide('spireServer', server);
  const lines = await processLines('spire-server');
  await evidence(
    'pgrep-spire-server.txt',
    `${lines || '(no spire-server process visible)'}\nstarted by the suite: ${server.startedByRun}${server.adopted ? ' (adopted: a KEEP run left it)' : ''}` +
      restartNote(server),
  );
  if (server.configFile) await evidence('server.conf', readFileSync(server.configFile, 'utf8'));
  expect(lines, 'no spire-server process is running').toMatch(/spire-server/);
  await expectPinnedVersionServing('spire-server', run.config.spire.serverSocket, evidence);
});

control('SPIRE-02', async ({ run, evidence, need }) => {
  const health = await serverHealthy(need('spireBinaries'), run.config.spire.serverSocket);
  await evidence('spire-server-healthcheck.txt', health.output);
  expect(
    health.output,
    `expected "Server is healthy." from spire-server healthcheck; it printed: ${health.output.trim()}`,
  ).toContain('Server is healthy.');
});

control('SPIRE-03', async ({ run, evidence, log, need, provide }) => {
  const spire = need('spireBinaries');
  // On a containerd node the workloads are attested through the kubelet: its secure port, as the provider allows.
  const cluster = run.shared.cluster;
  const kubelet = cluster && attestationMode(run) === 'k8s' ? cluster.kubeletAccess() : undefined;
  if (kubelet) {
    const verification = kubelet.caPath
      ? `verifies the kubelet's serving certificate with ${kubelet.caPath}`
      : "WARN: does NOT verify the kubelet's serving certificate (skip_kubelet_verification = true: the provider " +
        'knows no CA that signs it)';
    log(`k8s workload attestor: kubelet ${kubelet.nodeName}:${kubelet.securePort}, ${verification}`);
    await evidence(
      'kubelet-access.txt',
      `provider ${cluster?.name}: the agent the suite starts asks the kubelet with
` +
        `${kubeletPluginData(kubelet).join('\n')}
${verification}`,
    );
  }
  const agent = await ensureSpireAgent({ config: run.config, binaries: spire, ledger: run.ledger, log, kubelet });
  provide('spireAgent', agent.component);
  provide('agentId', agent.agentId);
  const lines = await processLines('spire-agent');
  const listing = await execa('ls', ['-la', run.config.spire.agentSocket], { reject: false, all: true });
  await evidence(
    'agent-process-and-socket.txt',
    `${lines}\n\n$ ls -la ${run.config.spire.agentSocket}\n${listing.all}${restartNote(agent.component)}`,
  );
  expect(lines, 'no spire-agent process is running').toMatch(/spire-agent/);
  expect(isSocket(run.config.spire.agentSocket), `${run.config.spire.agentSocket} is not a socket`).toBe(true);
  await expectPinnedVersionServing('spire-agent', run.config.spire.agentSocket, evidence);
});

control('SPIRE-04', async ({ run, evidence, need }) => {
  const health = await agentHealthy(need('spireBinaries'), run.config.spire.agentSocket);
  await evidence('spire-agent-healthcheck.txt', health.output);
  expect(
    health.output,
    `expected "Agent is healthy." from spire-agent healthcheck; it printed: ${health.output.trim()}`,
  ).toContain('Agent is healthy.');
});

control('SPIRE-05', async ({ run, evidence }) => {
  const socket = run.config.spire.agentSocket;
  const socketMode = statSync(socket).mode & 0o777;
  const dirModes = [dirname(socket), dirname(dirname(socket))].map((dir) => ({
    dir,
    mode: statSync(dir).mode & 0o777,
  }));
  await evidence(
    'socket-permissions.txt',
    [`${socket} ${socketMode.toString(8)}`, ...dirModes.map((d) => `${d.dir} ${d.mode.toString(8)}`)].join('\n'),
  );
  // Any local user (the workload runs as non-root) must be able to connect: rw for others on the socket and
  // search permission on its directories.
  expect(socketMode & 0o006, `socket mode ${socketMode.toString(8)} lacks rw for others`).toBe(0o006);
  for (const { dir, mode } of dirModes)
    expect(mode & 0o001, `${dir} (${mode.toString(8)}) is not searchable by others`).toBe(0o001);
});

control('SPIRE-06', async ({ run, evidence, log, need }) => {
  const parentId = need('agentId');
  // The suite attested the agent it started (this run or a KEEP run) with a join token; another's, any way.
  const expectation = need('spireAgent').startedByRun ? { attestationType: 'join_token' } : {};
  // Who serves the Workload API socket, and what that agent says it is (Debug API on its admin socket) and holds (the
  // SVID in its data directory)...
  const serving = agentServingSocket(run.config.spire.agentSocket);
  const read = async () => {
    const info = await agentInfo(serving.adminSocket);
    const stored = agentStoredSvid(serving);
    // ...and what the server knows of it and of the entries' parent.
    const agents = await listAgents(need('spireBinaries'), run.config.spire.serverSocket);
    const own = info.svidChain[0] && {
      ...info.svidChain[0],
      ...('serialHex' in stored ? { serialHex: stored.serialHex } : {}),
    };
    const problems = agentAttestationProblems(own, parentId, agents, Math.floor(Date.now() / 1000), expectation);
    if ('unreadable' in stored) problems.push(`the agent's stored SVID cannot be compared: ${stored.unreadable}`);
    else if (own && stored.expiresAt !== own.expiresAt)
      problems.push(
        `the SVID in ${stored.file} expires at ${new Date(stored.expiresAt * 1000).toISOString()}, the one the ` +
          `agent reports at ${new Date(own.expiresAt * 1000).toISOString()}`,
      );
    return { info, stored, agents, problems };
  };
  // An agent renews its SVID at half its TTL and the server's record follows once the agent uses the new one (the
  // Debug API answers from a 5 s cache): a few consistent reads apart, bounded, then the last one is judged.
  let seen = await read();
  if (seen.problems.length > 0)
    await waitFor(
      `the agent's SVID and the server's record of ${parentId} to agree`,
      async () => {
        seen = await read();
        return seen.problems.length === 0
          ? { done: true, value: seen }
          : { done: false, status: seen.problems.join('; ') };
      },
      { timeoutMs: 20_000, intervalMs: 2000, onProgress: log },
    ).catch(() => seen);
  const { info, stored, agents, problems } = seen;
  await evidence(
    'serving-agent.json',
    JSON.stringify(
      {
        socket: run.config.spire.agentSocket,
        pid: serving.process.pid,
        executable: serving.process.exe,
        config: serving.configFile,
        adminSocket: serving.adminSocket,
        svidChain: info.svidChain.map((cert) => ({ ...cert, expires: new Date(cert.expiresAt * 1000).toISOString() })),
        storedSvid:
          'serialHex' in stored
            ? { ...stored, serial: BigInt(`0x${stored.serialHex}`).toString() }
            : { file: stored.file, unreadable: stored.unreadable },
        lastSyncSuccess: new Date(info.lastSyncSuccess * 1000).toISOString(),
        entriesParent: parentId,
        expectedAttestationType: expectation.attestationType ?? '(any)',
      },
      null,
      2,
    ),
    'application/json',
  );
  await evidence(
    'spire-server-agent-list.json',
    JSON.stringify(
      agents.map((agent) => ({ ...agent, expires: new Date(agent.x509SvidExpiresAt * 1000).toISOString() })),
      null,
      2,
    ),
    'application/json',
  );
  expect(
    problems,
    `the agent serving ${run.config.spire.agentSocket} (pid ${serving.process.pid}, ${info.svidChain[0]?.id || 'no SVID'}) ` +
      'should be listed by the server as attested, not banned, with the X.509-SVID it presents (expiry, serial), and ' +
      `be the parent of the entries (${parentId})`,
  ).toEqual([]);
});

control('SPIRE-07', async ({ run, evidence }) => {
  // The running agent's own configuration (found through the process serving the socket), not the file the suite
  // meant to write.
  const serving = agentServingSocket(run.config.spire.agentSocket);
  const settings = k8sAttestorSettings(readFileSync(serving.configFile, 'utf8'));
  const problems = kubeletVerificationProblems(settings);
  const header =
    `agent PID ${serving.process.pid}, config ${serving.configFile}\nWorkloadAttestor "k8s" plugin_data: ` +
    JSON.stringify(settings ?? null, null, 2);
  if (problems.length > 0) await evidence('k8s-workload-attestor.txt', header);
  expect(
    problems,
    `expected the running agent's k8s workload attestor to use the kubelet's secure port, verified with its CA, with ` +
      `a client credential; its configuration ${serving.configFile} has: ${problems.join('; ')}`,
  ).toEqual([]);
  const config = settings as Record<string, string>;
  const host = config.node_name || '127.0.0.1';
  const port = Number(config.kubelet_secure_port);
  const client = {
    ...(config.certificate_path && config.private_key_path
      ? { cert: readFileSync(config.certificate_path, 'utf8'), key: readFileSync(config.private_key_path, 'utf8') }
      : { token: readFileSync(config.token_path as string, 'utf8').trim() }),
    servername: host,
  };
  // The same request the attestor makes, with its CA and credential, then with a CA that did not sign the kubelet.
  const verified = await tlsGet(host, port, '/pods', {
    ca: readFileSync(config.kubelet_ca_path as string, 'utf8'),
    ...client,
  });
  const foreign = await tlsGet(host, port, '/pods', { ca: await foreignCaPem(), ...client });
  await evidence(
    'k8s-workload-attestor.txt',
    `${header}\n\nGET https://${host}:${port}/pods verifying with kubelet_ca_path, the agent's credential → ` +
      `${describeOutcome(verified).slice(0, 300)}\nthe same with a foreign CA → ${describeOutcome(foreign)}`,
  );
  expect(
    verified.kind === 'answered' && verified.status === 200 && verified.body.includes('PodList'),
    `expected the kubelet at ${host}:${port} to pass verification with ${config.kubelet_ca_path} and to serve /pods ` +
      `(200, a PodList) to the agent's credential; it gave ${describeOutcome(verified)}`,
  ).toBe(true);
  expect(
    isCertificateVerifyError(foreign),
    `expected a client trusting a foreign CA to reject the kubelet's certificate (a certificate verify error); it gave ` +
      describeOutcome(foreign),
  ).toBe(true);
});

control('SPIRE-08', async ({ run, evidence, need }) => {
  // What the run found (or restarted) is judged on the live processes serving the configured sockets, each value
  // with its source, before any registration is tried: REG-01 and K8SREG-01 require this control.
  const { serverSocket, agentSocket } = run.config.spire;
  const k8sAttestation = run.shared.cluster !== undefined && attestationMode(run) === 'k8s';
  const expected = spireExpectation(run.config, { k8sAttestation });
  const server = await observeServer(need('spireBinaries').server, socketServer(serverSocket), serverSocket);
  const agent = await observeAgent(socketServer(agentSocket));
  const differences = [
    ...serverDifferences(expected, server.observation),
    ...agentDifferences(expected, agent.observation),
  ];
  const origin = (component: SpireComponent) =>
    component.restarted
      ? 'started by the suite; a KEEP run left it with another configuration and this run restarted it'
      : component.adopted
        ? 'started by the suite; a KEEP run left it and this run adopted it'
        : component.startedByRun
          ? 'started by this run'
          : 'not started by the suite (yours: never changed or restarted by it)';
  await evidence(
    'spire-vs-configuration.json',
    JSON.stringify(
      {
        configured: expected,
        server: { origin: origin(need('spireServer')), config: server.configFile, ...server.observation },
        agent: { origin: origin(need('spireAgent')), config: agent.configFile, ...agent.observation },
        differences,
      },
      null,
      2,
    ),
    'application/json',
  );
  const sentences = differences.map((difference) => difference.sentence);
  expect(
    sentences,
    `the SPIRE serving ${serverSocket} and ${agentSocket} should match the configuration; ` +
      `${sentences.length} field(s) differ: ${sentences.join('; ')}`,
  ).toEqual([]);
});
