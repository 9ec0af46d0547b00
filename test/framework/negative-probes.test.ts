// The pieces the negative identity controls of phase 80 judge with: the suite's own refused clients (MESH-06, MESH-07)
// against the real workload server code, the agent-log reader (MESH-03, MESH-04), the server-log reader of handshake
// refusals, and the list placeholders of the manifests (one `--allow-id` per allowed ID, the one-shot pod's args).
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { loadAllYaml, type V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { foreignClient, probeMtlsServer } from '../../fixtures/client-probe.ts';
import { renderManifest } from '../../fixtures/kube.ts';
import { oneShotManifest } from '../../fixtures/one-shot-pod.ts';
import { noIdentityIssuedLines, selectorsOfLine } from '../../lib/agent-log.ts';
import { handshakeRejections } from '../../lib/workload-log.ts';
import { authorizer, createMtlsServer, listen, REPLY, tlsOptions } from '../../workload/src/mtls.ts';
import { parseSpiffeId } from '../../workload/src/spiffe-id.ts';
import {
  type Identity,
  type RecordingLogger,
  recordingLogger,
  type TrustDomain,
  trustDomain,
} from '../workload/helpers.ts';

let td: TrustDomain;
let server: Identity;
let client: Identity;
const servers: tls.Server[] = [];

beforeAll(async () => {
  td = await trustDomain('example.org');
  [server, client] = await Promise.all([td.issue('/k8s-workload'), td.issue('/k8s-workload-client')]);
});

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

async function start(s: tls.Server): Promise<number> {
  servers.push(s);
  return listen(s, '127.0.0.1', 0);
}

/** The workload's mTLS server, allowing the client's ID only. */
async function workloadServer(): Promise<{ port: number; log: RecordingLogger }> {
  const log = recordingLogger();
  const s = createMtlsServer(server.svid, {
    authorize: authorizer({ allowIds: [client.spiffeId] }, parseSpiffeId(server.spiffeId)),
    log,
  });
  return { port: await start(s), log };
}

const serverLogText = (log: RecordingLogger) => log.lines.join('\n');

describe('the suite’s refused clients against the workload server', () => {
  test('without a certificate: no reply, the server logs a handshake refusal MESH-06 recognises', async () => {
    const { port, log } = await workloadServer();
    const outcome = await probeMtlsServer('127.0.0.1', port, 'probe', undefined, 5000);
    expect(outcome.reply).toBe('');
    expect(outcome.ending).toMatch(/alert|certificate|ECONNRESET/i);
    await log.waitForLine(/REJECTED CLIENT/);
    expect(handshakeRejections(serverLogText(log)).some((r) => /did not return a certificate/.test(r))).toBe(true);
  });

  test('with a foreign CA’s certificate for the allowed ID: no reply, "client certificate not trusted" (MESH-07)', async () => {
    const { port, log } = await workloadServer();
    const foreign = await foreignClient(client.spiffeId);
    expect(foreign.certPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const outcome = await probeMtlsServer('127.0.0.1', port, 'probe', foreign, 5000);
    expect(outcome.reply).toBe('');
    await log.waitForLine(/REJECTED CLIENT/);
    expect(handshakeRejections(serverLogText(log)).some((r) => /client certificate not trusted/.test(r))).toBe(true);
  });

  test('the foreign certificate really carries the borrowed SPIFFE ID: a server trusting that CA accepts it', async () => {
    const foreign = await foreignClient(client.spiffeId);
    const log = recordingLogger();
    // A server whose trust domain's bundle IS the foreign CA (the workload believes an ID only from its own bundle).
    const trusting = { ...server.svid, bundle: [new X509Certificate(foreign.caPem)] };
    const s = createMtlsServer(trusting, {
      authorize: authorizer({ allowIds: [client.spiffeId] }, parseSpiffeId(server.spiffeId)),
      log,
    });
    const outcome = await probeMtlsServer('127.0.0.1', await start(s), 'probe', foreign, 5000);
    expect(outcome.reply).toBe(REPLY);
    expect(log.lines).toContain(`[Server] ✅ VERIFIED CLIENT IDENTITY: ${client.spiffeId}`);
  });

  test('the probe reports acceptance honestly: a server without client authentication answers it (MESH-06 fails)', async () => {
    const s = tls.createServer(tlsOptions(server.svid), (socket) => {
      socket.once('data', () => socket.end(`${REPLY}\n`));
    });
    const outcome = await probeMtlsServer('127.0.0.1', await start(s), 'probe', undefined, 5000);
    expect(outcome.handshakeCompleted).toBe(true);
    expect(outcome.reply).toBe(REPLY);
  });
});

describe('the agent log of a refused pod', () => {
  // A line of SPIRE 1.13.3's agent log on this host, shortened to the selectors that matter.
  const uid = '745760fd-cd7d-43da-b18f-557d3e5f57ce';
  const line = (podUid: string, ns: string) =>
    `time="2026-12-01T17:46:46Z" level=error msg="No identity issued" method=FetchX509SVID pid=27535 registered=false ` +
    `selectors="[type:\\"unix\\"  value:\\"uid:10001\\" type:\\"k8s\\"  value:\\"ns:${ns}\\" type:\\"k8s\\"  ` +
    `value:\\"pod-uid:${podUid}\\" type:\\"k8s\\"  value:\\"pod-label:app:mtls-demo\\" type:\\"k8s\\"  ` +
    `value:\\"container-name:mtls-app\\"]" service=WorkloadAPI subsystem_name=endpoints`;
  const text = [
    'time="2026-12-01T17:46:40Z" level=info msg="Starting Workload and SDS APIs"',
    line('00000000-0000-0000-0000-000000000000', 'default'),
    line(uid, 'spire-validation-stranger'),
  ].join('\n');

  test('finds the refusals of one pod by its UID, and the selectors the agent attested', () => {
    const found = noIdentityIssuedLines(text, uid);
    expect(found).toHaveLength(1);
    expect(selectorsOfLine(found[0] ?? '')).toEqual([
      'unix:uid:10001',
      'k8s:ns:spire-validation-stranger',
      `k8s:pod-uid:${uid}`,
      'k8s:pod-label:app:mtls-demo',
      'k8s:container-name:mtls-app',
    ]);
  });

  test('a pod the agent did not refuse has no lines', () => {
    expect(noIdentityIssuedLines(text, '11111111-2222-3333-4444-555555555555')).toEqual([]);
  });
});

describe('list placeholders of the manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'render-'));

  test('a list fills one quoted item per element at the placeholder’s indent', () => {
    const file = join(dir, 'args.yaml');
    writeFileSync(file, `args:\n  - server\n  - --allow-id\n  - "\${OWN}"\n  - \${ALLOWED}\n`);
    const text = renderManifest(file, {
      OWN: 'spiffe://example.org/k8s-workload',
      ALLOWED: ['--allow-id', 'spiffe://example.org/a', '--allow-id', 'spiffe://partner.example/b'],
    });
    expect(text).toBe(
      'args:\n  - server\n  - --allow-id\n  - "spiffe://example.org/k8s-workload"\n' +
        '  - "--allow-id"\n  - "spiffe://example.org/a"\n  - "--allow-id"\n  - "spiffe://partner.example/b"\n',
    );
  });

  test('a list anywhere else is an error, not a comma-joined string', () => {
    const file = join(dir, 'inline.yaml');
    writeFileSync(file, `args: [\${ALLOWED}]\n`);
    expect(() => renderManifest(file, { ALLOWED: ['a'] })).toThrow(/must stand alone as a list item/);
  });

  test('the product manifest renders one --allow-id per allowed ID after the workload’s own', () => {
    const text = renderManifest(join(import.meta.dirname, '../../manifests/mtls-app.yaml'), {
      NAMESPACE: 'default',
      APP_LABEL: 'mtls-demo',
      CONTAINER: 'mtls-app',
      IMAGE: 'mtls-demo-image:latest',
      PORT: 9999,
      TRUST_DOMAIN: 'example.org',
      WORKLOAD_ID: 'spiffe://example.org/k8s-workload',
      ALLOWED_CLIENT_ARGS: ['--allow-id', 'spiffe://example.org/a', '--allow-id', 'spiffe://example.org/b'],
      AGENT_SOCKET: '/tmp/spire-agent/public/api.sock',
      AGENT_SOCKET_DIR: '/tmp/spire-agent/public',
      AGENT_BINARY: '/opt/spire/bin/spire-agent',
    });
    const [deployment] = loadAllYaml(text) as Array<{ spec: { template: { spec: V1Pod['spec'] } } }>;
    const args = deployment?.spec.template.spec?.containers[0]?.args ?? [];
    expect(args.slice(args.indexOf('--allow-id'))).toEqual([
      '--allow-id',
      'spiffe://example.org/k8s-workload',
      '--allow-id',
      'spiffe://example.org/a',
      '--allow-id',
      'spiffe://example.org/b',
    ]);
    expect(args).not.toContain('--allow-trust-domain');
  });

  test('the one-shot pod carries the CLI arguments, the label and the read-only socket mount', () => {
    const [pod] = loadAllYaml(
      oneShotManifest({
        name: 'mtls-stranger',
        namespace: 'spire-validation-stranger',
        label: { key: 'app', value: 'mtls-demo' },
        container: 'mtls-app',
        image: 'mtls-demo-image:latest',
        args: ['fetch', '--fetch-timeout', '8'],
        agentSocket: '/tmp/spire-agent/public/api.sock',
      }),
    ) as V1Pod[];
    expect(pod?.metadata?.labels).toEqual({ app: 'mtls-demo' });
    expect(pod?.spec?.containers[0]?.args).toEqual(['fetch', '--fetch-timeout', '8']);
    expect(pod?.spec?.containers[0]?.volumeMounts?.[0]).toMatchObject({
      mountPath: '/tmp/spire-agent/public',
      readOnly: true,
    });
    expect(pod?.spec?.restartPolicy).toBe('Never');
  });
});
