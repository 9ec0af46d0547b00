// Phase 60: the seed's run_k8s_demo.sh: socket check, the deployment (hostPath mount of the agent socket directory,
// readiness probe), the rollout waited for with visible status. Before the deployment, on a cluster the suite owns,
// the namespace's admission: Pod Security warn/audit at restricted and a policy that enforces restricted except the
// read-only agent socket (manifests/workload-admission.yaml); DEPLOY-05 proves the apiserver enforces it.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1EndpointSlice, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { clusterProvider, kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import {
  applyAndReadBack,
  type DryRunOutcome,
  dryRunPod,
  eventsOf,
  FIELD_MANAGER,
  podSummary,
  renderManifest,
  waitForReadyPods,
  waitForRollout,
} from '../fixtures/kube.ts';
import type { RunContext } from '../fixtures/run-context.ts';
import { isSocket } from '../fixtures/spire.ts';
import { refusalLayer } from '../lib/admission-refusal.ts';
import { type AppliedObject, appliedObjectLine, applyProblems, refText } from '../lib/applied-objects.ts';
import { podLabel } from '../lib/config.ts';
import { waitFor } from '../lib/wait.ts';

const APP_MANIFEST = fileURLToPath(new URL('../manifests/mtls-app.yaml', import.meta.url));
const ADMISSION_MANIFEST = fileURLToPath(new URL('../manifests/workload-admission.yaml', import.meta.url));
/** The ValidatingAdmissionPolicy and its binding (cluster-scoped; the binding selects the workload namespace only). */
const ADMISSION_POLICY = 'spire-validation-workload-restricted';

function appManifest(run: RunContext, agentBinary: string): string {
  return renderManifest(run.config.workload.manifest ?? APP_MANIFEST, {
    NAMESPACE: run.config.workload.namespace,
    APP_LABEL: podLabel(run.config).value,
    CONTAINER: run.config.workload.container,
    IMAGE: run.config.workload.image,
    PORT: run.config.workload.port,
    TRUST_DOMAIN: run.config.trustDomain,
    WORKLOAD_ID: run.config.workloadSpiffeId,
    ALLOWED_CLIENT_ARGS: run.config.workload.allowedClientIds.flatMap((id) => ['--allow-id', id]),
    AGENT_SOCKET: run.config.spire.agentSocket,
    AGENT_SOCKET_DIR: dirname(run.config.spire.agentSocket),
    AGENT_BINARY: agentBinary,
  });
}

function admissionManifest(run: RunContext, agentBinary: string): string {
  return renderManifest(ADMISSION_MANIFEST, {
    NAMESPACE: run.config.workload.namespace,
    POLICY: ADMISSION_POLICY,
    AGENT_SOCKET_DIR: dirname(run.config.spire.agentSocket),
    AGENT_BINARY: agentBinary,
  });
}

/** Only in a cluster it owns does the suite install admission objects; an existing cluster's admission is its own. */
const installsAdmission = async (run: RunContext) => (await clusterProvider(run)).name !== 'existing';

const selector = (run: RunContext) => `${podLabel(run.config).key}=${podLabel(run.config).value}`;

control('DEPLOY-01', async ({ run, evidence }) => {
  const socket = run.config.spire.agentSocket;
  await evidence('socket.txt', `${socket}: ${isSocket(socket) ? 'socket' : 'missing'}`);
  expect(isSocket(socket), `${socket} is not a socket`).toBe(true);
});

control('DEPLOY-02', async ({ run, evidence, log, need }) => {
  const applied: AppliedObject[] = [];
  if (await installsAdmission(run)) {
    const admission = admissionManifest(run, need('spireBinaries').agent);
    await evidence('workload-admission.yaml', admission, 'text/yaml');
    applied.push(...(await applyAndReadBack(kube(run), admission)));
  } else {
    log(
      'provider "existing": the suite installs no admission policy in a cluster it does not own (DEPLOY-05 judges its own)',
    );
  }
  const manifest = appManifest(run, need('spireBinaries').agent);
  await evidence('mtls-app.yaml', manifest, 'text/yaml');
  applied.push(...(await applyAndReadBack(kube(run), manifest)));
  // Judged from the objects read back from the API after the apply, not from the documents sent.
  await evidence('applied.txt', applied.map((object) => appliedObjectLine(object, FIELD_MANAGER)).join('\n'));
  await evidence('read-back.json', JSON.stringify(applied, null, 2), 'application/json');
  const deployment = { kind: 'Deployment', namespace: run.config.workload.namespace, name: 'mtls-app' };
  expect(
    applyProblems(applied, [deployment], FIELD_MANAGER),
    `expected every object applied, ${refText(deployment)} among them, in the API as this server-side apply (field ` +
      `manager ${FIELD_MANAGER}) left it`,
  ).toEqual([]);
});

