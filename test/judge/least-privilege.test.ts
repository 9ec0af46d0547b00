// POD-12's judge: each rule of least privilege is found broken on a pod, a process or a mount table that breaks it,
// and nothing is found on the hardened ones.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import {
  type LeastPrivilegeExpectation,
  mountProblems,
  parseMountInfo,
  podSpecProblems,
  processProblems,
  readOnlyWriteProblem,
} from '../../lib/least-privilege.ts';

const EXPECTED: LeastPrivilegeExpectation = {
  container: 'mtls-app',
  socketDir: '/tmp/spire-agent/public',
  agentBinary: '/var/cache/spire/bin/spire-agent',
  writableDir: '/app',
};

function hardenedPod(): V1Pod {
  return {
    metadata: { name: 'mtls-app-1' },
    spec: {
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'mtls-app',
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [
            { name: 'spire-agent-socket', mountPath: '/tmp/spire-agent/public', readOnly: true },
            { name: 'svid-files', mountPath: '/app' },
            { name: 'spire-agent-binary', mountPath: '/opt/spire/bin/spire-agent', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'svid-files', emptyDir: { medium: 'Memory' } },
        { name: 'spire-agent-socket', hostPath: { path: '/tmp/spire-agent/public', type: 'Directory' } },
        { name: 'spire-agent-binary', hostPath: { path: '/var/cache/spire/bin/spire-agent', type: 'File' } },
      ],
    },
    status: {
      containerStatuses: [
        {
          name: 'mtls-app',
          image: 'mtls-demo-image',
          imageID: '',
          ready: true,
          restartCount: 0,
          state: { running: {} },
        },
      ],
    },
  };
}

/** The parts of the test pod that the cases change (present in hardenedPod()). */
function parts(pod: V1Pod) {
  const spec = pod.spec;
  const container = spec?.containers[0];
  const context = container?.securityContext;
  const podContext = spec?.securityContext;
  const mounts = container?.volumeMounts;
  const volumes = spec?.volumes;
  if (!spec || !context || !podContext || !mounts?.[0] || !volumes) throw new Error('the test pod lost a part');
  return { spec, context, podContext, mounts, volumes, socketMount: mounts[0] };
}

describe('podSpecProblems (the pod as the apiserver holds it)', () => {
  test('finds nothing on the hardened pod', () => {
    expect(podSpecProblems(hardenedPod(), EXPECTED)).toEqual([]);
  });

  test.each<[string, (pod: V1Pod) => void, RegExp]>([
    ['token mounted', (p) => (parts(p).spec.automountServiceAccountToken = undefined), /automountServiceAccountToken/],
    ['root user', (p) => (parts(p).podContext.runAsUser = 0), /non-root runAsUser; it is 0/],
    ['runAsNonRoot off', (p) => (parts(p).podContext.runAsNonRoot = false), /runAsNonRoot: true; it is false/],
    ['privileged', (p) => (parts(p).context.privileged = true), /privileged: true/],
    [
      'escalation allowed',
      (p) => (parts(p).context.allowPrivilegeEscalation = undefined),
      /allowPrivilegeEscalation: false; it is unset/,
    ],
    ['capabilities kept', (p) => (parts(p).context.capabilities = {}), /drop to contain ALL/],
    [
      'capability added',
      (p) => (parts(p).context.capabilities = { drop: ['ALL'], add: ['NET_ADMIN'] }),
      /capabilities.add is \[NET_ADMIN\]/,
    ],
    [
      'seccomp unconfined on the container',
      (p) => (parts(p).context.seccompProfile = { type: 'Unconfined' }),
      /seccompProfile RuntimeDefault; it is Unconfined/,
    ],
    [
      'writable root',
      (p) => (parts(p).context.readOnlyRootFilesystem = false),
      /readOnlyRootFilesystem: true; it is false/,
    ],
    ['host network', (p) => (parts(p).spec.hostNetwork = true), /hostNetwork unset or false/],
    [
      'socket mounted writable',
      (p) => (parts(p).socketMount.readOnly = false),
      /spire-agent-socket mounted readOnly at \/tmp\/spire-agent\/public; it is writable/,
    ],
    [
      'another hostPath',
      (p) => parts(p).volumes.push({ name: 'host-root', hostPath: { path: '/' } }),
      /volume host-root mounts \/ from the host/,
    ],
    [
      '/app not an emptyDir',
      (p) => (parts(p).volumes[0] = { name: 'svid-files', hostPath: { path: '/srv/app' } }),
      /\/app to be an emptyDir volume/,
    ],
  ])('finds %s', (_, breakIt, problem) => {
    const pod = hardenedPod();
    breakIt(pod);
    const problems = podSpecProblems(pod, EXPECTED);
    expect(
      problems.some((p) => problem.test(p)),
      `problems: ${problems.join(' | ')}`,
    ).toBe(true);
  });
});

