// Certificate factory for the suite's own unit tests: CAs and X.509-SVIDs shaped like SPIRE's, and variants that
// break exactly one rule of the X509-SVID standard. Never used by the validation phases (they judge real SVIDs).
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 uses globalThis.crypto, which is Node's WebCrypto.
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Key algorithms the factory can generate. SPIRE's default (ca_key_type, workload keys) is ec-p256. */
export type KeyAlgorithm = 'ec-p256' | 'ec-p384' | 'rsa-2048';

type SignParams = webcrypto.EcKeyGenParams & webcrypto.EcdsaParams;
type RsaParams = webcrypto.RsaHashedKeyGenParams;

const ALGORITHMS: Record<KeyAlgorithm, SignParams | RsaParams> = {
  'ec-p256': { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  'ec-p384': { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
  'rsa-2048': {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
};

export const KeyUsage = x509.KeyUsageFlags;
export const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  /** Algorithm of `keys`; certificates this one issues are signed with it. */
  keyAlgorithm: KeyAlgorithm;
  /** DER of the certificate. */
  der: Buffer;
  /** PKCS#8 DER of the private key. */
  keyDer: Buffer;
  certPem: string;
  /** PKCS#8 PEM of the private key (what `spire-agent api fetch x509 -write` stores in svid.0.key). */
  keyPem: string;
}

export interface CertOptions {
  /** Distinguished name, e.g. 'C=US, O=SPIRE'; '' for an empty subject. */
  subject?: string;
  uris?: string[];
  dnsNames?: string[];
  /** Mark the SAN extension critical (required by the standard when the subject is empty). */
  sanCritical?: boolean;
  /** basicConstraints cA; 'omit' leaves the extension out. */
  ca?: boolean | 'omit';
  /** basicConstraints pathLenConstraint (only meaningful with ca: true). */
  pathLength?: number;
  /** keyUsage flags (KeyUsage.*), or 'omit'. */
  keyUsages?: number | 'omit';
  keyUsageCritical?: boolean;
  /** extendedKeyUsage OIDs, or 'omit'. */
  extKeyUsages?: string[] | 'omit';
  notBefore?: Date;
  notAfter?: Date;
  /** Signer; self-signed when absent. */
  issuer?: Issued;
  serialNumber?: string;
  /** Key algorithm of the new certificate's key pair; default 'ec-p256'. */
  keyAlgorithm?: KeyAlgorithm;
}

let serialCounter = 1;

export async function createCertificate(options: CertOptions): Promise<Issued> {
  const keyAlgorithm = options.keyAlgorithm ?? 'ec-p256';
  const keys = (await webcrypto.subtle.generateKey(ALGORITHMS[keyAlgorithm], true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [];
  if (options.ca !== 'omit') {
    extensions.push(new x509.BasicConstraintsExtension(options.ca ?? false, options.pathLength, true));
  }
  if (options.keyUsages !== 'omit') {
    const defaultUsages = options.ca === true ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature;
    extensions.push(new x509.KeyUsagesExtension(options.keyUsages ?? defaultUsages, options.keyUsageCritical ?? true));
  }
  if (options.extKeyUsages !== 'omit' && options.extKeyUsages !== undefined) {
    extensions.push(new x509.ExtendedKeyUsageExtension(options.extKeyUsages, false));
  }
  const names: x509.JsonGeneralName[] = [
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  if (names.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(names, options.sanCritical ?? false));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (options.issuer) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey));
  }

  const now = Date.now();
  const subject = options.subject ?? 'C=US, O=SPIRE';
  const serialNumber = options.serialNumber ?? (serialCounter++).toString(16).padStart(2, '0').padStart(16, '1');
  const common = {
    serialNumber,
    notBefore: options.notBefore ?? new Date(now - 10_000),
    notAfter: options.notAfter ?? new Date(now + 3600_000),
    signingAlgorithm: ALGORITHMS[options.issuer?.keyAlgorithm ?? keyAlgorithm],
    extensions,
  };
  const cert = options.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject,
        issuer: options.issuer.cert.subject,
        publicKey: keys.publicKey,
        signingKey: options.issuer.keys.privateKey,
      })
    : await x509.X509CertificateGenerator.create({
        ...common,
        subject,
        issuer: subject,
        publicKey: keys.publicKey,
        signingKey: keys.privateKey,
      });
  const der = Buffer.from(cert.rawData);
  const keyDer = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return {
    cert,
    keys,
    keyAlgorithm,
    der,
    keyDer,
    certPem: cert.toString('pem'),
    keyPem: x509.PemConverter.encode(
      keyDer.buffer.slice(keyDer.byteOffset, keyDer.byteOffset + keyDer.byteLength),
      'PRIVATE KEY',
    ),
  };
}

/** A root CA like SPIRE's: cA true, keyCertSign|cRLSign, SPIFFE ID of the trust domain (no path). */
export function createCa(trustDomain = 'example.org', options: CertOptions = {}): Promise<Issued> {
  return createCertificate({ subject: 'C=US, O=SPIFFE', uris: [`spiffe://${trustDomain}`], ca: true, ...options });
}

/**
 * An intermediate CA signed by `issuer`, like SPIRE's own CA under an UpstreamAuthority: cA true, keyCertSign|cRLSign,
 * SPIFFE ID of the trust domain. Its subject equals the root's by default (SPIRE's default ca_subject), which makes
 * path building rely on signatures rather than names.
 */
export function createIntermediate(
  issuer: Issued,
  trustDomain = 'example.org',
  options: CertOptions = {},
): Promise<Issued> {
  return createCertificate({
    subject: 'C=US, O=SPIFFE',
    uris: [`spiffe://${trustDomain}`],
    ca: true,
    issuer,
    ...options,
  });
}

/** An X.509-SVID shaped like SPIRE's: one URI SAN, cA false, KU digitalSignature|keyEncipherment|keyAgreement, EKU server+client. */
export function createSvid(issuer: Issued, spiffeId: string, options: CertOptions = {}): Promise<Issued> {
  return createCertificate({
    subject: 'C=US, O=SPIRE',
    uris: [spiffeId],
    ca: false,
    keyUsages: KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement,
    extKeyUsages: [EKU.serverAuth, EKU.clientAuth],
    issuer,
    ...options,
  });
}

/** Concatenated certificate PEMs, as in svid.0.pem (leaf first) or bundle.0.pem. */
export function pemOf(...certs: Issued[]): string {
  return `${certs.map((c) => c.certPem.trimEnd()).join('\n')}\n`;
}

/**
 * The private key as PEM in another encoding: 'sec1' ("EC PRIVATE KEY", EC only), 'pkcs1' ("RSA PRIVATE KEY", RSA
 * only) or 'pkcs8' ("PRIVATE KEY").
 */
export function keyPemAs(issued: Issued, type: 'sec1' | 'pkcs1' | 'pkcs8'): string {
  const key = createPrivateKey({ key: issued.keyDer, format: 'der', type: 'pkcs8' });
  return key.export({ format: 'pem', type }).toString();
}
