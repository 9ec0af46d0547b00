// An in-process fake of the SPIFFE Workload API (the SPIRE Agent's side), for the workload's unit tests.
// Same proto as the workload, served on a Unix socket in a temporary directory. Behaves like SPIRE Agent where the
// tests need it to: it checks the security header (InvalidArgument "security header missing from request"), answers
// PermissionDenied "no identity issued" while it has no SVID, and streams the full state again on every change.
// Scriptable: pushX509() sends a new state to open streams, failNext() makes the next calls fail, endStreams().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_PATH = fileURLToPath(new URL('../../workload/proto/workload.proto', import.meta.url));

export interface FakeSvid {
  spiffeId: string;
  /** DER certificates, leaf first. */
  chain: Uint8Array[];
  /** PKCS#8 DER. */
  key: Uint8Array;
  /** DER CA certificates. */
  bundle: Uint8Array[];
  hint?: string;
}

export interface RecordedCall {
  method: 'FetchX509SVID' | 'FetchX509Bundles';
  /** Value of the `workload.spiffe.io` metadata, if any. */
  securityHeader: string | undefined;
  /** 'stream' when served, else the status the call ended with, e.g. 'PERMISSION_DENIED'. */
  outcome: string;
}

interface Failure {
  code: grpc.status;
  details: string;
}

type Stream = grpc.ServerWritableStream<object, object>;

export class FakeWorkloadApi {
  readonly socketPath: string;
  /** `unix:///…`, what the workload takes as --socket / SPIFFE_ENDPOINT_SOCKET. */
  readonly address: string;
  readonly calls: RecordedCall[] = [];
  #server = new grpc.Server();
  #ownDir: string | undefined;
  #x509Streams = new Set<Stream>();
  #svids: FakeSvid[] = [];
  #failures: Failure[] = [];

  private constructor(socketPath: string, ownDir: string | undefined) {
    this.socketPath = socketPath;
    this.address = `unix://${socketPath}`;
    this.#ownDir = ownDir;
  }

  /** Starts serving, on `socketPath` or on a socket in a new temporary directory. */
  static async start(options: { socketPath?: string; svids?: FakeSvid[] } = {}): Promise<FakeWorkloadApi> {
    const ownDir = options.socketPath ? undefined : await mkdtemp(join(tmpdir(), 'fake-workload-api-'));
    const fake = new FakeWorkloadApi(options.socketPath ?? join(ownDir ?? '', 'api.sock'), ownDir);
    fake.#svids = options.svids ?? [];
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, defaults: true });
    const service = (grpc.loadPackageDefinition(definition).SpiffeWorkloadAPI as grpc.ServiceClientConstructor).service;
    fake.#server.addService(service, {
      FetchX509SVID: (call: Stream) => fake.#fetchX509Svid(call),
      FetchX509Bundles: (call: Stream) => fake.#fetchX509Bundles(call),
    });
    await new Promise<void>((resolve, reject) =>
      fake.#server.bindAsync(fake.address, grpc.ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    return fake;
  }

  /** Number of FetchX509SVID streams currently open. */
  get openX509Streams(): number {
    return this.#x509Streams.size;
  }

  /** Makes these the caller's SVIDs: sent now to every open stream, and first thing to every new one. */
  pushX509(...svids: FakeSvid[]): void {
    this.#svids = svids;
    for (const call of this.#x509Streams) call.write(x509Response(svids));
  }

  /** The next `count` calls end at once with this status. */
  failNext(count: number, code = grpc.status.PERMISSION_DENIED, details = 'no identity issued'): void {
    for (let i = 0; i < count; i++) this.#failures.push({ code, details });
  }

  /** Ends every open stream with status OK, as an agent does when it shuts down cleanly. */
  endStreams(): void {
    for (const call of this.#x509Streams) call.end();
    this.#x509Streams.clear();
  }

  async close(): Promise<void> {
    this.#server.forceShutdown();
    if (this.#ownDir) await rm(this.#ownDir, { recursive: true, force: true });
  }

  /** Records the call; ends it with an error when the header is missing or a failure is scripted. */
  #admit(call: Stream, method: RecordedCall['method']): boolean {
    const header = call.metadata.get('workload.spiffe.io')[0]?.toString();
    const recorded: RecordedCall = { method, securityHeader: header, outcome: 'stream' };
    this.calls.push(recorded);
    const failure: Failure | undefined =
      header !== 'true'
        ? { code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' }
        : (this.#failures.shift() ??
          (this.#svids.length === 0
            ? { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' }
            : undefined));
    if (!failure) return true;
    recorded.outcome = grpc.status[failure.code] ?? String(failure.code);
    call.emit('error', failure);
    return false;
  }

  #fetchX509Svid(call: Stream): void {
    if (!this.#admit(call, 'FetchX509SVID')) return;
    this.#x509Streams.add(call);
    call.on('cancelled', () => this.#x509Streams.delete(call));
    call.write(x509Response(this.#svids));
  }

  #fetchX509Bundles(call: Stream): void {
    if (!this.#admit(call, 'FetchX509Bundles')) return;
    const bundles: Record<string, Buffer> = {};
    for (const svid of this.#svids) bundles[trustDomainId(svid.spiffeId)] = Buffer.concat(svid.bundle);
    call.write({ crl: [], bundles });
  }
}

function x509Response(svids: FakeSvid[]): object {
  return {
    svids: svids.map((svid) => ({
      spiffe_id: svid.spiffeId,
      x509_svid: Buffer.concat(svid.chain),
      x509_svid_key: Buffer.from(svid.key),
      bundle: Buffer.concat(svid.bundle),
      hint: svid.hint ?? '',
    })),
    crl: [],
    federated_bundles: {},
  };
}

/** spiffe://example.org/x → spiffe://example.org */
function trustDomainId(spiffeId: string): string {
  return spiffeId.replace(/^(spiffe:\/\/[^/]+).*$/, '$1');
}
