// The secret scan's judgement of one file's bytes: does it carry a private key or a join token, in any encoding the
// suite writes? Pure: bytes in, findings out (the walk over reports/ is lib/report/reports-scan.ts).
//
// Each layer of the content is searched for
// - PEM armour of a private key (BEGIN or END line of "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY",
//   "ENCRYPTED PRIVATE KEY", …);
// - the DER structure of a private key, found by its header wherever it starts and even when cut short: PKCS#8
//   (PrivateKeyInfo/OneAsymmetricKey with a key algorithm's OID), encrypted PKCS#8 (PBES2 / PKCS#12 PBE), SEC1
//   ECPrivateKey, PKCS#1 RSAPrivateKey, and the OpenSSH private key format;
// - join tokens where the suite can write them (lib/redact.ts JOIN_TOKEN_PATTERNS — the same rules the redaction
//   applies, so whatever the redaction leaves is clean and whatever it misses is a hit);
// and every base64 (also base64url, also broken into lines, also with JSON's "\n" escapes) or hex (also
// colon/space-separated) run in it is decoded and searched the same way, up to MAX_DEPTH layers: a key in an
// attachment that the HTML report embeds in base64 is two layers down.
// A finding says what was found and how it was encoded, never the secret.
import { describeKeyLabel } from './pem.ts';
import { JOIN_TOKEN_PATTERNS } from './redact.ts';

export interface SecretHit {
  /** What was found and how it is encoded, e.g. "PKCS#8 private key (EC), DER in base64". */
  kind: string;
  /** Byte offset in the file where the outermost layer that holds it starts. */
  offset: number;
}

/** Base64 inside base64 inside base64 (a key in a JSON attachment embedded in the HTML report) and one more. */
const MAX_DEPTH = 4;
/** Shorter runs cannot hold the DER header of a key (18 bytes). */
const MIN_BASE64_RUN = 24;
const MIN_HEX_BYTES = 16;

const PEM_ARMOUR = /-----(?:BEGIN|END) ([A-Z0-9 ]*?)PRIVATE KEY-----/g;

/** DER of the algorithm OIDs a PKCS#8 key names (the bytes of the OID's value). */
const KEY_ALGORITHMS: Record<string, string> = {
  '2a864886f70d010101': 'RSA',
  '2a864886f70d01010a': 'RSASSA-PSS',
  '2a8648ce3d0201': 'EC',
  '2b6570': 'Ed25519',
  '2b6571': 'Ed448',
  '2b656e': 'X25519',
  '2b656f': 'X448',
  '2a8648ce380401': 'DSA',
  '2a864886f70d010301': 'DH',
};
/** The encryption schemes of an EncryptedPrivateKeyInfo: PBES2, and PKCS#12's pbeWith… (prefix). */
const ENCRYPTION_OIDS = [Buffer.from('06092a864886f70d01050d', 'hex'), Buffer.from('060a2a864886f70d010c01', 'hex')];
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const INTEGER_LENGTH_1 = Buffer.from([0x02, 0x01]);

/** A DER header at `at`: its tag, where its content starts and its declared length (may run past the buffer). */
function header(bytes: Buffer, at: number): { tag: number; start: number; length: number } | undefined {
  if (at + 1 >= bytes.length) return undefined;
  const tag = bytes[at] as number;
  const first = bytes[at + 1] as number;
  if (first < 0x80) return { tag, start: at + 2, length: first };
  const size = first & 0x7f;
  if (size < 1 || size > 3 || at + 2 + size > bytes.length) return undefined;
  let length = 0;
  for (let i = 0; i < size; i += 1) length = length * 256 + (bytes[at + 2 + i] as number);
  // DER uses the long form only when it must.
  if (length < 0x80) return undefined;
  return { tag, start: at + 2 + size, length };
}

