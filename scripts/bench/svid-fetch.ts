// The seed's "SVID Fetch: < 1 second for initial fetch": time from a fresh Workload API connection to the first
// X.509-SVID, for the workload's TypeScript client and, as the reference, the official `spire-agent api fetch x509`.
import { agentCli } from '../../fixtures/spire.ts';
import { X509Source } from '../../workload/src/workload-api.ts';
import { type BenchSpire, quiet } from './environment.ts';
import { type BenchRow, row } from './results.ts';
import { summarize, timed } from './stats.ts';

export async function benchSvidFetch(spire: BenchSpire, runs: number): Promise<BenchRow[]> {
  const fetchOnce = async () => {
    const source = new X509Source({ endpoint: spire.endpoint, log: quiet, backoff: { initialMs: 200, maxMs: 1000 } });
    try {
      return await source.waitForFirstSvid(10_000);
    } finally {
      source.close();
    }
  };
  const client: number[] = [];
  const cli: number[] = [];
  for (let i = 0; i < runs; i++) {
    client.push(await timed(fetchOnce));
    cli.push(
      await timed(async () => {
        const result = await agentCli(spire.binaries, spire.config.spire.agentSocket, ['api', 'fetch', 'x509']);
        if (result.exitCode !== 0) throw new Error(`spire-agent api fetch x509 failed: ${result.all}`);
      }),
    );
  }
  return [
    row(
      'svid-fetch',
      'initial X.509-SVID fetch (the CLI figure includes starting its process)',
      'ms',
      { label: 'TypeScript client (X509Source)', summary: summarize(client) },
      { label: 'spire-agent api fetch x509', summary: summarize(cli) },
      (_ratio, subject) => ({ text: 'seed: < 1 s (median and max)', met: subject.max < 1000 }),
    ),
  ];
}
