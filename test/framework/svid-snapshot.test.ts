// The SVID files read as one snapshot (fixtures/svid-files.ts readSnapshot): the workload replaces svid.0.pem,
// svid.0.key and bundle.0.pem one by one when its SVID rotates, so a certificate that changed while the others were
// read makes the reader start again, and a snapshot that keeps changing is returned as read (to be judged, not hidden).
import { describe, expect, test } from 'vitest';
import { type ReadSvidFile, readSnapshot } from '../../fixtures/svid-files.ts';

/** A reader over successive states of the three files: `rotateAfter` reads switch to the next state. */
function rotatingReader(
  states: Array<Record<string, string>>,
  rotateAfter: number[],
): { read: ReadSvidFile; reads: string[] } {
  const reads: string[] = [];
  let state = 0;
  const read: ReadSvidFile = async (file) => {
    reads.push(file);
    if (rotateAfter.includes(reads.length - 1)) state = Math.min(state + 1, states.length - 1);
    return states[state]?.[file] ?? '';
  };
  return { read, reads };
}

const state = (n: number) => ({ 'svid.0.pem': `cert ${n}`, 'svid.0.key': `key ${n}`, 'bundle.0.pem': 'bundle' });

describe('SVID files read as one snapshot', () => {
  test('no rotation: the three files, and the certificate read once more to confirm', async () => {
    const { read, reads } = rotatingReader([state(1)], []);
    expect(await readSnapshot(read)).toEqual({ chainPem: 'cert 1', keyPem: 'key 1', bundlePem: 'bundle' });
    expect(reads).toEqual(['svid.0.pem', 'svid.0.key', 'bundle.0.pem', 'svid.0.pem']);
  });

  test('a rotation between the certificate and the key: read again, and the pair returned belongs together', async () => {
    // The rotation lands before the key is read: old certificate, new key; the confirming read sees the new one.
    const { read } = rotatingReader([state(1), state(2)], [1]);
    expect(await readSnapshot(read)).toEqual({ chainPem: 'cert 2', keyPem: 'key 2', bundlePem: 'bundle' });
  });

  test('a certificate that changes on every read: the last read is returned after three attempts, to be judged', async () => {
    const { read, reads } = rotatingReader([1, 2, 3, 4, 5, 6, 7].map(state), [1, 4, 5, 8, 9, 12]);
    const snapshot = await readSnapshot(read);
    expect(reads.length, 'three attempts of three reads, the first two confirmed by a fourth').toBe(11);
    expect(snapshot, 'the third attempt is returned as read, certificate and key from different SVIDs').toEqual({
      chainPem: 'cert 5',
      keyPem: 'key 6',
      bundlePem: 'bundle',
    });
  });
});
