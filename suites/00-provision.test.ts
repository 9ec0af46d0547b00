// Phase 00: what the later phases run on — Node, the Docker engine, SPIRE binaries, the workload's base image.
import { execa } from 'execa';
import { expect } from 'vitest';
import { provisionNodeBaseImage, provisionSpire } from '../fixtures/artifacts/index.ts';
import { control } from '../fixtures/control.ts';
import { ensureDockerEngine } from '../fixtures/docker-engine.ts';
import { isPinnedSpireVersion, PINNED_SPIRE_VERSION } from '../lib/spire-version.ts';

control('PROV-01', async ({ evidence }) => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  await evidence('node-version.txt', `${process.execPath}: v${process.versions.node}`);
  // 22.18 is the first release that runs TypeScript (the workload, the scripts) without a flag.
  expect(major > 22 || (major === 22 && minor >= 18), `Node v${process.versions.node} is older than 22.18`).toBe(true);
});

control('PROV-02', async ({ run, evidence, log, provide }) => {
  const engine = await ensureDockerEngine(run.config, run.ledger, log);
  provide('dockerEngine', engine);
  await evidence('docker-engine.json', JSON.stringify(engine, null, 2), 'application/json');
  expect(
    engine.version,
    `expected the Docker engine to report a version; docker info said "${engine.version}"`,
  ).toMatch(/^\d+\.\d+/);
});

control('PROV-03', async ({ run, evidence, log, provide }) => {
  const spire = await provisionSpire(run.config, log);
  await evidence('spire-artifact.json', JSON.stringify(spire, null, 2), 'application/json');
  const binaries = { server: spire.paths.server ?? '', agent: spire.paths.agent ?? '' };
  // The binaries themselves say which release they are (SPIRE prints its version on stderr).
  const asked = [];
  for (const [name, binary] of Object.entries(binaries)) {
    expect(binary, `provisioning should return the path of spire-${name}; it returned none`).not.toBe('');
    const result = await execa(binary, ['--version'], { reject: false, all: true, timeout: 30_000 });
    asked.push({ binary, version: (result.all ?? '').trim(), exitCode: result.exitCode });
  }
  await evidence(
    'spire-versions.txt',
    asked.map((a) => `$ ${a.binary} --version\n${a.version}\n(exit ${a.exitCode})`).join('\n\n'),
  );
  for (const { binary, version, exitCode } of asked)
    expect(
      isPinnedSpireVersion(version),
      `${binary} --version should print ${PINNED_SPIRE_VERSION}; it printed "${version}" (exit ${exitCode})`,
    ).toBe(true);
  provide('spireBinaries', binaries);
});

control('PROV-04', async ({ run, evidence, log, provide }) => {
  const base = await provisionNodeBaseImage(run.config, log);
  await evidence('node-base-image.json', JSON.stringify(base, null, 2), 'application/json');
  const image = base.paths.image ?? '';
  expect(image, `provisioning should return the base image; it returned ${JSON.stringify(base.paths)}`).not.toBe('');
  provide('baseImage', image);
});
