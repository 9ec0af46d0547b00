// cgroup v2 container attestation, simulated on this cgroup v1 host and judged by the real SPIRE agent (the provisioned
// 1.13 build, on sockets and a port of its own). The host's cgroup2 hierarchy has no controllers, but a process moved
// into a directory there gets a genuine `0::/…` line in /proc/<pid>/cgroup, which is all SPIRE's locators read. For
// each driver a v2 host may use, a process is placed in the shape of a Docker container (<id>: a REAL Docker container,
// created and never started) and one in the shape of a containerd pod:
//   systemd (Ubuntu 22.04): 0::/system.slice/docker-<id>.scope
//                           0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/cri-containerd-<id>.scope
//   cgroupfs:               0::/docker/<id>   and   0::/kubepods/besteffort/pod<uid>/<id>
// Each driver gets its own agent, configured only as lib/cgroup.ts configures it for that driver. `spire-agent api
// fetch x509` runs inside each cgroup; the SVID the agent issues, its selectors (DEBUG log) and the errors it logs show
// what each attestor made of each shape. The pod's kubelet is a stand-in (an HTTPS /pods answer with that pod): no
// kubelet runs pods on this host's cgroup2 hierarchy. Skipped where the cgroup2 hierarchy is the host's real one.
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
import {
  type CgroupDriver,
  cgroupVersionOf,
  dockerAttestorSettings,
  K8S_ATTESTOR_LOCATOR,
  unifiedMountPoint,
} from '../../lib/cgroup.ts';
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
let dockerId = '';
let kubelet: Server | undefined;
let kubeletPort = 0;
let tokenPath = '';
const kubeletRequests: string[] = [];
const IMAGE_REPOSITORY = 'spire-validation-cgroup-test';
const image = `${IMAGE_REPOSITORY}:${process.pid}`;
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

