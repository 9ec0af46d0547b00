import { describe, expect, test } from 'vitest';
import { EntryShowError, parseEntryShow } from '../../lib/entry-show.ts';
import { type ExpectedEntry, entryDifferences, registrationProblems } from '../../lib/registration-entry.ts';

const AGENT = 'spiffe://example.org/spire/agent/join_token/abc';
const OTHER_AGENT = 'spiffe://example.org/spire/agent/join_token/other';

// Two entries for the same SPIFFE ID, as `entry show -spiffeID` prints them (SPIRE 1.13 layout): the first has the
// right parent but only one of the selectors, the second has the other selector under another parent. A match across
// the whole output finds every expected line; a per-entry parse finds neither entry right.
const TWO_HALVES = `Found 2 entries
Entry ID         : 11111111-aaaa
SPIFFE ID        : spiffe://example.org/k8s-workload
Parent ID        : ${AGENT}
Revision         : 0
X509-SVID TTL    : default
JWT-SVID TTL     : default
Selector         : k8s:ns:default

Entry ID         : 22222222-bbbb
SPIFFE ID        : spiffe://example.org/k8s-workload
Parent ID        : ${OTHER_AGENT}
Revision         : 3
X509-SVID TTL    : 60
JWT-SVID TTL     : default
Expiration time  : 2030-01-01 00:00:00 +0000 UTC
Selector         : k8s:container-name:mtls-app
Hint             : x

`;

const EXPECTED: ExpectedEntry = {
  spiffeId: 'spiffe://example.org/k8s-workload',
  parentId: AGENT,
  selectors: ['k8s:ns:default', 'k8s:container-name:mtls-app'],
};

describe('parseEntryShow splits entry show into its entries', () => {
  test('each entry keeps its own fields', () => {
    expect(parseEntryShow(TWO_HALVES)).toEqual([
      {
        id: '11111111-aaaa',
        spiffeId: 'spiffe://example.org/k8s-workload',
        parentId: AGENT,
        x509SvidTtl: 0,
        selectors: ['k8s:ns:default'],
        hint: '',
      },
      {
        id: '22222222-bbbb',
        spiffeId: 'spiffe://example.org/k8s-workload',
        parentId: OTHER_AGENT,
        x509SvidTtl: 60,
        selectors: ['k8s:container-name:mtls-app'],
        hint: 'x',
      },
    ]);
  });

  test('lines of two entries do not combine: neither half matches the expected entry', () => {
    const [first, second] = parseEntryShow(TWO_HALVES);
    expect(first && entryDifferences(EXPECTED, first, 'cli')).toEqual([
      'cli: selectors are [k8s:ns:default], expected exactly [k8s:container-name:mtls-app, k8s:ns:default]; missing k8s:container-name:mtls-app',
    ]);
    expect(second && entryDifferences(EXPECTED, second, 'cli')).toEqual([
      `cli: parent ID is ${OTHER_AGENT}, expected ${AGENT}`,
      'cli: selectors are [k8s:container-name:mtls-app], expected exactly [k8s:container-name:mtls-app, k8s:ns:default]; missing k8s:ns:default',
    ]);
  });

  test("the suite's mark (the hint) is compared when expected, and between the two sources", () => {
    const [, second] = parseEntryShow(TWO_HALVES);
    if (!second) throw new Error('expected a second entry');
    expect(entryDifferences({ ...second, hint: 'spire-k8s-validation' }, second, 'cli')).toEqual([
      'cli: hint is "x", expected "spire-k8s-validation"',
    ]);
    expect(
      entryDifferences({ ...EXPECTED, parentId: OTHER_AGENT, selectors: second.selectors }, second, 'cli'),
    ).toEqual([]);
  });

  test('no entries', () => {
    expect(parseEntryShow('Found 0 entries\n')).toEqual([]);
  });

  test.each([
    ['a count that disagrees', TWO_HALVES.replace('Found 2', 'Found 3'), /announces 3 entries but holds 2/],
    ['no Found line', TWO_HALVES.split('\n').slice(1).join('\n'), /no "Found N entries" line/],
    ['a field before any entry', 'Found 1 entry\nSPIFFE ID        : spiffe://example.org/x\n', /before any "Entry ID"/],
    [
      'an entry without its parent',
      'Found 1 entry\nEntry ID         : 1\nSPIFFE ID        : spiffe://e/x\nX509-SVID TTL    : default\n',
      /has no parentId/,
    ],
    [
      'a second SPIFFE ID in one entry',
      TWO_HALVES.replace('Revision         : 0', 'SPIFFE ID        : spiffe://example.org/x'),
      /a second SPIFFE ID line/,
    ],
    [
      'a TTL that is not a number',
      TWO_HALVES.replace('X509-SVID TTL    : 60', 'X509-SVID TTL    : 1m'),
      /neither a number nor "default"/,
    ],
    ['an error message instead of entries', 'Error: rpc error: code = Unavailable\n', /comes before any "Entry ID"/],
  ])('rejects %s', (_, output, message) => {
    expect(() => parseEntryShow(output)).toThrow(EntryShowError);
    expect(() => parseEntryShow(output)).toThrow(message);
  });
});

