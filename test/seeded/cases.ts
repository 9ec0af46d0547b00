// The seeded defects: each one a deliberately broken deployment that a real validation run must catch. A case says
// how the deployment is broken (a manifest derived from the product's, the test-only variant image, something done
// to the host while the run goes), which control must FAIL, and how to confirm from the evidence that the failure
// came from the defect and not from something else.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { foreignCaPem } from '../../fixtures/cluster/pki.ts';
import { EntryApi, entrySpiffeId } from '../../fixtures/entry-api.ts';
import { applyManifest, deleteManifest, execInPod, type Kube } from '../../fixtures/kube.ts';
import { stopProcess } from '../../fixtures/pids.ts';
import type { Outcome } from '../../fixtures/run-context.ts';
import { loadConfig, podLabel } from '../../lib/config.ts';
import { getControl, PHASES } from '../../lib/controls.ts';
import { inspectSvid } from '../../lib/svid-inspector.ts';
import { readCompliance } from '../report/helpers.ts';

/** The test-only variant of the workload image (test/seeded/variant/), built FROM the product image. */
export const VARIANT_IMAGE = 'mtls-demo-defects:latest';
export const FLANNEL_CONFLIST = '/etc/cni/net.d/10-flannel.conflist';

export type VariantDefect = 'key-0644' | 'any-client' | 'no-client-cert' | 'stale-cert' | 'drop-after-rotation';

/** What a case may touch around its run. */
export interface CaseContext {
  reportsDir: string;
  /** The host ledger the runs record into (fixtures/run-context.ts ledgerFile). */
  ledgerFile: string;
  kube: Kube;
  /** The kept local cluster's kubeconfig (for cases that validate it as an `existing` cluster). */
  kubeconfig: string;
  log: (line: string) => void;
}

/**
 * Where a case runs: the cluster provider, where SPIRE runs, how many nodes. Today's cases run on the local provider's
 * kept cluster with SPIRE on the host and one node (`existing` validates that same cluster through its kubeconfig);
 * the topologies still to come (SPIRE in the cluster, several nodes) are named here when their cases arrive.
 */
export interface Topology {
  provider: 'local' | 'existing' | 'minikube';
  spire: 'host' | 'in-cluster';
  nodes: number;
}

export const LOCAL_HOST_SPIRE: Topology = { provider: 'local', spire: 'host', nodes: 1 };

/** The topologies the matrix can run today; a case naming another fails, saying so, instead of running elsewhere. */
export function supportedTopology(topology: Topology): string | undefined {
  if (topology.spire !== 'host') return `SPIRE topology "${topology.spire}" is not available yet`;
  if (topology.nodes !== 1) return `${topology.nodes} nodes are not available yet`;
  if (topology.provider === 'minikube') return 'the minikube provider cannot run on this host';
  return undefined;
}

/** Called with the run's outcomes so far (reports/run/outcomes.json) every few hundred milliseconds while it runs. */
export type Watcher = (outcomes: ReadonlyMap<string, Outcome>, context: CaseContext) => Promise<void>;

export interface DefectCase {
  name: string;
  /** The defect, as the table states it. */
  defect: string;
  /**
   * The control that must end FAIL; undefined when no control of the catalogue judges this defect (the case then
   * fails, naming the gap).
   */
  control: string | undefined;
  /** What is missing when `control` is undefined. */
  gap?: string;
  /** How that control must end: FAIL, or WARN for a control below failOnSeverity whose dependents then matter. */
  status?: 'FAIL' | 'WARN';
  /** The root cause the health gate must name in that control's reason (a broken layer under it). */
  rootCause?: RegExp;
  /** The product manifest (manifests/mtls-app.yaml) changed into the broken one. */
  manifest?: (product: string) => string;
  /** Deploy the variant image with this defect. */
  variant?: VariantDefect;
  /** Settings for the run (written to a config file): e.g. a shorter pod timeout where the pod never turns Ready. */
  settings?: Record<string, unknown>;
  before?: (context: CaseContext) => Promise<void>;
  watch?: Watcher;
  /** Runs after the run, even when it failed: undo what `before` and `watch` did to the shared cluster. */
  after?: (context: CaseContext) => Promise<void>;
  /**
   * Checks that the defect was really in place when the control failed: in the run's evidence, or on the live
   * components the run left (the kept cluster, SPIRE's Entry API).
   */
  confirm?: (reportsDir: string, context: CaseContext) => void | Promise<void>;
  /** Leaves the cluster and SPIRE broken for later cases: must be the last one. */
  last?: boolean;
  /** Where it runs (default LOCAL_HOST_SPIRE). */
  topology?: Topology;
  /**
   * The phases the run selects (orders or keys; the controls they depend on run too): by default the expected
   * control's phase alone, since no other phase can change its verdict. A case whose confirmation reads controls of
   * other phases names them.
   */
  phases?: string[];
  /** More environment for the run (e.g. the `existing` provider's kubeconfig). */
  env?: (context: CaseContext) => Record<string, string>;
  /** More vitest arguments (e.g. another reporter). */
  args?: string[];
  /**
   * The configuration is refused at load: the run must exit non-zero with this message, write no report and change
   * nothing on the host (the ledger, the reports directory).
   */
  rejectedAtLoad?: RegExp;
  /** Controls that must end BLOCKED (not judged), with no FAIL: the run must fail on them alone. */
  blocked?: string[];
}