/** An X.509-SVID fetched from inside the cgroup, retried until the agent has the entries. */
function fetchX509(dir: string, agentSocket: string, what: string) {
  const argv = [binaries.agent, 'api', 'fetch', 'x509', '-socketPath', agentSocket, '-timeout', '20s'];
  return waitFor(
    what,
    async () => {
      const result = await inCgroup(dir, argv);
      return result.exitCode === 0 ? { done: true, value: result } : { done: false, status: result.output };
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
}

/** The agent's log lines about one pid. */
const agentLines = (logFile: string, pid: number) =>
  readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes(`pid=${pid} `) || line.endsWith(`pid=${pid}`))
    .join('\n');

interface Combination {
  key: string;
  name: string;
  dockerDriver: CgroupDriver;
  dockerShape: (id: string) => string;
  podShape: string;
}

const COMBINATIONS: Combination[] = [
  {
    key: 'systemd',
    name: 'cgroup v2 + systemd driver (Ubuntu 22.04)',
    dockerDriver: 'systemd',
    dockerShape: (id) => `/system.slice/docker-${id}.scope`,
    podShape:
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_UID.replaceAll('-', '_')}.slice/` +
      `cri-containerd-${K8S_CONTAINER_ID}.scope`,
  },
  {
    key: 'cgroupfs',
    name: 'cgroup v2 + cgroupfs driver',
    dockerDriver: 'cgroupfs',
    dockerShape: (id) => `/docker/${id}`,
    podShape: `/kubepods/besteffort/pod${POD_UID}/${K8S_CONTAINER_ID}`,
  },
];

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

describe.skipIf(!simulable)('cgroup v2 shapes, attested by the real spire-agent', () => {
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

    kubeletPort = await startStandInKubelet();
    tokenPath = join(scratch, 'kubelet-token');
    writeFileSync(tokenPath, TOKEN, { mode: 0o600 });
    const spire = await provisionSpire(base, () => {});
    binaries = { server: spire.paths.server as string, agent: spire.paths.agent as string };
    await ensureSpireServer({ config, binaries, ledger, log });
  }, 300_000);

  afterAll(async () => {
    // The container and the test's images (this run's, and any an interrupted run left) go while dockerd still runs;
    // the ledger then stops what this test started, dockerd among them.
    if (dockerId) {
      await execa('docker', ['rm', '-f', dockerId], { reject: false });
      ledger.forget('container', dockerId);
    }
    const images = await execa('docker', ['images', '-q', IMAGE_REPOSITORY], { reject: false });
    const ids = [...new Set((images.stdout ?? '').split('\n').filter(Boolean))];
    if (ids.length > 0) await execa('docker', ['rmi', '-f', ...ids], { reject: false });
    await ledger.stopAll(log);
    kubelet?.close();
    for (const dir of [...made].reverse()) {
      try {
        rmdirSync(dir);
      } catch (error) {
        log(`cgroup ${dir} not removed: ${(error as Error).message}`);
      }
    }
  }, 120_000);

  describe.each(COMBINATIONS)('$name', (combination) => {
    const spiffeId = (what: string) => `spiffe://${config.trustDomain}/cgroup-v2/${combination.key}/${what}`;
    let agentConfig: SuiteConfig;
    let agentLog = '';
    let dockerCgroup = '';
    let podCgroup = '';

    beforeAll(async () => {
      dockerCgroup = makeCgroup(combination.dockerShape(dockerId));
      podCgroup = makeCgroup(combination.podShape);
      // An agent of its own, configured as a v2 host with this driver gets it (lib/cgroup.ts), and nothing else.
      const dir = join(scratch, combination.key);
      // SPIRE refuses an admin socket under the Workload API socket's directory: the two live side by side.
      agentConfig = {
        ...config,
        spire: { ...config.spire, agentSocket: join(dir, 'public', 'api.sock'), workDir: join(dir, 'work') },
      };
      const agent = await ensureSpireAgent({
        config: agentConfig,
        binaries,
        ledger,
        log,
        dockerDriver: combination.dockerDriver,
        agentLogLevel: 'DEBUG',
        kubelet: { nodeName: '127.0.0.1', securePort: kubeletPort, caPath: undefined, client: { tokenPath } },
      });
      agentLog = agent.component.logFile as string;
      const api = new EntryApi(config.spire.serverSocket);
      try {
        for (const [name, selector] of [
          ['docker', { type: 'docker', value: `label:${LABEL}:docker` }],
          ['k8s', { type: 'k8s', value: `pod-uid:${POD_UID}` }],
        ] as const)
          await ensureEntry(api, { spiffeId: spiffeId(name), parentId: agent.agentId, selectors: [selector] }, ledger);
      } finally {
        api.close();
      }
    }, 120_000);

    test('the agent has exactly the attestor settings lib/cgroup.ts chooses for this driver', () => {
      const conf = readFileSync(join(agentConfig.spire.workDir, 'agent', 'agent.conf'), 'utf8');
      const block = (name: string) =>
        new RegExp(`WorkloadAttestor "${name}" \\{[\\s\\S]*?\\n {2}\\}`).exec(conf)?.[0] ?? '';
      const settings = (text: string) =>
        text
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => /^(use_new_container_locator|container_id_cgroup_matchers)/.test(line));
      expect(settings(block('docker')), 'the docker attestor locates containers as chosen for the driver').toEqual(
        dockerAttestorSettings(combination.dockerDriver),
      );
      expect(settings(block('k8s')), 'the k8s attestor keeps the legacy (pod<uid>) locator').toEqual([
        K8S_ATTESTOR_LOCATOR,
      ]);
    });

    test('a process in the Docker shape: docker attests the real container; k8s ignores it (no kubelet request)', async () => {
      const before = kubeletRequests.length;
      const fetched = await fetchX509(dockerCgroup, agentConfig.spire.agentSocket, 'an SVID in the Docker shape');
      expect(fetched.output, 'its /proc/<pid>/cgroup has the genuine v2 line').toContain(
        `0::${combination.dockerShape(dockerId)}`,
      );
      expect(fetched.output, 'it gets the docker entry’s SVID').toContain(spiffeId('docker'));
      expect(fetched.output, 'and not the pod’s').not.toContain(spiffeId('k8s'));
      const lines = agentLines(agentLog, fetched.pid);
      log(`${combination.key} agent log for pid ${fetched.pid}:\n${lines}`);
      expect(lines, "the agent's selectors include the container's Docker label").toContain(`label:${LABEL}:docker`);
      expect(lines, 'no k8s selector for a Docker container').not.toMatch(/type:\\?"k8s/);
      expect(lines, 'no attestor failed').not.toContain('Failed to collect all selectors');
      expect(kubeletRequests.length, 'the k8s attestor did not ask the kubelet about a Docker container').toBe(before);
    });

    test('a process in the containerd pod shape: k8s attests the pod, with no Docker selector', async () => {
      const fetched = await fetchX509(podCgroup, agentConfig.spire.agentSocket, 'an SVID in the pod shape');
      expect(fetched.output, 'its /proc/<pid>/cgroup has the genuine v2 line').toContain(`0::${combination.podShape}`);
      expect(fetched.output, 'it gets the pod entry’s SVID').toContain(spiffeId('k8s'));
      expect(fetched.output, 'and not the Docker one').not.toContain(spiffeId('docker'));
      expect(kubeletRequests, 'the k8s attestor asked the kubelet for its pods').toContain('GET /pods');
      const lines = agentLines(agentLog, fetched.pid);
      log(`${combination.key} agent log for pid ${fetched.pid}:\n${lines}`);
      expect(lines, 'the pod UID as Kubernetes writes it (a systemd path has underscores)').toContain(
        `pod-uid:${POD_UID}`,
      );
      expect(lines, 'the container is the one of the cgroup').toContain('container-name:app');
      expect(lines, 'no Docker selector for a containerd pod').not.toMatch(/type:\\?"docker/);
      const dockerFailed = new RegExp(`workload attestor \\\\?"docker\\\\?" failed.*${K8S_CONTAINER_ID}`);
      if (combination.dockerDriver === 'cgroupfs') {
        // The /docker/<id> matcher does not read kubepods paths: the docker attestor never sees the pod.
        expect(lines, 'the docker attestor ignored the pod (no lookup, no failure)').not.toMatch(dockerFailed);
      } else {
        // SPIRE 1.13's new locator takes any 64-hex segment: the docker attestor asks dockerd about the pod's
        // container and fails; the agent logs it and keeps the other attestors' selectors (the SVID above). The cost
        // of the systemd driver: no legacy matcher can read docker-<id>.scope.
        expect(lines, 'the docker attestor looked the pod container up in dockerd and failed').toMatch(dockerFailed);
      }
    });
  });
});
