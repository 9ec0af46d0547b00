// PEM text (RFC 7468): blocks, their labels, their decoded bodies. Nothing here ever echoes key material.
import { containsSecret } from './redact.ts';

export interface PemBlock {
  /** The label after BEGIN, e.g. 'CERTIFICATE' or 'PRIVATE KEY'. */
  label: string;
  /** The decoded body; empty when `error` is set. */
  der: Buffer;
  /** The whole block as it appeared (BEGIN to END line), for parsers that want PEM. */
  text: string;
  /** Why the block could not be decoded, if it could not (never contains the body). */
  error?: string;
}

export interface PemDecodeResult {
  blocks: PemBlock[];
  /** Problems outside any block: an unterminated BEGIN, an END without BEGIN. */
  problems: string[];
}

const BLOCK = /-----BEGIN ([^-\r\n]*)-----\r?\n?([\s\S]*?)-----END ([^-\r\n]*)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Splits PEM text into its blocks. Text between blocks is ignored (RFC 7468 §2 allows explanatory text).
 * Bodies with RFC 1421 headers (`Proc-Type:` in legacy encrypted keys) are kept as blocks with an error.
 */
export function decodePem(text: string): PemDecodeResult {
  const blocks: PemBlock[] = [];
  const problems: string[] = [];
  let consumed = 0;
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1] ?? '';
    const body = match[2] ?? '';
    const endLabel = match[3] ?? '';
    const between = text.slice(consumed, match.index);
    if (between.includes('-----END ')) problems.push('an END line without a matching BEGIN line');
    consumed = match.index + match[0].length;
    const block: PemBlock = { label, der: Buffer.alloc(0), text: match[0] };
    if (endLabel !== label) {
      block.error = `BEGIN label "${safeLabel(label)}" does not match END label "${safeLabel(endLabel)}"`;
    } else if (body.includes(':')) {
      block.error = 'the block has RFC 1421 headers (legacy encrypted or annotated PEM)';
    } else {
      const compact = body.replace(/\s+/g, '');
      if (compact === '') block.error = 'the block is empty';
      else if (!BASE64.test(compact) || compact.length % 4 !== 0) block.error = 'the body is not valid base64';
      else block.der = Buffer.from(compact, 'base64');
    }
    blocks.push(block);
  }
  const rest = text.slice(consumed);
  if (rest.includes('-----BEGIN ')) problems.push('a BEGIN line without a matching END line');
  else if (rest.includes('-----END ')) problems.push('an END line without a matching BEGIN line');
  return { blocks, problems };
}

/**
 * A label fit for a report: key labels are named by kind only, so that no report line carries the PEM armor of a
 * private key (the suite's reports are searched for it as a leak check).
 */
export function safeLabel(label: string): string {
  if (containsSecret(label)) return `private key (${describeKeyLabel(label)})`;
  return label.replace(/[^A-Za-z0-9 ._-]/g, '?').slice(0, 60);
}

/** The encoding of a private-key label ('PKCS#8', 'SEC1', …), or '' when the label is not a private key's. */
export function describeKeyLabel(label: string): string {
  switch (label) {
    case 'PRIVATE KEY':
      return 'PKCS#8';
    case 'ENCRYPTED PRIVATE KEY':
      return 'encrypted PKCS#8';
    case 'EC PRIVATE KEY':
      return 'SEC1';
    case 'RSA PRIVATE KEY':
      return 'PKCS#1';
    default:
      return containsSecret(label) ? 'unknown encoding' : '';
  }
}