/** The phases a case selects: its own, else the expected control's phase; none (every phase) when it names none. */
export function casePhases(defect: DefectCase): string[] {
  if (defect.phases) return defect.phases;
  return defect.control ? [PHASES[getControl(defect.control).phase].order] : [];
}

/** `${NAME}`: a placeholder of the product manifest, filled in by DEPLOY-02. */
export const placeholder = (name: string) => `\${${name}}`;

/** Replaces exactly one occurrence; a product manifest that changed shape fails loudly instead of seeding nothing. */
export function replaceOnce(text: string, from: string, to: string): string {
  const count = text.split(from).length - 1;
  if (count !== 1) throw new Error(`expected exactly one "${from}" in the product manifest, found ${count}`);
  return text.replace(from, () => to);
}

/** The product manifest with the variant image running `defect`. */
export function variantManifest(product: string, defect: VariantDefect): string {
  const image = replaceOnce(product, `image: ${placeholder('IMAGE')}`, `image: ${VARIANT_IMAGE}`);
  return replaceOnce(image, 'args:\n            - server\n', `args:\n            - ${defect}\n            - server\n`);
}

function evidence(reportsDir: string, id: string, file: string): string {
  const path = join(reportsDir, 'evidence', id, file);
  expect(existsSync(path), `${id} kept no ${file}, so the defect cannot be confirmed`).toBe(true);
  return readFileSync(path, 'utf8');
}

/** The kept cluster starts the workload's pod in seconds (image loaded): a pod that cannot turn Ready is judged after 20. */
const SHORT_POD_TIMEOUT = { timeouts: { podReadySeconds: 20 } };

/** ValidatingAdmissionPolicy that refuses every exec into a pod: the apiserver denies the CONNECT of pods/exec. */
const DENY_EXEC = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: seeded-defect-deny-exec
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CONNECT"]
        resources: ["pods/exec"]
  validations:
    - expression: "false"
      reason: Forbidden
      message: "exec is denied by the seeded-defect matrix"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: seeded-defect-deny-exec
spec:
  policyName: seeded-defect-deny-exec
  validationActions: [Deny]
