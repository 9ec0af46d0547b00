// Phase 30: the workload's registration entry, made through the SPIRE Server Entry API (idempotent), proven entry by
// entry by the Entry API and by the output of `spire-server entry show` (the seed's Testing step 7), which must agree.
import { expect } from 'vitest';
import { control } from '../fixtures/control.ts';
import { EntryApi, selectorText } from '../fixtures/entry-api.ts';
import { dockerSelectors, ensureEntry, registrationsOf } from '../fixtures/registration.ts';
import { registrationProblems } from '../lib/registration-entry.ts';

control('REG-01', async ({ run, evidence, log, need, provide }) => {
  const parentId = need('agentId');
  const api = new EntryApi(run.config.spire.serverSocket);
  try {
    const selectors = dockerSelectors(run.config.workload.container, run.config.workload.namespace);
    const result = await ensureEntry(api, { spiffeId: run.config.workloadSpiffeId, parentId, selectors }, run.ledger);
    log(`entry ${result.entryId} ${result.action}`);
    provide('workloadEntryId', result.entryId);
    await evidence('registration.json', JSON.stringify(result, null, 2), 'application/json');
    const forThisId = await api.listBySpiffeId(run.config.workloadSpiffeId);
    await evidence('entries-for-workload-id.json', JSON.stringify(forThisId, null, 2), 'application/json');
    expect(
      forThisId.map((entry) => entry.id),
      `expected the Entry API to list entry ${result.entryId} for ${run.config.workloadSpiffeId}`,
    ).toContain(result.entryId);
  } finally {
    api.close();
  }
});

control('REG-02', async ({ run, evidence, need }) => {
  const spiffeId = run.config.workloadSpiffeId;
  const seen = await registrationsOf(need('spireBinaries'), run.config.spire.serverSocket, spiffeId);
  await evidence('spire-server-entry-show.txt', seen.cliOutput);
  await evidence('entry-api-entries.json', JSON.stringify(seen.api, null, 2), 'application/json');
  // REG-01 does not set a TTL, so any TTL is expected here; the two sources must still agree on it.
  const expected = {
    spiffeId,
    parentId: need('agentId'),
    selectors: dockerSelectors(run.config.workload.container, run.config.workload.namespace).map(selectorText),
  };
  const entryId = need('workloadEntryId');
  const problems = registrationProblems(expected, entryId, { 'Entry API': seen.api, 'entry show': seen.cli });
  expect(
    problems,
    `entry ${entryId} should be ${JSON.stringify(expected)} in the Entry API and in entry show alike`,
  ).toEqual([]);
});
