import { describe, expect, test } from 'vitest';
import { parseProcNetTcp, parseProcNetUnix } from '../../fixtures/socket-owner.ts';
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

describe('parseProcNetTcp', () => {
  test('reads local address, listening state and inode; IPv4 and IPv6 in the kernel byte order', () => {
    const v4 = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 52117 1 0 100 0 0 10 0',
      '   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1064 1 0 100 0 0 10 0',
      '   2: 0100007F:D0F2 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 60000 1 0 20 4 30 10 -1',
    ].join('\n');
    expect(parseProcNetTcp(v4)).toEqual([
      { local: '127.0.0.1:8081', listening: true, inode: 52117 },
      { local: '0.0.0.0:2024', listening: true, inode: 1064 },
      { local: '127.0.0.1:53490', listening: false, inode: 60000 },
    ]);
    const v6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7001 1 0 100 0 0 10 0',
      '   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7002 1 0 100 0 0 10 0',
      '   2: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7003 1 0 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNetTcp(v6).map((row) => row.local)).toEqual([':::8081', '::1:80', '::ffff:127.0.0.1:8081']);
  });
});
