// Scenarios for the report tests, chosen by FIXTURE_SCENARIO. Real catalogue ids, fake bodies: nothing here touches
// SPIRE, Docker or a cluster.
//   mixed      PASS, FAIL (thrown error and failed expect), WARN, a blocked SKIP, a hanging control that the
//              deadline turns into a FAIL with diagnostics, a refused private key, a test outside the catalogue
//   warn-only  every control PASS but one WARN (HOST-04): the run passes; RES-01 reports a figure, RES-03 declares
//              itself not applicable
//   warn-prerequisite  every control PASS but POD-03 WARN: its dependents (POD-04 … POD-09) are still judged
//   crash      the worker dies in the middle of a control
//   leak       every control PASS; SPIRE-03 keeps evidence with a join token (redacted on the way) and writes a log
//              past the redaction with a join token and a private key: the secret scan fails the run
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ClusterProvider } from '../../../fixtures/cluster/provider.ts';
import { type ControlContext, control, phaseTest } from '../../../fixtures/control.ts';
import { CONTROLS } from '../../../lib/controls.ts';

/**
 * The run's cluster provider, set before any control asks for one: the harness selects a provider to know who owns
 * the host controls, and the real local provider would adopt — and at teardown stop — a cluster kept on this host.
 */
const NO_CLUSTER: ClusterProvider = {
  name: 'local',
  preflight: async () => ({ ok: true, reasons: [] }),
  start: async () => {},
  stop: async () => {},
  status: async () => ({ provider: 'local', apiserver: 'not-started', node: undefined, components: [], detail: [] }),
  kubeconfigPath: () => '/nonexistent/fixture-suite.kubeconfig',
  nodeName: () => 'fixture-node',
  containerRuntime: () => 'containerd',
  loadImage: async () => {},
  defaultAttestation: () => 'k8s',
  kubeletAccess: () => ({
    nodeName: 'fixture-node',
    securePort: 10250,
    caPath: '/ca.crt',
    client: { tokenPath: '/t' },
  }),
  notOwnedControls: () => [],
  ports: () => [],
  ownPids: () => new Set(),
};

/** A fake body that passes and hands on a stand-in for each handle the catalogue says the control provides. */
function passing(id: string) {
  return async ({ provide, figure, notApplicable }: ControlContext) => {
    for (const handle of CONTROLS.find((c) => c.id === id)?.provides ?? []) provide(handle, {} as never);
    if (scenario !== 'warn-only') return;
    if (id === 'RES-01') figure('time to recovery', '6.5 s');
    if (id === 'RES-03') notApplicable('spire-not-ours', 'the SPIRE agent (pid 1) was not started by this run');
  };
}

const scenario = process.env.FIXTURE_SCENARIO ?? 'mixed';

control('PROV-01', async ({ run, evidence, log }) => {
  run.shared.cluster = NO_CLUSTER;
  log('checking the fixture runtime');
  await evidence('runtime.txt', `node ${process.version}`);
});

if (scenario === 'mixed') {
  control('PROV-02', async ({ evidence }) => {
    await evidence('engine.txt', 'docker info: Cannot connect to the Docker daemon');
    throw new Error('connect ECONNREFUSED /var/run/docker.sock');
  });

  control('PROV-03', async ({ evidence, provide }) => {
    const key = ['-----BEGIN', 'PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END', 'PRIVATE KEY-----'].join(' ');
    const refused = await evidence('svid.0.key', key).then(
      () => 'kept',
      (error: Error) => error.message,
    );
    await evidence('refusal.txt', refused);
    expect(refused).toContain('contains private key material');
    provide('spireBinaries', { server: '/nowhere/spire-server', agent: '/nowhere/spire-agent' });
  });

  // Blocked by PROV-02.
  control('PROV-04', async () => {
    throw new Error('must not run: PROV-02 failed');
  });

  control('HOST-01', async () => {});

  // minor < critical: WARN, the test passes.
  control('HOST-04', async () => {
    throw new Error('swap is on and failSwapOn is not set');
  });

  // Never finishes: the deadline (timeout minus the diagnostics reserve) turns it into a FAIL with diagnostics.
  control('HOST-06', () => new Promise<void>(() => {}), 20_000);

  control('HOST-07', async () => {
    expect(8080, 'port 8080 is free').toBe(0);
  });

  phaseTest('a helper test outside the catalogue', () => {});
}

// Every control passes, but RES-05 says it does not apply in a situation its catalogue entry does not name: it is not
// judged, so the run must fail on it (BLOCKED) whatever reporter vitest was given.
if (scenario === 'unjudged' || scenario === 'all-pass') {
  for (const { id } of CONTROLS.filter((control) => control.id !== 'PROV-01')) {
    if (id !== 'RES-05' || scenario === 'all-pass') control(id, passing(id));
    else
      control(id, async ({ notApplicable }) => {
        notApplicable('spire-not-ours', 'the fixture says so');
      });
  }
}

const warnOn = { 'warn-only': 'HOST-04', 'warn-prerequisite': 'POD-03' }[scenario];
if (warnOn) {
  for (const { id } of CONTROLS.filter((control) => control.id !== 'PROV-01')) {
    if (id !== warnOn) control(id, passing(id));
    else
      control(id, async () => {
        throw new Error(`${id} fails in this scenario`);
      });
  }
}

if (scenario === 'leak') {
  for (const { id } of CONTROLS.filter((control) => control.id !== 'PROV-01')) {
    if (id !== 'SPIRE-03') control(id, passing(id));
    else
      control(id, async (context) => {
        const token = process.env.FIXTURE_JOIN_TOKEN ?? '';
        await context.evidence('agent-process.txt', `1591 spire-agent run -config agent.conf -joinToken ${token}`);
        const key = process.env.FIXTURE_PRIVATE_KEY ?? '';
        writeFileSync(join(context.run.config.reportsDir, 'leaky.log'), `agent.conf: join_token = "${token}"\n${key}`);
        await passing(id)(context);
      });
  }
}

if (scenario === 'crash') {
  control('HOST-01', async () => {
    // vitest intercepts process.exit; a signal really kills the worker.
    process.kill(process.pid, 'SIGKILL');
  });
}
