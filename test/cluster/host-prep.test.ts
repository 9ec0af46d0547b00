// Host preparation: the /proc parsers and every check's decisions, against a fake host.
import { describe, expect, test } from 'vitest';
import {
  type CommandResult,
  checkDisk,
  checkKernelFeatures,
  checkPorts,
  checkRoot,
  checkSwap,
  checkSysctls,
  checkTools,
  describeFailures,
  failSwapOnOf,
  type HostProbe,
  parseProcFilesystems,
  parseProcModules,
  parseProcNetTcp,
  parseProcSwaps,
  prepareHost,
  runningKubeletSwapSetting,
  sysctlPath,
} from '../../fixtures/host-prep.ts';

const PROC_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0FA0 0100007F:D2B4 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1
`;
const PROC_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:192B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 778 1 0000000000000000 100 0 0 10 0
`;

interface FakeHost {
  files: Record<string, string>;
  programs: Record<string, string>;
  uid?: number;
  free?: number;
  owners?: Record<string, { pid: number; command: string }>;
  /** Called for each command; may change the fake host (e.g. apt-get installing a program). */
  onRun?: (program: string, args: string[], host: FakeHost) => CommandResult;
}

function fakeProbe(host: FakeHost): HostProbe & { runs: string[]; writes: string[] } {
  const runs: string[] = [];
  const writes: string[] = [];
  return {
    runs,
    writes,
    uid: () => host.uid ?? 0,
    readFile: (path) => host.files[path],
    writeFile: (path, content) => {
      if (!(path in host.files)) throw new Error(`EACCES ${path}`);
      writes.push(`${path}=${content.trim()}`);
      host.files[path] = content;
    },
    exists: (path) => path in host.files,
    which: (program) => host.programs[program],
    run: async (program, args) => {
      runs.push([program, ...args].join(' '));
      return host.onRun?.(program, args, host) ?? { exitCode: 0, stdout: '', stderr: '' };
    },
    freeBytes: () => host.free ?? 50 * 1024 ** 3,
    socketOwner: (inode) => host.owners?.[inode],
  };
}

const noLog = () => {};

describe('parsers', () => {
  test('/proc/swaps: header only means no swap; areas are listed with sizes', () => {
    expect(parseProcSwaps('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n')).toEqual([]);
    expect(
      parseProcSwaps(
        'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t2097148\t\t1024\t\t-2\n',
      ),
    ).toEqual([{ name: '/swapfile', type: 'file', sizeKiB: 2097148, usedKiB: 1024 }]);
  });

  test('/proc/net/tcp and tcp6: only LISTEN sockets, little-endian addresses decoded', () => {
    expect(parseProcNetTcp(PROC_TCP)).toEqual([
      { address: '127.0.0.1', port: 4000, inode: '31337' },
      { address: '0.0.0.0', port: 2024, inode: '4242' },
    ]);
    const v6 = parseProcNetTcp(PROC_TCP6);
    expect(v6.map((s) => s.port)).toEqual([6443, 9090]);
    expect(v6[0]?.address).toBe('0:0:0:0:0:0:0:0');
    expect(v6[1]?.address).toBe('0:0:0:0:0:0:0:1');
  });

  test('/proc/modules and /proc/filesystems', () => {
    expect(parseProcModules('br_netfilter 32768 0 - Live 0x0\noverlay 151552 0 - Live 0x0\n')).toEqual(
      new Set(['br_netfilter', 'overlay']),
    );
    expect(parseProcFilesystems('nodev\tsysfs\nnodev\toverlay\n\text4\n').has('overlay')).toBe(true);
  });

  test('sysctl keys map to /proc/sys paths', () => {
    expect(sysctlPath('net.bridge.bridge-nf-call-iptables')).toBe('/proc/sys/net/bridge/bridge-nf-call-iptables');
  });
});

