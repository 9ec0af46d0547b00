// Phase selection: the selected phases run whole, of the earlier ones only the controls they depend on.
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../lib/config.ts';
import { CONTROLS, controlsOfPhase, getControl, providerOf } from '../../lib/controls.ts';
import { notSelectedReason, phaseSelection } from '../../lib/selection.ts';

describe('phaseSelection', () => {
  test('nothing selected: every control, every phase', () => {
    const selection = phaseSelection({ phases: [], until: undefined });
    expect(selection.all).toBe(true);
    expect(selection.controls.size).toBe(CONTROLS.length);
  });

  test('until 20: a prefix, every control of phases 00 to 20 and nothing after', () => {
    const selection = phaseSelection({ phases: [], until: '20' });
    expect(selection.phases).toEqual(['provision', 'host', 'cluster', 'cni', 'spire']);
    const prefix = new Set<string>(['provision', 'host', 'cluster', 'cni', 'spire']);
    for (const control of CONTROLS)
      expect(selection.controls.has(control.id), control.id).toBe(prefix.has(control.phase));
  });

  test('phases [pod]: phase 70 whole, and of the earlier phases exactly the controls it depends on', () => {
    const selection = phaseSelection({ phases: ['pod'], until: undefined });
    for (const control of controlsOfPhase('pod')) expect(selection.controls.has(control.id)).toBe(true);
    // Closed: every selected control's prerequisites and handle providers are selected.
    for (const id of selection.controls) {
      const control = getControl(id);
      for (const required of control.requires)
        expect(selection.controls.has(required), `${id} requires ${required}`).toBe(true);
      for (const handle of control.needs ?? [])
        expect(selection.controls.has(providerOf(handle)?.id ?? ''), `${id} needs ${handle}`).toBe(true);
    }
    // The image is built (DOCKER-01), but the Docker demonstration around it does not run.
    expect(selection.controls.has('DOCKER-01')).toBe(true);
    expect(selection.controls.has('DOCKER-05')).toBe(false);
    expect(selection.controls.has('MESH-01')).toBe(false);
    expect(selection.description).toMatch(
      /^phases 70: phases 70, and the controls they depend on \(PROV-02, .*DOCKER-01, IMAGE-01,/,
    );
    expect(notSelectedReason(selection, getControl('DOCKER-05'))).toContain(
      "not selected: the run's phase selection is phases 70",
    );
  });

  test('phases and until are validated at load, by order or key', () => {
    expect(loadConfig({ env: { SPIRE_VALIDATION_PHASES: '70,mesh', SPIRE_VALIDATION_UNTIL: '80' } })).toMatchObject({
      phases: ['70', 'mesh'],
      until: '80',
    });
    expect(() => loadConfig({ env: { SPIRE_VALIDATION_PHASES: '71' } })).toThrow(
      /phases\[0\]: must be a phase order or key/,
    );
    expect(() => loadConfig({ env: { SPIRE_VALIDATION_UNTIL: 'everything' } })).toThrow(
      /until: must be a phase order or key/,
    );
  });

  test('waivers: ID=reason pairs from the environment; unknown ids, empty reasons, duplicates refused', () => {
    const config = loadConfig({
      env: { SPIRE_VALIDATION_WAIVERS: 'CLUSTER-05=managed etcd; CLUSTER-06=managed apiserver' },
    });
    expect(config.waivers).toEqual([
      { id: 'CLUSTER-05', reason: 'managed etcd', source: 'environment SPIRE_VALIDATION_WAIVERS' },
      { id: 'CLUSTER-06', reason: 'managed apiserver', source: 'environment SPIRE_VALIDATION_WAIVERS' },
    ]);
    expect(() => loadConfig({ env: { SPIRE_VALIDATION_WAIVERS: 'NOPE-01=x' } })).toThrow(
      /waivers\[0\]\.id: must be a control id/,
    );
    expect(() => loadConfig({ env: { SPIRE_VALIDATION_WAIVERS: 'CLUSTER-05=' } })).toThrow(
      /waivers\[0\]\.reason: must say why/,
    );
    expect(() => loadConfig({ env: { SPIRE_VALIDATION_WAIVERS: 'CLUSTER-05=a;CLUSTER-05=b' } })).toThrow(
      /waived more than once/,
    );
    expect(() => loadConfig({ env: { SPIRE_VALIDATION_WAIVERS: 'CLUSTER-05' } })).toThrow(/must be ID=reason/);
  });

  test('resilience.enabled=false is a waiver of each resilience control, naming the setting', () => {
    const config = loadConfig({ env: { SPIRE_VALIDATION_RESILIENCE: '0' } });
    expect(config.waivers.map((w) => w.id)).toEqual(controlsOfPhase('resilience').map((c) => c.id));
    expect(config.waivers[0]).toMatchObject({ source: 'setting resilience.enabled=false' });
  });
});
