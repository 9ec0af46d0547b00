// Whether a control can be judged, given what the run has recorded so far: pure, so the harness (fixtures/control.ts)
// and its tests share one rule. A prerequisite that FAILed, was itself blocked, or never ran blocks the control (naming
// the root cause, not the chain); one that only WARNed, or that was not judged for a reason of its own (not applicable
// by design, waived, or unjudged — that one is BLOCKED itself), does not. A handle the control needs that no control provided blocks it too: it truly cannot run.
import { type Control, getControl, type HandleName, providerOf } from './controls.ts';
import type { RecordedOutcome, SkipKind } from './run-files.ts';

const DOES_NOT_BLOCK: readonly SkipKind[] = ['not-applicable', 'waived', 'unjudged'];

export interface Blocked {
  reason: string;
  /** The control whose failure is the root cause. */
  rootCause: string;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.slice(0, 200) ?? '';
}

function describe(outcome: RecordedOutcome | undefined): string {
  if (!outcome) return 'did not run';
  return `${outcome.status}${outcome.reason ? `: ${firstLine(outcome.reason)}` : ''}`;
}

/** The root cause an already blocked control carries, so a chain of blocked controls names it once. */
function inherited(outcome: RecordedOutcome | undefined): Blocked | undefined {
  if (outcome?.status === 'skipped' && outcome.skip === 'blocked' && outcome.reason && outcome.rootCause)
    return { reason: outcome.reason, rootCause: outcome.rootCause };
  return undefined;
}

export function blockedBy(
  control: Control,
  outcomes: ReadonlyMap<string, RecordedOutcome>,
  provided: (handle: HandleName) => boolean,
): Blocked | undefined {
  for (const required of control.requires) {
    const outcome = outcomes.get(required);
    if (outcome?.status === 'passed' || outcome?.status === 'warned') continue;
    // Not judged for a reason of its own (by design, waived, or not judged here): the dependant is still meaningful.
    if (outcome?.status === 'skipped' && DOES_NOT_BLOCK.includes(outcome.skip ?? 'not-run')) continue;
    const chain = inherited(outcome);
    if (chain) return chain;
    return {
      reason: `blocked by ${required} (${getControl(required).title}) — ${describe(outcome)}`,
      rootCause: required,
    };
  }
  for (const handle of control.needs ?? []) {
    if (provided(handle)) continue;
    const provider = providerOf(handle);
    const outcome = provider ? outcomes.get(provider.id) : undefined;
    const chain = inherited(outcome);
    if (chain) return chain;
    return {
      reason:
        `blocked by ${provider?.id ?? '(no control)'}: it did not provide "${handle}", which this control needs — ` +
        describe(outcome),
      rootCause: provider?.id ?? control.id,
    };
  }
  return undefined;
}
