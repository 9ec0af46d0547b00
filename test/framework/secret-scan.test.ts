// The secret scan's judgement of bytes (lib/secret-scan.ts) and of a reports directory (lib/report/reports-scan.ts),
// with real keys generated here: every private key format, in every encoding the suite writes, is found; keys'
// public halves, certificates and the reports' ordinary content are not.
import { generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { redact } from '../../lib/redact.ts';
import { buildMatrix, renderConsole, renderJunit, renderMarkdown, withSecretScan } from '../../lib/report/matrix.ts';
import { neutraliseFindings, scanReports } from '../../lib/report/reports-scan.ts';
import { scanForSecrets } from '../../lib/secret-scan.ts';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pkcs8 = ec.privateKey.export({ format: 'der', type: 'pkcs8' });
const sec1 = ec.privateKey.export({ format: 'der', type: 'sec1' });
const pkcs1 = rsa.privateKey.export({ format: 'der', type: 'pkcs1' });
const rsaPkcs8 = rsa.privateKey.export({ format: 'der', type: 'pkcs8' });
const encrypted = ec.privateKey.export({ format: 'der', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'p' });
const ed25519 = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
const pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const hex = (bytes: Buffer) => bytes.toString('hex');
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

const kinds = (content: Buffer | string) => scanForSecrets(content).map((hit) => hit.kind);

describe('private keys are found in every encoding the suite writes', () => {
  test.each([
    [
      'PKCS#8 in a binary file',
      Buffer.concat([Buffer.from([0, 0xff, 0x30, 0x02]), pkcs8, Buffer.from('tail')]),
      'PKCS#8 private key (EC), raw DER',
    ],
    [
      'PKCS#8 base64 in a JSON string',
      JSON.stringify({ key: pkcs8.toString('base64') }),
      'PKCS#8 private key (EC), DER in base64',
    ],
    ['PKCS#8 base64url', `k=${pkcs8.toString('base64url')}`, 'PKCS#8 private key (EC), DER in base64'],
    ['PKCS#8 hex', `key: ${hex(pkcs8)}`, 'PKCS#8 private key (EC), DER in hex'],
    [
      'PKCS#8 hex in capitals with colons',
      hex(pkcs8).toUpperCase().match(/../g)?.join(':') ?? '',
      'PKCS#8 private key (EC), DER in hex',
    ],
    ['PKCS#8 hex after a hex-looking word', `bad${hex(pkcs8)}`, 'PKCS#8 private key (EC), DER in hex'],
    [
      'PKCS#8 base64 in an attachment the HTML embeds',
      `d("data/a.json","${b64(JSON.stringify({ k: pkcs8.toString('base64') }))}")`,
      'PKCS#8 private key (EC), DER in base64 in base64',
    ],
    [
      'PKCS#8 hex in an attachment the HTML embeds',
      `d("data/a.txt","${b64(`der ${hex(pkcs8)}`)}")`,
      'PKCS#8 private key (EC), DER in hex in base64',
    ],
    [
      'a PEM body without armour, in JSON with \\n escapes',
      JSON.stringify({ body: pem.split('\n').slice(1, -2).join('\n') }),
      'PKCS#8 private key (EC), DER in base64',
    ],
    [
      'the first line of a PEM body only (a truncated log)',
      `key ${pem.split('\n')[1]}`,
      'PKCS#8 private key (EC), DER in base64',
    ],
    ['RSA PKCS#8', rsaPkcs8, 'PKCS#8 private key (RSA), raw DER'],
    ['Ed25519 PKCS#8', ed25519.toString('base64'), 'PKCS#8 private key (Ed25519), DER in base64'],
    ['SEC1', sec1.toString('base64'), 'SEC1 EC private key, DER in base64'],
    ['PKCS#1', pkcs1, 'PKCS#1 RSA private key, raw DER'],
    ['encrypted PKCS#8', hex(encrypted), 'encrypted PKCS#8 private key, DER in hex'],
    ['PEM armour', `log\n${pem}`, 'PEM armour of a private key (PKCS#8)'],
    [
      'EC PEM armour in JSON',
      JSON.stringify({ pem: ec.privateKey.export({ format: 'pem', type: 'sec1' }) }),
      'PEM armour of a private key (SEC1)',
    ],
    [
      'an OpenSSH key body',
      `-----BEGIN OPENSSH ${['PRIVATE', 'KEY'].join(' ')}-----\n${b64(Buffer.concat([Buffer.from('openssh-key-v1\0'), pkcs1.subarray(0, 64)]))}`,
      'OpenSSH private key, DER in base64',
    ],
    [
      'OpenSSH armour',
      `-----BEGIN OPENSSH ${['PRIVATE', 'KEY'].join(' ')}-----`,
      'PEM armour of a private key ("OPENSSH" label)',
    ],
  ])('%s', (_name, content, kind) => {
    expect(kinds(content), `the scan names "${kind}"`).toContain(kind);
  });

  test('the SEC1 key inside an EC PKCS#8 key is one finding, not two', () => {
    expect(kinds(pkcs8), 'only the outer structure').toEqual(['PKCS#8 private key (EC), raw DER']);
  });

  test('a finding names the kind and where it starts, never the key', () => {
    const hits = scanForSecrets(JSON.stringify({ key: pkcs8.toString('base64') }));
    expect(hits, 'one hit at the string that holds it').toEqual([
      { kind: 'PKCS#8 private key (EC), DER in base64', offset: 8 },
    ]);
    expect(JSON.stringify(hits), 'no key bytes in the finding').not.toContain(pkcs8.toString('base64').slice(0, 16));
  });
});

describe('what is not a secret is not a finding', () => {
  // The host's CA bundle: real certificates, as PEM and as DER.
  const cert = readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8');
  test.each([
    ['a public key (SPKI DER, base64)', ec.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')],
    ['a public key (PEM)', ec.publicKey.export({ format: 'pem', type: 'spki' }) as string],
    ['an RSA public key (PKCS#1 DER)', rsa.publicKey.export({ format: 'der', type: 'pkcs1' })],
    ['UUIDs, Allure ids and hashes', `${randomUUID()} 59be5d54a6bce30c2d5502d86d7c6ebf ${'ab'.repeat(40)}`],
    ['random bytes', Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919 + 13) % 251))],
    ['the CA bundle of this host (PEM)', cert],
  ])('%s', (_name, content) => {
    expect(scanForSecrets(content), 'nothing found').toEqual([]);
  });

  test('certificates in DER are not keys', () => {
    const pems = cert.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    expect(pems.length, 'the host has a CA bundle to read').toBeGreaterThanOrEqual(20);
    const ders = pems.map((block) => Buffer.from(new X509Certificate(block).raw));
    expect(scanForSecrets(Buffer.concat(ders)), `${ders.length} certificates, no key`).toEqual([]);
  });
});

