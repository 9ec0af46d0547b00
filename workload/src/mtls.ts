// Mutual TLS with X.509-SVIDs over node:tls.
//
// TLS itself checks that the peer's chain leads to a CA of our trust bundle (`ca`). SPIFFE adds the rest: the
// peer is identified by the single URI SAN of its certificate, its SPIFFE ID, and that ID is what we authorize.
// Hostnames play no part (SVIDs usually carry no DNS name), so the client replaces Node's hostname check.
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { certificatesToPem } from './der.ts';
import { type Logger, messageOf } from './log.ts';
import { parseSpiffeId, type SpiffeId, uriSansFromSubjectAltName } from './spiffe-id.ts';
import type { X509Svid } from './workload-api.ts';

export const REPLY = 'Secure Hello from SPIRE Server!';
const MAX_MESSAGE_BYTES = 4096;

/** Certificate chain, key and trust bundle of an SVID, as node:tls takes them. */
export function tlsOptions(svid: X509Svid): tls.SecureContextOptions {
  return {
    cert: certificatesToPem(svid.chain),
    key: svid.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    ca: certificatesToPem(svid.bundle),
  };
}

/** The SPIFFE ID of a peer certificate, from its `subjectAltName` text; it must have exactly one URI SAN. */
export function peerSpiffeId(subjectAltName: string | undefined): SpiffeId {
  const uris = uriSansFromSubjectAltName(subjectAltName);
  const [uri] = uris;
  if (uris.length !== 1 || uri === undefined) {
    throw new Error(`certificate must have exactly one URI SAN, it has ${uris.length}`);
  }
  return parseSpiffeId(uri);
}

/** Says why a peer may not connect, or undefined when it may. */
export type Authorizer = (peer: SpiffeId) => string | undefined;

export interface PeerPolicy {
  /** SPIFFE IDs allowed to connect. */
  allowIds?: readonly string[];
  /** A trust domain whose every ID is allowed. */
  allowTrustDomain?: string;
}

/** Allows the listed IDs and trust domain; with neither given, any ID of our own trust domain. */
export function authorizer(policy: PeerPolicy, own: SpiffeId): Authorizer {
  const ids = new Set(policy.allowIds ?? []);
  const trustDomain = policy.allowTrustDomain ?? (ids.size === 0 ? own.trustDomain : undefined);
  return (peer) => {
    if (ids.has(peer.text) || peer.trustDomain === trustDomain) return undefined;
    const allowed = [...ids, ...(trustDomain ? [`any ID in ${trustDomain}`] : [])].join(', ');
    return `${peer.text} is not authorized (allowed: ${allowed})`;
  };
}

export interface MtlsServerOptions {
  authorize: Authorizer;
  log: Logger;
}

/**
 * A TLS server that demands a client certificate from our trust domain, then authorizes the client's SPIFFE ID,
 * reads one line and answers REPLY. Call listen() on it; give it new SVIDs with updateServerSvid().
 */
export function createMtlsServer(svid: X509Svid, { authorize, log }: MtlsServerOptions): tls.Server {
  const reject = (reason: string) => log.error(`[Server] ❌ REJECTED CLIENT: ${reason}`);
  const server = tls.createServer({ ...tlsOptions(svid), requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.on('error', () => {}); // a client that disappears must not take the server down
    socket.setTimeout(10_000, () => socket.destroy());
    let peer: SpiffeId;
    try {
      peer = peerSpiffeId(socket.getPeerX509Certificate()?.subjectAltName);
    } catch (error) {
      reject(`no valid SPIFFE ID in its certificate: ${messageOf(error)}`);
      socket.destroy();
      return;
    }
    const denied = authorize(peer);
    if (denied) {
      reject(denied);
      socket.destroy();
      return;
    }
    log.info(`[Server] ✅ VERIFIED CLIENT IDENTITY: ${peer.text}`);
    let received = '';
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      log.info(`[Server] Received: ${JSON.stringify(received.split('\n')[0]?.slice(0, 200))}`);
      socket.end(`${REPLY}\n`);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('\n') || received.length > MAX_MESSAGE_BYTES) answer();
    });
    socket.on('end', answer);
  });
  // Handshake failures: no client certificate, one from another CA, an expired one... When the chain fails, Node
  // closes the connection itself and reports only "socket hang up"; the real reason is in authorizationError.
  server.on('tlsClientError', (error, socket) =>
    reject(
      socket.authorizationError
        ? `TLS handshake failed: client certificate not trusted (${String(socket.authorizationError)})`
        : `TLS handshake failed: ${error.message}`,
    ),
  );
  return server;
}

/** Rotation: new handshakes use the new SVID and bundle; the listener and open connections are untouched. */
export function updateServerSvid(server: tls.Server, svid: X509Svid): void {
  server.setSecureContext(tlsOptions(svid));
}

export function listen(server: tls.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export interface MtlsRequestOptions {
  host: string;
  port: number;
  svid: X509Svid;
  /** The SPIFFE ID the server must present. */
  expectedServerId: string;
  message: string;
  log: Logger;
  timeoutMs?: number;
}

export interface MtlsReply {
  serverId: string;
  /** Serial number of the server's leaf certificate, hex. */
  serverSerial: string;
  reply: string;
}

/** Connects with our SVID, verifies the server's SPIFFE ID, sends one line and returns the server's answer. */
export function mtlsRequest(options: MtlsRequestOptions): Promise<MtlsReply> {
  const { host, port, svid, expectedServerId, message, log, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    let serverId = '';
    let serverSerial = '';
    let reply = '';
    const socket = tls.connect({
      host,
      port,
      ...tlsOptions(svid),
      // Called after the chain was verified against our bundle; replaces the DNS hostname check.
      checkServerIdentity: (_hostname, certificate) => {
        try {
          const id = peerSpiffeId(certificate.subjectaltname);
          if (id.text !== expectedServerId) return new Error(`server is ${id.text}, expected ${expectedServerId}`);
          serverId = id.text;
          return undefined;
        } catch (error) {
          return new Error(`server certificate has no valid SPIFFE ID: ${messageOf(error)}`);
        }
      },
    });
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no reply within ${timeoutMs / 1000}s`)));
    socket.once('secureConnect', () => {
      serverSerial = socket.getPeerX509Certificate()?.serialNumber.toLowerCase() ?? '';
      log.info(`[Client] ✅ VERIFIED SERVER IDENTITY: ${serverId}`);
      socket.write(`${message}\n`);
    });
    socket.on('data', (chunk: string) => {
      reply += chunk;
    });
    socket.once('error', reject); // 'close' follows; a settled promise ignores the second outcome
    socket.once('close', () => {
      reply = reply.trim();
      if (reply) resolve({ serverId, serverSerial, reply });
      else
        reject(
          new Error('the server closed the connection without replying (did it reject our certificate or SPIFFE ID?)'),
        );
    });
  });
}
