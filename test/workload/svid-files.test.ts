import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { writeFileAtomic, writeSvidFiles } from '../../workload/src/svid-files.ts';
import { createCa } from '../support/pki.ts';
import { type Identity, trustDomain } from './helpers.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'svid-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pemBlocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
const certificatesIn = async (path: string) =>
  pemBlocks(await readFile(path, 'utf8')).map((block) => new X509Certificate(block).raw);

async function identityWithIntermediate(): Promise<Identity> {
  const td = await trustDomain();
  const intermediate = await createCa('example.org', { issuer: td.ca });
  return td.issue('/workload', { intermediate, bundle: [await createCa('example.org')] });
}

describe('writeSvidFiles', () => {
  test('writes the chain, the key (0600, PKCS#8) and the bundle under the names spire-agent uses', async () => {
    const id = await identityWithIntermediate();

    const files = await writeSvidFiles(id.svid, dir);

    expect(files).toEqual({
      svid: join(dir, 'svid.0.pem'),
      key: join(dir, 'svid.0.key'),
      bundle: join(dir, 'bundle.0.pem'),
    });
    expect(await certificatesIn(files.svid)).toEqual(id.fake.chain);
    expect(await certificatesIn(files.bundle)).toEqual(id.fake.bundle);
    const keyPem = await readFile(files.key, 'utf8');
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' })).toEqual(Buffer.from(id.fake.key));
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['bundle.0.pem', 'svid.0.key', 'svid.0.pem']);
  });

  test('replaces the files of a previous SVID and leaves no temporary file behind', async () => {
    const old = await identityWithIntermediate();
    const rotated = await identityWithIntermediate();
    await writeSvidFiles(old.svid, dir);

    const files = await writeSvidFiles(rotated.svid, dir);

    expect(await certificatesIn(files.svid)).toEqual(rotated.fake.chain);
    expect(createPrivateKey(await readFile(files.key)).export({ type: 'pkcs8', format: 'der' })).toEqual(
      Buffer.from(rotated.fake.key),
    );
    expect((await stat(files.key)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['bundle.0.pem', 'svid.0.key', 'svid.0.pem']);
  });

  test('creates a missing output directory', async () => {
    const id = await identityWithIntermediate();
    const nested = join(dir, 'a', 'b');

    await writeSvidFiles(id.svid, nested);

    expect((await readdir(nested)).sort()).toEqual(['bundle.0.pem', 'svid.0.key', 'svid.0.pem']);
  });
});

describe('writeFileAtomic', () => {
  test('leaves the old file untouched and no temporary file when the rename fails', async () => {
    const target = join(dir, 'svid.0.pem');
    await mkdir(target); // a directory in the way: the final rename must fail

    await expect(writeFileAtomic(target, 'new content', 0o644)).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|EPERM/);

    expect(await readdir(dir)).toEqual(['svid.0.pem']);
    expect((await stat(target)).isDirectory()).toBe(true);
  });

  test('writes through a temporary sibling: the target is never seen half-written', async () => {
    const target = join(dir, 'bundle.0.pem');
    await writeFileAtomic(target, 'A'.repeat(1 << 20), 0o644);
    const reads: string[] = [];
    const reader = (async () => {
      for (let i = 0; i < 50; i++) reads.push(await readFile(target, 'utf8'));
    })();

    for (let i = 0; i < 10; i++) await writeFileAtomic(target, (i % 2 ? 'A' : 'B').repeat(1 << 20), 0o644);
    await reader;

    for (const content of reads) {
      expect(content.length).toBe(1 << 20);
      expect(new Set(content).size).toBe(1);
    }
    expect(await readdir(dir)).toEqual(['bundle.0.pem']);
  });
});
