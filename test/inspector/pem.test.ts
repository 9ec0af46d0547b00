import { describe, expect, test } from 'vitest';
import { decodePem, safeLabel } from '../../lib/pem.ts';
import { createCa } from '../support/pki.ts';

describe('decodePem', () => {
  test('splits blocks, ignores text between them, keeps labels', async () => {
    const ca = await createCa();
    const text = `bundle for example.org\n${ca.certPem}\nsome comment\n${ca.keyPem}`;
    const { blocks, problems } = decodePem(text);
    expect(problems).toEqual([]);
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PRIVATE KEY']);
    expect(blocks[0]?.der.equals(ca.der)).toBe(true);
    expect(blocks[1]?.der.equals(ca.keyDer)).toBe(true);
  });

  test('reports an unterminated block and bad base64 without echoing the body', async () => {
    const ca = await createCa();
    const cut = ca.certPem.slice(0, ca.certPem.indexOf('-----END'));
    expect(decodePem(cut).problems).toEqual(['a BEGIN line without a matching END line']);
    const bad = decodePem('-----BEGIN CERTIFICATE-----\nAB$D\n-----END CERTIFICATE-----\n');
    expect(bad.blocks[0]?.error).toBe('the body is not valid base64');
    const headers = decodePem(
      '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----',
    );
    expect(headers.blocks[0]?.error).toMatch(/RFC 1421 headers/);
  });

  test('safeLabel names private keys by encoding only', () => {
    expect(safeLabel('EC PRIVATE KEY')).toBe('private key (SEC1)');
    expect(safeLabel('PRIVATE KEY')).toBe('private key (PKCS#8)');
    expect(safeLabel('X509 CRL')).toBe('X509 CRL');
  });
});
