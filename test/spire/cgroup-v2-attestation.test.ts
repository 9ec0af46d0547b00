// cgroup v2 container attestation, simulated on this cgroup v1 host and judged by the real SPIRE agent (the provisioned
// 1.13 build, on sockets and a port of its own). The host's cgroup2 hierarchy has no controllers, but a process moved
// into a directory there gets a genuine `0::/…` line in /proc/<pid>/cgroup, which is all SPIRE's locators read. Two
// shapes of an Ubuntu 22.04 host (cgroup v2, systemd driver):
//   Docker:           0::/system.slice/docker-<id>.scope   (<id>: a REAL Docker container, created and never started)
//   containerd pod:   0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/cri-containerd-<id>.scope
// The agent is configured only as lib/cgroup.ts configures it for Docker's systemd driver. `spire-agent api fetch x509`
// runs inside each cgroup; the agent's selectors (its DEBUG log), the SVID it issues and the errors it logs show what
// each attestor made of each shape. The pod's kubelet is a stand-in (an HTTPS /pods answer with that pod): no kubelet
// runs pods on this host's cgroup2 hierarchy. Skipped where the cgroup2 hierarchy is the host's real one (a v2 host).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { provisionSpire } from '../../fixtures/artifacts/index.ts';
import { ensureDockerEngine } from '../../fixtures/docker-engine.ts';
import { EntryApi } from '../../fixtures/entry-api.ts';
import { hostCgroupMounts } from '../../fixtures/host-cgroups.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import { ensureEntry } from '../../fixtures/registration.ts';
import { ensureSpireAgent, ensureSpireServer, type SpireBinaries } from '../../fixtures/spire.ts';
import { cgroupVersionOf, dockerAttestorSettings, unifiedMountPoint } from '../../lib/cgroup.ts';
import { loadConfig, type SuiteConfig } from '../../lib/config.ts';
import { waitFor } from '../../lib/wait.ts';

const mounts = hostCgroupMounts();
const unified = unifiedMountPoint(mounts);
/** Only a hybrid host's cgroup2 hierarchy is empty (no controllers, no systemd in it) and free to simulate in. */
const simulable =
  cgroupVersionOf(mounts) === 'hybrid' &&
  unified !== undefined &&
  readFileSync(join(unified, 'cgroup.subtree_control'), 'utf8').trim() === '';

const POD_UID = '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b';
const K8S_CONTAINER_ID = 'c0ffee'.padEnd(64, '7');
const LABEL = 'org.spire-k8s-validation.cgroup-test';
const TOKEN = 'stand-in-kubelet-token';

const scratch = mkdtempSync(join(tmpdir(), 'cgroup-v2-'));
const ledger = new Ledger(join(scratch, 'ledger.json'));
const made: string[] = [];
let config: SuiteConfig;
let binaries: SpireBinaries;
let agentLog = '';
let dockerId = '';
let dockerCgroup = '';
let podCgroup = '';
let kubelet: Server | undefined;
const kubeletRequests: string[] = [];
const image = `spire-validation-cgroup-test:${process.pid}`;
const log = (line: string) => console.log(`[cgroup-v2] ${line}`);

/** Makes a cgroup directory and the missing parents, remembering them (deepest last) for removal. */
function makeCgroup(relative: string): string {
  let dir = unified as string;
  for (const part of relative.split('/').filter(Boolean)) {
    dir = join(dir, part);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      made.push(dir);
    }
  }
  return dir;
}

/** A shell that moves itself into the cgroup, prints its pid and its /proc/self/cgroup, then becomes `argv`. */
async function inCgroup(dir: string, argv: string[]) {
  const script = 'echo $$ > "$1/cgroup.procs" && echo "pid $$" && cat /proc/$$/cgroup && shift && exec "$@"';
  const result = await execa('sh', ['-c', script, 'sh', dir, ...argv], { reject: false, all: true, timeout: 30_000 });
  const pid = Number(/^pid (\d+)$/m.exec(result.stdout)?.[1]);
  return { pid, output: result.all ?? '', exitCode: result.exitCode };
}

const fetchX509 = (dir: string) =>
  inCgroup(dir, [binaries.agent, 'api', 'fetch', 'x509', '-socketPath', config.spire.agentSocket, '-timeout', '20s']);

