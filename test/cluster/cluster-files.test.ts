// The local cluster's generated files (PKI, kubeconfig, containerd/kubelet/kube-proxy configs, CNI conflist) and the
// host-trace parsers its cleanup relies on.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import {
  BRIDGE_NETWORK_NAME,
  bridgeConflist,
  kubeletConfiguration,
  kubeProxyConfiguration,
  renderContainerdConfig,
  renderKubeletConfig,
} from '../../fixtures/cluster/configs.ts';
import {
  chainRemovalScript,
  forwardRuleArgs,
  mountsUnder,
  nftTableIsEmpty,
  parseCapEff,
  parseDefaultRouteInterfaces,
  parseIpLinks,
  parseMountinfo,
  parseNftTables,
  parseShimCommand,
  primaryIpv4,
  shimSocketPath,
} from '../../fixtures/cluster/hostnet.ts';
import { writeKubeconfig } from '../../fixtures/cluster/kubeconfig.ts';
import { COMPONENTS, type LaunchContext } from '../../fixtures/cluster/local/components.ts';
import { localLayout, nodeNameFromHostname } from '../../fixtures/cluster/local/layout.ts';
import { COMPONENT_ORDER } from '../../fixtures/cluster/local/state.ts';
import { apiserverSans, generateClusterPki, pkiFiles, writeClusterPki } from '../../fixtures/cluster/pki.ts';
import { parseIptablesSave, splitRule } from '../../fixtures/iptables.ts';

describe('cluster PKI', async () => {
  const pki = await generateClusterPki({ nodeName: 'vm', nodeIp: '192.0.2.2', serviceIp: '10.96.0.1' });
  const ca = new X509Certificate(pki.ca.certPem);
  const cert = (pem: string) => new X509Certificate(pem);

  test('a CA that signed every certificate', () => {
    expect(ca.ca).toBe(true);
    for (const pair of [
      pki.apiserver,
      pki.admin,
      pki.controllerManager,
      pki.scheduler,
      pki.kubeletClient,
      pki.kubeletServing,
      pki.kubeProxy,
      pki.apiserverKubeletClient,
    ]) {
      const leaf = cert(pair.certPem);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.ca).toBe(false);
      expect(leaf.checkPrivateKey(createPrivateKey(pair.keyPem))).toBe(true);
    }
  });

  test('apiserver serving certificate: the in-cluster names, loopback, node IP and service IP', () => {
    const san = cert(pki.apiserver.certPem).subjectAltName ?? '';
    for (const dns of apiserverSans({ nodeName: 'vm', nodeIp: '192.0.2.2', serviceIp: '10.96.0.1' }).dns) {
      expect(san).toContain(`DNS:${dns}`);
    }
    expect(san).toContain('DNS:kubernetes.default.svc.cluster.local');
    for (const ip of ['127.0.0.1', '192.0.2.2', '10.96.0.1']) expect(san).toContain(`IP Address:${ip}`);
    expect(cert(pki.apiserver.certPem).checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
  });

  test('client identities the RBAC and Node authorizers expect', () => {
    expect(cert(pki.admin.certPem).subject).toBe('CN=kubernetes-admin\nO=system:masters');
    expect(cert(pki.kubeletClient.certPem).subject).toBe('CN=system:node:vm\nO=system:nodes');
    expect(cert(pki.controllerManager.certPem).subject).toBe('CN=system:kube-controller-manager');
    expect(cert(pki.scheduler.certPem).subject).toBe('CN=system:kube-scheduler');
    expect(cert(pki.kubeProxy.certPem).subject).toBe('CN=system:kube-proxy');
    expect(cert(pki.apiserverKubeletClient.certPem).subject).toBe('CN=kube-apiserver');
    expect(cert(pki.kubeletServing.certPem).subjectAltName).toContain('IP Address:192.0.2.2');
  });

  test('files: keys 0600, certificates 0644; the kubeconfig loads in @kubernetes/client-node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pki-'));
    const files = writeClusterPki(join(dir, 'pki'), pki);
    expect(statSync(files.admin.key).mode & 0o777).toBe(0o600);
    expect(statSync(files.admin.cert).mode & 0o777).toBe(0o644);
    expect(readFileSync(files.serviceAccount.publicKey, 'utf8')).toContain('BEGIN PUBLIC KEY');
    const file = writeKubeconfig(join(dir, 'admin.kubeconfig'), {
      clusterName: 'spire-k8s-validation',
      server: 'https://127.0.0.1:6443',
      caPem: pki.ca.certPem,
      user: 'kubernetes-admin',
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    expect(Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString()).toBe(pki.ca.certPem);
    expect(Buffer.from(kc.getCurrentUser()?.keyData ?? '', 'base64').toString()).toBe(pki.admin.keyPem);
  });
});

