// A running SPIRE that disagrees with the configuration, against the real spire-server and spire-agent (the
// provisioned 1.13 build, on sockets, a port and a work directory of their own): one the suite started and a KEEP
// run left is restarted with the new configuration — afresh for another trust domain, keeping its data (and the
// agent its SPIFFE ID) for another port — and its log says what differed; one the suite did not start (not in the
// ledger) is never restarted, and the comparison SPIRE-08 makes names the configured and the observed value.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { provisionSpire } from '../../fixtures/artifacts/index.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { socketServer } from '../../fixtures/socket-owner.ts';
import {
  ensureSpireAgent,
  ensureSpireServer,
  listAgents,
  type SpireBinaries,
  type SpireContext,
} from '../../fixtures/spire.ts';
import { observeAgent, observeServer } from '../../fixtures/spire-observation.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { agentDifferences, serverDifferences, spireExpectation } from '../../lib/spire-drift.ts';

const scratch = mkdtempSync(join(tmpdir(), 'kept-spire-drift-'));
/** The host ledger of these runs: what is in it is the suite's own. */
const ledger = new Ledger(join(scratch, 'ledger.json'));
let base: SuiteConfig;
let binaries: SpireBinaries;
const lines: string[] = [];

function context(trustDomain: string, serverPort: number, own = ledger): SpireContext {
  const config: SuiteConfig = {
    ...base,
    trustDomain,
    workloadSpiffeId: `spiffe://${trustDomain}/k8s-workload`,
    spire: {
      ...base.spire,
      mode: 'auto',
      serverSocket: join(scratch, 'server', 'api.sock'),
      agentSocket: join(scratch, 'agent', 'api.sock'),
      serverPort,
      workDir: join(scratch, 'work'),
    },
  };
  return { config, binaries, ledger: own, log: (line) => lines.push(line), dockerDriver: 'cgroupfs' };
}

const serverLog = () => readFileSync(join(scratch, 'work', 'server', 'server.log'), 'utf8');
const agentLog = () => readFileSync(join(scratch, 'work', 'agent', 'agent.log'), 'utf8');

let firstAgentId = '';

beforeAll(async () => {
  base = loadConfig({ env: { ...process.env, SPIRE_VALIDATION_OFFLINE: process.env.SPIRE_VALIDATION_OFFLINE } });
  const spire = await provisionSpire(base, () => {});
  binaries = { server: spire.paths.server as string, agent: spire.paths.agent as string };
  // The KEEP run: the suite's SPIRE for example.org, left running.
  const first = context('example.org', 18093);
  await ensureSpireServer(first);
  firstAgentId = (await ensureSpireAgent(first)).agentId;
}, 300_000);

afterAll(async () => {
  await ledger.stopAll();
});

