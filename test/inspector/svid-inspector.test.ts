// Unit tests of the X.509-SVID inspector: a SPIRE-shaped SVID passes every finding, and each generated certificate
// that breaks exactly one rule fails exactly that finding (findings that depend on it are 'not-checked', listed per case).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  type FindingId,
  type FindingStatus,
  inspectSvid,
  renderFindingsTable,
  renderSummary,
  SVID_RULES,
  type SvidInput,
  type SvidReport,
} from '../../lib/svid-inspector.ts';
import {
  createCa,
  createCertificate,
  createIntermediate,
  createSvid,
  EKU,
  type Issued,
  KeyUsage,
  keyPemAs,
  pemOf,
} from '../support/pki.ts';

const TD = 'example.org';
const ID = 'spiffe://example.org/ns/default/sa/web';
const HOUR = 3600_000;
const ALL_IDS = Object.keys(SVID_RULES) as FindingId[];
const BASE_IDS = ALL_IDS.filter((id) => !id.startsWith('SVID-EXP-'));

let ca: Issued;
let leaf: Issued;

beforeAll(async () => {
  ca = await createCa(TD);
  leaf = await createSvid(ca, ID);
});

/** Input for an SVID issued by the shared CA: chain = the SVID (+ extra chain certs), its own key, bundle = the CA. */
function inputFor(svid: Issued, extra: Partial<SvidInput> = {}, ...intermediates: Issued[]): SvidInput {
  return { chainPem: pemOf(svid, ...intermediates), keyPem: svid.keyPem, bundlePem: pemOf(ca), ...extra };
}

function statuses(report: SvidReport): Record<string, FindingStatus> {
  return Object.fromEntries(report.findings.map((f) => [f.id, f.status]));
}

/** Every finding passes except those named in `expected`, which have exactly the given status. */
function expectStatuses(report: SvidReport, expected: Partial<Record<FindingId, FindingStatus>> = {}): void {
  const want = Object.fromEntries(report.findings.map((f) => [f.id, expected[f.id] ?? 'pass']));
  expect(statuses(report)).toEqual(want);
  for (const id of Object.keys(expected)) expect(report.findings.map((f) => f.id)).toContain(id);
  for (const f of report.findings) expect(f.passed).toBe(f.status === 'pass');
  expect(report.passed).toBe(Object.keys(expected).length === 0);
}

function detailOf(report: SvidReport, id: FindingId): string {
  const finding = report.findings.find((f) => f.id === id);
  if (!finding) throw new Error(`no finding ${id}`);
  return finding.detail;
}

