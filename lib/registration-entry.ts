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
