// The judges of the workload's own log lines: the SVID fetch names the workload's ID exactly (POD-01), and the
// pod-to-pod client carries on through a rotation without a single failed exchange (ROT-02).
import { describe, expect, test } from 'vitest';
import { judgeExchangesThroughRotation, svidFetchProblems, type TimedLine } from '../../lib/workload-log.ts';

const WORKLOAD = 'spiffe://example.org/k8s-workload';
const CLIENT = 'spiffe://example.org/k8s-workload-client';
const fetchLog = (id: string) =>
  [
    '[SVID Fetch] Calling SPIRE Agent API at unix:///tmp/spire-agent/public/api.sock...',
    '✅ Successfully fetched SVIDs!',
    `SPIFFE ID: ${id}`,
    'SVID serial: 0a1b',
  ].join('\n');

describe('svidFetchProblems (POD-01)', () => {
  test("the workload's own ID on its line: no problem, also with a runtime's \\r\\n", () => {
    expect(svidFetchProblems(fetchLog(WORKLOAD), WORKLOAD)).toEqual([]);
    expect(svidFetchProblems(fetchLog(WORKLOAD).replaceAll('\n', '\r\n'), WORKLOAD)).toEqual([]);
  });

  test('a log with only the client ID (which starts with the workload ID) does not pass', () => {
    expect(svidFetchProblems(fetchLog(CLIENT), WORKLOAD)).toEqual([
      `no line "SPIFFE ID: ${WORKLOAD}" (exactly); the SPIFFE IDs logged are ${CLIENT}`,
    ]);
  });

  test('the ID quoted inside another line, or no fetch at all, does not pass', () => {
    const quoted = `[Client] Connecting to 127.0.0.1:9999, expecting SPIFFE ID: ${WORKLOAD}`;
    expect(svidFetchProblems(quoted, WORKLOAD)).toEqual([
      'no "[SVID Fetch] Calling SPIRE Agent API" line: the workload never called the agent',
      'no "✅ Successfully fetched SVIDs!" line',
      `no line "SPIFFE ID: ${WORKLOAD}" (exactly); the SPIFFE IDs logged are none`,
    ]);
  });
});

describe('judgeExchangesThroughRotation (ROT-02)', () => {
  const T0 = Date.parse('2026-12-04T18:00:00.000Z');
  const at = (seconds: number, text: string): TimedLine => ({ at: T0 + seconds * 1000, text });
  const exchange = (seconds: number, serial: string) => [
    at(seconds, '[Client] Connecting to mtls-app:9999, expecting server spiffe://example.org/k8s-workload...'),
    at(seconds + 0.1, `[Client] Server certificate serial: ${serial}`),
    at(seconds + 0.1, '[Client] Server Replied: Secure Hello from SPIRE Server!'),
  ];
  const failed = (seconds: number) =>
    at(seconds, '[Client] ❌ mTLS request failed: socket hang up — trying again in 5s');
  const window = { fromMs: T0, toMs: T0 + 60_000 };

  test('every exchange after the rotation succeeds and one is served the new certificate: no problem', () => {
    const judged = judgeExchangesThroughRotation([...exchange(2, 'aa'), ...exchange(7, 'bb')], 'bb', window);
    expect(judged.problems).toEqual([]);
    expect(judged.replies).toBe(2);
    expect(judged.servedRotated?.at).toBe(T0 + 7100);
  });

  test('one failed exchange fails, even when later ones succeed; each failure is named with its time', () => {
    const lines = [...exchange(2, 'bb'), failed(7), ...exchange(12, 'bb'), failed(17), ...exchange(22, 'bb')];
    const judged = judgeExchangesThroughRotation(lines, 'bb', window);
    expect(judged.failures).toHaveLength(2);
    expect(judged.problems).toEqual([
      '2 failed exchange(s) from 2026-12-04T18:00:00.000Z to 2026-12-04T18:01:00.000Z: ' +
        '2026-12-04T18:00:07.000Z [Client] ❌ mTLS request failed: socket hang up — trying again in 5s; ' +
        '2026-12-04T18:00:17.000Z [Client] ❌ mTLS request failed: socket hang up — trying again in 5s',
    ]);
  });

  test('failures outside the window are not judged; the rotated serial must be served inside it', () => {
    const lines = [failed(-5), ...exchange(-3, 'bb'), ...exchange(2, 'aa'), failed(70)];
    expect(judgeExchangesThroughRotation(lines, 'bb', window).problems).toEqual([
      'no exchange from 2026-12-04T18:00:00.000Z to 2026-12-04T18:01:00.000Z was served the rotated certificate bb ' +
        'and answered',
    ]);
  });

  test('served the new certificate but no reply (the exchange broke after the handshake): not served', () => {
    const lines = [at(2, '[Client] Server certificate serial: bb'), failed(2.2)];
    const judged = judgeExchangesThroughRotation(lines, 'bb', window);
    expect(judged.servedRotated).toBeUndefined();
    expect(judged.problems).toHaveLength(2);
  });

  test('nothing logged at all (a fake that returns no lines) fails', () => {
    expect(judgeExchangesThroughRotation([], 'bb', window).problems).toHaveLength(1);
  });
});
