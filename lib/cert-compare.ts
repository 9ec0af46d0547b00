// Certificates compared as what they are, DER encodings, not as PEM text (line breaks, order of a bundle and text
// around the blocks do not matter; one changed byte does). Each certificate is named by subject, serial and SHA-256
// fingerprint, so that a report says which one differs.
import { createHash } from 'node:crypto';
import { type Certificate, readPemCertificates } from './x509.ts';

export interface CertificateList {
  certs: Certificate[];
  /** One sentence per PEM block that is not a parseable certificate. */
  problems: string[];
}

/** The certificates of a PEM text, in order; `name` says where they came from ("bundle show", "svid.0.pem"). */
export function certificatesOf(pem: string, name: string): CertificateList {
  const read = readPemCertificates(pem, (index) => `${name} #${index + 1}`);
  const problems = [...read.problems];
  if (read.blockCount === 0) problems.push(`${name} holds no PEM block`);
  return { certs: read.certs, problems };
}

/** Subject, serial and SHA-256 of a certificate, for sentences. */
export function describeCertificate(cert: Certificate): string {
  const sha256 = createHash('sha256').update(cert.der).digest('hex');
  return `"${cert.subject || '(empty subject)'}" serial ${cert.serial} sha256 ${sha256.slice(0, 16)}…`;
}

const key = (cert: Certificate) => cert.der.toString('base64');

export interface SetComparison {
  /** True when both hold the same certificates (as DER; order and duplicates aside) and both parsed cleanly. */
  same: boolean;
  /** In `expected` only, and in `actual` only. */
  missing: Certificate[];
  extra: Certificate[];
  problems: string[];
}

/** Whether `actual` holds exactly the certificates of `expected`, compared as DER. */
export function compareCertificateSets(expected: CertificateList, actual: CertificateList): SetComparison {
  const expectedKeys = new Set(expected.certs.map(key));
  const actualKeys = new Set(actual.certs.map(key));
  const missing = expected.certs.filter((cert) => !actualKeys.has(key(cert)));
  const extra = actual.certs.filter((cert) => !expectedKeys.has(key(cert)));
  const problems = [...expected.problems, ...actual.problems];
  const same = missing.length === 0 && extra.length === 0 && problems.length === 0 && expected.certs.length > 0;
  return { same, missing, extra, problems };
}

/** The comparison as a sentence: what is missing, what is extra, what did not parse. */
export function describeSetComparison(comparison: SetComparison, expectedName: string, actualName: string): string {
  if (comparison.same) return `${actualName} holds exactly the certificates of ${expectedName}`;
  const parts = [
    ...comparison.missing.map((cert) => `${describeCertificate(cert)} of ${expectedName} is missing`),
    ...comparison.extra.map((cert) => `${describeCertificate(cert)} is not in ${expectedName}`),
    ...comparison.problems,
  ];
  return `${actualName} differs from ${expectedName}: ${parts.join('; ') || 'both are empty'}`;
}

/** Whether two chains start with the same leaf certificate (DER); false when either has no parseable leaf. */
export function sameLeaf(a: CertificateList, b: CertificateList): boolean {
  const [leafA] = a.certs;
  const [leafB] = b.certs;
  return leafA !== undefined && leafB !== undefined && leafA.der.equals(leafB.der);
}
