// The agent configuration the suite writes for k8s attestation, read back by the judge of SPIRE-07: what the agent is
// given (secure port, CA, credential) is exactly what the judge finds, and each weakening is named.
import { describe, expect, test } from 'vitest';
import { agentConfig, type KubeletAccess } from '../../fixtures/spire.ts';
import { loadConfig } from '../../lib/config.ts';
import { k8sAttestorSettings, kubeletVerificationProblems } from '../../lib/kubelet-attestor.ts';

const verified: KubeletAccess = {
  nodeName: 'vm',
  securePort: 10250,
  caPath: '/pki/ca.crt',
  client: { certificatePath: '/pki/agent.crt', privateKeyPath: '/pki/agent.key' },
};

function rendered(kubelet?: KubeletAccess): string {
  return agentConfig(loadConfig({ env: {} }), '/data', '/bundle.pem', { kubelet, dockerDriver: 'cgroupfs' });
}

describe('k8s workload attestor: what the agent is given is what the judge reads', () => {
  test('the local provider: secure port, kubelet CA, client certificate, node name; no read-only port', () => {
    const settings = k8sAttestorSettings(rendered(verified));
    expect(settings).toEqual({
      kubelet_secure_port: '10250',
      kubelet_ca_path: '/pki/ca.crt',
      certificate_path: '/pki/agent.crt',
      private_key_path: '/pki/agent.key',
      node_name: 'vm',
      use_new_container_locator: 'false',
    });
    expect(kubeletVerificationProblems(settings)).toEqual([]);
  });

  test('no CA known (an existing cluster without cluster.kubeletCa): verification skipped, and the judge says so', () => {
    const settings = k8sAttestorSettings(rendered({ ...verified, caPath: undefined, client: { tokenPath: '/t' } }));
    expect(settings?.skip_kubelet_verification).toBe('true');
    expect(settings?.token_path).toBe('/t');
    expect(kubeletVerificationProblems(settings)).toEqual([
      "skip_kubelet_verification = true: the kubelet's serving certificate is not verified",
      'kubelet_ca_path is not set',
    ]);
  });

  test('no kubelet at all (docker attestation): no k8s block, which the judge names', () => {
    expect(k8sAttestorSettings(rendered())).toBeUndefined();
    expect(kubeletVerificationProblems(undefined)).toEqual(['the agent has no WorkloadAttestor "k8s" block']);
  });

  test("a user's agent on the read-only port, without a credential", () => {
    const text = `plugins {
  WorkloadAttestor "k8s" {
    plugin_data {
      kubelet_read_only_port = 10255   # the old way
      node_name = "n1"
    }
  }
  WorkloadAttestor "unix" { plugin_data {} }
}`;
    const settings = k8sAttestorSettings(text);
    expect(settings).toEqual({ kubelet_read_only_port: '10255', node_name: 'n1' });
    expect(kubeletVerificationProblems(settings)).toEqual([
      'it uses the unauthenticated read-only port (kubelet_read_only_port = 10255)',
      'kubelet_secure_port is not set, not 10250',
      'kubelet_ca_path is not set',
      'no client credential (certificate_path/private_key_path or token_path)',
    ]);
  });
});
