// Completing the Allure results from the matrix: parameters excluded from the history id, WARN shown as a failure,
// skip reasons kept, a result for every control nothing reported, environment.properties / executor.json /
// categories.json — and reading the results back for `npm run report`.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CONTROLS } from '../../lib/controls.ts';
import { completeAllureResults, observedFromAllureResults } from '../../lib/report/allure-results.ts';
import {
  cgroupVersion,
  environmentProperties,
  executor,
  type RunFacts,
  readArtifacts,
} from '../../lib/report/environment.ts';
import { buildMatrix, type RecordedOutcome } from '../../lib/report/matrix.ts';
import { ENVIRONMENT_KEYS } from './helpers.ts';

const facts: RunFacts = {
  host: 'runner-1',
  os: 'Debian GNU/Linux 12 (bookworm)',
  kernel: '6.1.0',
  cgroup: 'v2 (unified)',
  node: 'v24.21.0',
  spire: '1.13.3',
  kubernetes: 'v1.32.0',
  containerd: '1.7.24',
  docker: '20.10.24',
  provider: 'local',
  runtime: 'containerd',
  attestation: 'k8s',
  trustDomain: 'example.org',
  failOnSeverity: 'critical',
  artifacts: [{ component: 'spire', version: '1.13.3', source: 'cache' }],
};

function vitestResult(id: string, status: string, message?: string) {
  const control = CONTROLS.find((c) => c.id === id);
  return {
    uuid: `uuid-${id}`,
    name: `${id} ${control?.title}`,
    historyId: `${id}:d41d8cd98f00b204e9800998ecf8427e`,
    testCaseId: id,
    status,
    statusDetails: message ? { message } : {},
    stage: 'finished',
    steps: [],
    attachments: [],
    parameters: [],
    labels: [
      { name: 'epic', value: 'Phase 3: Kubernetes SPIRE Integration' },
      { name: 'control', value: id },
    ],
  };
}

function outcome(
  id: string,
  status: RecordedOutcome['status'],
  reason?: string,
  skipped?: Pick<RecordedOutcome, 'skip' | 'rootCause'>,
): RecordedOutcome {
  return { id, status, reason, ...skipped, evidence: [], durationMs: 5, finishedAt: '2026-01-01T00:00:00Z' };
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'allure-results-test-'));
  const results = join(dir, 'allure-results');
  mkdirSync(results);
  const write = (result: ReturnType<typeof vitestResult>) =>
    writeFileSync(join(results, `${result.uuid}-result.json`), JSON.stringify(result));
  write(vitestResult('PROV-01', 'passed'));
  write(vitestResult('SPIRE-01', 'broken', 'SPIRE-01 failed: no server\n\nRemediation: start it'));
  write(vitestResult('SPIRE-02', 'skipped'));
  write(vitestResult('DOCKER-09', 'passed'));
  const matrix = buildMatrix({
    outcomes: [
      outcome('PROV-01', 'passed'),
      outcome('SPIRE-01', 'failed', 'no server'),
      outcome('SPIRE-02', 'skipped', 'blocked by SPIRE-01 (SPIRE Server is running) — failed: no server', {
        skip: 'blocked',
        rootCause: 'SPIRE-01',
      }),
      outcome('DOCKER-09', 'warned', 'bundle differs'),
    ],
    failOnSeverity: 'critical',
  });
  const complete = () =>
    completeAllureResults({
      resultsDir: results,
      matrix,
      controls: CONTROLS,
      facts,
      executor: executor({}, 'runner-1'),
      now: 1_700_000_000_000,
    });
  const read = () => {
    const byId = new Map<string, ReturnType<typeof vitestResult> & { parameters: Array<Record<string, unknown>> }>();
    for (const name of readdirSync(results).filter((n) => n.endsWith('-result.json'))) {
      const result = JSON.parse(readFileSync(join(results, name), 'utf8'));
      byId.set(result.labels.find((l: { name: string }) => l.name === 'control').value, result);
    }
    return byId;
  };
  return { dir, results, complete, read };
}

