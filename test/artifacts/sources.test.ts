// Source order and error reporting of the artifact layer, with real (tiny) binaries in temporary directories.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { goEnv, goToolchain, proxyOnly } from '../../fixtures/artifacts/go.ts';
import {
  ArtifactError,
  artifactsReportFile,
  normalizeImageRef,
  ProvisionError,
  provisionAll,
  provisionSpire,
  versions,
} from '../../fixtures/artifacts/index.ts';
import {
  configKey,
  downloadUpstream,
  generateWrapperGoMod,
  kubernetesCached,
  parseUpstreamGoMod,
  stagingVersion,
  versionLdflags,
} from '../../fixtures/artifacts/kubernetes.ts';
import { prefetchLaterArtifacts } from '../../fixtures/artifacts/prefetch.ts';
import { resolveComponent, SourceUnavailable, shareInFlight } from '../../fixtures/artifacts/resolve.ts';
import type { ArtifactRecord } from '../../fixtures/artifacts/types.ts';
import { loadConfig } from '../../lib/config.ts';
import { closedPort, fakeBinary, removeTempDirs, tempConfig, tempDir } from './helpers.ts';

const V = versions.spire.version;
const lines: string[] = [];
const log = (line: string) => lines.push(line);
afterAll(removeTempDirs);

function cacheBin(cacheDir: string): string {
  return join(cacheDir, 'spire', versions.spire.tag, 'bin');
}

