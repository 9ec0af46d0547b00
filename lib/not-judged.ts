// When a control may end without being judged, and with which reason — the verdict policy, pure so the harness
// (fixtures/control.ts) and its tests share it. Four reasons are accepted: a provider's equivalent check judged the
// property instead (then the control is judged: PASS or FAIL by that check), the user waived it (`waivers`), the
// catalogue marks it not applicable by design in a named situation (lib/controls.ts SITUATIONS, `notApplicableWhen`),
// or the user's phase selection left it out. Anything else that did not judge is `unjudged`: BLOCKED when required.
import type { SuiteConfig, Waiver } from './config.ts';
import { type Control, SITUATIONS, type Situation } from './controls.ts';
import type { SkipKind } from './run-files.ts';
import { notSelectedReason, type PhaseSelection } from './selection.ts';

export interface NotJudged {
  kind: Extract<SkipKind, 'not-applicable' | 'waived' | 'not-selected' | 'unjudged'>;
  reason: string;
}

/** The user's waiver of this control, if any. */
export function waiverOf(config: Pick<SuiteConfig, 'waivers'>, id: string): Waiver | undefined {
  return config.waivers.find((waiver) => waiver.id === id);
}

/** Before a control runs: waived, or left out by the phase selection (the waiver wins: it is the user's word). */
export function skippedBeforeRun(
  config: Pick<SuiteConfig, 'waivers'>,
  selection: PhaseSelection,
  control: Control,
): NotJudged | undefined {
  const waiver = waiverOf(config, control.id);
  if (waiver) return { kind: 'waived', reason: `waived (${waiver.source}): ${waiver.reason}` };
  const notSelected = notSelectedReason(selection, control);
  if (notSelected) return { kind: 'not-selected', reason: notSelected };
  return undefined;
}

/**
 * A provider that does not judge the control itself, or a control body, says it does not apply here: not applicable
 * only when the catalogue lists that situation for the control; otherwise not judged (BLOCKED when required).
 */
export function notApplicableVerdict(control: Control, situation: Situation | undefined, detail: string): NotJudged {
  const byDesign = situation ? control.notApplicableWhen?.[situation] : undefined;
  if (situation && byDesign)
    return {
      kind: 'not-applicable',
      reason: `not applicable by design (${SITUATIONS[situation]}): ${byDesign} — ${detail}`,
    };
  const missing = situation
    ? `the catalogue does not list the situation "${situation}" for ${control.id} (${SITUATIONS[situation]}): it must be judged there too`
    : 'no equivalent check ran, and the catalogue names no situation in which it is not applicable';
  return {
    kind: 'unjudged',
    reason:
      `not judged: ${detail}; ${missing}. The run cannot count it as passed: fix what prevents judging it, or waive ` +
      `it with a reason (waivers / SPIRE_VALIDATION_WAIVERS="${control.id}=why")`,
  };
}
