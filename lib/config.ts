// The suite's one configuration: defaults are the seed's values, a JSON file may override them, environment
// variables override the file. Everything is validated before any phase touches the host.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { CONTROLS, PHASES, type PhaseKey } from './controls.ts';
import { SEVERITY_LEVELS, type SeverityLevel } from './severity.ts';
import { parseSpiffeId, parseTrustDomain, SpiffeIdError } from './spiffe-id.ts';

export { SEVERITY_LEVELS, type SeverityLevel } from './severity.ts';

export const PROVIDERS = ['auto', 'minikube', 'local', 'existing'] as const;
export const ATTESTATION_MODES = ['auto', 'docker', 'k8s'] as const;
/** auto: use a running SPIRE, start one when none answers; existing: only validate the SPIRE that runs, never start one. */
export const SPIRE_MODES = ['auto', 'existing'] as const;

export type Provider = (typeof PROVIDERS)[number];
export type AttestationMode = (typeof ATTESTATION_MODES)[number];
export type SpireMode = (typeof SPIRE_MODES)[number];

export interface SuiteConfig {
  trustDomain: string;
  /** The SPIFFE ID the workload must receive. */
  workloadSpiffeId: string;
  spire: {
    mode: SpireMode;
    /** Where an existing SPIRE installation keeps spire-server and spire-agent (the seed's /opt/spire/bin). */
    binDir: string;
    serverSocket: string;
    agentSocket: string;
    /** Port the server listens on for agents when the suite starts SPIRE itself (loopback only). */
    serverPort: number;
    /** Data, configs and logs of a SPIRE the suite starts. */
    workDir: string;
  };
  workload: {
    image: string;
    port: number;
    namespace: string;
    container: string;
    /** Pod label as key=value. */
    podLabel: string;
    /**
     * The Deployment manifest DEPLOY-02 applies instead of manifests/mtls-app.yaml (same ${…} placeholders), e.g.
     * one with the site's resource limits or security context.
     */
    manifest: string | undefined;
    /**
     * The client SPIFFE IDs the workload server authorizes (one `--allow-id` each), besides its own ID (the seed's
     * in-pod client runs under it). IDs of any trust domain; the pod-to-pod client (MESH-01) runs under the first one
     * of the configured trust domain. Default: that client's ID alone, never a whole trust domain.
     */
    allowedClientIds: string[];
  };
  cluster: {
    provider: Provider;
    /** Kubeconfig for the `existing` provider. */
    kubeconfig: string | undefined;
    /**
     * The CA that signs the kubelet's serving certificate, for the SPIRE agent's kubelet_ca_path. Default: the local
     * cluster's own CA; an `existing` cluster has none, and without one the agent skips verifying the kubelet.
     */
    kubeletCa: string | undefined;
    /** `existing` provider: a bearer token file the agent shows the kubelet; RBAC must allow it `get nodes/pods`. */
    kubeletToken: string | undefined;
  };
  attestation: AttestationMode;
  rotation: {
    /** X.509-SVID TTL of the Kubernetes workload's entry: SPIRE renews at about half of it, so the run sees a rotation. */
    x509SvidTtlSeconds: number;
  };
  /** The resilience phase (95): SPIRE restarts, entry removal, pod loss and repeated rotation under traffic. */
  resilience: {
    enabled: boolean;
    /** The workload entry's X.509-SVID TTL once the phase re-creates it: rotations every half of it, under traffic. */
    x509SvidTtlSeconds: number;
  };
  /** Downloads and builds, keyed by version; outside the repo so reruns are fast. */
  cacheDir: string;
  /**
   * Host-wide state, shared by every checkout on the host: the ledger of what runs started and kept, and the lock
   * that lets one run at a time own the host (the local cluster's state lives under it too, in cluster/).
   */
  stateDir: string;
  reportsDir: string;
  /** Leave what this run started running (KEEP=1). */
  keep: boolean;
  /**
   * Air-gapped host: never try official downloads or registry pulls, not even a DNS lookup; components come from the
   * cache, Go builds through the module proxy, or Debian's packages.
   */
  offline: boolean;
  /** Fail the run when a control of this severity or worse fails. */
  failOnSeverity: SeverityLevel;
  /**
   * Controls the user accepts not to have judged, each with the reason the report prints (an unknown id or an empty
   * reason is rejected at load). `resilience.enabled=false` adds a waiver for each control of the resilience phase.
   */
  waivers: Waiver[];
  /**
   * Phase selection: run only these phases (by order, "70", or key, "pod"); empty = every phase. The phases whose
   * controls the selected ones require are added, and said so. The controls left out are "not selected".
   */
  phases: string[];
  /** Phase selection: run the phases up to and including this one (order or key); combined with `phases`. */
  until: string | undefined;
  /**
   * An identifier of this run, written into compliance.json as `runId` (e.g. the CI job's id), so whoever reads the
   * report can tell it is this run's; default: a random UUID per run.
   */
  runId: string | undefined;
  timeouts: {
    spireReadySeconds: number;
    svidFetchSeconds: number;
    containerReadySeconds: number;
    podReadySeconds: number;
    nodeReadySeconds: number;
    /** CNI-03: Flannel's conflist (its init container) and lease (flanneld) on the node. */
    cniReadySeconds: number;
  };
  /** Explicit paths that win over every other source of a component (issue: artifact layer, source 1). */
  artifacts: Record<string, string>;
}

