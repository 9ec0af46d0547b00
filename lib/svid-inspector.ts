// X.509-SVID inspector: judges an SVID (chain + key + trust bundle, as PEM text) against the X509-SVID and SPIFFE-ID
// standards and reports one finding per checkable requirement, for the suite's assertions and its compliance report.
//
// Finding states: 'pass', 'fail', and 'not-checked' when a requirement could not be judged because something it depends
// on is missing or broken (no parsed leaf, no single URI SAN, no keyUsage extension, no private key supplied…).
// 'not-checked' counts as not passed (`passed: false`): an SVID passes only when every requirement was seen to hold.
// The detail of a 'not-checked' finding names the finding that explains why.
//
// Details describe what was seen (names, URIs, flags, dates, fingerprints) and never contain key material or PEM armor.
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { decodePem, describeKeyLabel, safeLabel } from './pem.ts';
import { parseSpiffeId, type SpiffeId, SpiffeIdError, tryParseSpiffeId } from './spiffe-id.ts';
import {
  type Certificate,
  describeKey,
  EKU,
  ekuName,
  hasEmptySubject,
  isSelfIssued,
  isSignedBy,
  type KeyUsage,
  type PemCertificates,
  readPemCertificates,
  spiffeUris,
} from './x509.ts';

export interface SvidInput {
  /** PEM certificates, leaf first, then intermediates (svid.0.pem). */
  chainPem: string;
  /** PEM private key of the leaf (svid.0.key): PKCS#8, SEC1 or PKCS#1. When undefined SVID-KEY-01 is not checked. */
  keyPem?: string;
  /** PEM CA certificates of the trust domain (bundle.0.pem). */
  bundlePem: string;
  /** Evaluation time for validity checks; default: now. */
  now?: Date;
  /** When given, SVID-EXP-01 checks the leaf SPIFFE ID equals it (exact, case-sensitive string comparison). */
  expectedSpiffeId?: string;
  /** When given, SVID-EXP-02 checks the leaf trust domain equals it ('example.org' or 'spiffe://example.org'). */
  expectedTrustDomain?: string;
}

interface Rule {
  readonly requirement: string;
  readonly section: string;
}

