import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, expect, test } from 'vitest';
import {
  backoffDelay,
  createWorkloadApiClient,
  resolveEndpoint,
  toGrpcTarget,
  type X509BundlesResponse,
  X509Source,
  type X509Svid,
} from '../../workload/src/workload-api.ts';
import { FakeWorkloadApi } from '../support/fake-workload-api.ts';
import { createCa } from '../support/pki.ts';
import { allRecordedLines, eventually, findKeyMaterial, recordingLogger, toX509Svid, trustDomain } from './helpers.ts';

const FAST = { initialMs: 20, maxMs: 100 };
const cleanups: (() => unknown)[] = [];
const keys: Uint8Array[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startFake(...args: Parameters<typeof FakeWorkloadApi.start>): Promise<FakeWorkloadApi> {
  const fake = await FakeWorkloadApi.start(...args);
  cleanups.push(() => fake.close());
  return fake;
}

function openSource(endpoint: string) {
  const log = recordingLogger();
  const source = new X509Source({ endpoint, log, backoff: FAST });
  cleanups.push(() => source.close());
  return { source, log };
}

async function identity(path = '/workload') {
  const td = await trustDomain();
  const second = await createCa('example.org');
  const intermediate = await createCa('example.org', { issuer: td.ca });
  const id = await td.issue(path, { intermediate, bundle: [second] });
  keys.push(id.fake.key);
  return id;
}

function firstStream<T>(stream: grpc.ClientReadableStream<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    stream.once('data', (message: T) => {
      resolve(message);
      stream.cancel();
    });
    stream.once('error', reject);
  });
}

const retries = (lines: string[]) => lines.filter((line) => /retrying in \d/.test(line));

describe('endpoint address', () => {
  test('accepts unix:///absolute/path and tcp://IP:port, refuses the rest with the reason', () => {
    expect(toGrpcTarget('unix:///tmp/spire-agent/public/api.sock')).toBe('unix:///tmp/spire-agent/public/api.sock');
    expect(toGrpcTarget('tcp://127.0.0.1:8081')).toBe('ipv4:127.0.0.1:8081');
    expect(toGrpcTarget('tcp://[::1]:8081')).toBe('ipv6:[::1]:8081');
    expect(() => toGrpcTarget('unix://tmp/api.sock')).toThrow(/path must be absolute/);
    expect(() => toGrpcTarget('tcp://localhost:8081')).toThrow(/must be an IP address/);
    expect(() => toGrpcTarget('tcp://127.0.0.1')).toThrow(/port is required/);
    expect(() => toGrpcTarget('http://127.0.0.1:80')).toThrow(/unsupported scheme "http:"/);
    expect(() => toGrpcTarget('/tmp/api.sock')).toThrow(/not a URL/);
  });

  test('comes from the option, else SPIFFE_ENDPOINT_SOCKET, else the SPIRE Agent default', () => {
    const env = { SPIFFE_ENDPOINT_SOCKET: 'unix:///run/spire/api.sock' };
    expect(resolveEndpoint('unix:///given.sock', env)).toBe('unix:///given.sock');
    expect(resolveEndpoint(undefined, env)).toBe('unix:///run/spire/api.sock');
    expect(resolveEndpoint(undefined, {})).toBe('unix:///tmp/spire-agent/public/api.sock');
  });
});

