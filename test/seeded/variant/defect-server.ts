// A deliberately broken workload server for the seeded-defect matrix, run from the test-only variant image
// (test/seeded/variant/Dockerfile, built FROM the product image). The product workload has no defect switches: each
// defect here is assembled from the product's own modules, the way a careless change to the workload would look.
//
//   node defect-server.ts <defect> server [product server flags]
//
//   key-0644        the product server, but its private key is made world-readable (0644) whenever it is written
//   any-client      authorization off: any client certificate that chains to the bundle is accepted, whatever its ID
//   no-client-cert  TLS without client authentication: no client certificate is requested, everyone gets the reply
//   stale-cert      keeps serving its first certificate: rotations are written to the files but never served
//   drop-after-rotation
//                   the product server, but the first connection after each rotation from a client of another
//                   SPIFFE ID (the pod-to-pod client; the in-pod client runs under the server's own) is closed
//                   unanswered: one failed exchange per rotation, every other one served the rotated certificate
import { chmodSync, existsSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { startHealthServer } from '../../../workload/src/health.ts';
import { consoleLogger as log, messageOf } from '../../../workload/src/log.ts';
import {
  authorizer,
  createMtlsServer,
  listen,
  type PeerPolicy,
  REPLY,
  tlsOptions,
  updateServerSvid,
} from '../../../workload/src/mtls.ts';
import { parseSpiffeId } from '../../../workload/src/spiffe-id.ts';
import { DEFAULT_OUT_DIR, writeSvidFiles } from '../../../workload/src/svid-files.ts';
import { resolveEndpoint, X509Source, type X509Svid } from '../../../workload/src/workload-api.ts';

const DEFECTS = ['key-0644', 'any-client', 'no-client-cert', 'stale-cert', 'drop-after-rotation'] as const;
type Defect = (typeof DEFECTS)[number];
const isDefect = (text: string | undefined): text is Defect => DEFECTS.includes(text as Defect);

const KEY_FILE = `${DEFAULT_OUT_DIR}/svid.0.key`;

/** key-0644: the product server as it is, and a loop that loosens the key's mode each time it is (re)written. */
async function productServerWithReadableKey(args: string[]): Promise<void> {
  setInterval(() => {
    if (existsSync(KEY_FILE) && (statSync(KEY_FILE).mode & 0o777) !== 0o644) chmodSync(KEY_FILE, 0o644);
  }, 200);
  process.argv = [process.argv[0] ?? 'node', 'main.ts', ...args];
  await import('../../../workload/src/main.ts');
}

/** A plain TLS server: no client certificate requested, a reply for whoever connects. */
function serverWithoutClientAuth(svid: X509Svid): tls.Server {
  return tls.createServer(tlsOptions(svid), (socket) => {
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    socket.once('data', (chunk: string) => {
      log.info(`[Server] Received: ${JSON.stringify(chunk.split('\n')[0]?.slice(0, 200))}`);
      socket.end(`${REPLY}\n`);
    });
  });
}

/** The product server's steps (fetch, files, listen, follow rotations) with one of them broken. */
async function brokenServer(
  defect: Exclude<Defect, 'key-0644'>,
  port: number,
  healthPort: number,
  policy: PeerPolicy,
): Promise<void> {
  const endpoint = resolveEndpoint(undefined);
  log.info(`[SVID Fetch] Calling SPIRE Agent API at ${endpoint}...`);
  const source = new X509Source({ endpoint, log });
  let server: tls.Server | undefined;
  const health: Server = await startHealthServer('0.0.0.0', healthPort, () => server?.listening === true);
  const svid = await source.waitForFirstSvid(60_000);
  log.info('✅ Successfully fetched SVIDs!');
  log.info(`SPIFFE ID: ${svid.spiffeId}`);
  await writeSvidFiles(svid, DEFAULT_OUT_DIR);
  log.info(`✅ SVID files written: ${DEFAULT_OUT_DIR}/svid.0.pem, ${KEY_FILE} (0600), ${DEFAULT_OUT_DIR}/bundle.0.pem`);
  const tlsServer =
    defect === 'no-client-cert'
      ? serverWithoutClientAuth(svid)
      : createMtlsServer(svid, {
          // any-client: authorization off; stale-cert: the product's authorization.
          authorize: defect === 'any-client' ? () => undefined : authorizer(policy, parseSpiffeId(svid.spiffeId)),
          log,
        });
  server = tlsServer;
  let dropNext = false;
  if (defect === 'drop-after-rotation') {
    // The product's connection handler, behind one that drops the first connection after a rotation.
    const [product] = tlsServer.listeners('secureConnection') as Array<(socket: tls.TLSSocket) => void>;
    tlsServer.removeAllListeners('secureConnection');
    const own = `URI:${svid.spiffeId}`;
    tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
      const peer = socket.getPeerCertificate().subjectaltname ?? '';
      if (!dropNext || peer.split(', ').includes(own)) return product?.(socket);
      dropNext = false;
      log.info('[Defect] closing the first connection after the rotation unanswered');
      socket.destroy();
    });
  }
  source.on('update', (next) => {
    if (defect !== 'stale-cert') updateServerSvid(tlsServer, next);
    if (defect === 'drop-after-rotation') dropNext = true;
    // The product's own wording (workload/src/app.ts), so the controls read the variant's rotations as the product's.
    log.info(
      `[SVID Rotation] New SVID serial ${next.chain[0]?.serialNumber.toLowerCase()} (variant); TLS context updated`,
    );
    writeSvidFiles(next, DEFAULT_OUT_DIR).catch((error: unknown) => log.error(`❌ ${messageOf(error)}`));
  });
  await listen(tlsServer, '0.0.0.0', port);
  log.info(`[Server] Secure mTLS Server listening on 0.0.0.0:${port}`);
  process.once('SIGTERM', () => {
    source.close();
    tlsServer.close();
    health.close();
    process.exit(0);
  });
}

async function main(): Promise<void> {
  const [defect, mode, ...flags] = process.argv.slice(2);
  if (defect === '--check') return; // the image build checks that the product modules resolve
  if (!isDefect(defect) || mode !== 'server')
    throw new Error(`usage: defect-server.ts <${DEFECTS.join('|')}> server …`);
  log.info(`[Defect] seeded defect: ${defect}`);
  if (defect === 'key-0644') return productServerWithReadableKey([mode, ...flags]);
  const { values } = parseArgs({
    args: flags,
    strict: false,
    options: {
      port: { type: 'string', default: '9999' },
      'health-port': { type: 'string', default: '8080' },
      'allow-id': { type: 'string', multiple: true, default: [] },
      'allow-trust-domain': { type: 'string' },
    },
  });
  const allowTrustDomain = values['allow-trust-domain'];
  const allowIds = (values['allow-id'] as unknown[]).filter((id): id is string => typeof id === 'string');
  await brokenServer(defect, Number(values.port), Number(values['health-port']), {
    allowIds,
    allowTrustDomain: typeof allowTrustDomain === 'string' ? allowTrustDomain : undefined,
  });
}

await main();
