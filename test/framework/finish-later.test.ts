// Clean-ups handed over with finishLater (a one-shot pod or a namespace going away) run on while later controls do,
// and the run's teardown waits for every one of them (KEEP or not) and names a failed one.
import { join } from 'node:path';
import { expect, test, vi } from 'vitest';
import { RunContext } from '../../fixtures/run-context.ts';
import { tempConfig, tempDir } from '../artifacts/helpers.ts';

test('the teardown waits for the clean-ups still under way and logs the one that failed', async () => {
  const run = new RunContext({ ...tempConfig(), stateDir: join(tempDir(), 'state'), keep: true });
  const lines: string[] = [];
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    let finished = false;
    run.finishLater(
      'pod default/x deleted',
      new Promise((resolve) => setTimeout(resolve, 50)).then(() => {
        finished = true;
      }),
    );
    run.finishLater('namespace y deleted', Promise.reject(new Error('still Terminating after 120 s')));
    await run.teardown();
    expect(finished, 'the teardown returned before the pod was gone').toBe(true);
    const text = lines.join('');
    expect(text).toContain('waiting for 2 clean-up(s) still under way');
    expect(text).toContain('namespace y deleted — FAILED: still Terminating after 120 s');
  } finally {
    stderr.mockRestore();
  }
});