/** Every requirement the inspector checks, in report order. Ids are stable: reports and tests refer to them. */
export const SVID_RULES = {
  'SVID-PEM-01': {
    requirement:
      'Chain PEM holds at least one certificate (leaf first) and every block is a parseable X.509 certificate',
    section: 'SPIFFE Workload API §5.1; RFC 7468 §5',
  },
  'SVID-PEM-02': {
    requirement: 'Bundle PEM holds at least one certificate and every block is a parseable X.509 certificate',
    section: 'X509-SVID §5.1; RFC 7468 §5',
  },
  'SVID-SAN-01': { requirement: 'Leaf has exactly one URI SAN', section: 'X509-SVID §2, §5.2' },
  'SVID-ID-01': { requirement: 'Leaf URI SAN is a syntactically valid SPIFFE ID', section: 'SPIFFE-ID §2' },
  'SVID-ID-02': { requirement: 'Leaf SPIFFE ID has a non-root path', section: 'X509-SVID §3.1, §5.2' },
  'SVID-SAN-02': {
    requirement: 'SAN extension is critical when the subject is empty',
    section: 'X509-SVID §3.1; RFC 5280 §4.1.2.6',
  },
  'SVID-BC-01': { requirement: 'Leaf basicConstraints cA is false', section: 'X509-SVID §4.1, §5.2' },
  'SVID-KU-01': { requirement: 'Leaf keyUsage extension is present and critical', section: 'X509-SVID §4.3' },
  'SVID-KU-02': { requirement: 'Leaf keyUsage has digitalSignature', section: 'X509-SVID §4.3' },
  'SVID-KU-03': { requirement: 'Leaf keyUsage does not have keyCertSign', section: 'X509-SVID §4.3, §5.2' },
  'SVID-KU-04': { requirement: 'Leaf keyUsage does not have cRLSign', section: 'X509-SVID §4.3, §5.2' },
  'SVID-EKU-01': {
    requirement: 'Leaf extendedKeyUsage, when present, has serverAuth and clientAuth',
    section: 'X509-SVID §4.4',
  },
  'SVID-TIME-01': {
    requirement: 'Leaf validity period contains the evaluation time',
    section: 'RFC 5280 §4.1.2.5, §6.1.3 (X509-SVID §5.1)',
  },
  'SVID-KEY-01': {
    requirement: 'Supplied private key matches the leaf public key',
    section: 'SPIFFE Workload API §5.1 (x509_svid_key)',
  },
  'SVID-PATH-01': {
    requirement:
      'Chain reaches a bundle CA: each certificate is signed by the next chain certificate or by a bundle CA; ' +
      'the signing certificates on the path are valid at the evaluation time; pathLenConstraint holds',
    section: 'X509-SVID §5.1; RFC 5280 §6.1',
  },
  'SVID-CA-01': {
    requirement: 'Every bundle certificate is a CA (cA true, keyCertSign; keyUsage critical when it is an SVID)',
    section: 'X509-SVID §3.2, §4.1, §4.3',
  },
  'SVID-CA-02': {
    requirement: 'Every intermediate in the chain is a CA (cA true, keyCertSign; keyUsage critical when it is an SVID)',
    section: 'X509-SVID §3.2, §4.1, §4.3',
  },
  'SVID-CA-03': {
    requirement: 'Signing certificates (intermediates, bundle CAs) that carry a SPIFFE ID have no path',
    section: 'X509-SVID §3.2',
  },
  'SVID-TD-01': {
    requirement: 'Signing certificates that carry a SPIFFE ID are in the trust domain of the leaf',
    section: 'X509-SVID §3.2',
  },
  'SVID-EXP-01': { requirement: 'Leaf SPIFFE ID equals the expected SPIFFE ID', section: 'Suite expectation' },
  'SVID-EXP-02': { requirement: 'Leaf trust domain equals the expected trust domain', section: 'Suite expectation' },
} as const satisfies Record<string, Rule>;

export type FindingId = keyof typeof SVID_RULES;
export type FindingStatus = 'pass' | 'fail' | 'not-checked';

export interface Finding {
  id: FindingId;
  requirement: string;
  /** Spec and section, e.g. 'X509-SVID §4.3'. */
  section: string;
  /** True only for status 'pass'. */
  passed: boolean;
  status: FindingStatus;
  /** What was seen. Never contains key material. */
  detail: string;
}

export interface SvidSummary {
  /** The leaf's URI SAN when it has exactly one (even if it is not a valid SPIFFE ID), else null. */
  spiffeId: string | null;
  /** All URI SANs of the leaf. */
  uriSans: string[];
  /** RFC 4514-style subject of the leaf, '' when empty; null when there is no parsed leaf. */
  subject: string | null;
  issuer: string | null;
  /** Serial number, lowercase hex. */
  serial: string | null;
  /** ISO 8601. */
  notBefore: string | null;
  notAfter: string | null;
  /** e.g. 'EC P-256', 'RSA 2048', 'Ed25519'. */
  keyType: string | null;
  /** Certificates parsed from the chain PEM (leaf included). */
  chainLength: number;
  /** Certificates parsed from the bundle PEM. */
  bundleSize: number;
  /** SHA-256 of the leaf DER, colon-separated uppercase hex. */
  fingerprintSha256: string | null;
}

export interface SvidReport {
  /** True when every finding passed. */
  passed: boolean;
  findings: Finding[];
  summary: SvidSummary;
}

// ---------------------------------------------------------------------------------------------------------------------
// Inspection

type Outcome = { status: FindingStatus; detail: string };
const pass = (detail: string): Outcome => ({ status: 'pass', detail });
const fail = (detail: string): Outcome => ({ status: 'fail', detail });
const notChecked = (detail: string): Outcome => ({ status: 'not-checked', detail: `not checked: ${detail}` });

