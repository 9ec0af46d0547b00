// The online path, against a loopback HTTP server: a release tarball and its published checksum file.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import {
  ChecksumMismatch,
  downloadVerified,
  fetchText,
  installTarball,
  parseChecksum,
} from '../../fixtures/artifacts/download.ts';
import { provisionCniPlugins, provisionKubernetes, provisionSpire } from '../../fixtures/artifacts/index.ts';
import { SourceUnavailable } from '../../fixtures/artifacts/resolve.ts';
import { ArtifactError } from '../../fixtures/artifacts/types.ts';
import { versions } from '../../fixtures/artifacts/versions.ts';
import {
  closedPort,
  type FileServer,
  fakeBinary,
  fakeSpireTarball,
  removeTempDirs,
  serveFiles,
  sha256,
  tempConfig,
  tempDir,
} from './helpers.ts';

const pin = versions.spire.download;
const servers: FileServer[] = [];
const log = () => {};

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(removeTempDirs);

async function release(checksum: (tarball: Buffer) => string): Promise<FileServer> {
  const tarball = await fakeSpireTarball(versions.spire.version);
  const server = await serveFiles({
    [`/spire/${pin.tarball}`]: tarball,
    [`/spire/${pin.checksumFile}`]: checksum(tarball),
  });
  servers.push(server);
  return server;
}

describe('parseChecksum', () => {
  const digest = 'a'.repeat(64);
  test('reads sha256sum lines, picking the named file', () => {
    const text = `${'b'.repeat(64)}  other.tar.gz\n${digest}  spire.tar.gz\n`;
    expect(parseChecksum(text, 'spire.tar.gz')).toBe(digest);
  });
  test('reads the binary-mode marker and a bare digest (Kubernetes .sha256)', () => {
    expect(parseChecksum(`${digest} *spire.tar.gz`, 'spire.tar.gz')).toBe(digest);
    expect(parseChecksum(`${digest.toUpperCase()}\n`, 'kubelet')).toBe(digest);
  });
  test('refuses a checksum file without the file', () => {
    expect(() => parseChecksum(`${digest}  other.tar.gz`, 'spire.tar.gz')).toThrow(/no sha256 for spire.tar.gz/);
  });
});

