// The cgroup layout judge on the shapes of each combination. HYBRID_MOUNTINFO was recorded on this project's host
// (Debian 12, cgroup v1 hybrid, no systemd); the two simulated v2 lines are the ones test/spire/cgroup-v2-attestation
// .test.ts produces here on the empty cgroup2 hierarchy; the rest are written by hand, with made-up IDs, in the layouts
// the runtimes use (Docker cgroupfs: /docker/<id>; systemd: system.slice/docker-<id>.scope; the kubelet's kubepods and
// kubepods.slice trees), since no host of those kinds is reachable from here.
import { describe, expect, test } from 'vitest';
import {
  type CgroupDriver,
  type CgroupVersion,
  cgroupDriverProblems,
  cgroupVersionOf,
  containerdRuncDriver,
  defaultDockerDriver,
  dockerAttestorSettings,
  type HostCgroups,
  kubeletDriverFor,
  kubepodsCgroupName,
  parseCgroupMounts,
  parseDockerCgroupInfo,
  parseProcCgroup,
  simulatedOnlyWarning,
  systemdIsInit,
  unifiedMountPoint,
} from '../../lib/cgroup.ts';

const ID = `${'a'.repeat(40)}0123456789abcdef01234567`;
const POD = '5e1b7c0a-1d2f-4c3b-9a8e-7f6d5c4b3a21';
const POD_SYSTEMD = POD.replaceAll('-', '_');

/** Recorded on this host: v1 controllers plus an empty cgroup2 hierarchy at /sys/fs/cgroup/unified. */
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
/** Ubuntu 22.04: the unified hierarchy only. */
const V2_MOUNTINFO =
  '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
