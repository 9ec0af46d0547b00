// Client of the SPIFFE Workload API served by the SPIRE Agent on a Unix socket.
//
// X509Source keeps the FetchX509SVID stream open: the agent sends the full current state first and again whenever
// something changes (the SVID is rotated long before it expires, or the trust bundle changes). If the stream fails
// or ends, the source reconnects with capped exponential backoff; it never retries InvalidArgument, which means the
// request itself is wrong and would fail forever.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { splitDer } from './der.ts';
import { type Logger, messageOf } from './log.ts';
import { parseSpiffeId, uriSansFromSubjectAltName } from './spiffe-id.ts';

export const DEFAULT_ENDPOINT = 'unix:///tmp/spire-agent/public/api.sock';
/** Metadata every Workload API request must carry; it proves the caller is not a browser or a confused proxy. */
export const SECURITY_HEADER = 'workload.spiffe.io';
export const PROTO_PATH = fileURLToPath(new URL('../proto/workload.proto', import.meta.url));

/** An X.509-SVID ready to use. The key is a KeyObject so that logging the object can never print key material. */
export interface X509Svid {
  readonly spiffeId: string;
  /** Leaf first, then intermediates: what a TLS peer must be sent. */
  readonly chain: readonly X509Certificate[];
  readonly privateKey: KeyObject;
  /** CA certificates of the SVID's trust domain: what peers of that trust domain are verified against. */
  readonly bundle: readonly X509Certificate[];
  /** CA certificates of federated trust domains, by trust domain name (e.g. `partner.org`): each for its own peers. */
  readonly federatedBundles: ReadonlyMap<string, readonly X509Certificate[]>;
  readonly hint: string;
}

// The messages as @grpc/proto-loader decodes them (keepCase: true, bytes as Buffer).
export interface X509SvidMessage {
  spiffe_id: string;
  x509_svid: Buffer;
  x509_svid_key: Buffer;
  bundle: Buffer;
  hint: string;
}
export interface X509SvidResponse {
  svids: X509SvidMessage[];
  crl: Buffer[];
  federated_bundles: Record<string, Buffer>;
}
export interface X509BundlesResponse {
  crl: Buffer[];
  bundles: Record<string, Buffer>;
}
export interface WorkloadApiClient extends grpc.Client {
  FetchX509SVID(request: object): grpc.ClientReadableStream<X509SvidResponse>;
  FetchX509Bundles(request: object): grpc.ClientReadableStream<X509BundlesResponse>;
}

/** The endpoint to use: the explicit one, else SPIFFE_ENDPOINT_SOCKET, else SPIRE Agent's default socket. */
export function resolveEndpoint(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit || env.SPIFFE_ENDPOINT_SOCKET || DEFAULT_ENDPOINT;
}

/** Turns a SPIFFE endpoint address (`unix:///abs/path` or `tcp://IP:port`) into a grpc-js target. */
export function toGrpcTarget(endpoint: string): string {
  const invalid = (why: string) =>
    new Error(`invalid Workload API endpoint "${endpoint}": ${why} (use unix:///absolute/path or tcp://IP:port)`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalid('not a URL');
  }
  if (url.search || url.hash || url.username || url.password) throw invalid('no query, fragment or userinfo allowed');
  if (url.protocol === 'unix:') {
    if (url.host !== '') throw invalid('the path must be absolute, so write three slashes');
    return `unix://${decodeURIComponent(url.pathname)}`;
  }
  if (url.protocol === 'tcp:') {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(host);
    if (family === 0) throw invalid('the host must be an IP address, not a name');
    if (url.port === '') throw invalid('a port is required');
    if (url.pathname !== '' && url.pathname !== '/') throw invalid('no path allowed');
    return family === 4 ? `ipv4:${host}:${url.port}` : `ipv6:[${host}]:${url.port}`;
  }
  throw invalid(`unsupported scheme "${url.protocol}"`);
}

let serviceClient: grpc.ServiceClientConstructor | undefined;

