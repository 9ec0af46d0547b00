// Phase 30: the workload's registration entry, made through the SPIRE Server Entry API (idempotent), proven by the
// output of `spire-server entry show` as the seed's Testing step 7 does.
import { expect } from 'vitest';
import { control } from '../fixtures/control.ts';
import { dockerSelectors, EntryApi, ensureEntry } from '../fixtures/registration.ts';
import { serverCli } from '../fixtures/spire.ts';

control('REG-01', async ({ run, evidence, log, need, provide }) => {
  const parentId = need('agentId');
  const api = new EntryApi(run.config.spire.serverSocket);
  try {
    const selectors = dockerSelectors(run.config.workload.container, run.config.workload.namespace);
    const result = await ensureEntry(api, { spiffeId: run.config.workloadSpiffeId, parentId, selectors });
    log(`entry ${result.entryId} ${result.action}`);
    provide('workloadEntryId', result.entryId);
    await evidence('registration.json', JSON.stringify(result, null, 2), 'application/json');
    const forThisId = await api.listBySpiffeId(run.config.workloadSpiffeId);
    await evidence('entries-for-workload-id.json', JSON.stringify(forThisId, null, 2), 'application/json');
    expect(forThisId.map((entry) => entry.id)).toContain(result.entryId);
  } finally {
    api.close();
  }
});

control('REG-02', async ({ run, evidence, need }) => {
  const shown = await serverCli(need('spireBinaries'), run.config.spire.serverSocket, [
    'entry',
    'show',
    '-spiffeID',
    run.config.workloadSpiffeId,
  ]);
  await evidence('spire-server-entry-show.txt', shown.all ?? '');
  expect(shown.exitCode).toBe(0);
  const output = shown.stdout;
  expect(output).toContain(`SPIFFE ID        : ${run.config.workloadSpiffeId}`);
  expect(output).toContain(`Parent ID        : ${need('agentId')}`);
  for (const selector of dockerSelectors(run.config.workload.container, run.config.workload.namespace)) {
    expect(output).toContain(`${selector.type}:${selector.value}`);
  }
});
