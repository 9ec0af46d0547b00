// The probes the hardening controls judge with, against a real TLS server on loopback built like the local cluster's
// etcd (its own CA, client certificates required): each refusal the controls expect is really a refusal, the one
// accepted client is really answered, and the sockets a process holds are found in /proc.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  isCertificateVerifyError,
  listeningSocketsOf,
  plaintextGet,
  tcpConnect,
  tlsGet,
} from '../../fixtures/cluster/component-probes.ts';
import { type ClusterPki, foreignCaPem, generateClusterPki } from '../../fixtures/cluster/pki.ts';

let pki: ClusterPki;
let server: Server;
let port: number;

beforeAll(async () => {
  pki = await generateClusterPki({ nodeName: 'localhost', nodeIp: '127.0.0.1', serviceIp: '10.96.0.1' });
  server = createServer(
    {
      cert: pki.etcdServer.certPem,
      key: pki.etcdServer.keyPem,
      ca: pki.etcdCa.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ health: 'true', authorization: request.headers.authorization ?? null }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('component probes against a TLS server that requires client certificates of its own CA', () => {
  test('its own CA and client certificate: answered, with the server certificate named', async () => {
    const outcome = await tlsGet('127.0.0.1', port, '/health', {
      ca: pki.etcdCa.certPem,
      cert: pki.apiserverEtcdClient.certPem,
      key: pki.apiserverEtcdClient.keyPem,
      token: 'abc',
    });
    expect(outcome).toMatchObject({ kind: 'answered', status: 200 });
    expect(outcome.kind === 'answered' && JSON.parse(outcome.body)).toEqual({
      health: 'true',
      authorization: 'Bearer abc',
    });
    expect(outcome.kind === 'answered' && outcome.peer).toMatch(/subject etcd, issuer spire-k8s-validation-etcd-ca/);
  });

  test('no client certificate, or one of another CA: refused', async () => {
    const none = await tlsGet('127.0.0.1', port, '/health', { ca: pki.etcdCa.certPem });
    const otherCa = await tlsGet('127.0.0.1', port, '/health', {
      ca: pki.etcdCa.certPem,
      cert: pki.admin.certPem,
      key: pki.admin.keyPem,
    });
    expect(none.kind, JSON.stringify(none)).toBe('refused');
    expect(otherCa.kind, JSON.stringify(otherCa)).toBe('refused');
  });

  test("trusting a foreign CA: the client refuses the server's certificate with a verify error", async () => {
    const outcome = await tlsGet('127.0.0.1', port, '/health', {
      ca: await foreignCaPem(),
      cert: pki.apiserverEtcdClient.certPem,
      key: pki.apiserverEtcdClient.keyPem,
    });
    expect(isCertificateVerifyError(outcome), JSON.stringify(outcome)).toBe(true);
    expect(
      isCertificateVerifyError({ kind: 'refused', code: 'ECONNRESET', message: 'reset' }),
      'a reset is not a verify error',
    ).toBe(false);
  });

  test('plaintext to the TLS port gets no HTTP success', async () => {
    expect(await plaintextGet('127.0.0.1', port, '/health')).not.toMatch(/^HTTP\/\S+ 2\d\d/);
  });

  test("the process's listening sockets come from /proc; a closed port refuses", async () => {
    const sockets = listeningSocketsOf(process.pid);
    expect(sockets).toContainEqual(expect.objectContaining({ address: '127.0.0.1', port }));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freed = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await tcpConnect('127.0.0.1', freed)).toBe('ECONNREFUSED');
    expect(await tcpConnect('127.0.0.1', port)).toBe('open');
  });
});
