// X.509 certificates as the judge reads them: PEM text split into parsed certificates, with the facts an X.509-SVID
// check needs (SAN URIs, basicConstraints, keyUsage, extendedKeyUsage, validity, the Names exactly as signed) and the
// two path-building questions (is it self-issued, did this certificate sign that one). Judging is the inspector's job.
import 'reflect-metadata';
import { type KeyObject, X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { decodePem, describeKeyLabel, safeLabel } from './pem.ts';

/** extendedKeyUsage purposes (RFC 5280 §4.2.1.12). */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const EKU_NAMES: Record<string, string> = {
  [EKU.serverAuth]: 'serverAuth',
  [EKU.clientAuth]: 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

/** The name of an extendedKeyUsage OID, or the OID itself when it has none here. */
export function ekuName(oid: string): string {
  return EKU_NAMES[oid] ?? oid;
}

/** keyUsage bits in RFC 5280 §4.2.1.3 order. */
const KEY_USAGES = [
  ['digitalSignature', x509.KeyUsageFlags.digitalSignature],
  ['nonRepudiation', x509.KeyUsageFlags.nonRepudiation],
  ['keyEncipherment', x509.KeyUsageFlags.keyEncipherment],
  ['dataEncipherment', x509.KeyUsageFlags.dataEncipherment],
  ['keyAgreement', x509.KeyUsageFlags.keyAgreement],
  ['keyCertSign', x509.KeyUsageFlags.keyCertSign],
  ['cRLSign', x509.KeyUsageFlags.cRLSign],
  ['encipherOnly', x509.KeyUsageFlags.encipherOnly],
  ['decipherOnly', x509.KeyUsageFlags.decipherOnly],
] as const;

export type KeyUsage = (typeof KEY_USAGES)[number][0];

export interface Certificate {
  /** Where it came from, e.g. 'chain #1 (leaf)' or 'bundle #2': used in every sentence about it. */
  label: string;
  der: Buffer;
  node: NodeX509Certificate;
  /** RFC 4514-style text, '' when empty. */
  subject: string;
  issuer: string;
  /** The DER of the Names exactly as signed (RFC 5280 path building compares these bytes). */
  rawSubject: Buffer;
  rawIssuer: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** Lowercase hex. */
  serial: string;
  /** URI SANs, in order. */
  uris: string[];
  /** The other SANs as `TYPE "value"`, e.g. 'DNS "web.example.org"'. */
  otherSans: string[];
  /** undefined: no SAN extension. */
  san: { critical: boolean } | undefined;
  basic: { ca: boolean; pathLength: number | undefined } | undefined;
  keyUsage: { usages: KeyUsage[]; critical: boolean } | undefined;
  eku: { oids: string[]; critical: boolean } | undefined;
  /** Extension OIDs that appear more than once (RFC 5280 §4.2 allows one of each). */
  duplicateExtensions: string[];
}

/** Parses one DER certificate. Throws when it is not an X.509 certificate. */
export function parseCertificate(der: Buffer, label: string): Certificate {
  const node = new NodeX509Certificate(der);
  const pec = new x509.X509Certificate(der);
  const names = certificateNames(der);

  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const ext of pec.extensions) {
    if (seen.has(ext.type)) duplicates.add(ext.type);
    seen.add(ext.type);
  }

  const sanExt = pec.getExtension(x509.SubjectAlternativeNameExtension);
  const uris: string[] = [];
  const otherSans: string[] = [];
  for (const name of sanExt?.names.items ?? []) {
    if (name.type === 'url') uris.push(name.value);
    else otherSans.push(`${name.type.toUpperCase()} ${JSON.stringify(name.value)}`);
  }
  const bc = pec.getExtension(x509.BasicConstraintsExtension);
  const ku = pec.getExtension(x509.KeyUsagesExtension);
  const eku = pec.getExtension(x509.ExtendedKeyUsageExtension);

  return {
    label,
    der,
    node,
    subject: pec.subject,
    issuer: pec.issuer,
    rawSubject: names.subject,
    rawIssuer: names.issuer,
    notBefore: pec.notBefore,
    notAfter: pec.notAfter,
    serial: node.serialNumber.toLowerCase(),
    uris,
    otherSans,
    san: sanExt ? { critical: sanExt.critical } : undefined,
    basic: bc ? { ca: bc.ca, pathLength: bc.pathLength } : undefined,
    keyUsage: ku
      ? { usages: KEY_USAGES.filter(([, bit]) => (ku.usages & bit) !== 0).map(([name]) => name), critical: ku.critical }
      : undefined,
    eku: eku ? { oids: eku.usages.map(String), critical: eku.critical } : undefined,
    duplicateExtensions: [...duplicates],
  };
}

export interface PemCertificates {
  /** Certificates that parsed, in PEM order. */
  certs: Certificate[];
  /** Number of PEM blocks seen. */
  blockCount: number;
  /** Whether block 1 parsed as a certificate (for a chain: the leaf). */
  firstParsed: boolean;
  /** One sentence per block that is not a parseable certificate, and per PEM framing problem. Never key material. */
  problems: string[];
}

/** Splits PEM text into certificates; `labelOf(i)` names block i (0-based) in the certificates and the problems. */
export function readPemCertificates(text: string, labelOf: (index: number) => string): PemCertificates {
  const { blocks, problems: pemProblems } = decodePem(text);
  const problems = [...pemProblems];
  const certs: Certificate[] = [];
  let firstParsed = false;
  blocks.forEach((block, i) => {
    const label = labelOf(i);
    if (block.label !== 'CERTIFICATE') {
      const kind = describeKeyLabel(block.label);
      problems.push(
        kind !== ''
          ? `${label} is a private key (${kind}), not a CERTIFICATE: key material does not belong in this file`
          : `${label} has label "${safeLabel(block.label)}", expected CERTIFICATE`,
      );
      return;
    }
    if (block.error !== undefined) {
      problems.push(`${label}: ${block.error}`);
      return;
    }
    try {
      const cert = parseCertificate(block.der, label);
      certs.push(cert);
      if (cert.duplicateExtensions.length > 0) {
        problems.push(
          `${label} repeats extension(s) ${cert.duplicateExtensions.join(', ')} (RFC 5280 §4.2 allows one of each)`,
        );
      }
      if (i === 0) firstParsed = true;
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      problems.push(`${label} is not a valid X.509 certificate (${text.replace(/\s+/g, ' ').slice(0, 200)})`);
    }
  });
  return { certs, blockCount: blocks.length, firstParsed, problems };
}

/** The URI SANs with the spiffe scheme (any case, so that a malformed one is judged rather than overlooked). */
export function spiffeUris(cert: Certificate): string[] {
  return cert.uris.filter((uri) => /^spiffe:/i.test(uri));
}

/** Subject and issuer are the same Name (RFC 5280 §6.1: self-issued certificates do not count towards path length). */
export function isSelfIssued(cert: Certificate): boolean {
  return cert.rawSubject.equals(cert.rawIssuer);
}

/** The subject Name is the empty SEQUENCE (X509-SVID §3.1 then requires a critical SAN). */
export function hasEmptySubject(cert: Certificate): boolean {
  return cert.rawSubject.length === 2 && cert.rawSubject[0] === 0x30 && cert.rawSubject[1] === 0x00;
}

/** `issuer` signed `child`: the Names chain byte for byte and the signature verifies with the issuer's key. */
export function isSignedBy(child: Certificate, issuer: Certificate): boolean {
  if (!child.rawIssuer.equals(issuer.rawSubject)) return false;
  try {
    return child.node.verify(issuer.node.publicKey);
  } catch {
    return false;
  }
}

const CURVES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** A key's algorithm and size, e.g. 'EC P-256', 'RSA 2048', 'Ed25519'. */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `EC ${CURVES[details.namedCurve ?? ''] ?? details.namedCurve ?? '(unknown curve)'}`;
    case 'rsa':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'rsa-pss':
      return `RSA-PSS ${details.modulusLength ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

interface Tlv {
  tag: number;
  /** Offset of the content. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new Error('truncated DER');
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] as number);
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new Error('truncated DER');
  return { tag, start, end };
}

export interface CertificateNames {
  /** The DER of the issuer Name (tag and length included), as signed. */
  issuer: Buffer;
  /** The DER of the subject Name (tag and length included), as signed. */
  subject: Buffer;
}

/**
 * The issuer and subject Names of a DER certificate exactly as encoded (node:crypto and @peculiar/x509 only give them
 * as text). RFC 5280 path building compares these; byte equality is what Go's crypto/x509 uses as well.
 */
export function certificateNames(der: Uint8Array): CertificateNames {
  const cert = readTlv(der, 0, der.length);
  const tbs = readTlv(der, cert.start, cert.end);
  let at = tbs.start;
  const next = (): { tlv: Tlv; from: number } => {
    const tlv = readTlv(der, at, tbs.end);
    const from = at;
    at = tlv.end;
    return { tlv, from };
  };
  if (next().tlv.tag === 0xa0) next(); // [0] EXPLICIT version, then serialNumber
  next(); // signature AlgorithmIdentifier
  const issuer = next();
  next(); // validity
  const subject = next();
  if (issuer.tlv.tag !== 0x30 || subject.tlv.tag !== 0x30) throw new Error('unexpected TBSCertificate layout');
  return {
    issuer: Buffer.from(der.subarray(issuer.from, issuer.tlv.end)),
    subject: Buffer.from(der.subarray(subject.from, subject.tlv.end)),
  };
}
