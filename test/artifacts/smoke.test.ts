// Smoke tests with the real provisioned components (integration: they use the suite's cache directory, so after the
// first provisioning they take seconds). A component that is not provisioned yet is provisioned here (from cache when
// present) — never skipped; a failure says why.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  loadImageIntoContainerd,
  provisionEtcd,
  provisionHostPackages,
  provisionKubernetes,
  provisionNodeBaseImage,
  provisionPauseImage,
  provisionSpire,
  versions,
} from '../../fixtures/artifacts/index.ts';
import { ensureDockerEngine } from '../../fixtures/docker-engine.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { stopProcess } from '../../fixtures/pids.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { closedPort, removeTempDirs, tempDir } from './helpers.ts';

const lines: string[] = [];
const log = (line: string) => lines.push(line);
let config: SuiteConfig;
let ledger: Ledger;

beforeAll(() => {
  config = loadConfig();
  ledger = new Ledger(join(tempDir('smoke-ledger-'), 'ledger.json'));
});

afterAll(async () => {
  // Only what this file started (e.g. dockerd when none ran), by PID.
  await ledger.stopAll();
  removeTempDirs();
});

async function versionOutput(binary: string, args: string[]): Promise<string> {
  const result = await execa(binary, args, { all: true, reject: false, timeout: 30_000 });
  expect(result.exitCode, result.all).toBe(0);
  return (result.all ?? '').trim();
}

test('spire-server --version and spire-agent --version print the pinned 1.13.3', { timeout: 60 * 60_000 }, async () => {
  const spire = await provisionSpire(config, log);
  expect(await versionOutput(spire.paths.server as string, ['--version'])).toMatch(/^1\.13\.3(-|$)/);
  expect(await versionOutput(spire.paths.agent as string, ['--version'])).toMatch(/^1\.13\.3(-|$)/);
});