`;

/** The workload pod the run left (the kept cluster keeps it): the one of the label, newest first. */
async function livePod(kube: Kube) {
  const config = loadConfig();
  const { key, value } = podLabel(config);
  const pods = (
    await kube.core.listNamespacedPod({ namespace: config.workload.namespace, labelSelector: `${key}=${value}` })
  ).items.sort(
    (a, b) => (b.metadata?.creationTimestamp?.getTime() ?? 0) - (a.metadata?.creationTimestamp?.getTime() ?? 0),
  );
  expect(pods[0], `no pod with ${key}=${value} is left to confirm the defect on`).toBeDefined();
  return pods[0] as NonNullable<(typeof pods)[number]>;
}

/** Removes the Flannel conflist from the moment the cluster is up until CNI-03 has judged it. */
function conflistRemover(): { watch: Watcher; after: (context: CaseContext) => Promise<void> } {
  let saved: string | undefined;
  return {
    watch: async (outcomes, { log }) => {
      if (outcomes.get('CLUSTER-03')?.status !== 'passed' || outcomes.has('CNI-03')) return;
      if (!existsSync(FLANNEL_CONFLIST)) return;
      saved ??= readFileSync(FLANNEL_CONFLIST, 'utf8');
      rmSync(FLANNEL_CONFLIST);
      log(`removed ${FLANNEL_CONFLIST} (CLUSTER-03 has passed)`);
    },
    after: async ({ log }) => {
      if (saved === undefined || existsSync(FLANNEL_CONFLIST)) return;
      writeFileSync(FLANNEL_CONFLIST, saved);
      log(`restored ${FLANNEL_CONFLIST}`);
    },
  };
}

/** The SPIRE agents the suite started and kept (the host ledger). */
function ledgerAgents(ledgerFile: string): Array<{ id: string; executable?: string }> {
  const ledger = JSON.parse(readFileSync(ledgerFile, 'utf8')) as Array<{
    kind: string;
    id: string;
    name: string;
    executable?: string;
  }>;
  return ledger.filter((entry) => entry.kind === 'process' && entry.name === 'spire-agent');
}

/** Stops the SPIRE agent the suite started (its PID from the ledger) once the pod is Running, before the pod phase. */
function agentStopper(): Watcher {
  let done = false;
  return async (outcomes, { ledgerFile, log }) => {
    if (done || outcomes.get('DEPLOY-03')?.status !== 'passed') return;
    done = true;
    const agents = ledgerAgents(ledgerFile);
    if (agents.length === 0) throw new Error('the ledger lists no spire-agent started by the suite');
    for (const agent of agents) {
      log(
        `stopping spire-agent ${agent.id} (DEPLOY-03 has passed): ${await stopProcess(Number(agent.id), agent.executable)}`,
      );
    }
  };
}

/** Stops the kept SPIRE agents, so the next run starts one with its own configuration (and the one after it, again). */
async function restartAgents({ ledgerFile, log }: CaseContext): Promise<void> {
  for (const agent of ledgerAgents(ledgerFile))
    log(`stopping the kept spire-agent ${agent.id}: ${await stopProcess(Number(agent.id), agent.executable)}`);
}

/** A CA that did not sign the kubelet's serving certificate, given to the agent as kubelet_ca_path. */
const FOREIGN_KUBELET_CA = '/tmp/spire-k8s-validation-seeded-foreign-kubelet-ca.pem';

const conflist = conflistRemover();

/**
 * An overly broad registration entry: it selects pods by name and container name only, with no namespace or label, so
 * any namespace can claim the identity with a pod of that name. MESH-03 and MESH-04 run their stranger pods under the
 * name `mtls-stranger` (suites/80-mesh.test.ts), in another namespace and with other labels: both get this identity.
 */
function podNameEntry(): {
  before: (context: CaseContext) => Promise<void>;
  after: (context: CaseContext) => Promise<void>;
} {
  let created: { id: string; serverSocket: string } | undefined;
  return {
    before: async ({ log }) => {
      const config = loadConfig();
      const spiffeId = `spiffe://${config.trustDomain}/${BROAD_ENTRY_PATH}`;
      const api = new EntryApi(config.spire.serverSocket);
      try {
        // Under the agent the baseline's workload entry hangs from (the kept SPIRE of the matrix).
        const [workload] = await api.listBySpiffeId(config.workloadSpiffeId);
        if (!workload)
          throw new Error(`the kept SPIRE has no entry for ${config.workloadSpiffeId} to take the agent from`);
        const result = await api.create({
          spiffeId,
          parentId: entrySpiffeId(workload.parent_id),
          selectors: [
            { type: 'k8s', value: 'pod-name:mtls-stranger' },
            { type: 'k8s', value: `container-name:${config.workload.container}` },
          ],
          x509SvidTtl: 0,
          hint: 'seeded-defect',
        });
        if (!result.entry) throw new Error(`could not create the broad entry: ${result.message}`);
        created = { id: result.entry.id, serverSocket: config.spire.serverSocket };
        log(`created entry ${created.id} (${spiffeId}) selecting any pod named mtls-stranger`);
      } finally {
        api.close();
      }
    },
    after: async ({ log }) => {
      if (!created) return;
      const api = new EntryApi(created.serverSocket);
      try {
        await api.delete([created.id]);
        log(`deleted entry ${created.id}`);
        created = undefined;
      } finally {
        api.close();
      }
    },
  };
}

const BROAD_ENTRY_PATH = 'any-pod-named-mtls-stranger';
const broadEntry = podNameEntry();

