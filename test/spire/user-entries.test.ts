// The suite shares a SPIRE server with its owner's entries: against a real spire-server (the provisioned 1.13 build,
// on sockets of its own), it reuses an equal entry without changing it, refuses to change one it did not create,
// marks and records what it creates, and its teardown deletes exactly its own entries.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { provisionSpire } from '../../fixtures/artifacts/index.ts';
import { EntryApi, type EntryMessage } from '../../fixtures/entry-api.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { ensureEntry, RegistrationConflict, registrationsOf } from '../../fixtures/registration.ts';
import { ensureSpireServer, type SpireBinaries, serverCli } from '../../fixtures/spire.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { SUITE_ENTRY_HINT } from '../../lib/registration-entry.ts';

const PARENT = 'spiffe://example.org/user/agent';
const USER_ID = 'spiffe://example.org/user-workload';
const USER_SELECTORS = [{ type: 'unix', value: 'uid:4242' }];

const scratch = mkdtempSync(join(tmpdir(), 'user-entries-'));
/** The server process's ledger, and the entries' (so that the entries' teardown can be run on its own). */
const serverLedger = new Ledger(join(scratch, 'server-ledger.json'));
const ledger = new Ledger(join(scratch, 'ledger.json'));
let config: SuiteConfig;
let binaries: SpireBinaries;
let api: EntryApi;

beforeAll(async () => {
  const base = loadConfig({ env: { ...process.env, SPIRE_VALIDATION_OFFLINE: process.env.SPIRE_VALIDATION_OFFLINE } });
  config = {
    ...base,
    spire: {
      ...base.spire,
      mode: 'auto',
      serverSocket: join(scratch, 'server', 'api.sock'),
      agentSocket: join(scratch, 'agent', 'api.sock'),
      serverPort: 18091,
      workDir: join(scratch, 'work'),
    },
  };
  const spire = await provisionSpire(base, () => {});
  binaries = { server: spire.paths.server as string, agent: spire.paths.agent as string };
  await ensureSpireServer({ config, binaries, ledger: serverLedger, log: () => {} });
  api = new EntryApi(config.spire.serverSocket);
  // The owner's entry, made with the CLI as an administrator would: no hint, the server's default TTL.
  const created = await serverCli(binaries, config.spire.serverSocket, [
    'entry',
    'create',
    '-spiffeID',
    USER_ID,
    '-parentID',
    PARENT,
    '-selector',
    'unix:uid:4242',
  ]);
  expect(created.exitCode, created.all).toBe(0);
}, 180_000);

afterAll(async () => {
  api?.close();
  await ledger.stopAll();
  await serverLedger.stopAll();
});

const userEntry = async (): Promise<EntryMessage> => {
  const [entry] = await api.listBySpiffeId(USER_ID);
  if (!entry) throw new Error(`expected the owner's entry for ${USER_ID} to exist`);
  return entry;
};
const entriesInLedger = () => ledger.started.filter((resource) => resource.kind === 'spire-entry');

describe("the owner's entries are never changed", () => {
  test('an equal entry is reused as it is, and not recorded for deletion', async () => {
    const before = await userEntry();
    const result = await ensureEntry(api, { spiffeId: USER_ID, parentId: PARENT, selectors: USER_SELECTORS }, ledger);
    expect(result).toMatchObject({ action: 'reused', createdBySuite: false, entryId: before.id });
    expect(entriesInLedger()).toEqual([]);
    expect(await userEntry()).toEqual(before);
  });

  test('the same entry with another TTL is a conflict naming the rule; the entry is left exactly as it was', async () => {
    const before = await userEntry();
    const attempt = ensureEntry(
      api,
      { spiffeId: USER_ID, parentId: PARENT, selectors: USER_SELECTORS, x509SvidTtl: 120 },
      ledger,
    );
    await expect(attempt).rejects.toThrow(RegistrationConflict);
    await expect(attempt).rejects.toThrow(/was not created by this suite .* never changes or deletes an entry/);
    expect(await userEntry()).toEqual(before);
    expect(entriesInLedger()).toEqual([]);
  });
});

describe("the suite's entries are marked, recorded, replaced and deleted by it alone", () => {
  const OWN_ID = 'spiffe://example.org/suite-workload';
  const OWN_SELECTORS = [{ type: 'unix', value: 'uid:4343' }];

  test('a created entry carries the hint (as entry show prints it) and is in the ledger', async () => {
    const result = await ensureEntry(
      api,
      { spiffeId: OWN_ID, parentId: PARENT, selectors: OWN_SELECTORS, x509SvidTtl: 120 },
      ledger,
    );
    expect(result).toMatchObject({ action: 'created', createdBySuite: true });
    const seen = await registrationsOf(binaries, config.spire.serverSocket, OWN_ID);
    expect(seen.cliOutput).toMatch(new RegExp(`Hint\\s*:\\s*${SUITE_ENTRY_HINT}`));
    expect(seen.cli.map((entry) => entry.hint)).toEqual([SUITE_ENTRY_HINT]);
    expect(seen.api.map((entry) => entry.hint)).toEqual([SUITE_ENTRY_HINT]);
    expect(entriesInLedger().map((resource) => resource.id)).toEqual([result.entryId]);
  });

  test('its own entry with another TTL is replaced, and the ledger follows', async () => {
    const [old] = entriesInLedger();
    const result = await ensureEntry(
      api,
      { spiffeId: OWN_ID, parentId: PARENT, selectors: OWN_SELECTORS, x509SvidTtl: 300 },
      ledger,
    );
    expect(result).toMatchObject({ action: 'created', createdBySuite: true });
    expect(result.entryId).not.toBe(old?.id);
    expect(entriesInLedger().map((resource) => resource.id)).toEqual([result.entryId]);
  });

  test("teardown deletes the suite's entries and leaves the owner's", async () => {
    const userBefore = await userEntry();
    const lines = await new Ledger(ledger.file).stopAll();
    expect(lines.find((line) => line.includes('registration entry'))).toMatch(/: deleted$/);
    expect(await api.listBySpiffeId(OWN_ID)).toEqual([]);
    expect(await userEntry()).toEqual(userBefore);
  });
});
