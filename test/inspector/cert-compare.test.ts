// Certificates compared as DER, not text: the trust anchor check (the workload's bundle must be \`spire-server bundle
// show\`) rests on it.
import { describe, expect, test } from 'vitest';
import { certificatesOf, compareCertificateSets, describeSetComparison, sameLeaf } from '../../lib/cert-compare.ts';
import { createCa, createSvid, pemOf } from '../support/pki.ts';

describe('certificate sets compared as DER', () => {
  test('order and PEM layout do not matter; a missing or extra certificate does, and is named', async () => {
    const [a, b, c] = await Promise.all([createCa(), createCa(), createCa()]);
    const relaid = `text before the blocks\n${b.certPem.replaceAll('\n', '\r\n')}${a.certPem}`;
    const same = compareCertificateSets(certificatesOf(pemOf(a, b), 'server'), certificatesOf(relaid, 'workload'));
    expect(same.same).toBe(true);

    const differs = compareCertificateSets(certificatesOf(pemOf(a, b), 'server'), certificatesOf(pemOf(a, c), 'wl'));
    expect(differs).toMatchObject({ same: false, missing: [{ der: b.der }], extra: [{ der: c.der }] });
    expect(describeSetComparison(differs, 'bundle show', 'bundle.0.pem')).toMatch(
      /bundle\.0\.pem differs from bundle show: .*serial .* of bundle show is missing; .* is not in bundle show/,
    );
  });

  test('an empty or unparseable side is never "the same"', async () => {
    const ca = await createCa();
    expect(compareCertificateSets(certificatesOf('', 'server'), certificatesOf('', 'workload')).same).toBe(false);
    const garbled = compareCertificateSets(
      certificatesOf(ca.certPem, 'server'),
      certificatesOf(`${ca.certPem}-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n`, 'wl'),
    );
    expect(garbled.same).toBe(false);
    expect(garbled.problems.join()).toMatch(/wl #2/);
  });
});

test('sameLeaf compares the first certificate only, as DER', async () => {
  const ca = await createCa();
  const [one, other] = await Promise.all([
    createSvid(ca, 'spiffe://example.org/a'),
    createSvid(ca, 'spiffe://example.org/a'),
  ]);
  expect(sameLeaf(certificatesOf(pemOf(one, ca), 'presented'), certificatesOf(pemOf(one), 'file'))).toBe(true);
  expect(sameLeaf(certificatesOf(pemOf(other), 'presented'), certificatesOf(pemOf(one), 'file'))).toBe(false);
  expect(sameLeaf(certificatesOf('', 'presented'), certificatesOf('', 'file'))).toBe(false);
});
