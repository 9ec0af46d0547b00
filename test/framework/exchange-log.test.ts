// The workload's log lines as the suite reads them (identities whole, never by prefix) and the bounded re-reading of a
// server log that does not yet show a client's exchange when the client has returned (the KEEP=1 reuse race).
import { describe, expect, test } from 'vitest';
import { readExchangeFromServerLog } from '../../fixtures/exchange-log.ts';
import {
  countExact,
  logLines,
  receivedMessages,
  verifiedClientIds,
  verifiedServerIds,
} from '../../lib/workload-log.ts';

const WORKLOAD = 'spiffe://example.org/k8s-workload';
const CLIENT = 'spiffe://example.org/k8s-workload-client';

const verified = (id: string) => `[Server] ✅ VERIFIED CLIENT IDENTITY: ${id}`;
const received = (message: string) => `[Server] Received: ${JSON.stringify(message)}`;

describe('workload log lines', () => {
  test('an identity is the whole rest of its line: a longer ID sharing the prefix is another identity', () => {
    const log = [verified(WORKLOAD), verified(CLIENT), verified(CLIENT), `${verified(WORKLOAD)}\r`, ''].join('\n');
    expect(verifiedClientIds(log)).toEqual([WORKLOAD, CLIENT, CLIENT, WORKLOAD]);
    expect(countExact(verifiedClientIds(log), WORKLOAD)).toBe(2);
    expect(countExact(verifiedClientIds(log), CLIENT)).toBe(2);
  });

  test('a line that only contains the marker, or adds text after the ID, is not a verification', () => {
    const log = [`prefix ${verified(WORKLOAD)}`, `${verified(WORKLOAD)} and more`, '[Server] ❌ REJECTED CLIENT: x'];
    expect(verifiedClientIds(log.join('\n'))).toEqual([]);
  });

  test('server identities verified by a client, received messages decoded from their JSON form', () => {
    const log = [
      `[Client] ✅ VERIFIED SERVER IDENTITY: ${WORKLOAD}`,
      received('hello "quoted" world'),
      '[Server] Received: not json',
      '[Client] Server Replied: Secure Hello from SPIRE Server!',
    ].join('\n');
    expect(verifiedServerIds(log)).toEqual([WORKLOAD]);
    expect(receivedMessages(log)).toEqual(['hello "quoted" world']);
    expect(countExact(logLines(log), '[Client] Server Replied: Secure Hello from SPIRE Server!')).toBe(1);
  });
});

describe('readExchangeFromServerLog', () => {
  const exchange = { clientId: WORKLOAD, message: 'POD-08 run-1', verifiedBefore: 1 };

  test('reads again until the exchange shows: the line that arrives after the client returned is found', async () => {
    // The reuse race as it was seen: the first read still lacks the client's lines, a later one has them.
    const reads = [
      [verified(WORKLOAD), verified(CLIENT)],
      [verified(WORKLOAD), verified(CLIENT), verified(WORKLOAD)],
      [verified(WORKLOAD), verified(CLIENT), verified(WORKLOAD), received('POD-08 run-1')],
    ];
    let call = 0;
    const seen = await readExchangeFromServerLog(
      async () => (reads[Math.min(call++, reads.length - 1)] ?? []).join('\n'),
      exchange,
      { timeoutMs: 5000 },
    );
    expect(seen).toMatchObject({ verified: 2, received: true, reads: 3 });
  });

  test("another identity's verifications and another run's message do not count", async () => {
    const log = [verified(WORKLOAD), verified(CLIENT), verified(CLIENT), received('POD-08 run-0')].join('\n');
    const seen = await readExchangeFromServerLog(async () => log, exchange, { timeoutMs: 600 });
    expect(seen.verified).toBe(1);
    expect(seen.received).toBe(false);
    expect(seen.reads).toBeGreaterThan(1);
  });

  test('a log that can never be read is an error, not an empty verdict', async () => {
    await expect(
      readExchangeFromServerLog(
        async () => {
          throw new Error('kubelet unreachable');
        },
        exchange,
        { timeoutMs: 300 },
      ),
    ).rejects.toThrow(/kubelet unreachable/);
  });
});
