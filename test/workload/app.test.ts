import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type RunningServer, runClient, runFetch, runServer, type ServerOptions } from '../../workload/src/app.ts';
import { mtlsRequest, REPLY } from '../../workload/src/mtls.ts';
import { FakeWorkloadApi } from '../support/fake-workload-api.ts';
import {
  allRecordedLines,
  findKeyMaterial,
  type Identity,
  type RecordingLogger,
  recordingLogger,
  type TrustDomain,
  trustDomain,
} from './helpers.ts';

const FAST = { initialMs: 20, maxMs: 100 };
let td: TrustDomain;
let workload: Identity;
const keys: Uint8Array[] = [];
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  td = await trustDomain();
  workload = await td.issue('/k8s-workload');
  keys.push(workload.fake.key);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(svids = [workload.fake]) {
  const fake = await FakeWorkloadApi.start({ svids });
  const outDir = await mkdtemp(join(tmpdir(), 'workload-out-'));
  cleanups.push(
    () => fake.close(),
    // A server closed just after a rotation may still be writing its last file: retry the removal (ENOTEMPTY).
    () => rm(outDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }),
  );
  return { fake, outDir };
}

function serverOptions(fake: FakeWorkloadApi, outDir: string, log: RecordingLogger): ServerOptions {
  return {
    endpoint: fake.address,
    fetchTimeoutMs: 5000,
    backoff: FAST,
    log,
    outDir,
    host: '127.0.0.1',
    port: 0,
    policy: {},
    selfTest: true,
  };
}

async function startServer(options: ServerOptions): Promise<RunningServer> {
  const running = await runServer(options);
  cleanups.push(() => running.close());
  return running;
}

const leafSerial = (id: Identity) => id.leaf.cert.serialNumber.toLowerCase();

describe('server mode', () => {
  test('fetches, writes the files, listens, and its self-test shows both verifications', async () => {
    const { fake, outDir } = await setup();
    const log = recordingLogger();

    const running = await startServer(serverOptions(fake, outDir, log));

    const id = 'spiffe://example.org/k8s-workload';
    expect(log.lines).toEqual([
      `[SVID Fetch] Calling SPIRE Agent API at ${fake.address}...`,
      '✅ Successfully fetched SVIDs!',
      `SPIFFE ID: ${id}`,
      `SVID serial: ${leafSerial(workload)}`,
      `SVID not after: ${workload.leaf.cert.notAfter.toISOString()}`,
      'Chain: 1 certificate(s); trust bundle: 1 CA certificate(s)',
      `✅ SVID files written: ${outDir}/svid.0.pem, ${outDir}/svid.0.key (0600), ${outDir}/bundle.0.pem`,
      `[Server] Secure mTLS Server listening on 127.0.0.1:${running.port}`,
      `[Client] ✅ VERIFIED SERVER IDENTITY: ${id}`,
      `[Server] ✅ VERIFIED CLIENT IDENTITY: ${id}`,
      '[Server] Received: "Hello from the self-test client"',
      `[Client] Server Replied: ${REPLY}`,
    ]);
    expect(new X509Certificate(await readFile(join(outDir, 'svid.0.pem'))).raw).toEqual(workload.fake.chain[0]);
  });

  test('rotation: a pushed SVID reaches new connections and the files, on the same listener', async () => {
    const { fake, outDir } = await setup();
    const log = recordingLogger();
    const running = await startServer(serverOptions(fake, outDir, log));
    let listenerClosed = false;
    running.server.once('close', () => {
      listenerClosed = true;
    });
    const call = () =>
      mtlsRequest({
        host: '127.0.0.1',
        port: running.port,
        svid: workload.svid,
        expectedServerId: workload.spiffeId,
        message: 'hi',
        log: recordingLogger(),
      });
    expect((await call()).serverSerial).toBe(leafSerial(workload));

    const rotated = await td.issue('/k8s-workload');
    keys.push(rotated.fake.key);
    fake.pushX509(rotated.fake);
    await log.waitForLine(/^\[SVID Rotation\]/);

    expect(log.lines).toContain(
      `[SVID Rotation] New SVID serial ${leafSerial(rotated)} (not after ${rotated.leaf.cert.notAfter.toISOString()}); TLS context updated`,
    );
    expect((await call()).serverSerial).toBe(leafSerial(rotated));
    expect(running.server.listening).toBe(true);
    expect(listenerClosed).toBe(false);
    await expect
      .poll(async () => new X509Certificate(await readFile(join(outDir, 'svid.0.pem'))).serialNumber.toLowerCase())
      .toBe(leafSerial(rotated));
  });

  test('readiness: /ready is 503 until an SVID is loaded and TLS listens, then 200; /live is always 200', async () => {
    const { fake, outDir } = await setup([]); // the agent has no identity for us yet
    const log = recordingLogger();
    const starting = runServer({ ...serverOptions(fake, outDir, log), healthPort: 0, selfTest: false });
    cleanups.push(() => starting.then((running) => running.close()).catch(() => {}));
    const line = await log.waitForLine(/^\[Health\] Probes on 127\.0\.0\.1:\d+/);
    const base = `http://127.0.0.1:${/:(\d+):/.exec(line)?.[1]}`;
    const status = async (path: string) => (await fetch(base + path)).status;

    expect(await status('/ready')).toBe(503);
    expect(await status('/live')).toBe(200);
    await log.waitForLine(/PermissionDenied/);
    expect(await status('/ready')).toBe(503);

    fake.pushX509(workload.fake);
    await starting;

    expect(await status('/ready')).toBe(200);
    expect(await status('/live')).toBe(200);
    expect(await status('/elsewhere')).toBe(404);
  });

  test('gives up after the fetch timeout and closes what it opened', async () => {
    const { fake, outDir } = await setup([]);
    const log = recordingLogger();

    await expect(
      runServer({ ...serverOptions(fake, outDir, log), fetchTimeoutMs: 300, healthPort: 0 }),
    ).rejects.toThrow('no SVID within 0.3s (last error: PermissionDenied (no identity issued))');
    const calls = fake.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 5 * FAST.maxMs));
    expect(fake.calls).toHaveLength(calls);
  });
});

