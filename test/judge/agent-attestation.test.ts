import { describe, expect, test } from 'vitest';
import { type AgentRecord, agentAttestationProblems } from '../../lib/agent-attestation.ts';

const NOW = 1_800_000_000;
const AGENT = 'spiffe://example.org/spire/agent/join_token/t1';
const OTHER = 'spiffe://example.org/spire/agent/join_token/t0';
const record = (id: string, overrides: Partial<AgentRecord> = {}): AgentRecord => ({
  id,
  attestationType: 'join_token',
  banned: false,
  x509SvidExpiresAt: NOW + 3600,
  x509SvidSerial: '4660',
  ...overrides,
});

describe('agentAttestationProblems: the agent serving the socket, as the server knows it', () => {
  test('the agent attested, listed, not banned, SVID valid, and the parent of the entries: no problem', () => {
    expect(
      agentAttestationProblems({ id: AGENT, expiresAt: NOW + 3600 }, AGENT, [record(OTHER), record(AGENT)], NOW),
    ).toEqual([]);
  });

  test('a reused agent that the server does not list fails, even when the server lists another agent', () => {
    // The old check took the ID from the server's list and found it in the same list: this case passed.
    expect(agentAttestationProblems({ id: AGENT, expiresAt: NOW + 3600 }, OTHER, [record(OTHER)], NOW)).toEqual([
      `the agent serving the socket is ${AGENT}, but the workload entries are parented to ${OTHER}: its workloads would get no SVID`,
      `the server does not list the agent ${AGENT} among its 1 attested agents (${OTHER})`,
    ]);
  });

  test('an expired record, a banned agent, an expired own SVID, no SVID at all: each named', () => {
    expect(
      agentAttestationProblems(
        { id: AGENT, expiresAt: NOW - 60 },
        AGENT,
        [record(AGENT, { banned: true, x509SvidExpiresAt: NOW - 60 })],
        NOW,
      ),
    ).toEqual([
      `the agent's own SVID ${AGENT} expired at 2027-01-15T07:59:00.000Z (now 2027-01-15T08:00:00.000Z)`,
      `the server lists the agent ${AGENT} as banned`,
      `the server's record of ${AGENT} holds an X.509-SVID that expired at 2027-01-15T07:59:00.000Z (now 2027-01-15T08:00:00.000Z)`,
    ]);
    expect(agentAttestationProblems(undefined, AGENT, [record(AGENT)], NOW)).toEqual([
      'the agent serving the socket reported no SVID of its own (not attested yet)',
    ]);
  });

  // On an adopted agent the entries' parent is the ID the agent reports, so comparing the two proves nothing: the
  // parent is judged by the server's record of it, which must hold the SVID the agent presents.
  test("the server's record of the parent holds another SVID (expiry, serial): each named", () => {
    expect(
      agentAttestationProblems(
        { id: AGENT, expiresAt: NOW + 1800, serialHex: '1235' },
        AGENT,
        [record(AGENT, { x509SvidSerial: '4660' })],
        NOW,
      ),
    ).toEqual([
      `the server's record of ${AGENT} holds an X.509-SVID expiring at 2027-01-15T09:00:00.000Z, but the agent ` +
        'presents one expiring at 2027-01-15T08:30:00.000Z: not the SVID the server issued it',
      `the server's record of ${AGENT} holds X.509-SVID serial 4660, but the agent holds serial 4661 (hex 1235): ` +
        'not the SVID the server issued it',
    ]);
  });

  test('the same SVID on both sides (serial 0x1234 = 4660): no problem; an unknown serial is not compared', () => {
    const own = { id: AGENT, expiresAt: NOW + 3600 };
    expect(agentAttestationProblems({ ...own, serialHex: '1234' }, AGENT, [record(AGENT)], NOW)).toEqual([]);
    expect(agentAttestationProblems(own, AGENT, [record(AGENT, { x509SvidSerial: '' })], NOW)).toEqual([]);
  });

  test('attested by another node attestor than the suite used, or by none: named', () => {
    const own = { id: AGENT, expiresAt: NOW + 3600 };
    expect(
      agentAttestationProblems(own, AGENT, [record(AGENT, { attestationType: 'x509pop' })], NOW, {
        attestationType: 'join_token',
      }),
    ).toEqual([
      `the server's record of ${AGENT} says it was attested by x509pop, expected join_token (how the suite attested it)`,
    ]);
    expect(agentAttestationProblems(own, AGENT, [record(AGENT, { attestationType: 'x509pop' })], NOW)).toEqual([]);
    expect(agentAttestationProblems(own, AGENT, [record(AGENT, { attestationType: '' })], NOW)).toEqual([
      `the server's record of ${AGENT} names no attestation type: it was never node-attested`,
    ]);
  });
});
