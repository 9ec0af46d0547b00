// `npm run diagnose`: the checks of the seed's diagnose_k8s_spire.sh on demand — cluster/provider status, node
// conditions, CNI binaries and configuration, Flannel, SPIRE processes and sockets, workload image availability, pod
// status and events, volume mounts, recent logs — printed as one report. Read-only; each check is bounded by a
// timeout. The cluster is the one in cluster.kubeconfig (SPIRE_VALIDATION_KUBECONFIG), else the one the last run
// recorded in <reports>/run/cluster-provider.json; without either, the Kubernetes checks say "no cluster configured".
//   npm run diagnose [-- --only spire-sockets,logs] [--timeout 10]
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { COLLECTOR_NAMES, collectDiagnostics, renderDiagnostics } from '../fixtures/diagnostics.ts';
import { loadConfigOrExplain, type SuiteConfig } from '../lib/config.ts';
import { type ClusterProviderRecord, readRunFile } from '../lib/run-files.ts';

/** The kubeconfig the last run used, when it still exists. */
function lastRunKubeconfig(config: SuiteConfig): string | undefined {
  const kubeconfig = readRunFile<ClusterProviderRecord>(config.reportsDir, 'clusterProvider')?.kubeconfig;
  return kubeconfig && existsSync(kubeconfig) ? kubeconfig : undefined;
}

async function main(): Promise<number> {
  let args: { only?: string; timeout?: string; help?: boolean };
  try {
    args = parseArgs({
      options: { only: { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (args.help) {
    console.log(
      `usage: node scripts/diagnose.ts [--only <check,…>] [--timeout <seconds per check>]\nchecks: ${COLLECTOR_NAMES.join(', ')}`,
    );
    return 0;
  }
  const only = args.only?.split(',').map((name) => name.trim());
  const unknown = (only ?? []).filter((name) => !COLLECTOR_NAMES.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown check(s) ${unknown.join(', ')}; known: ${COLLECTOR_NAMES.join(', ')}`);
    return 2;
  }
  const timeoutSeconds = Number(args.timeout ?? 10);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    console.error(`--timeout must be a positive number of seconds (got ${args.timeout})`);
    return 2;
  }
  const config = loadConfigOrExplain();
  if (!config) return 2;
  const report = await collectDiagnostics({
    config,
    kubeconfig: config.cluster.kubeconfig ? undefined : lastRunKubeconfig(config),
    kubeconfigSource: 'the last run (run/cluster-provider.json)',
    timeoutMs: timeoutSeconds * 1000,
    ...(only ? { only } : {}),
  });
  process.stdout.write(renderDiagnostics(report, 'SPIRE on Kubernetes diagnostics'));
  return 0;
}

const code = await main();
// A Kubernetes request that timed out may still hold a socket open; the report is printed, so leave now.
process.exit(code);
