// The workload as its container runs it: `node workload/src/main.ts <mode> …` in a child process, against the fake
// Workload API. Checks the stable log lines, the exit codes, signals, and that no output carries key material.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FakeWorkloadApi } from '../support/fake-workload-api.ts';
import { eventually, findKeyMaterial, type Identity, type TrustDomain, trustDomain } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../../workload/src/main.ts', import.meta.url));
const ID = 'spiffe://example.org/k8s-workload';

interface Run {
  child: ChildProcess;
  /** stdout and stderr, line by line, in arrival order. */
  lines: string[];
  exit: Promise<number | null>;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

const runs: Run[] = [];
const keys: Uint8Array[] = [];
let td: TrustDomain;
let workload: Identity;
let fake: FakeWorkloadApi;
let outDir: string;

function workloadProcess(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    stream?.on('end', () => partial && lines.push(partial));
  }
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const run: Run = {
    child,
    lines,
    exit,
    async waitForLine(pattern, timeoutMs = 10_000) {
      await eventually(
        () => lines.some((line) => pattern.test(line)),
        `${pattern} in the output of ${args.join(' ')}:\n${lines.join('\n')}`,
        timeoutMs,
      );
      return lines.find((line) => pattern.test(line)) ?? '';
    },
  };
  runs.push(run);
  return run;
}

async function exitCode(run: Run, timeoutMs = 15_000): Promise<number | null> {
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
  const outcome = await Promise.race([run.exit, timer]);
  if (outcome === 'timeout') throw new Error(`no exit within ${timeoutMs} ms; output:\n${run.lines.join('\n')}`);
  return outcome;
}

beforeAll(async () => {
  td = await trustDomain();
  workload = await td.issue('/k8s-workload');
  keys.push(workload.fake.key);
  fake = await FakeWorkloadApi.start({ svids: [workload.fake] });
  outDir = await mkdtemp(join(tmpdir(), 'workload-cli-'));
});

afterAll(async () => {
  for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await fake?.close();
  await rm(outDir, { recursive: true, force: true });
});

