// CNI-01 and DEPLOY-02 judge a server-side apply from the objects read back from the API: an object that is not
// there, or one neither applied by the suite's field manager since this apply nor at the resourceVersion the apply
// answered, fails; an API that answers nothing fails.
import { describe, expect, test } from 'vitest';
import { type AppliedObject, appliedObjectLine, applyProblems, type ObjectMeta } from '../../lib/applied-objects.ts';

const MANAGER = 'spire-k8s-validation';
const APPLIED_AT = Date.parse('2026-12-04T18:30:00.400Z');
const DS = { kind: 'DaemonSet', namespace: 'kube-flannel', name: 'kube-flannel-ds' };
const meta = (overrides: Partial<ObjectMeta> = {}): ObjectMeta => ({
  ...DS,
  resourceVersion: '1200',
  managedFields: [
    { manager: MANAGER, operation: 'Apply', time: new Date('2026-12-04T18:30:00Z') },
    { manager: 'kube-controller-manager', operation: 'Update', time: '2026-12-04T18:30:01Z' },
  ],
  ...overrides,
});
/** `response` null: the API answered the apply with nothing. */
const object = (readBack: ObjectMeta | undefined, response: ObjectMeta | null = meta()): AppliedObject => ({
  ref: DS,
  appliedAtMs: APPLIED_AT,
  response: response ?? undefined,
  readBack,
});
const stale = [{ manager: MANAGER, operation: 'Apply', time: '2026-12-01T09:00:00Z' }];

describe('applyProblems', () => {
  test('applied now by the field manager (same second as the apply, managedFields resolution): no problem', () => {
    expect(applyProblems([object(meta())], [DS], MANAGER)).toEqual([]);
  });

  test('an apply that changed nothing: an older Apply, but the resourceVersion the apply answered (or later)', () => {
    const unchanged = meta({ managedFields: stale });
    expect(applyProblems([object(unchanged, unchanged)], [DS], MANAGER)).toEqual([]);
    // a controller wrote the status after the apply's answer
    expect(applyProblems([object(meta({ managedFields: stale, resourceVersion: '1300' }))], [DS], MANAGER)).toEqual([]);
  });

  test('an older Apply at an older resourceVersion than the answer, or with no answer at all: not this apply', () => {
    const old = meta({ managedFields: stale, resourceVersion: '900' });
    expect(applyProblems([object(old)], [DS], MANAGER)).toEqual([
      "DaemonSet kube-flannel/kube-flannel-ds: not shown to be this apply's: its spire-k8s-validation Apply is of " +
        '2026-12-01T09:00:00.000Z, before the apply at 2026-12-04T18:30:00.400Z, and it is not at the ' +
        'resourceVersion the apply answered (1200; the API has 900)',
    ]);
    expect(applyProblems([object(meta({ managedFields: stale }), null)], [DS], MANAGER)).toHaveLength(1);
  });

  test('a manifest with no field beyond its name leaves no managedFields entry: the answered resourceVersion counts', () => {
    const serviceAccount = meta({ managedFields: [] });
    expect(applyProblems([object(serviceAccount, serviceAccount)], [DS], MANAGER)).toEqual([]);
  });

  test('not there after the apply, or there but neither applied by the suite nor answered: fails, naming managers', () => {
    expect(applyProblems([object(undefined)], [DS], MANAGER)).toEqual([
      'DaemonSet kube-flannel/kube-flannel-ds: not found in the API after the apply',
    ]);
    const kubectl = meta({ managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }] });
    expect(applyProblems([object(kubectl, null)], [DS], MANAGER)).toEqual([
      "DaemonSet kube-flannel/kube-flannel-ds: not shown to be this apply's: no Apply of field manager " +
        'spire-k8s-validation (managers: kubectl-client-side-apply/Update), and it is not at the resourceVersion ' +
        'the apply answered (no answer; the API has 1200)',
    ]);
  });

  test('a fake API that returns nothing fails; so does an apply without the expected object', () => {
    expect(applyProblems([], [DS], MANAGER)).toEqual(['the apply returned no object at all']);
    expect(applyProblems([object(undefined, null)], [DS], MANAGER)).toHaveLength(1);
    const other = { kind: 'Deployment', namespace: 'default', name: 'mtls-app' };
    expect(applyProblems([object(meta())], [other], MANAGER)).toEqual([
      'Deployment default/mtls-app: not in the manifest applied',
    ]);
  });

  test('the API answering with another object than the one asked for fails', () => {
    expect(applyProblems([object(meta({ name: 'something-else' }))], [DS], MANAGER)).toEqual([
      'DaemonSet kube-flannel/kube-flannel-ds: the API returned DaemonSet kube-flannel/something-else for it',
    ]);
  });

  test('the evidence line says what the API holds', () => {
    expect(appliedObjectLine(object(meta()), MANAGER)).toBe(
      'DaemonSet kube-flannel/kube-flannel-ds resourceVersion=1200 (apply answered 1200) spire-k8s-validation: ' +
        'Apply 2026-12-04T18:30:00.000Z',
    );
    expect(appliedObjectLine(object(undefined), MANAGER)).toBe(
      'DaemonSet kube-flannel/kube-flannel-ds: NOT FOUND after the apply',
    );
  });
});
