// The three things the workload does, as functions the CLI (main.ts) and the tests call:
//   fetch  — get the SVID once, write the files, print a summary;
//   server — get the SVID, write the files, serve mTLS, follow rotations (and test itself once with a client);
//   client — get the SVID, call an mTLS server, check its SPIFFE ID and its reply (once, or every N seconds).
import type http from 'node:http';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { portOf, startHealthServer } from './health.ts';
import { type Logger, messageOf } from './log.ts';
import { authorizer, createMtlsServer, listen, mtlsRequest, type PeerPolicy, updateServerSvid } from './mtls.ts';
import { parseSpiffeId } from './spiffe-id.ts';
import { writeSvidFiles } from './svid-files.ts';
import { type Backoff, X509Source, type X509Svid } from './workload-api.ts';

export interface CommonOptions {
  /** Workload API address, `unix:///abs/path` or `tcp://IP:port`. */
  endpoint: string;
  /** How long to wait for the first SVID; 0 waits for ever. */
  fetchTimeoutMs: number;
  log: Logger;
  backoff?: Backoff;
  /** Aborting stops the wait for the SVID (SIGTERM while the agent is still unreachable). */
  signal?: AbortSignal;
}

export interface ServerOptions extends CommonOptions {
  outDir: string;
  host: string;
  port: number;
  policy: PeerPolicy;
  /** After listening, connect once to ourselves as a client, so the log shows both sides verified. */
  selfTest: boolean;
  healthPort?: number;
}

export interface ClientOptions extends CommonOptions {
  host: string;
  port: number;
  /** The server's expected SPIFFE ID; by default our own (the demo runs both sides under one identity). */
  serverId?: string;
  message: string;
  /**
   * 0: one exchange, then return (a failure throws). Otherwise repeat every this many ms until the signal aborts or
   * the Workload API refuses us for good, each time with the newest SVID; a failed exchange is logged and retried.
   */
  everyMs?: number;
}

export interface RunningServer {
  server: tls.Server;
  port: number;
  source: X509Source;
  health: http.Server | undefined;
  close(): Promise<void>;
}

export async function runFetch(options: CommonOptions & { outDir: string }): Promise<X509Svid> {
  const source = openSource(options);
  try {
    const svid = await firstSvid(source, options);
    await writeFilesAndReport(svid, options.outDir, options.log);
    return svid;
  } finally {
    source.close();
  }
}