describe('completeAllureResults', () => {
  test('every catalogue control has exactly one result afterwards; not-run ones BLOCKED when required, else skipped', () => {
    const { complete, read } = setup();
    const outcome = complete();
    expect(outcome).toMatchObject({ updated: 4, synthetic: CONTROLS.length - 4 });
    const results = read();
    expect([...results.keys()].sort()).toEqual(CONTROLS.map((c) => c.id).sort());
    const pod = results.get('POD-01');
    expect(pod?.status).toBe('failed');
    expect(pod?.statusDetails.message).toMatch(/^BLOCKED \(not-run; severity critical is at or above fail-on critical/);
    expect(results.get('POD-07')).toMatchObject({
      status: 'skipped',
      statusDetails: { message: expect.stringMatching(/^not-run: not run/) },
    });
    expect(pod?.labels).toEqual(
      expect.arrayContaining([
        { name: 'epic', value: 'Phase 3: Kubernetes SPIRE Integration' },
        { name: 'feature', value: '70 In-pod identity and mTLS' },
        { name: 'story', value: `POD-01 ${CONTROLS.find((c) => c.id === 'POD-01')?.title}` },
        { name: 'failureCategory', value: 'blocked' },
        { name: 'controlStatus', value: 'BLOCKED' },
      ]),
    );
  });

  test('parameters (provider, runtime, attestation, versions) on every result, excluded from the history id', () => {
    const { complete, read } = setup();
    complete();
    for (const result of read().values()) {
      expect(result.parameters).toEqual(
        expect.arrayContaining([
          { name: 'provider', value: 'local', excluded: true },
          { name: 'runtime', value: 'containerd', excluded: true },
          { name: 'attestation', value: 'k8s', excluded: true },
          { name: 'SPIRE', value: '1.13.3', excluded: true },
          { name: 'Kubernetes', value: 'v1.32.0', excluded: true },
        ]),
      );
    }
  });

  test('FAIL is a failed result in its category; WARN is shown as a failure; BLOCKED names its root cause', () => {
    const { complete, read } = setup();
    complete();
    const results = read();
    expect(results.get('SPIRE-01')?.status).toBe('failed');
    expect(results.get('SPIRE-01')?.labels).toContainEqual({ name: 'failureCategory', value: 'infrastructure' });
    const warn = results.get('DOCKER-09');
    expect(warn?.status).toBe('failed');
    expect(warn?.statusDetails.message).toMatch(/^WARN \(severity normal is below fail-on critical/);
    expect(warn?.labels).toEqual(
      expect.arrayContaining([
        { name: 'tag', value: 'WARN' },
        { name: 'controlStatus', value: 'WARN' },
      ]),
    );
    const blocked = results.get('SPIRE-02');
    expect(blocked?.status).toBe('failed');
    expect(blocked?.statusDetails.message).toMatch(/^BLOCKED \(blocked; .*\): blocked by SPIRE-01 \(SPIRE Server/);
    expect(blocked?.statusDetails.message).toContain('Remediation: SPIRE-01 is the root cause:');
    expect(blocked?.labels).toContainEqual({ name: 'skip', value: 'blocked' });
  });

  test('is idempotent (npm run report may run it again)', () => {
    const { complete, read } = setup();
    complete();
    const first = JSON.stringify([...read().entries()].sort());
    expect(complete()).toMatchObject({ synthetic: 0, updated: CONTROLS.length });
    expect(JSON.stringify([...read().entries()].sort())).toBe(first);
  });

  test('writes environment.properties, executor.json and categories.json', () => {
    const { complete, results } = setup();
    complete();
    const properties = readFileSync(join(results, 'environment.properties'), 'utf8');
    for (const key of ENVIRONMENT_KEYS) expect(properties).toMatch(new RegExp(`^${key.replace('.', '\\.')}=`, 'm'));
    expect(properties).toContain('Artifact.spire=1.13.3 (cache)');
    expect(JSON.parse(readFileSync(join(results, 'executor.json'), 'utf8'))).toMatchObject({ type: 'local' });
    const categories = JSON.parse(readFileSync(join(results, 'categories.json'), 'utf8')) as Array<{ name: string }>;
    expect(categories.map((c) => c.name)).toEqual(
      expect.arrayContaining(['Infrastructure not ready', 'Identity / mTLS defect']),
    );
  });

  test('observedFromAllureResults reads the verdicts back', () => {
    const { complete, results } = setup();
    complete();
    const observed = new Map(observedFromAllureResults(results).map((o) => [o.id, o]));
    expect(observed.size).toBe(CONTROLS.length);
    expect(observed.get('SPIRE-01')).toMatchObject({ state: 'failed' });
    expect(observed.get('PROV-01')).toMatchObject({ state: 'passed' });
    expect(observed.get('POD-01')).toMatchObject({ state: 'skipped', message: expect.stringMatching(/^BLOCKED/) });
    expect(observed.get('POD-07')).toMatchObject({ state: 'skipped', message: expect.stringMatching(/^not-run/) });
  });
});

describe('environment facts', () => {
  test('executor.json names the GitHub Actions run when there is one', () => {
    expect(
      executor({
        GITHUB_ACTIONS: 'true',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_NUMBER: '7',
        GITHUB_REPOSITORY: 'org/repo',
        GITHUB_SERVER_URL: 'https://github.example',
        GITHUB_WORKFLOW: 'nightly',
        RUNNER_NAME: 'lab-1',
      }),
    ).toEqual({
      name: 'GitHub Actions (lab-1)',
      type: 'github',
      url: 'https://github.example/org/repo',
      buildOrder: 7,
      buildName: 'nightly #7',
      buildUrl: 'https://github.example/org/repo/actions/runs/42',
      reportName: 'SPIFFE/SPIRE Kubernetes validation',
    });
  });

  test('artifact records come from artifacts.json and the provisioning evidence', () => {
    const dir = mkdtempSync(join(tmpdir(), 'facts-test-'));
    mkdirSync(join(dir, 'run'));
    mkdirSync(join(dir, 'evidence', 'PROV-03'), { recursive: true });
    writeFileSync(
      join(dir, 'evidence', 'PROV-03', 'spire-artifact.json'),
      JSON.stringify({ component: 'spire', version: '1.13.3', source: 'go-build', paths: {} }),
    );
    writeFileSync(
      join(dir, 'run', 'artifacts.json'),
      JSON.stringify({ artifacts: [{ component: 'kubernetes', version: 'v1.32.0', source: 'download' }] }),
    );
    expect(readArtifacts(dir)).toEqual([
      { component: 'kubernetes', version: 'v1.32.0', source: 'download' },
      { component: 'spire', version: '1.13.3', source: 'go-build' },
    ]);
  });

  test('environment.properties escapes keys and values', () => {
    const text = environmentProperties({ ...facts, provider: 'auto (requested: minikube=no)' });
    expect(text).toContain('Provider=auto (requested\\: minikube\\=no)');
  });

  test('cgroup version from the mounted hierarchy', () => {
    const v2 = mkdtempSync(join(tmpdir(), 'cgroup-'));
    writeFileSync(join(v2, 'cgroup.controllers'), 'cpu memory');
    expect(cgroupVersion(v2)).toBe('v2 (unified)');
    expect(cgroupVersion(join(v2, 'missing'))).toBe('unknown');
  });
});