describe('SPIRE from the official release (loopback server)', () => {
  test('a good checksum installs into the cache and records where it came from', async () => {
    const server = await release((tarball) => `${sha256(tarball)}  ${pin.tarball}\n`);
    const config = tempConfig();
    const record = await provisionSpire(config, log, {
      downloadBaseUrl: { spire: `${server.baseUrl}/spire` },
      sources: ['config', 'system', 'cache', 'download'],
    });
    const bin = join(config.cacheDir, 'spire', versions.spire.tag, 'bin');
    expect(record).toMatchObject({
      component: 'spire',
      version: versions.spire.version,
      source: 'download',
      paths: { server: join(bin, 'spire-server'), agent: join(bin, 'spire-agent') },
    });
    expect(record.detail).toContain('verified');
    expect(server.requests).toEqual([`/spire/${pin.checksumFile}`, `/spire/${pin.tarball}`]);
    const provenance = JSON.parse(readFileSync(join(bin, 'provenance.json'), 'utf8'));
    expect(provenance).toMatchObject({ source: 'download', version: versions.spire.version });
    // Nothing half-made is left next to the cache entry.
    expect(readdirSync(dirname(bin))).toEqual(['bin']);

    // Second run: served from the cache, no request.
    const again = await provisionSpire(config, log, { downloadBaseUrl: { spire: `${server.baseUrl}/spire` } });
    expect(again.source).toBe('cache');
    expect(again.detail).toContain('originally download');
    expect(server.requests).toHaveLength(2);
  });

  test('a wrong checksum is rejected and nothing is installed', async () => {
    const server = await release(() => `${'0'.repeat(64)}  ${pin.tarball}\n`);
    const config = tempConfig();
    const error = await provisionSpire(config, log, {
      downloadBaseUrl: { spire: `${server.baseUrl}/spire` },
      sources: ['config', 'system', 'cache', 'download'],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    const attempt = (error as ArtifactError).attempts.find((a) => a.source === 'download');
    expect(attempt).toMatchObject({ outcome: 'failed' });
    expect(attempt?.reason).toMatch(/checksum mismatch .* expected 0{64}/);
    // The cache directory holds no SPIRE at all: no bin dir, no partial, no download left behind.
    const spireRoot = join(config.cacheDir, 'spire', versions.spire.tag);
    expect(existsSync(spireRoot) ? readdirSync(spireRoot) : []).toEqual([]);
  });

  test('a wrong checksum leaves an existing installation exactly as it was', async () => {
    const server = await release(() => `${'1'.repeat(64)}  ${pin.tarball}\n`);
    const target = join(tempDir(), 'bin');
    mkdirSync(target);
    writeFileSync(join(target, 'spire-server'), 'previous');
    const error = await installTarball({
      baseUrl: `${server.baseUrl}/spire`,
      file: pin.tarball,
      checksumFile: pin.checksumFile,
      members: { 'spire-server': pin.members.server },
      targetDir: target,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatch);
    expect(readdirSync(target)).toEqual(['spire-server']);
    expect(readFileSync(join(target, 'spire-server'), 'utf8')).toBe('previous');
    expect(readdirSync(dirname(target))).toEqual(['bin']);
  });

  test('a pinned sha256 is used instead of the checksum file', async () => {
    const tarball = await fakeSpireTarball(versions.spire.version);
    const server = await serveFiles({ '/x.tar.gz': tarball });
    servers.push(server);
    const dest = join(tempDir(), 'x.tar.gz');
    await downloadVerified({ baseUrl: server.baseUrl, file: 'x.tar.gz', sha256: sha256(tarball) }, dest);
    expect(readFileSync(dest)).toEqual(tarball);
    expect(server.requests).toEqual(['/x.tar.gz']);
  });

  test('redirects are followed (release downloads redirect to a CDN)', async () => {
    const server = await serveFiles({ '/old': { redirect: '/new' }, '/new': 'hello' });
    servers.push(server);
    expect(await fetchText(`${server.baseUrl}/old`)).toBe('hello');
  });

  test('an unreachable host is "unavailable", quickly; an HTTP error is a failure', async () => {
    const port = await closedPort();
    const started = Date.now();
    await expect(fetchText(`http://127.0.0.1:${port}/x`)).rejects.toBeInstanceOf(SourceUnavailable);
    expect(Date.now() - started).toBeLessThan(10_000);

    const server = await serveFiles({ '/gone': { status: 404 } });
    servers.push(server);
    const error = await fetchText(`${server.baseUrl}/gone`).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(SourceUnavailable);
    expect((error as Error).message).toContain('HTTP 404');
  });

  test('a server that accepts but never answers times out within the configured timeout', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      await expect(fetchText(`http://127.0.0.1:${port}/x`, { timeoutMs: 500 })).rejects.toBeInstanceOf(
        SourceUnavailable,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.close();
    }
  });
});

describe('Kubernetes and CNI plugins from their official releases (loopback server)', () => {
  function script(line: string): Buffer {
    return Buffer.from(`#!/bin/sh\necho "${line}"\n`);
  }

  async function kubernetesRelease(corrupt?: string): Promise<FileServer> {
    const routes: Record<string, Buffer | string> = {};
    for (const binary of versions.kubernetes.binaries) {
      const body = script(
        binary === 'kubectl'
          ? `Client Version: ${versions.kubernetes.version}`
          : `Kubernetes ${versions.kubernetes.version}`,
      );
      routes[`/k8s/${binary}`] = body;
      routes[`/k8s/${binary}.sha256`] = binary === corrupt ? 'f'.repeat(64) : sha256(body);
    }
    const server = await serveFiles(routes);
    servers.push(server);
    return server;
  }

  test('each binary is checked against its .sha256, then cached; the second run uses the cache', async () => {
    const server = await kubernetesRelease();
    const config = tempConfig();
    const record = await provisionKubernetes(config, log, {
      downloadBaseUrl: { kubernetes: `${server.baseUrl}/k8s` },
      sources: ['cache', 'download'],
    });
    expect(record.source).toBe('download');
    const bin = join(config.cacheDir, 'kubernetes', versions.kubernetes.version, 'bin');
    expect(record.paths['kube-apiserver']).toBe(join(bin, 'kube-apiserver'));
    expect(record.detail).toContain(`kubectl: Client Version: ${versions.kubernetes.version}`);
    expect((await provisionKubernetes(config, log, { sources: ['cache'] })).source).toBe('cache');
  });

  test('one wrong .sha256 rejects the whole download and installs nothing', async () => {
    const server = await kubernetesRelease('kubelet');
    const config = tempConfig();
    const error = (await provisionKubernetes(config, log, {
      downloadBaseUrl: { kubernetes: `${server.baseUrl}/k8s` },
      sources: ['cache', 'download'],
    }).catch((e: unknown) => e)) as ArtifactError;
    expect(error).toBeInstanceOf(ArtifactError);
    expect(error.attempts.find((a) => a.source === 'download')?.reason).toMatch(/checksum mismatch for .*\/kubelet/);
    const root = join(config.cacheDir, 'kubernetes', versions.kubernetes.version);
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  });

  test('CNI plugins: the tarball (members named ./bridge …) is verified, cached and copied into the target dir', async () => {
    const pin = versions.cniPlugins;
    const dir = tempDir('fake-cni-');
    for (const name of pin.fromTarball) fakeBinary(join(dir, 'plugins', name), `CNI ${name} plugin ${pin.version}`);
    const tarball = join(dir, pin.download.tarball);
    await execa('tar', ['-czf', tarball, '-C', join(dir, 'plugins'), '.']);
    const body = readFileSync(tarball);
    const server = await serveFiles({
      [`/cni/${pin.download.tarball}`]: body,
      [`/cni/${pin.download.checksumFile}`]: `${sha256(body)}  ${pin.download.tarball}\n`,
    });
    servers.push(server);
    const config = tempConfig();
    const target = join(tempDir(), 'opt-cni-bin');
    const record = await provisionCniPlugins(config, log, {
      targetDir: target,
      downloadBaseUrl: { cniPlugins: `${server.baseUrl}/cni` },
      sources: ['system', 'cache', 'download'],
    });
    expect(record).toMatchObject({
      component: 'cni',
      version: pin.version,
      source: 'download',
      paths: { binDir: target },
    });
    expect(readdirSync(target).sort()).toEqual([...pin.fromTarball, '.spire-k8s-validation.json'].sort());
    // Next time the plugins are simply there.
    const again = await provisionCniPlugins(config, log, { targetDir: target, sources: ['system'] });
    expect(again).toMatchObject({ source: 'system', version: pin.version });
  });
});
