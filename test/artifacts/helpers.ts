// Helpers for the artifact layer's own tests: a throw-away configuration, fake binaries that print a version, a
// release tarball like SPIRE's, and a loopback HTTP server that serves files (never anything but 127.0.0.1).
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_CONFIG, type SuiteConfig } from '../../lib/config.ts';

const created: string[] = [];

export function tempDir(prefix = 'artifacts-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every directory tempDir() made (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A configuration whose cache, reports and SPIRE bin dir live in a fresh temporary directory. */
export function tempConfig(overrides: Partial<SuiteConfig> = {}): SuiteConfig {
  const root = tempDir();
  const config = structuredClone(DEFAULT_CONFIG);
  config.cacheDir = join(root, 'cache');
  config.reportsDir = join(root, 'reports');
  config.spire.binDir = join(root, 'opt-spire-bin');
  return { ...config, ...overrides };
}

/** A shell script that answers `--version` like SPIRE does (on stderr). */
export function fakeBinary(path: string, versionLine: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "${versionLine}" >&2; exit 0; fi\nexit 3\n`);
  chmodSync(path, 0o755);
  return path;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** spire-<v>-linux-amd64-musl.tar.gz with spire-<v>/bin/spire-{server,agent} printing `versionLine`. */
export async function fakeSpireTarball(version: string, versionLine = version): Promise<Buffer> {
  const dir = tempDir('fake-spire-');
  fakeBinary(join(dir, `spire-${version}`, 'bin', 'spire-server'), versionLine);
  fakeBinary(join(dir, `spire-${version}`, 'bin', 'spire-agent'), versionLine);
  const tarball = join(dir, 'release.tar.gz');
  await execa('tar', ['-czf', tarball, '-C', dir, `spire-${version}`]);
  return readFileSync(tarball);
}

export type Route = Buffer | string | { redirect: string } | { status: number };

export interface FileServer {
  baseUrl: string;
  requests: string[];
  routes: Map<string, Route>;
  close: () => Promise<void>;
}

/** An HTTP server on 127.0.0.1 (random port) answering from `routes` (path → body, redirect or status). */
export async function serveFiles(routes: Record<string, Route>): Promise<FileServer> {
  const table = new Map(Object.entries(routes));
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const route = table.get(path);
    if (route === undefined) {
      res.writeHead(404).end('not found');
    } else if (typeof route === 'object' && 'redirect' in route) {
      res.writeHead(302, { location: route.redirect }).end();
    } else if (typeof route === 'object' && 'status' in route) {
      res.writeHead(route.status).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(route);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on (connections are refused at once). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
