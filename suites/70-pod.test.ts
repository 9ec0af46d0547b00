// Phase 70: inside the pod, the seed's post-deployment testing: logs, exec, the SVID files (judged by the inspector;
// the key is read into memory to be checked against the certificate, never kept), the mounts, the manual client.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { SPIRE_VERSION_PATTERN } from '../fixtures/artifacts/spire.ts';
import { versions } from '../fixtures/artifacts/versions.ts';
import { clusterProvider, kube } from '../fixtures/cluster-context.ts';
import { type ControlContext, control } from '../fixtures/control.ts';
import { describeExchange, readExchangeFromServerLog } from '../fixtures/exchange-log.ts';
import {
  clusterStartedAt,
  FLANNEL_CONFLIST,
  FLANNEL_STATE_DIR,
  FLANNEL_SUBNET_ENV,
  flannelSandboxes,
  hostFile,
  ipAllocation,
} from '../fixtures/flannel-files.ts';
import { execInPod, podLogs } from '../fixtures/kube.ts';
import { judgeServedSvid, judgeSvidFiles } from '../fixtures/svid-files.ts';
import { podWiringProblems, staleFiles } from '../lib/flannel-wiring.ts';
import {
  type LeastPrivilegeExpectation,
  mountProblems,
  podSpecProblems,
  processProblems,
  readOnlyWriteProblem,
  SERVICE_ACCOUNT_DIR,
} from '../lib/least-privilege.ts';
import { waitFor } from '../lib/wait.ts';
import { countExact, logLines, svidFetchProblems, verifiedClientIds, verifiedServerIds } from '../lib/workload-log.ts';

const SVID_DIR = '/app';
const AGENT_BINARY_IN_POD = '/opt/spire/bin/spire-agent';

/** Runs a command in the workload container of the pod (DEPLOY-03's handle). */
const exec = ({ run, need }: ControlContext, command: string[]) =>
  execInPod(kube(run), need('pod').namespace, need('pod').name, run.config.workload.container, command);

/** Reads a file of the workload's SVID directory in the pod. */
async function readInPod(context: ControlContext, file: string): Promise<string> {
  const result = await exec(context, ['cat', `${SVID_DIR}/${file}`]);
  if (result.exitCode !== 0)
    throw new Error(`expected to read ${SVID_DIR}/${file} in the pod; cat exited ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

const logs = ({ run, need }: ControlContext) =>
  podLogs(kube(run), need('pod').namespace, need('pod').name, run.config.workload.container);

const REPLY_LINE = '[Client] Server Replied: Secure Hello from SPIRE Server!';
/** How long a line the server wrote may take to show in the pod log read through the API. */
const LOG_SETTLE_MS = 30_000;

/** Waits (bounded) for a line in the pod log. */
function waitForLog(context: ControlContext, line: string): Promise<string> {
  const { run } = context;
  return waitFor(
    `"${line}" in the pod log`,
    async () => {
      const text = await logs(context);
      return text.includes(line)
        ? { done: true, value: text }
        : { done: false, status: text.trim().split('\n').at(-1) ?? '' };
    },
    { timeoutMs: run.config.timeouts.containerReadySeconds * 1000, onProgress: (l) => run.log(l) },
  );
}

control('POD-01', async (context) => {
  const { run, evidence } = context;
  const text = await waitForLog(context, '✅ Successfully fetched SVIDs!');
  await evidence('pod.log', text);
  expect(
    svidFetchProblems(text, run.config.workloadSpiffeId),
    `expected the pod log to show the SVID fetch of ${run.config.workloadSpiffeId} (log attached)`,
  ).toEqual([]);
});

control('POD-02', async (context) => {
  const { run, evidence } = context;
  const text = await waitForLog(
    context,
    `[Server] Secure mTLS Server listening on 0.0.0.0:${run.config.workload.port}`,
  );
  await evidence('pod.log', text);
  expect(text, 'expected the pod log to show "[Server] Secure mTLS Server listening"').toContain(
    '[Server] Secure mTLS Server listening',
  );
});

control('POD-03', async (context) => {
  const { evidence } = context;
  const result = await exec(context, ['id']);
  await evidence('exec-id.txt', `$ id\n${result.stdout}${result.stderr}exit ${result.exitCode}`);
  expect(
    result.exitCode,
    `expected \`id\` to run in the pod through the apiserver (exec); it exited ${result.exitCode}: ${result.stderr}`,
  ).toBe(0);
  expect(result.stdout, `expected \`id\` in the pod to print a uid; it printed: ${result.stdout}`).toMatch(/uid=\d+/);
});

