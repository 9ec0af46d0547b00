// Secrets never leave the run: the one place that knows what a secret looks like in text — private key material and
// SPIRE join tokens — and the one redaction, redact(), that every write of the suite goes through (evidence files and
// attachments, console lines, outcomes, failure messages, diagnostics, the reporter's files). The secret scan of the
// reports (lib/secret-scan.ts) judges by the same join-token rules, so what this leaves is clean.
//
// What is recognised is the PEM armour of a private key of any kind ("PRIVATE KEY" for PKCS#8, "EC PRIVATE KEY" for
// SEC1, "RSA PRIVATE KEY" for PKCS#1, "ENCRYPTED PRIVATE KEY", and any other "<X> PRIVATE KEY"). The marker alone
// counts: a block cut by truncation, or a log line that quotes the BEGIN line, may still carry key bytes, and the
// reports are searched for the marker as the leak check.
import { createHash } from 'node:crypto';

/** The text every private-key PEM label ends with; reports are checked for it. */
const SECRET_MARKER = 'PRIVATE KEY';

/** A private-key PEM block: BEGIN to its END, or to the end of the text when the END line was cut off. */
const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
/** The tail of a block whose BEGIN line was cut off: the base64-looking lines just before an END line. */
const PRIVATE_KEY_TAIL = /(?:^|\n)(?:[A-Za-z0-9+/=]+\r?\n)*-----END [A-Z0-9 ]*PRIVATE KEY-----/g;

/** What a removed block is replaced with. */
export const REDACTED_BLOCK = '[private key removed]';
/** What a stray marker outside a block is replaced with. */
const REDACTED_MARKER = 'PRIVATE-KEY-REMOVED';

/** True when the text (or bytes) carry private key material or its marker. */
export function containsSecret(content: string | Buffer): boolean {
  return content.includes(SECRET_MARKER);
}

/**
 * The text with every private key block removed (a block cut at either end included) and any stray marker defused.
 * Text without the marker is returned as it is.
 */
export function redactSecrets(text: string): string {
  if (!containsSecret(text)) return text;
  return text
    .replace(PRIVATE_KEY_BLOCK, REDACTED_BLOCK)
    .replace(PRIVATE_KEY_TAIL, (tail) => `${tail.startsWith('\n') ? '\n' : ''}${REDACTED_BLOCK}`)
    .replaceAll(SECRET_MARKER, REDACTED_MARKER);
}

// Join tokens: `spire-server token generate` prints one (a UUID unless the operator chose it) and the suite's agent
// attests with it once. Where the suite can write one: the agent's SPIFFE ID and its path
// (spiffe://<td>/spire/agent/join_token/<token>, in entries' parent IDs, agent lists and SPIRE logs), an agent
// command line (-joinToken <token>, also as a JSON argv), the output of `token generate`, and an agent configuration
// (join_token = "<token>"). A used token is spent, but the agent ID's token part is removed too: one rule, no
// judgement of which copies are still live. The token is replaced by a short SHA-256 fingerprint, so evidence still
// tells two agents apart (and shows that an entry's parent is the serving agent) without carrying the token.

/** The characters of a join token as SPIRE accepts it in an agent ID's path segment. */
const TOKEN = '[A-Za-z0-9][A-Za-z0-9._~-]*';
const TOKEN_CHAR = '[A-Za-z0-9._~-]';

/** Each place a join token appears in text: the token is the last capture group; the label names the place. */
export const JOIN_TOKEN_PATTERNS: ReadonlyArray<{ label: string; pattern: RegExp }> = [
  { label: 'in an agent SPIFFE ID (join_token/<token>)', pattern: new RegExp(`(join_token\\\\?/)(${TOKEN})`, 'g') },
  {
    label: 'on an agent command line (-joinToken <token>)',
    pattern: new RegExp(`(-joinToken(?:=|\\s+|"\\s*,\\s*"))(${TOKEN})`, 'g'),
  },
  {
    label: 'in `spire-server token generate` output (Token: <token>)',
    pattern: new RegExp(`(\\bToken:[ \\t]+)(${TOKEN_CHAR}{8,})`, 'g'),
  },
  {
    label: 'in an agent configuration (join_token = "<token>")',
    pattern: new RegExp(`(\\bjoin_token"?\\s*[=:]\\s*")(${TOKEN})`, 'g'),
  },
];

/** What a join token is replaced with: the first 8 hex digits of its SHA-256, never the token. */
export function joinTokenPlaceholder(token: string): string {
  return `[join token removed, sha256:${createHash('sha256').update(token).digest('hex').slice(0, 8)}]`;
}

/** The text with every join token (see JOIN_TOKEN_PATTERNS) replaced by its placeholder. */
export function redactJoinTokens(text: string): string {
  let out = text;
  for (const { pattern } of JOIN_TOKEN_PATTERNS) {
    out = out.replace(pattern, (_match, before: string, token: string) => `${before}${joinTokenPlaceholder(token)}`);
  }
  return out;
}

/**
 * The one redaction every evidence file, log line, outcome and message the suite writes goes through: private key
 * blocks removed, join tokens replaced by their fingerprint.
 */
export function redact(text: string): string {
  return redactJoinTokens(redactSecrets(text));
}
