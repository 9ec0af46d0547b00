// What the bench's identity parts run against: SPIRE started from the provisioned binaries in a scratch directory
// (sockets and server port of its own, so a SPIRE at the default paths is never disturbed), one registration entry
// for this uid, and the workload's server started as its own process. Everything goes into a scratch ledger that
// stopAll() empties at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provisionSpire } from '../../fixtures/artifacts/index.ts';
import { EntryApi } from '../../fixtures/entry-api.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { isProcessAlive, stopProcess } from '../../fixtures/pids.ts';
import { type DaemonHandle, startDaemon, tailFile } from '../../fixtures/processes.ts';
import { ensureEntry } from '../../fixtures/registration.ts';
import { ensureSpireAgent, ensureSpireServer, type SpireBinaries } from '../../fixtures/spire.ts';
import type { SuiteConfig } from '../../lib/config.ts';
import { WaitAborted, waitFor } from '../../lib/wait.ts';
import { X509Source, type X509Svid } from '../../workload/src/workload-api.ts';

export const quiet = { info: () => {}, error: () => {} };
export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const WORKLOAD_MAIN = fileURLToPath(new URL('../../workload/src/main.ts', import.meta.url));

export interface BenchSpire {
  config: SuiteConfig;
  binaries: SpireBinaries;
  ledger: Ledger;
  scratch: string;
  /** The agent's Workload API, `unix:///…`. */
  endpoint: string;
  /** The SPIFFE ID the bench's entry gives every process of this uid. */
  spiffeId: string;
  /** (Re)registers this uid as `spiffeId` with that X.509-SVID TTL (0: the server's default), and waits for it. */
  register(x509SvidTtl: number): Promise<X509Svid>;
}

/** Starts SPIRE in a scratch directory, runs `body` with it, then stops everything it started. */
export async function withBenchSpire<T>(config: SuiteConfig, body: (spire: BenchSpire) => Promise<T>): Promise<T> {
  const scratch = mkdtempSync(join(tmpdir(), 'spire-bench-'));
  const benchConfig: SuiteConfig = {
    ...config,
    spire: {
      ...config.spire,
      mode: 'auto',
      serverSocket: join(scratch, 'server', 'api.sock'),
      agentSocket: join(scratch, 'agent', 'api.sock'),
      serverPort: 18081,
      workDir: join(scratch, 'work'),
    },
  };
  const ledger = new Ledger(join(scratch, 'started.json'));
  try {
    const provisioned = await provisionSpire(config, log);
    const binaries = { server: provisioned.paths.server as string, agent: provisioned.paths.agent as string };
    const context = { config: benchConfig, binaries, ledger, log };
    await ensureSpireServer(context);
    const { agentId } = await ensureSpireAgent(context);
    const endpoint = `unix://${benchConfig.spire.agentSocket}`;
    const spiffeId = `spiffe://${config.trustDomain}/bench`;
    const register = async (x509SvidTtl: number) => {
      const api = new EntryApi(benchConfig.spire.serverSocket);
      try {
        const uid = process.getuid?.() ?? 0;
        const selectors = [{ type: 'unix', value: `uid:${uid}` }];
        await ensureEntry(api, { spiffeId, parentId: agentId, selectors, x509SvidTtl }, ledger);
      } finally {
        api.close();
      }
      log(
        `waiting for the agent to serve ${spiffeId}${x509SvidTtl ? ` with an X.509-SVID TTL of ${x509SvidTtl} s` : ''}`,
      );
      return waitForSvid(endpoint, (svid) => x509SvidTtl === 0 || lifetimeSeconds(svid) <= x509SvidTtl + 15);
    };
    return await body({ config: benchConfig, binaries, ledger, scratch, endpoint, spiffeId, register });
  } finally {
    await ledger.stopAll(log);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Seconds from the leaf's notBefore to its notAfter (SPIRE backdates notBefore by 10 s). */
export function lifetimeSeconds(svid: X509Svid): number {
  const leaf = svid.chain[0];
  return leaf ? (leaf.validToDate.getTime() - leaf.validFromDate.getTime()) / 1000 : 0;
}

/** Waits until a fresh Workload API stream serves an SVID that `accept` takes (a new entry takes an agent sync). */
async function waitForSvid(endpoint: string, accept: (svid: X509Svid) => boolean): Promise<X509Svid> {
  const source = new X509Source({ endpoint, log: quiet, backoff: { initialMs: 200, maxMs: 1000 } });
  try {
    return await waitFor(
      'the bench entry to reach the agent',
      async () => {
        const svid = source.current;
        if (svid && accept(svid)) return { done: true, value: svid };
        return { done: false, status: svid ? `serving an SVID of ${lifetimeSeconds(svid)} s` : 'no SVID yet' };
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    source.close();
  }
}

export interface WorkloadServer {
  daemon: DaemonHandle;
  port: number;
  /** Where it writes svid.0.pem, svid.0.key, bundle.0.pem. */
  outDir: string;
}

/**
 * Starts the workload's `server` mode (node workload/src/main.ts server) on 127.0.0.1, an ephemeral port, without
 * its self-test, writing its SVID files under the scratch directory; resolves once it listens.
 */
export async function startWorkloadServer(spire: BenchSpire, name: string): Promise<WorkloadServer> {
  const outDir = join(spire.scratch, name, 'svid');
  const daemon = startDaemon({
    name,
    executable: process.execPath,
    args: [
      WORKLOAD_MAIN,
      'server',
      '--socket',
      spire.endpoint,
      '--out-dir',
      outDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--no-self-test',
    ],
    logFile: join(spire.scratch, name, 'server.log'),
    ledger: spire.ledger,
  });
  const port = await waitFor(
    `the workload server (${name}) to listen`,
    async () => {
      if (!isProcessAlive(daemon.pid))
        throw new WaitAborted(`the workload server exited; its log:\n${tailFile(daemon.logFile, 20)}`);
      const listening = /Secure mTLS Server listening on [^\s]+:(\d+)/.exec(tailFile(daemon.logFile, 50));
      return listening ? { done: true, value: Number(listening[1]) } : { done: false, status: 'not listening yet' };
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  return { daemon, port, outDir };
}

/** Stops a process the bench started (only while it still runs that executable) and takes it out of the ledger. */
export async function stopDaemon(ledger: Ledger, daemon: DaemonHandle, executable: string): Promise<void> {
  log(`${daemon.name}: ${await stopProcess(daemon.pid, executable)}`);
  ledger.forget('process', String(daemon.pid));
}
