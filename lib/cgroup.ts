// The host's cgroup layout and what it decides: which cgroup version the kernel mounts (v1, v2, or hybrid: v1
// controllers plus an empty cgroup2 hierarchy), which driver each runtime uses (cgroupfs: /docker/<id>, /kubepods/…;
// systemd: /system.slice/docker-<id>.scope, /kubepods.slice/….scope), and from those the SPIRE agent's container
// attestor settings and the local cluster's kubelet/containerd driver. Pure: the callers read /proc and `docker info`.

export type CgroupVersion = 'v1' | 'v2' | 'hybrid';
export type CgroupDriver = 'cgroupfs' | 'systemd';

/** One line of /proc/<pid>/cgroup: `hierarchy-id:controllers:path` (v2's line is `0::/path`). */
export interface CgroupLine {
  hierarchyId: number;
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): CgroupLine[] {
  const lines: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id = '', controllers = '', path = ''] = match;
    lines.push({ hierarchyId: Number(id), controllers: controllers ? controllers.split(',') : [], path });
  }
  return lines;
}

/** A cgroup filesystem mount from /proc/<pid>/mountinfo. */
export interface CgroupMount {
  mountPoint: string;
  /** The cgroup the mount shows as its root ("/" on the host; the container's own cgroup inside one). */
  root: string;
  fsType: 'cgroup' | 'cgroup2';
  /** For v1: the controllers bound to it (cpu, memory, name=systemd …). Empty for cgroup2. */
  controllers: string[];
}

/** v1 super options that are not controllers. */
const MOUNT_OPTIONS = new Set(['rw', 'ro', 'xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode']);

/** The cgroup mounts of a mountinfo text (fields: id parent major:minor root mount-point opts … - fstype source super-opts). */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const fields = left.split(' ');
    const [fsType = '', , superOptions = ''] = right.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const unescaped = (value: string) =>
      value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
    mounts.push({
      mountPoint: unescaped(fields[4] ?? ''),
      root: unescaped(fields[3] ?? ''),
      fsType,
      controllers:
        fsType === 'cgroup'
          ? superOptions
              .split(',')
              .filter((option) => !MOUNT_OPTIONS.has(option) && !option.startsWith('release_agent='))
          : [],
    });
  }
  return mounts;
}

/**
 * The cgroup version the mounts make: v2 with only a cgroup2 mount, v1 with only v1 hierarchies, hybrid with both (the
 * v1 controllers do the work; the cgroup2 hierarchy has none). Throws when there is no cgroup mount at all.
 */
export function cgroupVersionOf(mounts: CgroupMount[]): CgroupVersion {
  const v1 = mounts.some((mount) => mount.fsType === 'cgroup');
  const v2 = mounts.some((mount) => mount.fsType === 'cgroup2');
  if (v1 && v2) return 'hybrid';
  if (v2) return 'v2';
  if (v1) return 'v1';
  throw new Error('no cgroup or cgroup2 filesystem is mounted (mountinfo has none): the cgroup version is unknown');
}

/** Where the cgroup2 hierarchy is mounted (/sys/fs/cgroup on v2, /sys/fs/cgroup/unified on a hybrid host), if any. */
export function unifiedMountPoint(mounts: CgroupMount[]): string | undefined {
  return mounts.find((mount) => mount.fsType === 'cgroup2')?.mountPoint;
}

/** systemd is the init process when /proc/1/comm says so. */
export function systemdIsInit(pid1Comm: string): boolean {
  return pid1Comm.trim() === 'systemd';
}

/** What `docker info --format '{{json .}}'` says about cgroups. */
export interface DockerCgroupInfo {
  driver: CgroupDriver;
  /** Docker's "CgroupVersion": "1" or "2". */
  version: '1' | '2';
}

