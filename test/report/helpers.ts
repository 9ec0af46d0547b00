// Helpers for the report tests: run the validation (or the scenario suite) as a bounded child process into a scratch
// reports directory, make sure no other validation or cluster test shares the host meanwhile, read the reports back,
// and a minimal XML reader for junit.xml (no XML library in the dependencies).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComplianceDocument } from '../../lib/report/write.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, without colours. */
  output: string;
  seconds: number;
  /** The output line on which `interrupt` sent its signal, if it did. */
  interruptedOn?: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes.
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** Runs `vitest run [--config …]` in the repository with `env` added; killed (SIGKILL) after `timeoutMs`. */
export function runVitest(options: {
  config?: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Test file filters (e.g. only some phases). */
  files?: string[];
  /** More vitest arguments (e.g. `--reporter=dot`). */
  args?: string[];
  /** Sends `signal` to the vitest process once a line of its output matches `when` (as a user's Ctrl+C would). */
  interrupt?: { when: RegExp; signal: NodeJS.Signals };
}): Promise<ChildRun> {
  const started = Date.now();
  const args = [join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...(options.files ?? [])];
  if (options.config) args.push('--config', options.config);
  args.push(...(options.args ?? []));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let interruptedOn: string | undefined;
    const take = (chunk: Buffer) => {
      output += chunk.toString();
      if (!options.interrupt || interruptedOn !== undefined) return;
      const line = output.split('\n').find((text) => options.interrupt?.when.test(text));
      if (line === undefined) return;
      interruptedOn = line;
      child.kill(options.interrupt.signal);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        output: output.replace(ANSI, ''),
        seconds: (Date.now() - started) / 1000,
        ...(interruptedOn !== undefined ? { interruptedOn } : {}),
      });
    });
  });
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/**
 * Other processes that must not share the host with a validation: a validation (`vitest run` without the test
 * config), cluster or report tests, or a whole `npm test` — anything vitest that is not this test run itself.
 */
export function conflictingRuns(): string[] {
  const mine = new Set<number>();
  for (let pid = process.pid; pid > 1; pid = parentOf(pid)) mine.add(pid);
  const conflicts: string[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || mine.has(pid)) continue;
    const line = cmdline(pid);
    if (!/vitest(\.mjs)?\s+run\b/.test(line)) continue;
    // A command still queued on the host lock (`flock … npx vitest run`, or a shell around it) runs nothing yet;
    // waiting for it while holding the lock would wait for ever. Once it holds the lock, its vitest is seen.
    if (/(^|\s|\/)flock\s/.test(line)) continue;
    let ancestor = parentOf(pid);
    let ours = false;
    for (let hops = 0; ancestor > 1 && hops < 50; hops++, ancestor = parentOf(ancestor)) {
      if (mine.has(ancestor)) {
        ours = true;
        break;
      }
    }
    if (ours) continue;
    const validation = !line.includes('test/vitest.config.ts');
    const wholeSuiteOrHostTests = /test\/vitest\.config\.ts\s*$/.test(line) || /test\/(cluster|report)\b/.test(line);
    if (validation || wholeSuiteOrHostTests) conflicts.push(`${pid}: ${line}`);
  }
  return conflicts;
}

/** Waits until no conflicting run is left (the brief: never two validations, never beside cluster tests). */
export async function waitForExclusiveHost(timeoutMs = 15 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let conflicts = conflictingRuns();
  while (conflicts.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    conflicts = conflictingRuns();
  }
  if (conflicts.length > 0) {
    throw new Error(
      `another validation or cluster test is still running after ${timeoutMs / 60_000} min; run the report tests ` +
        `alone:\n${conflicts.join('\n')}`,
    );
  }
}

/** A scratch reports directory under reports/selftest/, emptied except for the report history. */
export function scratchReports(name: string): string {
  const dir = join(REPO_ROOT, 'reports', 'selftest', name);
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir)) {
      if (entry !== 'history.jsonl') rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
  return dir;
}

export function readCompliance(reportsDir: string): ComplianceDocument {
  return JSON.parse(readFileSync(join(reportsDir, 'compliance.json'), 'utf8')) as ComplianceDocument;
}