export interface Waiver {
  id: string;
  reason: string;
  /** Where it came from: the configuration file or environment (`waivers`), or a setting that implies it. */
  source: string;
}

export const DEFAULT_CONFIG: SuiteConfig = {
  trustDomain: 'example.org',
  workloadSpiffeId: 'spiffe://example.org/k8s-workload',
  spire: {
    mode: 'auto',
    binDir: '/opt/spire/bin',
    serverSocket: '/tmp/spire-server/private/api.sock',
    agentSocket: '/tmp/spire-agent/public/api.sock',
    serverPort: 8081,
    workDir: '/var/lib/spire-k8s-validation/spire',
  },
  workload: {
    image: 'mtls-demo-image:latest',
    port: 9999,
    namespace: 'default',
    container: 'mtls-app',
    podLabel: 'app=mtls-demo',
    manifest: undefined,
    allowedClientIds: ['spiffe://example.org/k8s-workload-client'],
  },
  cluster: { provider: 'auto', kubeconfig: undefined, kubeletCa: undefined, kubeletToken: undefined },
  attestation: 'auto',
  // SPIRE 1.13 backdates an SVID by 10 s and its agent renews it once less than about half of that lifetime is left,
  // checking every 5 s: TTL 30 s → a new SVID about every 10-15 s, TTL 20 s → every 5-10 s.
  rotation: { x509SvidTtlSeconds: 30 },
  resilience: { enabled: true, x509SvidTtlSeconds: 20 },
  cacheDir: '/var/cache/spire-k8s-validation',
  stateDir: '/var/lib/spire-k8s-validation',
  reportsDir: 'reports',
  keep: false,
  offline: false,
  failOnSeverity: 'critical',
  waivers: [],
  phases: [],
  until: undefined,
  runId: undefined,
  timeouts: {
    spireReadySeconds: 60,
    svidFetchSeconds: 60,
    containerReadySeconds: 60,
    podReadySeconds: 180,
    nodeReadySeconds: 120,
    cniReadySeconds: 60,
  },
  artifacts: {},
};

