// SPIFFE IDs and trust domain names, judged against the SPIFFE-ID standard (spiffe/spiffe standards/SPIFFE-ID.md).
// This is the judge's own parser, written from the standard: the workload under test has its own, and a bug there
// must not be able to hide itself by agreeing with the judge.
//
// Every rejection is a SpiffeIdError whose message says what is wrong, cites the section, and quotes the input.
// A SPIFFE ID is `spiffe://<trust domain name><path>`:
//   §2    scheme "spiffe", a non-empty trust domain, no query, no fragment;
//   §2.1  the trust domain is the URI host only (no userinfo, no port), lowercase [a-z0-9.-_], no percent-encoding;
//   §2.2  the path is empty or "/segment/…", each segment non-empty, not "." or "..", [a-zA-Z0-9.-_], no trailing "/";
//   §2.3  at most 2048 bytes in all, and at most 255 bytes of trust domain name.
// The scheme must be written in lowercase, as every SPIFFE implementation emits it (§2.4 calls it case-insensitive,
// but §2.1 requires the trust domain in lowercase, and a judge compares IDs as exact strings).

const SPIFFE_SCHEME_PREFIX = 'spiffe://';
/** SPIFFE-ID §2.3. */
const MAX_SPIFFE_ID_BYTES = 2048;
/** SPIFFE-ID §2.3 (RFC 3986 host limit). */
const MAX_TRUST_DOMAIN_BYTES = 255;

export interface SpiffeId {
  /** The ID exactly as given. */
  readonly text: string;
  /** The trust domain name, e.g. 'example.org'. */
  readonly trustDomain: string;
  /** '' for the trust domain's own ID, else '/segment/…'. */
  readonly path: string;
}

export class SpiffeIdError extends Error {
  override name = 'SpiffeIdError';
  /** The section of SPIFFE-ID the input breaks, e.g. '§2.2'. */
  readonly section: string;
  constructor(problem: string, section: string, input: string) {
    super(`${problem} (SPIFFE-ID ${section}): ${quote(input)}`);
    this.section = section;
  }
}

const TRUST_DOMAIN_CHAR = /^[a-z0-9._-]$/;
const PATH_SEGMENT_CHAR = /^[a-zA-Z0-9._-]$/;

/** The problem with a trust domain name and its section, or undefined when the name is valid (SPIFFE-ID §2.1, §2.3). */
function trustDomainProblem(name: string): { problem: string; section: string } | undefined {
  if (name === '') return { problem: 'the trust domain name is empty', section: '§2.1' };
  if (name.includes('@')) {
    return { problem: 'the trust domain must not carry userinfo ("user@" before the host)', section: '§2.1' };
  }
  if (name.startsWith('[')) {
    return { problem: 'an IPv6 address literal is not a trust domain name', section: '§2.1' };
  }
  if (name.includes(':')) return { problem: 'the trust domain must not carry a port (":")', section: '§2.1' };
  if (name.includes('%')) {
    return { problem: 'the trust domain must not contain percent-encoded characters', section: '§2.1' };
  }
  if (Buffer.byteLength(name) > MAX_TRUST_DOMAIN_BYTES) {
    return {
      problem: `the trust domain name is ${Buffer.byteLength(name)} bytes, more than ${MAX_TRUST_DOMAIN_BYTES}`,
      section: '§2.3',
    };
  }
  if (name !== name.toLowerCase()) return { problem: 'the trust domain name must be lowercase', section: '§2.1' };
  const bad = [...name].find((c) => !TRUST_DOMAIN_CHAR.test(c));
  if (bad !== undefined) {
    return {
      problem: `the trust domain name may only contain lowercase letters, digits, ".", "-" and "_"; it has ${quote(bad)}`,
      section: '§2.1',
    };
  }
  return undefined;
}

/** The problem with a path and its section, or undefined when the path is valid (SPIFFE-ID §2.2). */
function pathProblem(path: string): { problem: string; section: string } | undefined {
  if (path === '') return undefined;
  if (path.includes('%')) return { problem: 'the path must not contain percent-encoded characters', section: '§2.2' };
  if (path.endsWith('/')) return { problem: 'the path must not end with "/"', section: '§2.2' };
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') return { problem: 'the path must not have empty segments ("//")', section: '§2.2' };
    if (segment === '.' || segment === '..') {
      return { problem: `the path must not have "." or ".." segments; it has ${quote(segment)}`, section: '§2.2' };
    }
    const bad = [...segment].find((c) => !PATH_SEGMENT_CHAR.test(c));
    if (bad !== undefined) {
      return {
        problem: `path segments may only contain letters, digits, ".", "-" and "_"; ${quote(segment)} has ${quote(bad)}`,
        section: '§2.2',
      };
    }
  }
  return undefined;
}

/**
 * Checks a bare trust domain name such as 'example.org' (not 'spiffe://example.org') and returns it.
 * Throws a SpiffeIdError naming the broken rule.
 */
export function parseTrustDomain(name: string): string {
  if (name.startsWith(SPIFFE_SCHEME_PREFIX)) {
    throw new SpiffeIdError(`a trust domain name is the bare host, without "${SPIFFE_SCHEME_PREFIX}"`, '§2.1', name);
  }
  const found = trustDomainProblem(name);
  if (found) throw new SpiffeIdError(found.problem, found.section, name);
  return name;
}

/** Parses a SPIFFE ID. Throws a SpiffeIdError naming the first broken rule. */
export function parseSpiffeId(text: string): SpiffeId {
  const reject = (problem: string, section: string): never => {
    throw new SpiffeIdError(problem, section, text);
  };
  if (text === '') reject('a SPIFFE ID cannot be empty', '§2');
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_SPIFFE_ID_BYTES) reject(`the SPIFFE ID is ${bytes} bytes, more than ${MAX_SPIFFE_ID_BYTES}`, '§2.3');
  if (!text.startsWith(SPIFFE_SCHEME_PREFIX)) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)?.[1];
    const seen = scheme === undefined ? 'no URI scheme' : `scheme ${quote(scheme)}`;
    reject(`a SPIFFE ID must start with "${SPIFFE_SCHEME_PREFIX}" (seen: ${seen})`, '§2');
  }
  if (text.includes('?')) reject('a SPIFFE ID must not have a query ("?")', '§2');
  if (text.includes('#')) reject('a SPIFFE ID must not have a fragment ("#")', '§2');
  const rest = text.slice(SPIFFE_SCHEME_PREFIX.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (trustDomain === '') reject('the SPIFFE ID has no trust domain', '§2');
  const domain = trustDomainProblem(trustDomain);
  if (domain) reject(domain.problem, domain.section);
  const pathIssue = pathProblem(path);
  if (pathIssue) reject(pathIssue.problem, pathIssue.section);
  return { text, trustDomain, path };
}

/** The SPIFFE ID, or undefined when the text is not a valid one. */
export function tryParseSpiffeId(text: string): SpiffeId | undefined {
  try {
    return parseSpiffeId(text);
  } catch (error) {
    if (error instanceof SpiffeIdError) return undefined;
    throw error;
  }
}

/** A value in double quotes with control characters escaped (long values cut), so messages stay on one line. */
function quote(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}