control('POD-04', async (context) => {
  const { evidence } = context;
  const files = ['svid.0.pem', 'svid.0.key', 'bundle.0.pem'].map((f) => `${SVID_DIR}/${f}`);
  const result = await exec(context, ['stat', '-c', '%a %U %s %n', ...files]);
  await evidence('ls-app.txt', result.stdout + result.stderr);
  expect(result.exitCode, result.stderr).toBe(0);
  const keyLine = result.stdout.split('\n').find((line) => line.endsWith('/svid.0.key'));
  expect(keyLine?.split(' ')[0], 'the private key must be readable by its owner only').toBe('600');
});

control('POD-05', async (context) => {
  await judgeSvidFiles(context, (file) => readInPod(context, file), 'the pod');
});

control('POD-06', async (context) => {
  const { run, evidence } = context;
  const socket = run.config.spire.agentSocket;
  const result = await exec(context, ['stat', '-c', '%F %a %n', socket]);
  await evidence('socket-in-pod.txt', result.stdout + result.stderr);
  expect(
    result.stdout,
    `expected ${socket} in the pod to be a socket with mode 777; stat said: ${(result.stdout + result.stderr).trim() || '(nothing)'}`,
  ).toMatch(/^socket 777 /);
});

control('POD-07', async (context) => {
  const { evidence } = context;
  const mounts = await exec(context, ['cat', '/proc/mounts']);
  const line = mounts.stdout.split('\n').find((l) => l.split(' ')[1] === AGENT_BINARY_IN_POD);
  const version = await exec(context, [AGENT_BINARY_IN_POD, '--version']);
  const printed = `${version.stdout}${version.stderr}`.trim();
  await evidence(
    'agent-binary-mount.txt',
    `${line ?? '(not mounted)'}\n$ spire-agent --version\n${printed}\nexit ${version.exitCode}`,
  );
  const options = line?.split(' ')[3]?.split(',') ?? [];
  expect(
    line,
    `expected ${AGENT_BINARY_IN_POD} to be a mount point in the pod; /proc/mounts has no such entry`,
  ).toBeDefined();
  expect(
    options,
    `expected ${AGENT_BINARY_IN_POD} to be mounted read-only; its mount options are ${options.join(',')}`,
  ).toContain('ro');
  expect(
    version.exitCode,
    `expected \`${AGENT_BINARY_IN_POD} --version\` to run in the pod; it exited ${version.exitCode}: ${printed}`,
  ).toBe(0);
  expect(
    SPIRE_VERSION_PATTERN.test(printed),
    `expected the mounted agent to report SPIRE ${versions.spire.version}; it printed "${printed}"`,
  ).toBe(true);
});

control('POD-08', async (context) => {
  const { run, evidence } = context;
  const clientId = run.config.workloadSpiffeId;
  // Counted exactly (other clients, e.g. a kept pod-to-pod client, share the server), and marked by a message unique
  // to this run, so that POD-09 finds this exchange and no other.
  const verifiedBefore = countExact(verifiedClientIds(await logs(context)), clientId);
  const message = `POD-08 in-pod client ${randomUUID()}`;
  const result = await exec(context, [
    'node',
    '/opt/mtls-demo/src/main.ts',
    'client',
    '--connect',
    `127.0.0.1:${run.config.workload.port}`,
    '--message',
    message,
  ]);
  const output = result.stdout + result.stderr;
  context.provide('podClient', { output, exitCode: result.exitCode, clientId, message, verifiedBefore });
  await evidence('client-in-pod.txt', output);
  expect(
    logLines(result.stdout),
    `expected the in-pod client to print "${REPLY_LINE}"; it printed:\n${output}`,
  ).toContain(REPLY_LINE);
  expect(result.exitCode, `expected the in-pod client to exit 0; it exited ${result.exitCode}`).toBe(0);
});