/** The SEQUENCE whose content starts at `start` (its header ends just before it), if there is one. */
function enclosingSequence(bytes: Buffer, start: number): { at: number; start: number; length: number } | undefined {
  for (const size of [2, 3, 4, 5]) {
    const at = start - size;
    if (at < 0 || bytes[at] !== 0x30) continue;
    const found = header(bytes, at);
    if (found && found.start === start) return { at, start, length: found.length };
  }
  return undefined;
}

/** Present and not the expected tag: a structure that is cut short is judged only by what is there. */
const wrongTag = (bytes: Buffer, at: number, tags: number[]) =>
  at < bytes.length && !tags.includes(bytes[at] as number);

/** The private key whose version INTEGER starts at `at` (first in a SEQUENCE), or undefined. */
function keyAtVersion(bytes: Buffer, at: number): { kind: string; start: number; end: number } | undefined {
  const version = bytes[at + 2];
  if (version !== 0 && version !== 1) return undefined;
  const outer = enclosingSequence(bytes, at);
  if (!outer || outer.length < 16) return undefined;
  const kind = keyKind(bytes, at + 3, version);
  return kind ? { kind, start: outer.at, end: outer.start + outer.length } : undefined;
}

/** What follows the version says which structure it is. */
function keyKind(bytes: Buffer, at: number, version: number): string | undefined {
  const next = header(bytes, at);
  if (!next) return undefined;
  if (next.tag === 0x30) {
    // PKCS#8: AlgorithmIdentifier { OID, parameters }, then the key as an OCTET STRING.
    const oid = header(bytes, next.start);
    if (oid?.tag !== 0x06 || oid.start + oid.length > bytes.length) return undefined;
    const algorithm = KEY_ALGORITHMS[bytes.subarray(oid.start, oid.start + oid.length).toString('hex')];
    if (!algorithm || wrongTag(bytes, next.start + next.length, [0x04])) return undefined;
    return `PKCS#8 private key (${algorithm})`;
  }
  if (next.tag === 0x04 && version === 1 && next.length >= 20 && next.length <= 72) {
    // SEC1 ECPrivateKey: the scalar, then [0] parameters and/or [1] public key, or nothing.
    if (wrongTag(bytes, next.start + next.length, [0xa0, 0xa1])) return undefined;
    return 'SEC1 EC private key';
  }
  if (next.tag === 0x02 && version === 0 && next.length >= 64) {
    // PKCS#1 RSAPrivateKey: modulus, then publicExponent, privateExponent, …
    if (wrongTag(bytes, next.start + next.length, [0x02])) return undefined;
    return 'PKCS#1 RSA private key';
  }
  return undefined;
}

/** Private keys in DER anywhere in the bytes, cut short or not. */
export function derPrivateKeys(bytes: Buffer): SecretHit[] {
  const hits: SecretHit[] = [];
  // The SEC1 key inside an EC PKCS#8 key is the same key: only the outermost structure counts.
  let outerEnd = -1;
  for (let at = bytes.indexOf(INTEGER_LENGTH_1); at !== -1; at = bytes.indexOf(INTEGER_LENGTH_1, at + 1)) {
    const key = at < outerEnd ? undefined : keyAtVersion(bytes, at);
    if (!key) continue;
    hits.push({ kind: key.kind, offset: key.start });
    outerEnd = key.end;
  }
  for (const oid of ENCRYPTION_OIDS) {
    for (let at = bytes.indexOf(oid); at !== -1; at = bytes.indexOf(oid, at + 1)) {
      // EncryptedPrivateKeyInfo { AlgorithmIdentifier { OID, … }, OCTET STRING }.
      const algorithm = enclosingSequence(bytes, at);
      if (!algorithm || wrongTag(bytes, algorithm.start + algorithm.length, [0x04])) continue;
      if (enclosingSequence(bytes, algorithm.at)) hits.push({ kind: 'encrypted PKCS#8 private key', offset: at });
    }
  }
  for (let at = bytes.indexOf(OPENSSH_MAGIC); at !== -1; at = bytes.indexOf(OPENSSH_MAGIC, at + 1)) {
    hits.push({ kind: 'OpenSSH private key', offset: at });
  }
  return hits;
}