/** Environment variables and the config field each one sets. */
export const ENV_OVERRIDES: Record<string, string> = {
  SPIRE_VALIDATION_TRUST_DOMAIN: 'trustDomain',
  SPIRE_VALIDATION_WORKLOAD_ID: 'workloadSpiffeId',
  SPIRE_VALIDATION_SPIRE_MODE: 'spire.mode',
  SPIRE_VALIDATION_SPIRE_BIN_DIR: 'spire.binDir',
  SPIRE_VALIDATION_SERVER_SOCKET: 'spire.serverSocket',
  SPIRE_VALIDATION_AGENT_SOCKET: 'spire.agentSocket',
  SPIRE_VALIDATION_SERVER_PORT: 'spire.serverPort',
  SPIRE_VALIDATION_SPIRE_WORK_DIR: 'spire.workDir',
  SPIRE_VALIDATION_IMAGE: 'workload.image',
  SPIRE_VALIDATION_PORT: 'workload.port',
  SPIRE_VALIDATION_NAMESPACE: 'workload.namespace',
  SPIRE_VALIDATION_CONTAINER: 'workload.container',
  SPIRE_VALIDATION_POD_LABEL: 'workload.podLabel',
  SPIRE_VALIDATION_MANIFEST: 'workload.manifest',
  /** Comma-separated (a SPIFFE ID has no comma). */
  SPIRE_VALIDATION_ALLOWED_CLIENT_IDS: 'workload.allowedClientIds',
  SPIRE_VALIDATION_PROVIDER: 'cluster.provider',
  SPIRE_VALIDATION_KUBECONFIG: 'cluster.kubeconfig',
  SPIRE_VALIDATION_KUBELET_CA: 'cluster.kubeletCa',
  SPIRE_VALIDATION_KUBELET_TOKEN: 'cluster.kubeletToken',
  SPIRE_VALIDATION_ATTESTATION: 'attestation',
  SPIRE_VALIDATION_SVID_TTL: 'rotation.x509SvidTtlSeconds',
  SPIRE_VALIDATION_RESILIENCE: 'resilience.enabled',
  SPIRE_VALIDATION_CACHE: 'cacheDir',
  SPIRE_VALIDATION_STATE_DIR: 'stateDir',
  SPIRE_VALIDATION_REPORTS_DIR: 'reportsDir',
  SPIRE_VALIDATION_FAIL_ON: 'failOnSeverity',
  /** `ID=reason`, several separated by `;` (see parseWaiverList). */
  SPIRE_VALIDATION_WAIVERS: 'waivers',
  /** Comma-separated phase orders or keys. */
  SPIRE_VALIDATION_PHASES: 'phases',
  SPIRE_VALIDATION_UNTIL: 'until',
  SPIRE_VALIDATION_RUN_ID: 'runId',
  KEEP: 'keep',
  SPIRE_VALIDATION_OFFLINE: 'offline',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[], source: string) {
    super(
      `Invalid suite configuration (${source}); nothing on the host was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Json, override: Json, path: string, problems: string[]): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const field = path ? `${path}.${key}` : key;
    if (!(key in base)) {
      problems.push(`${field}: unknown setting`);
      continue;
    }
    const current = base[key];
    if (isObject(current) && key !== 'artifacts') {
      if (!isObject(value)) problems.push(`${field}: must be an object`);
      else out[key] = merge(current, value, field, problems);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function setPath(target: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] as Json;
  node[keys.at(-1) as string] = value;
}

function getPath(target: Json, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), target);
}

/**
 * Converts an environment string to the type of the field it overrides. A string that is not of that type stays a
 * string, so validation rejects it by name (KEEP=maybe is an error, not false).
 */
function fromEnv(raw: string, current: unknown): unknown {
  if (typeof current === 'number') return raw.trim() === '' ? Number.NaN : Number(raw);
  if (typeof current === 'boolean') {
    const word = raw.trim().toLowerCase();
    if (['1', 'true', 'yes'].includes(word)) return true;
    if (['', '0', 'false', 'no'].includes(word)) return false;
  }
  if (Array.isArray(current))
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  return raw;
}

/** True when `path` is `dir` or lies anywhere below it. */
function within(path: string, dir: string): boolean {
  const rest = relative(dir, path);
  return rest === '' || (!rest.startsWith('..') && !isAbsolute(rest));
}

/**
 * The rules between the SPIRE paths. Workload pods mount the agent socket's directory (hostPath), so nothing of the
 * server's may be in it: not its admin socket (whoever reaches it administers the server: entries, join tokens), not
 * the suite's SPIRE work directory (the server's CA keys, the agent's admin socket).
 */
function socketProblems(config: SuiteConfig): string[] {
  const { serverSocket, agentSocket, workDir } = config.spire;
  if (![serverSocket, agentSocket, workDir].every((path) => typeof path === 'string' && isAbsolute(path))) return [];
  const agentDir = dirname(agentSocket);
  const problems: string[] = [];
  if (agentDir === '/') {
    problems.push(
      `spire.agentSocket: must be in a directory of its own, which workload pods mount; "/" would give them the ` +
        `whole host (got ${JSON.stringify(agentSocket)})`,
    );
    return problems;
  }
  if (resolve(serverSocket) === resolve(agentSocket)) {
    problems.push(
      `spire.serverSocket and spire.agentSocket: must be two different sockets, the server's admin API and the ` +
        `agent's Workload API (both got ${JSON.stringify(agentSocket)})`,
    );
  } else if (within(serverSocket, agentDir)) {
    problems.push(
      `spire.serverSocket: the server's admin socket must not be inside the agent socket directory ` +
        `(${agentDir}, the directory of spire.agentSocket), which workload pods mount: any pod could administer the ` +
        `SPIRE server (got ${JSON.stringify(serverSocket)})`,
    );
  }
  if (within(agentSocket, dirname(serverSocket)) && agentDir !== dirname(serverSocket)) {
    problems.push(
      `spire.agentSocket: must not be below the server socket's directory (${dirname(serverSocket)}, the directory ` +
        `of spire.serverSocket): the agent socket directory is opened to workload pods, so the server's private ` +
        `directory would have to be opened on the way (got ${JSON.stringify(agentSocket)})`,
    );
  }
  if (within(workDir, agentDir)) {
    problems.push(
      `spire.workDir: must not be inside the agent socket directory (${agentDir}, the directory of ` +
        `spire.agentSocket), which workload pods mount: the work directory holds the server's keys and the agent's ` +
        `admin socket (got ${JSON.stringify(workDir)})`,
    );
  }
  return problems;
}