/** The agent's log lines about one pid. */
const agentLines = (pid: number) =>
  readFileSync(agentLog, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`pid=${pid} `) || line.endsWith(`pid=${pid}`));

/** A stand-in kubelet: GET /pods with the bearer token answers one running pod holding K8S_CONTAINER_ID. */
async function startStandInKubelet(): Promise<number> {
  const key = join(scratch, 'kubelet.key');
  const cert = join(scratch, 'kubelet.crt');
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=stand-in-kubelet',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  const pods = {
    kind: 'PodList',
    items: [
      {
        metadata: { name: 'cgroup-v2-pod', namespace: 'cgroup-test', uid: POD_UID, labels: { app: 'cgroup-v2' } },
        spec: { serviceAccountName: 'cgroup-test', nodeName: 'stand-in-node', containers: [{ name: 'app' }] },
        status: {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'app',
              ready: true,
              image: 'cgroup-test/app:1',
              imageID: 'sha256:'.padEnd(71, '1'),
              containerID: `containerd://${K8S_CONTAINER_ID}`,
            },
          ],
        },
      },
    ],
  };
  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (request, response) => {
    kubeletRequests.push(`${request.method} ${request.url}`);
    if (request.headers.authorization !== `Bearer ${TOKEN}`) {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(request.url === '/pods' ? 200 : 404, { 'content-type': 'application/json' });
    response.end(request.url === '/pods' ? JSON.stringify(pods) : '{}');
  });
  kubelet = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the stand-in kubelet has no TCP address');
  return address.port;
}

