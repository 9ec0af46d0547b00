// Phase 20: SPIRE server and agent on the host (the seed's Step 1 and its pre-deployment verification). A running
// SPIRE is used as it is; otherwise the suite starts one and stops it at teardown.
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { attestationMode } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import {
  agentHealthy,
  ensureSpireAgent,
  ensureSpireServer,
  isSocket,
  listAgents,
  serverHealthy,
} from '../fixtures/spire.ts';

const KUBELET_READ_ONLY_PORT = 10255;

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
    `${lines || '(no spire-server process visible)'}\nstarted by this run: ${server.startedByRun}`,
  );
  if (server.configFile) await evidence('server.conf', readFileSync(server.configFile, 'utf8'));
  expect(lines, 'no spire-server process is running').toMatch(/spire-server/);
});

control('SPIRE-02', async ({ run, evidence, need }) => {
  const health = await serverHealthy(need('spireBinaries'), run.config.spire.serverSocket);
  await evidence('spire-server-healthcheck.txt', health.output);
  expect(health.output).toContain('Server is healthy.');
});

control('SPIRE-03', async ({ run, evidence, log, need, provide }) => {
  const spire = need('spireBinaries');
  // On a containerd node the workloads are attested through the kubelet (the local provider opens its read-only port).
  const cluster = run.shared.cluster;
  const kubelet =
    cluster && attestationMode(run) === 'k8s'
      ? { nodeName: cluster.nodeName(), readOnlyPort: KUBELET_READ_ONLY_PORT }
      : undefined;
  const agent = await ensureSpireAgent({ config: run.config, binaries: spire, ledger: run.ledger, log, kubelet });
  provide('spireAgent', agent.component);
  provide('agentId', agent.agentId);
  const lines = await processLines('spire-agent');
  const listing = await execa('ls', ['-la', run.config.spire.agentSocket], { reject: false, all: true });
  await evidence(
    'agent-process-and-socket.txt',
    `${lines}\n\n$ ls -la ${run.config.spire.agentSocket}\n${listing.all}`,
  );
  expect(lines, 'no spire-agent process is running').toMatch(/spire-agent/);
  expect(isSocket(run.config.spire.agentSocket), `${run.config.spire.agentSocket} is not a socket`).toBe(true);
});

control('SPIRE-04', async ({ run, evidence, need }) => {
  const health = await agentHealthy(need('spireBinaries'), run.config.spire.agentSocket);
  await evidence('spire-agent-healthcheck.txt', health.output);
  expect(health.output).toContain('Agent is healthy.');
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

control('SPIRE-06', async ({ run, evidence, need }) => {
  const agents = await listAgents(need('spireBinaries'), run.config.spire.serverSocket);
  await evidence('spire-server-agent-list.txt', agents.join('\n') || '(no agents)');
  expect(agents).toContain(need('agentId'));
});
