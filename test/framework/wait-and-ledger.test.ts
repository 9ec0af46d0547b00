import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Ledger } from '../../fixtures/ledger.ts';
import { isProcessAlive, stopProcess } from '../../fixtures/pids.ts';
import { WaitAborted, WaitTimeoutError, waitedMs, waitFor } from '../../lib/wait.ts';

describe('waitFor', () => {
  test('returns the value once the probe is done', async () => {
    let calls = 0;
    const value = await waitFor(
      'three calls',
      async () => (++calls >= 3 ? { done: true, value: calls } : { done: false, status: `call ${calls}` }),
      { timeoutMs: 5000, intervalMs: 10 },
    );
    expect(value).toBe(3);
  });

  test('times out with what it waited for and the last status, and reports progress', async () => {
    const progress: string[] = [];
    const started = Date.now();
    const error = await waitFor('a thing that never happens', async () => ({ done: false, status: 'still nothing' }), {
      timeoutMs: 300,
      intervalMs: 20,
      progressEveryMs: 50,
      onProgress: (line) => progress.push(line),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toMatch(/waiting for a thing that never happens; last status: still nothing/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(progress.length).toBeGreaterThan(0);
  });

  test('a throwing probe is retried and its error becomes the status', async () => {
    const error = await waitFor(
      'x',
      async () => {
        throw new Error('boom');
      },
      { timeoutMs: 100, intervalMs: 10 },
    ).catch((caught: unknown) => caught as Error);
    expect((error as Error).message).toContain('probe error: boom');
  });
});

test('a probe that aborts ends the wait at once with its own error', async () => {
  const started = Date.now();
  const error = await waitFor(
    'a dead process',
    async () => {
      throw new WaitAborted('it exited');
    },
    { timeoutMs: 10_000, intervalMs: 10 },
  ).catch((caught: unknown) => caught as Error);
  expect(error).toBeInstanceOf(WaitAborted);
  expect(Date.now() - started).toBeLessThan(1000);
});

describe('waitedMs', () => {
  test('counts the time spent in waits, a wait inside another once', async () => {
    const before = waitedMs();
    let outerPolls = 0;
    await waitFor(
      'the outer condition',
      async () => {
        outerPolls += 1;
        if (outerPolls < 3) return { done: false, status: 'not yet' };
        // A probe that waits itself: its time is already the outer wait's.
        await waitFor('an inner condition', async () => ({ done: true, value: true }), { timeoutMs: 1000 });
        return { done: true, value: true };
      },
      { timeoutMs: 5000, intervalMs: 100 },
    );
    const waited = waitedMs() - before;
    expect(waited, 'two 100 ms intervals were waited').toBeGreaterThanOrEqual(190);
    expect(waited, 'the inner wait is not counted twice').toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(waitedMs() - before - waited, 'time outside waits is work, not waiting').toBe(0);
  });
});

describe('ledger', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'ledger-')), 'started.json');

  test('stops the processes it recorded, newest first, and forgets them', async () => {
    const ledger = new Ledger(file());
    const sleeper = spawn('sleep', ['30']);
    ledger.record({ kind: 'process', id: String(sleeper.pid), name: 'sleeper', executable: 'sleep' });
    expect(new Ledger(ledger.file).started).toHaveLength(1); // persisted
    const lines = await ledger.stopAll();
    expect(lines[0]).toMatch(/sleeper \(process \d+\): stopped \(SIGTERM\)/);
    expect(isProcessAlive(sleeper.pid as number)).toBe(false);
    expect(new Ledger(ledger.file).started).toHaveLength(0);
  });

  test('deletes registration entries before it stops any process, even a process recorded after them', async () => {
    const ledger = new Ledger(file());
    const entryServer = join(mkdtempSync(join(tmpdir(), 'ledger-socket-')), 'api.sock');
    ledger.record({ kind: 'spire-entry', id: 'entry-1', name: 'registration entry', endpoint: entryServer });
    // A SPIRE server restarted during the run: its record is newer than the entry's.
    const restarted = spawn('sleep', ['30']);
    ledger.record({ kind: 'process', id: String(restarted.pid), name: 'spire-server', executable: 'sleep' });
    const lines = await ledger.stopAll();
    expect(lines.map((line) => line.split(' (')[0])).toEqual(['registration entry', 'spire-server']);
    expect(lines[0]).toMatch(/not deleted: SPIRE Entry API: UNAVAILABLE/);
    expect(isProcessAlive(restarted.pid as number)).toBe(false);
  });

  test('leaves a PID alone when it no longer runs the recorded executable', async () => {
    const other = spawn('sleep', ['30']);
    try {
      const result = await stopProcess(other.pid as number, '/usr/bin/spire-server');
      expect(result).toMatch(/^left alone/);
      expect(isProcessAlive(other.pid as number)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  test('a process that ignores SIGTERM is killed after the grace period', async () => {
    const stubborn = spawn('sh', ['-c', 'trap "" TERM; sleep 30'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the trap be installed
    const result = await stopProcess(stubborn.pid as number, 'sh', 300);
    expect(result).toMatch(/killed \(SIGKILL/);
  });
});