/** A v1-only host (no cgroup2 mount at all). */
const V1_MOUNTINFO = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct`;

/** /proc/<pid>/cgroup of a container's process, per combination. */
const SHAPES: Record<string, { cgroup: string; runtime: 'docker' | 'containerd'; version: CgroupVersion }> = {
  "v1 cgroupfs docker (as on this project's hosts)": {
    runtime: 'docker',
    version: 'hybrid',
    cgroup: `9:name=systemd:/docker/${ID}\n4:memory:/docker/${ID}\n1:cpu:/docker/${ID}\n0::/docker/${ID}`,
  },
  'v1 systemd docker (Ubuntu 20.04)': {
    runtime: 'docker',
    version: 'hybrid',
    cgroup: `12:memory:/system.slice/docker-${ID}.scope\n1:name=systemd:/system.slice/docker-${ID}.scope\n0::/system.slice/docker-${ID}.scope`,
  },
  'v2 systemd docker (Ubuntu 22.04; simulated here)': {
    runtime: 'docker',
    version: 'v2',
    cgroup: `0::/system.slice/docker-${ID}.scope`,
  },
  'v2 cgroupfs docker': { runtime: 'docker', version: 'v2', cgroup: `0::/docker/${ID}` },
  "v1 cgroupfs containerd pod (as on this project's hosts)": {
    runtime: 'containerd',
    version: 'hybrid',
    cgroup: `4:memory:/kubepods/besteffort/pod${POD}/${ID}\n0::/`,
  },
  'v2 systemd containerd pod (simulated here)': {
    runtime: 'containerd',
    version: 'v2',
    cgroup: `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_SYSTEMD}.slice/cri-containerd-${ID}.scope`,
  },
};

describe('parsing /proc/<pid>/cgroup and mountinfo', () => {
  test('each shape parses to hierarchy, controllers and path; the v2 line has no controllers', () => {
    for (const [name, shape] of Object.entries(SHAPES)) {
      const lines = parseProcCgroup(shape.cgroup);
      expect(lines.length, `${name}: one entry per line`).toBe(shape.cgroup.split('\n').length);
      const unified = lines.find((line) => line.hierarchyId === 0);
      expect(unified?.controllers, `${name}: the 0:: line names no controller`).toEqual([]);
      expect(
        lines.every((line) => line.path.startsWith('/')),
        `${name}: every path is absolute`,
      ).toBe(true);
    }
    expect(parseProcCgroup('4:memory:/process_api/2229\n')).toEqual([
      { hierarchyId: 4, controllers: ['memory'], path: '/process_api/2229' },
    ]);
  });

  test('the version comes from the mounts: hybrid (this host), v2, v1; none is an error that says so', () => {
    const hybrid = parseCgroupMounts(HYBRID_MOUNTINFO);
    expect(hybrid.map((mount) => mount.mountPoint)).toEqual([
      '/sys/fs/cgroup/cpu',
      '/sys/fs/cgroup/memory',
      '/sys/fs/cgroup/systemd',
      '/sys/fs/cgroup/unified',
    ]);
    expect(hybrid.find((mount) => mount.mountPoint.endsWith('systemd'))?.controllers).toEqual(['name=systemd']);
    expect(cgroupVersionOf(hybrid)).toBe('hybrid');
    expect(unifiedMountPoint(hybrid)).toBe('/sys/fs/cgroup/unified');
    expect(cgroupVersionOf(parseCgroupMounts(V2_MOUNTINFO))).toBe('v2');
    expect(unifiedMountPoint(parseCgroupMounts(V2_MOUNTINFO))).toBe('/sys/fs/cgroup');
    const v1 = parseCgroupMounts(V1_MOUNTINFO);
    expect(v1.map((mount) => mount.controllers)).toEqual([['name=systemd'], ['cpu', 'cpuacct']]);
    expect(cgroupVersionOf(v1)).toBe('v1');
    expect(() => cgroupVersionOf(parseCgroupMounts('22 1 0:5 / /proc rw - proc proc rw'))).toThrow(
      /no cgroup or cgroup2 filesystem is mounted/,
    );
  });

  test('systemd as PID 1 and docker info', () => {
    expect(systemdIsInit('systemd\n')).toBe(true);
    for (const other of ['tini\n', 'bash', 'init', '']) expect(systemdIsInit(other), other).toBe(false);
    expect(parseDockerCgroupInfo('{"CgroupDriver":"systemd","CgroupVersion":"2","ID":"x"}')).toEqual({
      driver: 'systemd',
      version: '2',
    });
    expect(() => parseDockerCgroupInfo('{"CgroupDriver":"none","CgroupVersion":"1"}')).toThrow(/CgroupDriver "none"/);
    expect(() => parseDockerCgroupInfo('{"CgroupDriver":"cgroupfs"}')).toThrow(/CgroupVersion undefined/);
    expect(() => parseDockerCgroupInfo('Cannot connect to the Docker daemon')).toThrow(/did not print JSON/);
  });
});

describe('what each combination configures', () => {
  const dockerPathOf = (name: string) => parseProcCgroup(SHAPES[name]?.cgroup ?? '').at(-1)?.path ?? '';

  test("the docker attestor: the legacy /docker/<id> matcher where Docker's cgroups are /docker/<id>", () => {
    for (const name of ["v1 cgroupfs docker (as on this project's hosts)", 'v2 cgroupfs docker']) {
      expect(dockerPathOf(name), name).toBe(`/docker/${ID}`);
    }
    expect(dockerAttestorSettings('cgroupfs')).toEqual([
      'use_new_container_locator = false',
      'container_id_cgroup_matchers = ["/docker/<id>"]',
    ]);
  });

  test('the docker attestor: the new locator where the ID is inside a segment (docker-<id>.scope)', () => {
    for (const name of ['v1 systemd docker (Ubuntu 20.04)', 'v2 systemd docker (Ubuntu 22.04; simulated here)']) {
      const segment = dockerPathOf(name).split('/').at(-1);
      expect(segment, `${name}: SPIRE's <id> token takes a whole segment, which here is not the ID`).toBe(
        `docker-${ID}.scope`,
      );
    }
    expect(dockerAttestorSettings('systemd')).toEqual(['use_new_container_locator = true']);
  });

  test("the kubelet's and containerd's driver follow the init system; Docker's default follows version and init", () => {
    expect(kubeletDriverFor(true)).toBe('systemd');
    expect(kubeletDriverFor(false)).toBe('cgroupfs');
    expect(kubepodsCgroupName('systemd')).toBe('kubepods.slice');
    expect(kubepodsCgroupName('cgroupfs')).toBe('kubepods');
    const defaults: Array<[CgroupVersion, boolean, CgroupDriver]> = [
      ['v2', true, 'systemd'],
      ['v2', false, 'cgroupfs'],
      ['hybrid', true, 'cgroupfs'],
      ['v1', true, 'cgroupfs'],
    ];
    for (const [version, systemd, driver] of defaults)
      expect(defaultDockerDriver(version, systemd), `${version}, systemd init ${systemd}`).toBe(driver);
    expect(containerdRuncDriver('  SystemdCgroup = true\n')).toBe('systemd');
    expect(containerdRuncDriver('  SystemdCgroup = false\n')).toBe('cgroupfs');
    expect(containerdRuncDriver('[plugins]\n')).toBeUndefined();
  });
});

