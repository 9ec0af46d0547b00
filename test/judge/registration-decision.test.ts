// K8SREG-01's registration decision: an entry is reused only under the agent that serves the workload's node; an
// entry with the wanted SPIFFE ID and selectors under another parent is never reused, never touched, and named.
import { describe, expect, test } from 'vitest';
import { type RegistrationEntry, registrationDecision, SUITE_ENTRY_HINT } from '../../lib/registration-entry.ts';

const AGENT = 'spiffe://example.org/spire/agent/join_token/current';
const STALE = 'spiffe://example.org/spire/agent/join_token/gone';
const ID = 'spiffe://example.org/k8s-workload';
const SELECTORS = ['k8s:ns:default', 'k8s:container-name:mtls-app', 'k8s:pod-label:app:mtls-demo'];
const wanted = { spiffeId: ID, parentId: AGENT, selectors: SELECTORS, x509SvidTtl: 30 };
const entry = (id: string, overrides: Partial<RegistrationEntry> = {}): RegistrationEntry => ({
  id,
  spiffeId: ID,
  parentId: AGENT,
  selectors: [...SELECTORS].reverse(),
  x509SvidTtl: 30,
  hint: SUITE_ENTRY_HINT,
  ...overrides,
});

describe('registrationDecision', () => {
  test('the wanted entry under the serving agent is reused, whoever created it', () => {
    expect(registrationDecision(wanted, [entry('e1', { hint: '' })])).toEqual({
      action: 'reuse',
      entry: entry('e1', { hint: '' }),
      stale: [],
      notReused: [],
    });
  });

  test('the same ID, selectors and TTL under another parent is not reused: the right one is created, the stale one named', () => {
    const decision = registrationDecision(wanted, [entry('old', { parentId: STALE, hint: '' })]);
    expect(decision).toEqual({
      action: 'create',
      replace: [],
      stale: [entry('old', { parentId: STALE, hint: '' })],
      notReused: [
        `entry old registers ${ID} with these selectors under ${STALE}, not under ${AGENT}, the agent serving the ` +
          `workload's node: not reused, and left as it is (not the suite's: its hint is "")`,
      ],
    });
  });

  test("a stale entry of the suite's own is not reused or deleted here either (the ledger's teardown deletes it)", () => {
    const decision = registrationDecision(wanted, [entry('kept', { parentId: STALE })]);
    expect(decision).toMatchObject({ action: 'create', replace: [], stale: [{ id: 'kept' }] });
    expect(decision.action === 'create' && decision.notReused[0]).toMatch(
      /the suite's own: in the ledger, deleted at teardown/,
    );
  });

  test('with the right entry under the serving agent too, that one is reused and the stale one still named', () => {
    const decision = registrationDecision(wanted, [entry('old', { parentId: STALE }), entry('right')]);
    expect(decision).toMatchObject({ action: 'reuse', entry: { id: 'right' } });
    expect(decision.action === 'reuse' && decision.notReused).toHaveLength(1);
  });

  test("under the serving agent: the suite's own with another TTL is replaced; somebody else's is a conflict", () => {
    expect(registrationDecision(wanted, [entry('own', { x509SvidTtl: 120 })])).toMatchObject({
      action: 'create',
      replace: [{ id: 'own' }],
    });
    const conflict = registrationDecision(wanted, [entry('theirs', { x509SvidTtl: 120, hint: 'ops' })]);
    expect(conflict.action).toBe('conflict');
    expect(conflict.action === 'conflict' && conflict.reason).toMatch(
      /entry theirs registers .* TTL of 120 s, not 30 s, and was not created by this suite \(its hint is "ops"/,
    );
  });

  test('another SPIFFE ID on these selectors under the serving agent is a conflict; under another parent it is ignored', () => {
    const other = entry('x', { spiffeId: 'spiffe://example.org/other' });
    expect(registrationDecision(wanted, [other]).action).toBe('conflict');
    expect(registrationDecision(wanted, [{ ...other, parentId: STALE }])).toEqual({
      action: 'create',
      replace: [],
      stale: [],
      notReused: [],
    });
  });

  test('no entry at all: create', () => {
    expect(registrationDecision(wanted, [])).toEqual({ action: 'create', replace: [], stale: [], notReused: [] });
  });
});
