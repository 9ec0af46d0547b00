import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, loadConfig, meshClientSpiffeId, meshIntruderSpiffeId } from '../../lib/config.ts';

const cwd = mkdtempSync(join(tmpdir(), 'config-test-'));
const load = (env: Record<string, string> = {}, file?: string) => loadConfig({ env, cwd, file });

function problemsOf(env: Record<string, string>, file?: string): string[] {
  try {
    load(env, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  test("defaults are the seed's values", () => {
    const config = load();
    expect(config.trustDomain).toBe('example.org');
    expect(config.workloadSpiffeId).toBe('spiffe://example.org/k8s-workload');
    expect(config.spire.agentSocket).toBe('/tmp/spire-agent/public/api.sock');
    expect(config.spire.binDir).toBe('/opt/spire/bin');
    expect(config.workload).toEqual({
      image: 'mtls-demo-image:latest',
      port: 9999,
      namespace: 'default',
      container: 'mtls-app',
      podLabel: 'app=mtls-demo',
      manifest: undefined,
      allowedClientIds: ['spiffe://example.org/k8s-workload-client'],
    });
    expect(config.cluster.provider).toBe('auto');
  });

  test('environment overrides the file, which overrides the defaults', () => {
    const file = join(cwd, 'file.json');
    writeFileSync(file, JSON.stringify({ workload: { port: 8443, namespace: 'demo' } }));
    const config = load({ SPIRE_VALIDATION_PORT: '9443', KEEP: '1', SPIRE_VALIDATION_OFFLINE: 'true' }, file);
    expect(config.offline).toBe(true);
    expect(load({}).offline).toBe(false);
    expect(config.workload.port).toBe(9443);
    expect(config.workload.namespace).toBe('demo');
    expect(config.workload.container).toBe(DEFAULT_CONFIG.workload.container);
    expect(config.keep).toBe(true);
  });

  test('a changed trust domain moves the default workload ID with it', () => {
    expect(load({ SPIRE_VALIDATION_TRUST_DOMAIN: 'corp.internal' }).workloadSpiffeId).toBe(
      'spiffe://corp.internal/k8s-workload',
    );
  });

  test('the allow-list: IDs of any trust domain, from the file or comma-separated in the environment; the pod-to-pod client runs under the first of ours', () => {
    const ids = ['spiffe://partner.example/batch', 'spiffe://example.org/team/client', 'spiffe://example.org/other'];
    const config = load({ SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: ` ${ids.join(' , ')} ` });
    expect(config.workload.allowedClientIds).toEqual(ids);
    expect(meshClientSpiffeId(config)).toBe('spiffe://example.org/team/client');
    const file = join(cwd, 'allow.json');
    writeFileSync(file, JSON.stringify({ workload: { allowedClientIds: ['spiffe://example.org/from-file'] } }));
    expect(load({}, file).workload.allowedClientIds).toEqual(['spiffe://example.org/from-file']);
    // The default follows a changed trust domain, like the workload ID.
    const moved = load({ SPIRE_VALIDATION_TRUST_DOMAIN: 'corp.internal' });
    expect(moved.workload.allowedClientIds).toEqual(['spiffe://corp.internal/k8s-workload-client']);
    expect(meshClientSpiffeId(moved)).toBe('spiffe://corp.internal/k8s-workload-client');
    expect(meshIntruderSpiffeId(moved)).toBe('spiffe://corp.internal/k8s-intruder');
  });

  test.each([
    [
      { SPIRE_VALIDATION_WORKLOAD_ID: 'https://example.org/x' },
      /^workloadSpiffeId: a SPIFFE ID must start with "spiffe:\/\/" \(seen: scheme "https"\) \(SPIFFE-ID §2\)/,
    ],
    [
      { SPIRE_VALIDATION_WORKLOAD_ID: 'spiffe://example.org' },
      /^workloadSpiffeId: a workload SPIFFE ID must have a path/,
    ],
    [{ SPIRE_VALIDATION_WORKLOAD_ID: 'spiffe://other.org/x' }, /^workloadSpiffeId: must belong to trust domain/],
    [
      { SPIRE_VALIDATION_TRUST_DOMAIN: 'Example.ORG' },
      /^trustDomain: the trust domain name must be lowercase \(SPIFFE-ID §2\.1\): "Example\.ORG"/,
    ],
    [
      { SPIRE_VALIDATION_TRUST_DOMAIN: 'spiffe://example.org' },
      /^trustDomain: a trust domain name is the bare host, without "spiffe:\/\/" \(SPIFFE-ID §2\.1\)/,
    ],
    [{ SPIRE_VALIDATION_AGENT_SOCKET: 'tmp/api.sock' }, /^spire\.agentSocket: must be an absolute path/],
    [{ SPIRE_VALIDATION_PORT: '70000' }, /^workload\.port: must be a port 1-65535/],
    [{ SPIRE_VALIDATION_PORT: 'abc' }, /^workload\.port: must be a port 1-65535/],
    [{ SPIRE_VALIDATION_SPIRE_MODE: 'start' }, /^spire\.mode: must be one of auto, existing/],
    [{ SPIRE_VALIDATION_PROVIDER: 'kind' }, /^cluster\.provider: must be one of auto, minikube, local, existing/],
    [{ SPIRE_VALIDATION_PROVIDER: 'existing' }, /^cluster\.kubeconfig: is required with provider "existing"/],
    [{ SPIRE_VALIDATION_POD_LABEL: 'app' }, /^workload\.podLabel: must be key=value/],
    [{ SPIRE_VALIDATION_NAMESPACE: 'Default_NS' }, /^workload\.namespace: must be a Kubernetes DNS label/],
    [{ SPIRE_VALIDATION_MANIFEST: 'manifests/mtls-app.yaml' }, /^workload\.manifest: must be an absolute path/],
    [{ SPIRE_VALIDATION_MANIFEST: '/nonexistent/mtls-app.yaml' }, /^workload\.manifest: must be an existing file/],
    [
      { SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: '' },
      /^workload\.allowedClientIds: must be a non-empty list of SPIFFE IDs \(got \[\]\)/,
    ],
    [
      { SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: 'spiffe://example.org/a,https://example.org/b' },
      /^workload\.allowedClientIds\[1\]: a SPIFFE ID must start with "spiffe:\/\/"/,
    ],
    [
      { SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: 'spiffe://example.org/a,spiffe://Other.org/b' },
      /^workload\.allowedClientIds\[1\]: the trust domain name must be lowercase/,
    ],
    [
      { SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: 'spiffe://example.org' },
      /^workload\.allowedClientIds\[0\]: a client SPIFFE ID must have a path, "spiffe:\/\/example\.org" names a whole trust domain/,
    ],
    [
      { SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: 'spiffe://example.org/a,spiffe://example.org/a' },
      /^workload\.allowedClientIds: lists "spiffe:\/\/example\.org\/a" more than once/,
    ],
    [
      { SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: 'spiffe://partner.example/client' },
      /^workload\.allowedClientIds: must name at least one ID of trust domain "example\.org"/,
    ],
    [
      {
        SPIRE_VALIDATION_ALLOWED_CLIENT_IDS:
          'spiffe://example.org/k8s-workload-client,spiffe://example.org/k8s-intruder',
      },
      /^workload\.allowedClientIds: must not allow spiffe:\/\/example\.org\/k8s-intruder, the identity MESH-02 proves is refused/,
    ],
  ])('rejects %o naming the field and the rule', (env, message) => {
    const problems = problemsOf(env);
    expect(
      problems.some((problem) => message.test(problem)),
      problems.join('\n'),
    ).toBe(true);
  });

  test('lists every problem at once and says nothing was changed', () => {
    let error: ConfigError | undefined;
    try {
      load({ SPIRE_VALIDATION_PORT: '0', SPIRE_VALIDATION_ATTESTATION: 'magic' });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error?.problems).toHaveLength(2);
    expect(error?.message).toContain('nothing on the host was changed');
  });

  test('an unknown setting in the file is an error, not silently ignored', () => {
    const file = join(cwd, 'typo.json');
    writeFileSync(file, JSON.stringify({ workload: { prot: 1 } }));
    expect(problemsOf({}, file)).toEqual(['workload.prot: unknown setting']);
  });

  test('an unreadable file is reported with its path', () => {
    const file = join(cwd, 'broken.json');
    writeFileSync(file, '{ not json');
    expect(problemsOf({}, file)[0]).toContain(`cannot read ${file}`);
  });
});