describe('the host control (HOST-08) and the simulated-only message', () => {
  const thisHost: HostCgroups = { version: 'hybrid', systemdInit: false, docker: { driver: 'cgroupfs', version: '1' } };
  const ubuntu: HostCgroups = { version: 'v2', systemdInit: true, docker: { driver: 'systemd', version: '2' } };
  const agree = (driver: CgroupDriver) => ({ kubelet: driver, containerd: driver });

  test('this host and an Ubuntu 22.04 host configured for themselves have no problem', () => {
    expect(cgroupDriverProblems(thisHost, agree('cgroupfs'))).toEqual([]);
    expect(cgroupDriverProblems(ubuntu, agree('systemd'))).toEqual([]);
  });

  test('each disagreement is named', () => {
    expect(cgroupDriverProblems({ ...thisHost, docker: undefined }, agree('cgroupfs'))).toEqual([
      "docker info did not answer, so Docker's cgroup driver and version are unknown",
    ]);
    expect(cgroupDriverProblems({ ...thisHost, docker: { driver: 'cgroupfs', version: '2' } }, undefined)[0]).toMatch(
      /Docker reports cgroup version 2, but the kernel's mounts make this host hybrid/,
    );
    expect(cgroupDriverProblems(thisHost, { kubelet: 'cgroupfs', containerd: 'systemd' }).join('\n')).toMatch(
      /kubelet's cgroupDriver \(cgroupfs\) and containerd's runc driver \(systemd\) differ/,
    );
    expect(cgroupDriverProblems(thisHost, agree('systemd')).join('\n')).toMatch(/systemd is not PID 1 here/);
    expect(cgroupDriverProblems(ubuntu, agree('cgroupfs')).join('\n')).toMatch(
      /systemd is PID 1\) it must use systemd/,
    );
    expect(cgroupDriverProblems(thisHost, { kubelet: undefined, containerd: 'cgroupfs' }).join('\n')).toMatch(
      /does not name both drivers/,
    );
  });

  test('only v1 + cgroupfs everywhere is a combination this project ran; the rest says "only simulated"', () => {
    expect(simulatedOnlyWarning(thisHost, 'cgroupfs')).toBeUndefined();
    expect(simulatedOnlyWarning({ ...thisHost, version: 'v1' }, 'cgroupfs')).toBeUndefined();
    expect(simulatedOnlyWarning(ubuntu, 'systemd')).toMatch(/cgroup v2 \+ systemd .* only simulated/);
    expect(simulatedOnlyWarning({ ...thisHost, docker: { driver: 'systemd', version: '1' } }, 'cgroupfs')).toMatch(
      /only simulated/,
    );
    expect(simulatedOnlyWarning({ ...ubuntu, docker: { driver: 'cgroupfs', version: '2' } }, 'cgroupfs')).toMatch(
      /cgroup v2 \+ cgroupfs/,
    );
  });
});

describe("containerd's loaded CRI configuration (CRI Status verbose, info.config)", () => {
  test('the runc runtime SystemdCgroup option is the driver; absent options or runtime name none', async () => {
    const { runcDriverOfCriConfig } = await import('../../fixtures/cluster/cri-runtime.ts');
    const config = (options: Record<string, unknown> | undefined) =>
      JSON.stringify({
        containerd: {
          defaultRuntimeName: 'runc',
          runtimes: { runc: { runtimeType: 'io.containerd.runc.v2', options } },
        },
      });
    expect(runcDriverOfCriConfig(config({ SystemdCgroup: true }))).toBe('systemd');
    expect(runcDriverOfCriConfig(config({ SystemdCgroup: false, BinaryName: '/usr/bin/runc' }))).toBe('cgroupfs');
    expect(runcDriverOfCriConfig(config({ BinaryName: '/usr/bin/runc' }))).toBeUndefined();
    expect(runcDriverOfCriConfig(config(undefined))).toBeUndefined();
    expect(runcDriverOfCriConfig(undefined)).toBeUndefined();
  });
});
