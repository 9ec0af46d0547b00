import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  authorizer,
  chainEndsAtBundle,
  createMtlsServer,
  listen,
  mtlsRequest,
  notAuthorized,
  type PeerPolicy,
  peerSpiffeId,
  REPLY,
  updateServerSvid,
} from '../../workload/src/mtls.ts';
import { parseSpiffeId } from '../../workload/src/spiffe-id.ts';
import { createCertificate, createIntermediate, EKU, KeyUsage } from '../support/pki.ts';
import {
  allRecordedLines,
  findKeyMaterial,
  type Identity,
  type RecordingLogger,
  recordingLogger,
  type TrustDomain,
  trustDomain,
} from './helpers.ts';

let td: TrustDomain;
let other: TrustDomain;
let server: Identity;
let client: Identity;
const keys: Uint8Array[] = [];
const servers: tls.Server[] = [];

beforeAll(async () => {
  [td, other] = await Promise.all([trustDomain('example.org'), trustDomain('other.org')]);
  // The server also holds other.org's bundle (federation), so that a client from there fails on authorization, not
  // on its chain.
  server = await td.issue('/server', { federated: [other] });
  client = await td.issue('/client');
  keys.push(server.fake.key, client.fake.key);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

async function startServer(policy: PeerPolicy = {}): Promise<{ port: number; log: RecordingLogger }> {
  const log = recordingLogger();
  const s = createMtlsServer(server.svid, { authorize: authorizer(policy, parseSpiffeId(server.spiffeId)), log });
  servers.push(s);
  return { port: await listen(s, '127.0.0.1', 0), log };
}

function request(port: number, from: Identity, expectedServerId = server.spiffeId) {
  const log = recordingLogger();
  const reply = mtlsRequest({
    host: '127.0.0.1',
    port,
    svid: from.svid,
    expectedServerId,
    message: 'Hello from the test client',
    log,
    timeoutMs: 5000,
  });
  return { reply, log };
}

describe('mTLS between two SVIDs of one trust domain', () => {
  test('both sides verify each other and the client gets the reply', async () => {
    const { port, log: serverLog } = await startServer();
    const { reply, log: clientLog } = request(port, client);

    await expect(reply).resolves.toEqual({
      serverId: 'spiffe://example.org/server',
      serverSerial: server.leaf.cert.serialNumber.toLowerCase(),
      reply: REPLY,
    });
    expect(clientLog.lines).toContain('[Client] ✅ VERIFIED SERVER IDENTITY: spiffe://example.org/server');
    await serverLog.waitForLine(/Received/);
    expect(serverLog.lines).toEqual([
      '[Server] ✅ VERIFIED CLIENT IDENTITY: spiffe://example.org/client',
      '[Server] Received: "Hello from the test client"',
    ]);
  });

  test('a client without a certificate is refused during the handshake', async () => {
    const { port, log } = await startServer();
    const caOnly = tls.connect({
      host: '127.0.0.1',
      port,
      ca: server.svid.bundle.map((c) => c.toString()),
      checkServerIdentity: () => undefined,
    });
    const outcome = new Promise<string>((resolve) => {
      let data = '';
      caOnly.on('data', (chunk) => (data += chunk));
      caOnly.once('secureConnect', () => caOnly.write('hello\n'));
      caOnly.once('error', (error) => resolve(`error: ${error.message}`));
      caOnly.once('close', () => resolve(`closed, got "${data}"`));
    });

    expect(await outcome).not.toContain(REPLY);
    const line = await log.waitForLine(/REJECTED CLIENT/);
    expect(line).toMatch(/^\[Server\] ❌ REJECTED CLIENT: TLS handshake failed: .*peer did not return a certificate/);
    expect(log.lines.some((l) => l.includes('VERIFIED CLIENT'))).toBe(false);
  });

  test('a client whose certificate comes from a foreign CA is refused, even with the same SPIFFE ID', async () => {
    const { port, log } = await startServer();
    const impostorCa = await trustDomain('example.org');
    // It trusts the real CA, so it accepts the server; only the server's check can stop it.
    const impostor = await impostorCa.issue('/client', { bundle: [td.ca] });
    keys.push(impostor.fake.key);

    await expect(request(port, impostor).reply).rejects.toThrow();
    const line = await log.waitForLine(/REJECTED CLIENT/);
    expect(line).toMatch(
      /^\[Server\] ❌ REJECTED CLIENT: TLS handshake failed: client certificate not trusted \([A-Z_]+\)$/,
    );
    expect(log.lines.some((l) => l.includes('VERIFIED CLIENT'))).toBe(false);
  });

  test('a client whose SPIFFE ID is not on the allow-list is refused', async () => {
    const { port, log } = await startServer({ allowIds: ['spiffe://example.org/client'] });
    const intruder = await td.issue('/intruder');
    keys.push(intruder.fake.key);

    await expect(request(port, intruder).reply).rejects.toThrow(/without replying/);
    expect(await log.waitForLine(/REJECTED/)).toBe(
      '[Server] ❌ REJECTED CLIENT: spiffe://example.org/intruder is not authorized (allowed: spiffe://example.org/client)',
    );
    expect(log.lines.some((l) => l.includes('VERIFIED CLIENT'))).toBe(false);

    await expect(request(port, client).reply).resolves.toMatchObject({ reply: REPLY });
  });

  test('by default only the server’s own trust domain is allowed', async () => {
    const { port, log } = await startServer();
    const foreign = await other.issue('/client', { federated: [td] });
    keys.push(foreign.fake.key);

    await expect(request(port, foreign).reply).rejects.toThrow();
    expect(await log.waitForLine(/REJECTED/)).toBe(
      '[Server] ❌ REJECTED CLIENT: spiffe://other.org/client is not authorized (allowed: any ID in example.org)',
    );
  });

  test('a client certificate with two URI SANs is refused', async () => {
    const { port, log } = await startServer();
    const twoIds = await createCertificate({
      issuer: td.ca,
      uris: ['spiffe://example.org/client', 'spiffe://example.org/admin'],
      keyUsages: KeyUsage.digitalSignature,
      extKeyUsages: [EKU.serverAuth, EKU.clientAuth],
    });
    keys.push(twoIds.keyDer);
    const sneaky = tls.connect({
      host: '127.0.0.1',
      port,
      cert: twoIds.certPem,
      key: twoIds.keyPem,
      ca: server.svid.bundle.map((c) => c.toString()),
      checkServerIdentity: () => undefined,
    });
    sneaky.on('error', () => {});
    sneaky.once('secureConnect', () => sneaky.write('hello\n'));

    expect(await log.waitForLine(/REJECTED/)).toBe(
      '[Server] ❌ REJECTED CLIENT: no valid SPIFFE ID in its certificate: certificate must have exactly one URI SAN, it has 2',
    );
    sneaky.destroy();
  });

  test('the client refuses a server that presents another SPIFFE ID than expected', async () => {
    const { port, log: serverLog } = await startServer();
    const { reply, log } = request(port, client, 'spiffe://example.org/the-real-server');

    await expect(reply).rejects.toThrow(
      'server is spiffe://example.org/server, expected spiffe://example.org/the-real-server',
    );
    expect(log.lines.some((l) => l.includes('VERIFIED SERVER'))).toBe(false);
    expect(serverLog.lines.some((l) => l.includes('Received'))).toBe(false);
  });

  test('the client refuses a server whose chain does not lead to its bundle', async () => {
    const { port } = await startServer();
    const stranger = await other.issue('/client'); // trusts other.org only

    await expect(request(port, stranger).reply).rejects.toThrow(/unable to (get|verify)|self.signed|certificate/i);
  });
});

describe('a trust domain is only believed with a chain that ends at its own bundle', () => {
  test('a client with an ID of trust domain B whose chain ends at A’s bundle is refused, even with B allowed', async () => {
    const { port, log } = await startServer({ allowTrustDomain: 'other.org' });
    // Signed by example.org's CA, which the server trusts, but claiming an ID of other.org.
    const forged = await other.issue('/client', { issuer: td.ca, federated: [td] });
    keys.push(forged.fake.key);

    await expect(request(port, forged).reply).rejects.toThrow(/without replying/);
    expect(await log.waitForLine(/REJECTED/)).toBe(
      '[Server] ❌ REJECTED CLIENT: the certificate chain of spiffe://other.org/client does not end at the bundle of ' +
        'its trust domain other.org',
    );
    expect(log.lines.some((l) => l.includes('VERIFIED CLIENT'))).toBe(false);

    // The genuine other.org client, chained to other.org's own CA, is allowed.
    const genuine = await other.issue('/client', { federated: [td] });
    keys.push(genuine.fake.key);
    await expect(request(port, genuine).reply).resolves.toMatchObject({ reply: REPLY });
  });

  test('a client of a trust domain whose bundle the server does not hold is refused', async () => {
    const { port, log } = await startServer({ allowTrustDomain: 'third.org' });
    const third = await trustDomain('third.org');
    // Signed by other.org's CA (trusted by the server as other.org's bundle), claiming third.org.
    const stray = await third.issue('/client', { issuer: other.ca, federated: [td] });
    keys.push(stray.fake.key);

    await expect(request(port, stray).reply).rejects.toThrow();
    expect(await log.waitForLine(/REJECTED/)).toBe(
      '[Server] ❌ REJECTED CLIENT: spiffe://third.org/client is of trust domain third.org, for which we hold no bundle',
    );
  });

  test('the client refuses a server whose chain ends at another trust domain’s bundle', async () => {
    // A server claiming example.org's server ID, signed by other.org's CA; the client trusts other.org (federated).
    const forgedServer = await td.issue('/server', { issuer: other.ca, federated: [other] });
    keys.push(forgedServer.fake.key);
    const serverLog = recordingLogger();
    const s = createMtlsServer(forgedServer.svid, {
      authorize: authorizer({}, parseSpiffeId(forgedServer.spiffeId)),
      log: serverLog,
    });
    servers.push(s);
    const port = await listen(s, '127.0.0.1', 0);
    const trusting = await td.issue('/client', { federated: [other] });
    keys.push(trusting.fake.key);
    const { reply, log } = request(port, trusting);

    await expect(reply).rejects.toThrow(
      'the certificate chain of spiffe://example.org/server does not end at the bundle of its trust domain example.org',
    );
    expect(log.lines.some((l) => l.includes('VERIFIED SERVER'))).toBe(false);
    expect(serverLog.lines.some((l) => l.includes('Received'))).toBe(false);
  });

  test('the server remembers a verdict per client chain only under the bundles it was given', async () => {
    const { port, log } = await startServer({ allowTrustDomain: 'other.org' });
    const s = servers.at(-1) as tls.Server;
    const forged = await other.issue('/client', { issuer: td.ca, federated: [td] });
    const genuine = await other.issue('/client', { federated: [td] });
    keys.push(forged.fake.key, genuine.fake.key);
    // Each chain twice: the second connection is judged from memory, with the same outcome.
    for (let i = 0; i < 2; i++) {
      await expect(request(port, forged).reply, 'the forged chain is refused every time').rejects.toThrow(
        /without replying/,
      );
      await expect(request(port, genuine).reply, 'the genuine chain is allowed every time').resolves.toMatchObject({
        reply: REPLY,
      });
    }
    expect(log.lines.filter((l) => l.includes('does not end at the bundle')).length).toBe(2);

    // A rotation whose bundles put other.org's CA under example.org only: TLS still trusts the CA, but the genuine
    // other.org chain no longer ends at a bundle of its own trust domain, so the remembered "allowed" must not hold.
    const rotated = await td.issue('/server', { bundle: [other.ca] });
    keys.push(rotated.fake.key);
    updateServerSvid(s, rotated.svid);
    await expect(request(port, genuine).reply, 'after the rotation the genuine chain is judged again').rejects.toThrow(
      /without replying/,
    );
    expect(await log.waitForLine(/for which we hold no bundle/)).toBe(
      '[Server] ❌ REJECTED CLIENT: spiffe://other.org/client is of trust domain other.org, for which we hold no bundle',
    );
  });

  test('chainEndsAtBundle follows intermediates, and only through CA certificates', async () => {
    const intermediate = await createIntermediate(td.ca, 'example.org');
    const viaIntermediate = await td.issue('/via', { intermediate });
    keys.push(viaIntermediate.fake.key);
    expect(chainEndsAtBundle(viaIntermediate.svid.chain, [new X509Certificate(td.ca.der)])).toBe(true);
    expect(chainEndsAtBundle(viaIntermediate.svid.chain, [new X509Certificate(other.ca.der)])).toBe(false);
    // A leaf signed by another leaf (no CA) does not lead to the bundle, even though that leaf was signed by the CA.
    const signer = await td.issue('/signer');
    const underLeaf = await td.issue('/under-leaf', { issuer: signer.leaf });
    keys.push(signer.fake.key, underLeaf.fake.key);
    expect(chainEndsAtBundle([...underLeaf.svid.chain, ...signer.svid.chain], [new X509Certificate(td.ca.der)])).toBe(
      false,
    );
  });
});

describe('verification cannot be turned off from the environment', () => {
  const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  beforeEach(() => {
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
  });

  test('with NODE_TLS_REJECT_UNAUTHORIZED=0 the client still refuses a server it cannot verify', async () => {
    const { port, log: serverLog } = await startServer();
    const stranger = await other.issue('/client'); // trusts other.org only: the server's chain is not verifiable
    keys.push(stranger.fake.key);
    const { reply, log } = request(port, stranger, 'spiffe://example.org/server');

    await expect(reply).rejects.toThrow(/unable to (get|verify)|self.signed|certificate/i);
    expect(log.lines.some((l) => l.includes('VERIFIED SERVER'))).toBe(false);
    expect(serverLog.lines.some((l) => l.includes('Received'))).toBe(false);
  });

  test('with NODE_TLS_REJECT_UNAUTHORIZED=0 the server still refuses a client from a foreign CA', async () => {
    const { port, log } = await startServer();
    const impostor = await (await trustDomain('example.org')).issue('/client', { bundle: [td.ca] });
    keys.push(impostor.fake.key);

    await expect(request(port, impostor).reply).rejects.toThrow();
    expect(await log.waitForLine(/REJECTED CLIENT/)).toMatch(/client certificate not trusted/);
    expect(log.lines.some((l) => l.includes('VERIFIED CLIENT'))).toBe(false);
  });

  test('a socket that TLS did not authorize is refused with its reason, whatever the options were', () => {
    // At run time Node gives the OpenSSL code as a string, though its type says Error.
    const code = 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' as unknown as Error;
    expect(notAuthorized({ authorized: false, authorizationError: code })).toBe(
      'certificate not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    );
    expect(notAuthorized({ authorized: true, authorizationError: undefined as unknown as Error })).toBeUndefined();
  });
});

describe('peer identity rules', () => {
  test('peerSpiffeId wants exactly one URI SAN holding a valid SPIFFE ID', () => {
    expect(peerSpiffeId('DNS:example.org, URI:spiffe://example.org/a').text).toBe('spiffe://example.org/a');
    expect(() => peerSpiffeId(undefined)).toThrow('exactly one URI SAN, it has 0');
    expect(() => peerSpiffeId('URI:spiffe://example.org/a, URI:spiffe://example.org/b')).toThrow('it has 2');
    expect(() => peerSpiffeId('URI:https://example.org/a')).toThrow(/must start with "spiffe:\/\/"/);
  });

  test('authorizer: allow-list and trust domain add up; neither means our own trust domain', () => {
    const own = parseSpiffeId('spiffe://example.org/server');
    const a = parseSpiffeId('spiffe://example.org/a');
    const b = parseSpiffeId('spiffe://partner.org/b');
    expect(authorizer({}, own)(a)).toBeUndefined();
    expect(authorizer({}, own)(b)).toMatch(/not authorized \(allowed: any ID in example.org\)/);
    expect(authorizer({ allowIds: ['spiffe://partner.org/b'] }, own)(a)).toMatch(/not authorized/);
    expect(authorizer({ allowIds: ['spiffe://partner.org/b'] }, own)(b)).toBeUndefined();
    expect(authorizer({ allowTrustDomain: 'partner.org' }, own)(b)).toBeUndefined();
    expect(authorizer({ allowTrustDomain: 'partner.org', allowIds: [a.text] }, own)(a)).toBeUndefined();
  });

  test('logs no private key material', () => {
    expect(allRecordedLines.length).toBeGreaterThan(5);
    expect(findKeyMaterial(allRecordedLines.join('\n'), keys)).toBeUndefined();
  });
});