describe.skipIf(!simulable)('cgroup v2 + systemd shapes, attested by the real spire-agent', () => {
  beforeAll(async () => {
    const base = loadConfig({
      env: { ...process.env, SPIRE_VALIDATION_OFFLINE: process.env.SPIRE_VALIDATION_OFFLINE },
    });
    config = {
      ...base,
      reportsDir: join(scratch, 'reports'),
      spire: {
        ...base.spire,
        mode: 'auto',
        serverSocket: join(scratch, 'server', 'api.sock'),
        agentSocket: join(scratch, 'agent', 'api.sock'),
        serverPort: 18097,
        workDir: join(scratch, 'work'),
      },
    };
    // A real Docker container (created, never started): dockerd knows its ID and labels.
    await ensureDockerEngine(config, ledger, log);
    await execa('docker', ['import', '-', image], { input: Buffer.alloc(1024) });
    const created = await execa('docker', ['create', '--label', `${LABEL}=docker`, image, '/none']);
    dockerId = created.stdout.trim();
    ledger.record({ kind: 'container', id: dockerId, name: 'cgroup v2 test container' });
    expect(dockerId, 'docker create prints the 64-hex container ID').toMatch(/^[0-9a-f]{64}$/);
    dockerCgroup = makeCgroup(`/system.slice/docker-${dockerId}.scope`);
    podCgroup = makeCgroup(
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replaceAll('-', '_')}.slice/` +
        `cri-containerd-${K8S_CONTAINER_ID}.scope`,
    );

    const port = await startStandInKubelet();
    const tokenPath = join(scratch, 'kubelet-token');
    writeFileSync(tokenPath, TOKEN, { mode: 0o600 });
    const spire = await provisionSpire(base, () => {});
    binaries = { server: spire.paths.server as string, agent: spire.paths.agent as string };
    const context = {
      config,
      binaries,
      ledger,
      log,
      // What a cgroup v2 host with Docker's systemd driver gets (lib/cgroup.ts), and nothing else.
      dockerDriver: 'systemd' as const,
      agentLogLevel: 'DEBUG' as const,
      kubelet: { nodeName: '127.0.0.1', securePort: port, caPath: undefined, client: { tokenPath } },
    };
    await ensureSpireServer(context);
    const agent = await ensureSpireAgent(context);
    agentLog = agent.component.logFile as string;
    const api = new EntryApi(config.spire.serverSocket);
    try {
      for (const [name, selector] of [
        ['docker', { type: 'docker', value: `label:${LABEL}:docker` }],
        ['k8s', { type: 'k8s', value: `pod-uid:${POD_UID}` }],
      ] as const)
        await ensureEntry(
          api,
          {
            spiffeId: `spiffe://${config.trustDomain}/cgroup-v2/${name}`,
            parentId: agent.agentId,
            selectors: [selector],
          },
          ledger,
        );
    } finally {
      api.close();
    }
  }, 300_000);

  afterAll(async () => {
    await ledger.stopAll(log);
    kubelet?.close();
    await execa('docker', ['rmi', image], { reject: false });
    for (const dir of [...made].reverse()) {
      try {
        rmdirSync(dir);
      } catch (error) {
        log(`cgroup ${dir} not removed: ${(error as Error).message}`);
      }
    }
  }, 120_000);

  test('the agent is configured only for a v2 host with the systemd driver', () => {
    const conf = readFileSync(join(config.spire.workDir, 'agent', 'agent.conf'), 'utf8');
    const docker = /WorkloadAttestor "docker" \{[\s\S]*?\n {2}\}/.exec(conf)?.[0] ?? '';
    expect(docker, 'the docker attestor uses the new locator and no legacy matcher').toContain(
      dockerAttestorSettings('systemd')[0],
    );
    expect(docker, 'no /docker/<id> matcher: it cannot read docker-<id>.scope').not.toContain(
      'container_id_cgroup_matchers',
    );
  });

  test('a process in the Docker shape: docker attests the real container; k8s ignores it (no kubelet request)', async () => {
    const before = kubeletRequests.length;
    const fetched = await waitFor(
      'an X.509-SVID for the process in the Docker shape',
      async () => {
        const result = await fetchX509(dockerCgroup);
        return result.exitCode === 0 ? { done: true, value: result } : { done: false, status: result.output };
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(fetched.output, 'its /proc/<pid>/cgroup has the genuine v2 line').toContain(
      `0::/system.slice/docker-${dockerId}.scope`,
    );
    expect(fetched.output, 'it gets the docker entry’s SVID').toContain(
      `spiffe://${config.trustDomain}/cgroup-v2/docker`,
    );
    expect(fetched.output, 'and not the pod’s').not.toContain('/cgroup-v2/k8s');
    const lines = agentLines(fetched.pid).join('\n');
    log(`agent log for pid ${fetched.pid}:\n${lines}`);
    expect(lines, "the agent's selectors include the container's Docker label").toContain(`label:${LABEL}:docker`);
    expect(lines, 'no k8s selector for a Docker container').not.toMatch(/type:\\?"k8s/);
    expect(lines, 'no attestor failed').not.toContain('Failed to collect all selectors');
    expect(kubeletRequests.length, 'the k8s attestor did not ask the kubelet about a Docker container').toBe(before);
  });

  test('a process in the containerd pod shape: k8s attests the pod; docker sees the ID and dockerd says "No such container"', async () => {
    const fetched = await waitFor(
      'an X.509-SVID for the process in the pod shape',
      async () => {
        const result = await fetchX509(podCgroup);
        return result.exitCode === 0 ? { done: true, value: result } : { done: false, status: result.output };
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(fetched.output, 'its /proc/<pid>/cgroup has the genuine v2 line').toContain(
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replaceAll('-', '_')}.slice/cri-containerd-${K8S_CONTAINER_ID}.scope`,
    );
    expect(fetched.output, 'it gets the pod entry’s SVID').toContain(`spiffe://${config.trustDomain}/cgroup-v2/k8s`);
    expect(fetched.output, 'and not the Docker one').not.toContain('/cgroup-v2/docker');
    expect(kubeletRequests, 'the k8s attestor asked the kubelet for its pods').toContain('GET /pods');
    const lines = agentLines(fetched.pid).join('\n');
    log(`agent log for pid ${fetched.pid}:\n${lines}`);
    expect(lines, 'the pod UID is read from the systemd rendering (underscores) back to its dashes').toContain(
      `pod-uid:${POD_UID}`,
    );
    expect(lines, 'the container is the one of the cgroup').toContain('container-name:app');
    expect(lines, 'no Docker selector for a containerd pod').not.toMatch(/type:\\?"docker/);
    // SPIRE 1.13's new locator takes any 64-hex segment: the docker attestor asks dockerd about the pod's container,
    // fails, and the agent logs it while keeping the other attestors' selectors. This is the cost of the systemd
    // driver (no legacy matcher can read docker-<id>.scope); the SVID above shows it does not block the pod.
    expect(lines, 'the docker attestor looked the pod container up in dockerd and failed').toMatch(
      new RegExp(`workload attestor \\\\?"docker\\\\?" failed.*${K8S_CONTAINER_ID}`),
    );
  });
});