const NO_LEAF = notChecked('no parsed leaf certificate (see SVID-PEM-01)');

/** Judges an X.509-SVID. Synchronous; never throws for bad input (bad input becomes failed findings). */
export function inspectSvid(input: SvidInput): SvidReport {
  const now = input.now ?? new Date();
  const chain = readPemCertificates(input.chainPem, (i) => `chain #${i + 1}${i === 0 ? ' (leaf)' : ''}`);
  const bundle = readPemCertificates(input.bundlePem, (i) => `bundle #${i + 1}`);
  const leaf = chain.firstParsed ? chain.certs[0] : undefined;
  const intermediates = chain.firstParsed ? chain.certs.slice(1) : chain.certs;
  const signing = [...intermediates, ...bundle.certs];
  const leafUri = leaf?.uris.length === 1 ? leaf.uris[0] : undefined;
  const leafId = leafUri !== undefined ? tryParseSpiffeId(leafUri) : undefined;

  const outcomes = new Map<FindingId, Outcome>();
  const set = (id: FindingId, outcome: Outcome) => outcomes.set(id, outcome);

  set('SVID-PEM-01', checkPem(chain, 'chain'));
  set('SVID-PEM-02', checkPem(bundle, 'bundle'));
  set('SVID-SAN-01', leaf ? checkOneUriSan(leaf) : NO_LEAF);
  set('SVID-ID-01', checkIdSyntax(leaf, leafUri));
  set('SVID-ID-02', checkIdPath(leaf, leafUri, leafId));
  set('SVID-SAN-02', leaf ? checkSanCriticality(leaf) : NO_LEAF);
  set('SVID-BC-01', leaf ? checkLeafBasicConstraints(leaf) : NO_LEAF);
  set('SVID-KU-01', leaf ? checkKeyUsagePresent(leaf) : NO_LEAF);
  set('SVID-KU-02', checkKeyUsageFlag(leaf, 'digitalSignature', true));
  set('SVID-KU-03', checkKeyUsageFlag(leaf, 'keyCertSign', false));
  set('SVID-KU-04', checkKeyUsageFlag(leaf, 'cRLSign', false));
  set('SVID-EKU-01', leaf ? checkEku(leaf) : NO_LEAF);
  set('SVID-TIME-01', leaf ? checkLeafValidity(leaf, now) : NO_LEAF);
  set('SVID-KEY-01', checkKey(leaf, input.keyPem));
  set('SVID-PATH-01', checkPath(leaf, intermediates, bundle.certs, now));
  set('SVID-CA-01', checkBundleCas(bundle));
  set('SVID-CA-02', checkIntermediateCas(chain, intermediates));
  set('SVID-CA-03', checkSigningIdsHaveNoPath(signing));
  set('SVID-TD-01', checkTrustDomains(leaf, leafId, signing));
  if (input.expectedSpiffeId !== undefined) {
    set('SVID-EXP-01', checkExpectedId(leaf, leafUri, input.expectedSpiffeId));
  }
  if (input.expectedTrustDomain !== undefined) {
    set('SVID-EXP-02', checkExpectedTrustDomain(leaf, leafId, input.expectedTrustDomain));
  }

  const findings: Finding[] = [];
  for (const [id, rule] of Object.entries(SVID_RULES) as [FindingId, Rule][]) {
    const outcome = outcomes.get(id);
    if (!outcome) continue;
    findings.push({
      id,
      requirement: rule.requirement,
      section: rule.section,
      passed: outcome.status === 'pass',
      status: outcome.status,
      detail: outcome.detail,
    });
  }
  return {
    passed: findings.every((f) => f.passed),
    findings,
    summary: summarize(leaf, chain.certs.length, bundle.certs.length),
  };
}

