// mTLS connections per second, and the latency of one connection, of the workload's server against `openssl
// s_server` serving the SAME SVID files (the ones the workload wrote), under the same load generator
// (handshake-load.ts): several connections in flight, each a full TLS 1.3 handshake with the client SVID, one line
// each way, then closed. Each server is pinned to CPU 0 and the generator to the other CPUs, so neither side takes
// the other's core; the CPU time each server used is read from /proc, so a reader sees which side was the limit.
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type DaemonHandle, startDaemon } from '../../fixtures/processes.ts';
import { waitFor } from '../../lib/wait.ts';
import { type BenchSpire, log, startWorkloadServer, stopDaemon } from './environment.ts';
import type { LoadResult } from './handshake-load.ts';
import { type BenchRow, row } from './results.ts';
import { quantile, summarize } from './stats.ts';

const LOAD = fileURLToPath(new URL('./handshake-load.ts', import.meta.url));

export interface HandshakeOptions {
  runs: number;
  /** Connections in flight in all, spread over the generator's processes. */
  inFlight: number;
  /** Generator processes. */
  processes: number;
  secondsPerRun: number;
}

interface ServerUnderTest {
  label: string;
  port: number;
  pid: number;
}

/** One run against one server. */
export interface LoadRun {
  server: string;
  connectionsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  completed: number;
  failed: number;
  firstError: string | undefined;
  /** Server CPU time per completed connection, ms. */
  serverCpuMsPerConnection: number;
  /** Server CPU time over the run's wall time, % of one CPU. */
  serverCpuPercent: number;
  /** The generator processes' CPU time over the run's wall time, % of one CPU. */
  generatorCpuPercent: number;
  negotiated: string;
}

export interface HandshakeDetails {
  pinning: { server: string; generator: string };
  opensslArgs: string[];
  runs: LoadRun[];
}

export async function benchHandshakes(
  spire: BenchSpire,
  options: HandshakeOptions,
): Promise<{ rows: BenchRow[]; details: HandshakeDetails }> {
  const cpuCount = cpus().length;
  const pinning = { server: '0', generator: cpuCount > 2 ? `1-${cpuCount - 1}` : cpuCount === 2 ? '1' : '0' };
  const workload = await startWorkloadServer(spire, 'workload-handshakes');
  let openssl: DaemonHandle | undefined;
  const opensslPath = (await execa('sh', ['-c', 'command -v openssl'])).stdout.trim();
  try {
    const files = {
      cert: join(workload.outDir, 'svid.0.pem'),
      key: join(workload.outDir, 'svid.0.key'),
      bundle: join(workload.outDir, 'bundle.0.pem'),
    };
    const opensslPort = await freePort();
    // -rev: answers each line reversed, one request/response per connection like the workload; -Verify: a client
    // certificate is required, verified against the bundle, and -verify_return_error ends the handshake otherwise.
    // -rev implies -brief, which prints about 1 KB per connection in tiny unbuffered writes: sent to /dev/null, so
    // the reference is not slowed by output the workload does not make.
    const opensslArgs = [
      's_server',
      '-accept',
      `127.0.0.1:${opensslPort}`,
      '-cert',
      files.cert,
      '-key',
      files.key,
      '-CAfile',
      files.bundle,
      '-Verify',
      '4',
      '-verify_return_error',
      '-tls1_3',
      '-rev',
      '-quiet',
    ];
    openssl = startDaemon({
      name: 'openssl s_server',
      executable: opensslPath,
      args: opensslArgs,
      logFile: '/dev/null',
      ledger: spire.ledger,
    });
    await waitForPort(opensslPort);
    const servers: ServerUnderTest[] = [
      { label: 'workload server', port: workload.port, pid: workload.daemon.pid },
      { label: 'openssl s_server', port: opensslPort, pid: openssl.pid },
    ];
    for (const server of servers) await execa('taskset', ['-a', '-p', '-c', pinning.server, String(server.pid)]);

    const clockTicks = Number((await execa('getconf', ['CLK_TCK'])).stdout.trim());
    const measure = async (server: ServerUnderTest, seconds: number): Promise<LoadRun> => {
      const perProcess = Math.ceil(options.inFlight / options.processes);
      const cpuBefore = processCpuMs(server.pid, clockTicks);
      const outputs = await Promise.all(
        Array.from({ length: options.processes }, () =>
          execa('taskset', [
            '-c',
            pinning.generator,
            process.execPath,
            LOAD,
            String(server.port),
            String(perProcess),
            String(seconds * 1000),
            files.cert,
            files.key,
            files.bundle,
          ]),
        ),
      );
      const serverCpuMs = processCpuMs(server.pid, clockTicks) - cpuBefore;
      const results = outputs.map((output) => JSON.parse(output.stdout) as LoadResult);
      const latencies = results.flatMap((result) => result.latenciesMs).sort((a, b) => a - b);
      const completed = results.reduce((sum, result) => sum + result.completed, 0);
      const failed = results.reduce((sum, result) => sum + result.failed, 0);
      const elapsedMs = Math.max(...results.map((result) => result.elapsedMs));
      if (completed === 0)
        throw new Error(
          `no connection to the ${server.label} completed in ${seconds} s (${failed} failed; first: ${results.find((r) => r.firstError)?.firstError})`,
        );
      return {
        server: server.label,
        connectionsPerSecond: completed / (elapsedMs / 1000),
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        completed,
        failed,
        firstError: results.find((result) => result.firstError)?.firstError,
        serverCpuMsPerConnection: serverCpuMs / completed,
        serverCpuPercent: (100 * serverCpuMs) / elapsedMs,
        generatorCpuPercent: (100 * results.reduce((sum, result) => sum + result.cpuMs, 0)) / elapsedMs,
        negotiated: results[0]?.negotiated ?? '',
      };
    };

    for (const server of servers) await measure(server, 1); // warm-up, not counted
    const runs: LoadRun[] = [];
    for (let i = 0; i < options.runs; i++) {
      // Alternating order: a drift of the host (another process, CPU frequency) falls on both sides alike.
      for (const server of i % 2 === 0 ? servers : [...servers].reverse()) {
        const run = await measure(server, options.secondsPerRun);
        log(
          `${run.server}: ${run.connectionsPerSecond.toFixed(0)} conn/s, p50 ${run.p50Ms.toFixed(2)} ms, ` +
            `p99 ${run.p99Ms.toFixed(2)} ms, server CPU ${run.serverCpuPercent.toFixed(0)} %, ` +
            `generator CPU ${run.generatorCpuPercent.toFixed(0)} %, ${run.failed} failed`,
        );
        runs.push(run);
      }
    }
    return { rows: handshakeRows(runs, options), details: { pinning, opensslArgs, runs } };
  } finally {
    if (openssl) await stopDaemon(spire.ledger, openssl, opensslPath);
    await stopDaemon(spire.ledger, workload.daemon, process.execPath);
  }
}