/** A line break inside a base64 run: a real one, or JSON's "\n" / "\r" escapes. */
const LINE_BREAK = /(?:\r?\n|\\[nr])+/;
/**
 * A base64 (or base64url) run: a first line long enough to matter, then more lines as long as the text goes on in
 * base64 after a line break. A character escaped by a backslash ("\n" in JSON) never starts a run.
 */
const BASE64_RUN = new RegExp(
  `(?<!\\\\)[A-Za-z0-9+/_-]{${MIN_BASE64_RUN - 8},}=*(?:${LINE_BREAK.source}[A-Za-z0-9+/_-]+=*)*`,
  'g',
);
/** Hex: a plain run, or byte pairs separated by ":" or " " (openssl's and od's dumps). */
const HEX_RUN = new RegExp(
  `[0-9A-Fa-f]{${2 * MIN_HEX_BYTES},}|(?:[0-9A-Fa-f]{2}[: ]){${MIN_HEX_BYTES - 1},}[0-9A-Fa-f]{2}`,
  'g',
);

/** Searches one layer and, through every base64 and hex run in it, the layers below. */
function scanLayer(bytes: Buffer, encoding: string[], outerOffset: number | undefined, hits: SecretHit[]): void {
  const at = (offset: number) => outerOffset ?? offset;
  const described = (kind: string, form?: string) => {
    // Innermost first: "DER in hex in base64" is hex text inside a base64 blob.
    const how = [...(form ? [form] : []), ...[...encoding].reverse()].join(' in ');
    return how ? `${kind}, ${how}` : kind;
  };
  const text = bytes.toString('latin1');
  for (const match of text.matchAll(PEM_ARMOUR)) {
    // Named by its encoding, not its label: the label itself is the marker every redaction defuses.
    const label = describeKeyLabel(`${match[1]}PRIVATE KEY`).replace('unknown encoding', `"${match[1]?.trim()}" label`);
    hits.push({ kind: described(`PEM armour of a private key (${label})`), offset: at(match.index) });
  }
  for (const { label, pattern } of JOIN_TOKEN_PATTERNS) {
    for (const match of text.matchAll(pattern)) {
      hits.push({ kind: described(`SPIRE join token ${label}`), offset: at(match.index) });
    }
  }
  for (const hit of derPrivateKeys(bytes)) {
    hits.push({ kind: described(hit.kind, encoding.length === 0 ? 'raw DER' : 'DER'), offset: at(hit.offset) });
  }
  if (encoding.length >= MAX_DEPTH) return;
  for (const match of text.matchAll(BASE64_RUN)) {
    const lines = match[0].split(LINE_BREAK);
    if (lines.reduce((sum, line) => sum + line.length, 0) < MIN_BASE64_RUN) continue;
    const below = [...encoding, 'base64'];
    scanLayer(Buffer.from(lines.join(''), 'base64'), below, at(match.index), hits);
    // A run glued to the text before it decodes misaligned; a line of its own starts aligned.
    for (const line of lines.slice(1)) {
      if (line.length >= MIN_BASE64_RUN) scanLayer(Buffer.from(line, 'base64'), below, at(match.index), hits);
    }
  }
  for (const match of text.matchAll(HEX_RUN)) {
    const digits = match[0].replace(/[: ]/g, '');
    const below = [...encoding, 'hex'];
    scanLayer(Buffer.from(digits, 'hex'), below, at(match.index), hits);
    scanLayer(Buffer.from(digits.slice(1), 'hex'), below, at(match.index), hits);
  }
}

/** Every kind of secret in the content, once each, with where it is first seen. */
export function scanForSecrets(content: Buffer | string): SecretHit[] {
  const hits: SecretHit[] = [];
  scanLayer(typeof content === 'string' ? Buffer.from(content, 'utf8') : content, [], undefined, hits);
  const first = new Map<string, SecretHit>();
  for (const hit of hits) if (!first.has(hit.kind)) first.set(hit.kind, hit);
  return [...first.values()].sort((a, b) => a.offset - b.offset);
}