function checkPem(parsed: PemCertificates, source: 'chain' | 'bundle'): Outcome {
  if (parsed.blockCount === 0) {
    const extra = parsed.problems.length > 0 ? ` (${parsed.problems.join('; ')})` : '';
    return fail(`no PEM block found in the ${source} PEM${extra}`);
  }
  const count = parsed.certs.length;
  if (parsed.problems.length > 0) {
    return fail(`${parsed.problems.join('; ')}; ${plural(count, 'certificate')} parsed of ${parsed.blockCount} blocks`);
  }
  if (source === 'chain') {
    const rest = count - 1;
    return pass(`${plural(count, 'certificate')}: leaf${rest > 0 ? ` + ${plural(rest, 'intermediate')}` : ''}`);
  }
  return pass(plural(count, 'certificate'));
}

function checkOneUriSan(leaf: Certificate): Outcome {
  const others = leaf.otherSans.length > 0 ? `; other SANs: ${leaf.otherSans.join(', ')}` : '';
  if (!leaf.san) return fail('no subjectAltName extension');
  if (leaf.uris.length === 1) return pass(`one URI SAN ${quote(leaf.uris[0])}${others}`);
  if (leaf.uris.length === 0) return fail(`no URI SAN${others}`);
  return fail(
    `${leaf.uris.length} URI SANs: ${leaf.uris.map(quote).join(', ')} (validators MUST reject more than one)${others}`,
  );
}

function noSingleUri(leaf: Certificate): Outcome {
  return notChecked(
    `the leaf has ${leaf.uris.length === 0 ? 'no' : leaf.uris.length} URI SANs, not exactly one (see SVID-SAN-01)`,
  );
}

function checkIdSyntax(leaf: Certificate | undefined, uri: string | undefined): Outcome {
  if (!leaf) return NO_LEAF;
  if (uri === undefined) return noSingleUri(leaf);
  try {
    const id = parseSpiffeId(uri);
    return pass(
      `${quote(id.text)}: trust domain "${id.trustDomain}", path ${id.path === '' ? '(none)' : quote(id.path)}`,
    );
  } catch (error) {
    return fail(error instanceof SpiffeIdError ? error.message : `${quote(uri)}: ${errorText(error)}`);
  }
}

function checkIdPath(leaf: Certificate | undefined, uri: string | undefined, id: SpiffeId | undefined): Outcome {
  if (!leaf) return NO_LEAF;
  if (uri === undefined) return noSingleUri(leaf);
  if (!id) return notChecked(`${quote(uri)} is not a valid SPIFFE ID (see SVID-ID-01)`);
  if (id.path === '') {
    return fail(`${quote(id.text)} has no path: it is the trust domain's own ID, which a leaf MUST NOT carry`);
  }
  return pass(`path ${quote(id.path)}`);
}

function checkSanCriticality(leaf: Certificate): Outcome {
  if (!hasEmptySubject(leaf)) {
    const criticality = leaf.san ? (leaf.san.critical ? 'critical' : 'non-critical') : 'absent';
    return pass(
      `subject ${quote(leaf.subject)} is not empty, so the SAN extension may be non-critical (it is ${criticality})`,
    );
  }
  if (!leaf.san) return fail('subject is empty and there is no SAN extension');
  if (!leaf.san.critical) return fail('subject is empty but the SAN extension is not critical');
  return pass('subject is empty and the SAN extension is critical');
}

function checkLeafBasicConstraints(leaf: Certificate): Outcome {
  if (!leaf.basic) return pass('basicConstraints absent, so cA is false (RFC 5280 default)');
  if (leaf.basic.ca) return fail('cA=true: the leaf is a CA certificate (leaf certificates MUST NOT have the CA flag)');
  return pass('cA=false');
}

function keyUsageText(usages: KeyUsage[]): string {
  return usages.length > 0 ? usages.join(', ') : '(no bits set)';
}

function checkKeyUsagePresent(leaf: Certificate): Outcome {
  if (!leaf.keyUsage) return fail('keyUsage extension absent');
  const usages = keyUsageText(leaf.keyUsage.usages);
  if (!leaf.keyUsage.critical) return fail(`keyUsage present but not critical (${usages})`);
  return pass(`critical: ${usages}`);
}

