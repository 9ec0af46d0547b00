// The health gate's judge: when a control fails, the layers below it (container runtime, apiserver, kubelet, Flannel,
// SPIRE server and agent, the workload's registration entry) are probed, and the failure names the LOWEST broken one,
// with that layer's remediation: a dead kubelet, not "SVID Fetch Fails". Pure: the facts come from an injected
// HealthProbe (fixtures/health-gate.ts reads the real components; the unit tests use a fake one).
import { getControl, PHASES } from './controls.ts';

export interface HealthLayer {
  key: LayerKey;
  name: string;
  /** The control that brings the layer up: the layer exists once it passed, and belongs to its phase. */
  anchor: string;
  /** The control whose catalogue remediation fixes this layer. */
  remediationOf: string;
}

/** Bottom up: a layer sits on the ones before it. */
export const HEALTH_LAYERS: readonly HealthLayer[] = [
  { key: 'docker', name: 'Docker engine', anchor: 'PROV-02', remediationOf: 'PROV-02' },
  { key: 'nodeRuntime', name: "node's container runtime", anchor: 'CLUSTER-03', remediationOf: 'CLUSTER-03' },
  { key: 'apiserver', name: 'Kubernetes API server', anchor: 'CLUSTER-03', remediationOf: 'CLUSTER-03' },
  { key: 'kubelet', name: 'kubelet', anchor: 'CLUSTER-03', remediationOf: 'CNI-04' },
  { key: 'flannel', name: 'Flannel CNI', anchor: 'CNI-02', remediationOf: 'CNI-02' },
  // Above Flannel: a node is not Ready while its CNI is missing, and then Flannel is the cause.
  { key: 'nodeReady', name: 'node Ready', anchor: 'CNI-04', remediationOf: 'CNI-04' },
  { key: 'spireServer', name: 'SPIRE server', anchor: 'SPIRE-02', remediationOf: 'SPIRE-02' },
  { key: 'spireAgent', name: 'SPIRE agent', anchor: 'SPIRE-03', remediationOf: 'SPIRE-04' },
  { key: 'dockerEntry', name: 'registration entry (Docker workload)', anchor: 'REG-01', remediationOf: 'REG-01' },
  {
    key: 'k8sEntry',
    name: 'registration entry (Kubernetes workload)',
    anchor: 'K8SREG-01',
    remediationOf: 'K8SREG-01',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// What the probe reports per layer (undefined from the probe: the run holds no such layer)

export interface CommandFacts {
  ok: boolean;
  /** What the component answered (or why it did not). */
  output: string;
}

export interface RuntimeFacts {
  /** "containerd (PID 123)" or "dockerd". */
  what: string;
  running: boolean;
  detail?: string;
}

export interface ApiserverFacts {
  ready: boolean;
  detail: string;
}

export interface NodeReadyFacts {
  node: string;
  nodeFound: boolean;
  /** The node's Ready condition. */
  ready?: { status: string; reason?: string; message?: string; since?: string };
}

export interface KubeletFacts extends NodeReadyFacts {
  /** The kubelet process, when the cluster runs on this host and the provider knows its PID. */
  process?: { pid?: number; running: boolean };
  /** renewTime of the node's Lease in kube-node-lease: the kubelet's heartbeat (every 10 s); undefined: not readable. */
  leaseRenewedAt?: string;
}

export interface FlannelFacts {
  pods: { name: string; phase: string; ready: boolean }[];
  /** The CNI configuration the init container writes, when the node is this host. */
  conflist?: { path: string; present: boolean };
}

export interface AgentFacts extends CommandFacts {
  socket: string;
  socketPresent: boolean;
}

export interface EntryFacts {
  entryId: string;
  present: boolean;
  /** How many entries the server listed. */
  listed: number;
}

/** What the probe reports, per layer. */
export interface LayerFacts {
  docker: CommandFacts;
  nodeRuntime: RuntimeFacts;
  apiserver: ApiserverFacts;
  kubelet: KubeletFacts;
  flannel: FlannelFacts;
  nodeReady: NodeReadyFacts;
  spireServer: CommandFacts;
  spireAgent: AgentFacts;
  dockerEntry: EntryFacts;
  k8sEntry: EntryFacts;
}

export type LayerKey = keyof LayerFacts;

/** One bounded read per layer; undefined when this run has no such layer (e.g. no cluster yet). */
export type HealthProbe = { [K in LayerKey]: () => Promise<LayerFacts[K] | undefined> };

// ---------------------------------------------------------------------------------------------------------------
// Judging the facts

export interface Verdict {
  healthy: boolean;
  /** One line: what is wrong, or what was seen when healthy. */
  summary: string;
}

/** The kubelet renews its Lease every 10 s; the node controller gives up on it after 40 s (node-monitor-grace-period). */
export const LEASE_STALE_SECONDS = 40;

const ok = (summary: string): Verdict => ({ healthy: true, summary });
const broken = (summary: string): Verdict => ({ healthy: false, summary });
const firstLine = (text: string) => text.trim().split('\n')[0]?.slice(0, 200) || 'no output';

function ageSeconds(at: string | undefined, now: number): number | undefined {
  if (!at) return undefined;
  const time = Date.parse(at);
  return Number.isNaN(time) ? undefined : Math.round((now - time) / 1000);
}

function readyText(facts: NodeReadyFacts): string {
  const ready = facts.ready;
  if (!ready) return 'no Ready condition';
  return (
    `Ready=${ready.status}${ready.since ? ` since ${ready.since}` : ''}${ready.reason ? `: ${ready.reason}` : ''}` +
    `${ready.message ? ` — ${ready.message}` : ''}`
  );
}

const notRegistered = (facts: NodeReadyFacts) =>
  broken(`node ${facts.node} is not registered with the API server (no kubelet posts it)`);

/** Alive: its process runs and it posts status (lease renewed, not NodeStatusUnknown). Ready is the layer above. */
function judgeKubelet(facts: KubeletFacts, now: number): Verdict {
  if (!facts.nodeFound) return notRegistered(facts);
  const leaseAge = ageSeconds(facts.leaseRenewedAt, now);
  const lease = leaseAge === undefined ? 'lease not readable' : `last lease renewal ${leaseAge} s ago`;
  const gone = facts.process && !facts.process.running;
  const stale =
    (leaseAge !== undefined && leaseAge > LEASE_STALE_SECONDS) || facts.ready?.reason === 'NodeStatusUnknown';
  const pid = facts.process?.pid ? ` (PID ${facts.process.pid})` : '';
  if (gone || stale) {
    const process = gone ? `its process${pid} is gone; ` : '';
    return broken(
      `kubelet on node ${facts.node} stopped posting status (${process}${lease}; the node shows ${readyText(facts)})`,
    );
  }
  return ok(`kubelet${pid} on node ${facts.node} posts status; ${lease}`);
}

function judgeNodeReady(facts: NodeReadyFacts): Verdict {
  if (!facts.nodeFound) return notRegistered(facts);
  return facts.ready?.status === 'True'
    ? ok(`node ${facts.node} ${readyText(facts)}`)
    : broken(`node ${facts.node} is not Ready (${readyText(facts)})`);
}

function judgeFlannel(facts: FlannelFacts): Verdict {
  if (facts.pods.length === 0) return broken('no Flannel pod (kube-flannel, app=flannel) exists');
  const unready = facts.pods.filter((pod) => pod.phase !== 'Running' || !pod.ready);
  if (unready.length > 0) {
    const list = unready.map((pod) => `${pod.name} ${pod.phase}${pod.ready ? '' : ', not Ready'}`).join('; ');
    return broken(`Flannel pod not Running and Ready: ${list}`);
  }
  if (facts.conflist && !facts.conflist.present)
    return broken(`Flannel CNI configuration ${facts.conflist.path} is missing`);
  const pods = facts.pods.map((pod) => pod.name).join(', ');
  return ok(`${pods} Running and Ready${facts.conflist ? `; ${facts.conflist.path} present` : ''}`);
}

function judgeEntry(facts: EntryFacts): Verdict {
  return facts.present
    ? ok(`entry ${facts.entryId} is registered`)
    : broken(`registration entry ${facts.entryId} is gone from the SPIRE server (${facts.listed} entries listed)`);
}

const JUDGES: { [K in LayerKey]: (facts: LayerFacts[K], now: number) => Verdict } = {
  docker: (facts) =>
    facts.ok
      ? ok(`dockerd answers (${firstLine(facts.output)})`)
      : broken(`dockerd does not answer: ${firstLine(facts.output)}`),
  nodeRuntime: (facts) =>
    facts.running
      ? ok(`${facts.what} is running`)
      : broken(`the node's container runtime ${facts.what} is not running${facts.detail ? ` (${facts.detail})` : ''}`),
  apiserver: (facts) =>
    facts.ready ? ok('the API server is ready') : broken(`the Kubernetes API server is not ready: ${facts.detail}`),
  kubelet: judgeKubelet,
  flannel: judgeFlannel,
  nodeReady: judgeNodeReady,
  spireServer: (facts) =>
    facts.ok ? ok(firstLine(facts.output)) : broken(`SPIRE server is not healthy: ${firstLine(facts.output)}`),
  spireAgent: (facts) => {
    if (!facts.socketPresent) return broken(`SPIRE agent socket ${facts.socket} is missing`);
    return facts.ok ? ok(firstLine(facts.output)) : broken(`SPIRE agent is not healthy: ${firstLine(facts.output)}`);
  },
  dockerEntry: judgeEntry,
  k8sEntry: judgeEntry,
};

// ---------------------------------------------------------------------------------------------------------------
// Which layers a failing control sits on

/** Every control a control requires, directly or through others. */
export function prerequisitesOf(id: string): Set<string> {
  const found = new Set<string>();
  const pending = [...getControl(id).requires];
  while (pending.length > 0) {
    const next = pending.pop() as string;
    if (found.has(next)) continue;
    found.add(next);
    pending.push(...getControl(next).requires);
  }
  return found;
}

const phaseOrder = (id: string) => Number(PHASES[getControl(id).phase].order);

/**
 * The layers under a control, bottom up: brought up in an earlier phase (the catalogue's phase order) by one of the
 * control's prerequisites. A Docker-phase control does not sit on the kubelet; a pod control does.
 */
export function layersUnder(id: string): HealthLayer[] {
  const prerequisites = prerequisitesOf(id);
  return HEALTH_LAYERS.filter((layer) => phaseOrder(layer.anchor) < phaseOrder(id) && prerequisites.has(layer.anchor));
}

// ---------------------------------------------------------------------------------------------------------------
// The gate

export type FindingState = 'healthy' | 'broken' | 'absent';

export interface LayerFinding {
  layer: HealthLayer;
  state: FindingState;
  summary: string;
  durationMs: number;
}

export interface GateResult {
  controlId: string;
  findings: LayerFinding[];
  /** The lowest broken layer, if any. */
  rootCause?: LayerFinding;
  durationMs: number;
}

export interface GateOptions {
  /** Each probe's bound; a probe that does not answer in time counts its layer as broken. */
  timeoutMs: number;
  /** Whether a control passed (or warned) in this run: a layer exists once its anchor did. */
  judged: (id: string) => boolean;
  now?: () => number;
}

async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function probeLayer(layer: HealthLayer, probe: HealthProbe, options: GateOptions): Promise<LayerFinding> {
  const started = Date.now();
  const finding = (state: FindingState, summary: string): LayerFinding => ({
    layer,
    state,
    summary,
    durationMs: Date.now() - started,
  });
  if (!options.judged(layer.anchor))
    return finding('absent', `not brought up in this run (${layer.anchor} did not pass)`);
  try {
    const facts = await within(options.timeoutMs, probe[layer.key] as () => Promise<unknown>);
    if (facts === undefined) return finding('absent', 'this run holds no such layer');
    const verdict = JUDGES[layer.key](facts as never, options.now?.() ?? Date.now());
    return finding(verdict.healthy ? 'healthy' : 'broken', verdict.summary);
  } catch (error) {
    return finding('broken', `probe failed: ${firstLine((error as Error).message ?? String(error))}`);
  }
}

/** Probes the layers under a failed control at once, each bounded; the lowest broken one is the root cause. */
export async function runHealthGate(controlId: string, probe: HealthProbe, options: GateOptions): Promise<GateResult> {
  const started = Date.now();
  const findings = await Promise.all(layersUnder(controlId).map((layer) => probeLayer(layer, probe, options)));
  const rootCause = findings.find((finding) => finding.state === 'broken');
  return { controlId, findings, ...(rootCause ? { rootCause } : {}), durationMs: Date.now() - started };
}

/** How the failure reads: the root cause first, the control's own message after it. */
export function rootCauseReason(result: GateResult, message: string): string | undefined {
  if (!result.rootCause) return undefined;
  return `root cause: ${result.rootCause.summary} — ${result.controlId} failed: ${message}`;
}

export function rootCauseRemediation(result: GateResult): string | undefined {
  return result.rootCause ? getControl(result.rootCause.layer.remediationOf).remediation : undefined;
}

/** health-gate.txt: every layer probed, bottom up, and the verdict. */
export function renderGate(result: GateResult): string {
  const control = getControl(result.controlId);
  const lines = [
    `Health gate for ${result.controlId} (phase ${PHASES[control.phase].order} ${PHASES[control.phase].name}): ` +
      `the layers it sits on, bottom up (${(result.durationMs / 1000).toFixed(1)} s)`,
    '',
    ...result.findings.map(
      (finding) =>
        `${finding.state.toUpperCase().padEnd(8)} ${finding.layer.name} [${finding.layer.anchor}]: ${finding.summary}` +
        ` (${finding.durationMs} ms)`,
    ),
  ];
  if (result.findings.length === 0) lines.push('(no layer below this control in its prerequisites)');
  lines.push(
    '',
    result.rootCause
      ? `Root cause: ${result.rootCause.layer.name} — ${result.rootCause.summary}\n` +
          `Remediation (${result.rootCause.layer.remediationOf}): ${rootCauseRemediation(result)}`
      : `No lower layer is broken: ${result.controlId}'s own reason and remediation stand.`,
  );
  return `${lines.join('\n')}\n`;
}
