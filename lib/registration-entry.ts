// A registration entry as the judge compares it, whatever source it came from (the Entry API or the CLI), and the
// comparison itself: every field that identifies what a workload gets, each difference said in a sentence.

export interface RegistrationEntry {
  id: string;
  spiffeId: string;
  parentId: string;
  /** `type:value`, in the order the source gave them. */
  selectors: string[];
  /** Seconds; 0 = the server's default. */
  x509SvidTtl: number;
  /** The entry's hint (`entry show` prints it as "Hint"); absent when the source does not show one. */
  hint?: string;
}

/**
 * The mark on every entry the suite creates (the entry's hint): an administrator sees it in `entry show`, and the
 * suite changes or deletes only entries that carry it.
 */
export const SUITE_ENTRY_HINT = 'spire-k8s-validation';

/** What a registration must be; `x509SvidTtl` undefined = the registrant does not set it (any TTL is expected). */
export type ExpectedEntry = Omit<RegistrationEntry, 'id' | 'x509SvidTtl' | 'hint'> & {
  x509SvidTtl?: number;
  hint?: string;
};

const sorted = (selectors: string[]) => [...selectors].sort();
const ttlText = (ttl: number) => (ttl === 0 ? 'default (0)' : `${ttl} s`);

/**
 * How `seen` (named `source`) differs from `expected`, one sentence per field; empty when they are the same entry.
 * Selectors are compared as sets, exactly: a missing one and an extra one are both differences.
 */
export function entryDifferences(expected: ExpectedEntry | RegistrationEntry, seen: RegistrationEntry, source: string) {
  const differences: string[] = [];
  if ('id' in expected && expected.id !== seen.id)
    differences.push(`${source}: entry ID is ${seen.id}, expected ${expected.id}`);
  if (seen.spiffeId !== expected.spiffeId)
    differences.push(`${source}: SPIFFE ID is ${seen.spiffeId || '(none)'}, expected ${expected.spiffeId}`);
  if (seen.parentId !== expected.parentId)
    differences.push(`${source}: parent ID is ${seen.parentId || '(none)'}, expected ${expected.parentId}`);
  const want = sorted(expected.selectors);
  const got = sorted(seen.selectors);
  const missing = want.filter((selector) => !got.includes(selector));
  const extra = got.filter((selector) => !want.includes(selector));
  const duplicated = got.length !== new Set(got).size;
  if (missing.length > 0 || extra.length > 0 || duplicated)
    differences.push(
      `${source}: selectors are [${got.join(', ')}], expected exactly [${want.join(', ')}]` +
        (missing.length > 0 ? `; missing ${missing.join(', ')}` : '') +
        (extra.length > 0 ? `; unexpected ${extra.join(', ')}` : ''),
    );
  if (expected.x509SvidTtl !== undefined && seen.x509SvidTtl !== expected.x509SvidTtl)
    differences.push(
      `${source}: X.509-SVID TTL is ${ttlText(seen.x509SvidTtl)}, expected ${ttlText(expected.x509SvidTtl)}`,
    );
  if (expected.hint !== undefined && seen.hint !== undefined && seen.hint !== expected.hint)
    differences.push(`${source}: hint is "${seen.hint}", expected "${expected.hint}"`);
  return differences;
}

/**
 * What is wrong with registration `entryId`, as two independent sources show it (the Entry API and the CLI, each
 * already split into entries): it must be in both, equal to `expected` in each, and the two must agree.
 */
export function registrationProblems(
  expected: ExpectedEntry,
  entryId: string,
  sources: Record<string, RegistrationEntry[]>,
): string[] {
  const problems: string[] = [];
  const found: Array<[string, RegistrationEntry]> = [];
  for (const [source, entries] of Object.entries(sources)) {
    const entry = entries.find((candidate) => candidate.id === entryId);
    if (!entry) {
      problems.push(
        `${source}: no entry ${entryId} among the ${entries.length} entries for ${expected.spiffeId}` +
          ` (${entries.map((candidate) => candidate.id).join(', ') || 'none'})`,
      );
      continue;
    }
    problems.push(...entryDifferences(expected, entry, source));
    found.push([source, entry]);
  }
  const [first, ...others] = found;
  for (const [source, entry] of others) {
    if (first) problems.push(...entryDifferences(first[1], entry, `${source} disagrees with ${first[0]}`));
  }
  return problems;
}

