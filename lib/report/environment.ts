// What the run ran on, for the report: host, kernel, cgroup version, Node, SPIRE, Kubernetes, containerd and Docker
// versions, cluster provider, and which source served each component (the artifact layer's provenance records).
// Written as Allure's environment.properties and executor.json, and used as parameters on every result.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import type { SuiteConfig } from '../config.ts';
import { type ArtifactsRecord, type ClusterProviderRecord, type RunFactsRecord, readRunFile } from '../run-files.ts';

/** The artifact layer's record of one component (fixtures/artifacts/types.ts ArtifactRecord), as read back. */
export interface ArtifactFact {
  component: string;
  version: string;
  source: string;
}

export interface RunFacts {
  host: string;
  os: string;
  kernel: string;
  cgroup: string;
  node: string;
  spire: string;
  kubernetes: string;
  containerd: string;
  docker: string;
  provider: string;
  runtime: string;
  attestation: string;
  trustDomain: string;
  failOnSeverity: string;
  artifacts: ArtifactFact[];
}

const NOT_USED = 'not provisioned in this run';

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function isArtifact(value: unknown): value is ArtifactFact {
  const v = value as Record<string, unknown> | undefined;
  return typeof v?.component === 'string' && typeof v.version === 'string' && typeof v.source === 'string';
}

/**
 * The artifact records of this run: reports/run/artifacts.json (written by the artifact layer) and the records the
 * provisioning controls kept as evidence (evidence/<id>/*.json). Later files win per component.
 */
export function readArtifacts(reportsDir: string): ArtifactFact[] {
  const byComponent = new Map<string, ArtifactFact>();
  const add = (value: unknown) => {
    if (isArtifact(value))
      byComponent.set(value.component, { component: value.component, version: value.version, source: value.source });
  };
  const evidenceDir = join(reportsDir, 'evidence');
  if (existsSync(evidenceDir)) {
    for (const id of readdirSync(evidenceDir).sort()) {
      const dir = join(evidenceDir, id);
      if (!statSync(dir).isDirectory()) continue;
      for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) add(readJson(join(dir, file)));
    }
  }
  const report = readRunFile<ArtifactsRecord>(reportsDir, 'artifacts');
  for (const record of report?.artifacts ?? []) add(record);
  return [...byComponent.values()].sort((a, b) => a.component.localeCompare(b.component));
}

/** Runs a command with a deadline; its trimmed stdout, or undefined when it is missing, fails or hangs. */
export function probe(command: string, args: string[], timeoutMs = 5_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) => {
        resolve(error ? undefined : stdout.trim() || undefined);
      });
    } catch {
      resolve(undefined);
    }
  });
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function cgroupVersion(root = '/sys/fs/cgroup'): string {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2 (unified)';
  if (existsSync(join(root, 'unified', 'cgroup.controllers'))) return 'v1 (hybrid)';
  return existsSync(root) ? 'v1' : 'unknown';
}

interface ProviderRecord {
  requested?: string;
  served?: string;
  runtime?: string;
  attestation?: string;
  at?: string;
}

/** The cluster provider this run chose (reports/run/cluster-provider.json), if it was written during this run. */
export function readProviderRecord(reportsDir: string, since: number): ProviderRecord | undefined {
  const record = readRunFile<ClusterProviderRecord>(reportsDir, 'clusterProvider');
  if (!record?.served) return undefined;
  const at = record.at ? Date.parse(record.at) : Number.NaN;
  return Number.isFinite(at) && at >= since - 1000 ? record : undefined;
}

/** What the worker recorded about the run (fixtures/control.ts: run/run-facts.json), if written during this run. */
export function readWorkerFacts(reportsDir: string, since: number): ProviderRecord | undefined {
  const record = readRunFile<RunFactsRecord>(reportsDir, 'runFacts');
  const at = record?.at ? Date.parse(record.at) : Number.NaN;
  if (!record || !Number.isFinite(at) || at < since - 1000) return undefined;
  return { served: record.provider, runtime: record.runtime, attestation: record.attestation, at: record.at };
}

