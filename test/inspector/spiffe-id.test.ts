import { describe, expect, test } from 'vitest';
import { parseSpiffeId, parseTrustDomain, SpiffeIdError, tryParseSpiffeId } from '../../lib/spiffe-id.ts';

/** The error a parser threw, or a failed expectation saying it accepted the input. */
function rejection(parse: () => unknown, input: string): SpiffeIdError {
  try {
    parse();
  } catch (error) {
    expect(error, `the parser threw something other than a SpiffeIdError for ${JSON.stringify(input)}`).toBeInstanceOf(
      SpiffeIdError,
    );
    return error as SpiffeIdError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected, but it was accepted`);
}

describe('parseSpiffeId accepts what SPIFFE-ID §2 allows', () => {
  test.each([
    ['spiffe://example.org', 'example.org', ''],
    ['spiffe://example.org/k8s-workload', 'example.org', '/k8s-workload'],
    ['spiffe://example.org/ns/default/sa/web', 'example.org', '/ns/default/sa/web'],
    [
      'spiffe://trust_domain-1.example.com/Path.With_Upper-Case/9',
      'trust_domain-1.example.com',
      '/Path.With_Upper-Case/9',
    ],
    ['spiffe://10.0.0.1/ipv4-is-allowed', '10.0.0.1', '/ipv4-is-allowed'],
    ['spiffe://example.org/.hidden/a..b/...', 'example.org', '/.hidden/a..b/...'],
    [`spiffe://${'a'.repeat(255)}/x`, 'a'.repeat(255), '/x'],
    [`spiffe://example.org/${'p'.repeat(2048 - 'spiffe://example.org/'.length)}`, 'example.org', undefined],
  ])('%s', (text, trustDomain, path) => {
    const id = parseSpiffeId(text);
    expect(id.text, 'the parsed ID keeps the input text').toBe(text);
    expect(id.trustDomain, `the trust domain of ${text}`).toBe(trustDomain);
    if (path !== undefined) expect(id.path, `the path of ${text}`).toBe(path);
    expect(tryParseSpiffeId(text), 'tryParseSpiffeId agrees with parseSpiffeId').toEqual(id);
  });
});

describe('parseSpiffeId rejects each broken rule with a sentence that cites the section', () => {
  const longPath = `spiffe://example.org/${'p'.repeat(2049 - 'spiffe://example.org/'.length)}`;
  test.each([
    ['', '§2', /^a SPIFFE ID cannot be empty/],
    ['https://example.org/web', '§2', /^a SPIFFE ID must start with "spiffe:\/\/" \(seen: scheme "https"\)/],
    ['example.org/web', '§2', /must start with "spiffe:\/\/" \(seen: no URI scheme\)/],
    ['SPIFFE://example.org/web', '§2', /must start with "spiffe:\/\/" \(seen: scheme "SPIFFE"\)/],
    ['spiffe:/example.org/web', '§2', /must start with "spiffe:\/\/"/],
    ['spiffe://', '§2', /^the SPIFFE ID has no trust domain/],
    ['spiffe:///path', '§2', /^the SPIFFE ID has no trust domain/],
    ['spiffe://example.org/web?x=1', '§2', /^a SPIFFE ID must not have a query/],
    ['spiffe://example.org/web#frag', '§2', /^a SPIFFE ID must not have a fragment/],
    ['spiffe://user@example.org/web', '§2.1', /userinfo/],
    ['spiffe://example.org:8443/web', '§2.1', /must not carry a port/],
    ['spiffe://[::1]/web', '§2.1', /IPv6 address literal/],
    ['spiffe://exa%6dple.org/web', '§2.1', /trust domain must not contain percent-encoded/],
    [
      'spiffe://Example.org/web',
      '§2.1',
      /^the trust domain name must be lowercase \(SPIFFE-ID §2\.1\): "spiffe:\/\/Example\.org\/web"$/,
    ],
    ['spiffe://exa mple.org/web', '§2.1', /may only contain lowercase letters, digits, "\.", "-" and "_"; it has " "/],
    ['spiffe://example.org/', '§2.2', /^the path must not end with "\/"/],
    ['spiffe://example.org/a/', '§2.2', /^the path must not end with "\/"/],
    ['spiffe://example.org/a//b', '§2.2', /empty segments/],
    ['spiffe://example.org/a/../b', '§2.2', /must not have "\." or "\.\." segments; it has "\.\."/],
    ['spiffe://example.org/./b', '§2.2', /it has "\."/],
    ['spiffe://example.org/a%20b', '§2.2', /path must not contain percent-encoded/],
    ['spiffe://example.org/a b', '§2.2', /"a b" has " "/],
    ['spiffe://example.org/caf\u00e9', '§2.2', /"café" has "é"/],
    ['spiffe://example.org/a\nb', '§2.2', /"a\\nb" has "\\n"/],
    [`spiffe://${'a'.repeat(256)}/x`, '§2.3', /^the trust domain name is 256 bytes, more than 255/],
    [longPath, '§2.3', /^the SPIFFE ID is 2049 bytes, more than 2048/],
  ])('%j', (text, section, message) => {
    const error = rejection(() => parseSpiffeId(text), text);
    expect(error.section, `the section cited for ${JSON.stringify(text)}`).toBe(section);
    expect(error.message, 'the message names the rule').toMatch(message);
    expect(error.message, 'the message cites the section').toContain(`(SPIFFE-ID ${section})`);
    expect(error.message, 'the message stays on one line').not.toMatch(/[\r\n]/);
    expect(tryParseSpiffeId(text), 'tryParseSpiffeId returns undefined for an invalid ID').toBeUndefined();
  });

  test('a long input is quoted cut, so a message stays readable', () => {
    const error = rejection(() => parseSpiffeId(`${'x'.repeat(3000)}`), 'x…');
    expect(error.message.length, 'the message length').toBeLessThan(300);
  });
});

describe('parseTrustDomain (SPIFFE-ID §2.1, §2.3)', () => {
  test.each(['example.org', 'corp.internal', 'td_1-a.b', '127.0.0.1', 'a'.repeat(255)])('accepts %s', (name) => {
    expect(parseTrustDomain(name), `${name} is a valid trust domain name`).toBe(name);
  });

  test.each([
    ['', /^the trust domain name is empty/],
    ['spiffe://example.org', /^a trust domain name is the bare host, without "spiffe:\/\/"/],
    ['Example.ORG', /^the trust domain name must be lowercase/],
    ['example.org:8081', /port/],
    ['admin@example.org', /userinfo/],
    ['example.org/path', /it has "\/"/],
    ['ex%41mple.org', /percent-encoded/],
    ['a'.repeat(256), /256 bytes, more than 255/],
  ])('rejects %j', (name, message) => {
    const error = rejection(() => parseTrustDomain(name), name);
    expect(error.message, 'the message names the rule').toMatch(message);
    expect(error.message, 'the message quotes the input').toContain(`: "${name.slice(0, 100)}`);
  });
});