describe('the scan of a reports directory', () => {
  const reports = () => {
    const dir = mkdtempSync(join(tmpdir(), 'reports-scan-'));
    mkdirSync(join(dir, 'evidence', 'SPIRE-03'), { recursive: true });
    mkdirSync(join(dir, 'allure-results'), { recursive: true });
    writeFileSync(join(dir, 'evidence', 'SPIRE-03', 'clean.txt'), 'spire-agent run -joinToken [join token removed]\n');
    writeFileSync(join(dir, 'compliance.json'), JSON.stringify({ result: 'passed' }));
    return dir;
  };

  test('a clean directory has no findings; the scan says what it read', () => {
    const scan = scanReports(reports());
    expect(scan.findings, 'nothing found').toEqual([]);
    expect(scan.files, 'both files read').toBe(2);
  });

  test('names each file and kind, and neutralises them once the run failed', () => {
    const dir = reports();
    const token = randomUUID();
    writeFileSync(join(dir, 'allure-results', 'x-attachment.bin'), Buffer.concat([Buffer.from('\u0000\u00ff'), pkcs8]));
    writeFileSync(join(dir, 'evidence', 'SPIRE-03', 'ps.txt'), `spire-agent run -joinToken ${token}\n`);
    writeFileSync(join(dir, 'logs.txt'), `before\n${pem}after\n`);
    const scan = scanReports(dir);
    expect(
      scan.findings.map((finding) => `${finding.file}: ${finding.kind}`),
      'each file with the kind of its secret',
    ).toEqual([
      'allure-results/x-attachment.bin: PKCS#8 private key (EC), raw DER',
      'evidence/SPIRE-03/ps.txt: SPIRE join token on an agent command line (-joinToken <token>)',
      'logs.txt: PEM armour of a private key (PKCS#8)',
      'logs.txt: PKCS#8 private key (EC), DER in base64',
    ]);
    expect(JSON.stringify(scan), 'the scan keeps no secret').not.toContain(token);
    expect(neutraliseFindings(dir, scan.findings), 'text redacted, binary replaced').toEqual([
      { file: 'allure-results/x-attachment.bin', action: 'replaced by a note' },
      { file: 'evidence/SPIRE-03/ps.txt', action: 'redacted' },
      { file: 'logs.txt', action: 'redacted' },
    ]);
    expect(scanReports(dir).findings, 'nothing is left').toEqual([]);
    expect(readFileSync(join(dir, 'logs.txt'), 'utf8'), 'the text around the key is kept').toBe(
      'before\n[private key removed]\nafter\n',
    );
  });

  test('only what changed since a time, when asked (the rescan after the teardown)', () => {
    const dir = reports();
    const since = Date.now() + 60_000;
    expect(scanReports(dir, { modifiedSince: since }).files, 'no file is newer').toBe(0);
  });

  test('a finding fails the run in the matrix, the console, the Markdown and the JUnit', () => {
    const dir = reports();
    cpSync(join(dir, 'compliance.json'), join(dir, 'copy.json'));
    writeFileSync(join(dir, 'leak.txt'), pem);
    const matrix = withSecretScan(
      buildMatrix({ outcomes: [], failOnSeverity: 'critical', controls: [] }),
      scanReports(dir),
    );
    expect(matrix.result, 'the run fails on the scan alone').toBe('failed');
    const console = renderConsole(matrix);
    expect(console, 'the console says why').toContain(
      'the secret scan found a private key or join token in 1 report file(s)',
    );
    expect(console, 'and names the file and the kind').toContain('leak.txt: PEM armour of a private key (PKCS#8)');
    expect(renderMarkdown(matrix), 'the Markdown too').toContain('## Secret scan of the reports');
    expect(renderJunit(matrix), 'JUnit has a failed run check').toMatch(
      /<testcase name="secret scan of the reports"[^>]*>\s*<failure/,
    );
    expect(console + renderJunit(matrix), 'no key in any of them').not.toContain(pem.split('\n')[1]);
    expect(redact(console), "the reporter's own redaction leaves the findings readable").toBe(console);
  });
});