control('DEPLOY-03', async ({ run, evidence, log, provide }) => {
  const namespace = run.config.workload.namespace;
  const started = Date.now();
  let pods: Awaited<ReturnType<typeof waitForReadyPods>>;
  try {
    // The pod of the template just applied, not one of a kept Deployment's older template still running.
    const timeoutMs = run.config.timeouts.podReadySeconds * 1000;
    await waitForRollout(kube(run), namespace, 'mtls-app', timeoutMs, log);
    pods = await waitForReadyPods(kube(run), namespace, selector(run), timeoutMs, log);
  } catch (error) {
    const current = await kube(run).core.listNamespacedPod({ namespace, labelSelector: selector(run) });
    const events = await Promise.all(current.items.map((p) => eventsOf(kube(run), namespace, p.metadata?.name ?? '')));
    // No pod at all: the ReplicaSet could not create one (admission refused it, say); its events say why.
    const refused = await kube(run).core.listNamespacedEvent({ namespace, fieldSelector: 'reason=FailedCreate' });
    const failedCreate = refused.items.filter(
      (e) =>
        e.involvedObject.kind === 'ReplicaSet' &&
        e.involvedObject.name?.startsWith('mtls-app-') &&
        // this deployment's, not a refusal kept from an earlier one (events live an hour)
        new Date(e.lastTimestamp ?? e.eventTime ?? 0).getTime() >= started - 10_000,
    );
    const failedLines = failedCreate.map(
      (e) => `${e.lastTimestamp ?? e.eventTime ?? ''} ReplicaSet ${e.involvedObject.name} ${e.reason}: ${e.message}`,
    );
    await evidence('pod-events.txt', [...events, ...failedLines].join('\n\n') || '(no events)');
    const refusal = failedCreate.at(-1)?.message;
    if (current.items.length === 0 && refusal)
      throw new Error(`expected a pod ${selector(run)} in ${namespace}; none could be created: ${refusal}`);
    throw error;
  }
  const pod = pods[0];
  if (!pod?.metadata?.name) throw new Error(`no pod with labels ${selector(run)} in namespace ${namespace}`);
  const status = pod.status?.containerStatuses?.[0];
  await evidence('pods.txt', pods.map(podSummary).join('\n'));
  await evidence('pod-events.txt', await eventsOf(kube(run), namespace, pod.metadata.name));
  expect(pods, `expected exactly one ready pod ${selector(run)}, saw ${pods.length}`).toHaveLength(1);
  expect(status?.ready, `container of pod ${pod.metadata.name} is not ready`).toBe(true);
  expect(status?.restartCount, `pod ${pod.metadata.name} restarted ${status?.restartCount} time(s)`).toBe(0);
  const ip = pod.status?.podIP;
  expect(ip, `expected ready pod ${pod.metadata.name} to have an IP; it has none`).toBeTruthy();
  provide('pod', {
    name: pod.metadata.name,
    namespace,
    ip: ip ?? '',
    restarts: status?.restartCount ?? 0,
    startedAt: status?.state?.running?.startedAt?.toISOString() ?? '',
  });
});

