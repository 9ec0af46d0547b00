// npm run bench [-- --runs 15] [-- --fetch] [-- --handshakes] [-- --rotation] [-- --cluster] [-- --phases]
// Measures on this host, against real components, and writes reports/bench/results.json and results.md:
//   - "SVID Fetch: < 1 second for initial fetch" (the seed): the workload's TypeScript client against the official
//     `spire-agent api fetch x509` (scripts/bench/svid-fetch.ts);
//   - mTLS connections per second and the latency of one connection of the workload's server against `openssl
//     s_server` on the same SVID files, under one concurrent load generator (scripts/bench/handshakes.ts);
//   - rotation propagation: a new X.509-SVID on the Workload API stream until the server presents it
//     (scripts/bench/rotation.ts);
//   - with --cluster, "Cluster Startup: 2-3 minutes": the local cluster's cold start against a KEEP reuse;
//   - with --phases [--phase-runs 3] [--profiles default,no-resilience], the full validation's wall time cold and
//     warm, per phase with waits separated from work (scripts/bench/phases.ts); with --empty-cache, one validation from an empty cache, the same way.
// Without --fetch, --handshakes, --rotation or --phases all three identity parts run; --cluster adds the cluster part.
// --update-readme writes each measured part's table into README.md (between its bench markers).
// SPIRE is started from the provisioned binaries in a scratch directory (sockets of its own) and stopped at the end.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { loadConfigOrExplain, type SuiteConfig } from '../lib/config.ts';
import { type Acquired, acquireHostLock, HostLockedError } from '../lib/host-lock.ts';
import { benchCluster } from './bench/cluster.ts';
import { log, withBenchSpire } from './bench/environment.ts';
import { benchHandshakes, type LoadRun } from './bench/handshakes.ts';
import { benchEmptyCache, benchPhases, PROFILES, type ProfileName } from './bench/phases.ts';
import { updateReadme } from './bench/readme.ts';
import { type BenchResults, type BenchRow, type HostFacts, markdownTable, writeResults } from './bench/results.ts';
import { benchRotation } from './bench/rotation.ts';
import { benchSvidFetch } from './bench/svid-fetch.ts';