export function parseDockerCgroupInfo(dockerInfoJson: string): DockerCgroupInfo {
  let info: { CgroupDriver?: unknown; CgroupVersion?: unknown };
  try {
    info = JSON.parse(dockerInfoJson) as typeof info;
  } catch {
    throw new Error(`docker info did not print JSON: ${dockerInfoJson.slice(0, 200)}`);
  }
  const { CgroupDriver: driver, CgroupVersion: version } = info;
  if (driver !== 'cgroupfs' && driver !== 'systemd')
    throw new Error(`docker info reports CgroupDriver ${JSON.stringify(driver)}, expected "cgroupfs" or "systemd"`);
  if (version !== '1' && version !== '2')
    throw new Error(`docker info reports CgroupVersion ${JSON.stringify(version)}, expected "1" or "2"`);
  return { driver, version };
}

/** The cgroup version a runtime sees: a hybrid host's controllers are v1, so runtimes use v1 there. */
export function runtimeCgroupVersion(version: CgroupVersion): '1' | '2' {
  return version === 'v2' ? '2' : '1';
}

/**
 * The driver of the kubelet and containerd (they must agree: containerd 1.6 does not tell the kubelet its driver) on
 * this host: systemd where systemd is init (Kubernetes' advice: one cgroup manager per host), cgroupfs without it (the
 * systemd driver needs systemd to create the slices).
 */
export function kubeletDriverFor(systemdInit: boolean): CgroupDriver {
  return systemdInit ? 'systemd' : 'cgroupfs';
}

/** The driver dockerd picks when not told: systemd on cgroup v2 with systemd as init, cgroupfs otherwise. */
export function defaultDockerDriver(version: CgroupVersion, systemdInit: boolean): CgroupDriver {
  return version === 'v2' && systemdInit ? 'systemd' : 'cgroupfs';
}

/** The name of the kubelet's top-level pod cgroup for a driver (a directory in each hierarchy, or a systemd slice). */
export function kubepodsCgroupName(driver: CgroupDriver): string {
  return driver === 'systemd' ? 'kubepods.slice' : 'kubepods';
}

/**
 * The plugin_data lines of SPIRE 1.13's docker WorkloadAttestor for Docker's cgroup driver. It must recognise only
 * Docker's containers: every other container ID it finds (a containerd pod's) makes it ask dockerd, which answers "No
 * such container", and the attestor fails (logged by the agent, after retries).
 * - cgroupfs (v1 or v2): the legacy locator with the matcher `/docker/<id>` finds Docker's containers only.
 * - systemd: Docker's containers sit in `/system.slice/docker-<id>.scope`. SPIRE's matchers take `<id>` only as a whole
 *   path segment, so no matcher can read that segment; only the new locator (any 64-hex segment) finds them. It also
 *   finds containerd pods: the docker attestor then fails for them, which the agent logs while the other attestors'
 *   selectors still count (see test/spire/cgroup-v2-attestation.test.ts).
 */
export function dockerAttestorSettings(dockerDriver: CgroupDriver): string[] {
  return dockerDriver === 'systemd'
    ? ['use_new_container_locator = true']
    : ['use_new_container_locator = false', 'container_id_cgroup_matchers = ["/docker/<id>"]'];
}

/**
 * The k8s WorkloadAttestor's locator, the same on every combination: the legacy one takes a container ID only after a
 * `pod<uid>` segment (kubepods/…/pod<uid>/<id> and kubepods.slice/…-pod<uid>.slice/cri-containerd-<id>.scope), so it
 * never polls the kubelet for a Docker container (the new locator would, for 30 s, for every Docker workload).
 */
export const K8S_ATTESTOR_LOCATOR = 'use_new_container_locator = false';

/** The cgroup facts of a host, as the callers read them. */
export interface HostCgroups {
  version: CgroupVersion;
  systemdInit: boolean;
  /** Docker's own report; undefined when no dockerd answers. */
  docker?: DockerCgroupInfo;
}

/** "cgroup v1 (hybrid) + cgroupfs" and the like, for messages. */
export function describeCombination(version: CgroupVersion, driver: CgroupDriver): string {
  const name = version === 'hybrid' ? 'v1 (hybrid: v1 controllers, empty cgroup2 hierarchy)' : version;
  return `cgroup ${name} + ${driver}`;
}

/**
 * The combinations this project's own hosts run: cgroup v1 (or hybrid, whose controllers are v1) with cgroupfs for
 * Docker and the kubelet. Every other one was only simulated here; the message says so plainly, or is undefined.
 */
