// The HTML report: Allure 3's CLI (npm `allure`) run offline on the results with allurerc.mjs (single file, grouped
// by epic and feature, history kept in <reports>/history.jsonl). It runs as a child process with a deadline, so a
// broken or hanging CLI is reported, never fatal: the run's verdict does not depend on it.
import { execFile } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface HtmlOutcome {
  ok: boolean;
  /** The report's index.html when generated. */
  path?: string;
  /** One line: what happened. */
  message: string;
  /** The CLI's output (tail). */
  output: string;
  seconds: number;
}

export interface HtmlOptions {
  /** Absolute reports directory: results in allure-results/, the report goes to html/, history to history.jsonl. */
  reportsDir: string;
  /** Repository root (node_modules/allure, allurerc.mjs). */
  repoRoot: string;
  timeoutMs?: number;
  /** The allure CLI entry point; tests point it at a broken one. */
  cli?: string;
  /** Add this run to the history file (default true); false when regenerating the report of the same run. */
  appendHistory?: boolean;
}

export function generateHtml(options: HtmlOptions): Promise<HtmlOutcome> {
  const started = Date.now();
  const cli = options.cli ?? join(options.repoRoot, 'node_modules', 'allure', 'cli.js');
  const results = join(options.reportsDir, 'allure-results');
  const target = join(options.reportsDir, 'html');
  const partial = join(options.reportsDir, 'html.partial');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  const failed = (message: string, output: string): HtmlOutcome => {
    // A report of an earlier run must not pass for this run's.
    rmSync(target, { recursive: true, force: true });
    rmSync(partial, { recursive: true, force: true });
    return { ok: false, message, output: output.slice(-4000), seconds: seconds() };
  };
  if (!existsSync(cli)) return Promise.resolve(failed(`the allure CLI is not installed (${cli}); run npm ci`, ''));
  if (!existsSync(results)) return Promise.resolve(failed(`no Allure results in ${results}`, ''));
  rmSync(partial, { recursive: true, force: true });
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'generate', results, '--config', join(options.repoRoot, 'allurerc.mjs'), '--output', partial],
      {
        cwd: options.repoRoot,
        env: {
          ...process.env,
          SPIRE_VALIDATION_REPORTS_DIR: options.reportsDir,
          SPIRE_VALIDATION_APPEND_HISTORY: options.appendHistory === false ? '0' : '1',
          NO_COLOR: '1',
          FORCE_COLOR: '0',
        },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim();
        const err = error as (Error & { killed?: boolean; code?: unknown }) | null;
        if (err?.killed) return resolve(failed(`allure generate did not finish within ${timeoutMs / 1000} s`, output));
        if (err) return resolve(failed(`allure generate failed (exit ${String(err.code ?? err.message)})`, output));
        const index = join(partial, 'index.html');
        if (!existsSync(index)) return resolve(failed(`allure generate wrote no ${index}`, output));
        try {
          rmSync(target, { recursive: true, force: true });
          renameSync(partial, target);
        } catch (e) {
          return resolve(failed(`cannot move the report into ${target}: ${(e as Error).message}`, output));
        }
        resolve({
          ok: true,
          path: join(target, 'index.html'),
          message: `HTML report written to ${join(target, 'index.html')}`,
          output: output.slice(-4000),
          seconds: seconds(),
        });
      },
    );
  });
}