control('POD-09', async (context) => {
  const { run, evidence, log } = context;
  const client = context.need('podClient');
  const serverId = run.config.workloadSpiffeId;
  // The server logs the exchange before it replies, but its log reaches the API by another path than the exec's
  // answer: read it until the exchange shows (bounded), then judge what was seen.
  const seen = await readExchangeFromServerLog(() => logs(context), client, {
    timeoutMs: LOG_SETTLE_MS,
    onProgress: log,
  });
  await evidence('pod.log', seen.log);
  log(describeExchange(seen, client));
  await evidence('exchange.txt', describeExchange(seen, client));
  expect(
    verifiedServerIds(client.output),
    `expected the in-pod client to log "[Client] ✅ VERIFIED SERVER IDENTITY: ${serverId}"; it verified: ` +
      `${verifiedServerIds(client.output).join(', ') || 'no server'}`,
  ).toContain(serverId);
  expect(
    seen.verified,
    `expected the server pod to log one more "[Server] ✅ VERIFIED CLIENT IDENTITY: ${client.clientId}" for the ` +
      `in-pod client; saw ${describeExchange(seen, client)}`,
  ).toBeGreaterThan(client.verifiedBefore);
  expect(
    seen.received,
    `expected the server pod to log the in-pod client's message as received (it does so only after verifying the ` +
      `client); saw ${describeExchange(seen, client)}`,
  ).toBe(true);
});

control('POD-10', async (context) => {
  const { run, evidence } = context;
  const pod = context.need('pod');
  // This cluster's Flannel: the lease in subnet.env and the plugin's state, both written since the cluster started.
  const started = await clusterStartedAt(await clusterProvider(run));
  const subnetEnv = existsSync(FLANNEL_SUBNET_ENV) ? readFileSync(FLANNEL_SUBNET_ENV, 'utf8') : '';
  const network = (JSON.parse(readFileSync(FLANNEL_CONFLIST, 'utf8')) as { name?: string }).name ?? '';
  const allocation = ipAllocation(network, pod.ip);
  const sandboxes = flannelSandboxes();
  const sandbox = allocation?.content.split(/\r?\n/)[0]?.trim();
  const files = [hostFile(FLANNEL_SUBNET_ENV), sandbox ? hostFile(join(FLANNEL_STATE_DIR, sandbox)) : undefined];
  const fresh = files.filter((file) => file !== undefined);
  await evidence(
    'pod-wiring.txt',
    [
      `pod ${pod.namespace}/${pod.name} IP ${pod.ip}`,
      `this cluster started at ${new Date(started.ms).toISOString()} (${started.source})`,
      `${FLANNEL_SUBNET_ENV}:\n${subnetEnv.trim()}`,
      `IPAM allocation: ${allocation ? `${allocation.path}: ${allocation.content.trim().replace(/\r?\n/g, ' ')}` : '(none)'}`,
      `${FLANNEL_STATE_DIR}: ${sandboxes.join(', ') || '(empty)'}`,
      ...fresh.map((file) => `${file.path} written at ${new Date(file.modifiedMs).toISOString()}`),
    ].join('\n'),
  );
  const problems = [
    ...podWiringProblems({
      podIp: pod.ip,
      podNetwork: '10.244.0.0/16',
      subnetEnv,
      allocation,
      flannelSandboxes: sandboxes,
      flannelStateDir: FLANNEL_STATE_DIR,
    }),
    ...staleFiles(fresh, started.ms, started.source),
  ];
  expect(
    problems,
    `pod ${pod.name} (${pod.ip}) should be wired by this cluster's Flannel: inside the leased subnet, with flannel ` +
      'plugin state for its sandbox, all written since the cluster started',
  ).toEqual([]);
});

control('POD-11', async (context) => {
  const pod = context.need('pod');
  // The host is the node: it reaches the pod network, so the suite's own TLS connection sees what any client sees.
  await judgeServedSvid(context, pod.ip, (file) => readInPod(context, file), `the server in pod ${pod.name}`);
});