export async function collectRunFacts(config: SuiteConfig, runStartedAt: number): Promise<RunFacts> {
  const artifacts = readArtifacts(config.reportsDir);
  const artifact = (name: string) => artifacts.find((a) => a.component === name);
  const chosen = readProviderRecord(config.reportsDir, runStartedAt);
  const worker = readWorkerFacts(config.reportsDir, runStartedAt);
  const provider: ProviderRecord | undefined =
    chosen || worker
      ? {
          ...chosen,
          ...(worker?.served ? { served: worker.served } : {}),
          ...(worker?.runtime ? { runtime: worker.runtime } : {}),
          ...(worker?.attestation ? { attestation: worker.attestation } : {}),
        }
      : undefined;
  const [docker, containerd] = await Promise.all([
    probe('docker', ['version', '--format', '{{.Server.Version}}']),
    probe('containerd', ['--version']),
  ]);
  const dockerRecord = artifact('docker') ?? artifact('docker-engine');
  // Without a cluster, the workloads of the Docker phase run in Docker.
  const runtime = provider?.runtime ?? 'docker';
  return {
    host: hostname(),
    os: osName(),
    kernel: release(),
    cgroup: cgroupVersion(),
    node: process.version,
    spire: artifact('spire')?.version ?? NOT_USED,
    kubernetes: artifact('kubernetes')?.version ?? NOT_USED,
    containerd: containerd?.split(/\s+/).find((part) => /^v?\d+\.\d+/.test(part)) ?? containerd ?? 'not installed',
    docker: docker ?? dockerRecord?.version ?? 'not running',
    provider: provider?.served
      ? `${provider.served}${provider.requested && provider.requested !== provider.served ? ` (requested ${provider.requested})` : ''}`
      : `${config.cluster.provider} (no cluster started in this run)`,
    runtime,
    attestation: provider?.attestation ?? config.attestation,
    trustDomain: config.trustDomain,
    failOnSeverity: config.failOnSeverity,
    artifacts,
  };
}

/** Java properties escaping for keys and values (Allure reads environment.properties with a properties parser). */
function propertiesEscape(text: string, key = false): string {
  let out = text.replaceAll('\\', '\\\\').replace(/\r?\n/g, '\\n').replaceAll('=', '\\=').replaceAll(':', '\\:');
  if (key) out = out.replaceAll(' ', '\\ ');
  return out;
}

export function environmentProperties(facts: RunFacts, verdict: Array<[string, string]> = []): string {
  const entries: Array<[string, string]> = [
    ...verdict,
    ['Host', facts.host],
    ['OS', facts.os],
    ['Kernel', facts.kernel],
    ['cgroup', facts.cgroup],
    ['Node.js', facts.node],
    ['SPIRE', facts.spire],
    ['Kubernetes', facts.kubernetes],
    ['containerd', facts.containerd],
    ['Docker', facts.docker],
    ['Provider', facts.provider],
    ['Runtime', facts.runtime],
    ['Attestation', facts.attestation],
    ['Trust.domain', facts.trustDomain],
    ['Fail.on.severity', facts.failOnSeverity],
    ...facts.artifacts.map((a): [string, string] => [`Artifact.${a.component}`, `${a.version} (${a.source})`]),
  ];
  return `${entries.map(([key, value]) => `${propertiesEscape(key, true)}=${propertiesEscape(value)}`).join('\n')}\n`;
}

/** Parameters put on every Allure result; excluded from Allure's history id, so history follows the control. */
export function resultParameters(facts: RunFacts): Array<{ name: string; value: string }> {
  return [
    { name: 'provider', value: facts.provider },
    { name: 'runtime', value: facts.runtime },
    { name: 'attestation', value: facts.attestation },
    { name: 'SPIRE', value: facts.spire },
    { name: 'Kubernetes', value: facts.kubernetes },
    { name: 'Node.js', value: facts.node },
  ];
}

export interface Executor {
  name: string;
  type: string;
  url?: string;
  buildOrder?: number;
  buildName: string;
  buildUrl?: string;
  reportName: string;
}

/** executor.json: the GitHub Actions run when there is one, else the host. */
export function executor(env: NodeJS.ProcessEnv = process.env, host = hostname()): Executor {
  const reportName = 'SPIFFE/SPIRE Kubernetes validation';
  if (env.GITHUB_ACTIONS === 'true' && env.GITHUB_RUN_ID) {
    const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
    const url = `${server}/${env.GITHUB_REPOSITORY ?? ''}`;
    return {
      name: `GitHub Actions (${env.RUNNER_NAME ?? 'self-hosted runner'})`,
      type: 'github',
      url,
      buildOrder: Number(env.GITHUB_RUN_NUMBER ?? 0),
      buildName: `${env.GITHUB_WORKFLOW ?? 'workflow'} #${env.GITHUB_RUN_NUMBER ?? env.GITHUB_RUN_ID}`,
      buildUrl: `${url}/actions/runs/${env.GITHUB_RUN_ID}`,
      reportName,
    };
  }
  return { name: host, type: 'local', buildName: `local run on ${host}`, reportName };
}