describe('a valid SPIRE-shaped SVID', () => {
  test('passes every finding, including the expectations', () => {
    const report = inspectSvid(inputFor(leaf, { expectedSpiffeId: ID, expectedTrustDomain: TD }));
    expect(report.findings.map((f) => f.id)).toEqual(ALL_IDS);
    expectStatuses(report);
    expect(detailOf(report, 'SVID-SAN-01')).toBe(`one URI SAN "${ID}"`);
    expect(detailOf(report, 'SVID-KU-01')).toBe('critical: digitalSignature, keyEncipherment, keyAgreement');
    expect(detailOf(report, 'SVID-EKU-01')).toBe('non-critical: serverAuth, clientAuth');
    expect(detailOf(report, 'SVID-PATH-01')).toMatch(/^chain #1 \(leaf\) ← bundle #1 "C=US, O=SPIFFE"; 1 signature/);
  });

  test('without expectations there are no SVID-EXP findings', () => {
    const report = inspectSvid(inputFor(leaf));
    expect(report.findings.map((f) => f.id)).toEqual(BASE_IDS);
    expectStatuses(report);
  });

  test('the expected trust domain may be given as a trust domain ID', () => {
    expectStatuses(inspectSvid(inputFor(leaf, { expectedTrustDomain: `spiffe://${TD}` })));
  });

  test('summary fields describe the leaf', () => {
    const { summary } = inspectSvid(inputFor(leaf));
    const node = new X509Certificate(leaf.der);
    expect(summary).toEqual({
      spiffeId: ID,
      uriSans: [ID],
      subject: 'C=US, O=SPIRE',
      issuer: 'C=US, O=SPIFFE',
      serial: node.serialNumber.toLowerCase(),
      notBefore: leaf.cert.notBefore.toISOString(),
      notAfter: leaf.cert.notAfter.toISOString(),
      keyType: 'EC P-256',
      chainLength: 1,
      bundleSize: 1,
      fingerprintSha256: node.fingerprint256,
    });
    expect(summary.serial).toBe(leaf.cert.serialNumber.toLowerCase());
    expect(summary.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});

interface RuleCase {
  name: string;
  fails: FindingId;
  /** Findings that depend on the broken one and therefore cannot be judged. */
  notChecked?: FindingId[];
  detail: RegExp;
  build: () => Promise<SvidInput>;
}

const ruleCases: RuleCase[] = [
  {
    name: 'two URI SANs',
    fails: 'SVID-SAN-01',
    notChecked: ['SVID-ID-01', 'SVID-ID-02', 'SVID-TD-01'],
    detail:
      /^2 URI SANs: "spiffe:\/\/example\.org\/ns\/default\/sa\/web", "spiffe:\/\/example\.org\/other" \(validators MUST reject/,
    build: async () => inputFor(await createSvid(ca, ID, { uris: [ID, 'spiffe://example.org/other'] })),
  },
  {
    name: 'no URI SAN (DNS SAN only)',
    fails: 'SVID-SAN-01',
    notChecked: ['SVID-ID-01', 'SVID-ID-02', 'SVID-TD-01'],
    detail: /^no URI SAN; other SANs: DNS "web\.example\.org"$/,
    build: async () => inputFor(await createSvid(ca, ID, { uris: [], dnsNames: ['web.example.org'] })),
  },
  {
    name: 'no SAN extension at all',
    fails: 'SVID-SAN-01',
    notChecked: ['SVID-ID-01', 'SVID-ID-02', 'SVID-TD-01'],
    detail: /^no subjectAltName extension$/,
    build: async () => inputFor(await createSvid(ca, ID, { uris: [] })),
  },
  {
    name: 'a non-spiffe URI',
    fails: 'SVID-ID-01',
    notChecked: ['SVID-ID-02', 'SVID-TD-01'],
    detail:
      /^a SPIFFE ID must start with "spiffe:\/\/" \(seen: scheme "https"\) \(SPIFFE-ID §2\): "https:\/\/example\.org\/web"$/,
    build: async () => inputFor(await createSvid(ca, 'https://example.org/web')),
  },
  {
    name: 'an ID with the root path (trust domain ID)',
    fails: 'SVID-ID-02',
    detail: /^"spiffe:\/\/example\.org" has no path/,
    build: async () => inputFor(await createSvid(ca, 'spiffe://example.org')),
  },
  {
    name: 'an uppercase trust domain',
    fails: 'SVID-ID-01',
    notChecked: ['SVID-ID-02', 'SVID-TD-01'],
    detail: /^the trust domain name must be lowercase \(SPIFFE-ID §2\.1\): "spiffe:\/\/Example\.org\/web"$/,
    build: async () => inputFor(await createSvid(ca, 'spiffe://Example.org/web')),
  },
  {
    name: 'a ".." path segment',
    fails: 'SVID-ID-01',
    notChecked: ['SVID-ID-02', 'SVID-TD-01'],
    detail:
      /must not have "\." or "\.\." segments; it has "\.\." \(SPIFFE-ID §2\.2\): "spiffe:\/\/example\.org\/a\/\.\.\/b"$/,
    build: async () => inputFor(await createSvid(ca, 'spiffe://example.org/a/../b')),
  },
  {
    name: 'an empty subject with a non-critical SAN',
    fails: 'SVID-SAN-02',
    detail: /^subject is empty but the SAN extension is not critical$/,
    build: async () => inputFor(await createSvid(ca, ID, { subject: '', sanCritical: false })),
  },
  {
    name: 'a leaf with cA=true',
    fails: 'SVID-BC-01',
    detail: /^cA=true/,
    build: async () => inputFor(await createSvid(ca, ID, { ca: true })),
  },
  {
    name: 'no keyUsage extension',
    fails: 'SVID-KU-01',
    notChecked: ['SVID-KU-02', 'SVID-KU-03', 'SVID-KU-04'],
    detail: /^keyUsage extension absent$/,
    build: async () => inputFor(await createSvid(ca, ID, { keyUsages: 'omit' })),
  },
  {
    name: 'a non-critical keyUsage',
    fails: 'SVID-KU-01',
    detail: /^keyUsage present but not critical \(digitalSignature, keyEncipherment, keyAgreement\)$/,
    build: async () => inputFor(await createSvid(ca, ID, { keyUsageCritical: false })),
  },
  {
    name: 'no digitalSignature',
    fails: 'SVID-KU-02',
    detail: /^digitalSignature not set \(keyUsage: keyEncipherment, keyAgreement\)$/,
    build: async () =>
      inputFor(await createSvid(ca, ID, { keyUsages: KeyUsage.keyEncipherment | KeyUsage.keyAgreement })),
  },
  {
    name: 'keyCertSign set',
    fails: 'SVID-KU-03',
    detail: /^keyCertSign set \(keyUsage: digitalSignature, keyCertSign\)$/,
    build: async () =>
      inputFor(await createSvid(ca, ID, { keyUsages: KeyUsage.digitalSignature | KeyUsage.keyCertSign })),
  },
  {
    name: 'cRLSign set',
    fails: 'SVID-KU-04',
    detail: /^cRLSign set \(keyUsage: digitalSignature, cRLSign\)$/,
    build: async () => inputFor(await createSvid(ca, ID, { keyUsages: KeyUsage.digitalSignature | KeyUsage.cRLSign })),
  },
  {
    name: 'an EKU without clientAuth',
    fails: 'SVID-EKU-01',
    detail: /^missing clientAuth \(non-critical: serverAuth\)$/,
    build: async () => inputFor(await createSvid(ca, ID, { extKeyUsages: [EKU.serverAuth] })),
  },
  {
    name: 'a leaf signed by a foreign CA with the same name',
    fails: 'SVID-PATH-01',
    detail:
      /^chain #1 \(leaf\) \(issuer "C=US, O=SPIFFE"\) is signed by no bundle CA: bundle #1 has that subject but did not sign it$/,
    build: async () => inputFor(await createSvid(await createCa(TD), ID)),
  },
  {
    name: 'a leaf signed by a CA whose name is not in the bundle',
    fails: 'SVID-PATH-01',
    detail: /is signed by no bundle CA: no bundle CA has that subject$/,
    build: async () => inputFor(await createSvid(await createCa(TD, { subject: 'C=US, O=Elsewhere' }), ID)),
  },
  {
    name: 'an expired leaf',
    fails: 'SVID-TIME-01',
    detail: /^expired 1 h 0 min before .* \(valid .* to .*\)$/,
    build: async () =>
      inputFor(
        await createSvid(ca, ID, { notBefore: new Date(Date.now() - 2 * HOUR), notAfter: new Date(Date.now() - HOUR) }),
      ),
  },
  {
    name: 'a leaf that is not yet valid',
    fails: 'SVID-TIME-01',
    detail: /^not yet valid at .*: starts in (59 min|1 h 0 min)/,
    build: async () =>
      inputFor(
        await createSvid(ca, ID, { notBefore: new Date(Date.now() + HOUR), notAfter: new Date(Date.now() + 2 * HOUR) }),
      ),
  },
  {
    name: 'an intermediate that is not a CA',
    fails: 'SVID-CA-02',
    detail: /^chain #2 "C=US, O=SPIFFE": cA=false$/,
    build: async () => {
      const intermediate = await createIntermediate(ca, TD, {
        ca: false,
        keyUsages: KeyUsage.keyCertSign | KeyUsage.cRLSign,
      });
      return inputFor(await createSvid(intermediate, ID), {}, intermediate);
    },
  },
  {
    name: 'a private key that belongs to another SVID',
    fails: 'SVID-KEY-01',
    detail: /^the supplied EC P-256 key \(PKCS#8\) is not the key of the leaf certificate/,
    build: async () => inputFor(leaf, { keyPem: (await createSvid(ca, ID)).keyPem }),
  },
  {
    name: 'a bundle that contains a non-CA certificate',
    fails: 'SVID-CA-01',
    detail: /^bundle #2 "C=US, O=Example, CN=not-a-ca": cA=false, keyCertSign not set \(keyUsage: digitalSignature\)$/,
    build: async () => {
      const notCa = await createCertificate({ subject: 'C=US, O=Example, CN=not-a-ca', dnsNames: ['web.example.org'] });
      return inputFor(leaf, { bundlePem: pemOf(ca, notCa) });
    },
  },
  {
    name: 'an unexpected SPIFFE ID',
    fails: 'SVID-EXP-01',
    detail:
      /^leaf has "spiffe:\/\/example\.org\/ns\/default\/sa\/web", expected "spiffe:\/\/example\.org\/ns\/default\/sa\/api"$/,
    build: async () => inputFor(leaf, { expectedSpiffeId: 'spiffe://example.org/ns/default/sa/api' }),
  },
  {
    name: 'an unexpected trust domain',
    fails: 'SVID-EXP-02',
    detail: /^leaf trust domain is "example\.org", expected "prod\.example\.org"$/,
    build: async () => inputFor(leaf, { expectedTrustDomain: 'prod.example.org' }),
  },
  {
    name: 'a leaf in another trust domain than its CA',
    fails: 'SVID-TD-01',
    detail: /^leaf trust domain is "other\.org" but bundle #1 is in "example\.org" \("spiffe:\/\/example\.org"\)$/,
    build: async () => inputFor(await createSvid(ca, 'spiffe://other.org/web')),
  },
  {
    name: 'a bundle CA whose SPIFFE ID has a path',
    fails: 'SVID-CA-03',
    detail: /^bundle #1 has "spiffe:\/\/example\.org\/spire\/ca" with path "\/spire\/ca"$/,
    build: async () => {
      const pathCa = await createCa(TD, { uris: ['spiffe://example.org/spire/ca'] });
      return { ...inputFor(await createSvid(pathCa, ID)), bundlePem: pemOf(pathCa) };
    },
  },
  {
    name: 'an intermediate beyond the root pathLenConstraint',
    fails: 'SVID-PATH-01',
    detail: /^bundle #1 has pathLenConstraint 0 but 1 intermediate follow it/,
    build: async () => {
      const root = await createCa(TD, { pathLength: 0 });
      const intermediate = await createIntermediate(root, TD, { subject: 'C=US, O=SPIFFE, CN=intermediate' });
      return { ...inputFor(await createSvid(intermediate, ID), {}, intermediate), bundlePem: pemOf(root) };
    },
  },
  {
    name: 'an expired bundle CA',
    fails: 'SVID-PATH-01',
    detail: /^bundle #1 has expired \(valid .*\) \(path chain #1 \(leaf\) ← bundle #1 "C=US, O=SPIFFE"\)$/,
    build: async () => {
      const old = await createCa(TD, {
        notBefore: new Date(Date.now() - 3 * HOUR),
        notAfter: new Date(Date.now() - HOUR),
      });
      return { ...inputFor(await createSvid(old, ID)), bundlePem: pemOf(old) };
    },
  },
  {
    name: 'a chain PEM with the key appended',
    fails: 'SVID-PEM-01',
    detail:
      /^chain #2 is a private key \(PKCS#8\), not a CERTIFICATE: key material does not belong in this file; 1 certificate parsed of 2 blocks$/,
    build: async () => inputFor(leaf, { chainPem: pemOf(leaf) + leaf.keyPem }),
  },
];

describe('each broken rule fails exactly its finding', () => {
  test.each(ruleCases)('$name → $fails', async ({ fails, notChecked = [], detail, build }) => {
    const report = inspectSvid(await build());
    const expected: Partial<Record<FindingId, FindingStatus>> = { [fails]: 'fail' };
    for (const id of notChecked) expected[id] = 'not-checked';
    expectStatuses(report, expected);
    expect(detailOf(report, fails)).toMatch(detail);
    for (const id of notChecked) expect(detailOf(report, id)).toMatch(/^not checked: .*\(see SVID-/);
  });

  test('every rule is broken by at least one case', () => {
    const broken = new Set(ruleCases.map((c) => c.fails));
    const untested = ALL_IDS.filter((id) => !broken.has(id) && id !== 'SVID-PEM-02');
    expect(untested).toEqual([]);
  });
});

describe('variants the standard allows', () => {
  test('an empty subject with a critical SAN passes', async () => {
    const report = inspectSvid(inputFor(await createSvid(ca, ID, { subject: '', sanCritical: true })));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-SAN-02')).toBe('subject is empty and the SAN extension is critical');
    expect(report.summary.subject).toBe('');
    expect(renderSummary(report.summary)).toContain('Subject: (empty)');
  });

  test('no EKU passes with a SHOULD note', async () => {
    const report = inspectSvid(inputFor(await createSvid(ca, ID, { extKeyUsages: 'omit' })));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-EKU-01')).toMatch(/^extendedKeyUsage absent: allowed, but leaf SVIDs SHOULD/);
  });

  test('no basicConstraints on the leaf passes (cA defaults to false)', async () => {
    const report = inspectSvid(inputFor(await createSvid(ca, ID, { ca: 'omit' })));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-BC-01')).toMatch(/absent, so cA is false/);
  });

  test('DNS SANs beside the URI SAN pass', async () => {
    const report = inspectSvid(inputFor(await createSvid(ca, ID, { dnsNames: ['web.default.svc'] })));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-SAN-01')).toBe(`one URI SAN "${ID}"; other SANs: DNS "web.default.svc"`);
  });

  test('a CA without a SPIFFE ID is fine, and TD-01 says there is nothing to compare', async () => {
    const plainCa = await createCa(TD, { uris: [] });
    const report = inspectSvid({ ...inputFor(await createSvid(plainCa, ID)), bundlePem: pemOf(plainCa) });
    expectStatuses(report);
    expect(detailOf(report, 'SVID-CA-03')).toBe('no signing certificate carries a SPIFFE ID');
    expect(detailOf(report, 'SVID-TD-01')).toMatch(/^no signing certificate carries a SPIFFE ID/);
  });

  test('a bundle with two CAs (rotation) verifies a leaf of either', async () => {
    const next = await createCa(TD);
    const report = inspectSvid({ ...inputFor(await createSvid(next, ID)), bundlePem: pemOf(ca, next) });
    expectStatuses(report);
    expect(detailOf(report, 'SVID-PATH-01')).toMatch(/^chain #1 \(leaf\) ← bundle #2/);
  });
});

describe('multi-certificate chains', () => {
  test('leaf + intermediate with the same subject as the root (SPIRE default) passes', async () => {
    const intermediate = await createIntermediate(ca, TD);
    const svid = await createSvid(intermediate, ID);
    const report = inspectSvid(inputFor(svid, { expectedSpiffeId: ID }, intermediate));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-PEM-01')).toBe('2 certificates: leaf + 1 intermediate');
    expect(detailOf(report, 'SVID-PATH-01')).toMatch(
      /^chain #1 \(leaf\) ← chain #2 "C=US, O=SPIFFE" ← bundle #1 "C=US, O=SPIFFE"; 2 signatures verified/,
    );
    expect(detailOf(report, 'SVID-CA-02')).toBe('the intermediate has cA=true and keyCertSign');
    expect(report.summary.chainLength).toBe(2);
  });

  test('leaf + two intermediates with distinct names passes', async () => {
    const upper = await createIntermediate(ca, TD, { subject: 'C=US, O=SPIFFE, CN=upper' });
    const lower = await createIntermediate(upper, TD, { subject: 'C=US, O=SPIFFE, CN=lower' });
    const svid = await createSvid(lower, ID);
    const report = inspectSvid(inputFor(svid, {}, lower, upper));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-PATH-01')).toMatch(/; 3 signatures verified/);
    expect(detailOf(report, 'SVID-CA-02')).toBe('all 2 intermediates have cA=true and keyCertSign');
  });

  test('a chain that also carries the root notes the unused certificate', async () => {
    const intermediate = await createIntermediate(ca, TD, { subject: 'C=US, O=SPIFFE, CN=intermediate' });
    const svid = await createSvid(intermediate, ID);
    const report = inspectSvid(inputFor(svid, {}, intermediate, ca));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-PATH-01')).toMatch(/not on the path: chain #3/);
  });

  test('intermediates in the wrong order break the path', async () => {
    const upper = await createIntermediate(ca, TD, { subject: 'C=US, O=SPIFFE, CN=upper' });
    const lower = await createIntermediate(upper, TD, { subject: 'C=US, O=SPIFFE, CN=lower' });
    const report = inspectSvid(inputFor(await createSvid(lower, ID), {}, upper, lower));
    expectStatuses(report, { 'SVID-PATH-01': 'fail' });
    expect(detailOf(report, 'SVID-PATH-01')).toBe(
      'chain #1 (leaf) (issuer "C=US, O=SPIFFE, CN=lower") is signed neither by chain #2 nor by a bundle CA: ' +
        'no bundle CA has that subject',
    );
  });
});

describe('keys', () => {
  test('no private key: SVID-KEY-01 is not checked and the report does not pass', () => {
    const report = inspectSvid({ ...inputFor(leaf), keyPem: undefined });
    expectStatuses(report, { 'SVID-KEY-01': 'not-checked' });
    expect(detailOf(report, 'SVID-KEY-01')).toBe('not checked: no private key supplied (keyPem undefined)');
  });

  test('SEC1 ("EC PRIVATE KEY") keys are accepted', () => {
    const report = inspectSvid(inputFor(leaf, { keyPem: keyPemAs(leaf, 'sec1') }));
    expectStatuses(report);
    expect(detailOf(report, 'SVID-KEY-01')).toMatch(/^EC P-256 key \(SEC1\) matches the leaf/);
  });

  test('RSA leaf with a PKCS#1 key, issued by an RSA CA', async () => {
    const rsaCa = await createCa(TD, { keyAlgorithm: 'rsa-2048' });
    const svid = await createSvid(rsaCa, ID, { keyAlgorithm: 'rsa-2048' });
    const report = inspectSvid({ ...inputFor(svid, { keyPem: keyPemAs(svid, 'pkcs1') }), bundlePem: pemOf(rsaCa) });
    expectStatuses(report);
    expect(detailOf(report, 'SVID-KEY-01')).toMatch(/^RSA 2048 key \(PKCS#1\) matches the leaf/);
    expect(report.summary.keyType).toBe('RSA 2048');
  });

  test('EC P-384 leaf under an RSA CA (PKCS#8 key)', async () => {
    const rsaCa = await createCa(TD, { keyAlgorithm: 'rsa-2048' });
    const svid = await createSvid(rsaCa, ID, { keyAlgorithm: 'ec-p384' });
    const report = inspectSvid({ ...inputFor(svid), bundlePem: pemOf(rsaCa) });
    expectStatuses(report);
    expect(report.summary.keyType).toBe('EC P-384');
  });

  test('a key of another type than the leaf fails with both types named', async () => {
    const rsaSvid = await createSvid(ca, ID, { keyAlgorithm: 'rsa-2048' });
    const report = inspectSvid(inputFor(leaf, { keyPem: rsaSvid.keyPem }));
    expectStatuses(report, { 'SVID-KEY-01': 'fail' });
    expect(detailOf(report, 'SVID-KEY-01')).toBe(
      'the supplied RSA 2048 key (PKCS#8) is not the key of the leaf certificate (leaf public key: EC P-256; a different public key)',
    );
  });

  test('an encrypted key cannot be loaded and fails', () => {
    const encrypted = createPrivateKey(leaf.keyPem)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    const report = inspectSvid(inputFor(leaf, { keyPem: encrypted }));
    expectStatuses(report, { 'SVID-KEY-01': 'fail' });
    expect(detailOf(report, 'SVID-KEY-01')).toMatch(/^the encrypted PKCS#8 key could not be loaded/);
  });

  test('a key file with two keys fails', async () => {
    const report = inspectSvid(inputFor(leaf, { keyPem: leaf.keyPem + (await createSvid(ca, ID)).keyPem }));
    expectStatuses(report, { 'SVID-KEY-01': 'fail' });
    expect(detailOf(report, 'SVID-KEY-01')).toBe(
      'expected exactly one private key PEM block, found: private key (PKCS#8), private key (PKCS#8)',
    );
  });

  test('a certificate given as the key fails', () => {
    const report = inspectSvid(inputFor(leaf, { keyPem: leaf.certPem }));
    expectStatuses(report, { 'SVID-KEY-01': 'fail' });
    expect(detailOf(report, 'SVID-KEY-01')).toBe('expected exactly one private key PEM block, found: CERTIFICATE');
  });
});

describe('PEM input', () => {
  test('an unparseable chain fails SVID-PEM-01 and leaves the leaf findings unchecked', () => {
    const report = inspectSvid(inputFor(leaf, { chainPem: 'not a certificate' }));
    const leafFindings = BASE_IDS.filter(
      (id) => !['SVID-PEM-01', 'SVID-PEM-02', 'SVID-CA-01', 'SVID-CA-03'].includes(id),
    );
    expectStatuses(report, {
      'SVID-PEM-01': 'fail',
      ...Object.fromEntries(leafFindings.map((id) => [id, 'not-checked' as const])),
    });
    expect(detailOf(report, 'SVID-PEM-01')).toBe('no PEM block found in the chain PEM');
    expect(report.summary).toMatchObject({ spiffeId: null, subject: null, chainLength: 0, bundleSize: 1 });
  });

  test('an empty bundle fails SVID-PEM-02 and leaves the path and CA findings unchecked', () => {
    const report = inspectSvid(inputFor(leaf, { bundlePem: '' }));
    expectStatuses(report, {
      'SVID-PEM-02': 'fail',
      'SVID-PATH-01': 'not-checked',
      'SVID-CA-01': 'not-checked',
      'SVID-CA-03': 'not-checked',
      'SVID-TD-01': 'not-checked',
    });
    expect(detailOf(report, 'SVID-PEM-02')).toBe('no PEM block found in the bundle PEM');
  });

  test('a corrupted certificate body is reported with its position', () => {
    const body = ca.certPem.split('\n');
    body[3] = `${(body[3] ?? '').slice(0, 10)}AAAA${(body[3] ?? '').slice(14)}`;
    const report = inspectSvid(inputFor(leaf, { bundlePem: `${pemOf(ca)}${body.join('\n')}` }));
    expect(report.findings.find((f) => f.id === 'SVID-PEM-02')?.status).toBe('fail');
    expect(detailOf(report, 'SVID-PEM-02')).toMatch(/^bundle #2 is not a valid X\.509 certificate \(/);
  });

  test('mismatched BEGIN/END labels and CRLF line ends', () => {
    const crlf = pemOf(leaf).replace(/\n/g, '\r\n');
    expectStatuses(inspectSvid(inputFor(leaf, { chainPem: crlf })));
    const broken = pemOf(leaf).replace('-----END CERTIFICATE-----', '-----END X509 CRL-----');
    const report = inspectSvid(inputFor(leaf, { chainPem: broken }));
    expect(detailOf(report, 'SVID-PEM-01')).toMatch(/^chain #1 \(leaf\): BEGIN label "CERTIFICATE" does not match END/);
  });
});

describe('rendering', () => {
  test('the Markdown table has a header and one row per finding', () => {
    const report = inspectSvid(inputFor(leaf, { expectedSpiffeId: ID }));
    const lines = renderFindingsTable(report).split('\n');
    expect(lines[0]).toBe('| ID | Requirement | Section | Result | Detail |');
    expect(lines[1]).toBe('| --- | --- | --- | --- | --- |');
    expect(lines).toHaveLength(report.findings.length + 2);
    report.findings.forEach((f, i) => {
      expect(lines[i + 2]).toMatch(new RegExp(`^\\| ${f.id} \\| .* \\| PASS \\| .* \\|$`));
    });
  });

  test('cells escape pipes and newlines; results read PASS / FAIL / NOT CHECKED', () => {
    const table = renderFindingsTable({
      findings: [
        { id: 'SVID-SAN-01', requirement: 'r', section: 's', passed: true, status: 'pass', detail: 'a|b\nc' },
        { id: 'SVID-SAN-02', requirement: 'r', section: 's', passed: false, status: 'fail', detail: 'x' },
        { id: 'SVID-ID-01', requirement: 'r', section: 's', passed: false, status: 'not-checked', detail: 'y' },
      ],
    });
    expect(table.split('\n').slice(2)).toEqual([
      '| SVID-SAN-01 | r | s | PASS | a\\|b c |',
      '| SVID-SAN-02 | r | s | FAIL | x |',
      '| SVID-ID-01 | r | s | NOT CHECKED | y |',
    ]);
  });

  test('renderSummary gives one labelled line per field', () => {
    const report = inspectSvid(inputFor(leaf));
    const text = renderSummary(report.summary);
    expect(text.split('\n')).toEqual([
      `SPIFFE ID: ${ID}`,
      'Subject: C=US, O=SPIRE',
      'Issuer: C=US, O=SPIFFE',
      `Serial: ${report.summary.serial}`,
      `Not before: ${report.summary.notBefore}`,
      `Not after: ${report.summary.notAfter}`,
      'Key type: EC P-256',
      'Chain: 1 certificate',
      'Bundle: 1 certificate',
      `SHA-256 fingerprint: ${report.summary.fingerprintSha256}`,
    ]);
  });
});

describe('no key material in any output', () => {
  function base64Body(pem: string): string {
    return pem
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('-----'))
      .join('');
  }

  test('findings, table and summary never show PEM key armor or key bytes', async () => {
    const other = await createSvid(ca, ID);
    const rsa = await createSvid(ca, ID, { keyAlgorithm: 'rsa-2048' });
    const sec1 = keyPemAs(leaf, 'sec1');
    const keys = [leaf.keyPem, other.keyPem, rsa.keyPem, sec1, keyPemAs(rsa, 'pkcs1')];
    const inputs: SvidInput[] = [
      inputFor(leaf),
      inputFor(leaf, { keyPem: sec1 }),
      inputFor(leaf, { keyPem: other.keyPem }),
      inputFor(leaf, { keyPem: rsa.keyPem }),
      inputFor(leaf, { keyPem: keyPemAs(rsa, 'pkcs1') }),
      inputFor(leaf, { chainPem: pemOf(leaf) + leaf.keyPem }),
      inputFor(leaf, { chainPem: leaf.keyPem }),
      inputFor(leaf, { bundlePem: sec1 }),
      inputFor(leaf, { keyPem: leaf.keyPem + sec1 }),
      inputFor(leaf, { keyPem: leaf.keyPem.replace('-----END PRIVATE KEY-----', '-----END EC PRIVATE KEY-----') }),
      inputFor(leaf, { keyPem: leaf.keyPem.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!') }),
    ];
    const windows = new Set<string>();
    for (const key of keys) {
      const b64 = base64Body(key);
      for (let i = 0; i + 16 <= b64.length; i += 4) windows.add(b64.slice(i, i + 16));
      const hex = Buffer.from(b64, 'base64').toString('hex');
      for (let i = 0; i + 16 <= hex.length; i += 8) windows.add(hex.slice(i, i + 16).toUpperCase());
    }
    for (const input of inputs) {
      const report = inspectSvid(input);
      const text = [JSON.stringify(report), renderFindingsTable(report), renderSummary(report.summary)].join('\n');
      expect(text).not.toContain('PRIVATE KEY');
      const upper = text.toUpperCase().replace(/:/g, '');
      const leaks = [...windows].filter((w) => text.includes(w) || upper.includes(w.toUpperCase()));
      expect(leaks).toEqual([]);
    }
  });
});

describe('evaluation time', () => {
  test('`now` is used for the leaf and the signing certificates', async () => {
    const longCa = await createCa(TD, {
      notBefore: new Date(Date.now() - 24 * HOUR),
      notAfter: new Date(Date.now() + 24 * HOUR),
    });
    const svid = await createSvid(longCa, ID);
    const base = { ...inputFor(svid), bundlePem: pemOf(longCa) };
    expectStatuses(inspectSvid(base));
    const later = inspectSvid({ ...base, now: new Date(Date.now() + 2 * HOUR) });
    expectStatuses(later, { 'SVID-TIME-01': 'fail' });
    const muchLater = inspectSvid({ ...base, now: new Date(Date.now() + 48 * HOUR) });
    expectStatuses(muchLater, { 'SVID-TIME-01': 'fail', 'SVID-PATH-01': 'fail' });
    expect(detailOf(muchLater, 'SVID-PATH-01')).toMatch(/^bundle #1 has expired/);
  });
});
