// Mutual TLS with X.509-SVIDs over node:tls.
//
// TLS itself checks that the peer's chain leads to a CA we trust (`ca`: our trust domain's bundle and the federated
// ones). SPIFFE adds the rest: the peer is identified by the single URI SAN of its certificate, its SPIFFE ID; that
// ID is only believed when the chain ends at the bundle of the ID's OWN trust domain (a CA of partner.org cannot vouch
// for an ID of example.org); then the ID is what we authorize. Hostnames play no part (SVIDs usually carry no DNS
// name), so the client replaces Node's hostname check. Both sides set rejectUnauthorized themselves and check
// `socket.authorized` again, so NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn verification off.
import { createHash, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { certificatesToPem } from './der.ts';
import { type Logger, messageOf } from './log.ts';
import { parseSpiffeId, type SpiffeId, uriSansFromSubjectAltName } from './spiffe-id.ts';
import type { X509Svid } from './workload-api.ts';

export const REPLY = 'Secure Hello from SPIRE Server!';
const MAX_MESSAGE_BYTES = 4096;

/** CA certificates by trust domain name: the SVID's own trust domain and the federated ones. */
export type TrustBundles = ReadonlyMap<string, readonly X509Certificate[]>;

export function trustBundles(svid: X509Svid): TrustBundles {
  return new Map([...svid.federatedBundles, [parseSpiffeId(svid.spiffeId).trustDomain, svid.bundle]]);
}

/** Certificate chain, key and every trusted CA of an SVID, as node:tls takes them. */
export function tlsOptions(svid: X509Svid): tls.SecureContextOptions {
  return {
    cert: certificatesToPem(svid.chain),
    key: svid.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    ca: certificatesToPem([...trustBundles(svid).values()].flat()),
  };
}

/** The peer's certificates as TLS verified them, in DER, leaf first (Node links each to its issuer, up to our CA). */
function peerDerChain(certificate: tls.DetailedPeerCertificate | undefined): Buffer[] {
  const chain: Buffer[] = [];
  let current = certificate;
  while (current?.raw && chain.length < 16) {
    chain.push(current.raw);
    if (!current.issuerCertificate || current.issuerCertificate === current) break;
    current = current.issuerCertificate;
  }
  return chain;
}

/** The peer's certificates as TLS verified them, leaf first (Node links each to its issuer, up to our CA). */
export function peerChain(certificate: tls.DetailedPeerCertificate | undefined): X509Certificate[] {
  return peerDerChain(certificate).map((der) => new X509Certificate(der));
}

const signedBy = (certificate: X509Certificate, issuer: X509Certificate) =>
  issuer.ca && certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);

/** Whether the chain (leaf first) leads, by signatures through CA certificates of the chain, to a CA of `bundle`. */
export function chainEndsAtBundle(chain: readonly X509Certificate[], bundle: readonly X509Certificate[]): boolean {
  let current = chain[0];
  for (let depth = 0; current && depth < chain.length; depth++) {
    const certificate: X509Certificate = current;
    if (bundle.some((ca) => signedBy(certificate, ca))) return true;
    current = chain.find((next) => next !== certificate && signedBy(certificate, next));
  }
  return false;
}

/**
 * Says why a verified chain may not stand for the peer's SPIFFE ID, or undefined when it may: the chain must end at
 * the bundle of the ID's own trust domain, not merely at some CA we trust.
 */
export function trustDomainMismatch(
  peer: SpiffeId,
  chain: readonly X509Certificate[],
  bundles: TrustBundles,
): string | undefined {
  const bundle = bundles.get(peer.trustDomain);
  if (!bundle) return `${peer.text} is of trust domain ${peer.trustDomain}, for which we hold no bundle`;
  if (!chainEndsAtBundle(chain, bundle))
    return `the certificate chain of ${peer.text} does not end at the bundle of its trust domain ${peer.trustDomain}`;
  return undefined;
}