export function simulatedOnlyWarning(host: HostCgroups, kubeletDriver: CgroupDriver): string | undefined {
  const dockerDriver = host.docker?.driver ?? defaultDockerDriver(host.version, host.systemdInit);
  if (host.version !== 'v2' && dockerDriver === 'cgroupfs' && kubeletDriver === 'cgroupfs') return undefined;
  return (
    `This host is ${describeCombination(host.version, dockerDriver)} (Docker), ${kubeletDriver} (kubelet/containerd). ` +
    "This project's own hosts are cgroup v1 + cgroupfs: on this combination the agent's container-ID discovery was " +
    'only simulated (cgroup v2 paths on an empty cgroup2 hierarchy, test/spire/cgroup-v2-attestation.test.ts), and the ' +
    'kubelet/containerd systemd driver was never run. A failure in the Docker or pod attestation controls may come ' +
    'from this layout: attach the agent log and `cat /proc/<workload pid>/cgroup`.'
  );
}

/** runc's driver in a containerd config (`SystemdCgroup = true|false`); undefined when the file does not say. */
export function containerdRuncDriver(toml: string): CgroupDriver | undefined {
  const value = /^\s*SystemdCgroup\s*=\s*(true|false)\s*$/m.exec(toml)?.[1];
  if (value === undefined) return undefined;
  return value === 'true' ? 'systemd' : 'cgroupfs';
}

/** The kubelet's and containerd's drivers as their configuration files say (undefined: not set there). */
export interface ClusterDrivers {
  kubelet: CgroupDriver | undefined;
  containerd: CgroupDriver | undefined;
}

/**
 * What is wrong with the runtimes' cgroup settings on this host (empty: nothing): Docker must see the cgroup version
 * the kernel mounts; the kubelet and containerd must name the same driver (containerd 1.6 does not tell the kubelet
 * its own); nothing may use the systemd driver where systemd is not PID 1.
 */
export function cgroupDriverProblems(host: HostCgroups, cluster: ClusterDrivers | undefined): string[] {
  return [...dockerCgroupProblems(host), ...(cluster ? clusterDriverProblems(host, cluster) : [])];
}

/** Docker against the host: its cgroup version must be the kernel's, its driver systemd only under systemd. */
export function dockerCgroupProblems(host: HostCgroups): string[] {
  const problems: string[] = [];
  if (!host.docker) problems.push("docker info did not answer, so Docker's cgroup driver and version are unknown");
  else {
    const expected = runtimeCgroupVersion(host.version);
    if (host.docker.version !== expected)
      problems.push(
        `Docker reports cgroup version ${host.docker.version}, but the kernel's mounts make this host ${host.version} ` +
          `(runtimes see version ${expected})`,
      );
    if (host.docker.driver === 'systemd' && !host.systemdInit)
      problems.push('Docker reports the systemd cgroup driver, but systemd is not PID 1 here');
  }
  return problems;
}

/** The kubelet and containerd against each other and the host (their drivers as the caller read them). */
export function clusterDriverProblems(host: HostCgroups, cluster: ClusterDrivers): string[] {
  const problems: string[] = [];
  if (!cluster.kubelet || !cluster.containerd)
    problems.push(
      `the cluster's configuration does not name both drivers (kubelet: ${cluster.kubelet ?? 'not set'}, ` +
        `containerd: ${cluster.containerd ?? 'not set'})`,
    );
  else if (cluster.kubelet !== cluster.containerd)
    problems.push(
      `the kubelet's cgroupDriver (${cluster.kubelet}) and containerd's runc driver (${cluster.containerd}) differ`,
    );
  if ((cluster.kubelet === 'systemd' || cluster.containerd === 'systemd') && !host.systemdInit)
    problems.push('the cluster is configured with the systemd cgroup driver, but systemd is not PID 1 here');
  const wanted = kubeletDriverFor(host.systemdInit);
  if (cluster.kubelet && cluster.kubelet !== wanted)
    problems.push(
      `the kubelet is configured with ${cluster.kubelet}, but on this host (systemd ${host.systemdInit ? 'is' : 'is not'} ` +
        `PID 1) it must use ${wanted}`,
    );
  return problems;
}
