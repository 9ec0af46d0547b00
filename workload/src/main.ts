// Command line of the SPIFFE mTLS demo workload. Runs directly with Node's type stripping:
//   node src/main.ts server|client|fetch [flags]      (see USAGE)
// Exit codes: 0 success (and after SIGTERM/SIGINT), 1 failure, 2 bad command line.
import { parseArgs } from 'node:util';
import { type RunningServer, runClient, runFetch, runServer } from './app.ts';
import { consoleLogger, messageOf } from './log.ts';
import { parseSpiffeId, validateTrustDomain } from './spiffe-id.ts';
import { DEFAULT_OUT_DIR } from './svid-files.ts';
import { resolveEndpoint, toGrpcTarget, WorkloadApiError } from './workload-api.ts';

const USAGE = `Usage: node src/main.ts <server|client|fetch> [flags]

  server   fetch the SVID, write it to --out-dir, serve mTLS on --host:--port, follow rotations
  client   fetch the SVID, connect to --connect, verify the server's SPIFFE ID, print its reply
  fetch    fetch the SVID once, write it to --out-dir, print a summary

Flags:
  --socket <addr>             Workload API (default: $SPIFFE_ENDPOINT_SOCKET, else unix:///tmp/spire-agent/public/api.sock)
  --out-dir <dir>             where svid.0.pem, svid.0.key, bundle.0.pem go (default ${DEFAULT_OUT_DIR})
  --fetch-timeout <seconds>   give up when no SVID came by then; 0 = wait for ever (default 60)
  --host <ip>                 server: listen address (default 0.0.0.0)
  --port <n>                  server: listen port (default 9999)
  --allow-id <spiffe-id>      server: allow this client ID (repeatable)
  --allow-trust-domain <td>   server: allow every ID of this trust domain
                              (without either: any ID of the server's own trust domain)
  --health-port <n>           server: HTTP /live and /ready on this port
  --no-self-test              server: skip the one client connection to itself after listening
  --connect <host:port>       client: server to call (default 127.0.0.1:9999)
  --server-id <spiffe-id>     client: the server's expected SPIFFE ID (default: the client's own)
  --message <text>            client: what to send (default "Hello from the mTLS client")
  --every <seconds>           client: repeat every N seconds until SIGTERM, with the newest SVID (default: once)`;

class UsageError extends Error {}

type Mode = 'server' | 'client' | 'fetch';
const isMode = (text: string): text is Mode => text === 'server' || text === 'client' || text === 'fetch';

const log = consoleLogger;

function parseCommandLine(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      socket: { type: 'string' },
      'out-dir': { type: 'string', default: DEFAULT_OUT_DIR },
      'fetch-timeout': { type: 'string', default: '60' },
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '9999' },
      'allow-id': { type: 'string', multiple: true, default: [] },
      'allow-trust-domain': { type: 'string' },
      'health-port': { type: 'string' },
      'no-self-test': { type: 'boolean', default: false },
      connect: { type: 'string', default: '127.0.0.1:9999' },
      'server-id': { type: 'string' },
      message: { type: 'string', default: 'Hello from the mTLS client' },
      every: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals.length > 1) throw new UsageError(`one mode expected, got: ${positionals.join(' ')}`);
  const mode = positionals[0] ?? 'server';
  if (!isMode(mode)) throw new UsageError(`unknown mode "${mode}"`);
  const {
    'allow-id': allowIds,
    'allow-trust-domain': allowTrustDomain,
    'server-id': serverId,
    'health-port': healthPort,
  } = values;
  const endpoint = resolveEndpoint(values.socket);
  const fetchTimeout = checked('--fetch-timeout', () => parseSeconds(values['fetch-timeout']));
  checked('--socket', () => toGrpcTarget(endpoint));
  for (const id of allowIds) checked('--allow-id', () => parseSpiffeId(id));
  if (allowTrustDomain) checked('--allow-trust-domain', () => validateTrustDomain(allowTrustDomain));
  if (serverId) checked('--server-id', () => parseSpiffeId(serverId));
  return {
    mode,
    help: values.help,
    endpoint,
    fetchTimeoutMs: fetchTimeout * 1000,
    outDir: values['out-dir'],
    host: values.host,
    port: checked('--port', () => parsePort(values.port)),
    policy: { allowIds, allowTrustDomain },
    healthPort: healthPort === undefined ? undefined : checked('--health-port', () => parsePort(healthPort)),
    selfTest: !values['no-self-test'],
    connect: checked('--connect', () => parseHostPort(values.connect)),
    serverId,
    message: values.message,
    everyMs: checked('--every', () => parseSeconds(values.every)) * 1000,
  };
}

/** Runs a parser of one flag, turning its error into a UsageError that names the flag. */
function checked<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${flag}: ${messageOf(error)}`);
  }
}

function parseSeconds(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new Error(`"${text}" is not a number of seconds`);
  return Number(text);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new Error(`"${text}" is not a port number`);
  return port;
}

/** `host:port` or `[ipv6]:port`. */
function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!match) throw new Error(`"${text}" is not host:port`);
  return { host: match[1] ?? match[2] ?? '', port: parsePort(match[3] ?? '') };
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseCommandLine>;
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    log.error(`❌ ${messageOf(error)}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    log.info(USAGE);
    return 0;
  }

  // SIGTERM (kubectl delete, rollout) and SIGINT (Ctrl-C): stop waiting, close the listener and the stream, exit 0.
  const stop = new AbortController();
  let server: RunningServer | undefined;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info(`${signal} received: closing the listener and the Workload API stream`);
      stop.abort();
      void (server?.close() ?? Promise.resolve()).then(() => resolve(0));
    };
    process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
  });
  const common = { endpoint: options.endpoint, fetchTimeoutMs: options.fetchTimeoutMs, log, signal: stop.signal };

  try {
    switch (options.mode) {
      case 'fetch':
        await runFetch({ ...common, outDir: options.outDir });
        return 0;
      case 'client':
        await runClient({
          ...common,
          ...options.connect,
          serverId: options.serverId,
          message: options.message,
          everyMs: options.everyMs,
        });
        // With --every, the loop ends on a signal: exit as the signal handler decided.
        return stop.signal.aborted ? await stopped : 0;
      case 'server': {
        const { outDir, host, port, policy, selfTest, healthPort } = options;
        server = await runServer({ ...common, outDir, host, port, policy, selfTest, healthPort });
        // The server runs until a signal, or until the Workload API refuses us for good.
        const running = server;
        const failed = new Promise<number>((resolve) =>
          running.source.once('fatal', () => {
            log.error('❌ The Workload API stream stopped for good — exiting so that the pod restarts');
            void running.close().then(() => resolve(1));
          }),
        );
        return await Promise.race([stopped, failed]);
      }
    }
  } catch (error) {
    if (stop.signal.aborted) return stopped;
    const what =
      error instanceof WorkloadApiError
        ? '❌ Could not get an SVID'
        : options.mode === 'client'
          ? '[Client] ❌ mTLS request failed'
          : `❌ ${options.mode} failed`;
    log.error(`${what}: ${messageOf(error)} — exiting with 1`);
    return 1;
  }
}

process.exitCode = await main();
// Timers or sockets left by a failed attempt must not keep the process alive once main() has decided.
process.exit();