describe('backoffDelay', () => {
  test('doubles from the initial delay, stays within ±20 % jitter, never exceeds the cap', () => {
    const backoff = { initialMs: 1000, maxMs: 30_000 };
    expect([0, 1, 2, 3].map((failures) => backoffDelay(failures, backoff, () => 0.5))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(backoffDelay(1, backoff, () => 0)).toBe(1600);
    expect(backoffDelay(1, backoff, () => 1)).toBe(2400);
    expect(backoffDelay(10, backoff, () => 1)).toBe(30_000);
    expect(backoffDelay(1000, backoff, () => 0)).toBe(24_000);
  });
});

describe('parseX509Svid', () => {
  test('keeps each federated bundle under its trust domain name, apart from the own bundle', async () => {
    const id = await identity();
    const partner = await trustDomain('partner.org');
    const svid = toX509Svid(id.fake, { 'spiffe://partner.org': Buffer.from(partner.ca.der) });
    expect([...svid.federatedBundles.keys()]).toEqual(['partner.org']);
    expect(svid.federatedBundles.get('partner.org')?.map((cert) => cert.raw)).toEqual([partner.ca.der]);
    expect(svid.bundle.map((cert) => cert.raw)).toEqual(id.fake.bundle);
    expect(() => toX509Svid(id.fake, { 'spiffe://partner.org/x': Buffer.from(partner.ca.der) })).toThrow(
      'federated bundle key spiffe://partner.org/x is not a trust domain ID',
    );
  });
});

describe('X509Source', () => {
  test('receives the SVID with its whole chain, its key and every bundle certificate', async () => {
    const id = await identity();
    const fake = await startFake({ svids: [{ ...id.fake, hint: 'internal' }] });
    const { source } = openSource(fake.address);

    const svid = await source.waitForFirstSvid(5000);

    expect(svid.spiffeId).toBe('spiffe://example.org/workload');
    expect(svid.chain.map((cert) => cert.raw)).toEqual(id.fake.chain);
    expect(svid.bundle.map((cert) => cert.raw)).toEqual(id.fake.bundle);
    expect(svid.bundle).toHaveLength(2);
    expect(svid.chain[0]?.checkPrivateKey(svid.privateKey)).toBe(true);
    expect(svid.hint).toBe('internal');
    expect(source.current).toBe(svid);
  });

  test('sends the security header on every call, retries included', async () => {
    const id = await identity();
    const fake = await startFake({ svids: [id.fake] });
    fake.failNext(2);
    const { source } = openSource(fake.address);
    await source.waitForFirstSvid(5000);
    const client = createWorkloadApiClient(fake.address);
    cleanups.push(() => client.close());
    const bundles = await firstStream<X509BundlesResponse>(client.FetchX509Bundles({}));

    expect(fake.calls.map((call) => [call.method, call.securityHeader, call.outcome])).toEqual([
      ['FetchX509SVID', 'true', 'PERMISSION_DENIED'],
      ['FetchX509SVID', 'true', 'PERMISSION_DENIED'],
      ['FetchX509SVID', 'true', 'stream'],
      ['FetchX509Bundles', 'true', 'stream'],
    ]);
    expect(bundles.bundles['spiffe://example.org']).toEqual(Buffer.concat(id.fake.bundle));
  });

  test('the fake, like SPIRE, refuses a call without the header with InvalidArgument', async () => {
    const fake = await startFake();
    const definition = protoLoader.loadSync(
      fileURLToPath(new URL('../../workload/proto/workload.proto', import.meta.url)),
      { keepCase: true },
    );
    const Service = grpc.loadPackageDefinition(definition).SpiffeWorkloadAPI as grpc.ServiceClientConstructor;
    const bare = new Service(fake.address, grpc.credentials.createInsecure()) as unknown as {
      FetchX509SVID(request: object): grpc.ClientReadableStream<unknown>;
      close(): void;
    };
    cleanups.push(() => bare.close());

    const error = await firstStream(bare.FetchX509SVID({})).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );

    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toBe('security header missing from request');
    expect(fake.calls[0]?.securityHeader).toBeUndefined();
  });

  test('surfaces InvalidArgument at once and never retries it', async () => {
    const id = await identity();
    const fake = await startFake({ svids: [id.fake] });
    fake.failNext(1, grpc.status.INVALID_ARGUMENT, 'security header missing from request');
    const { source, log } = openSource(fake.address);

    await expect(source.waitForFirstSvid(5000)).rejects.toThrow(
      'SVID fetch failed: InvalidArgument (security header missing from request) — the request itself is wrong; not retrying',
    );
    // Ten times the initial backoff: a retry loop would have called again by now.
    await new Promise((resolve) => setTimeout(resolve, 10 * FAST.initialMs));
    expect(fake.calls).toHaveLength(1);
    expect(retries(log.lines)).toEqual([]);
    expect(log.lines).toContain(
      '❌ SVID fetch failed: InvalidArgument (security header missing from request) — the request itself is wrong; not retrying',
    );
    await expect(source.waitForFirstSvid(100)).rejects.toThrow(/InvalidArgument/);
  });

  test('retries while the agent socket is missing, with a clear line each time, then gets the SVID once it appears', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-later-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'api.sock');
    const { source, log } = openSource(`unix://${socketPath}`);
    const first = source.waitForFirstSvid(10_000);

    await eventually(() => retries(log.lines).length >= 2, 'two retries');
    for (const line of retries(log.lines)) {
      expect(line).toMatch(
        new RegExp(
          `^❌ SVID fetch failed: Unavailable \\(.*ENOENT.*\\) — is the SPIRE Agent running with its socket at unix://${socketPath}\\? retrying in \\d+(\\.\\d)?m?s$`,
        ),
      );
    }
    const id = await identity();
    await startFake({ socketPath, svids: [id.fake] });

    expect((await first).spiffeId).toBe(id.spiffeId);
  });

  test('retries PermissionDenied (not registered yet) and succeeds when the identity is issued', async () => {
    const id = await identity();
    const fake = await startFake({ svids: [id.fake] });
    fake.failNext(2);
    const { source, log } = openSource(fake.address);

    const svid = await source.waitForFirstSvid(5000);

    expect(svid.spiffeId).toBe(id.spiffeId);
    expect(fake.calls).toHaveLength(3);
    const lines = retries(log.lines);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(
        /^❌ SVID fetch failed: PermissionDenied \(no identity issued\) — is this workload registered with matching selectors\? retrying in \d+ms$/,
      );
    }
  });

  test('times out with the last failure in the message', async () => {
    const fake = await startFake(); // no SVID: the agent answers PermissionDenied
    const { source } = openSource(fake.address);

    await expect(source.waitForFirstSvid(300)).rejects.toThrow(
      'no SVID within 0.3s (last error: PermissionDenied (no identity issued))',
    );
  });

  test('keeps the stream open: each pushed SVID is an update, without a new call', async () => {
    const id = await identity();
    const fake = await startFake({ svids: [id.fake] });
    const { source } = openSource(fake.address);
    await source.waitForFirstSvid(5000);
    const updates: X509Svid[] = [];
    source.on('update', (svid) => updates.push(svid));

    const rotated = await identity();
    fake.pushX509(rotated.fake);
    await eventually(() => updates.length === 1, 'the rotated SVID');

    expect(updates[0]?.chain[0]?.raw).toEqual(rotated.fake.chain[0]);
    expect(source.current).toBe(updates[0]);
    expect(fake.calls).toHaveLength(1);
  });

  test('reconnects when the agent ends the stream, and keeps the current SVID meanwhile', async () => {
    const id = await identity();
    const fake = await startFake({ svids: [id.fake] });
    const { source, log } = openSource(fake.address);
    const first = await source.waitForFirstSvid(5000);

    fake.endStreams();
    await eventually(() => fake.calls.length === 2 && fake.openX509Streams === 1, 'a second stream');

    expect(
      log.lines.some((line) =>
        /^❌ SVID stream failed: the agent ended the stream — keeping the current SVID, retrying in/.test(line),
      ),
    ).toBe(true);
    const rotated = await identity();
    fake.pushX509(rotated.fake);
    const isRotated = () => source.current?.chain[0]?.raw.equals(rotated.fake.chain[0] ?? Buffer.alloc(0)) === true;
    await eventually(isRotated, 'the update on the new stream');
    expect(first.chain[0]?.raw).toEqual(id.fake.chain[0]);
  });

  test('ignores an unusable SVID (key does not match the certificate) and takes the next good one', async () => {
    const [good, other] = await Promise.all([identity(), identity()]);
    const fake = await startFake({ svids: [{ ...good.fake, key: other.fake.key }] });
    const { source, log } = openSource(fake.address);
    const first = source.waitForFirstSvid(5000);

    await log.waitForLine(
      /^❌ Workload API sent an unusable X509-SVID: leaf certificate does not match the private key/,
    );
    fake.pushX509(good.fake);

    expect((await first).chain[0]?.raw).toEqual(good.fake.chain[0]);
  });

  test('close() stops the retries and rejects a pending wait', async () => {
    const fake = await startFake();
    const { source } = openSource(fake.address);
    const first = source.waitForFirstSvid(5000);
    await eventually(() => fake.calls.length >= 1, 'a first call');

    source.close();

    await expect(first).rejects.toThrow('closed before an SVID came');
    const calls = fake.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 10 * FAST.maxMs));
    expect(fake.calls).toHaveLength(calls);
  });

  test('logs no private key material', () => {
    expect(allRecordedLines.length).toBeGreaterThan(10);
    expect(findKeyMaterial(allRecordedLines.join('\n'), keys)).toBeUndefined();
  });
});
