// Phase 55: the workload's entry for Kubernetes, with the selectors of the attestation mode: docker labels on Docker
// runtimes (the seed's), the kubelet's view of the pod on containerd. A short X.509-SVID TTL makes rotation observable
// within the run (phase 90).
import { expect } from 'vitest';
import { attestationMode } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { EntryApi, type Selector, selectorText } from '../fixtures/entry-api.ts';
import {
  dockerSelectors,
  ensureEntry,
  k8sSelectors,
  registrationEntry,
  registrationsOf,
} from '../fixtures/registration.ts';
import type { RunContext } from '../fixtures/run-context.ts';
import { podLabel } from '../lib/config.ts';
import { entryDifferences, registrationProblems } from '../lib/registration-entry.ts';

function workloadSelectors(run: RunContext): Selector[] {
  return attestationMode(run) === 'k8s'
    ? k8sSelectors(run.config.workload.namespace, run.config.workload.container, podLabel(run.config))
    : dockerSelectors(run.config.workload.container, run.config.workload.namespace);
}

control('K8SREG-01', async ({ run, evidence, log, need, provide }) => {
  const api = new EntryApi(run.config.spire.serverSocket);
  try {
    const result = await ensureEntry(
      api,
      {
        spiffeId: run.config.workloadSpiffeId,
        parentId: need('agentId'),
        selectors: workloadSelectors(run),
        x509SvidTtl: run.config.rotation.x509SvidTtlSeconds,
      },
      run.ledger,
    );
    log(`entry ${result.entryId} ${result.action} (${attestationMode(run)} selectors)`);
    for (const line of result.notReused) log(line);
    provide('k8sEntryId', result.entryId);
    await evidence('registration.json', JSON.stringify(result, null, 2), 'application/json');
    // The entry as the Entry API answered: under the agent serving the workload's node, with the wanted TTL.
    const expected = {
      spiffeId: run.config.workloadSpiffeId,
      parentId: need('agentId'),
      selectors: workloadSelectors(run).map(selectorText),
      x509SvidTtl: run.config.rotation.x509SvidTtlSeconds,
    };
    expect(
      entryDifferences(expected, registrationEntry(result.entry), 'Entry API'),
      `expected entry ${result.entryId} (${result.action}) to be ${JSON.stringify(expected)}`,
    ).toEqual([]);
  } finally {
    api.close();
  }
});

control('K8SREG-02', async ({ run, evidence, need }) => {
  const spiffeId = run.config.workloadSpiffeId;
  const seen = await registrationsOf(need('spireBinaries'), run.config.spire.serverSocket, spiffeId);
  await evidence('spire-server-entry-show.txt', seen.cliOutput);
  await evidence('entry-api-entries.json', JSON.stringify(seen.api, null, 2), 'application/json');
  const expected = {
    spiffeId,
    parentId: need('agentId'),
    selectors: workloadSelectors(run).map(selectorText),
    x509SvidTtl: run.config.rotation.x509SvidTtlSeconds,
  };
  const entryId = need('k8sEntryId');
  const problems = registrationProblems(expected, entryId, { 'Entry API': seen.api, 'entry show': seen.cli });
  expect(
    problems,
    `entry ${entryId} should be ${JSON.stringify(expected)} in the Entry API and in entry show alike`,
  ).toEqual([]);
});
