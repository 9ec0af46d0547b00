import { describe, expect, test } from 'vitest';
import { ipv4InCidr, type PodWiring, parseSubnetEnv, podWiringProblems, staleFiles } from '../../lib/flannel-wiring.ts';

const STARTED = Date.parse('2026-12-01T15:00:00Z');
const SUBNET_ENV =
  'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.0.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const SANDBOX = '4f1c0ffee';
const wired: PodWiring = {
  podIp: '10.244.0.7',
  podNetwork: '10.244.0.0/16',
  subnetEnv: SUBNET_ENV,
  allocation: { path: '/var/lib/cni/networks/cbr0/10.244.0.7', content: `${SANDBOX}\r\neth0` },
  flannelSandboxes: ['0ther', SANDBOX],
  flannelStateDir: '/var/lib/cni/flannel',
};

describe('staleFiles: host files count only when written after this cluster started', () => {
  test('a conflist left by an earlier cluster is named, a fresh subnet.env is not', () => {
    expect(
      staleFiles(
        [
          { path: '/etc/cni/net.d/10-flannel.conflist', modifiedMs: STARTED - 3_600_000 },
          { path: '/run/flannel/subnet.env', modifiedMs: STARTED + 20_000 },
        ],
        STARTED,
        'kube-apiserver pid 1 start',
      ),
    ).toEqual([
      '/etc/cni/net.d/10-flannel.conflist was last written at 2026-12-01T14:00:00.000Z, before this cluster started at ' +
        '2026-12-01T15:00:00.000Z (kube-apiserver pid 1 start): it is left over from an earlier cluster',
    ]);
  });
});

describe('podWiringProblems: the pod is wired by the current Flannel', () => {
  test('IP in the leased subnet, allocated to a sandbox the flannel plugin wired: no problem', () => {
    expect(parseSubnetEnv(SUBNET_ENV).FLANNEL_SUBNET).toBe('10.244.0.1/24');
    expect(podWiringProblems(wired)).toEqual([]);
  });

  test('an IP of another lease, no allocation, a sandbox flannel never wired: each named', () => {
    expect(podWiringProblems({ ...wired, podIp: '10.244.1.7', allocation: undefined })).toEqual([
      "the pod IP 10.244.1.7 is outside this node's Flannel subnet 10.244.0.1/24 (subnet.env)",
      "no IPAM allocation file names the pod IP 10.244.1.7: the IP was not allocated on this node's pod network",
    ]);
    expect(podWiringProblems({ ...wired, flannelSandboxes: ['0ther'] })).toEqual([
      `the pod IP 10.244.0.7 was allocated to sandbox ${SANDBOX} (/var/lib/cni/networks/cbr0/10.244.0.7), but the ` +
        'flannel plugin keeps no state for it in /var/lib/cni/flannel (it has 1 sandbox(es)): the pod was not wired by Flannel',
    ]);
    expect(podWiringProblems({ ...wired, podIp: '10.88.0.7', subnetEnv: '' })).toEqual([
      'the pod IP 10.88.0.7 is outside the pod network 10.244.0.0/16',
      'subnet.env has no FLANNEL_SUBNET: flanneld holds no lease',
    ]);
  });

  test('ipv4InCidr', () => {
    expect(ipv4InCidr('10.244.0.255', '10.244.0.1/24')).toBe(true);
    expect(ipv4InCidr('10.244.1.0', '10.244.0.1/24')).toBe(false);
    expect(ipv4InCidr('10.245.0.1', '10.244.0.0/16')).toBe(false);
    expect(ipv4InCidr('1.2.3.4', '0.0.0.0/0')).toBe(true);
    for (const [ip, cidr] of [
      ['10.244.0.300', '10.244.0.0/16'],
      ['10.244.0.1', '10.244.0.0'],
      ['fd00::1', '10.244.0.0/16'],
    ])
      expect(ipv4InCidr(ip as string, cidr as string), `${ip} in ${cidr}`).toBe(false);
  });
});
