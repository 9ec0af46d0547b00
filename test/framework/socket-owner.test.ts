import { describe, expect, test } from 'vitest';
import { parseProcNetUnix } from '../../fixtures/socket-owner.ts';
import { printableCommand } from '../../fixtures/spire.ts';

describe('parseProcNetUnix', () => {
  test('reads inode, listening flag and path of bound sockets', () => {
    const text = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '000000003305b1b0: 00000002 00000000 00010000 0001 01  8035 /tmp/spire-agent/public/api.sock',
      '0000000009651a6f: 00000003 00000000 00000000 0001 03  6603',
      '00000000f52eb10d: 00000003 00000000 00000000 0001 03  8226 /tmp/spire-agent/public/api.sock',
    ].join('\n');
    expect(parseProcNetUnix(text)).toEqual([
      { inode: 8035, listening: true, path: '/tmp/spire-agent/public/api.sock' },
      { inode: 8226, listening: false, path: '/tmp/spire-agent/public/api.sock' },
    ]);
  });
});

test('printableCommand leaves the join token out of a SPIRE command line', () => {
  expect(printableCommand(['spire-agent', 'run', '-config', 'a.conf', '-joinToken', 's3cret'])).toBe(
    'spire-agent run -config a.conf -joinToken [join token removed]',
  );
  expect(printableCommand(['spire-agent', 'run', '--joinToken=s3cret'])).toBe(
    'spire-agent run --joinToken=[join token removed]',
  );
});
