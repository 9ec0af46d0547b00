// npm run bench [-- --runs 15] [-- --cluster]
// Measures the speed claims of the seed's "Performance Notes" on this host, against real components:
//   - "SVID Fetch: < 1 second for initial fetch": time from a fresh Workload API connection to the first X.509-SVID,
//     for the workload's TypeScript client and, as the reference, the official `spire-agent api fetch x509`;
//   - with --cluster, "Cluster Startup: 2-3 minutes": the local cluster's cold start against a KEEP reuse.
// SPIRE is started from the provisioned binaries in a scratch directory (sockets of its own) and stopped at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { provisionSpire } from '../fixtures/artifacts/index.ts';
import { LocalProvider } from '../fixtures/cluster/local.ts';
import { EntryApi } from '../fixtures/entry-api.ts';
import { Ledger } from '../fixtures/ledger.ts';
import { ensureEntry } from '../fixtures/registration.ts';
import { agentCli, ensureSpireAgent, ensureSpireServer } from '../fixtures/spire.ts';
import { loadConfigOrExplain, type SuiteConfig } from '../lib/config.ts';
import { waitFor } from '../lib/wait.ts';
import { X509Source } from '../workload/src/workload-api.ts';

const quiet = { info: () => {}, error: () => {} };
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function stats(samples: number[]): { median: number; p90: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { median: at(0.5), p90: at(0.9), min: sorted[0] as number, max: sorted.at(-1) as number };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

async function timed(body: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await body();
  return performance.now() - started;
}

async function benchSvidFetch(config: SuiteConfig, runs: number): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'spire-bench-'));
  // Sockets of its own: never disturbs a SPIRE that runs at the default paths.
  const benchConfig: SuiteConfig = {
    ...config,
    spire: {
      ...config.spire,
      mode: 'auto',
      serverSocket: join(scratch, 'server', 'api.sock'),
      agentSocket: join(scratch, 'agent', 'api.sock'),
      serverPort: 18081,
      workDir: join(scratch, 'work'),
    },
  };
  const ledger = new Ledger(join(scratch, 'started.json'));
  try {
    const spire = await provisionSpire(config, log);
    const binaries = { server: spire.paths.server as string, agent: spire.paths.agent as string };
    const context = { config: benchConfig, binaries, ledger, log };
    await ensureSpireServer(context);
    const { agentId } = await ensureSpireAgent(context);
    const api = new EntryApi(benchConfig.spire.serverSocket);
    const uid = process.getuid?.() ?? 0;
    await ensureEntry(
      api,
      {
        spiffeId: `spiffe://${config.trustDomain}/bench`,
        parentId: agentId,
        selectors: [{ type: 'unix', value: `uid:${uid}` }],
      },
      ledger,
    );
    api.close();
    const endpoint = `unix://${benchConfig.spire.agentSocket}`;
    const fetchOnce = async () => {
      const source = new X509Source({ endpoint, log: quiet, backoff: { initialMs: 200, maxMs: 1000 } });
      try {
        return await source.waitForFirstSvid(10_000);
      } finally {
        source.close();
      }
    };
    log('waiting for the entry to reach the agent');
    await waitFor(
      'the bench entry to reach the agent',
      async () =>
        (await fetchOnce().catch(() => undefined))
          ? { done: true, value: true }
          : { done: false, status: 'no SVID yet' },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const client: number[] = [];
    const cli: number[] = [];
    for (let i = 0; i < runs; i++) {
      client.push(await timed(fetchOnce));
      cli.push(
        await timed(async () => {
          const result = await agentCli(binaries, benchConfig.spire.agentSocket, ['api', 'fetch', 'x509']);
          if (result.exitCode !== 0) throw new Error(`spire-agent api fetch x509 failed: ${result.all}`);
        }),
      );
    }
    const a = stats(client);
    const b = stats(cli);
    console.log(`\nInitial X.509-SVID fetch, ${runs} runs each (seed: "< 1 second")`);
    console.log('                                       median      p90       min       max');
    console.log(
      `TypeScript client (X509Source)    ${[a.median, a.p90, a.min, a.max]
        .map(ms)
        .map((s) => s.padStart(10))
        .join('')}`,
    );
    console.log(
      `spire-agent api fetch x509 (CLI)  ${[b.median, b.p90, b.min, b.max]
        .map(ms)
        .map((s) => s.padStart(10))
        .join('')}`,
    );
    console.log(
      `median ratio client/CLI: ${(a.median / b.median).toFixed(2)} (the CLI time includes starting its process)`,
    );
  } finally {
    await ledger.stopAll(log);
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function benchCluster(config: SuiteConfig, runs: number): Promise<void> {
  const cold: number[] = [];
  const reuse: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ledger = new Ledger(join(mkdtempSync(join(tmpdir(), 'cluster-bench-')), 'started.json'));
    const provider = new LocalProvider({ ...config, keep: true }, ledger);
    try {
      cold.push(await timed(() => provider.start(log)));
      reuse.push(await timed(() => new LocalProvider({ ...config, keep: true }, ledger).start(log)));
    } finally {
      await provider.stop(log, { force: true });
      await ledger.stopAll(log);
    }
  }
  const a = stats(cold);
  const b = stats(reuse);
  console.log(`\nLocal cluster start to node Ready, ${runs} runs (seed: minikube "2-3 minutes")`);
  console.log(
    `cold start        median ${(a.median / 1000).toFixed(1)} s (min ${(a.min / 1000).toFixed(1)}, max ${(a.max / 1000).toFixed(1)})`,
  );
  console.log(
    `reuse with KEEP   median ${(b.median / 1000).toFixed(2)} s (min ${(b.min / 1000).toFixed(2)}, max ${(b.max / 1000).toFixed(2)})`,
  );
  console.log(`median ratio cold/reuse: ${(a.median / b.median).toFixed(0)}x`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '15' }, cluster: { type: 'boolean', default: false } },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 200) {
    console.error(`--runs must be a whole number 1-200 (got ${values.runs})`);
    return 2;
  }
  const config = loadConfigOrExplain();
  if (!config) return 2;
  const running = await execa('pgrep', ['-f', 'vitest run'], { reject: false });
  if (running.stdout.trim()) {
    console.error('a validation or test run is in progress; benchmark on a quiet host');
    return 2;
  }
  await benchSvidFetch(config, runs);
  if (values.cluster) await benchCluster(config, Math.min(runs, 3));
  return 0;
}

process.exitCode = await main();
