// Phase selection (`phases`, `until`): which controls a run executes. The selected phases run whole; of the phases
// before them, only the controls they depend on (the controls they require, and those that provide the handles they
// need, transitively) run too, and the selection names them — so a selection never blocks itself and costs no more
// than what it needs. Every other control is "not selected". Pure: the vitest config (which suite files to load),
// the harness (which controls to skip) and the report (why) share this one rule.
import { phaseNamed, type SuiteConfig } from './config.ts';
import { CONTROLS, type Control, getControl, PHASES, type PhaseKey, providerOf } from './controls.ts';

export interface PhaseSelection {
  /** Every control when nothing was selected. */
  all: boolean;
  /** The controls the run executes. */
  controls: ReadonlySet<string>;
  /** The phases with at least one of them, in order: the suite files to load. */
  phases: PhaseKey[];
  /** The selection in words, for the report. */
  description: string;
}

const ORDERED = (Object.keys(PHASES) as PhaseKey[]).sort((a, b) => PHASES[a].order.localeCompare(PHASES[b].order));

/** The controls a control depends on: those it requires, and those that provide the handles it needs. */
function dependencies(control: Control): string[] {
  const provided = (control.needs ?? []).flatMap((handle) => providerOf(handle)?.id ?? []);
  return [...control.requires, ...provided];
}

export function phaseSelection(config: Pick<SuiteConfig, 'phases' | 'until'>): PhaseSelection {
  const named = config.phases.map((name) => phaseNamed(name)).filter((key): key is PhaseKey => key !== undefined);
  const until = config.until === undefined ? undefined : phaseNamed(config.until);
  if (named.length === 0 && until === undefined)
    return {
      all: true,
      controls: new Set(CONTROLS.map((c) => c.id)),
      phases: [...ORDERED],
      description: 'every phase',
    };
  const last = until ? PHASES[until].order : undefined;
  const chosen = (named.length > 0 ? ORDERED.filter((key) => named.includes(key)) : ORDERED).filter(
    (key) => last === undefined || PHASES[key].order <= last,
  );
  const selected = new Set(CONTROLS.filter((c) => chosen.includes(c.phase)).map((c) => c.id));
  const queue = [...selected];
  const added: string[] = [];
  while (queue.length > 0) {
    for (const dependency of dependencies(getControl(queue.shift() as string))) {
      if (selected.has(dependency)) continue;
      selected.add(dependency);
      added.push(dependency);
      queue.push(dependency);
    }
  }
  const phases = ORDERED.filter((key) => CONTROLS.some((c) => c.phase === key && selected.has(c.id)));
  const orders = (keys: PhaseKey[]) => keys.map((key) => PHASES[key].order).join(', ');
  const asked = [...(named.length > 0 ? [`phases ${orders(chosen)}`] : []), ...(until ? [`until ${last}`] : [])];
  const inOrder = CONTROLS.filter((c) => added.includes(c.id)).map((c) => c.id);
  const description =
    `${asked.join(', ')}: phases ${orders(chosen)}` +
    `${inOrder.length > 0 ? `, and the controls they depend on (${inOrder.join(', ')})` : ''}`;
  return { all: false, controls: selected, phases, description };
}

/** Why a control left out by the selection is not judged, or undefined when it runs. */
export function notSelectedReason(selection: PhaseSelection, control: Control): string | undefined {
  if (selection.controls.has(control.id)) return undefined;
  return `not selected: the run's phase selection is ${selection.description}`;
}