describe('node workload/src/main.ts', () => {
  let server: Run;
  let port: number;
  const clientArgs = (...extra: string[]) => [
    'client',
    '--socket',
    fake.address,
    '--connect',
    `127.0.0.1:${port}`,
    ...extra,
  ];

  test('server: fetches, writes the files, listens, and logs both verifications of its self-test', async () => {
    server = workloadProcess([
      'server',
      '--socket',
      fake.address,
      '--out-dir',
      outDir,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--health-port',
      '0',
    ]);

    const listening = await server.waitForLine(/^\[Server\] Secure mTLS Server listening on 127\.0\.0\.1:\d+$/);
    port = Number(listening.split(':').at(-1));
    await server.waitForLine(/^\[Client\] Server Replied:/);

    for (const line of [
      `[SVID Fetch] Calling SPIRE Agent API at ${fake.address}...`,
      '✅ Successfully fetched SVIDs!',
      `SPIFFE ID: ${ID}`,
      `[Server] ✅ VERIFIED CLIENT IDENTITY: ${ID}`,
      `[Client] ✅ VERIFIED SERVER IDENTITY: ${ID}`,
      '[Client] Server Replied: Secure Hello from SPIRE Server!',
    ]) {
      expect(server.lines).toContain(line);
    }
    expect((await readdir(outDir)).sort()).toEqual(['bundle.0.pem', 'svid.0.key', 'svid.0.pem']);
    expect((await stat(join(outDir, 'svid.0.key'))).mode & 0o777).toBe(0o600);
  });

  test('client: exits 0 after verifying the server and getting its reply', async () => {
    const client = workloadProcess(['client', '--connect', `127.0.0.1:${port}`, '--server-id', ID], {
      SPIFFE_ENDPOINT_SOCKET: fake.address, // the environment variable instead of --socket
    });

    expect(await exitCode(client)).toBe(0);
    expect(client.lines).toContain(`[Client] ✅ VERIFIED SERVER IDENTITY: ${ID}`);
    expect(client.lines).toContain('[Client] Server Replied: Secure Hello from SPIRE Server!');
    await server.waitForLine(/VERIFIED CLIENT IDENTITY/);
    expect(server.lines.filter((line) => line === `[Server] ✅ VERIFIED CLIENT IDENTITY: ${ID}`)).toHaveLength(2);
  });

  test('client: exits 1 with one clear line when the server has another SPIFFE ID', async () => {
    const client = workloadProcess(clientArgs('--server-id', 'spiffe://example.org/someone-else'));

    expect(await exitCode(client)).toBe(1);
    expect(client.lines.at(-1)).toBe(
      `[Client] ❌ mTLS request failed: server is ${ID}, expected spiffe://example.org/someone-else — exiting with 1`,
    );
    expect(client.lines.join('\n')).not.toContain('Server Replied');
  });

  test('server: logs the rotation when the agent pushes a new SVID', async () => {
    const rotated = await td.issue('/k8s-workload');
    keys.push(rotated.fake.key);

    fake.pushX509(rotated.fake);

    const serial = rotated.leaf.cert.serialNumber.toLowerCase();
    expect(await server.waitForLine(/^\[SVID Rotation\]/)).toBe(
      `[SVID Rotation] New SVID serial ${serial} (not after ${rotated.leaf.cert.notAfter.toISOString()}); TLS context updated`,
    );
  });

  test('client --every: keeps calling the server until SIGTERM, then exits 0', async () => {
    const client = workloadProcess(clientArgs('--every', '0.1'));
    await eventually(
      () =>
        client.lines.filter((line) => line === '[Client] Server Replied: Secure Hello from SPIRE Server!').length >= 3,
      `three replies:\n${client.lines.join('\n')}`,
    );
    client.child.kill('SIGTERM');

    expect(await exitCode(client)).toBe(0);
    expect(client.lines).toContain('SIGTERM received: closing the listener and the Workload API stream');
  });

  test('server: SIGTERM closes the listener and the stream and exits 0', async () => {
    server.child.kill('SIGTERM');

    expect(await exitCode(server)).toBe(0);
    expect(server.lines).toContain('SIGTERM received: closing the listener and the Workload API stream');
    await eventually(() => fake.openX509Streams === 0, 'the server’s stream to close');
  });

  test('fetch: writes the files, prints the summary, exits 0', async () => {
    const dir = join(outDir, 'fetched');
    const run = workloadProcess(['fetch', '--socket', fake.address, '--out-dir', dir]);

    expect(await exitCode(run)).toBe(0);
    expect(run.lines).toContain('✅ Successfully fetched SVIDs!');
    expect(run.lines).toContain(`SPIFFE ID: ${ID}`);
    expect(run.lines).toContain(
      `✅ SVID files written: ${dir}/svid.0.pem, ${dir}/svid.0.key (0600), ${dir}/bundle.0.pem`,
    );
  });

  test('fetch: no agent → one line per retry, then exits 1 at the fetch timeout', async () => {
    const socket = `unix://${join(outDir, 'no-agent.sock')}`;
    const run = workloadProcess(['fetch', '--socket', socket, '--out-dir', outDir, '--fetch-timeout', '1.5']);

    expect(await exitCode(run)).toBe(1);
    expect(
      run.lines.filter((line) => line.startsWith('❌ SVID fetch failed: Unavailable')).length,
    ).toBeGreaterThanOrEqual(1);
    expect(run.lines.at(-1)).toMatch(
      /^❌ Could not get an SVID: no SVID within 1.5s \(last error: Unavailable \(.*ENOENT.*\)\) — exiting with 1$/,
    );
  });

  test('a bad command line exits 2 with the reason and the usage', async () => {
    const run = workloadProcess(['serve']);

    expect(await exitCode(run)).toBe(2);
    expect(run.lines[0]).toBe('❌ unknown mode "serve"');
    expect(run.lines).toContain('Usage: node src/main.ts <server|client|fetch> [flags]');
  });

  test('no output of any run carries private key material', () => {
    const output = runs.flatMap((run) => run.lines).join('\n');
    expect(output).toContain('VERIFIED CLIENT IDENTITY'); // the runs above did produce output
    expect(findKeyMaterial(output, keys)).toBeUndefined();
  });
});
