// Which layer of the apiserver refused a pod, told by its refusal message: the apiserver's own validation with
// --allow-privileged=false, a ValidatingAdmissionPolicy (named), Pod Security admission (its level), or an admission
// webhook (named). Anything else (an invalid pod spec, say) is no least-privilege layer at all.

export type RefusalLayer =
  | { kind: 'allow-privileged'; text: string }
  | { kind: 'policy'; name: string; text: string }
  | { kind: 'pod-security'; level: string; text: string }
  | { kind: 'webhook'; name: string; text: string }
  | { kind: 'unknown'; text: string };

/** The layer a refusal message names, and a phrase for it. */
export function refusalLayer(message: string): RefusalLayer {
  const policy = /ValidatingAdmissionPolicy '([^']+)'/.exec(message)?.[1];
  if (policy) return { kind: 'policy', name: policy, text: `ValidatingAdmissionPolicy ${policy}` };
  const podSecurity = /violates PodSecurity "([^"]+)"/.exec(message)?.[1];
  if (podSecurity) return { kind: 'pod-security', level: podSecurity, text: `Pod Security (${podSecurity})` };
  const webhook = /admission webhook "([^"]+)" denied the request/.exec(message)?.[1];
  if (webhook) return { kind: 'webhook', name: webhook, text: `admission webhook ${webhook}` };
  if (/privileged: Forbidden: disallowed by cluster policy/.test(message))
    return { kind: 'allow-privileged', text: 'apiserver --allow-privileged=false' };
  return { kind: 'unknown', text: 'no admission layer named (not a policy refusal)' };
}
