// Least privilege of the workload's pod (POD-12), judged twice: on the running pod as the apiserver holds it, and
// from inside its container (what the kernel applies to the processes: /proc/<pid>/status, /proc/self/mountinfo).
// Each function returns the problems found, one sentence each (expected, then seen); none means it holds.
import type { V1Container, V1Pod, V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';

export interface LeastPrivilegeExpectation {
  /** The container judged. */
  container: string;
  /** The only host directory the pod may mount: the SPIRE agent's socket directory, read-only. */
  socketDir: string;
  /** The only host file it may mount: the agent binary (seed parity), read-only. */
  agentBinary: string;
  /** The one writable path, an emptyDir: where the SVID files go. */
  writableDir: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A setting of the container's securityContext, else the pod's (the container's wins, as the kubelet applies it). */
function effective<K extends keyof V1SecurityContext & keyof V1PodSecurityContext>(
  pod: V1PodSecurityContext | undefined,
  container: V1SecurityContext | undefined,
  key: K,
): V1SecurityContext[K] | V1PodSecurityContext[K] {
  return container?.[key] ?? pod?.[key];
}

/** The running pod's spec and status, as the apiserver returns them. */
export function podSpecProblems(pod: V1Pod, expected: LeastPrivilegeExpectation): string[] {
  const spec = pod.spec;
  const name = pod.metadata?.name ?? '(unnamed)';
  if (!spec) return [`expected pod ${name} to have a spec; it has none`];
  const container: V1Container | undefined = spec.containers.find((c) => c.name === expected.container);
  if (!container) return [`expected pod ${name} to have a container ${expected.container}; it has none`];
  const problems: string[] = [];
  const expect = (ok: boolean, sentence: string) => {
    if (!ok) problems.push(sentence);
  };
  const podContext = spec.securityContext;
  const context = container.securityContext;

  expect(
    spec.automountServiceAccountToken === false,
    `expected automountServiceAccountToken: false; it is ${spec.automountServiceAccountToken ?? 'unset (mounted)'}`,
  );
  const tokenVolumes = (spec.volumes ?? []).filter((v) =>
    v.projected?.sources?.some((source) => source.serviceAccountToken !== undefined),
  );
  expect(
    tokenVolumes.length === 0,
    `expected no service-account token volume; the pod has ${tokenVolumes.map((v) => v.name).join(', ')}`,
  );
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    expect(spec[key] !== true, `expected ${key} unset or false; it is true`);

  const runAsNonRoot = effective(podContext, context, 'runAsNonRoot');
  expect(runAsNonRoot === true, `expected runAsNonRoot: true; it is ${runAsNonRoot ?? 'unset'}`);
  const uid = effective(podContext, context, 'runAsUser');
  expect(uid !== undefined && uid !== 0, `expected a non-root runAsUser; it is ${uid ?? 'unset (the image decides)'}`);
  const gid = effective(podContext, context, 'runAsGroup');
  expect(gid !== undefined && gid !== 0, `expected a non-root runAsGroup; it is ${gid ?? 'unset (the image decides)'}`);
  expect(context?.privileged !== true, 'expected the container not privileged; it is privileged: true');
  expect(
    context?.allowPrivilegeEscalation === false,
    `expected allowPrivilegeEscalation: false; it is ${context?.allowPrivilegeEscalation ?? 'unset (allowed)'}`,
  );
  const drop = context?.capabilities?.drop ?? [];
  const add = context?.capabilities?.add ?? [];
  expect(drop.includes('ALL'), `expected capabilities.drop to contain ALL; it is [${drop.join(', ')}]`);
  expect(add.length === 0, `expected no capability added; capabilities.add is [${add.join(', ')}]`);
  const seccomp = effective(podContext, context, 'seccompProfile')?.type;
  expect(seccomp === 'RuntimeDefault', `expected seccompProfile RuntimeDefault; it is ${seccomp ?? 'unset'}`);
  expect(
    context?.readOnlyRootFilesystem === true,
    `expected readOnlyRootFilesystem: true; it is ${context?.readOnlyRootFilesystem ?? 'unset (writable)'}`,
  );

  // From the host: the socket directory and the agent binary, read-only; nothing else.
  const allowed = new Set([expected.socketDir, expected.agentBinary]);
  const hostPaths = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined);
  for (const volume of hostPaths) {
    const path = volume.hostPath?.path ?? '';
    expect(
      allowed.has(path),
      `expected no hostPath but ${[...allowed].join(' and ')}; volume ${volume.name} mounts ${path} from the host`,
    );
  }
  const mounts = container.volumeMounts ?? [];
  for (const mount of mounts.filter((m) => hostPaths.some((v) => v.name === m.name)))
    expect(
      mount.readOnly === true,
      `expected the hostPath volume ${mount.name} mounted readOnly at ${mount.mountPath}; it is writable`,
    );
  const socketMounted = mounts.some(
    (m) => m.mountPath === expected.socketDir && hostPaths.some((v) => v.name === m.name),
  );
  expect(socketMounted, `expected the agent socket directory ${expected.socketDir} mounted from the host; it is not`);
  const writable = mounts.find((m) => m.mountPath === expected.writableDir);
  const writableVolume = spec.volumes?.find((v) => v.name === writable?.name);
  expect(
    writableVolume?.emptyDir !== undefined,
    `expected ${expected.writableDir} to be an emptyDir volume; it is ${writable ? `volume ${writable.name}` : 'not mounted'}`,
  );

  const status = pod.status?.containerStatuses?.find((s) => s.name === expected.container);
  expect(
    status?.state?.running !== undefined,
    `expected container ${expected.container} running; its state is ${JSON.stringify(status?.state ?? {})}`,
  );
  return problems;
}

/** The fields of /proc/<pid>/status, e.g. `Uid` → `10001\t10001\t10001\t10001`. */
export function parseProcStatus(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

const NO_CAPABILITIES = /^0+$/;

/** What the kernel applies to one process of the container (`who` names it in the sentences). */
export function processProblems(statusText: string, who: string): string[] {
  const fields = parseProcStatus(statusText);
  const problems: string[] = [];
  const uids = (fields.get('Uid') ?? '').split(/\s+/).filter(Boolean);
  const gids = (fields.get('Gid') ?? '').split(/\s+/).filter(Boolean);
  if (uids.length !== 4 || uids.includes('0'))
    problems.push(`expected ${who} to run with no root user id (real, effective, saved, fs); Uid: ${uids.join(' ')}`);
  if (gids.length !== 4 || gids.includes('0'))
    problems.push(`expected ${who} to run with no root group id; Gid: ${gids.join(' ')}`);
  if (fields.get('NoNewPrivs') !== '1')
    problems.push(`expected ${who} to have NoNewPrivs: 1 (no privilege escalation); it is ${fields.get('NoNewPrivs')}`);
  if (fields.get('Seccomp') !== '2')
    problems.push(`expected ${who} to have Seccomp: 2 (a filter, RuntimeDefault); it is ${fields.get('Seccomp')}`);
  for (const set of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) {
    const value = fields.get(set) ?? '(missing)';
    if (!NO_CAPABILITIES.test(value)) problems.push(`expected ${who} to have ${set} 0000000000000000; it is ${value}`);
  }
  return problems;
}

export interface Mount {
  mountPoint: string;
  /** Per-mount options: `ro` or `rw` first. */
  options: string[];
  fsType: string;
  source: string;
}

/** /proc/<pid>/mountinfo, one entry per line (mount points unescaped). */
export function parseMountInfo(text: string): Mount[] {
  const unescapeOctal = (field: string) =>
    field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text
    .split('\n')
    .filter((line) => line.includes(' - '))
    .map((line) => {
      const [before = '', after = ''] = line.split(' - ');
      const fields = before.split(' ');
      const [fsType = '', source = ''] = after.split(' ');
      return {
        mountPoint: unescapeOctal(fields[4] ?? ''),
        options: (fields[5] ?? '').split(','),
        fsType,
        source: unescapeOctal(source),
      };
    });
}

/** The container's mounts: root read-only, the socket directory read-only, the writable directory writable, no token. */
export function mountProblems(mountinfo: string, expected: LeastPrivilegeExpectation): string[] {
  const mounts = parseMountInfo(mountinfo);
  const last = (point: string) => mounts.filter((m) => m.mountPoint === point).at(-1); // the top one counts
  const problems: string[] = [];
  const mode = (point: string) => last(point)?.options[0] ?? 'not mounted';
  if (mode('/') !== 'ro') problems.push(`expected the root file system mounted ro; it is ${mode('/')}`);
  if (mode(expected.socketDir) !== 'ro')
    problems.push(
      `expected the agent socket directory ${expected.socketDir} mounted ro; it is ${mode(expected.socketDir)}`,
    );
  if (mode(expected.writableDir) !== 'rw')
    problems.push(`expected ${expected.writableDir} mounted rw (the SVID files); it is ${mode(expected.writableDir)}`);
  const secrets = mounts.filter((m) => m.mountPoint.includes('/secrets/kubernetes.io/'));
  if (secrets.length > 0)
    problems.push(`expected no service-account mount; mounted: ${secrets.map((m) => m.mountPoint).join(', ')}`);
  return problems;
}

/** A write the read-only root must refuse: the command failed, and for that reason (EROFS), not for lack of rights. */
export function readOnlyWriteProblem(path: string, exitCode: number, output: string): string | undefined {
  if (exitCode === 0) return `expected writing ${path} to fail (read-only root file system); it succeeded`;
  if (!output.includes('Read-only file system'))
    return `expected writing ${path} to fail with "Read-only file system" (EROFS); it failed otherwise: ${output.trim()}`;
  return undefined;
}
