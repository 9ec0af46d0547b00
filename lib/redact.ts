// Secrets never leave the run: the one place that knows what private key material looks like in text, for the
// evidence guard, the diagnostics and the report's last sweep.
//
// What is recognised is the PEM armour of a private key of any kind ("PRIVATE KEY" for PKCS#8, "EC PRIVATE KEY" for
// SEC1, "RSA PRIVATE KEY" for PKCS#1, "ENCRYPTED PRIVATE KEY", and any other "<X> PRIVATE KEY"). The marker alone
// counts: a block cut by truncation, or a log line that quotes the BEGIN line, may still carry key bytes, and the
// reports are searched for the marker as the leak check.

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
