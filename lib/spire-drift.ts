// Does the SPIRE the run found agree with the configuration? What the configuration asks of a SPIRE server and agent
// (trust domain, the server's address and port, the sockets, the node attestor, the workload attestors the phases use)
// is compared with what was observed on the live components — each observed value carrying the source it came from —
// and every field that differs becomes one sentence naming the configured and the observed value. Pure: the fixture
// (fixtures/spire-observation.ts) gathers the observation, the restart path (fixtures/spire.ts) and SPIRE-08 judge it.
import type { SuiteConfig } from './config.ts';

/** What the configuration asks of the SPIRE the run uses. */
export interface SpireExpectation {
  trustDomain: string;
  /** Where agents reach the server: the server listens there, the agent dials it. */
  serverAddress: string;
  serverPort: number;
  serverSocket: string;
  agentSocket: string;
  nodeAttestor: string;
  /** The workload attestors the phases need (the agent may load more). */
  workloadAttestors: string[];
}

/**
 * The expectation of this configuration: the suite's SPIRE listens on loopback (fixtures/spire.ts serverConfig), its
 * agent is attested by join token; the docker workload attestor serves the Docker phase (40) and Docker runtimes,
 * the k8s one is needed when workloads in the cluster are attested through the kubelet.
 */
export function spireExpectation(config: SuiteConfig, options: { k8sAttestation: boolean }): SpireExpectation {
  return {
    trustDomain: config.trustDomain,
    serverAddress: '127.0.0.1',
    serverPort: config.spire.serverPort,
    serverSocket: config.spire.serverSocket,
    agentSocket: config.spire.agentSocket,
    nodeAttestor: 'join_token',
    workloadAttestors: options.k8sAttestation ? ['docker', 'k8s'] : ['docker'],
  };
}

/** One observed value and where it came from; `value` undefined when the source did not say (`source` says why). */
export interface Observed<T> {
  value?: T;
  source: string;
}

export interface ServerObservation {
  pid: number;
  /** The trust domain of the server's CA (its bundle). */
  trustDomain: Observed<string>;
  /** host:port of every TCP socket the server process listens on. */
  listeners: Observed<string[]>;
  /** The Unix socket paths the server process listens on. */
  sockets: Observed<string[]>;
  nodeAttestors: Observed<string[]>;
}

export interface AgentObservation {
  pid: number;
  /** The trust domain of the agent's own SPIFFE ID. */
  trustDomain: Observed<string>;
  /** The node attestor the agent was attested with (its SPIFFE ID's /spire/agent/<attestor>/ path). */
  nodeAttestor: Observed<string>;
  /** Where the agent dials the server. */
  server: Observed<{ address: string; port: number }>;
  /** The Unix socket paths the agent process listens on (Workload API, admin). */
  sockets: Observed<string[]>;
  workloadAttestors: Observed<string[]>;
}

export type DriftField = 'trust domain' | 'server address' | 'socket' | 'node attestor' | 'workload attestors';

export interface SpireDifference {
  component: 'server' | 'agent';
  field: DriftField;
  configured: string;
  observed: string;
  source: string;
  /** "The SPIRE server (pid 12) has trust domain "example.org" (from …); the configuration says "other.example"…" */
  sentence: string;
}

const quote = (value: string) => JSON.stringify(value);

function difference(
  component: SpireDifference['component'],
  pid: number,
  field: DriftField,
  configured: string,
  observed: Observed<unknown>,
  observedText: string,
  setting: string,
): SpireDifference {
  const who = component === 'server' ? 'SPIRE server' : 'SPIRE agent';
  const seen = observed.value === undefined ? `could not be observed (${observed.source})` : observedText;
  const from = observed.value === undefined ? '' : ` (from ${observed.source})`;
  return {
    component,
    field,
    configured,
    observed: observed.value === undefined ? '(not observed)' : observedText,
    source: observed.source,
    sentence: `${field} of the ${who} (pid ${pid}): configured ${configured} (${setting}); the running one ${seen}${from}`,
  };
}

