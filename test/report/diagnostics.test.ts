// The diagnostics: every check of diagnose_k8s_spire.sh is there, none can hang the run (each has a deadline),
// without a kubeconfig the Kubernetes checks say "no cluster configured", private keys never come out, and
// `npm run diagnose` prints the same collection.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { COLLECTOR_NAMES, collectDiagnostics, renderDiagnostics } from '../../fixtures/diagnostics.ts';
import { DEFAULT_CONFIG, type SuiteConfig } from '../../lib/config.ts';
import { REPO_ROOT } from './helpers.ts';

function tempConfig(overrides: Partial<SuiteConfig['cluster']> = {}): SuiteConfig {
  const config = structuredClone(DEFAULT_CONFIG);
  const root = mkdtempSync(join(tmpdir(), 'diagnostics-test-'));
  config.reportsDir = join(root, 'reports');
  config.spire.serverSocket = join(root, 'server', 'api.sock');
  config.spire.agentSocket = join(root, 'agent', 'api.sock');
  config.spire.workDir = join(root, 'spire');
  config.cluster = { ...config.cluster, ...overrides };
  return config;
}

describe('collectDiagnostics', () => {
  test('runs every check; without a kubeconfig the cluster checks say "no cluster configured"', async () => {
    const report = await collectDiagnostics({ config: tempConfig(), timeoutMs: 5_000 });
    expect(report.sections.map((s) => s.name)).toEqual([...COLLECTOR_NAMES]);
    expect(COLLECTOR_NAMES).toEqual(
      expect.arrayContaining([
        'cluster',
        'nodes',
        'cni',
        'flannel',
        'spire-processes',
        'spire-sockets',
        'images',
        'pods',
        'mounts',
        'logs',
      ]),
    );
    const byName = new Map(report.sections.map((s) => [s.name, s]));
    for (const name of ['nodes', 'pods']) {
      expect(byName.get(name)).toMatchObject({
        status: 'skipped',
        output: expect.stringContaining('no cluster configured'),
      });
    }
    expect(byName.get('cluster')?.output).toContain('no cluster configured');
    expect(byName.get('cni')?.output).toContain('/opt/cni/bin');
    expect(byName.get('spire-sockets')?.output).toMatch(/server[/]api\.sock: does not exist/);
    expect(byName.get('spire-processes')?.output).toContain('pgrep -a spire-agent');
    expect(report.kubeconfigSource).toContain('no cluster configured');
    const text = renderDiagnostics(report, 'Diagnostics for TEST-01');
    expect(text).toContain('== Diagnostics for TEST-01 (the checks of diagnose_k8s_spire.sh) ==');
    for (const section of report.sections) expect(text).toContain(section.title);
  });

  describe('with an apiserver that never answers', () => {
    let server: Server;
    const sockets = new Set<Socket>();
    let kubeconfig: string;
    beforeAll(async () => {
      // Accepts connections and never says anything: every Kubernetes request would hang without the deadline.
      server = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      kubeconfig = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
          'users: [{name: u, user: {token: "t"}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    test('each Kubernetes check times out on its own and the collection still finishes', async () => {
      const started = Date.now();
      const report = await collectDiagnostics({
        config: tempConfig(),
        kubeconfig,
        timeoutMs: 1_500,
        only: ['nodes', 'pods', 'spire-processes'],
      });
      expect(Date.now() - started).toBeLessThan(6_000);
      const byName = new Map(report.sections.map((s) => [s.name, s]));
      expect(byName.get('nodes')?.status).toMatch(/timeout|error/);
      expect(byName.get('pods')?.status).toMatch(/timeout|error/);
      expect(byName.get('spire-processes')?.status).toBe('ok');
      expect(report.kubeconfig).toBe(kubeconfig);
    });
  });
});

test('npm run diagnose prints the collection', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['scripts/diagnose.ts', '--only', 'cni,spire-processes'],
    {
      cwd: REPO_ROOT,
      timeout: 60_000,
    },
  );
  expect(stdout).toContain('== SPIRE on Kubernetes diagnostics (the checks of diagnose_k8s_spire.sh) ==');
  expect(stdout).toContain('CNI plugins (/opt/cni/bin) and configuration (/etc/cni/net.d)');
  expect(stdout).toContain('SPIRE server and agent processes');
});
