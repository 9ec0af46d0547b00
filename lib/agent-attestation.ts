// Is the agent serving the Workload API socket attested by the server? The agent's own SVID (what the agent says it
// is) is matched to the server's record of attested agents: the ID must be listed, not banned, with an X.509-SVID
// that has not expired, and it must be the ID the workload entries name as their parent. The parent is then judged by
// what the server says of it, not by the agent again: the server's record of that ID must hold the very SVID the
// agent presents (same expiry, same serial) and an attestation type (the one expected, when the suite attested it).

export interface AgentRecord {
  id: string;
  attestationType: string;
  banned: boolean;
  /** Unix seconds. */
  x509SvidExpiresAt: number;
  /** The serial number of the X.509-SVID the server last issued it and saw it use, in decimal ('' when unknown). */
  x509SvidSerial: string;
}

export interface AgentOwnSvid {
  id: string;
  /** Unix seconds. */
  expiresAt: number;
  /** The serial of the SVID the agent holds (lowercase hex, from the certificate); undefined when not readable. */
  serialHex?: string;
}

export interface AttestationExpectation {
  /** The node attestor that attested the agent, when the suite attested it ('join_token'); any otherwise. */
  attestationType?: string;
}

const decimal = (hex: string) => (/^[0-9a-f]+$/i.test(hex) ? BigInt(`0x${hex}`).toString() : hex);

const when = (seconds: number) => new Date(seconds * 1000).toISOString();

/** Every reason the agent is not attested as required; empty when it is. */
export function agentAttestationProblems(
  own: AgentOwnSvid | undefined,
  parentId: string,
  records: AgentRecord[],
  nowSeconds: number,
  expectation: AttestationExpectation = {},
): string[] {
  if (!own || own.id === '') return ['the agent serving the socket reported no SVID of its own (not attested yet)'];
  const problems: string[] = [];
  if (own.expiresAt <= nowSeconds)
    problems.push(`the agent's own SVID ${own.id} expired at ${when(own.expiresAt)} (now ${when(nowSeconds)})`);
  if (own.id !== parentId)
    problems.push(
      `the agent serving the socket is ${own.id}, but the workload entries are parented to ${parentId}: ` +
        'its workloads would get no SVID',
    );
  const record = records.find((candidate) => candidate.id === own.id);
  if (!record) {
    problems.push(
      `the server does not list the agent ${own.id} among its ${records.length} attested agents ` +
        `(${records.map((candidate) => candidate.id).join(', ') || 'none'})`,
    );
    return problems;
  }
  if (record.banned) problems.push(`the server lists the agent ${own.id} as banned`);
  if (record.attestationType === '')
    problems.push(`the server's record of ${own.id} names no attestation type: it was never node-attested`);
  else if (expectation.attestationType && record.attestationType !== expectation.attestationType)
    problems.push(
      `the server's record of ${own.id} says it was attested by ${record.attestationType}, expected ` +
        `${expectation.attestationType} (how the suite attested it)`,
    );
  if (record.x509SvidExpiresAt !== own.expiresAt)
    problems.push(
      `the server's record of ${own.id} holds an X.509-SVID expiring at ${when(record.x509SvidExpiresAt)}, but the ` +
        `agent presents one expiring at ${when(own.expiresAt)}: not the SVID the server issued it`,
    );
  if (own.serialHex !== undefined && decimal(own.serialHex) !== record.x509SvidSerial)
    problems.push(
      `the server's record of ${own.id} holds X.509-SVID serial ${record.x509SvidSerial || '(none)'}, but the agent ` +
        `holds serial ${decimal(own.serialHex)} (hex ${own.serialHex}): not the SVID the server issued it`,
    );
  if (record.x509SvidExpiresAt <= nowSeconds)
    problems.push(
      `the server's record of ${own.id} holds an X.509-SVID that expired at ${when(record.x509SvidExpiresAt)} ` +
        `(now ${when(nowSeconds)})`,
    );
  return problems;
}