function handshakeRows(runs: LoadRun[], options: HandshakeOptions): BenchRow[] {
  const figure = (label: string, value: (run: LoadRun) => number) => ({
    label,
    summary: summarize(runs.filter((run) => run.server === label).map(value)),
  });
  const both = (value: (run: LoadRun) => number) =>
    [figure('workload server', value), figure('openssl s_server', value)] as const;
  const load = `${options.inFlight} in flight`;
  return [
    row(
      'handshakes',
      `mTLS connections per second, ${load}`,
      'conn/s',
      ...both((run) => run.connectionsPerSecond),
      (ratio) => ({
        text: '≥ 0.80 × openssl s_server',
        met: (ratio ?? 0) >= 0.8,
      }),
    ),
    row(
      'handshakes',
      `p50 latency of one connection (handshake + request/response), ${load}`,
      'ms',
      ...both((run) => run.p50Ms),
    ),
    row('handshakes', `p99 latency of one connection, ${load}`, 'ms', ...both((run) => run.p99Ms)),
    row('handshakes', 'server CPU time per connection', 'ms', ...both((run) => run.serverCpuMsPerConnection)),
    row('handshakes', 'server CPU use during the run (100 = one CPU)', '%', ...both((run) => run.serverCpuPercent)),
    row('handshakes', 'load generator CPU use (100 = one CPU)', '%', ...both((run) => run.generatorCpuPercent)),
  ];
}

/** User + system CPU time of a process (all its threads), ms. */
function processCpuMs(pid: number, clockTicks: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function waitForPort(port: number): Promise<void> {
  return waitFor(
    `openssl s_server to listen on 127.0.0.1:${port}`,
    () =>
      new Promise((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          resolve({ done: true, value: undefined });
        });
        socket.once('error', (error) => resolve({ done: false, status: error.message }));
      }),
    { timeoutMs: 10_000, intervalMs: 100 },
  );
}