// What the demo script's success means beyond a running pod (DEPLOY-03): it deploys the mTLS server as an application,
// the Deployment AND the Service mtls-app in front of it, and it is complete when that Service routes to the pod. The
// EndpointSlice controller publishes that route: an endpoint with the pod's IP, the pod as its target, ready, on the
// named mTLS port. No other control looks at it; MESH-01 later uses the route, this says whether it was ever made.
control('DEPLOY-04', async ({ run, evidence, log, need }) => {
  const pod = need('pod');
  const port = run.config.workload.port;
  const labelSelector = 'kubernetes.io/service-name=mtls-app';
  const routes = (slices: V1EndpointSlice[]) =>
    slices.flatMap((slice) =>
      (slice.endpoints ?? []).map((endpoint) => ({
        addresses: endpoint.addresses,
        target: endpoint.targetRef?.name,
        ready: endpoint.conditions?.ready === true,
        ports: (slice.ports ?? []).map((p) => `${p.name}=${p.port}/${p.protocol}`),
      })),
    );
  const routesToPod = (route: ReturnType<typeof routes>[number]) =>
    route.addresses.includes(pod.ip) &&
    route.target === pod.name &&
    route.ready &&
    route.ports.includes(`mtls=${port}/TCP`);
  // The controller publishes the route shortly after the pod turns Ready: read until it shows, bounded.
  const slices = await waitFor(
    `Service mtls-app to route to pod ${pod.name} (${pod.ip}:${port})`,
    async () => {
      const list = await kube(run).discovery.listNamespacedEndpointSlice({ namespace: pod.namespace, labelSelector });
      const seen = routes(list.items);
      return seen.some(routesToPod) ? { done: true, value: list.items } : { done: false, status: JSON.stringify(seen) };
    },
    { timeoutMs: 30_000, intervalMs: 1000, onProgress: log },
  ).catch(
    async () =>
      (await kube(run).discovery.listNamespacedEndpointSlice({ namespace: pod.namespace, labelSelector })).items,
  );
  const seen = routes(slices);
  await evidence('endpointslices.json', JSON.stringify(slices, null, 2), 'application/json');
  expect(
    seen.filter(routesToPod),
    `expected an EndpointSlice of Service mtls-app with a ready endpoint ${pod.ip} (pod ${pod.name}) on port ` +
      `mtls=${port}/TCP; saw ${JSON.stringify(seen)}`,
  ).toHaveLength(1);
});