function checkKeyUsageFlag(leaf: Certificate | undefined, flag: KeyUsage, wanted: boolean): Outcome {
  if (!leaf) return NO_LEAF;
  if (!leaf.keyUsage) return notChecked('no keyUsage extension (see SVID-KU-01)');
  const set = leaf.keyUsage.usages.includes(flag);
  const usages = `keyUsage: ${keyUsageText(leaf.keyUsage.usages)}`;
  if (set === wanted) return pass(`${flag} ${set ? 'set' : 'not set'} (${usages})`);
  return fail(`${flag} ${set ? 'set' : 'not set'} (${usages})`);
}

function checkEku(leaf: Certificate): Outcome {
  if (!leaf.eku) return pass('extendedKeyUsage absent: allowed, but leaf SVIDs SHOULD include it');
  const names = leaf.eku.oids.map(ekuName);
  const seen = `${leaf.eku.critical ? 'critical' : 'non-critical'}: ${names.length > 0 ? names.join(', ') : '(empty)'}`;
  const missing = [EKU.serverAuth, EKU.clientAuth].filter((oid) => !leaf.eku?.oids.includes(oid));
  if (missing.length > 0) return fail(`missing ${missing.map(ekuName).join(' and ')} (${seen})`);
  return pass(seen);
}

function validityText(cert: { notBefore: Date; notAfter: Date }): string {
  return `${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`;
}

function checkLeafValidity(leaf: Certificate, now: Date): Outcome {
  const at = `at ${now.toISOString()}`;
  const window = `valid ${validityText(leaf)}`;
  if (now < leaf.notBefore) {
    return fail(`not yet valid ${at}: starts in ${duration(leaf.notBefore.getTime() - now.getTime())} (${window})`);
  }
  if (now > leaf.notAfter) {
    return fail(`expired ${duration(now.getTime() - leaf.notAfter.getTime())} before ${now.toISOString()} (${window})`);
  }
  return pass(`${window}; ${at} it expires in ${duration(leaf.notAfter.getTime() - now.getTime())}`);
}

function checkKey(leaf: Certificate | undefined, keyPem: string | undefined): Outcome {
  if (keyPem === undefined) return notChecked('no private key supplied (keyPem undefined)');
  if (!leaf) return NO_LEAF;
  const { blocks, problems } = decodePem(keyPem);
  const keyBlocks = blocks.filter((b) => describeKeyLabel(b.label) !== '');
  const others = blocks.filter((b) => describeKeyLabel(b.label) === '' && b.label !== 'EC PARAMETERS');
  if (keyBlocks.length !== 1 || others.length > 0 || problems.length > 0) {
    const seen = blocks.map((b) => safeLabel(b.label)).join(', ') || 'no PEM block';
    const extra = problems.length > 0 ? `; ${problems.join('; ')}` : '';
    return fail(`expected exactly one private key PEM block, found: ${seen}${extra}`);
  }
  const block = keyBlocks[0] as (typeof keyBlocks)[number];
  const encoding = describeKeyLabel(block.label);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(block.text);
  } catch (error) {
    return fail(`the ${encoding} key could not be loaded (${errorText(error)})`);
  }
  const keyPublic = createPublicKey(privateKey);
  const leafPublic = leaf.node.publicKey;
  const keyType = describeKey(keyPublic);
  const leafType = describeKey(leafPublic);
  const spkiEqual = keyPublic
    .export({ type: 'spki', format: 'der' })
    .equals(leafPublic.export({ type: 'spki', format: 'der' }));
  if (!spkiEqual) {
    return fail(
      `the supplied ${keyType} key (${encoding}) is not the key of the leaf certificate ` +
        `(leaf public key: ${leafType}; a different public key)`,
    );
  }
  const challenge = randomBytes(32);
  const hash = keyPublic.asymmetricKeyType === 'ed25519' || keyPublic.asymmetricKeyType === 'ed448' ? null : 'sha256';
  let verified: boolean;
  try {
    verified = verify(hash, challenge, leafPublic, sign(hash, challenge, privateKey));
  } catch (error) {
    return fail(`signing a challenge with the ${keyType} key (${encoding}) failed (${errorText(error)})`);
  }
  if (!verified) return fail(`a signature by the ${keyType} key (${encoding}) does not verify with the leaf`);
  return pass(`${keyType} key (${encoding}) matches the leaf: same public key, and a signed random challenge verifies`);
}