/** What a registrant wants: the SPIFFE ID under the agent serving the workload's node, with exactly these selectors. */
export interface WantedEntry {
  spiffeId: string;
  /** The agent that serves the workload's node: the only parent an entry may have to be reused. */
  parentId: string;
  /** `type:value`. */
  selectors: string[];
  /** Seconds; 0 or undefined = any TTL will do when reusing, the server's default when creating. */
  x509SvidTtl?: number;
}

/**
 * What to do with the entries that have exactly the wanted selectors: `reuse` one that is the wanted entry under the
 * serving agent; `conflict` when one under that agent stands in the way and is not the suite's to change; otherwise
 * `create` it, first deleting the suite's own entries under that agent that differ (`replace`). An entry with the
 * wanted ID and selectors under another parent is never reused (that agent does not serve this node): it is left as
 * it is, whoever made it — the suite deletes nothing outside this agent — and `notReused` says so in a sentence.
 */
export type EntryDecision =
  | ({ action: 'reuse'; entry: RegistrationEntry } & NotReused)
  | { action: 'conflict'; reason: string }
  | ({ action: 'create'; replace: RegistrationEntry[] } & NotReused);

interface NotReused {
  /** The entries with the wanted ID and selectors under another parent: left as they are. */
  stale: RegistrationEntry[];
  /** One sentence per stale entry, naming its parent and the serving agent. */
  notReused: string[];
}

const ttlSentence = (ttl: number) => (ttl === 0 ? "the server's default (0)" : `${ttl} s`);

export function registrationDecision(wanted: WantedEntry, sameSelectors: RegistrationEntry[]): EntryDecision {
  const wantedTtl = wanted.x509SvidTtl ?? 0;
  const ours = (entry: RegistrationEntry) => entry.hint === SUITE_ENTRY_HINT;
  const underAgent = sameSelectors.filter((entry) => entry.parentId === wanted.parentId);
  const stale = sameSelectors.filter(
    (entry) => entry.parentId !== wanted.parentId && entry.spiffeId === wanted.spiffeId,
  );
  const notReused = stale.map(
    (entry) =>
      `entry ${entry.id} registers ${wanted.spiffeId} with these selectors under ${entry.parentId || '(no parent)'}, ` +
      `not under ${wanted.parentId}, the agent serving the workload's node: not reused, and left as it is ` +
      `(${ours(entry) ? "the suite's own: in the ledger, deleted at teardown" : `not the suite's: its hint is "${entry.hint ?? ''}"`})`,
  );
  const equal = underAgent.find(
    (entry) => entry.spiffeId === wanted.spiffeId && (wantedTtl === 0 || entry.x509SvidTtl === wantedTtl),
  );
  if (equal) return { action: 'reuse', entry: equal, stale, notReused };
  const selectorList = [...wanted.selectors].sort().join(', ');
  const otherIds = underAgent.filter((entry) => entry.spiffeId !== wanted.spiffeId);
  if (otherIds.length > 0)
    return {
      action: 'conflict',
      reason:
        `entry ${otherIds.map((e) => `${e.id} (${e.spiffeId})`).join(', ')} already maps selectors ` +
        `[${selectorList}] under ${wanted.parentId} to another SPIFFE ID; ` +
        "delete it (spire-server entry delete -entryID <id>) or change the workload's selectors",
    };
  // Same ID and selectors under the serving agent with another TTL: the suite replaces its own, never somebody else's.
  const foreign = underAgent.filter((entry) => !ours(entry));
  const [first] = foreign;
  if (first)
    return {
      action: 'conflict',
      reason:
        `entry ${foreign.map((e) => e.id).join(', ')} registers ${wanted.spiffeId} under ${wanted.parentId} with ` +
        `these selectors and an X.509-SVID TTL of ${ttlSentence(first.x509SvidTtl)}, not ${ttlSentence(wantedTtl)}, ` +
        `and was not created by this suite (its hint is "${first.hint ?? ''}", not "${SUITE_ENTRY_HINT}"): the suite ` +
        'never changes or deletes an entry it did not create. Give it the TTL yourself (spire-server entry update ' +
        `-entryID ${first.id} … -x509SVIDTTL ${wantedTtl}) or set rotation.x509SvidTtlSeconds to its TTL`,
    };
  return { action: 'create', replace: underAgent, stale, notReused };
}