function validate(config: SuiteConfig, cwd: string): string[] {
  const problems: string[] = [];
  const check = (field: string, ok: boolean, rule: string) => {
    if (!ok) problems.push(`${field}: ${rule} (got ${JSON.stringify(getPath(config as unknown as Json, field))})`);
  };
  const string = (field: string) => {
    const value = getPath(config as unknown as Json, field);
    check(field, typeof value === 'string' && value.length > 0, 'must be a non-empty string');
    return typeof value === 'string' ? value : '';
  };
  const absolutePath = (field: string) => {
    const value = string(field);
    if (value) check(field, isAbsolute(value), 'must be an absolute path');
  };
  const port = (field: string) => {
    const value = getPath(config as unknown as Json, field);
    check(
      field,
      Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535,
      'must be a port 1-65535',
    );
  };
  const oneOf = (field: string, allowed: readonly string[]) => {
    const value = getPath(config as unknown as Json, field);
    check(field, typeof value === 'string' && allowed.includes(value), `must be one of ${allowed.join(', ')}`);
  };

  const spiffe = (field: string, parse: (text: string) => void) => {
    const value = string(field);
    if (!value) return;
    try {
      parse(value);
    } catch (error) {
      if (!(error instanceof SpiffeIdError)) throw error;
      problems.push(`${field}: ${error.message}`);
    }
  };
  spiffe('trustDomain', parseTrustDomain);
  spiffe('workloadSpiffeId', (text) => {
    const id = parseSpiffeId(text);
    check('workloadSpiffeId', id.path !== '', 'a workload SPIFFE ID must have a path');
    check(
      'workloadSpiffeId',
      id.trustDomain === config.trustDomain,
      `must belong to trust domain "${config.trustDomain}"`,
    );
  });
  allowList(config, problems);
  absolutePath('spire.binDir');
  absolutePath('spire.serverSocket');
  absolutePath('spire.agentSocket');
  absolutePath('spire.workDir');
  absolutePath('cacheDir');
  absolutePath('stateDir');
  port('spire.serverPort');
  port('workload.port');
  string('workload.image');
  const label = string('workload.podLabel');
  if (label) check('workload.podLabel', /^[A-Za-z0-9._/-]+=[A-Za-z0-9._-]*$/.test(label), 'must be key=value');
  for (const field of ['workload.namespace', 'workload.container']) {
    const value = string(field);
    if (value) check(field, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value), 'must be a Kubernetes DNS label');
  }
  oneOf('spire.mode', SPIRE_MODES);
  oneOf('cluster.provider', PROVIDERS);
  oneOf('attestation', ATTESTATION_MODES);
  oneOf('failOnSeverity', SEVERITY_LEVELS);
  if (config.cluster.provider === 'existing') {
    check('cluster.kubeconfig', typeof config.cluster.kubeconfig === 'string', 'is required with provider "existing"');
  }
  if (config.cluster.kubeconfig !== undefined) absolutePath('cluster.kubeconfig');
  if (config.cluster.kubeletCa !== undefined) absolutePath('cluster.kubeletCa');
  if (config.cluster.kubeletToken !== undefined) absolutePath('cluster.kubeletToken');
  if (config.workload.manifest !== undefined) {
    absolutePath('workload.manifest');
    check('workload.manifest', existsSync(config.workload.manifest), 'must be an existing file');
  }
  if (config.runId !== undefined)
    check(
      'runId',
      typeof config.runId === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(config.runId),
      'must be 1-128 letters, digits or ._:-',
    );
  check('keep', typeof config.keep === 'boolean', 'must be true or false');
  check('offline', typeof config.offline === 'boolean', 'must be true or false');
  for (const key of Object.keys(config.timeouts)) {
    const value = (config.timeouts as unknown as Json)[key];
    check(`timeouts.${key}`, typeof value === 'number' && value > 0 && value <= 3600, 'must be 1-3600 seconds');
  }
  const ttl = config.rotation.x509SvidTtlSeconds;
  check('rotation.x509SvidTtlSeconds', Number.isInteger(ttl) && ttl >= 30 && ttl <= 86400, 'must be 30-86400 seconds');
  check('resilience.enabled', typeof config.resilience.enabled === 'boolean', 'must be true or false');
  const resilienceTtl = config.resilience.x509SvidTtlSeconds;
  check(
    'resilience.x509SvidTtlSeconds',
    Number.isInteger(resilienceTtl) && resilienceTtl >= 20 && resilienceTtl <= 600,
    'must be 20-600 seconds (three rotations are watched under traffic)',
  );
  check('artifacts', isObject(config.artifacts), 'must be an object of component name to absolute path');
  for (const [name, path] of Object.entries(isObject(config.artifacts) ? config.artifacts : {})) {
    check(`artifacts.${name}`, typeof path === 'string' && isAbsolute(path), 'must be an absolute path');
  }
  // The run deletes its earlier results (evidence/, logs/, html/, …) in the reports directory before it starts.
  const reports = config.reportsDir;
  check(
    'reportsDir',
    typeof reports !== 'string' || (reports !== dirname(reports) && reports !== resolve(cwd)),
    'must be a directory of its own, not / and not the working directory (the run deletes its evidence/, logs/ and ' +
      'html/ there before it starts)',
  );
  check(
    'stateDir',
    config.stateDir !== '/',
    'must be a directory of its own, not / (it holds the host-wide ledger and lock)',
  );
  check(
    'spire.workDir',
    config.spire.workDir !== '/',
    'must not be / (a SPIRE the suite starts wipes its server/ and agent/)',
  );
  problems.push(...socketProblems(config));
  return problems;
}