function checkPath(
  leaf: Certificate | undefined,
  intermediates: Certificate[],
  bundle: Certificate[],
  now: Date,
): Outcome {
  if (!leaf) return NO_LEAF;
  if (bundle.length === 0) return notChecked('no parsed bundle certificate (see SVID-PEM-02)');

  // Walk up the chain: each certificate must be signed by a bundle CA (then the path is complete) or by the next
  // chain certificate. A bundle CA is preferred so that the shortest path wins, as in common verifiers.
  const path: Certificate[] = [leaf];
  let anchor: Certificate | undefined;
  for (let i = 0; ; i++) {
    const current = path[path.length - 1] as Certificate;
    anchor = bundle.find((ca) => isSignedBy(current, ca));
    if (anchor) break;
    const next = intermediates[i];
    if (next && isSignedBy(current, next)) {
      path.push(next);
      continue;
    }
    const sameName = bundle.filter((ca) => ca.rawSubject.equals(current.rawIssuer));
    const nextName = next?.rawSubject.equals(current.rawIssuer);
    const why =
      sameName.length > 0
        ? `${sameName.map((c) => c.label).join(', ')} ${sameName.length > 1 ? 'have' : 'has'} that subject but did not sign it`
        : nextName
          ? `${next?.label} has that subject but did not sign it, and no bundle CA has that subject`
          : 'no bundle CA has that subject';
    const by = next ? `neither by ${next.label} nor by a bundle CA` : 'by no bundle CA';
    return fail(`${current.label} (issuer ${quote(current.issuer)}) is signed ${by}: ${why}`);
  }

  const problems: string[] = [];
  const signers = [...path.slice(1), anchor];
  for (const cert of signers) {
    if (now < cert.notBefore) problems.push(`${cert.label} is not yet valid (valid ${validityText(cert)})`);
    else if (now > cert.notAfter) problems.push(`${cert.label} has expired (valid ${validityText(cert)})`);
  }
  // pathLenConstraint (RFC 5280 §6.1.4 (l), (m)): non-self-issued intermediates below each signing certificate.
  const full = [...path, anchor];
  for (let k = 1; k < full.length; k++) {
    const cert = full[k] as Certificate;
    const limit = cert.basic?.pathLength;
    if (limit === undefined) continue;
    const below = full.slice(1, k).filter((c) => !isSelfIssued(c)).length;
    if (below > limit) {
      problems.push(`${cert.label} has pathLenConstraint ${limit} but ${plural(below, 'intermediate')} follow it`);
    }
  }
  const route = full.map((c) => (c === leaf ? c.label : `${c.label} ${quote(c.subject)}`)).join(' ← ');
  const unused = intermediates.slice(path.length - 1);
  const unusedText = unused.length > 0 ? `; not on the path: ${unused.map((c) => c.label).join(', ')}` : '';
  if (problems.length > 0) return fail(`${problems.join('; ')} (path ${route})`);
  return pass(
    `${route}; ${plural(full.length - 1, 'signature')} verified; signing certificates valid at ${now.toISOString()}` +
      `${unusedText} (leaf validity: SVID-TIME-01; CA flags: SVID-CA-01/02)`,
  );
}

