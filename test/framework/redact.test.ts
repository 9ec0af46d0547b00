import { describe, expect, test } from 'vitest';
import {
  containsSecret,
  JOIN_TOKEN_PATTERNS,
  joinTokenPlaceholder,
  REDACTED_BLOCK,
  redact,
  redactSecrets,
} from '../../lib/redact.ts';
import { scanForSecrets } from '../../lib/secret-scan.ts';

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

describe('join tokens are redacted wherever the suite can write one', () => {
  const token = 'c0ffee00-1d41-4a77-b950-6cc23560857e';
  const other = '11496976-9241-42c6-863c-c078d5861f9d';
  const places = [
    ['an agent SPIFFE ID', `parent: spiffe://example.org/spire/agent/join_token/${token}`],
    [
      'the path of an agent ID in JSON',
      `{"id":{"trust_domain":"example.org","path":"/spire/agent/join_token/${token}"}}`,
    ],
    ['a JSON-escaped slash', `"spiffe:\\/\\/example.org\\/spire\\/agent\\/join_token\\/${token}"`],
    ['a ps line', `17434 /opt/spire/bin/spire-agent run -config /x/agent.conf -joinToken ${token}\n`],
    ['a flag with =', `spire-agent run --joinToken=${token}`],
    ['a JSON argv', `["run","-config","/x/agent.conf","-joinToken","${token}"]`],
    ['token generate output', `Token: ${token}\n`],
    ['an agent configuration', `agent {\n  join_token = "${token}"\n}`],
    [
      'a SPIRE log line',
      `level=info msg="Node attestation was successful" spiffe_id="spiffe://example.org/spire/agent/join_token/${token}"`,
    ],
  ] as const;

  test.each(places)('in %s: replaced by its fingerprint, and the scan agrees', (_place, text) => {
    expect(
      scanForSecrets(text)
        .map((hit) => hit.kind)
        .join(),
      'the scan finds the token before redaction',
    ).toMatch(/SPIRE join token/);
    const out = redact(text);
    expect(out, 'the token is gone').not.toContain(token);
    expect(out, 'its fingerprint stands in for it').toContain(joinTokenPlaceholder(token));
    expect(scanForSecrets(out), 'the scan finds nothing in the redacted text').toEqual([]);
    expect(redact(out), 'redaction is idempotent').toBe(out);
  });

  test('two agents keep two different fingerprints, so evidence can still compare them', () => {
    expect(joinTokenPlaceholder(token), 'a fingerprint is short and names no token').toMatch(
      /^\[join token removed, sha256:[0-9a-f]{8}\]$/,
    );
    expect(joinTokenPlaceholder(token), 'different tokens, different fingerprints').not.toBe(
      joinTokenPlaceholder(other),
    );
    const id = `spiffe://example.org/spire/agent/join_token/${token}`;
    expect(redact(`parent ${id} is serving agent ${id}`), 'the same token gives the same fingerprint').toBe(
      `parent ${redact(id)} is serving agent ${redact(id)}`,
    );
  });

  test('what only names join-token attestation is left alone', () => {
    for (const text of [
      'NodeAttestor "join_token" {\n  plugin_data {}\n}',
      '{"attestation_type": "join_token", "banned": false}',
      'msg="Agent attestation request completed" node_attestor_type=join_token',
      'with join_token attestation generate a fresh token (`spire-server token generate`)',
      'spire-agent run -joinToken [join token removed]',
      'minified: {Token:o};function o(e,t){}',
    ]) {
      expect(redact(text), `"${text}" holds no token`).toBe(text);
      expect(scanForSecrets(text), `"${text}" holds no token`).toEqual([]);
    }
  });

  test("the scan's own finding labels are no token, so the reports that name them stay clean", () => {
    for (const { label } of JOIN_TOKEN_PATTERNS) {
      expect(redact(label), `"${label}" is left alone`).toBe(label);
      expect(scanForSecrets(label), `"${label}" is no finding`).toEqual([]);
    }
  });

  test('redact() removes private key blocks and join tokens together', () => {
    const out = redact(`${block('EC ')}\n-joinToken ${token}`);
    expect(out, 'both are gone').toBe(`${REDACTED_BLOCK}\n-joinToken ${joinTokenPlaceholder(token)}`);
  });
});