describe('checks', () => {
  test('root', () => {
    expect(checkRoot(fakeProbe({ files: {}, programs: {} })).passed).toBe(true);
    const notRoot = checkRoot(fakeProbe({ files: {}, programs: {}, uid: 1000 }));
    expect(notRoot.passed).toBe(false);
    expect(notRoot.evidence).toContain('uid 1000');
  });

  test('kernel features: built in (no /proc/modules) counts; a missing one is loaded with modprobe', async () => {
    const host: FakeHost = {
      files: { '/proc/sys/net/bridge/bridge-nf-call-iptables': '1\n', '/proc/filesystems': 'nodev\toverlay\n' },
      programs: { modprobe: '/usr/sbin/modprobe' },
      onRun: (_program, args, h) => {
        h.files['/proc/modules'] = `${args[0]} 1 0 - Live 0x0\n`;
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    };
    const probe = fakeProbe(host);
    const check = await checkKernelFeatures(probe, noLog);
    expect(check.passed).toBe(true);
    expect(probe.runs).toEqual(['/usr/sbin/modprobe vxlan']);
    expect(check.fixed).toEqual({ previous: 'not loaded: vxlan', now: 'loaded' });
    expect(check.evidence).toContain('br_netfilter: /proc/sys/net/bridge present');
  });

  test('kernel features: missing without modprobe fails with the reason', async () => {
    const check = await checkKernelFeatures(fakeProbe({ files: {}, programs: {} }), noLog, ['vxlan']);
    expect(check.passed).toBe(false);
    expect(check.evidence).toContain('modprobe is not installed');
  });

  test('sysctls: wrong values are set and the previous values recorded', () => {
    const host: FakeHost = {
      files: {
        '/proc/sys/net/bridge/bridge-nf-call-iptables': '1\n',
        '/proc/sys/net/ipv4/ip_forward': '0\n',
        '/proc/sys/fs/protected_regular': '2\n',
      },
      programs: {},
    };
    const lines: string[] = [];
    const probe = fakeProbe(host);
    const check = checkSysctls(probe, (line) => lines.push(line));
    expect(check.passed).toBe(true);
    expect(probe.writes).toEqual(['/proc/sys/net/ipv4/ip_forward=1', '/proc/sys/fs/protected_regular=0']);
    expect(check.fixed).toEqual({
      previous: 'net.ipv4.ip_forward=0, fs.protected_regular=2',
      now: 'net.ipv4.ip_forward=1, fs.protected_regular=0',
    });
    expect(lines.join('\n')).toContain('fs.protected_regular changed from 2 to 0');
  });

  test('sysctls: a missing key (no br_netfilter) fails', () => {
    const check = checkSysctls(fakeProbe({ files: {}, programs: {} }), noLog, {
      'net.bridge.bridge-nf-call-iptables': '1',
    });
    expect(check.passed).toBe(false);
    expect(check.evidence).toContain('not available');
  });

  test('swap: allowed only when the kubelet runs with failSwapOn: false', () => {
    const swapOn = () =>
      fakeProbe({
        files: { '/proc/swaps': 'Filename Type Size Used Priority\n/dev/vdb partition 1024 0 -2\n' },
        programs: {},
      });
    const allowed = checkSwap(swapOn(), { source: 'kubelet.yaml', failSwapOn: false });
    expect(allowed.passed, allowed.evidence).toBe(true);
    expect(allowed.evidence).toContain('/dev/vdb');
    for (const failSwapOn of [true, undefined]) {
      const refused = checkSwap(swapOn(), { source: 'kubelet.yaml', failSwapOn });
      expect(refused.passed, `swap on with failSwapOn ${failSwapOn} must fail`).toBe(false);
      expect(refused.evidence).toContain('swapoff -a');
    }
    const off = checkSwap(fakeProbe({ files: { '/proc/swaps': 'Filename\n' }, programs: {} }), {
      source: 'kubelet.yaml',
      failSwapOn: undefined,
    });
    expect(off.passed, off.evidence).toBe(true);
    expect(off.evidence).toContain('no swap active');
  });

  test("the running kubelet's setting: the flag wins over its config file; other processes are not asked", async () => {
    const host = (cmdline: string[]): FakeHost => ({
      files: {
        '/proc/42/cmdline': `${cmdline.join('\0')}\0`,
        '/etc/k/kubelet.yaml': 'kind: KubeletConfiguration\nfailSwapOn: false\n',
      },
      programs: {},
      onRun: () => ({ exitCode: 0, stdout: '42\n', stderr: '' }),
    });
    expect(
      await runningKubeletSwapSetting(fakeProbe(host(['kubelet', '--config=/etc/k/kubelet.yaml'])), new Set([42])),
    ).toEqual({
      source: 'kubelet pid 42, /etc/k/kubelet.yaml',
      failSwapOn: false,
    });
    expect(
      (
        await runningKubeletSwapSetting(
          fakeProbe(host(['kubelet', '--config', '/etc/k/kubelet.yaml', '--fail-swap-on=true'])),
          new Set([42]),
        )
      )?.failSwapOn,
    ).toBe(true);
    expect(await runningKubeletSwapSetting(fakeProbe(host(['kubelet'])), new Set([42]))).toEqual({
      source: 'kubelet pid 42 (no readable --config file)',
      failSwapOn: undefined,
    });
    expect(await runningKubeletSwapSetting(fakeProbe(host(['kubelet'])), new Set([7]))).toBeUndefined();
    expect(failSwapOnOf('{"failSwapOn": true}')).toBe(true);
    expect(failSwapOnOf('kind: KubeletConfiguration\n')).toBeUndefined();
  });

  test('tools: missing ones are installed with apt-get', async () => {
    const host: FakeHost = {
      files: {},
      programs: { iptables: '/usr/sbin/iptables', 'apt-get': '/usr/bin/apt-get' },
      onRun: (_program, args, h) => {
        if (args[0] === 'install') for (const name of args.slice(3)) h.programs[name] = `/usr/sbin/${name}`;
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    };
    const probe = fakeProbe(host);
    const check = await checkTools(probe, noLog);
    expect(probe.runs).toEqual([
      '/usr/bin/apt-get update',
      '/usr/bin/apt-get install -y --no-install-recommends conntrack socat',
    ]);
    expect(check.passed).toBe(true);
    expect(check.fixed).toEqual({ previous: 'missing: conntrack, socat', now: 'installed: conntrack, socat' });
  });

  test('tools: without apt-get the check fails and says what to install', async () => {
    const check = await checkTools(fakeProbe({ files: {}, programs: {} }), noLog);
    expect(check.passed).toBe(false);
    expect(check.evidence).toContain('install conntrack socat iptables yourself');
  });

  test('disk: at least 10 GiB free', () => {
    expect(checkDisk(fakeProbe({ files: {}, programs: {}, free: 11 * 1024 ** 3 }), '/var/lib').passed).toBe(true);
    const low = checkDisk(fakeProbe({ files: {}, programs: {}, free: 3 * 1024 ** 3 }), '/var/lib');
    expect(low.passed).toBe(false);
    expect(low.evidence).toBe('3.0 GiB free on the file system of /var/lib (need 10.0 GiB)');
  });

  test('ports: busy ports name their holder; ports held by the reused cluster count as ours', () => {
    const host: FakeHost = {
      files: { '/proc/net/tcp': PROC_TCP, '/proc/net/tcp6': PROC_TCP6 },
      programs: {},
      owners: { '777': { pid: 4242, command: '/usr/bin/kube-apiserver --secure-port=6443' } },
    };
    const busy = checkPorts(fakeProbe(host), [6443, 2379]);
    expect(busy.passed).toBe(false);
    expect(busy.evidence).toContain('6443: IN USE: 0:0:0:0:0:0:0:0 by PID 4242 (/usr/bin/kube-apiserver');
    expect(busy.evidence).toContain('2379: free');
    const reused = checkPorts(fakeProbe(host), [6443], new Set([4242]));
    expect(reused.passed).toBe(true);
    expect(reused.evidence).toContain('in use by the cluster this suite is reusing');
  });

  test('prepareHost runs every check even after a failure and lists the failures', async () => {
    const probe = fakeProbe({ files: {}, programs: {}, uid: 1000, free: 1 });
    const checks = await prepareHost({ ports: [], diskPath: '/' }, noLog, probe);
    expect(checks.map((c) => c.id)).toEqual(['HOST-01', 'HOST-02', 'HOST-03', 'HOST-05', 'HOST-06', 'HOST-07']);
    const failures = describeFailures(checks);
    expect(failures.some((f) => f.startsWith('HOST-01'))).toBe(true);
    expect(failures.some((f) => f.startsWith('HOST-06'))).toBe(true);
    expect(failures.some((f) => f.startsWith('HOST-07'))).toBe(false);
  });
});