describe("the suite's own kept SPIRE is restarted with the new configuration", () => {
  let otherAgentId = '';

  test('another trust domain: server and agent restarted with fresh data, both logs say what differed', async () => {
    const next = context('other.example', 18093);
    const server = await ensureSpireServer(next);
    expect(server.restarted?.freshData).toBe(true);
    expect(server.restarted?.differences.join('\n')).toMatch(
      /^trust domain of the SPIRE server \(pid \d+\): configured "other\.example" \(trustDomain\); the running one has "example\.org" \(from spire-server bundle show/,
    );
    expect(serverLog()).toMatch(
      /\[spire-k8s-validation\] the spire-server a KEEP run left .* differs from this run's configuration: trust domain .*"other\.example".*"example\.org".*Restarting it with the new configuration, with fresh data/,
    );
    const serving = socketServer(next.config.spire.serverSocket);
    expect(serving.pid).toBe(server.pid);
    const observed = await observeServer(binaries.server, serving, next.config.spire.serverSocket);
    expect(observed.observation.trustDomain.value).toBe('other.example');

    const agent = await ensureSpireAgent(next);
    expect(agent.component.restarted?.freshData).toBe(true);
    expect(agent.component.restarted?.differences.join('\n')).toMatch(
      /^trust domain of the SPIRE agent .*configured "other\.example".*has "example\.org" \(from the agent's own SVID/,
    );
    expect(agent.agentId).toMatch(/^spiffe:\/\/other\.example\/spire\/agent\/join_token\//);
    expect(agentLog()).toMatch(/\[spire-k8s-validation\] the spire-agent a KEEP run left .*Restarting it/);
    expect(ledger.started.filter((entry) => entry.kind === 'process').map((entry) => entry.name)).toEqual([
      'spire-server',
      'spire-agent',
    ]);
    otherAgentId = agent.agentId;
  }, 180_000);

  test('another port, same trust domain: both restarted keeping their data; the agent keeps its SPIFFE ID', async () => {
    const next = context('other.example', 18094);
    const server = await ensureSpireServer(next);
    expect(server.restarted).toMatchObject({ freshData: false });
    expect(server.restarted?.differences.join('\n')).toMatch(
      /^server address of the SPIRE server .*configured 127\.0\.0\.1:18094 .*listens on 127\.0\.0\.1:18093 \(from \/proc\/net\/tcp/,
    );
    // The datastore was kept: the server still knows the agent.
    const agents = await listAgents(binaries, next.config.spire.serverSocket);
    expect(agents.map((record) => record.id)).toContain(otherAgentId);

    const agent = await ensureSpireAgent(next);
    expect(agent.component.restarted).toMatchObject({ freshData: false });
    expect(agent.component.restarted?.differences.join('\n')).toMatch(
      /server address of the SPIRE agent .*configured 127\.0\.0\.1:18094 .*dials 127\.0\.0\.1:18093 \(from server_address and server_port in .*agent\.conf/,
    );
    expect(agent.agentId).toBe(otherAgentId);
    expect(agentLog()).toMatch(/keeping its data/);
  }, 180_000);

  test('a kept SPIRE that matches is adopted as it is', async () => {
    const next = context('other.example', 18094);
    const before = socketServer(next.config.spire.serverSocket).pid;
    const server = await ensureSpireServer(next);
    expect(server).toMatchObject({ adopted: true, pid: before });
    expect(server.restarted).toBeUndefined();
    const agent = await ensureSpireAgent(next);
    expect(agent.component.adopted).toBe(true);
    expect(agent.agentId).toBe(otherAgentId);
    expect(firstAgentId).not.toBe(otherAgentId);
  }, 60_000);
});

describe('a SPIRE the suite did not start', () => {
  test('is never restarted; the comparison names the configured and the observed value of each field', async () => {
    // The same processes, seen by a run whose ledger does not list them: the user's SPIRE.
    const users = context('user.example', 8081, new Ledger(join(scratch, 'other-ledger.json')));
    const serverPid = socketServer(users.config.spire.serverSocket).pid;
    const agentPid = socketServer(users.config.spire.agentSocket).pid;
    const server = await ensureSpireServer(users);
    const agent = await ensureSpireAgent(users);
    expect(server).toMatchObject({ startedByRun: false, pid: undefined });
    expect(agent.component).toMatchObject({ startedByRun: false });
    expect(socketServer(users.config.spire.serverSocket).pid).toBe(serverPid);
    expect(socketServer(users.config.spire.agentSocket).pid).toBe(agentPid);

    // What SPIRE-08 judges.
    const expected = spireExpectation(users.config, { k8sAttestation: true });
    const serverSeen = await observeServer(
      binaries.server,
      socketServer(users.config.spire.serverSocket),
      users.config.spire.serverSocket,
    );
    const agentSeen = await observeAgent(socketServer(users.config.spire.agentSocket));
    const sentences = [
      ...serverDifferences(expected, serverSeen.observation),
      ...agentDifferences(expected, agentSeen.observation),
    ].map((difference) => difference.sentence);
    expect(sentences).toEqual([
      expect.stringMatching(/^trust domain of the SPIRE server .*configured "user\.example".*has "other\.example"/),
      expect.stringMatching(
        /^server address of the SPIRE server .*configured 127\.0\.0\.1:8081 .*listens on 127\.0\.0\.1:18094/,
      ),
      expect.stringMatching(/^trust domain of the SPIRE agent .*configured "user\.example".*has "other\.example"/),
      expect.stringMatching(
        /^server address of the SPIRE agent .*configured 127\.0\.0\.1:8081 .*dials 127\.0\.0\.1:18094/,
      ),
      expect.stringMatching(
        /^workload attestors of the SPIRE agent .*loads unix, docker, without "k8s" \(from the WorkloadAttestor plugins in /,
      ),
    ]);
  }, 60_000);
});
