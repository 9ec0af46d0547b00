// Shared pieces of the workload tests: identities made with the test PKI, a logger that records lines, and a
// bounded wait.

import type { Logger } from '../../workload/src/log.ts';
import { parseX509Svid, type X509Svid } from '../../workload/src/workload-api.ts';
import type { FakeSvid } from '../support/fake-workload-api.ts';
import { createCa, createSvid, type Issued } from '../support/pki.ts';

export interface Identity {
  spiffeId: string;
  leaf: Issued;
  /** What the fake Workload API serves. */
  fake: FakeSvid;
  /** What the workload's X509Source would produce. */
  svid: X509Svid;
}

export interface IssueOptions {
  /** CA certificates added to the holder's own trust domain bundle, besides its root. */
  bundle?: Issued[];
  /** Trust domains whose bundles the holder gets as federated bundles (trusted for their own IDs only). */
  federated?: TrustDomain[];
  /** Signs the leaf with this intermediate (sent in the chain) instead of the root. */
  intermediate?: Issued;
  /** Signs the leaf with this CA, not sent in the chain: e.g. another trust domain's root, for a forged SVID. */
  issuer?: Issued;
}

export interface TrustDomain {
  name: string;
  ca: Issued;
  /** Issues an SVID of this trust domain, signed by its root CA unless the options say otherwise. */
  issue(path: string, options?: IssueOptions): Promise<Identity>;
}

export async function trustDomain(name = 'example.org'): Promise<TrustDomain> {
  const ca = await createCa(name);
  return {
    name,
    ca,
    async issue(path, options = {}) {
      const spiffeId = `spiffe://${name}${path}`;
      const leaf = await createSvid(options.intermediate ?? options.issuer ?? ca, spiffeId);
      const fake: FakeSvid = {
        spiffeId,
        chain: [leaf.der, ...(options.intermediate ? [options.intermediate.der] : [])],
        key: leaf.keyDer,
        bundle: [ca.der, ...(options.bundle ?? []).map((extra) => extra.der)],
      };
      const federated = Object.fromEntries(
        (options.federated ?? []).map((other) => [`spiffe://${other.name}`, Buffer.from(other.ca.der)]),
      );
      return { spiffeId, leaf, fake, svid: toX509Svid(fake, federated) };
    },
  };
}

export function toX509Svid(fake: FakeSvid, federated: Record<string, Buffer> = {}): X509Svid {
  return parseX509Svid(
    {
      spiffe_id: fake.spiffeId,
      x509_svid: Buffer.concat(fake.chain),
      x509_svid_key: Buffer.from(fake.key),
      bundle: Buffer.concat(fake.bundle),
      hint: fake.hint ?? '',
    },
    federated,
  );
}

export interface RecordingLogger extends Logger {
  readonly lines: string[];
  /** Resolves with the first line matching `pattern`, waiting up to timeoutMs for it. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Every line any recording logger saw, so a test can check that none of them carries key material. */
export const allRecordedLines: string[] = [];

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const record = (line: string) => {
    lines.push(line);
    allRecordedLines.push(line);
  };
  return {
    lines,
    info: record,
    error: record,
    async waitForLine(pattern, timeoutMs = 5000) {
      await eventually(() => lines.some((line) => pattern.test(line)), `a log line matching ${pattern}`, timeoutMs);
      return lines.find((line) => pattern.test(line)) ?? '';
    },
  };
}

/** Polls `condition` every 10 ms; fails with `what` after timeoutMs. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Fails when `output` contains a PEM private key or the base64 of one of the given PKCS#8 keys. */
export function findKeyMaterial(output: string, keys: Uint8Array[]): string | undefined {
  if (output.includes('PRIVATE KEY')) return 'a "PRIVATE KEY" PEM block';
  for (const key of keys) {
    const base64 = Buffer.from(key).toString('base64');
    // Any 40-character window of the key's base64 is far too long to appear by chance.
    for (let i = 0; i + 40 <= base64.length; i += 20) {
      if (output.includes(base64.slice(i, i + 40))) return 'base64 of a private key';
    }
  }
  for (const key of keys) {
    if (output.includes(Buffer.from(key).toString('hex').slice(0, 40))) return 'hex of a private key';
  }
  return undefined;
}
