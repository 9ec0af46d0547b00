// The health gate's decisions, against a fake probe: which layers a failing control sits on, that the lowest broken
// one is named with its remediation, and that a healthy stack leaves the control's own reason standing.
import { describe, expect, test } from 'vitest';
import { getControl } from '../../lib/controls.ts';
import {
  type GateOptions,
  HEALTH_LAYERS,
  type HealthProbe,
  type LayerFacts,
  type LayerKey,
  layersUnder,
  renderGate,
  rootCauseReason,
  rootCauseRemediation,
  runHealthGate,
} from '../../lib/health-layers.ts';
import { buildMatrix } from '../../lib/report/matrix.ts';

const NOW = Date.parse('2026-12-01T15:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

function healthyFacts(): LayerFacts {
  return {
    docker: { ok: true, output: '20.10.24' },
    nodeRuntime: { what: 'containerd (PID 11)', running: true },
    apiserver: { ready: true, detail: 'ready' },
    kubelet: {
      node: 'node-1',
      nodeFound: true,
      process: { pid: 12, running: true },
      ready: { status: 'True', reason: 'KubeletReady', since: ago(300) },
      leaseRenewedAt: ago(5),
    },
    flannel: {
      pods: [{ name: 'kube-flannel-ds-x', phase: 'Running', ready: true }],
      conflist: { path: '/etc/cni/net.d/10-flannel.conflist', present: true },
    },
    nodeReady: { node: 'node-1', nodeFound: true, ready: { status: 'True', reason: 'KubeletReady', since: ago(300) } },
    spireServer: { ok: true, output: 'Server is healthy.' },
    spireAgent: { ok: true, output: 'Agent is healthy.', socket: '/tmp/agent.sock', socketPresent: true },
    dockerEntry: { entryId: 'docker-entry', present: true, listed: 3 },
    k8sEntry: { entryId: 'k8s-entry', present: true, listed: 3 },
  };
}

type Overrides = { [K in LayerKey]?: LayerFacts[K] | undefined | 'throw' | 'hang' };

/** Healthy facts for every layer, except the overridden ones (undefined: the run holds no such layer). */
function fakeProbe(overrides: Overrides = {}): HealthProbe {
  const facts = healthyFacts();
  const answer = (key: LayerKey) => async () => {
    if (!(key in overrides)) return facts[key];
    const override = overrides[key];
    if (override === 'throw') throw new Error(`connect ECONNREFUSED for ${key}`);
    if (override === 'hang') return new Promise<never>(() => {});
    return override;
  };
  return Object.fromEntries(Object.keys(facts).map((key) => [key, answer(key as LayerKey)])) as HealthProbe;
}

const options: GateOptions = { timeoutMs: 200, judged: () => true, now: () => NOW };

/** One broken variant per layer, as the real probe would see it. */
const BROKEN: { [K in LayerKey]: LayerFacts[K] } = {
  docker: { ok: false, output: 'Cannot connect to the Docker daemon' },
  nodeRuntime: { what: 'containerd (PID 11)', running: false },
  apiserver: { ready: false, detail: '/readyz: 500 etcd failed' },
  kubelet: {
    node: 'node-1',
    nodeFound: true,
    process: { pid: 12, running: false },
    ready: {
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
      since: ago(20),
    },
    leaseRenewedAt: ago(60),
  },
  flannel: {
    pods: [{ name: 'kube-flannel-ds-x', phase: 'Running', ready: true }],
    conflist: { path: '/etc/cni/net.d/10-flannel.conflist', present: false },
  },
  nodeReady: {
    node: 'node-1',
    nodeFound: true,
    ready: { status: 'False', reason: 'KubeletNotReady', message: 'PLEG is not healthy', since: ago(30) },
  },
  spireServer: { ok: false, output: 'socket /tmp/server.sock does not exist' },
  spireAgent: { ok: false, output: 'Agent is unavailable.', socket: '/tmp/agent.sock', socketPresent: true },
  dockerEntry: { entryId: 'docker-entry', present: false, listed: 2 },
  k8sEntry: { entryId: 'k8s-entry', present: false, listed: 2 },
};

const keysUnder = (id: string) => layersUnder(id).map((layer) => layer.key);

describe('layersUnder: the layers a control sits on, bottom up', () => {
  test('a pod control sits on the whole Kubernetes and SPIRE stack and its own entry', () => {
    expect(keysUnder('POD-01'), 'POD-01 sits on every layer but the Docker workload entry').toEqual([
      'docker',
      'nodeRuntime',
      'apiserver',
      'kubelet',
      'flannel',
      'nodeReady',
      'spireServer',
      'spireAgent',
      'k8sEntry',
    ]);
  });

  test('a Docker-phase control does not sit on the cluster', () => {
    expect(keysUnder('DOCKER-02'), 'DOCKER-02 needs dockerd, SPIRE and the Docker entry, not the kubelet').toEqual([
      'docker',
      'spireServer',
      'spireAgent',
      'dockerEntry',
    ]);
  });

  test("a layer of the control's own phase is not under it", () => {
    expect(
      keysUnder('CNI-04'),
      'node Ready (cni phase) sits on the cluster layers, not on Flannel (same phase)',
    ).toEqual(['nodeRuntime', 'apiserver', 'kubelet']);
    expect(keysUnder('HOST-03'), 'host preparation has no layer below it').toEqual([]);
  });
});

describe('runHealthGate: the lowest broken layer is the root cause', () => {
  for (const key of keysUnder('POD-01')) {
    test(`${key} broken under POD-01 → ${key} named`, async () => {
      const result = await runHealthGate('POD-01', fakeProbe({ [key]: BROKEN[key] }), options);
      expect(result.rootCause?.layer.key, `only ${key} was broken, so it is the root cause`).toBe(key);
      expect(
        result.findings.filter((finding) => finding.state === 'broken').map((finding) => finding.layer.key),
        `no layer but ${key} is reported broken`,
      ).toEqual([key]);
      const remediation = getControl(result.rootCause?.layer.remediationOf ?? '').remediation;
      expect(rootCauseRemediation(result), `the remediation is that of ${key}'s control`).toBe(remediation);
    });
  }

  test('the Docker workload entry gone under DOCKER-02 is named', async () => {
    const result = await runHealthGate('DOCKER-02', fakeProbe({ dockerEntry: BROKEN.dockerEntry }), options);
    expect(result.rootCause?.summary, 'the missing entry is the root cause').toBe(
      'registration entry docker-entry is gone from the SPIRE server (2 entries listed)',
    );
    expect(rootCauseRemediation(result), "REG-01's remediation re-registers the workload").toBe(
      getControl('REG-01').remediation,
    );
  });

  test('several broken → the lowest: a dead kubelet under a gone entry and an unhealthy agent', async () => {
    const probe = fakeProbe({ k8sEntry: BROKEN.k8sEntry, spireAgent: BROKEN.spireAgent, kubelet: BROKEN.kubelet });
    const result = await runHealthGate('POD-01', probe, options);
    expect(result.rootCause?.layer.key, 'the kubelet is the lowest of the three broken layers').toBe('kubelet');
    const reason = rootCauseReason(result, 'Timed out waiting for the SVID fetch line');
    expect(reason, 'the reason names the kubelet first, then the control and its own message').toBe(
      `root cause: kubelet on node node-1 stopped posting status (its process (PID 12) is gone; last lease renewal 60 s ` +
        `ago; the node shows Ready=Unknown since ${ago(20)}: NodeStatusUnknown — Kubelet stopped posting node status.) — POD-01 ` +
        'failed: Timed out waiting for the SVID fetch line',
    );
    expect(rootCauseRemediation(result), 'the remediation is Issue 1 (NotReady: restart the kubelet)').toBe(
      getControl('CNI-04').remediation,
    );
    const text = renderGate(result);
    expect(text, 'the evidence lists each broken layer').toMatch(/^BROKEN +kubelet \[CLUSTER-03\]: kubelet on node/m);
    expect(text, 'the evidence names the root cause').toContain(
      'Root cause: kubelet — kubelet on node node-1 stopped posting status',
    );
  });

  test('all healthy → no root cause: the control keeps its own reason and remediation', async () => {
    const result = await runHealthGate('POD-01', fakeProbe(), options);
    expect(
      result.findings.map((finding) => finding.state),
      'every layer under POD-01 was probed and found healthy',
    ).toEqual(Array(9).fill('healthy'));
    expect(result.rootCause, 'nothing is broken').toBeUndefined();
    expect(rootCauseReason(result, 'own message'), 'no reason replaces the own one').toBeUndefined();
    expect(rootCauseRemediation(result), 'no remediation replaces the own one').toBeUndefined();
    expect(renderGate(result), 'the evidence says the own reason stands').toContain('own reason and remediation stand');
  });

  test('a layer the run does not hold, or whose control did not pass, is not probed and not blamed', async () => {
    const probe = fakeProbe({ kubelet: undefined, docker: BROKEN.docker });
    const result = await runHealthGate('POD-01', probe, { ...options, judged: (id) => id !== 'PROV-02' });
    const state = (key: LayerKey) => result.findings.find((finding) => finding.layer.key === key)?.state;
    expect(state('kubelet'), 'a probe answering undefined means the layer is absent').toBe('absent');
    expect(state('docker'), 'PROV-02 did not pass, so dockerd was never brought up: absent').toBe('absent');
    expect(result.rootCause, 'absent layers are not a root cause').toBeUndefined();
  });

  test('a probe that fails or does not answer in time counts its layer as broken', async () => {
    const hung = await runHealthGate('POD-01', fakeProbe({ spireServer: 'hang' }), options);
    expect(hung.rootCause?.summary, 'a hung healthcheck is reported with its bound').toBe(
      'probe failed: no answer within 0.2 s',
    );
    expect(hung.durationMs, 'the gate is bounded by the probe timeout').toBeLessThan(1_000);
    const refused = await runHealthGate('POD-01', fakeProbe({ apiserver: 'throw' }), options);
    expect(refused.rootCause?.summary, 'a probe error names the error').toBe(
      'probe failed: connect ECONNREFUSED for apiserver',
    );
  });
});

describe('what a broken kubelet or Flannel reads like', () => {
  const kubelet = (facts: Partial<LayerFacts['kubelet']>) =>
    runHealthGate('POD-01', fakeProbe({ kubelet: { ...healthyFacts().kubelet, ...facts } }), options);

  test('a stale lease is a kubelet that stopped posting status, even before the node turns Unknown', async () => {
    const result = await kubelet({ process: undefined, leaseRenewedAt: ago(45) });
    expect(result.rootCause?.summary, 'Ready is still True, but the heartbeat is 45 s old').toBe(
      `kubelet on node node-1 stopped posting status (last lease renewal 45 s ago; the node shows Ready=True since ${ago(300)}: ` +
        'KubeletReady)',
    );
  });

  test('a posting kubelet on a node that is not Ready: the node Ready layer is named', async () => {
    const ready = { status: 'False', reason: 'KubeletNotReady', message: 'PLEG is not healthy', since: ago(30) };
    const result = await runHealthGate(
      'POD-01',
      fakeProbe({
        kubelet: { ...healthyFacts().kubelet, ready },
        nodeReady: { node: 'node-1', nodeFound: true, ready },
      }),
      options,
    );
    expect(result.rootCause?.summary, 'the kubelet posts, the node is not Ready').toBe(
      `node node-1 is not Ready (Ready=False since ${ago(30)}: KubeletNotReady — PLEG is not healthy)`,
    );
  });

  test('a node NotReady because the Flannel conflist is gone: Flannel (below node Ready) is named', async () => {
    const ready = {
      status: 'False',
      reason: 'KubeletNotReady',
      message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady',
      since: ago(10),
    };
    const result = await runHealthGate(
      'POD-01',
      fakeProbe({
        kubelet: { ...healthyFacts().kubelet, ready },
        flannel: BROKEN.flannel,
        nodeReady: { node: 'node-1', nodeFound: true, ready },
      }),
      options,
    );
    expect(result.rootCause?.summary, 'the missing conflist is the cause, the NotReady node its symptom').toBe(
      'Flannel CNI configuration /etc/cni/net.d/10-flannel.conflist is missing',
    );
  });

  test('a running kubelet whose lease cannot be read is not blamed on that alone', async () => {
    const { leaseRenewedAt: _unread, ...facts } = healthyFacts().kubelet;
    const result = await runHealthGate('POD-01', fakeProbe({ kubelet: facts }), options);
    expect(result.rootCause, 'an unreadable lease is no evidence of a dead kubelet').toBeUndefined();
  });

  test('a node that is not registered', async () => {
    const result = await kubelet({ nodeFound: false });
    expect(result.rootCause?.summary, 'no node object').toBe(
      'node node-1 is not registered with the API server (no kubelet posts it)',
    );
  });

  test('a Flannel pod that is not Ready', async () => {
    const result = await runHealthGate(
      'POD-01',
      fakeProbe({ flannel: { pods: [{ name: 'kube-flannel-ds-x', phase: 'Pending', ready: false }] } }),
      options,
    );
    expect(result.rootCause?.summary, 'the pending Flannel pod is named').toBe(
      'Flannel pod not Running and Ready: kube-flannel-ds-x Pending, not Ready',
    );
  });
});

describe('the reports show the root cause', () => {
  test("a recorded root-cause remediation replaces the catalogue's in the matrix", () => {
    const base = { evidence: [], durationMs: 1, finishedAt: '2026-12-01T15:00:00Z' };
    const matrix = buildMatrix({
      outcomes: [
        {
          id: 'POD-01',
          status: 'failed',
          reason: 'root cause: kubelet …',
          remediation: 'restart the kubelet',
          ...base,
        },
        { id: 'POD-02', status: 'failed', reason: 'no listening line', ...base },
      ],
      failOnSeverity: 'critical',
    });
    const row = (id: string) => matrix.rows.find((r) => r.id === id);
    expect(row('POD-01')?.remediation, "POD-01's row carries the root cause's remediation").toBe('restart the kubelet');
    expect(row('POD-02')?.remediation, 'without a root cause the catalogue remediation stands').toBe(
      getControl('POD-02').remediation,
    );
  });
});

test('every layer the probe reports on is in the bottom-up table exactly once', () => {
  expect(
    HEALTH_LAYERS.map((layer) => layer.key).sort(),
    'HEALTH_LAYERS must list each key of LayerFacts once, or a layer is never probed',
  ).toEqual(Object.keys(healthyFacts()).sort());
});