/** The addresses a listener may be bound to and still be reached at `address`. */
function reachableAt(listener: string, address: string, port: number): boolean {
  const colon = listener.lastIndexOf(':');
  const host = listener.slice(0, colon);
  if (Number(listener.slice(colon + 1)) !== port) return false;
  return [address, '0.0.0.0', '::', `::ffff:${address}`].includes(host);
}

/** "localhost" dials loopback: the same server as 127.0.0.1. */
function normalizeAddress(address: string): string {
  return address === 'localhost' ? '127.0.0.1' : address;
}

const list = (values: string[]) => (values.length === 0 ? 'none' : values.join(', '));

/** Every field in which the server differs from the expectation; empty when it matches. */
export function serverDifferences(expected: SpireExpectation, server: ServerObservation): SpireDifference[] {
  const found: SpireDifference[] = [];
  const { pid } = server;
  const td = server.trustDomain;
  if (td.value !== expected.trustDomain)
    found.push(
      difference(
        'server',
        pid,
        'trust domain',
        quote(expected.trustDomain),
        td,
        `has ${quote(td.value ?? '')}`,
        'trustDomain',
      ),
    );
  const endpoint = `${expected.serverAddress}:${expected.serverPort}`;
  const listeners = server.listeners.value;
  if (!listeners?.some((listener) => reachableAt(listener, expected.serverAddress, expected.serverPort)))
    found.push(
      difference(
        'server',
        pid,
        'server address',
        endpoint,
        server.listeners,
        `listens on ${list(listeners ?? [])}`,
        'spire.serverPort, on loopback',
      ),
    );
  const sockets = server.sockets.value;
  if (!sockets?.includes(expected.serverSocket))
    found.push(
      difference(
        'server',
        pid,
        'socket',
        expected.serverSocket,
        server.sockets,
        `listens on ${list(sockets ?? [])}`,
        'spire.serverSocket',
      ),
    );
  const attestors = server.nodeAttestors.value;
  if (!attestors?.includes(expected.nodeAttestor))
    found.push(
      difference(
        'server',
        pid,
        'node attestor',
        `NodeAttestor "${expected.nodeAttestor}"`,
        server.nodeAttestors,
        `loads ${list(attestors ?? [])}`,
        'the suite attests its agent by join token',
      ),
    );
  return found;
}

/** Every field in which the agent differs from the expectation; empty when it matches. */
export function agentDifferences(expected: SpireExpectation, agent: AgentObservation): SpireDifference[] {
  const found: SpireDifference[] = [];
  const { pid } = agent;
  const td = agent.trustDomain;
  if (td.value !== expected.trustDomain)
    found.push(
      difference(
        'agent',
        pid,
        'trust domain',
        quote(expected.trustDomain),
        td,
        `has ${quote(td.value ?? '')}`,
        'trustDomain',
      ),
    );
  const server = agent.server.value;
  const endpoint = `${expected.serverAddress}:${expected.serverPort}`;
  if (
    !server ||
    normalizeAddress(server.address) !== normalizeAddress(expected.serverAddress) ||
    server.port !== expected.serverPort
  )
    found.push(
      difference(
        'agent',
        pid,
        'server address',
        endpoint,
        agent.server,
        `dials ${server?.address}:${server?.port}`,
        'spire.serverPort, on loopback',
      ),
    );
  const sockets = agent.sockets.value;
  if (!sockets?.includes(expected.agentSocket))
    found.push(
      difference(
        'agent',
        pid,
        'socket',
        expected.agentSocket,
        agent.sockets,
        `listens on ${list(sockets ?? [])}`,
        'spire.agentSocket',
      ),
    );
  const node = agent.nodeAttestor.value;
  if (node !== expected.nodeAttestor)
    found.push(
      difference(
        'agent',
        pid,
        'node attestor',
        quote(expected.nodeAttestor),
        agent.nodeAttestor,
        `was attested by ${quote(node ?? '')}`,
        'the suite attests its agent by join token',
      ),
    );
  const loaded = agent.workloadAttestors.value;
  const missing = expected.workloadAttestors.filter((name) => !loaded?.includes(name));
  if (missing.length > 0)
    found.push(
      difference(
        'agent',
        pid,
        'workload attestors',
        `WorkloadAttestor ${expected.workloadAttestors.map(quote).join(', ')}`,
        agent.workloadAttestors,
        `loads ${list(loaded ?? [])}, without ${missing.map(quote).join(', ')}`,
        'the attestation mode of this run',
      ),
    );
  return found;
}

