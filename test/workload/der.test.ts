import { X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { certificatesToPem, DerError, derToPem, splitDer } from '../../workload/src/der.ts';
import { createCa, createSvid } from '../support/pki.ts';

describe('splitDer', () => {
  test('keeps all three certificates of a leaf + intermediate + root chain, in order', async () => {
    const root = await createCa('example.org');
    const intermediate = await createCa('example.org', { issuer: root });
    const leaf = await createSvid(intermediate, 'spiffe://example.org/workload');

    const parts = splitDer(Buffer.concat([leaf.der, intermediate.der, root.der]));

    expect(parts).toEqual([leaf.der, intermediate.der, root.der]);
  });

  test('keeps both CAs of a two-CA bundle (the old and the new root during a CA rotation)', async () => {
    const [oldRoot, newRoot] = await Promise.all([createCa('example.org'), createCa('example.org')]);

    const parts = splitDer(Buffer.concat([oldRoot.der, newRoot.der]));

    expect(parts.map((der) => new X509Certificate(der).fingerprint256)).toEqual([
      new X509Certificate(oldRoot.der).fingerprint256,
      new X509Certificate(newRoot.der).fingerprint256,
    ]);
  });

  test('reads short-form lengths too, and an empty input as no certificate', () => {
    expect(splitDer(Buffer.from([0x30, 0x03, 1, 2, 3, 0x30, 0x00]))).toEqual([
      Buffer.from([0x30, 0x03, 1, 2, 3]),
      Buffer.from([0x30, 0x00]),
    ]);
    expect(splitDer(Buffer.alloc(0))).toEqual([]);
  });

  test('reports a truncated certificate instead of returning the complete ones', async () => {
    const ca = await createCa();
    const leaf = await createSvid(ca, 'spiffe://example.org/workload');
    const chain = Buffer.concat([leaf.der, ca.der]);

    expect(() => splitDer(chain.subarray(0, chain.length - 1))).toThrow(
      new DerError(
        `truncated DER: certificate #2 at byte ${leaf.der.length} declares ${ca.der.length} bytes but only ${ca.der.length - 1} remain`,
      ),
    );
    expect(() => splitDer(chain.subarray(0, leaf.der.length + 1))).toThrow(
      /certificate at byte \d+ ends before its length/,
    );
    expect(() => splitDer(Buffer.from([0x30, 0x82, 0x01]))).toThrow(/ends inside its length/);
  });

  test('rejects what is not a DER SEQUENCE', () => {
    expect(() => splitDer(Buffer.from('-----BEGIN CERTIFICATE-----'))).toThrow(/starts with 0x2d, expected a SEQUENCE/);
    expect(() => splitDer(Buffer.from([0x30, 0x80, 0x00, 0x00]))).toThrow(/indefinite length/);
    expect(() => splitDer(Buffer.from([0x30, 0x85, 1, 1, 1, 1, 1]))).toThrow(/5-byte length/);
  });
});

describe('derToPem', () => {
  test('gives PEM that parses back to the same certificate, 64 characters a line', async () => {
    const ca = await createCa();

    const pem = derToPem(ca.der);

    expect(new X509Certificate(pem).raw).toEqual(ca.der);
    expect(pem).toBe(ca.certPem.replace(/\r\n/g, '\n').trimEnd().concat('\n'));
    const body = pem.split('\n').slice(1, -2);
    expect(body.every((line) => line.length <= 64)).toBe(true);
    expect(body.slice(0, -1).every((line) => line.length === 64)).toBe(true);
  });

  test('certificatesToPem concatenates one PEM block per certificate', async () => {
    const [a, b] = await Promise.all([createCa(), createCa()]);

    const pem = certificatesToPem([new X509Certificate(a.der), new X509Certificate(b.der)]);

    expect(pem.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(pem).toBe(derToPem(a.der) + derToPem(b.der));
  });
});