/** A raw gRPC client whose every call carries the security header. */
export function createWorkloadApiClient(endpoint: string): WorkloadApiClient {
  if (!serviceClient) {
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, defaults: true });
    serviceClient = grpc.loadPackageDefinition(definition).SpiffeWorkloadAPI as grpc.ServiceClientConstructor;
  }
  const addSecurityHeader: grpc.Interceptor = (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(SECURITY_HEADER, 'true');
        next(metadata, listener);
      },
    });
  const client = new serviceClient(toGrpcTarget(endpoint), grpc.credentials.createInsecure(), {
    interceptors: [addSecurityHeader],
  });
  return client as unknown as WorkloadApiClient;
}

/**
 * Decodes and checks one SVID of a FetchX509SVID response, with the response's federated bundles (keyed by trust
 * domain ID, `spiffe://partner.org`).
 */
export function parseX509Svid(message: X509SvidMessage, federated: Record<string, Buffer> = {}): X509Svid {
  parseSpiffeId(message.spiffe_id);
  const chain = splitDer(message.x509_svid).map((der) => new X509Certificate(der));
  const leaf = chain[0];
  if (!leaf) throw new Error('x509_svid holds no certificate');
  const uris = uriSansFromSubjectAltName(leaf.subjectAltName);
  if (uris.length !== 1 || uris[0] !== message.spiffe_id) {
    throw new Error(`leaf URI SAN [${uris.join(', ')}] does not match spiffe_id ${message.spiffe_id}`);
  }
  const privateKey = createPrivateKey({ key: message.x509_svid_key, format: 'der', type: 'pkcs8' });
  if (!leaf.checkPrivateKey(privateKey)) throw new Error('leaf certificate does not match the private key');
  const bundle = splitDer(message.bundle).map((der) => new X509Certificate(der));
  if (bundle.length === 0) throw new Error('bundle holds no CA certificate');
  const federatedBundles = new Map<string, X509Certificate[]>();
  for (const [trustDomainId, der] of Object.entries(federated)) {
    const { trustDomain, path } = parseSpiffeId(trustDomainId);
    if (path !== '') throw new Error(`federated bundle key ${trustDomainId} is not a trust domain ID`);
    federatedBundles.set(
      trustDomain,
      splitDer(der).map((cert) => new X509Certificate(cert)),
    );
  }
  return { spiffeId: message.spiffe_id, chain, privateKey, bundle, federatedBundles, hint: message.hint };
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000 };

/** Delay before the next attempt after `failures` failures in a row: doubling, ±20 % jitter, capped. */
export function backoffDelay(failures: number, backoff: Backoff = DEFAULT_BACKOFF, random = Math.random): number {
  const capped = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures, 30));
  // Jitter, also at the cap, keeps workloads restarted together from calling the agent in lockstep.
  return Math.round(Math.min(backoff.maxMs, capped * (0.8 + 0.4 * random())));
}

export class WorkloadApiError extends Error {
  override name = 'WorkloadApiError';
}

export interface X509SourceOptions {
  endpoint: string;
  log: Logger;
  backoff?: Backoff;
}

interface X509SourceEvents {
  /** A new SVID (the default one, i.e. the first of the response), including the first. */
  update: [svid: X509Svid];
  /** The source stopped for good: a non-retryable error. */
  fatal: [error: WorkloadApiError];
  closed: [];
}

/** Watches the caller's default X.509-SVID over a FetchX509SVID stream that it keeps open. Starts at once. */
export class X509Source extends EventEmitter<X509SourceEvents> {
  readonly endpoint: string;
  #log: Logger;
  #backoff: Backoff;
  #client: WorkloadApiClient | undefined;
  #call: grpc.ClientReadableStream<X509SvidResponse> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #lastFailure: string | undefined;
  #current: X509Svid | undefined;
  #fatal: WorkloadApiError | undefined;
  #closed = false;

  constructor(options: X509SourceOptions) {
    super();
    this.endpoint = options.endpoint;
    this.#log = options.log;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    toGrpcTarget(this.endpoint); // throws now on a malformed endpoint, rather than on every retry
    this.#connect();
  }

  /** The latest SVID, if one has arrived. */
  get current(): X509Svid | undefined {
    return this.#current;
  }

