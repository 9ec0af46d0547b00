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
        { id: AGENT, expiresAt: NOW - 1 },
        AGENT,
        [record(AGENT, { banned: true, x509SvidExpiresAt: NOW - 60 })],
        NOW,
      ),
    ).toEqual([
      `the agent's own SVID ${AGENT} expired at 2027-01-15T07:59:59.000Z (now 2027-01-15T08:00:00.000Z)`,
      `the server lists the agent ${AGENT} as banned`,
      `the server's record of ${AGENT} holds an X.509-SVID that expired at 2027-01-15T07:59:00.000Z (now 2027-01-15T08:00:00.000Z)`,
    ]);
    expect(agentAttestationProblems(undefined, AGENT, [record(AGENT)], NOW)).toEqual([
      'the agent serving the socket reported no SVID of its own (not attested yet)',
    ]);
  });
});