/** workload.allowedClientIds: a non-empty list of distinct SPIFFE IDs, one of them for the pod-to-pod client. */
function allowList(config: SuiteConfig, problems: string[]): void {
  const field = 'workload.allowedClientIds';
  const ids: unknown = config.workload.allowedClientIds;
  if (!Array.isArray(ids) || ids.length === 0) {
    problems.push(`${field}: must be a non-empty list of SPIFFE IDs (got ${JSON.stringify(ids)})`);
    return;
  }
  for (const [index, id] of ids.entries()) {
    if (typeof id !== 'string') {
      problems.push(`${field}[${index}]: must be a SPIFFE ID string (got ${JSON.stringify(id)})`);
      continue;
    }
    try {
      if (parseSpiffeId(id).path === '')
        problems.push(`${field}[${index}]: a client SPIFFE ID must have a path, "${id}" names a whole trust domain`);
    } catch (error) {
      if (!(error instanceof SpiffeIdError)) throw error;
      problems.push(`${field}[${index}]: ${error.message}`);
    }
  }
  const duplicates = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (duplicates.length > 0) problems.push(`${field}: lists ${JSON.stringify(duplicates[0])} more than once`);
  if (!ids.some((id) => typeof id === 'string' && id.startsWith(`spiffe://${config.trustDomain}/`)))
    problems.push(
      `${field}: must name at least one ID of trust domain "${config.trustDomain}" (the pod-to-pod client of MESH-01 ` +
        `runs under the first one) (got ${JSON.stringify(ids)})`,
    );
  const intruder = meshIntruderSpiffeId(config);
  if (ids.includes(intruder))
    problems.push(`${field}: must not allow ${intruder}, the identity MESH-02 proves is refused`);
}