export async function runClient(options: ClientOptions): Promise<void> {
  const { log, host, port, message, everyMs = 0, signal } = options;
  const source = openSource(options);
  try {
    const first = await firstSvid(source, options);
    const expectedServerId = options.serverId ?? first.spiffeId;
    const exchange = async () => {
      log.info(`[Client] Connecting to ${host}:${port}, expecting server ${expectedServerId}...`);
      const svid = source.current ?? first; // the newest: our own certificate rotates too
      const { reply, serverSerial } = await mtlsRequest({ host, port, message, log, svid, expectedServerId });
      // Which certificate the server presented: lets an operator (and the suite) watch rotation from the outside.
      log.info(`[Client] Server certificate serial: ${serverSerial}`);
      log.info(`[Client] Server Replied: ${reply}`);
    };
    if (everyMs <= 0) return await exchange();

    let fatal: Error | undefined;
    source.once('fatal', (error) => {
      fatal = error;
    });
    while (!signal?.aborted && !fatal) {
      try {
        await exchange();
      } catch (error) {
        log.error(`[Client] ❌ mTLS request failed: ${messageOf(error)} — trying again in ${everyMs / 1000}s`);
      }
      await sleep(everyMs, signal);
    }
    if (fatal) throw fatal;
  } finally {
    source.close();
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function runServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  let server: tls.Server | undefined;
  let health: http.Server | undefined;
  const connections = new Set<Socket>();
  const source = openSource(options);

  const close = async () => {
    source.close();
    for (const socket of connections) socket.destroy();
    await Promise.all([closeServer(server), closeServer(health)]);
  };

  try {
    if (options.healthPort !== undefined) {
      const ready = () => source.current !== undefined && server?.listening === true;
      health = await startHealthServer(options.host, options.healthPort, ready);
      log.info(`[Health] Probes on ${options.host}:${portOf(health)}: /live, /ready`);
    }
    const svid = await firstSvid(source, options);
    const tlsServer = createMtlsServer(svid, {
      authorize: authorizer(options.policy, parseSpiffeId(svid.spiffeId)),
      log,
    });
    server = tlsServer;
    tlsServer.on('connection', (socket: Socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
    });
    // Updates are applied one at a time in arrival order, so an older SVID never overwrites a newer one on disk.
    let applied = writeFilesAndReport(svid, options.outDir, log);
    let serial = serialOf(svid);
    const rotate = async (next: X509Svid) => {
      try {
        updateServerSvid(tlsServer, next); // first: new handshakes matter more than files
        if (serialOf(next) !== serial) {
          serial = serialOf(next);
          log.info(`[SVID Rotation] New SVID serial ${serial} (not after ${notAfterOf(next)}); TLS context updated`);
        } else {
          log.info(`[SVID Update] Trust bundle has ${next.bundle.length} CA certificate(s); TLS context updated`);
        }
        await writeSvidFiles(next, options.outDir);
      } catch (error) {
        log.error(
          `❌ SVID update not fully applied: ${messageOf(error)} — keeping what works, waiting for the next one`,
        );
      }
    };
    source.on('update', (next) => {
      applied = applied.then(() => rotate(next));
    });
    await applied;

    const port = await listen(tlsServer, options.host, options.port);
    log.info(`[Server] Secure mTLS Server listening on ${options.host}:${port}`);
    if (options.selfTest) await selfTest(source.current ?? svid, port, options);
    return { server: tlsServer, port, source, health, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One client connection to our own listener: proves both directions of verification with the real SVID. */
async function selfTest(svid: X509Svid, port: number, options: ServerOptions): Promise<void> {
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const { log } = options;
  try {
    const { reply } = await mtlsRequest({
      host,
      port,
      svid,
      expectedServerId: svid.spiffeId,
      message: 'Hello from the self-test client',
      log,
    });
    log.info(`[Client] Server Replied: ${reply}`);
  } catch (error) {
    log.error(`[Client] ❌ Self-test failed: ${messageOf(error)} — the server keeps running`);
  }
}

function openSource(options: CommonOptions): X509Source {
  options.log.info(`[SVID Fetch] Calling SPIRE Agent API at ${options.endpoint}...`);
  const source = new X509Source(options);
  options.signal?.addEventListener('abort', () => source.close(), { once: true });
  return source;
}

async function firstSvid(source: X509Source, options: CommonOptions): Promise<X509Svid> {
  const svid = await source.waitForFirstSvid(options.fetchTimeoutMs);
  const { log } = options;
  log.info('✅ Successfully fetched SVIDs!');
  log.info(`SPIFFE ID: ${svid.spiffeId}`);
  log.info(`SVID serial: ${serialOf(svid)}`);
  log.info(`SVID not after: ${notAfterOf(svid)}`);
  log.info(`Chain: ${svid.chain.length} certificate(s); trust bundle: ${svid.bundle.length} CA certificate(s)`);
  return svid;
}

async function writeFilesAndReport(svid: X509Svid, outDir: string, log: Logger): Promise<void> {
  const files = await writeSvidFiles(svid, outDir);
  log.info(`✅ SVID files written: ${files.svid}, ${files.key} (0600), ${files.bundle}`);
}

export function serialOf(svid: X509Svid): string {
  return svid.chain[0]?.serialNumber.toLowerCase() ?? '';
}

function notAfterOf(svid: X509Svid): string {
  return svid.chain[0]?.validToDate.toISOString() ?? '';
}

function closeServer(server: { close(callback: () => void): unknown; listening: boolean } | undefined): Promise<void> {
  return new Promise((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
}
