// Is the agent serving the Workload API socket attested by the server? The agent's own SVID (what the agent says it
// is) is matched to the server's record of attested agents: the ID must be listed, not banned, with an X.509-SVID
// that has not expired, and it must be the ID the workload entries name as their parent.

export interface AgentRecord {
  id: string;
  attestationType: string;
  banned: boolean;
  /** Unix seconds. */
  x509SvidExpiresAt: number;
}

export interface AgentOwnSvid {
  id: string;
  /** Unix seconds. */
  expiresAt: number;
}

const when = (seconds: number) => new Date(seconds * 1000).toISOString();

/** Every reason the agent is not attested as required; empty when it is. */
export function agentAttestationProblems(
  own: AgentOwnSvid | undefined,
  parentId: string,
  records: AgentRecord[],
  nowSeconds: number,
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
  if (record.x509SvidExpiresAt <= nowSeconds)
    problems.push(
      `the server's record of ${own.id} holds an X.509-SVID that expired at ${when(record.x509SvidExpiresAt)} ` +
        `(now ${when(nowSeconds)})`,
    );
  return problems;
}
