import { describe, expect, test } from 'vitest';
import { containsSecret, REDACTED_BLOCK, redactSecrets } from '../../lib/redact.ts';

// Built from parts so that this file itself does not carry the armour it tests for.
const MARKER = ['PRIVATE', 'KEY'].join(' ');
const block = (kind: string, body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAmEwggJdAgEAAoGBAL') =>
  `-----BEGIN ${kind}${MARKER}-----\n${body}\n-----END ${kind}${MARKER}-----`;

describe('redactSecrets removes private key material of every kind', () => {
  test.each([
    ['PKCS#8', ''],
    ['SEC1', 'EC '],
    ['PKCS#1', 'RSA '],
    ['encrypted PKCS#8', 'ENCRYPTED '],
    ['OpenSSH', 'OPENSSH '],
  ])('%s ("%s%s")', (_name, kind) => {
    const text = `before\n${block(kind)}\nafter`;
    expect(containsSecret(text), 'the block is recognised as a secret').toBe(true);
    const out = redactSecrets(text);
    expect(out, 'the block is replaced and the text around it kept').toBe(`before\n${REDACTED_BLOCK}\nafter`);
    expect(containsSecret(out), 'nothing secret is left').toBe(false);
  });

  test('several blocks, each removed, text between them kept', () => {
    const out = redactSecrets(`a\n${block('EC ')}\nb\n${block('')}\nc`);
    expect(out, 'both blocks replaced').toBe(`a\n${REDACTED_BLOCK}\nb\n${REDACTED_BLOCK}\nc`);
  });

  test('a block cut before its END line is removed to the end of the text', () => {
    const cut = `log\n-----BEGIN RSA ${MARKER}-----\nMIIEowIBAAKCAQEA\nsecretbytes`;
    const out = redactSecrets(cut);
    expect(out, 'everything from BEGIN on is gone').toBe(`log\n${REDACTED_BLOCK}`);
    expect(out, 'the key bytes are gone').not.toContain('secretbytes');
  });

  test('a block cut before its BEGIN line loses the base64 lines above its END line', () => {
    const cut = `tail of a log:\nMIIEowIBAAKCAQEA\nsecretbytes==\n-----END ${MARKER}-----\nnext line`;
    const out = redactSecrets(cut);
    expect(out, 'the orphan tail is replaced, the lines around it kept').toBe(
      `tail of a log:\n${REDACTED_BLOCK}\nnext line`,
    );
  });

  test('a stray marker is defused; text without one comes back unchanged', () => {
    expect(redactSecrets(`a stray ${MARKER} mention`), 'the marker is defused').toBe(
      'a stray PRIVATE-KEY-REMOVED mention',
    );
    const plain = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\nno secrets here';
    expect(redactSecrets(plain), 'a certificate is not a secret').toBe(plain);
    expect(containsSecret(plain), 'a certificate is not a secret').toBe(false);
  });
});

describe('containsSecret', () => {
  test('reads text and bytes alike', () => {
    expect(containsSecret(Buffer.from(`\u0000\u00ff${block('EC ')}`, 'latin1')), 'bytes with a key').toBe(true);
    expect(containsSecret(Buffer.from('just bytes')), 'bytes without a key').toBe(false);
    expect(containsSecret(`${MARKER}`), 'the bare marker counts').toBe(true);
    expect(containsSecret('private key (PKCS#8)'), 'a label named by kind does not').toBe(false);
  });
});
