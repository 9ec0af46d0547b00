// Phase selection (`phases`, `until`): which phases a run executes. A selected phase brings the phases whose controls
// its controls require or take handles from (transitively), so a selection never blocks itself; the ones added are
// named. Pure: the vitest config (which suite files to load), the harness (which controls to skip as not selected)
// and the report (why) share this one rule.
import { phaseNamed, type SuiteConfig } from './config.ts';
import { CONTROLS, type Control, getControl, PHASES, type PhaseKey, providerOf } from './controls.ts';

export interface PhaseSelection {
  /** Every phase when nothing was selected. */
  all: boolean;
  /** The phases the run executes, in order. */
  phases: PhaseKey[];
  /** Of those, the ones added because a selected phase depends on them. */
  added: PhaseKey[];
  /** The selection in words, for the report ("phases 60, 70 (until 70; added for their prerequisites: 00, 10)"). */
  description: string;
}

const ORDERED = (Object.keys(PHASES) as PhaseKey[]).sort((a, b) => PHASES[a].order.localeCompare(PHASES[b].order));

/** The phases a control depends on: those of the controls it requires and of the controls that provide its needs. */
function dependencies(control: Control): PhaseKey[] {
  const required = control.requires.map((id) => getControl(id).phase);
  const provided = (control.needs ?? []).flatMap((handle) => providerOf(handle)?.phase ?? []);
  return [...required, ...provided];
}

export function phaseSelection(config: Pick<SuiteConfig, 'phases' | 'until'>): PhaseSelection {
  const named = config.phases.map((name) => phaseNamed(name)).filter((key): key is PhaseKey => key !== undefined);
  const until = config.until === undefined ? undefined : phaseNamed(config.until);
  if (named.length === 0 && until === undefined)
    return { all: true, phases: [...ORDERED], added: [], description: 'every phase' };
  const last = until ? PHASES[until].order : undefined;
  const chosen = new Set<PhaseKey>(
    (named.length > 0 ? named : ORDERED).filter((key) => last === undefined || PHASES[key].order <= last),
  );
  const wanted = new Set(chosen);
  const queue = [...wanted];
  while (queue.length > 0) {
    const phase = queue.shift() as PhaseKey;
    for (const control of CONTROLS.filter((c) => c.phase === phase)) {
      for (const dependency of dependencies(control)) {
        if (wanted.has(dependency)) continue;
        wanted.add(dependency);
        queue.push(dependency);
      }
    }
  }
  const phases = ORDERED.filter((key) => wanted.has(key));
  const added = phases.filter((key) => !chosen.has(key));
  const orders = (keys: PhaseKey[]) => keys.map((key) => PHASES[key].order).join(', ');
  const asked = [
    ...(named.length > 0 ? [`phases ${orders(ORDERED.filter((key) => named.includes(key)))}`] : []),
    ...(until ? [`until ${PHASES[until].order}`] : []),
  ].join(', ');
  const description =
    `phases ${orders(phases)} (selected: ${asked}` +
    `${added.length > 0 ? `; added for their prerequisites: ${orders(added)}` : ''})`;
  return { all: false, phases, added, description };
}

/** Why a control of a phase left out is not judged, or undefined when its phase runs. */
export function notSelectedReason(selection: PhaseSelection, control: Control): string | undefined {
  if (selection.phases.includes(control.phase)) return undefined;
  return `not selected: the run's phase selection is ${selection.description}`;
}
