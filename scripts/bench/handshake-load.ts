// One process of the bench's mTLS load generator (scripts/bench/handshakes.ts starts several, identical for every
// server measured):
//   node scripts/bench/handshake-load.ts <port> <connections in flight> <milliseconds> <svid.pem> <svid.key> <bundle.pem>
// Keeps that many connections in flight to 127.0.0.1:<port> for that long. Each connection is a full TLS 1.3
// handshake with the client SVID (no session is ever offered for resumption), the server's chain verified against
// the bundle, one line sent, the server's one-line reply read, then closed. Prints one JSON line (LoadResult).
// The SecureContext is built once: the generator's own cost per connection stays what a TLS client must do.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

export interface LoadResult {
  completed: number;
  failed: number;
  /** The first failure's message, when any failed. */
  firstError: string | undefined;
  /** Milliseconds from connect() to the reply's end of line, one per completed connection. */
  latenciesMs: number[];
  elapsedMs: number;
  /** CPU time this process used, user + system, milliseconds. */
  cpuMs: number;
  /** What the last completed connection negotiated, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
  negotiated: string;
}

const [portText, inFlightText, durationText, certFile, keyFile, caFile] = process.argv.slice(2);
if (!certFile || !keyFile || !caFile) {
  console.error('usage: handshake-load.ts <port> <in flight> <ms> <svid.pem> <svid.key> <bundle.pem>');
  process.exit(2);
}
const port = Number(portText);
const inFlight = Number(inFlightText);
const durationMs = Number(durationText);
const secureContext = tls.createSecureContext({
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  ca: readFileSync(caFile),
  minVersion: 'TLSv1.3',
});

const result: LoadResult = {
  completed: 0,
  failed: 0,
  firstError: undefined,
  latenciesMs: [],
  elapsedMs: 0,
  cpuMs: 0,
  negotiated: '',
};

/** One connection: resolves when it is over, whatever the outcome. */
function exchange(): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    let reply = '';
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) {
        result.failed++;
        result.firstError ??= error.message;
      } else {
        result.completed++;
        result.latenciesMs.push(performance.now() - started);
      }
      resolve();
    };
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      secureContext,
      rejectUnauthorized: true,
      // SVIDs carry no DNS name: the chain is verified against the bundle, the hostname check does not apply.
      checkServerIdentity: () => undefined,
    });
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => settle(new Error('no reply within 10 s')));
    socket.once('secureConnect', () => {
      result.negotiated = `${socket.getProtocol()} ${socket.getCipher().standardName}`;
      socket.write('ping\n');
    });
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\n')) settle();
    });
    socket.once('error', (error) => settle(error));
    socket.once('close', () => settle(reply.includes('\n') ? undefined : new Error('closed without a reply line')));
  });
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
const deadline = started + durationMs;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (performance.now() < deadline) await exchange();
  }),
);
result.elapsedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
result.cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(`${JSON.stringify(result)}\n`);