// Admission enforces least privilege in the workload namespace: pods that each break one rule of the restricted profile
// (privileged; a writable hostPath of the host's root; the agent socket directory mounted writable) are refused by the
// apiserver, while the product's own pod template is admitted. All as dry-run creations: admission runs, nothing is
// stored. On a cluster the suite owns the refusals must come from its policy (named in the answer); on an existing
// cluster the suite installed nothing, and the cluster's own admission is judged.
control('DEPLOY-05', async ({ run, evidence, log }) => {
  const namespace = run.config.workload.namespace;
  const ours = await installsAdmission(run);
  const deployment = await kube(run).apps.readNamespacedDeployment({ name: 'mtls-app', namespace });
  const template = deployment.spec?.template.spec;
  if (!template) throw new Error(`expected Deployment ${namespace}/mtls-app to have a pod template; it has none`);
  const socketDir = dirname(run.config.spire.agentSocket);
  const probe = (name: string, change: (spec: V1PodSpec) => void): V1Pod => {
    const spec = structuredClone(template);
    change(spec);
    return { metadata: { name: `deploy-05-${name}`, namespace, labels: { app: 'deploy-05-probe' } }, spec };
  };
  const container = (spec: V1PodSpec) => {
    const first = spec.containers[0];
    if (!first) throw new Error(`expected the pod template of ${namespace}/mtls-app to have a container; it has none`);
    return first;
  };
  const probes: Array<{ pod: V1Pod; expect: 'admitted' | 'refused'; rule: RegExp }> = [
    { pod: probe('product', () => {}), expect: 'admitted', rule: /^$/ },
    {
      pod: probe('privileged', (spec) => {
        // privileged implies escalation; the API would refuse allowPrivilegeEscalation=false with it as invalid
        container(spec).securityContext = {
          ...container(spec).securityContext,
          privileged: true,
          allowPrivilegeEscalation: true,
        };
      }),
      expect: 'refused',
      rule: /privileged/i,
    },
    {
      // Not privileged, so only admission can refuse it (also where the apiserver forbids privileged containers).
      pod: probe('cap-sys-admin', (spec) => {
        container(spec).securityContext = {
          ...container(spec).securityContext,
          capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] },
        };
      }),
      expect: 'refused',
      rule: /capabilit/i,
    },
    {
      pod: probe('host-root', (spec) => {
        spec.volumes = [...(spec.volumes ?? []), { name: 'host-root', hostPath: { path: '/' } }];
        container(spec).volumeMounts = [
          ...(container(spec).volumeMounts ?? []),
          { name: 'host-root', mountPath: '/host' },
        ];
      }),
      expect: 'refused',
      rule: /hostPath/i,
    },
    {
      pod: probe('socket-writable', (spec) => {
        for (const mount of container(spec).volumeMounts ?? [])
          if (mount.mountPath === socketDir) mount.readOnly = false;
      }),
      expect: 'refused',
      rule: /hostPath|read-?only/i,
    },
  ];
  type Seen = { name: string; expect: string; rule: RegExp; outcome: DryRunOutcome };
  const tryProbes = async (): Promise<Seen[]> =>
    Promise.all(
      probes.map(async ({ pod, expect: expected, rule }) => ({
        name: pod.metadata?.name ?? '',
        expect: expected,
        rule,
        outcome: await dryRunPod(kube(run), namespace, pod),
      })),
    );
  const asExpected = (seen: Seen) => seen.outcome.admitted === (seen.expect === 'admitted');
  // The apiserver loads a new policy and binding asynchronously: give it a few seconds after DEPLOY-02 applied them
  // (bounded), then judge what was seen last.
  let outcomes: Seen[] = [];
  outcomes = await waitFor(
    'the admission policy to take effect on the probe pods',
    async () => {
      outcomes = await tryProbes();
      return outcomes.every(asExpected)
        ? { done: true, value: outcomes }
        : {
            done: false,
            status: outcomes.map((o) => `${o.name} ${o.outcome.admitted ? 'admitted' : 'refused'}`).join(', '),
          };
    },
    { timeoutMs: 15_000, intervalMs: 1000, onProgress: log },
  ).catch(() => outcomes);
  expect(
    outcomes.map((o) => o.name),
    `expected an answer of the apiserver to each of the ${probes.length} probe pods; got ${outcomes.length}`,
  ).toHaveLength(probes.length);
  for (const { name, outcome } of outcomes)
    log(`${name}: ${outcome.admitted ? 'admitted' : `refused (HTTP ${outcome.code}): ${outcome.message}`}`);
  const ns = await kube(run).core.readNamespace({ name: namespace });
  const psa = Object.entries(ns.metadata?.labels ?? {}).filter(([key]) =>
    key.startsWith('pod-security.kubernetes.io/'),
  );
  await evidence(
    'admission.txt',
    [
      ours
        ? `cluster owned by the suite: ValidatingAdmissionPolicy ${ADMISSION_POLICY} bound to namespace ${namespace}`
        : `provider "existing": no policy installed by the suite; the cluster's own admission is judged`,
      `namespace ${namespace} Pod Security labels: ${psa.map(([k, v]) => `${k}=${v}`).join(', ') || '(none)'}`,
      '',
      ...outcomes.map(
        ({ name, expect: expected, outcome }) =>
          `dry-run create pod ${name} (expected ${expected}): ${outcome.admitted ? 'admitted' : `refused, HTTP ${outcome.code}: ${outcome.message}`}`,
      ),
    ].join('\n'),
  );
  // Which layer refused each probe, as its refusal says (lib/admission-refusal.ts).
  const layerOf = (outcome: DryRunOutcome) => (outcome.admitted ? undefined : refusalLayer(outcome.message));
  await evidence(
    'refusal-layers.txt',
    outcomes
      .map(({ name, outcome }) => `${name} → ${outcome.admitted ? 'admitted' : layerOf(outcome)?.text}`)
      .join('\n'),
  );
  for (const { name, expect: expected, rule, outcome } of outcomes) {
    if (expected === 'admitted') {
      expect(
        outcome.admitted,
        `expected the product's own pod template (${name}) to be admitted in ${namespace}; the apiserver refused it: ` +
          `${outcome.admitted ? '' : outcome.message}`,
      ).toBe(true);
      continue;
    }
    const message = outcome.admitted ? '' : outcome.message;
    expect(
      outcome.admitted,
      `expected the apiserver to refuse pod ${name} in namespace ${namespace}; it admitted it`,
    ).toBe(false);
    expect(message, `expected the refusal of ${name} to name the broken rule (${rule}); it said: ${message}`).toMatch(
      rule,
    );
    const layer = refusalLayer(message);
    expect(
      layer.kind,
      `expected the refusal of ${name} to come from a least-privilege layer (the apiserver's --allow-privileged=false, ` +
        `a ValidatingAdmissionPolicy, Pod Security or an admission webhook); it names none: ${message}`,
    ).not.toBe('unknown');
    // An apiserver started with --allow-privileged=false refuses privileged containers itself, in validation, before
    // any admission policy is asked: a stronger layer, accepted for that probe.
    const refusedBy =
      (layer.kind === 'policy' && layer.name === ADMISSION_POLICY) ||
      (name === 'deploy-05-privileged' && layer.kind === 'allow-privileged');
    if (ours)
      expect(
        refusedBy,
        `expected the refusal of ${name} to come from the suite's policy ${ADMISSION_POLICY} (or, for a privileged ` +
          `container, from the apiserver's --allow-privileged=false); it came from ${layer.text}: ${message}`,
      ).toBe(true);
  }
  if (ours)
    expect(
      Object.fromEntries(psa),
      `expected namespace ${namespace} labelled to warn and audit at Pod Security restricted; its labels are ${JSON.stringify(Object.fromEntries(psa))}`,
    ).toMatchObject({
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
});