export interface LoadOptions {
  /** Config file; defaults to $SPIRE_VALIDATION_CONFIG, then ./spire-validation.config.json if present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Loads and validates the configuration, throwing a ConfigError that lists every problem. */
export function loadConfig(options: LoadOptions = {}): SuiteConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const defaultFile = resolve(cwd, 'spire-validation.config.json');
  const file = options.file ?? env.SPIRE_VALIDATION_CONFIG ?? (existsSync(defaultFile) ? defaultFile : undefined);
  const source = file ? `file ${file} + environment` : 'defaults + environment';

  let merged = structuredClone(DEFAULT_CONFIG) as unknown as Json;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError([`cannot read ${file}: ${(error as Error).message}`], source);
    }
    if (!isObject(parsed)) throw new ConfigError([`${file}: must hold a JSON object`], source);
    merged = merge(merged, parsed, '', problems);
  }
  for (const [variable, field] of Object.entries(ENV_OVERRIDES)) {
    const raw = env[variable];
    if (raw === undefined) continue;
    const value =
      field === 'waivers'
        ? parseWaiverList(raw, `environment ${variable}`, problems)
        : fromEnv(raw, getPath(merged, field));
    setPath(merged, field, value);
  }
  const config = merged as unknown as SuiteConfig;
  // The workload ID follows a changed trust domain unless it was set explicitly.
  if (
    config.trustDomain !== DEFAULT_CONFIG.trustDomain &&
    config.workloadSpiffeId === DEFAULT_CONFIG.workloadSpiffeId
  ) {
    config.workloadSpiffeId = `spiffe://${config.trustDomain}/k8s-workload`;
  }
  // So does the allow-list.
  if (
    config.trustDomain !== DEFAULT_CONFIG.trustDomain &&
    JSON.stringify(config.workload.allowedClientIds) === JSON.stringify(DEFAULT_CONFIG.workload.allowedClientIds)
  ) {
    config.workload.allowedClientIds = [`spiffe://${config.trustDomain}/k8s-workload-client`];
  }
  if (typeof config.reportsDir !== 'string' || config.reportsDir === '') {
    problems.push(`reportsDir: must be a non-empty string (got ${JSON.stringify(config.reportsDir)})`);
  } else {
    config.reportsDir = resolve(cwd, config.reportsDir);
  }
  problems.push(...validate(config, cwd));
  if (Array.isArray(config.waivers))
    config.waivers = config.waivers.map((waiver) =>
      isObject(waiver) && waiver.source === undefined
        ? { ...waiver, source: file ? `file ${file}` : 'configuration' }
        : waiver,
    );
  problems.push(...waiverProblems(config.waivers));
  problems.push(...selectionProblems(config));
  if (problems.length > 0) throw new ConfigError(problems, source);
  // The resilience phase switched off is a waiver of its controls, printed as such.
  if (config.resilience.enabled === false) {
    for (const control of CONTROLS.filter((c) => c.phase === 'resilience')) {
      if (config.waivers.some((waiver) => waiver.id === control.id)) continue;
      config.waivers.push({
        id: control.id,
        reason: 'the resilience phase is switched off',
        source: 'setting resilience.enabled=false',
      });
    }
  }
  return config;
}

