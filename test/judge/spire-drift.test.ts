import { describe, expect, test } from 'vitest';
import { DEFAULT_CONFIG, loadConfig } from '../../lib/config.ts';
import {
  type AgentObservation,
  agentDifferences,
  agentIdParts,
  commandLineFlag,
  parseSpireConfig,
  type ServerObservation,
  serverDifferences,
  spireExpectation,
} from '../../lib/spire-drift.ts';

const expected = spireExpectation(
  { ...DEFAULT_CONFIG, spire: { ...DEFAULT_CONFIG.spire, serverPort: 8081 } },
  { k8sAttestation: true },
);

const matchingServer: ServerObservation = {
  pid: 41,
  trustDomain: { value: 'example.org', source: 'spire-server bundle show: the URI SAN spiffe://example.org' },
  listeners: { value: ['127.0.0.1:8081'], source: '/proc/net/tcp' },
  sockets: { value: ['/tmp/spire-server/private/api.sock'], source: '/proc/net/unix' },
  nodeAttestors: { value: ['join_token'], source: 'server.conf' },
};

const matchingAgent: AgentObservation = {
  pid: 42,
  trustDomain: { value: 'example.org', source: "the agent's own SVID" },
  nodeAttestor: { value: 'join_token', source: "the agent's own SVID" },
  server: { value: { address: '127.0.0.1', port: 8081 }, source: 'agent.conf' },
  sockets: { value: ['/tmp/spire-agent/public/api.sock', '/var/lib/x/admin.sock'], source: '/proc/net/unix' },
  workloadAttestors: { value: ['unix', 'docker', 'k8s'], source: 'agent.conf' },
};

describe('spireExpectation', () => {
  test('follows the configuration: trust domain, port, sockets; k8s attestor only when the run attests by kubelet', () => {
    const config = loadConfig({ env: { SPIRE_VALIDATION_TRUST_DOMAIN: 'other.example' }, cwd: '/nonexistent' });
    expect(spireExpectation(config, { k8sAttestation: false })).toEqual({
      trustDomain: 'other.example',
      serverAddress: '127.0.0.1',
      serverPort: config.spire.serverPort,
      serverSocket: config.spire.serverSocket,
      agentSocket: config.spire.agentSocket,
      nodeAttestor: 'join_token',
      workloadAttestors: ['docker'],
    });
    expect(spireExpectation(config, { k8sAttestation: true }).workloadAttestors).toEqual(['docker', 'k8s']);
  });
});

describe('serverDifferences', () => {
  test('a server as configured has none (a listener on every address counts as loopback)', () => {
    expect(serverDifferences(expected, matchingServer)).toEqual([]);
    const wildcard = { ...matchingServer, listeners: { value: ['::ffff:127.0.0.1:8081'], source: 'x' } };
    expect(serverDifferences(expected, wildcard)).toEqual([]);
    expect(
      serverDifferences(expected, { ...matchingServer, listeners: { value: ['0.0.0.0:8081'], source: 'x' } }),
    ).toEqual([]);
  });

  test('another trust domain names the configured value, the observed one and its source', () => {
    const [difference, ...rest] = serverDifferences({ ...expected, trustDomain: 'other.example' }, matchingServer);
    expect(rest).toEqual([]);
    expect(difference).toMatchObject({
      component: 'server',
      field: 'trust domain',
      configured: '"other.example"',
      observed: 'has "example.org"',
    });
    expect(difference?.sentence).toBe(
      'trust domain of the SPIRE server (pid 41): configured "other.example" (trustDomain); the running one has ' +
        '"example.org" (from spire-server bundle show: the URI SAN spiffe://example.org)',
    );
  });

  test('every field that differs is named once: port, socket, node attestor', () => {
    const found = serverDifferences(expected, {
      ...matchingServer,
      listeners: { value: ['127.0.0.1:18081'], source: '/proc/net/tcp' },
      sockets: { value: ['/run/spire/server.sock'], source: '/proc/net/unix' },
      nodeAttestors: { value: ['x509pop'], source: 'server.conf' },
    });
    expect(found.map((difference) => difference.field)).toEqual(['server address', 'socket', 'node attestor']);
    expect(found[0]?.sentence).toMatch(
      /configured 127\.0\.0\.1:8081 .*listens on 127\.0\.0\.1:18081 \(from \/proc\/net\/tcp\)/,
    );
    expect(found[1]?.sentence).toMatch(
      /configured \/tmp\/spire-server\/private\/api\.sock .*\/run\/spire\/server\.sock/,
    );
    expect(found[2]?.sentence).toMatch(/configured NodeAttestor "join_token" .*loads x509pop/);
  });

  test('a value that could not be observed is a difference, saying why', () => {
    const [difference] = serverDifferences(expected, {
      ...matchingServer,
      trustDomain: { source: 'spire-server bundle show failed: connection refused' },
    });
    expect(difference?.observed).toBe('(not observed)');
    expect(difference?.sentence).toMatch(
      /could not be observed \(spire-server bundle show failed: connection refused\)$/,
    );
  });
});

