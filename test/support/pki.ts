// Certificate factory for the suite's own unit tests: CAs and X.509-SVIDs shaped like SPIRE's, and variants that
// break exactly one rule of the X509-SVID standard. Never used by the validation phases (they judge real SVIDs).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 uses globalThis.crypto, which is Node's WebCrypto.
type CryptoKeyPair = webcrypto.CryptoKeyPair;


const EC_P256: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};

export const KeyUsage = x509.KeyUsageFlags;
export const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  /** DER of the certificate. */
  der: Buffer;
  /** PKCS#8 DER of the private key. */
  keyDer: Buffer;
  certPem: string;
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
}

let serialCounter = 1;

export async function createCertificate(options: CertOptions): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [];
  if (options.ca !== 'omit') {
    extensions.push(new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true));
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
    signingAlgorithm: EC_P256,
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
