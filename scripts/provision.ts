// `npm run provision [-- --only spire,node-base] [--offline]`: resolves every component the suite runs on (see
// fixtures/artifacts), prints progress, then a table of what served each one; the provenance goes to
// <reportsDir>/run/artifacts.json. Exit 2: invalid configuration (nothing touched); exit 1: a component failed.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ArtifactRecord,
  artifactsReportFile,
  COMPONENTS,
  ProvisionError,
  provisionAll,
} from '../fixtures/artifacts/index.ts';
import { ensureDockerEngine } from '../fixtures/docker-engine.ts';
import { Ledger } from '../fixtures/ledger.ts';
import { loadConfigOrExplain } from '../lib/config.ts';
import { runDir } from '../lib/run-files.ts';

const NEEDS_DOCKER = new Set(['node-base', 'pause', 'flannel']);

function usage(): string {
  return [
    'usage: node scripts/provision.ts [--only <component,…>] [--offline]',
    '',
    'components, in the order they run:',
    ...COMPONENTS.map((c) => `  ${c.name.padEnd(14)} ${c.description}`),
    '',
    '--offline   never try official downloads or registry pulls (air-gapped hosts)',
  ].join('\n');
}

function table(records: ArtifactRecord[], failed: string[]): string {
  const rows = [
    ['component', 'version', 'source', 'seconds'],
    ...records.map((r) => [
      r.component,
      r.version.length > 48 ? `${r.version.slice(0, 47)}…` : r.version,
      r.source,
      r.seconds.toFixed(1),
    ]),
    ...failed.map((name) => [name, '-', 'FAILED', '-']),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ');
  return [line(rows[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join(
    '\n',
  );
}

async function main(): Promise<number> {
  let args: ReturnType<
    typeof parseArgs<{ options: { only: { type: 'string' }; offline: { type: 'boolean' }; help: { type: 'boolean' } } }>
  >;
  try {
    args = parseArgs({
      options: { only: { type: 'string' }, offline: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (args.values.help) {
    console.log(usage());
    return 0;
  }
  const only = args.values.only
    ?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const known = new Set(COMPONENTS.map((c) => c.name));
  const unknown = (only ?? []).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    console.error(`unknown component(s): ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }

  const config = loadConfigOrExplain();
  if (!config) return 2;

  const started = Date.now();
  const log = (line: string) => {
    const s = Math.round((Date.now() - started) / 1000);
    console.log(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}`);
  };
  log(`provisioning ${only ? only.join(', ') : 'everything'} (cache ${config.cacheDir})`);

  if (!only || only.some((name) => NEEDS_DOCKER.has(name))) {
    // Images need a Docker engine: use a running one, else start Debian's dockerd (and leave it running for the suite).
    const ledger = new Ledger(join(runDir(config.reportsDir), 'provision-ledger.json'));
    const engine = await ensureDockerEngine(config, ledger, log).catch((error: Error) => error);
    if (engine instanceof Error) {
      // The image components will fail with this reason; the others still run.
      log(`no Docker engine: ${engine.message}`);
    } else {
      log(
        `docker ${engine.version} (${engine.source}${engine.startedByRun ? `, started now as PID ${engine.paths.pid}; left running` : ', already running'})`,
      );
    }
  }

  let records: ArtifactRecord[] = [];
  let failure: ProvisionError | Error | undefined;
  try {
    records = await provisionAll(config, log, {
      ...(only ? { only } : {}),
      ...(args.values.offline ? { offline: true } : {}),
    });
  } catch (error) {
    failure = error as Error;
    if (error instanceof ProvisionError) records = error.records;
  }
  const failed = failure instanceof ProvisionError ? failure.failures.map((f) => f.component) : [];
  console.log(`\n${table(records, failed)}\n`);
  console.log(`provenance: ${artifactsReportFile(config)}`);
  console.log(`total: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failure) {
    console.error(`\nProvisioning failed:\n${failure.message}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
