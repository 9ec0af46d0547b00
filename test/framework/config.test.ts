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

  test('the default TTLs are the shortest the validation accepts: rotations come within seconds, not minutes', () => {
    const config = load();
    expect(config.rotation.x509SvidTtlSeconds).toBe(30);
    expect(config.resilience.x509SvidTtlSeconds).toBe(20);
    expect(problemsOf({ SPIRE_VALIDATION_SVID_TTL: '29' })).toEqual([
      expect.stringMatching(/^rotation\.x509SvidTtlSeconds: must be 30-86400 seconds/),
    ]);
    const short = join(cwd, 'short-resilience-ttl.json');
    writeFileSync(short, JSON.stringify({ resilience: { x509SvidTtlSeconds: 19 } }));
    expect(problemsOf({}, short)).toEqual([
      expect.stringMatching(/^resilience\.x509SvidTtlSeconds: must be 20-600 seconds/),
    ]);
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

  // Malformed configurations, each from the environment or a file as a user would write it; loadConfig must reject each
  // naming the field and the rule. (workload.allowedClientIds is added by another change; its cases go with it.)
  const file = (name: string, content: unknown) => {
    const path = join(cwd, `${name}.json`);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const MALFORMED: Array<{ name: string; env?: Record<string, string>; file?: unknown; rule: RegExp }> = [
    // SPIFFE IDs and trust domains
    {
      name: 'a workload ID with a query',
      env: { SPIRE_VALIDATION_WORKLOAD_ID: 'spiffe://example.org/x?y=1' },
      rule: /^workloadSpiffeId: a SPIFFE ID must not have a query \("\?"\)/,
    },
    {
      name: 'a workload ID with a ".." segment',
      env: { SPIRE_VALIDATION_WORKLOAD_ID: 'spiffe://example.org/a/../b' },
      rule: /^workloadSpiffeId: the path must not have "\." or "\.\." segments/,
    },
    {
      name: 'a workload ID with an empty segment',
      env: { SPIRE_VALIDATION_WORKLOAD_ID: 'spiffe://example.org/a//b' },
      rule: /^workloadSpiffeId: the path must not have empty segments/,
    },
    {
      name: 'a trust domain with a port',
      env: { SPIRE_VALIDATION_TRUST_DOMAIN: 'example.org:8443' },
      rule: /^trustDomain: the trust domain must not carry a port/,
    },
    {
      name: 'an empty trust domain from a file',
      file: { trustDomain: '' },
      rule: /^trustDomain: must be a non-empty string \(got ""\)/,
    },
    // paths
    {
      name: 'a relative SPIRE bin directory',
      env: { SPIRE_VALIDATION_SPIRE_BIN_DIR: 'opt/spire/bin' },
      rule: /^spire\.binDir: must be an absolute path/,
    },
    {
      name: 'a relative server socket',
      env: { SPIRE_VALIDATION_SERVER_SOCKET: 'api.sock' },
      rule: /^spire\.serverSocket: must be an absolute path/,
    },
    {
      name: 'the SPIRE work directory at /',
      env: { SPIRE_VALIDATION_SPIRE_WORK_DIR: '/' },
      rule: /^spire\.workDir: must not be \//,
    },
    {
      name: 'the reports directory at /',
      env: { SPIRE_VALIDATION_REPORTS_DIR: '/' },
      rule: /^reportsDir: must be a directory of its own, not \/ and not the working directory/,
    },
    {
      name: 'the reports directory empty (the working directory)',
      env: { SPIRE_VALIDATION_REPORTS_DIR: '' },
      rule: /^reportsDir: must be a non-empty string/,
    },
    {
      name: 'an artifact path that is relative',
      file: { artifacts: { 'spire-server': 'bin/spire-server' } },
      rule: /^artifacts\.spire-server: must be an absolute path/,
    },
    // sockets overlapping
    {
      name: "the server's admin socket inside the agent socket directory",
      env: { SPIRE_VALIDATION_SERVER_SOCKET: '/tmp/spire-agent/public/server.sock' },
      rule: /^spire\.serverSocket: the server's admin socket must not be inside the agent socket directory \(\/tmp\/spire-agent\/public, the directory of spire\.agentSocket\), which workload pods mount/,
    },
    {
      name: "the server's admin socket in a subdirectory of the agent socket directory",
      env: { SPIRE_VALIDATION_SERVER_SOCKET: '/tmp/spire-agent/public/private/api.sock' },
      rule: /^spire\.serverSocket: the server's admin socket must not be inside the agent socket directory/,
    },
    {
      name: 'the same path for both sockets',
      env: {
        SPIRE_VALIDATION_SERVER_SOCKET: '/run/spire/api.sock',
        SPIRE_VALIDATION_AGENT_SOCKET: '/run/spire/api.sock',
      },
      rule: /^spire\.serverSocket and spire\.agentSocket: must be two different sockets/,
    },
    {
      name: "the agent socket below the server socket's directory",
      env: { SPIRE_VALIDATION_AGENT_SOCKET: '/tmp/spire-server/private/agent/api.sock' },
      rule: /^spire\.agentSocket: must not be below the server socket's directory \(\/tmp\/spire-server\/private/,
    },
    {
      name: 'the agent socket directly under /',
      env: { SPIRE_VALIDATION_AGENT_SOCKET: '/agent.sock' },
      rule: /^spire\.agentSocket: must be in a directory of its own, which workload pods mount/,
    },
    {
      name: "the suite's SPIRE work directory inside the agent socket directory",
      env: { SPIRE_VALIDATION_SPIRE_WORK_DIR: '/tmp/spire-agent/public/work' },
      rule: /^spire\.workDir: must not be inside the agent socket directory/,
    },
    // ports
    {
      name: 'server port 0',
      env: { SPIRE_VALIDATION_SERVER_PORT: '0' },
      rule: /^spire\.serverPort: must be a port 1-65535/,
    },
    {
      name: 'a fractional port',
      env: { SPIRE_VALIDATION_PORT: '80.5' },
      rule: /^workload\.port: must be a port 1-65535/,
    },
    {
      name: 'a port as a string in a file',
      file: { workload: { port: '9999' } },
      rule: /^workload\.port: must be a port 1-65535 \(got "9999"\)/,
    },
    // provider names, attestation, severities, SPIRE mode
    {
      name: 'provider "kind"',
      env: { SPIRE_VALIDATION_PROVIDER: 'Local' },
      rule: /^cluster\.provider: must be one of auto, minikube, local, existing/,
    },
    {
      name: 'attestation "kubernetes"',
      env: { SPIRE_VALIDATION_ATTESTATION: 'kubernetes' },
      rule: /^attestation: must be one of auto, docker, k8s/,
    },
    {
      name: 'severity "high"',
      env: { SPIRE_VALIDATION_FAIL_ON: 'high' },
      rule: /^failOnSeverity: must be one of blocker, critical, normal, minor, trivial/,
    },
    { name: 'severity in capitals', file: { failOnSeverity: 'CRITICAL' }, rule: /^failOnSeverity: must be one of/ },
    // TTLs and timeouts
    {
      name: 'an SVID TTL below 30 s',
      env: { SPIRE_VALIDATION_SVID_TTL: '10' },
      rule: /^rotation\.x509SvidTtlSeconds: must be 30-86400 seconds/,
    },
    {
      name: 'an SVID TTL with a unit',
      env: { SPIRE_VALIDATION_SVID_TTL: '120s' },
      rule: /^rotation\.x509SvidTtlSeconds: must be 30-86400 seconds \(got null\)/,
    },
    {
      name: 'a timeout of an hour and a second',
      file: { timeouts: { podReadySeconds: 3601 } },
      rule: /^timeouts\.podReadySeconds: must be 1-3600 seconds/,
    },
    // unknown keys and wrong types
    { name: 'an unknown top-level key', file: { trustdomain: 'example.org' }, rule: /^trustdomain: unknown setting/ },
    {
      name: 'an unknown nested key',
      file: { spire: { adminSocket: '/tmp/a.sock' } },
      rule: /^spire\.adminSocket: unknown setting/,
    },
    { name: 'a section that is not an object', file: { timeouts: 60 }, rule: /^timeouts: must be an object/ },
    {
      name: 'artifacts as a list',
      file: { artifacts: ['/opt/spire/bin/spire-server'] },
      rule: /^artifacts: must be an object of component name to absolute path/,
    },
    {
      name: 'KEEP that is not a boolean',
      env: { KEEP: 'maybe' },
      rule: /^keep: must be true or false \(got "maybe"\)/,
    },
    {
      name: 'OFFLINE that is not a boolean',
      env: { SPIRE_VALIDATION_OFFLINE: 'on' },
      rule: /^offline: must be true or false \(got "on"\)/,
    },
    {
      name: 'a boolean as a string in a file',
      file: { keep: 'true' },
      rule: /^keep: must be true or false \(got "true"\)/,
    },
    {
      name: 'a kubeconfig that is a number',
      file: { cluster: { kubeconfig: 5 } },
      rule: /^cluster\.kubeconfig: must be a non-empty string \(got 5\)/,
    },
    { name: 'a file that is a list', file: '[1, 2]', rule: /must hold a JSON object/ },
  ];

  test('the table of malformed configurations is at least 20 long', () => {
    expect(MALFORMED.length, 'issue 11 asks for at least 20 malformed configurations').toBeGreaterThanOrEqual(20);
  });

  test.each(MALFORMED)('rejects $name, naming the field and the rule', (entry) => {
    const path = entry.file === undefined ? undefined : file(entry.name.replace(/\W+/g, '-'), entry.file);
    let error: unknown;
    try {
      load(entry.env ?? {}, path);
    } catch (caught) {
      error = caught;
    }
    expect(error, `loadConfig accepted ${entry.name}`).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(
      problems.some((problem) => entry.rule.test(problem)),
      `expected a problem matching ${entry.rule}, saw:\n${problems.join('\n')}`,
    ).toBe(true);
    expect((error as ConfigError).message, 'the message says the host was left alone').toContain(
      'nothing on the host was changed',
    );
  });

  test('the defaults and a valid custom socket layout pass the socket rules', () => {
    expect(() => load(), 'the defaults are valid').not.toThrow();
    expect(
      () =>
        load({
          SPIRE_VALIDATION_SERVER_SOCKET: '/run/spire/server/api.sock',
          SPIRE_VALIDATION_AGENT_SOCKET: '/run/spire/agent/api.sock',
          SPIRE_VALIDATION_SPIRE_WORK_DIR: '/var/lib/spire-validation',
          KEEP: 'no',
        }),
      'sibling socket directories are fine',
    ).not.toThrow();
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
