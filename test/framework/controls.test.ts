import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { SEVERITY_LEVELS } from '../../lib/config.ts';
import { CONTROLS, type Control, getControl, HANDLES, type HandleName, PHASES } from '../../lib/controls.ts';

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

// The catalogue is a checked registry: catalogue and suites stay one to one, and the handles one control hands to
// another are declared, provided once, and read only through `need`.
const SUITES_DIR = fileURLToPath(new URL('../../suites/', import.meta.url));
const suiteFiles = readdirSync(SUITES_DIR).filter((file) => file.endsWith('.test.ts'));
/** Every `control('ID', …)` (or a wrapper such as `hostControl('ID', …)`) in the suites: id → files. */
function implementations(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of suiteFiles) {
    const text = readFileSync(join(SUITES_DIR, file), 'utf8');
    for (const match of text.matchAll(/\b\w*[cC]ontrol\(\s*'([A-Z][A-Z0-9]*-\d+)'/g)) {
      const id = match[1] as string;
      found.set(id, [...(found.get(id) ?? []), file]);
    }
  }
  return found;
}

describe('catalogue registry', () => {
  test('every catalogue control is implemented exactly once, in the suite file of its phase', () => {
    const found = implementations();
    const problems: string[] = [];
    for (const control of CONTROLS) {
      const files = found.get(control.id) ?? [];
      const prefix = `${PHASES[control.phase].order}-`;
      if (files.length !== 1) problems.push(`${control.id} is implemented ${files.length} times (${files.join(', ')})`);
      else if (!files[0]?.startsWith(prefix))
        problems.push(`${control.id} (phase ${control.phase}) is in ${files[0]}, not in suites/${prefix}*.test.ts`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  test('no suite calls a control the catalogue lacks', () => {
    const unknown = [...implementations().keys()].filter((id) => !CONTROLS.some((control) => control.id === id));
    expect(unknown, `suites call ids that lib/controls.ts lacks: ${unknown.join(', ')}`).toEqual([]);
  });

  test('every handle is provided by exactly one control, which runs before every control that needs it', () => {
    const position = new Map(CONTROLS.map((control, index) => [control.id, index]));
    const problems: string[] = [];
    for (const handle of HANDLES) {
      const providers = CONTROLS.filter((control) => control.provides?.includes(handle));
      if (providers.length !== 1) {
        problems.push(`"${handle}" is provided by ${providers.length} controls (${providers.map((c) => c.id)})`);
        continue;
      }
      const provider = providers[0] as Control;
      for (const reader of CONTROLS.filter((control) => control.needs?.includes(handle))) {
        if ((position.get(reader.id) ?? 0) <= (position.get(provider.id) ?? 0))
          problems.push(`${reader.id} needs "${handle}" but its provider ${provider.id} runs later`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  test('suites read and write handles only through need/provide (no run.shared.<handle>, no casts)', () => {
    const problems: string[] = [];
    for (const file of suiteFiles) {
      const text = readFileSync(join(SUITES_DIR, file), 'utf8');
      for (const handle of HANDLES) {
        if (new RegExp(`run\\.shared\\.${handle}\\b`).test(text)) problems.push(`${file} touches run.shared.${handle}`);
      }
      // need/provide of a handle the control does not declare would throw at run time; catch it here already.
      for (const match of text.matchAll(
        /control\(\s*'([A-Z][A-Z0-9]*-\d+)'[\s\S]*?(?=\ncontrol\(|\nhostControl\(|$)/g,
      )) {
        const control = getControl(match[1] as string);
        const body = match[0];
        for (const use of body.matchAll(/\b(need|provide)\('(\w+)'/g)) {
          const [, verb, handle] = use as unknown as [string, 'need' | 'provide', string];
          const declared = verb === 'need' ? control.needs : control.provides;
          if (!declared?.includes(handle as HandleName))
            problems.push(`${control.id} calls ${verb}('${handle}') but lib/controls.ts does not declare it`);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  test('only host preparation, cluster creation and the CNI install may be owned by the provider', () => {
    // Besides them, SPIRE-07 (kubelet verification): the CA that signs a kubelet's serving certificate belongs to the
    // cluster, which an existing provider may not name.
    const owned = CONTROLS.filter((control) => control.providerOwned && control.id !== 'SPIRE-07').map((c) => c.phase);
    expect(new Set(owned)).toEqual(new Set(['host', 'cluster', 'cni']));
  });
});
