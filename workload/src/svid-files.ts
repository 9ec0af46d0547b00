// Writes an SVID to disk with the names `spire-agent api fetch x509 -write <dir>` uses, for tools that read files.
// Each file is replaced atomically (temporary file in the same directory, fsync, rename), so a reader sees the old
// file or the new one, never half of one, and never a certificate paired with the wrong key for long.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { certificatesToPem } from './der.ts';
import type { X509Svid } from './workload-api.ts';

export const DEFAULT_OUT_DIR = '/app';

export interface SvidFiles {
  /** Leaf and intermediates, PEM. */
  svid: string;
  /** PKCS#8 private key, PEM, mode 0600. */
  key: string;
  /** Trust bundle CA certificates, PEM. */
  bundle: string;
}

export async function writeSvidFiles(svid: X509Svid, dir = DEFAULT_OUT_DIR): Promise<SvidFiles> {
  const files: SvidFiles = {
    svid: join(dir, 'svid.0.pem'),
    key: join(dir, 'svid.0.key'),
    bundle: join(dir, 'bundle.0.pem'),
  };
  await mkdir(dir, { recursive: true });
  const keyPem = svid.privateKey.export({ type: 'pkcs8', format: 'pem' });
  // The key goes first: once a reader can see the new certificate, its key is already there.
  await writeFileAtomic(files.key, keyPem, 0o600);
  await writeFileAtomic(files.svid, certificatesToPem(svid.chain), 0o644);
  await writeFileAtomic(files.bundle, certificatesToPem(svid.bundle), 0o644);
  return files;
}

/** Replaces `path` with `content`: write a temporary sibling, flush it to disk, rename it over the target. */
export async function writeFileAtomic(path: string, content: string | Buffer, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temp, 'wx', mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
