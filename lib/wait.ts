// Bounded polling with visible progress: every wait in the suite goes through here, so none can hang.

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

/** Thrown by a probe when waiting longer cannot help (the process died, the input is wrong): ends the wait at once. */
export class WaitAborted extends Error {
  override name = 'WaitAborted';
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Called with a progress line at most every `progressEveryMs` (default: every 5 s). */
  onProgress?: (line: string) => void;
  progressEveryMs?: number;
}

/** A probe answers `{ done: true, value }` or `{ done: false, status }` (what it saw, for progress and timeout errors). */
export type ProbeResult<T> = { done: true; value: T } | { done: false; status: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Time spent in waitFor in this process (outermost waits only), so timings can tell waiting from working. */
let waitedTotalMs = 0;
let depth = 0;

/** Milliseconds this process has spent waiting in waitFor so far; the difference of two readings is a span's waits. */
export function waitedMs(): number {
  return waitedTotalMs;
}

export async function waitFor<T>(what: string, probe: () => Promise<ProbeResult<T>>, options: WaitOptions): Promise<T> {
  const started = Date.now();
  depth += 1;
  try {
    return await poll(what, probe, options, started);
  } finally {
    depth -= 1;
    if (depth === 0) waitedTotalMs += Date.now() - started;
  }
}

async function poll<T>(
  what: string,
  probe: () => Promise<ProbeResult<T>>,
  options: WaitOptions,
  started: number,
): Promise<T> {
  const interval = options.intervalMs ?? 1000;
  const progressEvery = options.progressEveryMs ?? 5000;
  let lastProgress = started;
  let status = 'not checked yet';
  for (;;) {
    try {
      const result = await probe();
      if (result.done) return result.value;
      status = result.status;
    } catch (error) {
      if (error instanceof WaitAborted) throw error;
      status = `probe error: ${(error as Error).message}`;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= options.timeoutMs) {
      throw new WaitTimeoutError(
        `Timed out after ${Math.round(elapsed / 1000)}s waiting for ${what}; last status: ${status}`,
      );
    }
    if (options.onProgress && Date.now() - lastProgress >= progressEvery) {
      lastProgress = Date.now();
      options.onProgress(
        `waiting for ${what} (${Math.round(elapsed / 1000)}s/${Math.round(options.timeoutMs / 1000)}s): ${status}`,
      );
    }
    await sleep(Math.min(interval, Math.max(0, options.timeoutMs - elapsed)));
  }
}
