import { describe, expect, test } from 'vitest';
import { SEVERITY_LEVELS } from '../../lib/config.ts';
import { CONTROLS, getControl, PHASES } from '../../lib/controls.ts';

describe('checklist catalogue', () => {
  test('ids are unique', () => {
    const ids = CONTROLS.map((control) => control.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every control has a title, a known phase and severity, a source and a remediation', () => {
    for (const control of CONTROLS) {
      expect(control.title.length, control.id).toBeGreaterThan(5);
      expect(Object.keys(PHASES), control.id).toContain(control.phase);
      expect(SEVERITY_LEVELS, control.id).toContain(control.severity);
      expect(control.source.length, control.id).toBeGreaterThan(3);
      expect(control.remediation.length, control.id).toBeGreaterThan(20);
    }
  });

  test('prerequisites exist and come earlier in the run (so a blocked control can name what blocked it)', () => {
    const position = new Map(CONTROLS.map((control, index) => [control.id, index]));
    for (const control of CONTROLS) {
      for (const required of control.requires) {
        expect(position.has(required), `${control.id} requires unknown ${required}`).toBe(true);
        const requiredPhase = PHASES[getControl(required).phase].order;
        const ownPhase = PHASES[control.phase].order;
        const earlier =
          requiredPhase < ownPhase ||
          (requiredPhase === ownPhase && (position.get(required) ?? 0) < (position.get(control.id) ?? 0));
        expect(earlier, `${control.id} requires ${required}, which runs later`).toBe(true);
      }
    }
  });

  test("the seed's Complete Testing Checklist items that this phase set covers are in the catalogue", () => {
    const titles = CONTROLS.map((control) => control.title);
    for (const item of [
      'SPIRE Server is running',
      'SPIRE Agent is running and socket exists',
      'SPIRE registration exists for k8s-workload',
      "Both client and server verified each other's identity",
    ]) {
      expect(titles).toContain(item);
    }
  });

  test('an unknown id is a programming error with a pointer to the catalogue', () => {
    expect(() => getControl('NOPE-99')).toThrow(/lib\/controls\.ts/);
  });
});