  /** Resolves with the first SVID; rejects on a non-retryable error, on close(), or after timeoutMs (0 = never). */
  waitForFirstSvid(timeoutMs = 0): Promise<X509Svid> {
    if (this.#current) return Promise.resolve(this.#current);
    if (this.#fatal) return Promise.reject(this.#fatal);
    if (this.#closed) return Promise.reject(new WorkloadApiError('the X509Source is closed'));
    return new Promise((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        this.off('update', onUpdate).off('fatal', onFatal).off('closed', onClosed);
        outcome();
      };
      const onUpdate = (svid: X509Svid) => settle(() => resolve(svid));
      const onFatal = (error: WorkloadApiError) => settle(() => reject(error));
      const onClosed = () =>
        settle(() => reject(new WorkloadApiError('the X509Source was closed before an SVID came')));
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              const last = this.#lastFailure ?? 'no answer yet';
              const seconds = timeoutMs / 1000;
              settle(() => reject(new WorkloadApiError(`no SVID within ${seconds}s (last error: ${last})`)));
            }, timeoutMs)
          : undefined;
      this.on('update', onUpdate).on('fatal', onFatal).on('closed', onClosed);
    });
  }

  /** Cancels the stream and any pending retry. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#call?.cancel();
    this.#client?.close();
    this.emit('closed');
  }

  #connect(): void {
    // A fresh channel per attempt, so grpc-js's own reconnect backoff never stacks on top of ours.
    const client = createWorkloadApiClient(this.endpoint);
    const call = client.FetchX509SVID({});
    this.#client = client;
    this.#call = call;
    call.on('data', (response: X509SvidResponse) => this.#onResponse(response));
    // A failed call emits 'error' and then 'status'; 'status' always comes last, so the outcome is handled there.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => {
      client.close();
      this.#onStreamClosed(status);
    });
  }

  #onResponse(response: X509SvidResponse): void {
    let svid: X509Svid;
    try {
      const first = response.svids[0];
      if (!first) throw new Error('the response holds no SVID');
      svid = parseX509Svid(first, response.federated_bundles);
    } catch (error) {
      this.#log.error(`❌ Workload API sent an unusable X509-SVID: ${messageOf(error)} — waiting for the next update`);
      return;
    }
    this.#failures = 0;
    this.#lastFailure = undefined;
    this.#current = svid;
    this.emit('update', svid);
  }

  #onStreamClosed(status: grpc.StatusObject): void {
    if (this.#closed) return; // our own cancel()
    // grpc-js appends an empty "Resolution note:" to connection errors; drop it.
    const details = status.details.replace(/\s*Resolution note:\s*$/, '');
    const why = status.code === grpc.status.OK ? 'the agent ended the stream' : `${codeName(status.code)} (${details})`;
    const what = this.#current ? 'SVID stream failed' : 'SVID fetch failed';
    if (status.code === grpc.status.INVALID_ARGUMENT) {
      const error = new WorkloadApiError(`${what}: ${why} — the request itself is wrong; not retrying`);
      this.#log.error(`❌ ${error.message}`);
      this.#fatal = error;
      this.#closed = true;
      this.emit('fatal', error);
      return;
    }
    const delay = backoffDelay(this.#failures++, this.#backoff);
    this.#lastFailure = why;
    const hint = hintFor(status.code, this.endpoint);
    const keep = this.#current ? 'keeping the current SVID, ' : '';
    this.#log.error(`❌ ${what}: ${why} — ${hint}${keep}retrying in ${formatDelay(delay)}`);
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }
}

function hintFor(code: grpc.status, endpoint: string): string {
  switch (code) {
    case grpc.status.PERMISSION_DENIED:
      return 'is this workload registered with matching selectors? ';
    case grpc.status.UNAVAILABLE:
      return `is the SPIRE Agent running with its socket at ${endpoint}? `;
    default:
      return '';
  }
}

/** PERMISSION_DENIED → PermissionDenied, the spelling SPIRE and go-spiffe print. */
function codeName(code: grpc.status): string {
  const name = grpc.status[code] ?? `code ${code}`;
  return name.toLowerCase().replace(/(?:^|_)([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(1))}s`;
}