const RESULTS_DIR = join(import.meta.dirname, '..', 'reports', 'bench');

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${flag} must be a whole number ${min}-${max} (got ${text})`);
  return value;
}

function negotiatedText(runs: LoadRun[]): string {
  return [...new Set(runs.map((run) => `${run.server} ${run.negotiated}`))].join(', ');
}

function failedText(runs: LoadRun[]): string {
  return ['workload server', 'openssl s_server']
    .map((server) => {
      const mine = runs.filter((run) => run.server === server);
      const failed = mine.reduce((sum, run) => sum + run.failed, 0);
      const first = mine.find((run) => run.firstError)?.firstError;
      return `${server} ${failed} of ${failed + mine.reduce((sum, run) => sum + run.completed, 0)}${first ? ` (first: ${first})` : ''}`;
    })
    .join(', ');
}

/**
 * The host, for the bench's own SPIRE and cluster: the validation's host lock, waited for (bounded) while another run
 * owns it. The --phases part does not hold it: each validation it starts takes it.
 */
async function takeHost(config: SuiteConfig): Promise<Acquired> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      return acquireHostLock(config.stateDir, { checkout: process.cwd(), reportsDir: RESULTS_DIR });
    } catch (error) {
      if (!(error instanceof HostLockedError) || Date.now() > deadline) throw error;
      log(`waiting for the run that owns the host (pid ${error.owner.pid}, from ${error.owner.checkout}) to end`);
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    }
  }
}

async function hostFacts(): Promise<HostFacts> {
  const lscpu = await execa('lscpu', [], { reject: false });
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(lscpu.stdout)?.[1]?.trim() ?? '';
  const openssl = await execa('openssl', ['version'], { reject: false });
  return {
    cpuModel: field('Model name') || (cpus()[0]?.model ?? 'unknown'),
    cpus: cpus().length,
    threadsPerCore: Number(field('Thread\\(s\\) per core')) || 1,
    coresPerSocket: Number(field('Core\\(s\\) per socket')) || cpus().length,
    sockets: Number(field('Socket\\(s\\)')) || 1,
    node: process.versions.node,
    nodeOpenssl: process.versions.openssl,
    opensslCommand: openssl.stdout.trim() || 'openssl: not found',
    loadAverageAtStart: loadavg()[0] ?? 0,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '15' },
      fetch: { type: 'boolean', default: false },
      handshakes: { type: 'boolean', default: false },
      rotation: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      phases: { type: 'boolean', default: false },
      'empty-cache': { type: 'boolean', default: false },
      profiles: { type: 'string', default: 'default' },
      'phase-runs': { type: 'string', default: '3' },
      'update-readme': { type: 'boolean', default: false },
      'in-flight': { type: 'string', default: '8' },
      'handshake-seconds': { type: 'string', default: '3' },
      'rotation-ttl': { type: 'string', default: '10' },
    },
  });
  let runs: number;
  let inFlight: number;
  let handshakeSeconds: number;
  let rotationTtl: number;
  let phaseRuns: number;
  let profiles: ProfileName[];
  try {
    phaseRuns = wholeNumber('phase-runs', values['phase-runs'], 1, 20);
    runs = wholeNumber('runs', values.runs, 1, 200);
    inFlight = wholeNumber('in-flight', values['in-flight'], 4, 256);
    handshakeSeconds = wholeNumber('handshake-seconds', values['handshake-seconds'], 1, 60);
    rotationTtl = wholeNumber('rotation-ttl', values['rotation-ttl'], 1, 3600);
    profiles = values.profiles.split(',').map((name) => {
      if (!(name in PROFILES))
        throw new Error(`--profiles: unknown profile ${name}; known: ${Object.keys(PROFILES).join(', ')}`);
      return name as ProfileName;
    });
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const chosen = values.fetch || values.handshakes || values.rotation || values.phases || values['empty-cache'];
  const parts = {
    fetch: values.fetch || !chosen,
    handshakes: values.handshakes || !chosen,
    rotation: values.rotation || !chosen,
  };
  const config = loadConfigOrExplain();
  if (!config) return 2;
  const host = await hostFacts();

  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = {};
  const method: Record<string, string> = {};
  // Fewer repetitions for the parts whose one run takes seconds: the summary is still over repeated runs.
  const handshakeRuns = Math.min(runs, 10);
  const rotations = Math.min(runs, 6);
  const benchIdentity = async (suite: SuiteConfig): Promise<void> => {
    await withBenchSpire(suite, async (spire) => {
      await spire.register(0);
      if (parts.fetch) {
        rows.push(...(await benchSvidFetch(spire, runs)));
        method['svid-fetch'] =
          `${runs} runs, alternating: a new X509Source (gRPC stream) until its first SVID, then ` +
          '`spire-agent api fetch x509` (process start included), against the bench agent.';
      }
      if (parts.handshakes) {
        const result = await benchHandshakes(spire, {
          runs: handshakeRuns,
          inFlight,
          processes: 2,
          secondsPerRun: handshakeSeconds,
        });
        rows.push(...result.rows);
        details.handshakes = result.details;
        method.handshakes =
          `${handshakeRuns} runs of ${handshakeSeconds} s per server, alternating order, after a 1 s warm-up each. ` +
          `Load: scripts/bench/handshake-load.ts in 2 processes, ${inFlight} connections in flight in all; each ` +
          'connection a full TLS 1.3 handshake with the client SVID (no resumption), the server chain verified ' +
          'against the bundle, one line sent, the one-line reply read, closed. Both servers serve the SAME files the ' +
          'workload wrote (svid.0.pem, svid.0.key, bundle.0.pem). `openssl ' +
          `${result.details.opensslArgs.join(' ')}\`, output to /dev/null. Servers pinned to CPU ` +
          `${result.details.pinning.server}, generator to CPU ${result.details.pinning.generator} (taskset). ` +
          's_server serves one connection at a time (iterative); the workload is event-driven: the CPU rows show ' +
          `which side was the limit. Negotiated: ${negotiatedText(result.details.runs)}. Node's TLS uses the OpenSSL ` +
          `it bundles (${process.versions.openssl}), the openssl command the system's library (see Host): no other ` +
          `build is available offline. Failed connections: ${failedText(result.details.runs)}.`;
      }
      if (parts.rotation) {
        const result = await benchRotation(spire, { rotations, x509SvidTtlSeconds: rotationTtl });
        rows.push(...result.rows);
        details.rotation = result.details;
        method.rotation =
          `Entry X.509-SVID TTL ${rotationTtl} s. Per SPIRE 1.13.3's source, any TTL ≥ 1 s is accepted (0 = the ` +
          "server's default; the datastore refuses only a negative one), but the server backdates notBefore by 10 s " +
          'and the agent renews only at its sync, about every 5 s, once half the lifetime has passed: by that ' +
          'arithmetic an SVID of under about 6 s expires before its successor arrives, while ' +
          `${rotationTtl} s rotates at every agent sync and never lapses. Delivery time: the bench's own ` +
          'X509Source on the same socket; presentation time: end of the first back-to-back mTLS poll ' +
          `(workload/src/mtls.ts mtlsRequest) that got the new leaf serial (poll median ` +
          `${result.details.pollMedianMs.toFixed(1)} ms, the resolution); both on one clock in one process. ` +
          `${result.details.rotations.length} rotations watched.`;
      }
    });
  };
  const identity = parts.fetch || parts.handshakes || parts.rotation;
  const lock = identity || values.cluster ? await takeHost(config) : undefined;
  try {
    if (identity) await benchIdentity(config);
    if (values.cluster) {
      rows.push(...(await benchCluster(config, Math.min(runs, 3))));
      method.cluster = `${Math.min(runs, 3)} runs: a cold start of the local cluster to node Ready, then a KEEP reuse.`;
    }
  } finally {
    lock?.release();
  }
  if (values.phases) {
    const result = await benchPhases(phaseRuns, profiles);
    rows.push(...result.rows);
    details.phases = result.runs;
    method.phases =
      `${phaseRuns} cold and ${phaseRuns} warm runs of the full validation (\`npx vitest run\`, default settings, ` +
      'binaries cached): cold = no cluster and no SPIRE running; warm = adopting what a KEEP=1 run left. Per phase: ' +
      "the time of its controls from the run's compliance.json, and of it the time spent waiting for a condition " +
      '(lib/wait.ts waitFor); the rest is work. The wall time includes vitest start-up and the teardown. ' +
      `Profiles: ${profiles.join(', ')} (the others than default: wall times only).`;
  }
  if (values['empty-cache']) {
    const result = await benchEmptyCache();
    rows.push(...result.rows);
    details.emptyCache = result.runs;
    method['empty-cache'] =
      'One full validation (`npx vitest run`, default settings) with SPIRE_VALIDATION_CACHE set to a new empty ' +
      'directory: SPIRE, Kubernetes and Flannel built from the Go module proxy with empty Go module and build ' +
      "caches, the root file systems debootstrapped. Kept from this host: the Node runtime and Docker's images. " +
      'Per phase as for --phases.';
  }
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    host,
    method,
    rows,
    details,
  };
  const files = writeResults(RESULTS_DIR, results);
  console.log(markdownTable(results));
  console.log(`written: ${files.json}, ${files.markdown}`);
  if (values['update-readme']) console.log(updateReadme(join(import.meta.dirname, '..', 'README.md'), results));
  return 0;
}

process.exitCode = await main();
