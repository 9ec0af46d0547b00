// Is the pod network this cluster's Flannel? Host files prove it only when they are fresh (written after this
// cluster started, not left by an earlier one), and a pod is wired by this Flannel when its IP lies in the subnet
// flanneld leased now and the flannel CNI plugin kept state for the sandbox that IP was allocated to.

export interface HostFile {
  path: string;
  /** mtime, ms since the epoch. */
  modifiedMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The files not written since the cluster started, each as a sentence; empty when all are fresh. */
export function staleFiles(files: HostFile[], clusterStartedMs: number, clusterSource: string): string[] {
  return files
    .filter((file) => file.modifiedMs < clusterStartedMs)
    .map(
      (file) =>
        `${file.path} was last written at ${iso(file.modifiedMs)}, before this cluster started at ` +
        `${iso(clusterStartedMs)} (${clusterSource}): it is left over from an earlier cluster`,
    );
}

/** KEY=value lines of flanneld's subnet.env. */
export function parseSubnetEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_]+)=(.*?)\s*$/.exec(line);
    if (match?.[1]) values[match[1]] = match[2] ?? '';
  }
  return values;
}

function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

/** Whether an IPv4 address lies inside an IPv4 CIDR ("10.244.0.1/24"); false for anything unparsable. */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = ''] = cidr.split('/');
  const address = ipv4ToNumber(ip);
  const network = ipv4ToNumber(base);
  const prefix = Number(bits);
  if (address === undefined || network === undefined || !/^\d{1,2}$/.test(bits) || prefix > 32) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) === Math.floor(network / size);
}

export interface PodWiring {
  podIp: string;
  /** The cluster's pod network, e.g. 10.244.0.0/16. */
  podNetwork: string;
  subnetEnv: string;
  /** The host-local IPAM file named after the pod IP (`<dataDir>/<network>/<ip>`): its first line is the sandbox ID. */
  allocation: { path: string; content: string } | undefined;
  /** The sandbox IDs the flannel CNI plugin keeps state for (file names under /var/lib/cni/flannel). */
  flannelSandboxes: string[];
  flannelStateDir: string;
}

/** Every reason the pod is not wired by the current Flannel; empty when it is. */
export function podWiringProblems(wiring: PodWiring): string[] {
  const problems: string[] = [];
  if (!ipv4InCidr(wiring.podIp, wiring.podNetwork))
    problems.push(`the pod IP ${wiring.podIp} is outside the pod network ${wiring.podNetwork}`);
  const subnet = parseSubnetEnv(wiring.subnetEnv).FLANNEL_SUBNET;
  if (!subnet) problems.push('subnet.env has no FLANNEL_SUBNET: flanneld holds no lease');
  else if (!ipv4InCidr(wiring.podIp, subnet))
    problems.push(`the pod IP ${wiring.podIp} is outside this node's Flannel subnet ${subnet} (subnet.env)`);
  if (!wiring.allocation) {
    problems.push(
      `no IPAM allocation file names the pod IP ${wiring.podIp}: the IP was not allocated on this node's pod network`,
    );
    return problems;
  }
  const sandbox = wiring.allocation.content.split(/\r?\n/)[0]?.trim() ?? '';
  if (!sandbox) problems.push(`${wiring.allocation.path} names no sandbox`);
  else if (!wiring.flannelSandboxes.includes(sandbox))
    problems.push(
      `the pod IP ${wiring.podIp} was allocated to sandbox ${sandbox} (${wiring.allocation.path}), but the flannel ` +
        `plugin keeps no state for it in ${wiring.flannelStateDir} (it has ${wiring.flannelSandboxes.length} ` +
        'sandbox(es)): the pod was not wired by Flannel',
    );
  return problems;
}
