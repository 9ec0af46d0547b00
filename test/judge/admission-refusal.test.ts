// DEPLOY-05 names the layer that refused each probe pod from the apiserver's refusal message.
import { describe, expect, test } from 'vitest';
import { refusalLayer } from '../../lib/admission-refusal.ts';

describe('refusalLayer', () => {
  test('the apiserver flag, a policy, Pod Security and a webhook are told apart by their messages', () => {
    expect(
      refusalLayer(
        'Pod "deploy-05-privileged" is invalid: spec.containers[0].securityContext.privileged: Forbidden: ' +
          'disallowed by cluster policy',
      ),
    ).toEqual({ kind: 'allow-privileged', text: 'apiserver --allow-privileged=false' });
    expect(
      refusalLayer(
        `pods "deploy-05-cap-sys-admin" is forbidden: ValidatingAdmissionPolicy 'spire-validation-workload-restricted' ` +
          `with binding 'spire-validation-workload-restricted' denied request: capabilities may only drop`,
      ),
    ).toMatchObject({ kind: 'policy', name: 'spire-validation-workload-restricted' });
    expect(
      refusalLayer(
        'pods "deploy-05-host-root" is forbidden: violates PodSecurity "restricted:latest": hostPath volumes ' +
          '(volume "host-root")',
      ),
    ).toEqual({ kind: 'pod-security', level: 'restricted:latest', text: 'Pod Security (restricted:latest)' });
    expect(
      refusalLayer('admission webhook "validate.kyverno.svc-fail" denied the request: policy disallow-privileged'),
    ).toMatchObject({ kind: 'webhook', name: 'validate.kyverno.svc-fail' });
  });

  test('a pod refused for being invalid names no least-privilege layer', () => {
    expect(
      refusalLayer('Pod "deploy-05-host-root" is invalid: spec.volumes[3].name: Duplicate value: "host-root"').kind,
    ).toBe('unknown');
    expect(refusalLayer('').kind).toBe('unknown');
  });
});