/** The trust domain of an agent's SPIFFE ID, and its node attestor (spiffe://<td>/spire/agent/<attestor>/…). */
export function agentIdParts(id: string): { trustDomain?: string; nodeAttestor?: string } {
  const match = /^spiffe:\/\/([^/]+)(\/.*)?$/.exec(id);
  if (!match) return {};
  return { trustDomain: match[1], nodeAttestor: /^\/spire\/agent\/([^/]+)\//.exec(match[2] ?? '')?.[1] };
}

/** What a SPIRE configuration file (HCL, as SPIRE's own examples write it) sets for the run. */
export interface SpireConfigFile {
  /** `key = value` settings directly in the `server { … }` or `agent { … }` block (nested blocks left out). */
  settings: Record<string, string>;
  /** The plugins it loads, e.g. { type: 'WorkloadAttestor', name: 'docker' }. */
  plugins: Array<{ type: string; name: string }>;
}

/** The index just after the brace that closes the block whose `{` is at `open`. */
function blockEnd(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{') depth += 1;
    else if (char === '}') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** Lines of `text` outside `#`/`//` comments. */
function withoutComments(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/^(\s*)(#|\/\/).*$/, '$1'))
    .join('\n');
}

/** Reads the settings of `server`/`agent` and the plugins of a SPIRE HCL configuration. */
export function parseSpireConfig(rawText: string, block: 'server' | 'agent'): SpireConfigFile {
  const text = withoutComments(rawText);
  const settings: Record<string, string> = {};
  const start = new RegExp(`^\\s*${block}\\s*\\{`, 'm').exec(text);
  if (start) {
    const open = start.index + start[0].length - 1;
    const body = text.slice(open + 1, blockEnd(text, open) - 1);
    let depth = 0;
    for (const line of body.split('\n')) {
      if (depth === 0) {
        const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s#{]+)/.exec(line);
        if (match) {
          const [, key = '', value = ''] = match;
          settings[key] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
        }
      }
      for (const char of line.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
        if (char === '{') depth += 1;
        else if (char === '}') depth -= 1;
      }
    }
  }
  const plugins: SpireConfigFile['plugins'] = [];
  const pluginsStart = /^\s*plugins\s*\{/m.exec(text);
  if (pluginsStart) {
    const open = pluginsStart.index + pluginsStart[0].length - 1;
    const body = text.slice(open + 1, blockEnd(text, open) - 1);
    let depth = 0;
    for (const line of body.split('\n')) {
      if (depth === 0) {
        const match = /^\s*([A-Za-z]+)\s+"?([A-Za-z0-9_.-]+)"?\s*\{/.exec(line);
        if (match) plugins.push({ type: match[1] as string, name: match[2] as string });
      }
      for (const char of line.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
        if (char === '{') depth += 1;
        else if (char === '}') depth -= 1;
      }
    }
  }
  return { settings, plugins };
}

/** The value of `-name value` / `--name=value` on a command line (the last one wins, as Go's flag package has it). */
export function commandLineFlag(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  argv.forEach((arg, index) => {
    if (arg === `-${name}` || arg === `--${name}`) value = argv[index + 1];
    else if (arg.startsWith(`-${name}=`) || arg.startsWith(`--${name}=`)) value = arg.slice(arg.indexOf('=') + 1);
  });
  return value;
}