describe('client and fetch modes', () => {
  test('client: verifies the server, prints its reply; fails on a server with another SPIFFE ID', async () => {
    const { fake, outDir } = await setup();
    const running = await startServer({ ...serverOptions(fake, outDir, recordingLogger()), selfTest: false });
    const log = recordingLogger();
    const common = {
      endpoint: fake.address,
      fetchTimeoutMs: 5000,
      backoff: FAST,
      host: '127.0.0.1',
      port: running.port,
    };

    await runClient({ ...common, log, message: 'ping' });

    const served = new X509Certificate(await readFile(join(outDir, 'svid.0.pem'))).serialNumber.toLowerCase();
    expect(log.lines.slice(-4)).toEqual([
      `[Client] Connecting to 127.0.0.1:${running.port}, expecting server spiffe://example.org/k8s-workload...`,
      '[Client] ✅ VERIFIED SERVER IDENTITY: spiffe://example.org/k8s-workload',
      `[Client] Server certificate serial: ${served}`,
      `[Client] Server Replied: ${REPLY}`,
    ]);
    await expect(
      runClient({ ...common, log: recordingLogger(), message: 'ping', serverId: 'spiffe://example.org/other' }),
    ).rejects.toThrow('server is spiffe://example.org/k8s-workload, expected spiffe://example.org/other');
  });

  test('client --every: repeats with the newest SVID, logs and retries a failed exchange, stops on abort', async () => {
    const { fake, outDir } = await setup();
    const running = await startServer({ ...serverOptions(fake, outDir, recordingLogger()), selfTest: false });
    const log = recordingLogger();
    const stop = new AbortController();
    const client = runClient({
      endpoint: fake.address,
      fetchTimeoutMs: 5000,
      backoff: FAST,
      host: '127.0.0.1',
      port: running.port,
      log,
      message: 'ping',
      everyMs: 50,
      signal: stop.signal,
    });
    await expect.poll(() => log.lines.filter((line) => line.startsWith('[Client] Server Replied')).length).toBe(2);

    // The server's SVID rotates: later exchanges see the new serial, on the client's side.
    const rotated = await td.issue('/k8s-workload');
    keys.push(rotated.fake.key);
    fake.pushX509(rotated.fake);
    await log.waitForLine(new RegExp(`^\\[Client\\] Server certificate serial: ${leafSerial(rotated)}$`));

    // The server goes away: the client says so and keeps trying instead of exiting.
    await running.close();
    await log.waitForLine(/^\[Client\] ❌ mTLS request failed: .* — trying again in 0\.05s$/);

    stop.abort();
    await expect(client).resolves.toBeUndefined();
    await expect.poll(() => fake.openX509Streams).toBe(0);
  });

  test('fetch: writes the files once and closes the stream', async () => {
    const { fake, outDir } = await setup();
    const log = recordingLogger();

    const svid = await runFetch({ endpoint: fake.address, fetchTimeoutMs: 5000, log, outDir });

    expect(svid.spiffeId).toBe(workload.spiffeId);
    expect(log.lines).toContain(
      `✅ SVID files written: ${outDir}/svid.0.pem, ${outDir}/svid.0.key (0600), ${outDir}/bundle.0.pem`,
    );
    await expect.poll(() => fake.openX509Streams).toBe(0);
  });

  test('logs no private key material', () => {
    expect(allRecordedLines.length).toBeGreaterThan(20);
    expect(findKeyMaterial(allRecordedLines.join('\n'), keys)).toBeUndefined();
  });
});
