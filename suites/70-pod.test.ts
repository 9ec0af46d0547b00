// Phase 70: inside the pod, the seed's post-deployment testing: logs, exec, the SVID files (judged by the inspector;
// the key is read into memory to be checked against the certificate, never kept), the mounts, the manual client.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { clusterProvider, kube } from '../fixtures/cluster-context.ts';
import { type ControlContext, control } from '../fixtures/control.ts';
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
import { podWiringProblems, staleFiles } from '../lib/flannel-wiring.ts';
import { inspectSvid, renderFindingsTable, renderSummary } from '../lib/svid-inspector.ts';
import { waitFor } from '../lib/wait.ts';

const SVID_DIR = '/app';
const AGENT_BINARY_IN_POD = '/opt/spire/bin/spire-agent';

/** Runs a command in the workload container of the pod (DEPLOY-03's handle). */
const exec = ({ run, need }: ControlContext, command: string[]) =>
  execInPod(kube(run), need('pod').namespace, need('pod').name, run.config.workload.container, command);

const logs = ({ run, need }: ControlContext) =>
  podLogs(kube(run), need('pod').namespace, need('pod').name, run.config.workload.container);

const count = (text: string, needle: string) => text.split(needle).length - 1;

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
  expect(text).toContain('[SVID Fetch] Calling SPIRE Agent API');
  expect(text).toContain(`SPIFFE ID: ${run.config.workloadSpiffeId}`);
});

control('POD-02', async (context) => {
  const { run, evidence } = context;
  const text = await waitForLog(
    context,
    `[Server] Secure mTLS Server listening on 0.0.0.0:${run.config.workload.port}`,
  );
  await evidence('pod.log', text);
  expect(text).toContain('[Server] Secure mTLS Server listening');
});

control('POD-03', async (context) => {
  const { evidence } = context;
  const result = await exec(context, ['id']);
  await evidence('exec-id.txt', `$ id\n${result.stdout}${result.stderr}exit ${result.exitCode}`);
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toMatch(/uid=\d+/);
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
  const { run, evidence } = context;
  const read = async (file: string) => {
    const result = await exec(context, ['cat', `${SVID_DIR}/${file}`]);
    if (result.exitCode !== 0) throw new Error(`cannot read ${file} in the pod: ${result.stderr}`);
    return result.stdout;
  };
  const [chainPem, keyPem, bundlePem] = [
    await read('svid.0.pem'),
    await read('svid.0.key'),
    await read('bundle.0.pem'),
  ];
  const report = inspectSvid({
    chainPem,
    keyPem,
    bundlePem,
    expectedSpiffeId: run.config.workloadSpiffeId,
    expectedTrustDomain: run.config.trustDomain,
  });
  await evidence('svid.0.pem', chainPem, 'application/x-pem-file');
  await evidence('bundle.0.pem', bundlePem, 'application/x-pem-file');
  await evidence('svid-summary.txt', renderSummary(report.summary));
  await evidence('svid-findings.md', renderFindingsTable(report), 'text/markdown');
  expect(report.findings.filter((f) => !f.passed).map((f) => `${f.id}: ${f.detail}`)).toEqual([]);
});

control('POD-06', async (context) => {
  const { run, evidence } = context;
  const socket = run.config.spire.agentSocket;
  const result = await exec(context, ['stat', '-c', '%F %a %n', socket]);
  await evidence('socket-in-pod.txt', result.stdout + result.stderr);
  expect(result.stdout).toMatch(/^socket 777 /);
});

control('POD-07', async (context) => {
  const { evidence } = context;
  const mounts = await exec(context, ['cat', '/proc/mounts']);
  const line = mounts.stdout.split('\n').find((l) => l.split(' ')[1] === AGENT_BINARY_IN_POD) ?? '';
  const version = await exec(context, [AGENT_BINARY_IN_POD, '--version']);
  await evidence(
    'agent-binary-mount.txt',
    `${line || '(not mounted)'}\n$ spire-agent --version\n${version.stdout}${version.stderr}`,
  );
  expect(line.split(' ')[3]?.split(','), 'the agent binary must be mounted read-only').toContain('ro');
});

control('POD-08', async (context) => {
  const { run, evidence } = context;
  const before = count(await logs(context), '[Server] ✅ VERIFIED CLIENT IDENTITY');
  const result = await exec(context, [
    'node',
    '/opt/mtls-demo/src/main.ts',
    'client',
    '--connect',
    `127.0.0.1:${run.config.workload.port}`,
  ]);
  context.provide('podClient', {
    output: result.stdout + result.stderr,
    exitCode: result.exitCode,
    verifiedBefore: before,
  });
  await evidence('client-in-pod.txt', result.stdout + result.stderr);
  expect(result.stdout).toContain('[Client] Server Replied: Secure Hello from SPIRE Server!');
  expect(result.exitCode).toBe(0);
});

control('POD-09', async (context) => {
  const { run, evidence } = context;
  const client = context.need('podClient');
  const text = await logs(context);
  await evidence('pod.log', text);
  expect(client.output).toContain(`[Client] ✅ VERIFIED SERVER IDENTITY: ${run.config.workloadSpiffeId}`);
  expect(count(text, `[Server] ✅ VERIFIED CLIENT IDENTITY: ${run.config.workloadSpiffeId}`)).toBeGreaterThan(
    client.verifiedBefore,
  );
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