describe('entryDifferences compares one entry field by field', () => {
  const seen = { id: 'e1', ...EXPECTED, selectors: [...EXPECTED.selectors].reverse(), x509SvidTtl: 60 };

  test('the same entry (selector order aside) has no differences', () => {
    expect(entryDifferences({ ...EXPECTED, x509SvidTtl: 60 }, seen, 'api')).toEqual([]);
    expect(entryDifferences(seen, { ...seen }, 'cli')).toEqual([]);
  });

  test('an extra selector, another TTL, another ID are each named', () => {
    expect(
      entryDifferences(
        { ...EXPECTED, x509SvidTtl: 0 },
        { ...seen, selectors: [...seen.selectors, 'k8s:sa:default'] },
        'api',
      ),
    ).toEqual([
      'api: selectors are [k8s:container-name:mtls-app, k8s:ns:default, k8s:sa:default], expected exactly [k8s:container-name:mtls-app, k8s:ns:default]; unexpected k8s:sa:default',
      'api: X.509-SVID TTL is 60 s, expected default (0)',
    ]);
    expect(entryDifferences(seen, { ...seen, id: 'e2', spiffeId: 'spiffe://example.org/other' }, 'cli')).toEqual([
      'cli: entry ID is e2, expected e1',
      'cli: SPIFFE ID is spiffe://example.org/other, expected spiffe://example.org/k8s-workload',
    ]);
  });

  test('a duplicated selector is a difference', () => {
    expect(
      entryDifferences(EXPECTED, { ...seen, selectors: [...seen.selectors, 'k8s:ns:default'] }, 'cli'),
    ).toHaveLength(1);
  });
});

describe('registrationProblems: one entry, two sources, exactly as expected', () => {
  const right = { id: 'e1', ...EXPECTED, x509SvidTtl: 60 };

  test('the same entry in both sources passes', () => {
    expect(registrationProblems(EXPECTED, 'e1', { api: [right], cli: [{ ...right }] })).toEqual([]);
  });

  test('the entry missing from one source, or the sources disagreeing, fails with a sentence', () => {
    expect(registrationProblems(EXPECTED, 'e1', { api: [right], cli: [] })).toEqual([
      'cli: no entry e1 among the 0 entries for spiffe://example.org/k8s-workload (none)',
    ]);
    // A TTL REG-01 does not pin is still compared between the sources.
    expect(registrationProblems(EXPECTED, 'e1', { api: [right], cli: [{ ...right, x509SvidTtl: 0 }] })).toEqual([
      'cli disagrees with api: X.509-SVID TTL is default (0), expected 60 s',
    ]);
  });

  test('the halves of TWO_HALVES, parsed, never pass for either entry id', () => {
    const cli = parseEntryShow(TWO_HALVES);
    for (const id of ['11111111-aaaa', '22222222-bbbb'])
      expect(registrationProblems(EXPECTED, id, { cli }).length, id).toBeGreaterThan(0);
  });
});