/** Why a TLS socket is not authorized (its chain failed verification), or undefined when it is. */
export function notAuthorized(socket: Pick<tls.TLSSocket, 'authorized' | 'authorizationError'>): string | undefined {
  if (socket.authorized === true) return undefined;
  return `certificate not trusted (${String(socket.authorizationError ?? 'not authorized')})`;
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

/**
 * Allows the listed IDs and trust domain; with neither given, any ID of our own trust domain. It judges the ID alone:
 * the server has already checked that the chain ends at the bundle of the ID's trust domain (trustDomainMismatch).
 */
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
    const refuse = (reason: string) => {
      reject(reason);
      socket.destroy();
    };
    // rejectUnauthorized already ended such handshakes; checked again so that no option can make this fail open.
    const untrusted = notAuthorized(socket);
    if (untrusted) return refuse(`TLS handshake not authorized: client ${untrusted}`);
    const certificate = socket.getPeerCertificate(true);
    let peer: SpiffeId;
    try {
      peer = peerSpiffeId(certificate.subjectaltname);
    } catch (error) {
      return refuse(`no valid SPIFFE ID in its certificate: ${messageOf(error)}`);
    }
    const trust = serverTrust.get(server) ?? newServerTrust(svid);
    const mismatch = chainVerdict(trust, peer, peerDerChain(certificate));
    if (mismatch) return refuse(mismatch);
    const denied = authorize(peer);
    if (denied) return refuse(denied);
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
  serverTrust.set(server, newServerTrust(svid));
  return server;
}

/** What judges a server's clients now: the bundles of the SVID it presents, and the verdicts given under them. */
interface ServerTrust {
  bundles: TrustBundles;
  /** trustDomainMismatch of each client chain seen, by the SHA-256 of the chain's DER certificates. */
  verdicts: Map<string, string | undefined>;
}

const serverTrust = new WeakMap<tls.Server, ServerTrust>();
/** Distinct client chains remembered per bundle set; past it the memory starts afresh (only speed is lost). */
const MAX_VERDICTS = 1024;

const newServerTrust = (svid: X509Svid): ServerTrust => ({ bundles: trustBundles(svid), verdicts: new Map() });

/**
 * trustDomainMismatch for a client's chain, decided once per distinct chain under the current bundles: the verdict is
 * a function of the chain's bytes and the bundles alone (names, CA flags, signatures; TLS checks validity dates on
 * every handshake), so a client that connects again is not parsed and signature-checked again. New bundles (a
 * rotation) start with no verdicts.
 */
function chainVerdict(trust: ServerTrust, peer: SpiffeId, chain: readonly Buffer[]): string | undefined {
  const hash = createHash('sha256');
  for (const der of chain) hash.update(der); // DER encodes its own length: the concatenation is unambiguous
  const key = hash.digest('base64');
  if (trust.verdicts.has(key)) return trust.verdicts.get(key);
  const verdict = trustDomainMismatch(
    peer,
    chain.map((der) => new X509Certificate(der)),
    trust.bundles,
  );
  if (trust.verdicts.size >= MAX_VERDICTS) trust.verdicts.clear();
  trust.verdicts.set(key, verdict);
  return verdict;
}

/** Rotation: new handshakes use the new SVID and bundles; the listener and open connections are untouched. */
export function updateServerSvid(server: tls.Server, svid: X509Svid): void {
  server.setSecureContext(tlsOptions(svid));
  serverTrust.set(server, newServerTrust(svid));
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
      // Explicit: the default would follow NODE_TLS_REJECT_UNAUTHORIZED, which can turn verification off.
      rejectUnauthorized: true,
      // Called after the chain was verified against our CAs; replaces the DNS hostname check. Node passes the
      // certificate with its issuers linked (getPeerCertificate(true)).
      checkServerIdentity: (_hostname, certificate) => {
        let id: SpiffeId;
        try {
          id = peerSpiffeId(certificate.subjectaltname);
        } catch (error) {
          return new Error(`server certificate has no valid SPIFFE ID: ${messageOf(error)}`);
        }
        if (id.text !== expectedServerId) return new Error(`server is ${id.text}, expected ${expectedServerId}`);
        const mismatch = trustDomainMismatch(
          id,
          peerChain(certificate as tls.DetailedPeerCertificate),
          trustBundles(svid),
        );
        if (mismatch) return new Error(mismatch);
        serverId = id.text;
        return undefined;
      },
    });
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no reply within ${timeoutMs / 1000}s`)));
    socket.once('secureConnect', () => {
      // Checked again, so that no option or environment can make the client talk to an unverified server.
      const untrusted = notAuthorized(socket);
      if (untrusted || !serverId) {
        const reason = `server ${untrusted ?? 'identity was not verified'}`;
        log.error(`[Client] ❌ REJECTED SERVER: ${reason}`);
        socket.destroy(new Error(reason));
        return;
      }
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