function caProblems(cert: Certificate): string[] {
  const problems: string[] = [];
  if (!cert.basic) problems.push('no basicConstraints (so cA is false)');
  else if (!cert.basic.ca) problems.push('cA=false');
  if (!cert.keyUsage) problems.push('no keyUsage extension (keyCertSign required)');
  else {
    if (!cert.keyUsage.usages.includes('keyCertSign')) {
      problems.push(`keyCertSign not set (keyUsage: ${keyUsageText(cert.keyUsage.usages)})`);
    }
    if (!cert.keyUsage.critical && spiffeUris(cert).length > 0) {
      problems.push('keyUsage not critical although the certificate carries a SPIFFE ID (SVIDs MUST mark it critical)');
    }
  }
  return problems;
}

function judgeCas(certs: Certificate[], noun: string): Outcome {
  const bad = certs.map((c) => ({ c, problems: caProblems(c) })).filter((x) => x.problems.length > 0);
  if (bad.length > 0) {
    return fail(bad.map(({ c, problems }) => `${c.label} ${quote(c.subject)}: ${problems.join(', ')}`).join('; '));
  }
  return pass(
    certs.length === 1
      ? `the ${noun} has cA=true and keyCertSign`
      : `all ${certs.length} ${noun}s have cA=true and keyCertSign`,
  );
}

function checkBundleCas(bundle: PemCertificates): Outcome {
  if (bundle.certs.length === 0) return notChecked('no parsed bundle certificate (see SVID-PEM-02)');
  return judgeCas(bundle.certs, 'bundle certificate');
}

function checkIntermediateCas(chain: PemCertificates, intermediates: Certificate[]): Outcome {
  if (chain.certs.length === 0) return notChecked('no parsed chain certificate (see SVID-PEM-01)');
  if (intermediates.length === 0) return pass('no intermediates: the chain is the leaf alone');
  return judgeCas(intermediates, 'intermediate');
}

function checkSigningIdsHaveNoPath(signing: Certificate[]): Outcome {
  if (signing.length === 0) return notChecked('no parsed intermediate or bundle certificate');
  const problems: string[] = [];
  const good: string[] = [];
  for (const cert of signing) {
    for (const uri of spiffeUris(cert)) {
      const id = tryParseSpiffeId(uri);
      if (!id) problems.push(`${cert.label} has ${quote(uri)}, which is not a valid SPIFFE ID (${idError(uri)})`);
      else if (id.path !== '') problems.push(`${cert.label} has ${quote(uri)} with path ${quote(id.path)}`);
      else good.push(`${cert.label} ${quote(uri)}`);
    }
  }
  if (problems.length > 0) return fail(problems.join('; '));
  if (good.length === 0) return pass('no signing certificate carries a SPIFFE ID');
  return pass(`no path: ${good.join(', ')}`);
}

function checkTrustDomains(
  leaf: Certificate | undefined,
  leafId: SpiffeId | undefined,
  signing: Certificate[],
): Outcome {
  if (!leaf) return NO_LEAF;
  if (leaf.uris.length !== 1) return noSingleUri(leaf);
  if (!leafId) return notChecked('the leaf URI SAN is not a valid SPIFFE ID (see SVID-ID-01)');
  if (signing.length === 0) return notChecked('no parsed intermediate or bundle certificate (see SVID-PEM-02)');
  const matching: string[] = [];
  const foreign: string[] = [];
  for (const cert of signing) {
    for (const uri of spiffeUris(cert)) {
      const id = tryParseSpiffeId(uri);
      if (!id) continue; // judged by SVID-CA-03
      if (id.trustDomain === leafId.trustDomain) matching.push(cert.label);
      else foreign.push(`${cert.label} is in "${id.trustDomain}" (${quote(uri)})`);
    }
  }
  if (foreign.length > 0) return fail(`leaf trust domain is "${leafId.trustDomain}" but ${foreign.join('; ')}`);
  if (matching.length === 0) {
    return pass(`no signing certificate carries a SPIFFE ID to compare with "${leafId.trustDomain}"`);
  }
  return pass(`"${leafId.trustDomain}", same as ${matching.join(', ')}`);
}

