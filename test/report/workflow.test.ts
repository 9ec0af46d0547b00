// The nightly workflow passes actionlint (built once from the Go module proxy into the cache: a tools module with
// `go get -tool`, then `go install`), with shellcheck on its run: scripts when shellcheck is installed — and it does
// what the reports need: schedule + manual trigger, Node 24, the validation as root, reports uploaded, history kept.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../lib/config.ts';
import { REPO_ROOT } from './helpers.ts';

const run = promisify(execFile);
const ACTIONLINT_VERSION = 'v1.7.12';
const ACTIONLINT_PACKAGE = 'github.com/rhysd/actionlint/cmd/actionlint';
const WORKFLOW = join(REPO_ROOT, '.github', 'workflows', 'nightly.yml');

function goBinary(): string {
  const found = [...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'go')), '/usr/local/go/bin/go'].find(
    (path) => existsSync(path),
  );
  if (!found) throw new Error('actionlint is built from the Go module proxy, and no Go toolchain is installed (go)');
  return found;
}

/** actionlint from the cache, built there on first use. */
async function actionlint(): Promise<string> {
  const cache = loadConfig().cacheDir;
  const root = join(cache, 'tools', `actionlint-${ACTIONLINT_VERSION}`);
  const binary = join(root, 'bin', 'actionlint');
  if (existsSync(binary)) {
    const { stdout } = await run(binary, ['-version']);
    if (stdout.startsWith(ACTIONLINT_VERSION)) return binary;
  }
  const go = goBinary();
  const moduleDir = join(root, 'module');
  mkdirSync(moduleDir, { recursive: true });
  const env = {
    ...process.env,
    GOTOOLCHAIN: 'local',
    GOMODCACHE: join(cache, 'go', 'mod'),
    GOCACHE: join(cache, 'go', 'build'),
    GOFLAGS: '-buildvcs=false',
    CGO_ENABLED: '0',
  };
  const options = { cwd: moduleDir, env, timeout: 10 * 60_000 };
  if (!existsSync(join(moduleDir, 'go.mod')))
    writeFileSync(join(moduleDir, 'go.mod'), 'module tools.local/actionlint\n');
  await run(go, ['get', '-tool', `${ACTIONLINT_PACKAGE}@${ACTIONLINT_VERSION}`], options);
  await run(go, ['install', ACTIONLINT_PACKAGE], { ...options, env: { ...env, GOBIN: join(root, 'bin') } });
  return binary;
}

let binary: string;
beforeAll(async () => {
  binary = await actionlint();
}, 15 * 60_000);

test(`actionlint ${ACTIONLINT_VERSION} passes the nightly workflow`, async () => {
  const result = await run(binary, ['-verbose', WORKFLOW], { cwd: REPO_ROOT, timeout: 60_000 }).catch(
    (error: { stdout?: string; stderr?: string }) => {
      throw new Error(`actionlint found problems:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    },
  );
  expect(result.stderr).toContain('Found total 0 errors');
  // shellcheck checks the run: scripts when it is installed (Debian package shellcheck).
  if (existsSync('/usr/bin/shellcheck')) expect(result.stderr).not.toContain('Rule "shellcheck" was disabled');
}, 120_000);

test('the workflow runs the validation nightly and on demand, as root on Node 24, and keeps reports and history', () => {
  const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as {
    on: { schedule: Array<{ cron: string }>; workflow_dispatch: unknown };
    jobs: Record<
      string,
      {
        'runs-on': string[];
        steps: Array<{ uses?: string; run?: string; with?: Record<string, unknown>; if?: string }>;
      }
    >;
  };
  expect(workflow.on.schedule[0]?.cron).toMatch(/^\S+ \S+ \* \* \*$/);
  expect(workflow.on).toHaveProperty('workflow_dispatch');
  const job = workflow.jobs.validate;
  expect(job?.['runs-on']).toContain('self-hosted');
  const steps = job?.steps ?? [];
  const uses = (action: string) => steps.find((step) => step.uses?.startsWith(`${action}@`));
  expect(uses('actions/setup-node')?.with?.['node-version']).toBe(24);
  expect(steps.some((step) => /sudo -E .*npx vitest run/.test(step.run ?? ''))).toBe(true);
  expect(uses('actions/upload-artifact')?.with?.path).toContain('reports/');
  expect(uses('actions/upload-artifact')?.if).toBe('always()');
  expect(uses('actions/cache/restore')?.with?.path).toBe('reports/history.jsonl');
  expect(uses('actions/cache/save')?.with?.path).toBe('reports/history.jsonl');
  // The history file is where allurerc.mjs keeps it.
  expect(readFileSync(join(REPO_ROOT, 'allurerc.mjs'), 'utf8')).toContain(
    "historyPath: resolve(reports, 'history.jsonl')",
  );
});
