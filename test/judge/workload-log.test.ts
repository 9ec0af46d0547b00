// The judges of the workload's own log lines: the SVID fetch names the workload's ID exactly (POD-01).
import { describe, expect, test } from 'vitest';
import { svidFetchProblems } from '../../lib/workload-log.ts';

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