function checkExpectedId(leaf: Certificate | undefined, uri: string | undefined, expected: string): Outcome {
  if (!leaf) return NO_LEAF;
  if (uri === undefined) return noSingleUri(leaf);
  if (uri === expected) return pass(`${quote(uri)} as expected`);
  return fail(`leaf has ${quote(uri)}, expected ${quote(expected)}`);
}

function checkExpectedTrustDomain(leaf: Certificate | undefined, id: SpiffeId | undefined, expected: string): Outcome {
  if (!leaf) return NO_LEAF;
  if (leaf.uris.length !== 1) return noSingleUri(leaf);
  if (!id) return notChecked('the leaf URI SAN is not a valid SPIFFE ID (see SVID-ID-01)');
  const wanted = expected.startsWith('spiffe://') ? expected.slice('spiffe://'.length) : expected;
  if (id.trustDomain === wanted) return pass(`"${id.trustDomain}" as expected`);
  return fail(`leaf trust domain is "${id.trustDomain}", expected "${wanted}"`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Summary and rendering

function summarize(leaf: Certificate | undefined, chainLength: number, bundleSize: number): SvidSummary {
  let keyType: string | null = null;
  if (leaf) {
    try {
      keyType = describeKey(leaf.node.publicKey);
    } catch {
      keyType = 'unsupported';
    }
  }
  return {
    spiffeId: leaf?.uris.length === 1 ? (leaf.uris[0] ?? null) : null,
    uriSans: leaf?.uris ?? [],
    subject: leaf?.subject ?? null,
    issuer: leaf?.issuer ?? null,
    serial: leaf?.serial ?? null,
    notBefore: leaf?.notBefore.toISOString() ?? null,
    notAfter: leaf?.notAfter.toISOString() ?? null,
    keyType,
    chainLength,
    bundleSize,
    fingerprintSha256: leaf?.node.fingerprint256 ?? null,
  };
}

const RESULT_TEXT: Record<FindingStatus, string> = { pass: 'PASS', fail: 'FAIL', 'not-checked': 'NOT CHECKED' };

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A Markdown table, one row per finding: ID | Requirement | Section | Result | Detail. */
export function renderFindingsTable(report: { findings: readonly Finding[] }): string {
  const rows = report.findings.map(
    (f) => `| ${f.id} | ${cell(f.requirement)} | ${cell(f.section)} | ${RESULT_TEXT[f.status]} | ${cell(f.detail)} |`,
  );
  return ['| ID | Requirement | Section | Result | Detail |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** The summary as `Label: value` lines. */
export function renderSummary(summary: SvidSummary): string {
  const value = (v: string | null) => (v === null ? '(none)' : v === '' ? '(empty)' : v);
  const rest = summary.chainLength - 1;
  return [
    `SPIFFE ID: ${summary.spiffeId ?? (summary.uriSans.length > 0 ? `(not exactly one URI SAN: ${summary.uriSans.join(', ')})` : '(none)')}`,
    `Subject: ${value(summary.subject)}`,
    `Issuer: ${value(summary.issuer)}`,
    `Serial: ${value(summary.serial)}`,
    `Not before: ${value(summary.notBefore)}`,
    `Not after: ${value(summary.notAfter)}`,
    `Key type: ${value(summary.keyType)}`,
    `Chain: ${plural(summary.chainLength, 'certificate')}${rest > 0 ? ` (leaf + ${plural(rest, 'intermediate')})` : ''}`,
    `Bundle: ${plural(summary.bundleSize, 'certificate')}`,
    `SHA-256 fingerprint: ${value(summary.fingerprintSha256)}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

function idError(uri: string): string {
  try {
    parseSpiffeId(uri);
    return 'valid';
  } catch (error) {
    return errorText(error);
  }
}

/** A value in double quotes with control characters escaped, so report cells stay on one line. */
function quote(text: string | undefined): string {
  return JSON.stringify(text ?? '');
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}