/** In the order of the matrix; the shared cluster survives every case but the last. */
export const CASES: DefectCase[] = [
  {
    name: 'key-0644',
    defect: 'the private key written 0644 (variant image)',
    control: 'POD-04',
    variant: 'key-0644',
    confirm: (reports) =>
      expect(evidence(reports, 'POD-04', 'ls-app.txt'), 'the pod listing must show the key as 644').toMatch(
        /^644 \S+ \d+ \/app\/svid\.0\.key$/m,
      ),
  },
  {
    name: 'any-client',
    defect: 'a server that accepts any client certificate (authorization off: any SPIFFE ID; variant image)',
    // The product server authorizes an allow-list (--allow-id); MESH-02 presents an in-domain ID not on it.
    control: 'MESH-02',
    variant: 'any-client',
    confirm: (reports) =>
      expect(
        evidence(reports, 'MESH-02', 'intruder-pod.log'),
        'the defective server must have answered the intruder',
      ).toContain('Secure Hello from SPIRE Server!'),
  },
  {
    name: 'no-client-cert',
    defect: 'a server that requests no client certificate (variant image)',
    control: 'POD-09',
    variant: 'no-client-cert',
    confirm: (reports) => {
      const log = evidence(reports, 'POD-09', 'pod.log');
      expect(log, 'the variant server answered the in-pod client').toContain('[Server] Received:');
      expect(log, 'a server without client authentication cannot have verified a client').not.toContain(
        'VERIFIED CLIENT IDENTITY',
      );
    },
  },
  {
    name: 'other-trust-domain',
    defect: 'the workload configured for another trust domain (its allow-list names IDs of other.example)',
    control: 'POD-08',
    manifest: (product) =>
      replaceOnce(
        replaceOnce(product, `- "${placeholder('WORKLOAD_ID')}"`, '- spiffe://other.example/k8s-workload'),
        `- ${placeholder('ALLOWED_CLIENT_ARGS')}`,
        '- --allow-id\n            - spiffe://other.example/k8s-workload-client',
      ),
    confirm: (reports) =>
      expect(
        evidence(reports, 'POD-08', 'client-in-pod.txt'),
        'the in-pod client must have been refused by the server',
      ).toContain('closed the connection without replying'),
  },
  {
    name: 'pod-name-entry',
    defect:
      'an extra entry selecting any pod named mtls-stranger (pod name and container, no namespace or label): the ' +
      'stranger pods get an identity',
    control: 'MESH-03',
    before: broadEntry.before,
    after: broadEntry.after,
    confirm: (reports) => {
      for (const id of ['MESH-03', 'MESH-04']) {
        expect(
          evidence(reports, id, 'stranger-pod.log'),
          `${id}'s stranger pod must have received the broad entry's identity`,
        ).toMatch(new RegExp(`^SPIFFE ID: spiffe://[^/]+/${BROAD_ENTRY_PATH}$`, 'm'));
      }
      const row = readCompliance(reports).rows.find((r) => r.id === 'MESH-04');
      expect(row?.status, `MESH-04 must FAIL too (the stranger with other labels); ${row?.reason}`).toBe('FAIL');
    },
  },
  {
    name: 'exec-denied',
    defect: 'exec into pods denied (ValidatingAdmissionPolicy on pods/exec): POD-03 fails',
    // POD-03 is severity normal, so it ends WARN; a WARN blocks nothing, so POD-04 … POD-09 are still judged (they need
    // exec too and fail), and the run fails.
    control: 'POD-03',
    status: 'WARN',
    before: async ({ kube }) => {
      await applyManifest(kube, DENY_EXEC);
    },
    after: async ({ kube }) => {
      await deleteManifest(kube, DENY_EXEC);
    },
    confirm: (reports) =>
      expect(
        readCompliance(reports).rows.find((row) => row.id === 'POD-03')?.reason,
        'POD-03 must have failed because the apiserver refused the exec (403 Forbidden)',
      ).toMatch(/\b403\b/),
  },
  {
    name: 'selectors-mismatch',
    defect: 'registration selectors that do not match the pod (its container renamed)',
    control: 'DEPLOY-03',
    manifest: (product) =>
      replaceOnce(product, `- name: ${placeholder('CONTAINER')}`, `- name: ${placeholder('CONTAINER')}-unregistered`),
    settings: SHORT_POD_TIMEOUT,
    // The live pod's container is not the one the live entry selects.
    confirm: async (_, { kube }) => {
      const config = loadConfig();
      const names = (await livePod(kube)).spec?.containers.map((c) => c.name) ?? [];
      expect(names, 'the pod must not run the registered container name').not.toContain(config.workload.container);
      const api = new EntryApi(config.spire.serverSocket);
      try {
        const selectors = (await api.listBySpiffeId(config.workloadSpiffeId)).flatMap((entry) =>
          (entry.selectors ?? []).map((selector) => `${selector.type}:${selector.value}`),
        );
        expect(selectors, 'the entry selects the registered container name').toContain(
          `k8s:container-name:${config.workload.container}`,
        );
      } finally {
        api.close();
      }
    },
  },
  {
    name: 'socket-not-mounted',
    defect: 'the agent socket directory not mounted into the pod',
    control: 'DEPLOY-03',
    manifest: (product) =>
      replaceOnce(
        product,
        `            - name: spire-agent-socket\n              mountPath: ${placeholder('AGENT_SOCKET_DIR')}\n` +
          "              # Connecting to the agent's socket needs no write access to its directory.\n" +
          '              readOnly: true\n',
        '',
      ),
    settings: SHORT_POD_TIMEOUT,
    // The live pod mounts nothing at the socket directory.
    confirm: async (_, { kube }) => {
      const socketDir = dirname(loadConfig().spire.agentSocket);
      const mounts = (await livePod(kube)).spec?.containers.flatMap((c) => c.volumeMounts ?? []) ?? [];
      expect(
        mounts.map((mount) => mount.mountPath),
        `the pod must mount nothing at ${socketDir}`,
      ).not.toContain(socketDir);
    },
  },
  {
    name: 'wrong-kubelet-ca',
    defect: "the SPIRE agent given a CA that did not sign the kubelet's serving certificate (kubelet_ca_path)",
    control: 'SPIRE-07',
    // The kept agent is stopped so the run starts one with this CA; that one is stopped afterwards for the next case.
    settings: { cluster: { kubeletCa: FOREIGN_KUBELET_CA }, ...SHORT_POD_TIMEOUT },
    before: async (context) => {
      writeFileSync(FOREIGN_KUBELET_CA, await foreignCaPem());
      await restartAgents(context);
    },
    after: async (context) => {
      await restartAgents(context);
      rmSync(FOREIGN_KUBELET_CA, { force: true });
    },
    confirm: (reports) =>
      expect(
        evidence(reports, 'SPIRE-07', 'k8s-workload-attestor.txt'),
        "the running agent's kubelet_ca_path must be the foreign CA, and the handshake with it refused",
      ).toMatch(
        new RegExp(`"kubelet_ca_path": "${FOREIGN_KUBELET_CA}"[\\s\\S]*verifying with kubelet_ca_path.*refused`),
      ),
  },
  {
    name: 'not-least-privilege',
    defect:
      'the workload with a writable root file system and the service-account token mounted (outside the restricted ' +
      'profile the admission policy enforces, so the pod is admitted)',
    control: 'POD-12',
    manifest: (product) =>
      replaceOnce(
        replaceOnce(product, 'automountServiceAccountToken: false', 'automountServiceAccountToken: true'),
        'readOnlyRootFilesystem: true',
        'readOnlyRootFilesystem: false',
      ),
    confirm: (reports) => {
      const inside = evidence(reports, 'POD-12', 'pod-security-in-container.txt');
      expect(inside, 'the container must have let the probe write to /tmp').toMatch(
        /\$ touch \/tmp\/\.pod-12-probe\nexit 0/,
      );
      expect(inside, 'the container must have listed the service-account token').toContain(
        'ca.crt\nnamespace\ntoken\nexit 0',
      );
    },
  },
  {
    name: 'privileged-pod',
    defect:
      "the workload container privileged (the local cluster's apiserver, --allow-privileged=false, refuses the " +
      'Deployment itself; on a cluster that allows privileged pods the namespace policy refuses its pods)',
    control: 'DEPLOY-02',
    manifest: (product) =>
      replaceOnce(
        product,
        'allowPrivilegeEscalation: false\n',
        'allowPrivilegeEscalation: true\n            privileged: true\n',
      ),
    settings: SHORT_POD_TIMEOUT,
    confirm: (reports) =>
      expect(
        readCompliance(reports).rows.find((row) => row.id === 'DEPLOY-02')?.reason,
        'the apiserver must have refused the Deployment for its privileged container',
      ).toMatch(/securityContext\.privileged: Forbidden: disallowed by cluster policy/),
  },
  {
    name: 'conflist-removed',
    defect: `the Flannel conflist removed after the cluster started (${FLANNEL_CONFLIST})`,
    control: 'CNI-03',
    // On the kept cluster Flannel's files are there within seconds: the missing conflist is judged after 15.
    settings: { timeouts: { cniReadySeconds: 15 } },
    watch: conflist.watch,
    after: conflist.after,
    // CNI-03 read the host's /etc/cni/net.d and found no conflist to keep.
    confirm: (reports) => {
      const dir = join(reports, 'evidence', 'CNI-03');
      const kept = existsSync(dir) ? readdirSync(dir) : [];
      expect(kept, 'CNI-03 must have found no conflist to keep as evidence').not.toContain('10-flannel.conflist');
      expect(readCompliance(reports).rows.find((row) => row.id === 'CNI-03')?.reason).toContain(FLANNEL_CONFLIST);
    },
  },
  {
    name: 'stale-cert',
    defect: 'a server that keeps serving its first certificate after rotation (files rotate; variant image)',
    control: 'ROT-01',
    variant: 'stale-cert',
    // The files rotated while the served certificate did not: ROT-01 saw the server serve one serial at its start
    // (its progress line), and svid.0.pem in the live pod now holds another (a fresh client then refuses the stale,
    // expired certificate, so ROT-01 never sees a new one).
    confirm: async (reports, { kube }) => {
      const output = readFileSync(join(reports, 'cases', 'stale-cert', 'console.log'), 'utf8');
      const served = /ROT-01 serving serial ([0-9a-f]+);/.exec(output)?.[1];
      expect(served, "ROT-01's progress must name the serial the server served at its start").toBeDefined();
      const pod = await livePod(kube);
      const config = loadConfig();
      const files = await execInPod(
        kube,
        config.workload.namespace,
        pod.metadata?.name ?? '',
        config.workload.container,
        ['cat', '/app/svid.0.pem'],
      );
      const onDisk = inspectSvid({ chainPem: files.stdout, bundlePem: files.stdout }).summary.serial;
      expect(onDisk, 'svid.0.pem must have rotated away from the certificate the server kept serving').not.toBe(served);
    },
  },
  {
    name: 'rotation-drop',
    defect:
      "a server that closes the pod-to-pod client's first connection after each rotation unanswered (one failed " +
      'exchange; variant image)',
    control: 'ROT-02',
    variant: 'drop-after-rotation',
    confirm: (reports) =>
      expect(
        evidence(reports, 'ROT-02', 'client-through-rotation.txt'),
        'the pod-to-pod client must have logged a failed exchange around the rotation',
      ).toMatch(/❌/),
  },
  {
    name: 'waiver-unknown-id',
    defect: 'a waiver naming a control the catalogue does not have (NOPE-01): the configuration is refused at load',
    control: undefined,
    settings: { waivers: [{ id: 'NOPE-01', reason: 'no such control' }] },
    rejectedAtLoad: /waivers\[0\]\.id: must be a control id of the catalogue/,
  },
  {
    name: 'unjudged-existing',
    defect:
      'the kept cluster validated as provider existing with only its kubeconfig, up to the CNI phase, under ' +
      '--reporter=dot: its hardening (CLUSTER-05…10) is not judged there and nothing FAILs',
    control: undefined,
    topology: { provider: 'existing', spire: 'host', nodes: 1 },
    phases: ['12', '14'],
    env: ({ kubeconfig }) => ({ SPIRE_VALIDATION_PROVIDER: 'existing', SPIRE_VALIDATION_KUBECONFIG: kubeconfig }),
    args: ['--reporter=dot'],
    blocked: ['CLUSTER-05', 'CLUSTER-06', 'CLUSTER-07', 'CLUSTER-08', 'CLUSTER-09', 'CLUSTER-10'],
  },
  {
    name: 'agent-stopped',
    defect: 'the SPIRE agent stopped before the pod phase (PID from the ledger)',
    control: 'POD-06',
    // The socket is gone because the agent is: the failure names the agent, with its remediation, not the mount.
    rootCause: /^root cause: SPIRE agent /,
    watch: agentStopper(),
    // The pod phase is where it fails; the mesh controls after it fail too, but add nothing to the proof.
    last: true,
  },
];
