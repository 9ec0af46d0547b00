import { createPublicKey } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  certificateNames,
  describeKey,
  ekuName,
  hasEmptySubject,
  isSelfIssued,
  isSignedBy,
  readPemCertificates,
  spiffeUris,
} from '../../lib/x509.ts';
import { createCa, createIntermediate, createSvid, type Issued, KeyUsage, pemOf } from '../support/pki.ts';

const label = (i: number) => `block #${i + 1}`;

let ca: Issued;
let other: Issued;
beforeAll(async () => {
  ca = await createCa();
  other = await createCa();
});

describe('readPemCertificates', () => {
  test('reads every certificate of a chain with the facts an SVID check needs', async () => {
    const intermediate = await createIntermediate(ca);
    const leaf = await createSvid(intermediate, 'spiffe://example.org/web', { dnsNames: ['web.example.org'] });
    const { certs, blockCount, firstParsed, problems } = readPemCertificates(pemOf(leaf, intermediate), label);
    expect(problems, 'a well-formed chain has no problems').toEqual([]);
    expect(blockCount, 'PEM blocks seen').toBe(2);
    expect(firstParsed, 'the first block (the leaf) parsed').toBe(true);
    const [first, second] = certs;
    expect(first?.label, 'labels come from labelOf').toBe('block #1');
    expect(first?.uris, 'the leaf URI SANs').toEqual(['spiffe://example.org/web']);
    expect(first?.otherSans, 'the leaf other SANs').toEqual(['DNS "web.example.org"']);
    expect(first?.basic, 'the leaf basicConstraints').toEqual({ ca: false, pathLength: undefined });
    expect(first?.keyUsage?.usages, 'the leaf keyUsage names, RFC 5280 order').toEqual([
      'digitalSignature',
      'keyEncipherment',
      'keyAgreement',
    ]);
    expect(first?.eku?.oids.map(ekuName), 'the leaf extendedKeyUsage').toEqual(['serverAuth', 'clientAuth']);
    expect(first?.der.equals(leaf.der), 'the DER is the block body').toBe(true);
    expect(first?.serial, 'serial as lowercase hex').toMatch(/^[0-9a-f]+$/);
    expect(second?.keyUsage?.usages, 'the CA keyUsage').toEqual(expect.arrayContaining(['keyCertSign']));
  });

  test('says which block is not a certificate, and never echoes a private key', () => {
    const text = `${ca.certPem}\n${ca.keyPem}\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n`;
    const { certs, blockCount, problems } = readPemCertificates(text, label);
    expect(certs.length, 'only the certificate parsed').toBe(1);
    expect(blockCount, 'PEM blocks seen').toBe(3);
    expect(problems, 'one sentence per bad block').toEqual([
      'block #2 is a private key (PKCS#8), not a CERTIFICATE: key material does not belong in this file',
      'block #3 has label "X509 CRL", expected CERTIFICATE',
    ]);
    expect(problems.join('\n'), 'problems never carry key armour').not.toContain('PRIVATE KEY');
  });

  test('a certificate block whose body is not a certificate is named with the reason', () => {
    const bogus = `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate').toString('base64')}\n-----END CERTIFICATE-----\n`;
    const { certs, firstParsed, problems } = readPemCertificates(bogus, label);
    expect(certs, 'nothing parsed').toEqual([]);
    expect(firstParsed, 'the first block did not parse').toBe(false);
    expect(problems[0], 'the problem names the block').toMatch(/^block #1 is not a valid X\.509 certificate \(/);
  });
});

describe('path-building questions', () => {
  test('isSignedBy needs the Names to chain and the signature to verify', async () => {
    const leaf = await createSvid(ca, 'spiffe://example.org/web');
    const [leafCert, caCert, otherCert] = readPemCertificates(pemOf(leaf, ca, other), label).certs;
    if (!leafCert || !caCert || !otherCert) throw new Error('expected three parsed certificates');
    expect(isSignedBy(leafCert, caCert), 'the CA signed the leaf').toBe(true);
    // Same subject Name ('C=US, O=SPIFFE'), different key: the Names chain but the signature does not verify.
    expect(isSignedBy(leafCert, otherCert), 'a CA with the same name but another key did not sign it').toBe(false);
    expect(isSignedBy(caCert, leafCert), 'the leaf did not sign the CA').toBe(false);
    expect(isSelfIssued(caCert), 'a root is self-issued').toBe(true);
    expect(isSelfIssued(leafCert), 'the leaf is not self-issued').toBe(false);
  });

  test('hasEmptySubject and spiffeUris', async () => {
    const empty = await createSvid(ca, 'unused', { subject: '', uris: ['https://x', 'SPIFFE://a/b'] });
    const [cert] = readPemCertificates(empty.certPem, label).certs;
    if (!cert) throw new Error('expected a parsed certificate');
    expect(hasEmptySubject(cert), 'an empty subject is the empty SEQUENCE').toBe(true);
    expect(spiffeUris(cert), 'spiffe URIs in any case, others left out').toEqual(['SPIFFE://a/b']);
    const [caCert] = readPemCertificates(ca.certPem, label).certs;
    expect(caCert && hasEmptySubject(caCert), 'a named subject is not empty').toBe(false);
  });

  test('describeKey names algorithm and size', async () => {
    const rsa = await createCa('example.org', { keyAlgorithm: 'rsa-2048' });
    expect(describeKey(createPublicKey(ca.certPem)), 'the default test CA key').toBe('EC P-256');
    expect(describeKey(createPublicKey(rsa.certPem)), 'an RSA CA key').toBe('RSA 2048');
  });

  test('KeyUsage flags of the test PKI map to the names x509.ts reports', async () => {
    const leaf = await createSvid(ca, 'spiffe://example.org/web', { keyUsages: KeyUsage.digitalSignature });
    const [cert] = readPemCertificates(leaf.certPem, label).certs;
    expect(cert?.keyUsage?.usages, 'only digitalSignature').toEqual(['digitalSignature']);
  });
});

describe('certificateNames', () => {
  test('returns the issuer and subject DER as signed', async () => {
    const leaf = await createSvid(ca, 'spiffe://example.org/web', { subject: '' });
    const caNames = certificateNames(ca.der);
    const leafNames = certificateNames(leaf.der);
    expect(caNames.subject.equals(caNames.issuer), 'a root names itself as issuer').toBe(true);
    expect(leafNames.issuer.equals(caNames.subject), "the leaf's issuer is the CA's subject, byte for byte").toBe(true);
    expect(leafNames.subject.toString('hex'), 'an empty subject is the empty SEQUENCE').toBe('3000');
    expect(
      Buffer.from(ca.cert.subjectName.toArrayBuffer()).equals(caNames.subject),
      'the subject bytes equal what @peculiar/x509 encodes',
    ).toBe(true);
  });

  test('throws on truncated DER', () => {
    expect(() => certificateNames(ca.der.subarray(0, 40))).toThrow(/truncated DER/);
  });
});