describe('agentDifferences', () => {
  test('an agent as configured has none (extra workload attestors are fine; localhost is loopback)', () => {
    expect(agentDifferences(expected, matchingAgent)).toEqual([]);
    const localhost = { ...matchingAgent, server: { value: { address: 'localhost', port: 8081 }, source: 'x' } };
    expect(agentDifferences(expected, localhost)).toEqual([]);
  });

  test('trust domain, server port, node attestor and a missing workload attestor are each named', () => {
    const found = agentDifferences(
      { ...expected, trustDomain: 'other.example' },
      {
        ...matchingAgent,
        server: { value: { address: '127.0.0.1', port: 9081 }, source: 'server_port in agent.conf' },
        nodeAttestor: { value: 'k8s_psat', source: "the agent's own SVID" },
        workloadAttestors: { value: ['unix', 'docker'], source: 'the WorkloadAttestor plugins in agent.conf' },
      },
    );
    expect(found.map((difference) => [difference.field, difference.configured, difference.observed])).toEqual([
      ['trust domain', '"other.example"', 'has "example.org"'],
      ['server address', '127.0.0.1:8081', 'dials 127.0.0.1:9081'],
      ['node attestor', '"join_token"', 'was attested by "k8s_psat"'],
      ['workload attestors', 'WorkloadAttestor "docker", "k8s"', 'loads unix, docker, without "k8s"'],
    ]);
    expect(found[1]?.sentence).toBe(
      'server address of the SPIRE agent (pid 42): configured 127.0.0.1:8081 (spire.serverPort, on loopback); the ' +
        'running one dials 127.0.0.1:9081 (from server_port in agent.conf)',
    );
  });

  test('an agent not serving the configured socket is named', () => {
    const [difference] = agentDifferences(expected, {
      ...matchingAgent,
      sockets: { value: ['/run/spire/agent.sock'], source: '/proc/net/unix' },
    });
    expect(difference?.field).toBe('socket');
  });
});

describe('agentIdParts', () => {
  test('trust domain and node attestor of an agent ID', () => {
    expect(agentIdParts('spiffe://example.org/spire/agent/join_token/abc')).toEqual({
      trustDomain: 'example.org',
      nodeAttestor: 'join_token',
    });
    expect(agentIdParts('spiffe://example.org/host')).toEqual({ trustDomain: 'example.org', nodeAttestor: undefined });
    expect(agentIdParts('not an id')).toEqual({});
  });
});

describe('parseSpireConfig', () => {
  const agentConf = `
# a comment with agent { braces }
agent {
  server_address = "127.0.0.1"
  server_port = "8081"
  socket_path = "/tmp/spire-agent/public/api.sock"
  trust_domain = "example.org"
  experimental {
    server_port = "9"
  }
  log_level = "INFO"
}

plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
  WorkloadAttestor "docker" {
    plugin_data {
      docker_socket_path = "unix:///var/run/docker.sock"
    }
  }
  WorkloadAttestor "k8s" {
    plugin_data {
      node_name = "a{b}"
    }
  }
}
`;

  test('settings of the agent block (not of nested blocks) and the plugins it loads', () => {
    const parsed = parseSpireConfig(agentConf, 'agent');
    expect(parsed.settings).toEqual({
      server_address: '127.0.0.1',
      server_port: '8081',
      socket_path: '/tmp/spire-agent/public/api.sock',
      trust_domain: 'example.org',
      log_level: 'INFO',
    });
    expect(parsed.plugins).toEqual([
      { type: 'NodeAttestor', name: 'join_token' },
      { type: 'WorkloadAttestor', name: 'unix' },
      { type: 'WorkloadAttestor', name: 'docker' },
      { type: 'WorkloadAttestor', name: 'k8s' },
    ]);
  });

  test('unquoted numbers, and a file without the block', () => {
    expect(parseSpireConfig('server {\n  bind_port = 8081\n}\n', 'server').settings).toEqual({ bind_port: '8081' });
    expect(parseSpireConfig('plugins {\n}\n', 'server')).toEqual({ settings: {}, plugins: [] });
  });
});

test('commandLineFlag reads -name value and --name=value, the last one winning', () => {
  const argv = ['spire-agent', 'run', '-config', 'a.conf', '-serverPort', '1', '--serverPort=2'];
  expect(commandLineFlag(argv, 'serverPort')).toBe('2');
  expect(commandLineFlag(argv, 'config')).toBe('a.conf');
  expect(commandLineFlag(argv, 'trustDomain')).toBeUndefined();
});
