// The served certificate as the suite judges it: the chain a real TLS server presents (captured by the suite's own
// probe), compared with the files it claims to serve and judged against the server's trust bundle.
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, test } from 'vitest';
import { probeServedSvid } from '../../fixtures/served-svid.ts';
import { capturePresentedChain } from '../../fixtures/tls-probe.ts';
import { certificatesOf } from '../../lib/cert-compare.ts';
import { createCa, createSvid, type Issued, pemOf } from '../support/pki.ts';

const ID = 'spiffe://example.org/k8s-workload';

describe('the served SVID, captured over TLS', () => {
  let server: tls.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A TLS server like the workload's: serves `svid`, requires a client certificate from `ca`. */
  async function serve(svid: Issued, ca: Issued): Promise<number> {
    server = tls.createServer({
      cert: svid.certPem,
      key: svid.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('tlsClientError', () => {});
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    return (listening.address() as AddressInfo).port;
  }

  test('captures the chain a server presents although it then refuses the probe (no client certificate)', async () => {
    const ca = await createCa();
    const svid = await createSvid(ca, ID);
    const presented = await capturePresentedChain('127.0.0.1', await serve(svid, ca));
    expect(presented.protocol).toBe('TLSv1.3');
    // The leaf first; OpenSSL completes the chain from the server's trust store, so the CA follows.
    expect(certificatesOf(presented.chainPem, 'presented').certs.map((cert) => cert.der)).toEqual([svid.der, ca.der]);
    expect(presented.ending).not.toMatch(/kept the connection open|sent data/);
  });

  test('a server serving its files, chaining to the server bundle, passes', async () => {
    const ca = await createCa();
    const svid = await createSvid(ca, ID);
    const port = await serve(svid, ca);
    const served = await probeServedSvid('127.0.0.1', port, async () => pemOf(svid), {
      bundlePem: pemOf(ca),
      expectedSpiffeId: ID,
      expectedTrustDomain: 'example.org',
    });
    expect(served).toMatchObject({ sameLeaf: true, attempts: 1, broken: [] });
  });

  test('a server serving a certificate other than its files fails on every attempt, and says which', async () => {
    const ca = await createCa();
    const [servedSvid, onDisk] = await Promise.all([createSvid(ca, ID), createSvid(ca, ID)]);
    const port = await serve(servedSvid, ca);
    const served = await probeServedSvid('127.0.0.1', port, async () => pemOf(onDisk), {
      bundlePem: pemOf(ca),
      expectedSpiffeId: ID,
      expectedTrustDomain: 'example.org',
    });
    expect(served.sameLeaf).toBe(false);
    expect(served.attempts).toBe(3);
    expect(served.description).toContain(`serial ${servedSvid.cert.serialNumber.toLowerCase()}`);
    expect(served.description).toContain(`serial ${onDisk.cert.serialNumber.toLowerCase()}`);
  }, 20_000);

  test('a served chain that does not reach the server bundle, or names another ID, is broken', async () => {
    const [ca, foreign] = await Promise.all([createCa(), createCa()]);
    const svid = await createSvid(foreign, 'spiffe://example.org/someone-else');
    const port = await serve(svid, foreign);
    const served = await probeServedSvid('127.0.0.1', port, async () => pemOf(svid), {
      bundlePem: pemOf(ca),
      expectedSpiffeId: ID,
      expectedTrustDomain: 'example.org',
    });
    expect(served.sameLeaf).toBe(true);
    expect(served.broken.map((finding) => finding.split(':')[0])).toEqual(['SVID-PATH-01', 'SVID-EXP-01']);
  });

  test('nothing listening: the probe fails with a sentence, not a verdict', async () => {
    const probe = tls.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(capturePresentedChain('127.0.0.1', port)).rejects.toThrow(
      /TLS server at 127\.0\.0\.1:\d+ presented no certificate to the probe: connection ended: .*ECONNREFUSED/,
    );
  });
});
