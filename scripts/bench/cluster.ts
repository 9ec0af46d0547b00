// With --cluster, the seed's "Cluster Startup: 2-3 minutes": the local cluster's cold start to node Ready, against
// a KEEP reuse of the cluster just started.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProvider } from '../../fixtures/cluster/local.ts';
import { Ledger } from '../../fixtures/ledger.ts';
import type { SuiteConfig } from '../../lib/config.ts';
import { log } from './environment.ts';
import { type BenchRow, row } from './results.ts';
import { summarize, timed } from './stats.ts';

export async function benchCluster(config: SuiteConfig, runs: number): Promise<BenchRow[]> {
  const cold: number[] = [];
  const reuse: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ledger = new Ledger(join(mkdtempSync(join(tmpdir(), 'cluster-bench-')), 'started.json'));
    const provider = new LocalProvider({ ...config, keep: true }, ledger);
    try {
      cold.push((await timed(() => provider.start(log))) / 1000);
      reuse.push((await timed(() => new LocalProvider({ ...config, keep: true }, ledger).start(log))) / 1000);
    } finally {
      await provider.stop(log, { force: true });
      await ledger.stopAll(log);
    }
  }
  return [
    row(
      'cluster',
      'local cluster start to node Ready',
      's',
      { label: 'cold start', summary: summarize(cold) },
      { label: 'reuse with KEEP', summary: summarize(reuse) },
      (_ratio, subject) => ({ text: 'seed: minikube "2-3 minutes" for a cold start', met: subject.median <= 180 }),
    ),
  ];
}