// Least privilege of the running pod, from both sides: the apiserver's record of the pod (spec and status), and what
// the kernel applies inside the container, to the workload (PID 1) and to a command exec'd beside it.
control('POD-12', async (context) => {
  const { run, evidence } = context;
  const pod = context.need('pod');
  const expected: LeastPrivilegeExpectation = {
    container: run.config.workload.container,
    socketDir: dirname(run.config.spire.agentSocket),
    agentBinary: context.need('spireBinaries').agent,
    writableDir: SVID_DIR,
  };
  const live = await kube(run).core.readNamespacedPod({ name: pod.name, namespace: pod.namespace });
  const apiProblems = podSpecProblems(live, expected);
  await evidence(
    'pod-security-from-api.json',
    JSON.stringify(
      {
        automountServiceAccountToken: live.spec?.automountServiceAccountToken,
        hostNetwork: live.spec?.hostNetwork,
        hostPID: live.spec?.hostPID,
        hostIPC: live.spec?.hostIPC,
        podSecurityContext: live.spec?.securityContext,
        containers: live.spec?.containers.map((c) => ({
          name: c.name,
          securityContext: c.securityContext,
          volumeMounts: c.volumeMounts,
        })),
        volumes: live.spec?.volumes,
        containerStatuses: live.status?.containerStatuses?.map((s) => ({ name: s.name, state: s.state, user: s.user })),
      },
      null,
      2,
    ),
    'application/json',
  );

  const transcript: string[] = [];
  const step = async (command: string[]) => {
    const result = await exec(context, command);
    transcript.push(`$ ${command.join(' ')}\n${result.stdout}${result.stderr}exit ${result.exitCode}`);
    return result;
  };
  const id = await step(['id', '-u']);
  const workloadStatus = await step(['cat', '/proc/1/status']);
  const execStatus = await step(['cat', '/proc/self/status']);
  const mountinfo = await step(['cat', '/proc/self/mountinfo']);
  const writes = [await step(['touch', '/.pod-12-probe']), await step(['touch', '/tmp/.pod-12-probe'])];
  const token = await step(['ls', SERVICE_ACCOUNT_DIR]);
  await evidence('pod-security-in-container.txt', transcript.join('\n\n'));

  const uid = id.stdout.trim();
  const apiUid =
    live.spec?.containers.find((c) => c.name === expected.container)?.securityContext?.runAsUser ??
    live.spec?.securityContext?.runAsUser;
  const inside = [
    ...(id.exitCode !== 0 || !/^\d+$/.test(uid) || uid === '0'
      ? [`expected \`id -u\` in the container to print a non-root uid; it printed "${uid}" (exit ${id.exitCode})`]
      : []),
    ...(apiUid !== undefined && uid !== String(apiUid)
      ? [`expected \`id -u\` to print the pod's runAsUser ${apiUid}; it printed ${uid}`]
      : []),
    ...processProblems(workloadStatus.stdout, 'the workload (PID 1)'),
    ...processProblems(execStatus.stdout, 'a command exec’d in the container'),
    ...mountProblems(mountinfo.stdout, expected),
    ...[
      readOnlyWriteProblem('/.pod-12-probe', writes[0]?.exitCode ?? 0, `${writes[0]?.stdout}${writes[0]?.stderr}`),
      readOnlyWriteProblem('/tmp/.pod-12-probe', writes[1]?.exitCode ?? 0, `${writes[1]?.stdout}${writes[1]?.stderr}`),
    ].filter((problem) => problem !== undefined),
    ...(token.exitCode === 0
      ? [`expected no service-account token in the container; ${SERVICE_ACCOUNT_DIR} lists: ${token.stdout.trim()}`]
      : []),
  ];
  expect(
    apiProblems,
    `pod ${pod.name} as the apiserver holds it should be least-privileged: ${apiProblems.join('; ')}`,
  ).toEqual([]);
  expect(
    inside,
    `pod ${pod.name} seen from inside its container should be least-privileged: ${inside.join('; ')}`,
  ).toEqual([]);
});