export interface AllureResultFile {
  name: string;
  status: string;
  statusDetails?: { message?: string; trace?: string };
  description?: string;
  labels: Array<{ name: string; value: string }>;
  parameters: Array<{ name: string; value: string; excluded?: boolean }>;
  steps: Array<{ name: string; attachments?: Array<{ name: string; source: string }>; steps?: unknown[] }>;
  attachments: Array<{ name: string; source: string }>;
}

/** The Allure results of a run, by control id. */
export function allureResults(reportsDir: string): Map<string, AllureResultFile> {
  const dir = join(reportsDir, 'allure-results');
  const results = new Map<string, AllureResultFile>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('-result.json'))) {
    const result = JSON.parse(readFileSync(join(dir, file), 'utf8')) as AllureResultFile;
    const id = result.labels.find((label) => label.name === 'control')?.value;
    if (id) results.set(id, result);
  }
  return results;
}

/** Every attachment name of a result, including those wrapped in steps. */
export function attachmentNames(result: AllureResultFile): string[] {
  const names = result.attachments.map((a) => a.name);
  const walk = (steps: AllureResultFile['steps']) => {
    for (const step of steps) {
      names.push(...(step.attachments ?? []).map((a) => a.name));
      walk((step.steps ?? []) as AllureResultFile['steps']);
    }
  };
  walk(result.steps);
  return names;
}

export function attachmentSource(result: AllureResultFile, name: string): string | undefined {
  let found: string | undefined;
  const walk = (steps: AllureResultFile['steps']) => {
    for (const step of steps) {
      found ??= step.attachments?.find((a) => a.name === name)?.source;
      walk((step.steps ?? []) as AllureResultFile['steps']);
    }
  };
  found = result.attachments.find((a) => a.name === name)?.source;
  walk(result.steps);
  return found;
}

// ── a minimal XML reader: elements, attributes, text, the five predefined entities ─────────────────────────────

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function decode(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

/** Parses well-formed XML (no DTD, no CDATA, no comments); throws on anything malformed. */
export function parseXml(xml: string): XmlElement {
  let position = xml.startsWith('<?xml') ? xml.indexOf('?>') + 2 : 0;
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w.:-]+="[^"<]*")*)\s*(\/?)>/y;
  while (position < xml.length) {
    const next = xml.indexOf('<', position);
    const text = xml.slice(position, next === -1 ? xml.length : next);
    const current = stack.at(-1) as XmlElement;
    if (/[<>]/.test(text) || /&(?!(lt|gt|quot|apos|amp);)/.test(text)) throw new Error(`bad text near ${position}`);
    current.text += decode(text);
    if (next === -1) break;
    tag.lastIndex = next;
    const match = tag.exec(xml);
    if (!match) throw new Error(`malformed tag at ${next}: ${xml.slice(next, next + 80)}`);
    const [, closing, name = '', attributeText = '', selfClosing] = match;
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
    } else {
      const attributes: Record<string, string> = {};
      for (const [, key = '', value = ''] of attributeText.matchAll(/([\w.:-]+)="([^"<]*)"/g)) {
        if (/&(?!(lt|gt|quot|apos|amp);)/.test(value)) throw new Error(`bad attribute ${key}`);
        attributes[key] = decode(value);
      }
      const element: XmlElement = { name, attributes, children: [], text: '' };
      current.children.push(element);
      if (!selfClosing) stack.push(element);
    }
    position = tag.lastIndex;
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)?.name}>`);
  const [document] = root.children;
  if (!document || root.children.length !== 1) throw new Error('not exactly one root element');
  return document;
}

export function descendants(element: XmlElement, name: string): XmlElement[] {
  return element.children.flatMap((child) => [...(child.name === name ? [child] : []), ...descendants(child, name)]);
}

/** The keys every environment.properties must carry (what the report's Environment tab shows). */
export const ENVIRONMENT_KEYS = [
  'Host',
  'Kernel',
  'cgroup',
  'Node.js',
  'SPIRE',
  'Kubernetes',
  'containerd',
  'Docker',
  'Provider',
] as const;
