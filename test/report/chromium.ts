// Headless Chromium (Debian's `chromium`) driven over the DevTools protocol with Node's built-in WebSocket: open a
// page, read what it renders, click, take a screenshot. Only what the report tests need; no browser library.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The Chromium binary; installs Debian's `chromium` when none is there, or throws saying why it could not. */
export function ensureChromium(log: (line: string) => void = () => {}): string {
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found) return found;
  log('chromium is not installed; installing the Debian package (apt-get install -y chromium)');
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'pipe', timeout: 300_000, env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'pipe', timeout: 600_000, env });
  } catch (error) {
    const output = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).slice(-2000);
    throw new Error(`Chromium is needed to look at the HTML report and could not be installed with apt-get: ${output}`);
  }
  const installed = CANDIDATES.find((path) => existsSync(path));
  if (!installed) throw new Error('apt-get installed chromium, but no chromium binary is in /usr/bin');
  return installed;
}

interface CdpMessage {
  id?: number;
  method?: string;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export class Browser {
  private readonly child: ChildProcess;
  private readonly profile: string;
  private socket: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: CdpMessage) => void; reject: (e: Error) => void }>();
  private stderr = '';

  private constructor(child: ChildProcess, profile: string) {
    this.child = child;
    this.profile = profile;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });
  }

  /** Starts headless Chromium on `url` (fresh profile, no network services) and connects to that page. */
  static async open(url: string, options: { width?: number; height?: number; timeoutMs?: number } = {}) {
    const binary = ensureChromium();
    const profile = mkdtempSync(join(tmpdir(), 'report-chromium-'));
    const child = spawn(
      binary,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-dev-shm-usage',
        `--user-data-dir=${profile}`,
        '--remote-debugging-port=0',
        `--window-size=${options.width ?? 1440},${options.height ?? 1000}`,
        url,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const browser = new Browser(child, profile);
    try {
      const port = await browser.devtoolsPort(options.timeoutMs ?? 30_000);
      await browser.connectToPage(port, options.timeoutMs ?? 30_000);
    } catch (error) {
      await browser.close();
      throw new Error(`${(error as Error).message}\nchromium stderr (tail):\n${browser.stderr.slice(-3000)}`);
    }
    return browser;
  }

  private async devtoolsPort(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(this.stderr);
      if (match) return Number(match[1]);
      if (this.child.exitCode !== null) throw new Error(`chromium exited with ${this.child.exitCode} before listening`);
      await sleep(100);
    }
    throw new Error(`chromium did not open its DevTools port within ${timeoutMs} ms`);
  }

  private async connectToPage(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let pageUrl: string | undefined;
    while (!pageUrl && Date.now() < deadline) {
      const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
        type: string;
        webSocketDebuggerUrl?: string;
      }>;
      pageUrl = targets.find((t) => t.type === 'page')?.webSocketDebuggerUrl;
      if (!pageUrl) await sleep(100);
    }
    if (!pageUrl) throw new Error('chromium has no page target');
    const socket = new WebSocket(pageUrl);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${pageUrl}`)), { once: true });
    });
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as CdpMessage;
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message);
    });
    this.socket = socket;
  }

  async send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const socket = this.socket;
    if (!socket) throw new Error('not connected');
    const id = this.nextId++;
    const reply = new Promise<CdpMessage>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error(`${method} got no answer within 30 s`));
      }, 30_000).unref();
    });
    socket.send(JSON.stringify({ id, method, params }));
    return (await reply).result ?? {};
  }

  /** Evaluates an expression in the page and returns its (JSON-serializable) value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    const details = result.exceptionDetails as { text?: string; exception?: { description?: string } } | undefined;
    if (details) throw new Error(`page threw: ${details.exception?.description ?? details.text}`);
    return (result.result as { value: T }).value;
  }

  /** The page's visible text. */
  text(): Promise<string> {
    return this.evaluate<string>('document.body ? document.body.innerText : ""');
  }

  /** Polls the visible text until `predicate` holds; returns the text (or throws with the last text seen). */
  async waitForText(predicate: (text: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    while (Date.now() < deadline) {
      text = await this.text();
      if (predicate(text)) return text;
      await sleep(250);
    }
    throw new Error(`the page never showed ${what} within ${timeoutMs} ms; it showed:\n${text.slice(0, 3000)}`);
  }

  /** PNG screenshot of the whole page as rendered. */
  async screenshot(): Promise<Buffer> {
    const result = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
    return Buffer.from(String(result.data), 'base64');
  }

  async close(): Promise<void> {
    this.socket?.close();
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => this.child.once('exit', resolve)), sleep(5000)]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ReportLeaf {
  /** The control id the test name starts with. */
  id: string;
  name: string;
  /** Allure status: passed, failed, broken, skipped, unknown. */
  status: string;
}

/** Opens every group of the Allure 3 (awesome) tree and reads each test: name and status icon. */
export async function readReportTree(browser: Browser): Promise<ReportLeaf[]> {
  await browser.waitForText((text) => text.includes('Phase 3: Kubernetes SPIRE Integration'), 'the epic group');
  for (let round = 0; round < 6; round++) {
    const opened = await browser.evaluate<number>(`(() => {
      const closed = [...document.querySelectorAll('[data-testid="tree-arrow"]')]
        .filter((arrow) => !(arrow.querySelector('svg')?.getAttribute('class') ?? '').includes('opened'));
      closed.forEach((arrow) => arrow.click());
      return closed.length;
    })()`);
    if (opened === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return browser.evaluate<ReportLeaf[]>(`[...document.querySelectorAll('[data-testid="tree-leaf"]')].map((leaf) => {
    const status = leaf.querySelector('[data-testid^="tree-leaf-status-"]')?.getAttribute('data-testid') ?? '';
    const name = [...leaf.querySelectorAll('*')].map((e) => e.childElementCount === 0 ? e.textContent : '')
      .find((text) => /^[A-Z0-9]+-\\d+ /.test(text ?? '')) ?? leaf.innerText;
    return { id: name.split(' ')[0], name, status: status.replace('tree-leaf-status-', '') };
  })`);
}

/** Clicks the test of control `id` in the tree and returns the text of its result page. */
export async function openTestResult(browser: Browser, id: string, expect: string): Promise<string> {
  const clicked = await browser.evaluate<boolean>(`(() => {
    const leaf = [...document.querySelectorAll('[data-testid="tree-leaf"]')].find((l) => l.innerText.includes(${JSON.stringify(`${id} `)}));
    leaf?.click();
    return Boolean(leaf);
  })()`);
  if (!clicked) throw new Error(`no test of ${id} in the report tree`);
  return browser.waitForText((text) => text.includes(expect), `${expect} on the page of ${id}`);
}
