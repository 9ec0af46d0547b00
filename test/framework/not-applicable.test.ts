// The verdict policy, enumerated: every path by which a control can end "not applicable" — a cluster provider that
// does not own it, a control body that calls notApplicable() — either names a situation the catalogue lists for that
// control (and its reason is printed in the report), or leaves the control not judged (BLOCKED when required). The
// providers are the real classes with test configurations; the suites are read as source.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ExistingProvider } from '../../fixtures/cluster/existing.ts';
import { LocalProvider } from '../../fixtures/cluster/local.ts';
import { MinikubeProvider } from '../../fixtures/cluster/minikube.ts';
import type { ClusterProvider } from '../../fixtures/cluster/provider.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { CONTROLS, getControl, SITUATIONS, type Situation } from '../../lib/controls.ts';
import { notApplicableVerdict } from '../../lib/not-judged.ts';
import { buildMatrix, renderConsole, renderMarkdown } from '../../lib/report/matrix.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function config(cluster: Partial<SuiteConfig['cluster']>): SuiteConfig {
  const base = loadConfig({ env: {} });
  return { ...base, reportsDir: mkdtempSync(join(tmpdir(), 'na-')), cluster: { ...base.cluster, ...cluster } };
}

const ledger = new Ledger('/dev/null/unused.json');
const PROVIDERS: Array<[string, ClusterProvider]> = [
  ['local', new LocalProvider(config({ provider: 'local' }), ledger)],
  ['minikube', new MinikubeProvider(config({ provider: 'minikube' }), ledger)],
  ['existing, kubeconfig only', new ExistingProvider(config({ provider: 'existing', kubeconfig: '/k' }))],
  [
    'existing, with kubelet CA and token',
    new ExistingProvider(config({ provider: 'existing', kubeconfig: '/k', kubeletCa: '/ca', kubeletToken: '/t' })),
  ],
];

