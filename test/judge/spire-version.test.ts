import { expect, test } from 'vitest';
import { isPinnedSpireVersion } from '../../lib/spire-version.ts';

test('isPinnedSpireVersion: the pinned release or a source build of it, nothing else', () => {
  expect(isPinnedSpireVersion('1.13.3\n')).toBe(true);
  expect(isPinnedSpireVersion('1.13.3-dev-unk')).toBe(true);
  for (const other of ['1.13.2', '1.13.30', '1.12.3', '', 'spire-server: command not found', '1.13.3x'])
    expect(isPinnedSpireVersion(other), JSON.stringify(other)).toBe(false);
});