const HARDENED_STATUS = `Name:\tnode
Uid:\t10001\t10001\t10001\t10001
Gid:\t10001\t10001\t10001\t10001
NoNewPrivs:\t1
Seccomp:\t2
Seccomp_filters:\t1
CapInh:\t0000000000000000
CapPrm:\t0000000000000000
CapEff:\t0000000000000000
CapBnd:\t0000000000000000
CapAmb:\t0000000000000000
`;

describe('processProblems (/proc/<pid>/status)', () => {
  test('finds nothing on a hardened process', () => {
    expect(processProblems(HARDENED_STATUS, 'PID 1')).toEqual([]);
  });

  test('finds root, escalation, no seccomp and capabilities', () => {
    const root = HARDENED_STATUS.replace(/Uid:.*/, 'Uid:\t0\t0\t0\t0')
      .replace('NoNewPrivs:\t1', 'NoNewPrivs:\t0')
      .replace('Seccomp:\t2', 'Seccomp:\t0')
      .replace(/CapEff:.*/, 'CapEff:\t00000000a80425fb');
    expect(processProblems(root, 'PID 1')).toEqual([
      'expected PID 1 to run with no root user id (real, effective, saved, fs); Uid: 0 0 0 0',
      'expected PID 1 to have NoNewPrivs: 1 (no privilege escalation); it is 0',
      'expected PID 1 to have Seccomp: 2 (a filter, RuntimeDefault); it is 0',
      'expected PID 1 to have CapEff 0000000000000000; it is 00000000a80425fb',
    ]);
  });
});

const MOUNTINFO = [
  '1200 1100 0:52 / / ro,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w',
  '1201 1200 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '1210 1200 0:60 / /app rw,relatime - tmpfs tmpfs rw,size=1024k',
  '1211 1200 8:1 /tmp/spire-agent/public /tmp/spire-agent/public ro,relatime - ext4 /dev/sda1 rw',
  '1212 1200 8:1 /var/cache/spire/bin/spire-agent /opt/spire/bin/spire-agent ro,relatime - ext4 /dev/sda1 rw',
].join('\n');

describe('mountProblems (/proc/self/mountinfo)', () => {
  test('parses mount points and per-mount options', () => {
    const mounts = parseMountInfo('36 35 98:0 /a /with\\040space rw,noatime master:1 - ext3 /dev/root rw');
    expect(mounts).toEqual([
      { mountPoint: '/with space', options: ['rw', 'noatime'], fsType: 'ext3', source: '/dev/root' },
    ]);
  });

  test('finds nothing on the hardened container', () => {
    expect(mountProblems(MOUNTINFO, EXPECTED)).toEqual([]);
  });

  test('finds a writable root, a writable socket directory and a service-account token', () => {
    const broken = MOUNTINFO.replace('/ / ro,', '/ / rw,')
      .replace('/tmp/spire-agent/public ro,', '/tmp/spire-agent/public rw,')
      .concat('\n1213 1200 0:61 / /var/run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs tmpfs rw');
    expect(mountProblems(broken, EXPECTED)).toEqual([
      'expected the root file system mounted ro; it is rw',
      'expected the agent socket directory /tmp/spire-agent/public mounted ro; it is rw',
      'expected no service-account mount; mounted: /var/run/secrets/kubernetes.io/serviceaccount',
    ]);
  });
});

describe('readOnlyWriteProblem', () => {
  test('wants the write to fail with EROFS, not to succeed nor to fail for another reason', () => {
    expect(readOnlyWriteProblem('/x', 1, "touch: cannot touch '/x': Read-only file system")).toBeUndefined();
    expect(readOnlyWriteProblem('/x', 0, '')).toMatch(/it succeeded/);
    expect(readOnlyWriteProblem('/x', 1, "touch: cannot touch '/x': Permission denied")).toMatch(
      /failed otherwise: touch: cannot touch '\/x': Permission denied/,
    );
  });
});