describe('images', () => {
  beforeAll(async () => {
    await ensureDockerEngine(config, ledger, log);
  }, 120_000);

  test('docker run of the Node base image prints Node v24', { timeout: 30 * 60_000 }, async () => {
    const base = await provisionNodeBaseImage(config, log);
    const result = await execa(
      'docker',
      ['run', '--rm', '--network', 'none', base.paths.image as string, 'node', '--version'],
      {
        reject: false,
        all: true,
        timeout: 120_000,
      },
    );
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout.trim()).toMatch(/^v24\./);
  });

  test('the pause image is present in a containerd after loadImageIntoContainerd', {
    timeout: 10 * 60_000,
  }, async () => {
    const host = await provisionHostPackages(config, log);
    const pause = await provisionPauseImage(config, log);
    const dir = tempDir('smoke-containerd-');
    const socket = join(dir, 'containerd.sock');
    // A private containerd (own root, state and socket; CRI plugin on, like the cluster's) — never the host's.
    const configFile = join(dir, 'config.toml');
    writeFileSync(
      configFile,
      [
        'version = 2',
        `root = "${join(dir, 'root')}"`,
        `state = "${join(dir, 'state')}"`,
        '[grpc]',
        `  address = "${socket}"`,
        '[ttrpc]',
        `  address = "${join(dir, 'containerd.sock.ttrpc')}"`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${versions.pause.image}"`,
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        `    conf_dir = "${join(dir, 'cni')}"`,
        '',
      ].join('\n'),
    );
    const daemon = spawn(host.paths.containerd as string, ['--config', configFile], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    try {
      await waitUntil(
        async () => (await execa('ctr', ['-a', socket, 'version'], { reject: false })).exitCode === 0,
        30_000,
      );
      const first = await loadImageIntoContainerd(pause.paths.image as string, socket, log);
      expect(first).toMatchObject({ ref: versions.pause.image, imported: true });
      const listed = await execa('ctr', ['-a', socket, '-n', 'k8s.io', 'images', 'ls', '-q']);
      expect(listed.stdout.split('\n')).toContain(versions.pause.image);
      const again = await loadImageIntoContainerd(pause.paths.image as string, socket, log);
      expect(again.imported).toBe(false);
    } finally {
      await stopChild(daemon);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Kubernetes control plane from the provisioned binaries', () => {
  const processes: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const child of processes.reverse()) await stopChild(child);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('etcd + kube-apiserver start with generated certificates and /readyz answers ok', {
    timeout: 90 * 60_000,
  }, async () => {
    const kubernetes = await provisionKubernetes(config, log);
    const etcd = await provisionEtcd(config, log);
    const dir = tempDir('smoke-apiserver-');
    dirs.push(dir);
    const pki = join(dir, 'pki');
    await generatePki(pki);
    const [clientPort, peerPort, securePort] = [await closedPort(), await closedPort(), await closedPort()];

    const etcdLog = join(dir, 'etcd.log');
    processes.push(
      spawnLogged(etcd.paths.etcd as string, etcdLog, [
        '--name=smoke',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=smoke=http://127.0.0.1:${peerPort}`,
      ]),
    );
    const apiserverLog = join(dir, 'kube-apiserver.log');
    processes.push(
      spawnLogged(kubernetes.paths['kube-apiserver'] as string, apiserverLog, [
        `--etcd-servers=http://127.0.0.1:${clientPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${securePort}`,
        '--authorization-mode=Node,RBAC',
        `--client-ca-file=${pki}/ca.crt`,
        `--tls-cert-file=${pki}/apiserver.crt`,
        `--tls-private-key-file=${pki}/apiserver.key`,
        `--service-account-key-file=${pki}/sa.pub`,
        `--service-account-signing-key-file=${pki}/sa.key`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--service-cluster-ip-range=10.96.0.0/12',
        '--allow-privileged=true',
      ]),
    );
    const ca = readFileSync(join(pki, 'ca.crt'));
    const cert = readFileSync(join(pki, 'admin.crt'));
    const key = readFileSync(join(pki, 'admin.key'));
    const get = (path: string) => httpsGet(`https://127.0.0.1:${securePort}${path}`, { ca, cert, key });
    let last = '';
    const ready = await waitUntil(async () => {
      last = await get('/readyz').then(
        (r) => `${r.status} ${r.body}`,
        (e: Error) => e.message,
      );
      return last === '200 ok';
    }, 120_000).catch(() => false);
    expect(
      ready,
      `/readyz never said ok (last: ${last}); apiserver log tail:\n${tailOf(apiserverLog)}\netcd log tail:\n${tailOf(etcdLog)}`,
    ).toBe(true);
    // A real authenticated call, not only the anonymous-readable /readyz.
    const version = await get('/version');
    expect(JSON.parse(version.body).gitVersion).toBe(versions.kubernetes.version);
    const namespaces = await get('/api/v1/namespaces');
    expect(namespaces.status).toBe(200);
    expect(JSON.parse(namespaces.body).items.map((n: { metadata: { name: string } }) => n.metadata.name)).toContain(
      'default',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<true> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`not ready within ${timeoutMs / 1000}s`);
}

function spawnLogged(binary: string, logFile: string, args: string[]): ChildProcess {
  mkdirSync(join(logFile, '..'), { recursive: true });
  const out = openSync(logFile, 'a');
  return spawn(binary, args, { stdio: ['ignore', out, out] });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null) return;
  await stopProcess(child.pid);
}

function tailOf(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

function httpsGet(
  url: string,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, servername: 'localhost', timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A cluster CA, the apiserver's serving certificate, an admin client certificate and the service-account keys. */
async function generatePki(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const ssl = (args: string[]) => execa('openssl', args, { cwd: dir });
  await ssl(['genrsa', '-out', 'ca.key', '2048']);
  await ssl([
    'req',
    '-x509',
    '-new',
    '-nodes',
    '-key',
    'ca.key',
    '-subj',
    '/CN=smoke-ca',
    '-days',
    '1',
    '-out',
    'ca.crt',
  ]);
  writeFileSync(
    join(dir, 'apiserver.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:localhost,IP:127.0.0.1,IP:10.96.0.1\n',
  );
  writeFileSync(
    join(dir, 'client.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  for (const [name, subject, ext] of [
    ['apiserver', '/CN=kube-apiserver', 'apiserver.ext'],
    ['admin', '/O=system:masters/CN=smoke-admin', 'client.ext'],
  ] as const) {
    await ssl(['genrsa', '-out', `${name}.key`, '2048']);
    await ssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
    await ssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      ext,
      '-out',
      `${name}.crt`,
    ]);
  }
  await ssl(['genrsa', '-out', 'sa.key', '2048']);
  await ssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}