describe('SPIRE source order', () => {
  test('an explicit configured path wins over everything else', async () => {
    const config = tempConfig();
    const dir = tempDir();
    config.artifacts = {
      spireServer: fakeBinary(join(dir, 'spire-server'), V),
      spireAgent: fakeBinary(join(dir, 'spire-agent'), V),
    };
    fakeBinary(join(config.spire.binDir, 'spire-server'), V);
    fakeBinary(join(config.spire.binDir, 'spire-agent'), V);
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-server'), V);
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-agent'), V);
    const record = await provisionSpire(config, log);
    expect(record.source).toBe('config');
    expect(record.paths).toEqual({ server: join(dir, 'spire-server'), agent: join(dir, 'spire-agent') });
    expect(record.detail).toContain(`spire-server --version: ${V}`);
  });

  test('a configured binary of the wrong version is an error, not silently replaced by the cache', async () => {
    const config = tempConfig();
    const dir = tempDir();
    config.artifacts = {
      spireServer: fakeBinary(join(dir, 'spire-server'), '1.12.0'),
      spireAgent: fakeBinary(join(dir, 'spire-agent'), '1.12.0'),
    };
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-server'), V);
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-agent'), V);
    const error = await provisionSpire(config, log).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    expect((error as ArtifactError).attempts).toHaveLength(1);
    expect((error as Error).message).toMatch(/printed "1\.12\.0".*expected/);
    expect((error as Error).message).toContain('fix the path in the suite configuration');
  });

  test('only one of the two configured is refused with a clear message', async () => {
    const config = tempConfig();
    config.artifacts = { spireServer: fakeBinary(join(tempDir(), 'spire-server'), V) };
    await expect(provisionSpire(config, log)).rejects.toThrow(
      /set both artifacts.spireServer and artifacts.spireAgent/,
    );
  });

  test('an existing installation in spire.binDir comes before the cache', async () => {
    const config = tempConfig();
    fakeBinary(join(config.spire.binDir, 'spire-server'), V);
    fakeBinary(join(config.spire.binDir, 'spire-agent'), V);
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-server'), V);
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-agent'), V);
    const record = await provisionSpire(config, log);
    expect(record.source).toBe('system');
    expect(record.paths.server).toBe(join(config.spire.binDir, 'spire-server'));
  });

  test('the cache is used when present (an unstamped build prints 1.13.3-dev-unk and is accepted)', async () => {
    const config = tempConfig();
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-server'), `${V}-dev-unk`);
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-agent'), `${V}-dev-unk`);
    const record = await provisionSpire(config, log, { sources: ['config', 'system', 'cache'] });
    expect(record.source).toBe('cache');
    expect(record.detail).toContain('origin not recorded');
  });

  test('a cached binary of another version does not serve (1.13.30 is not 1.13.3)', async () => {
    const config = tempConfig();
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-server'), '1.13.30');
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-agent'), '1.13.30');
    const error = (await provisionSpire(config, log, { sources: ['cache'] }).catch((e: unknown) => e)) as ArtifactError;
    expect(error.attempts.find((a) => a.source === 'cache')).toMatchObject({ outcome: 'failed' });
  });

  test('when no source serves, the error lists every source tried and what to do', async () => {
    const config = tempConfig();
    const port = await closedPort();
    const error = await provisionSpire(config, log, {
      downloadBaseUrl: { spire: `http://127.0.0.1:${port}/spire` },
      sources: ['config', 'system', 'cache', 'download'],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    const attempts = (error as ArtifactError).attempts;
    expect(attempts.map((a) => [a.source, a.outcome])).toEqual([
      ['config', 'unavailable'],
      ['system', 'unavailable'],
      ['cache', 'unavailable'],
      ['download', 'unavailable'],
      ['go-build', 'unavailable'],
    ]);
    expect(attempts[3]?.reason).toContain('ECONNREFUSED');
    expect(attempts[4]?.reason).toContain('disabled for this run');
    const message = (error as Error).message;
    expect(message).toContain('Could not obtain spire. Sources tried:');
    expect(message).toContain(`place spire-server and spire-agent ${V} in ${config.spire.binDir}`);
  });

  test('offline runs never attempt a download', async () => {
    const config = tempConfig();
    const error = (await provisionSpire(config, log, { offline: true, sources: ['download'] }).catch(
      (e: unknown) => e,
    )) as ArtifactError;
    expect(error.attempts.find((a) => a.source === 'download')?.reason).toContain('offline run');
  });

  test('SPIRE_VALIDATION_OFFLINE=1 in the configuration disables downloads without the option', async () => {
    const config = { ...tempConfig(), offline: true };
    const error = (await provisionSpire(config, log, { sources: ['download'] }).catch(
      (e: unknown) => e,
    )) as ArtifactError;
    expect(error.attempts.find((a) => a.source === 'download')?.reason).toBe(
      'official release tarball: offline run: downloads disabled',
    );
  });

  test('offline Go builds use the module proxy only, never a direct VCS fetch', async () => {
    expect(proxyOnly('https://proxy.golang.org,direct')).toBe('https://proxy.golang.org');
    expect(proxyOnly('https://mirror.example|https://proxy.golang.org,direct')).toBe(
      'https://mirror.example,https://proxy.golang.org',
    );
    expect(proxyOnly('direct')).toBe('https://proxy.golang.org');
    expect(proxyOnly(undefined)).toBe('https://proxy.golang.org');
    const go = { go: '/usr/local/go/bin/go', version: '1.26.8' };
    expect(goEnv({ ...tempConfig(), offline: true }, go, false).GOPROXY).not.toContain('direct');
    expect(goEnv(tempConfig(), go, false).GOPROXY).toBeUndefined();
  });
});

describe('background provisioning', () => {
  test('a caller arriving while a component is provisioned waits for that run; once settled, the next starts anew', async () => {
    let runs = 0;
    let finish: () => void = () => {};
    const resolve = () =>
      new Promise<ArtifactRecord>((done) => {
        runs += 1;
        finish = () => done({ component: 'x', version: String(runs), source: 'cache', paths: {}, seconds: 0 });
      });
    const lines: string[] = [];
    const first = shareInFlight('x /cache', (line) => lines.push(line), resolve);
    const second = shareInFlight('x /cache', (line) => lines.push(line), resolve);
    expect(second).toBe(first);
    expect(lines.join('\n')).toContain('already being provisioned');
    finish();
    expect((await second).version).toBe('1');
    const third = shareInFlight('x /cache', () => {}, resolve);
    finish();
    expect((await third).version).toBe('2');
    // A failure reaches every waiting caller and is not kept either.
    const failing = shareInFlight(
      'y /cache',
      () => {},
      () => Promise.reject(new Error('build failed')),
    );
    await expect(shareInFlight('y /cache', () => {}, resolve)).rejects.toThrow('build failed');
    await expect(failing).rejects.toThrow('build failed');
  });
});

describe('resolveComponent', () => {
  test('records unavailable vs failed and stops at the first source that serves', async () => {
    const calls: string[] = [];
    const step =
      (name: string, outcome: () => Promise<{ version: string; paths: Record<string, string> }>) => async () => {
        calls.push(name);
        return outcome();
      };
    const record = await resolveComponent(
      'thing',
      [
        { source: 'cache', label: 'a', run: step('a', () => Promise.reject(new SourceUnavailable('no'))) },
        { source: 'download', label: 'b', run: step('b', () => Promise.reject(new Error('boom'))) },
        { source: 'go-build', label: 'c', run: step('c', async () => ({ version: '1', paths: { x: '/x' } })) },
        { source: 'debian', label: 'd', run: step('d', async () => ({ version: '2', paths: {} })) },
      ],
      'remedy',
      log,
    );
    expect(calls).toEqual(['a', 'b', 'c']);
    expect(record).toMatchObject({ component: 'thing', version: '1', source: 'go-build', paths: { x: '/x' } });
    expect(lines.some((line) => line.includes('[thing] download FAILED — b: boom'))).toBe(true);
  });
});

describe('provisionAll', () => {
  test('writes the provenance file, merging with earlier runs, and rejects unknown names', async () => {
    const config = tempConfig();
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-server'), V);
    fakeBinary(join(cacheBin(config.cacheDir), 'spire-agent'), V);
    const records = await provisionAll(config, log, { only: ['spire'] });
    expect(records.map((r) => r.component)).toEqual(['spire']);
    const report = JSON.parse(readFileSync(artifactsReportFile(config), 'utf8'));
    expect(report.artifacts).toEqual(records);
    expect(report.failures).toEqual([]);
    await expect(provisionAll(config, log, { only: ['spire', 'nope'] })).rejects.toThrow(/unknown component\(s\) nope/);

    // A failing component is reported with its message; the earlier record of another component is kept.
    config.artifacts = { etcd: fakeBinary(join(tempDir(), 'etcd'), 'not etcd') };
    const error = await provisionAll(config, log, { only: ['etcd'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    const after = JSON.parse(readFileSync(artifactsReportFile(config), 'utf8'));
    expect(after.artifacts.map((r: { component: string }) => r.component)).toEqual(['spire']);
    expect(after.failures[0].component).toBe('etcd');
    expect(existsSync(`${artifactsReportFile(config)}.partial`)).toBe(false);
  });
});

describe('Kubernetes wrapper module generator', () => {
  const upstream = [
    'module k8s.io/kubernetes',
    '',
    'go 1.24.0',
    '',
    'godebug default=go1.24',
    '',
    'require (',
    '\tk8s.io/api v0.0.0',
    ')',
    '',
    'replace (',
    '\tk8s.io/api => ./staging/src/k8s.io/api',
    '\tk8s.io/client-go => ./staging/src/k8s.io/client-go',
    '\tk8s.io/apimachinery => ./staging/src/k8s.io/apimachinery',
    ')',
    '',
  ].join('\n');

  test('reads go, godebug and the staging replaces from upstream go.mod', () => {
    expect(parseUpstreamGoMod(upstream)).toEqual({
      goLine: 'go 1.24.0',
      godebug: ['godebug default=go1.24'],
      staging: ['k8s.io/api', 'k8s.io/apimachinery', 'k8s.io/client-go'],
    });
    expect(
      parseUpstreamGoMod(upstream.replace('godebug default=go1.24', 'godebug (\n\tdefault=go1.24\n\tx509sha1=1\n)'))
        .godebug,
    ).toEqual(['godebug default=go1.24', 'godebug x509sha1=1']);
  });

  test('replaces each staging module with its published v0.x.y and lists the six commands as tools', () => {
    const text = generateWrapperGoMod(parseUpstreamGoMod(upstream), 'v1.34.4');
    expect(text).toContain('go 1.24.0\n');
    expect(text).toContain('godebug default=go1.24\n');
    expect(text).toContain('require k8s.io/kubernetes v1.34.4\n');
    expect(text).toContain('\tk8s.io/client-go => k8s.io/client-go v0.34.4\n');
    for (const binary of versions.kubernetes.binaries) expect(text).toContain(`\tk8s.io/kubernetes/cmd/${binary}\n`);
    expect(stagingVersion('v1.34.4')).toBe('v0.34.4');
    expect(() => stagingVersion('1.34')).toThrow();
  });

  test('the real upstream go.mod parses: 31 staging modules for v1.34 (fetched through the Go module proxy)', async () => {
    // The same go.mod the offline build generates its wrapper from; a small download into the configured module cache.
    const config = loadConfig();
    const upstream = await downloadUpstream(goEnv(config, await goToolchain(), false));
    expect(parseUpstreamGoMod(readFileSync(upstream.goMod, 'utf8')).staging).toHaveLength(31);
  }, 180_000);

  test('stamps the version on component-base and client-go', () => {
    const flags = versionLdflags('v1.34.4', '2026-02-10T12:53:36Z');
    expect(flags).toContain("-X 'k8s.io/component-base/version.gitVersion=v1.34.4'");
    expect(flags).toContain("-X 'k8s.io/client-go/pkg/version.gitMinor=34'");
    expect(flags).toContain("-X 'k8s.io/client-go/pkg/version.buildDate=2026-02-10T12:53:36Z'");
    expect(configKey('kube-controller-manager')).toBe('kubeControllerManager');
  });
});

test('image names are normalised like containerd and the kubelet do', () => {
  expect(normalizeImageRef('registry.k8s.io/pause:3.6')).toBe('registry.k8s.io/pause:3.6');
  expect(normalizeImageRef('spire-k8s-validation/node-base:24')).toBe('docker.io/spire-k8s-validation/node-base:24');
  expect(normalizeImageRef('node:24-bookworm-slim')).toBe('docker.io/library/node:24-bookworm-slim');
  expect(normalizeImageRef('busybox')).toBe('docker.io/library/busybox:latest');
  expect(normalizeImageRef('localhost:5000/x')).toBe('localhost:5000/x:latest');
});

describe('background provisioning of Kubernetes (fixtures/artifacts/prefetch.ts)', () => {
  test('builds in the background only with 4 or more cores; checks cached binaries on any host', async () => {
    const config = { ...tempConfig(), offline: true };
    const lines: string[] = [];
    prefetchLaterArtifacts(config, (line) => lines.push(line), 2);
    expect(kubernetesCached(config)).toBe(false);
    expect(lines, 'nothing cached, 2 cores: nothing starts').toEqual([]);
    prefetchLaterArtifacts(
      { ...config, cluster: { ...config.cluster, provider: 'existing' } },
      (l) => lines.push(l),
      8,
    );
    expect(lines, 'an existing cluster needs no Kubernetes binaries').toEqual([]);
  });
});
