// Phase 00: what the later phases run on — Node, the Docker engine, SPIRE binaries, the workload's base image.
import { expect } from 'vitest';
import { provisionNodeBaseImage, provisionSpire } from '../fixtures/artifacts/index.ts';
import { control } from '../fixtures/control.ts';
import { ensureDockerEngine } from '../fixtures/docker-engine.ts';

const PINNED_SPIRE = '1.13.3';

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
  expect(engine.version).toMatch(/^\d+\.\d+/);
});

control('PROV-03', async ({ run, evidence, log, provide }) => {
  const spire = await provisionSpire(run.config, log);
  await evidence('spire-artifact.json', JSON.stringify(spire, null, 2), 'application/json');
  expect(spire.version).toContain(PINNED_SPIRE);
  const { server, agent } = spire.paths;
  if (!server || !agent)
    throw new Error(`provisioning returned no spire-server/spire-agent path: ${JSON.stringify(spire.paths)}`);
  provide('spireBinaries', { server, agent });
});

control('PROV-04', async ({ run, evidence, log, provide }) => {
  const base = await provisionNodeBaseImage(run.config, log);
  await evidence('node-base-image.json', JSON.stringify(base, null, 2), 'application/json');
  const image = base.paths.image;
  if (!image) throw new Error(`provisioning returned no base image: ${JSON.stringify(base.paths)}`);
  provide('baseImage', image);
});
