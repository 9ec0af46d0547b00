// The workload's log lines the suite judges (the seed's wording: "[Server] ✅ VERIFIED CLIENT IDENTITY: <id>"), read
// line by line. An identity is the whole rest of its line, compared exactly: `…/k8s-workload` is not
// `…/k8s-workload-client`, which a substring count would confuse.

const VERIFIED_CLIENT = /^\[Server\] ✅ VERIFIED CLIENT IDENTITY: (\S+)$/;
const VERIFIED_SERVER = /^\[Client\] ✅ VERIFIED SERVER IDENTITY: (\S+)$/;
const RECEIVED = /^\[Server\] Received: (".*")$/;
const REJECTED_UNAUTHORIZED = /^\[Server\] ❌ REJECTED CLIENT: (\S+) is not authorized\b/;

/** The lines of a log, each without its trailing whitespace (container logs may end lines with \r\n). */
export function logLines(text: string): string[] {
  return text.split('\n').map((line) => line.trimEnd());
}

function captures(text: string, pattern: RegExp): string[] {
  return logLines(text).flatMap((line) => {
    const match = pattern.exec(line);
    return match?.[1] === undefined ? [] : [match[1]];
  });
}

/** The SPIFFE IDs a server logged as verified clients, in log order, one per connection it accepted. */
export function verifiedClientIds(text: string): string[] {
  return captures(text, VERIFIED_CLIENT);
}

/** The SPIFFE IDs a server refused for not being on its allow-list (they had a valid SVID), in log order. */
export function unauthorizedClientIds(text: string): string[] {
  return captures(text, REJECTED_UNAUTHORIZED);
}

/** The SPIFFE IDs a client logged as verified servers, in log order. */
export function verifiedServerIds(text: string): string[] {
  return captures(text, VERIFIED_SERVER);
}

/**
 * The messages a server received, decoded (it logs each as a JSON string, after it verified and authorized the
 * client). A line that is not valid JSON is skipped, not guessed at.
 */
export function receivedMessages(text: string): string[] {
  return captures(text, RECEIVED).flatMap((quoted) => {
    try {
      const message: unknown = JSON.parse(quoted);
      return typeof message === 'string' ? [message] : [];
    } catch {
      return [];
    }
  });
}

/** How many items equal `item` exactly. */
export function countExact(items: readonly string[], item: string): number {
  return items.filter((candidate) => candidate === item).length;
}

const REJECTED_HANDSHAKE = /^\[Server\] ❌ REJECTED CLIENT: TLS handshake failed: (.+)$/;

/** Why a server refused clients during the TLS handshake (no certificate, an untrusted one), in log order. */
export function handshakeRejections(text: string): string[] {
  return captures(text, REJECTED_HANDSHAKE);
}

const FETCH_CALL = /^\[SVID Fetch\] Calling SPIRE Agent API\b/;
const FETCHED = /^✅ Successfully fetched SVIDs!$/;
const FETCHED_ID = /^SPIFFE ID: (\S+)$/;

/** The SPIFFE IDs a workload logged as its own after fetching an SVID ("SPIFFE ID: <id>" lines), in log order. */
export function fetchedSpiffeIds(text: string): string[] {
  return captures(text, FETCHED_ID);
}

/**
 * What the log lacks to show that the workload fetched an SVID for `expectedId`: the call to the agent, the success
 * line, and a "SPIFFE ID:" line naming exactly that ID (`…/k8s-workload-client` is not `…/k8s-workload`). Empty when
 * it shows all three.
 */
export function svidFetchProblems(text: string, expectedId: string): string[] {
  const lines = logLines(text);
  const problems: string[] = [];
  if (!lines.some((line) => FETCH_CALL.test(line)))
    problems.push('no "[SVID Fetch] Calling SPIRE Agent API" line: the workload never called the agent');
  if (!lines.some((line) => FETCHED.test(line))) problems.push('no "✅ Successfully fetched SVIDs!" line');
  const ids = fetchedSpiffeIds(text);
  if (!ids.includes(expectedId))
    problems.push(
      `no line "SPIFFE ID: ${expectedId}" (exactly); the SPIFFE IDs logged are ` +
        `${ids.length > 0 ? ids.join(', ') : 'none'}`,
    );
  return problems;
}

/** The pod-to-pod client's lines about one exchange (workload/src/app.ts runClient). */
const CLIENT_SERVED = /^\[Client\] Server certificate serial: ([0-9a-f]+)$/;
const CLIENT_REPLIED = /^\[Client\] Server Replied: /;
const CLIENT_FAILED = /^\[Client\] ❌ /;

/** A log line with the time the runtime recorded it (ms since the epoch). */
export interface TimedLine {
  at: number;
  text: string;
}

export interface ExchangesThroughRotation {
  /** The first exchange in the window served `serial` and answered: the line naming the serial. */
  servedRotated: TimedLine | undefined;
  /** Exchanges in the window that got a reply. */
  replies: number;
  /** Failed exchanges in the window, in log order. */
  failures: TimedLine[];
  /** One sentence per reason the client did not carry on through the rotation; empty when it did. */
  problems: string[];
}

/**
 * Judges the pod-to-pod client's exchanges from `fromMs` (the server's rotation to `serial`) to `toMs`: at least one
 * exchange served `serial` and answered, and not one exchange failed — a client that recovers after failing did not
 * carry on through the rotation. Lines outside the window are not judged.
 */
export function judgeExchangesThroughRotation(
  lines: readonly TimedLine[],
  serial: string,
  window: { fromMs: number; toMs: number },
): ExchangesThroughRotation {
  const inWindow = lines
    .map((line) => ({ ...line, text: line.text.trimEnd() }))
    .filter((line) => line.at >= window.fromMs && line.at <= window.toMs);
  const servedRotated = inWindow.find(
    (line, index) =>
      CLIENT_SERVED.exec(line.text)?.[1] === serial && CLIENT_REPLIED.test(inWindow[index + 1]?.text ?? ''),
  );
  const replies = inWindow.filter((line) => CLIENT_REPLIED.test(line.text)).length;
  const failures = inWindow.filter((line) => CLIENT_FAILED.test(line.text));
  const when = (ms: number) => new Date(ms).toISOString();
  const span = `from ${when(window.fromMs)} to ${when(window.toMs)}`;
  const problems: string[] = [];
  if (!servedRotated) problems.push(`no exchange ${span} was served the rotated certificate ${serial} and answered`);
  if (failures.length > 0)
    problems.push(
      `${failures.length} failed exchange(s) ${span}: ` +
        failures.map((line) => `${when(line.at)} ${line.text}`).join('; '),
    );
  return { servedRotated, replies, failures, problems };
}
