// SPIFFE ID parsing and validation (SPIFFE-ID standard §2). Shared by the workload (authorizing peers) and the
// suite's X.509-SVID inspector, so both judge an ID by the same rules.

export interface SpiffeId {
  /** The ID as given, e.g. `spiffe://example.org/k8s-workload`. */
  readonly text: string;
  readonly trustDomain: string;
  /** The path including its leading `/`, or '' for a trust domain ID. */
  readonly path: string;
}

export class SpiffeIdError extends Error {
  override name = 'SpiffeIdError';
}

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const PATH_SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;

/** Parses a SPIFFE ID, throwing a SpiffeIdError that names the broken rule. */
export function parseSpiffeId(text: string): SpiffeId {
  if (Buffer.byteLength(text) > MAX_ID_BYTES) {
    throw new SpiffeIdError(`SPIFFE ID is longer than ${MAX_ID_BYTES} bytes`);
  }
  const prefix = 'spiffe://';
  if (!text.startsWith(prefix)) {
    throw new SpiffeIdError(`SPIFFE ID must start with "${prefix}" (lowercase scheme): "${text}"`);
  }
  const rest = text.slice(prefix.length);
  if (rest.includes('?') || rest.includes('#')) {
    throw new SpiffeIdError(`SPIFFE ID must not have a query or fragment: "${text}"`);
  }
  if (rest.includes('%')) {
    throw new SpiffeIdError(`SPIFFE ID must not contain percent-encoding: "${text}"`);
  }
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  validateTrustDomain(trustDomain);
  if (path !== '') {
    if (path.endsWith('/')) throw new SpiffeIdError(`SPIFFE ID path must not end with "/": "${text}"`);
    for (const segment of path.slice(1).split('/')) {
      if (segment === '') throw new SpiffeIdError(`SPIFFE ID path must not have empty segments: "${text}"`);
      if (segment === '.' || segment === '..') {
        throw new SpiffeIdError(`SPIFFE ID path must not have "." or ".." segments: "${text}"`);
      }
      if (!PATH_SEGMENT_CHARS.test(segment)) {
        throw new SpiffeIdError(`SPIFFE ID path segments may only contain [a-zA-Z0-9._-]: "${text}"`);
      }
    }
  }
  return { text, trustDomain, path };
}

/** Validates a bare trust domain name such as `example.org`. */
export function validateTrustDomain(trustDomain: string): void {
  if (trustDomain === '') throw new SpiffeIdError('trust domain must not be empty');
  if (trustDomain.includes('@')) throw new SpiffeIdError(`trust domain must not contain userinfo: "${trustDomain}"`);
  if (trustDomain.includes(':')) throw new SpiffeIdError(`trust domain must not contain a port: "${trustDomain}"`);
  if (Buffer.byteLength(trustDomain) > MAX_TRUST_DOMAIN_BYTES) {
    throw new SpiffeIdError(`trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`);
  }
  if (!TRUST_DOMAIN_CHARS.test(trustDomain)) {
    throw new SpiffeIdError(`trust domain may only contain lowercase [a-z0-9._-]: "${trustDomain}"`);
  }
}

/** Returns the parsed ID, or undefined when the text is not a valid SPIFFE ID. */
export function tryParseSpiffeId(text: string): SpiffeId | undefined {
  try {
    return parseSpiffeId(text);
  } catch {
    return undefined;
  }
}

/**
 * The URI SANs of a certificate as Node's X509Certificate.subjectAltName reports them
 * (`DNS:a, URI:spiffe://td/x`). Node quotes entries that contain commas or other special characters as JSON strings.
 */
export function uriSansFromSubjectAltName(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const uris: string[] = [];
  const entry = /(?:^|,\s*)(URI):(?:"((?:[^"\\]|\\.)*)"|([^,]*))/g;
  for (const match of subjectAltName.matchAll(entry)) {
    const quoted = match[2];
    uris.push(quoted !== undefined ? (JSON.parse(`"${quoted}"`) as string) : (match[3] ?? '').trim());
  }
  return uris;
}