/** `ID=reason;ID=reason` (the environment's form of `waivers`); a reason may hold `=` but not `;`. */
export function parseWaiverList(raw: string, source: string, problems: string[]): Waiver[] {
  const waivers: Waiver[] = [];
  for (const item of raw.split(';').map((part) => part.trim())) {
    if (item === '') continue;
    const at = item.indexOf('=');
    if (at < 0) {
      problems.push(`waivers (${source}): "${item}" must be ID=reason`);
      continue;
    }
    waivers.push({ id: item.slice(0, at).trim(), reason: item.slice(at + 1).trim(), source });
  }
  return waivers;
}

/** Every waiver names a catalogue control once and says why; nothing else is accepted. */
function waiverProblems(waivers: unknown): string[] {
  if (!Array.isArray(waivers)) return [`waivers: must be a list of { id, reason } (got ${JSON.stringify(waivers)})`];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [index, waiver] of waivers.entries()) {
    const field = `waivers[${index}]`;
    if (!isObject(waiver)) {
      problems.push(`${field}: must be an object { id, reason } (got ${JSON.stringify(waiver)})`);
      continue;
    }
    const unknownKeys = Object.keys(waiver).filter((key) => !['id', 'reason', 'source'].includes(key));
    if (unknownKeys.length > 0) problems.push(`${field}: unknown setting(s) ${unknownKeys.join(', ')}`);
    const { id, reason } = waiver;
    if (typeof id !== 'string' || !CONTROLS.some((control) => control.id === id))
      problems.push(`${field}.id: must be a control id of the catalogue (lib/controls.ts) (got ${JSON.stringify(id)})`);
    else if (seen.has(id)) problems.push(`${field}.id: ${id} is waived more than once`);
    else seen.add(id);
    if (typeof reason !== 'string' || reason.trim() === '')
      problems.push(
        `${field}.reason: must say why ${typeof id === 'string' ? id : 'the control'} is waived (got ${JSON.stringify(reason)})`,
      );
  }
  return problems;
}

/** The phase named by its order ("70") or key ("pod"), or undefined. */
export function phaseNamed(name: string): PhaseKey | undefined {
  const keys = Object.keys(PHASES) as PhaseKey[];
  return keys.find((key) => key === name || PHASES[key].order === name);
}

function selectionProblems(config: SuiteConfig): string[] {
  const problems: string[] = [];
  const known = (Object.keys(PHASES) as PhaseKey[]).map((key) => `${PHASES[key].order} (${key})`).join(', ');
  if (!Array.isArray(config.phases)) return [`phases: must be a list of phases (got ${JSON.stringify(config.phases)})`];
  for (const [index, name] of config.phases.entries()) {
    if (typeof name !== 'string' || !phaseNamed(name))
      problems.push(`phases[${index}]: must be a phase order or key, one of ${known} (got ${JSON.stringify(name)})`);
  }
  if (config.until !== undefined && (typeof config.until !== 'string' || !phaseNamed(config.until)))
    problems.push(`until: must be a phase order or key, one of ${known} (got ${JSON.stringify(config.until)})`);
  return problems;
}

/** For the command-line scripts: the configuration, or undefined after printing why it is invalid (exit with 2). */
export function loadConfigOrExplain(): SuiteConfig | undefined {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return undefined;
    }
    throw error;
  }
}

/** The pod label as a key and a value. */
export function podLabel(config: SuiteConfig): { key: string; value: string } {
  const [key = '', value = ''] = config.workload.podLabel.split('=');
  return { key, value };
}

/**
 * The SPIFFE ID of the pod-to-pod client (MESH-01): the first ID of the allow-list in the configured trust domain (the
 * local SPIRE can issue it). Validation guarantees there is one.
 */
export function meshClientSpiffeId(config: SuiteConfig): string {
  const id = config.workload.allowedClientIds.find((candidate) =>
    candidate.startsWith(`spiffe://${config.trustDomain}/`),
  );
  if (!id) throw new Error(`workload.allowedClientIds names no ID of trust domain ${config.trustDomain}`);
  return id;
}

/** The in-domain SPIFFE ID that is on no allow-list: MESH-02's intruder. */
export function meshIntruderSpiffeId(config: SuiteConfig): string {
  return `spiffe://${config.trustDomain}/k8s-intruder`;
}