/** `notApplicable('situation'` calls of each control() in the suites, read from the source. */
function bodyCalls(): Array<{ file: string; id: string; situation: string | undefined }> {
  const calls: Array<{ file: string; id: string; situation: string | undefined }> = [];
  for (const file of readdirSync(join(ROOT, 'suites')).filter((name) => name.endsWith('.test.ts'))) {
    const source = readFileSync(join(ROOT, 'suites', file), 'utf8');
    const starts = [...source.matchAll(/control\(\s*'([A-Z0-9-]+)'/g)];
    for (const [index, start] of starts.entries()) {
      const body = source.slice(start.index, starts[index + 1]?.index ?? source.length);
      for (const call of body.matchAll(/[^.\w]notApplicable\(\s*('([a-z-]+)')?/g))
        calls.push({ file, id: start[1] as string, situation: call[2] });
    }
  }
  return calls;
}

/** The report of a run in which `id` ended with this verdict: the console and the Markdown. */
function printed(id: string, kind: string, reason: string): string {
  const matrix = buildMatrix({
    outcomes: [
      { id, status: 'skipped', skip: kind as 'unjudged', reason, evidence: [], durationMs: 0, finishedAt: '' },
    ],
    failOnSeverity: 'critical',
  });
  const row = matrix.rows.find((r) => r.id === id);
  return `${row?.status}\n${renderConsole(matrix)}\n${renderMarkdown(matrix)}`;
}

describe('every not-applicable path has a reason the report prints, or the control is not judged', () => {
  test.each(PROVIDERS)(
    'provider %s: each control it does not own is judged by an equivalent, by design, or BLOCKED',
    (_, provider) => {
      for (const other of provider.notOwnedControls()) {
        const control = getControl(other.id);
        expect(control.providerOwned, `${other.id} is not provider-owned in the catalogue`).toBe(true);
        if (other.equivalent) continue;
        const verdict = notApplicableVerdict(control, other.situation, other.reason);
        const report = printed(other.id, verdict.kind, verdict.reason);
        if (verdict.kind === 'not-applicable') {
          const why = control.notApplicableWhen?.[other.situation as Situation] ?? '';
          expect(why, `${other.id}: the catalogue's reason`).not.toBe('');
          expect(report, `${other.id}: SKIP with the catalogue's reason printed`).toMatch(/^SKIP/);
          expect(report).toContain(why);
        } else {
          expect(report, `${other.id}: BLOCKED (not judged) when required`).toMatch(/^BLOCKED/);
          expect(report).toContain('not judged:');
        }
      }
    },
  );

  test('what each provider leaves not judged (the table of the closing note)', () => {
    const table = Object.fromEntries(
      PROVIDERS.map(([name, provider]) => [
        name,
        provider.notOwnedControls().map((other) => {
          if (other.equivalent) return `${other.id}:equivalent`;
          return `${other.id}:${notApplicableVerdict(getControl(other.id), other.situation, '').kind}`;
        }),
      ]),
    );
    const hostPrep = ['HOST-01', 'HOST-02', 'HOST-03', 'HOST-04', 'HOST-05', 'HOST-06', 'HOST-07', 'HOST-08'];
    const hardening = ['CLUSTER-05', 'CLUSTER-06', 'CLUSTER-07', 'CLUSTER-08', 'CLUSTER-09', 'CLUSTER-10'];
    expect(table).toEqual({
      local: [],
      minikube: [...hardening, 'SPIRE-07'].map((id) => `${id}:unjudged`),
      'existing, kubeconfig only': [
        ...hostPrep.map((id) => `${id}:not-applicable`),
        'CLUSTER-01:not-applicable',
        'CLUSTER-02:equivalent',
        ...hardening.map((id) => `${id}:unjudged`),
        'CNI-01:equivalent',
        'SPIRE-07:unjudged',
      ],
      'existing, with kubelet CA and token': [
        ...hostPrep.map((id) => `${id}:not-applicable`),
        'CLUSTER-01:not-applicable',
        'CLUSTER-02:equivalent',
        ...hardening.map((id) => `${id}:unjudged`),
        'CNI-01:equivalent',
      ],
    });
  });

  test('every notApplicable() call in the suites names, as a literal, a situation the catalogue lists for its control', () => {
    const calls = bodyCalls();
    expect(calls.length, 'the scan finds the calls (RES-01, RES-03, RES-04 at least)').toBeGreaterThanOrEqual(3);
    for (const { file, id, situation } of calls) {
      expect(situation, `${file} ${id}: notApplicable() must name its situation as a string literal`).toBeDefined();
      const why = getControl(id).notApplicableWhen?.[situation as Situation];
      expect(why, `${file} ${id}: lib/controls.ts must list "${situation}" in its notApplicableWhen`).toBeDefined();
      const verdict = notApplicableVerdict(getControl(id), situation as Situation, 'seen');
      expect(verdict.kind).toBe('not-applicable');
      expect(printed(id, verdict.kind, verdict.reason)).toContain(why as string);
    }
  });

  test('a situation the catalogue does not list for the control, or none, leaves it not judged', () => {
    const res05 = getControl('RES-05');
    expect(notApplicableVerdict(res05, 'spire-not-ours', 'x').kind).toBe('unjudged');
    expect(notApplicableVerdict(getControl('CLUSTER-05'), undefined, 'x').kind).toBe('unjudged');
    expect(
      printed('CLUSTER-05', 'unjudged', notApplicableVerdict(getControl('CLUSTER-05'), undefined, 'x').reason),
    ).toMatch(/^BLOCKED/);
  });

  test('every situation a control lists is one the harness can meet (a provider or a suite names it)', () => {
    const named = new Set<string>([
      ...PROVIDERS.flatMap(([, provider]) => provider.notOwnedControls().flatMap((other) => other.situation ?? [])),
      ...bodyCalls().flatMap((call) => call.situation ?? []),
    ]);
    for (const control of CONTROLS)
      for (const situation of Object.keys(control.notApplicableWhen ?? {})) {
        expect(Object.keys(SITUATIONS)).toContain(situation);
        expect(named.has(situation), `${control.id} lists "${situation}", which nothing names`).toBe(true);
      }
  });
});