describe('node configuration files', () => {
  const layout = localLayout('/var/lib/x/cluster', '/run/x/cluster');

  test('containerd: own root, state, socket and runc root; CRI with cgroupfs, pause image, CNI dirs', () => {
    const toml = renderContainerdConfig({
      root: layout.containerdRoot,
      state: layout.containerdState,
      socket: layout.containerdSocket,
      runcRoot: layout.runcRoot,
      cniBinDir: '/opt/cni/bin',
      cniConfDir: '/etc/cni/net.d',
      sandboxImage: 'registry.k8s.io/pause:3.6',
      restrictOomScoreAdj: true,
      cgroupDriver: 'cgroupfs',
    });
    expect(toml).toContain('root = "/var/lib/x/cluster/containerd"');
    expect(toml).toContain('state = "/run/x/cluster/containerd"');
    expect(toml).toContain('address = "/run/x/cluster/containerd.sock"');
    expect(toml).toContain('Root = "/run/x/cluster/runc"');
    expect(toml).toContain('SystemdCgroup = false');
    expect(toml).toContain('sandbox_image = "registry.k8s.io/pause:3.6"');
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('bin_dir = "/opt/cni/bin"');
    const settings = toml
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('\n');
    expect(settings).not.toContain('/run/containerd/containerd.sock');
    expect(settings).not.toContain('/run/docker');
  });

  test('the systemd driver (hosts with systemd as init) reaches runc and the kubelet alike', () => {
    const toml = renderContainerdConfig({
      root: '/r',
      state: '/s',
      socket: '/c.sock',
      runcRoot: '/runc',
      cniBinDir: '/bin',
      cniConfDir: '/conf',
      sandboxImage: 'pause',
      cgroupDriver: 'systemd',
    });
    expect(toml, 'runc must use systemd when the kubelet does').toContain('SystemdCgroup = true');
    const kubelet = kubeletConfiguration({
      containerdSocket: '/c.sock',
      clientCaFile: '/ca',
      tlsCertFile: '/c',
      tlsPrivateKeyFile: '/k',
      podLogsDir: '/logs',
      resolvConf: '/r',
      cgroupDriver: 'systemd',
    });
    expect(kubelet.cgroupDriver, "the kubelet's driver must be runc's").toBe('systemd');
  });

  test('kubelet: cgroupfs, swap allowed, webhook authn/authz, x509 client CA, no image GC, no read-only port', () => {
    const config = kubeletConfiguration({
      containerdSocket: layout.containerdSocket,
      clientCaFile: '/pki/ca.crt',
      tlsCertFile: '/pki/kubelet.crt',
      tlsPrivateKeyFile: '/pki/kubelet.key',
      podLogsDir: layout.podLogsDir,
      resolvConf: '/cfg/resolv.conf',
      cgroupDriver: 'cgroupfs',
    });
    expect(config).toMatchObject({
      kind: 'KubeletConfiguration',
      cgroupDriver: 'cgroupfs',
      failSwapOn: false,
      containerRuntimeEndpoint: 'unix:///run/x/cluster/containerd.sock',
      authentication: {
        anonymous: { enabled: false },
        webhook: { enabled: true },
        x509: { clientCAFile: '/pki/ca.crt' },
      },
      authorization: { mode: 'Webhook' },
      imageGCHighThresholdPercent: 100,
      readOnlyPort: 0,
      rotateCertificates: false,
    });
    expect(config).not.toHaveProperty('staticPodPath');
    expect(config).not.toHaveProperty('clusterDNS');
  });

  test('kube-proxy: iptables mode over the pod CIDR, host sysctls left alone', () => {
    const config = kubeProxyConfiguration({ kubeconfig: '/k/kube-proxy.kubeconfig', nodeName: 'vm', oomScoreAdj: 0 });
    expect(config).toMatchObject({
      mode: 'iptables',
      clusterCIDR: '10.244.0.0/16',
      hostnameOverride: 'vm',
      oomScoreAdj: 0,
      conntrack: { maxPerCore: 0, min: 0 },
      iptables: { localhostNodePorts: false },
    });
  });

  test('bridge CNI option: bridge + host-local over the node podCIDR + portmap', () => {
    const conflist = bridgeConflist('10.244.0.0/24') as { name: string; plugins: Array<Record<string, unknown>> };
    expect(conflist.name).toBe(BRIDGE_NETWORK_NAME);
    expect(conflist.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    expect(conflist.plugins[0]).toMatchObject({
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.0.0/24' }]] },
    });
  });

  test('node name from the host name is a DNS-1123 subdomain', () => {
    expect(nodeNameFromHostname('VM')).toBe('vm');
    expect(nodeNameFromHostname('My_Host.example.')).toBe('my-host.example');
    expect(nodeNameFromHostname('___')).toBe('spire-k8s-validation-node');
  });

  test('the components table: each component once, in start order, with arguments made of real values', () => {
    expect(
      COMPONENTS.map((c) => c.name),
      'the launcher starts the components in the order the state and the teardown know',
    ).toEqual([...COMPONENT_ORDER]);
    const last = COMPONENTS.at(-1);
    expect(last?.withNext, `${last?.name} is last: there is nothing to start together with`).toBeFalsy();
    for (const component of COMPONENTS.filter((c) => !c.withNext)) {
      expect(component.milestone, `${component.name} is waited for on its own, so it needs a milestone`).toBeTruthy();
    }
    const context = {
      layout: localLayout('/var/lib/x/cluster', '/run/x/cluster'),
      binaries: { etcd: '/b/etcd', kubeApiserver: '/b/kube-apiserver' },
      pki: pkiFiles('/var/lib/x/cluster/pki'),
      nodeName: 'vm',
      nodeIp: '192.0.2.2',
      canLowerOomScore: true,
    } as unknown as LaunchContext;
    for (const component of COMPONENTS) {
      const args = component.args(context).join(' ');
      expect(args, `${component.name}'s arguments name no missing value`).not.toMatch(/undefined|NaN|\[object/);
    }
  });

  test('the rendered kubelet config is YAML the kubelet reads', () => {
    const text = renderKubeletConfig({
      containerdSocket: '/s.sock',
      clientCaFile: '/ca',
      tlsCertFile: '/c',
      tlsPrivateKeyFile: '/k',
      podLogsDir: '/logs',
      resolvConf: '/r',
      cgroupDriver: 'cgroupfs',
    });
    expect(parse(text)).toMatchObject({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      readOnlyPort: 0,
      oomScoreAdj: -999,
    });
  });
});

describe('host traces', () => {
  test('node IP: the default route interface, never loopback or docker0', () => {
    const route =
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n';
    expect(parseDefaultRouteInterfaces(route)).toEqual(['eth0']);
    const ifaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
      docker0: [{ address: '172.17.0.1', family: 'IPv4', internal: false }],
      eth0: [
        { address: 'fd00::2', family: 'IPv6', internal: false },
        { address: '192.0.2.2', family: 'IPv4', internal: false },
      ],
    };
    expect(primaryIpv4(route, ifaces)).toEqual({ ip: '192.0.2.2', iface: 'eth0' });
    expect(primaryIpv4('Iface\n', { lo: ifaces.lo, docker0: ifaces.docker0, ens3: ifaces.eth0 })).toEqual({
      ip: '192.0.2.2',
      iface: 'ens3',
    });
    expect(primaryIpv4('Iface\n', { lo: ifaces.lo, docker0: ifaces.docker0 })).toBeUndefined();
  });

  const SAVE = `# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -j KUBE-SVC-NPX46M4PTMTKRN6Y
COMMIT
`;

  test('iptables-save parsing and a removal script that unhooks, flushes and deletes only our chains', () => {
    const dump = parseIptablesSave(SAVE);
    expect(dump.chains).toEqual([
      'PREROUTING',
      'OUTPUT',
      'POSTROUTING',
      'DOCKER',
      'KUBE-SERVICES',
      'KUBE-SVC-NPX46M4PTMTKRN6Y',
    ]);
    const script = chainRemovalScript('nat', dump, new Set(['KUBE-SERVICES', 'KUBE-SVC-NPX46M4PTMTKRN6Y']));
    expect(script.split('\n')).toEqual([
      '*nat',
      '-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-F KUBE-SERVICES',
      '-F KUBE-SVC-NPX46M4PTMTKRN6Y',
      '-X KUBE-SERVICES',
      '-X KUBE-SVC-NPX46M4PTMTKRN6Y',
      'COMMIT',
      '',
    ]);
    expect(chainRemovalScript('nat', dump, new Set())).toBe('');
  });

  test('rule splitting keeps quoted comments whole; our FORWARD rule is precise', () => {
    expect(splitRule('-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')).toEqual([
      '-D',
      'PREROUTING',
      '-m',
      'comment',
      '--comment',
      'kubernetes service portals',
      '-j',
      'KUBE-SERVICES',
    ]);
    expect(forwardRuleArgs('10.244.0.0/16')).toEqual([
      'FORWARD',
      '-s',
      '10.244.0.0/16',
      '-d',
      '10.244.0.0/16',
      '-m',
      'comment',
      '--comment',
      'spire-k8s-validation pod network',
      '-j',
      'ACCEPT',
    ]);
  });

  test('mountinfo: escaped paths decoded; mounts under our dirs deepest first', () => {
    const mountinfo =
      '22 1 254:0 / / rw - ext4 /dev/vda rw\n' +
      '90 22 0:50 / /var/lib/x/cluster/kubelet rw - ext4 /dev/vda rw\n' +
      '91 90 0:51 / /var/lib/x/cluster/kubelet/pods/u/volumes/kube-api-access rw - tmpfs tmpfs rw\n' +
      '92 22 0:52 / /run/x/cluster/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs rw - overlay overlay rw\n' +
      '93 22 0:53 / /var/lib/x/cluster-other\\040dir rw - tmpfs tmpfs rw\n';
    const points = parseMountinfo(mountinfo);
    expect(points).toContain('/var/lib/x/cluster-other dir');
    expect(mountsUnder(points, ['/var/lib/x/cluster', '/run/x/cluster'])).toEqual([
      '/var/lib/x/cluster/kubelet/pods/u/volumes/kube-api-access',
      '/run/x/cluster/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs',
      '/var/lib/x/cluster/kubelet',
    ]);
  });

  test('links, nft tables, capabilities', () => {
    expect(
      parseIpLinks(
        '[{"ifname":"cni0","linkinfo":{"info_kind":"bridge"}},{"ifname":"veth1","master":"cni0","linkinfo":{"info_kind":"veth"}},{"ifname":"lo"}]',
      ),
    ).toEqual([{ name: 'cni0', kind: 'bridge' }, { name: 'veth1', master: 'cni0', kind: 'veth' }, { name: 'lo' }]);
    expect(parseNftTables('table ip nat\ntable ip filter\ntable ip6 filter\n')).toEqual([
      'ip nat',
      'ip filter',
      'ip6 filter',
    ]);
    expect(nftTableIsEmpty('{"nftables":[{"metainfo":{}},{"table":{}},{"chain":{}}]}')).toBe(true);
    expect(nftTableIsEmpty('{"nftables":[{"table":{}},{"chain":{}},{"rule":{}}]}')).toBe(false);
    expect(parseCapEff('CapEff:\t000001fffeffffff\n', 24)).toBe(false);
    expect(parseCapEff('CapEff:\t000001ffffffffff\n', 24)).toBe(true);
  });

  test('a containerd shim is recognised, and its socket is where containerd 1.6 puts it', () => {
    const command =
      '/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id 8356265bf317 -address /run/x/cluster/containerd.sock';
    const shim = parseShimCommand(command);
    expect(shim).toEqual({ namespace: 'k8s.io', id: '8356265bf317', address: '/run/x/cluster/containerd.sock' });
    const digest = createHash('sha256').update('/run/x/cluster/containerd.sock/k8s.io/8356265bf317').digest('hex');
    expect(shimSocketPath(shim as NonNullable<typeof shim>)).toBe(`/run/containerd/s/${digest}`);
    expect(parseShimCommand('/pause')).toBeUndefined();
  });
});
