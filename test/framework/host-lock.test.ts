// The host lock: one run owns the host; a live owner refuses the next run with its name; a lock whose owner is gone
// (or whose PID now belongs to another process) is taken over and reported as stale; release removes only one's own.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acquireHostLock,
  HostLockedError,
  liveOwner,
  lockFile,
  type ProcessProbe,
  procProbe,
} from '../../lib/host-lock.ts';

/** Processes as a table: PID → start ticks. */
function probe(table: Record<number, string>): ProcessProbe {
  return { startTicks: (pid) => table[pid] };
}

const who = { checkout: '/src/one', reportsDir: '/src/one/reports' };

describe('host lock', () => {
  it('is taken once; a second run is refused with the owner named, and the lock is left as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const processes = probe({ 100: '5000', 200: '6000' });
    const first = acquireHostLock(dir, who, processes, 100);
    const before = readFileSync(lockFile(dir), 'utf8');
    let refused: unknown;
    try {
      acquireHostLock(dir, { checkout: '/src/two', reportsDir: '/src/two/reports' }, processes, 200);
    } catch (error) {
      refused = error;
    }
    expect(refused, 'the second run should be refused while the first holds the lock').toBeInstanceOf(HostLockedError);
    expect((refused as Error).message).toMatch(/pid 100, .*from \/src\/one.*nothing was changed/s);
    expect(readFileSync(lockFile(dir), 'utf8'), 'the refused run must not touch the lock').toBe(before);
    expect(liveOwner(dir, processes)?.pid).toBe(100);
    first.release();
    expect(liveOwner(dir, processes), 'released: no owner').toBeUndefined();
    const second = acquireHostLock(dir, who, processes, 200);
    expect(second.stale, 'a lock released properly is not stale').toBeUndefined();
  });

  it('takes over the lock of a run that no longer exists, and says whose it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    acquireHostLock(dir, who, probe({ 100: '5000' }), 100);
    const taken = acquireHostLock(dir, who, probe({ 200: '6000' }), 200);
    expect(taken.stale?.pid, 'the killed run is named').toBe(100);
    expect(liveOwner(dir, probe({ 200: '6000' }))?.pid).toBe(200);
  });

  it('does not mistake a reused PID for the owner', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    acquireHostLock(dir, who, probe({ 100: '5000' }), 100);
    // PID 100 now belongs to another process (started later).
    const taken = acquireHostLock(dir, who, probe({ 100: '9999', 200: '6000' }), 200);
    expect(taken.stale?.pid).toBe(100);
  });

  it('treats an unreadable lock (a run killed while writing it) as stale', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    writeFileSync(lockFile(dir), '{"pid": 1');
    const taken = acquireHostLock(dir, who, probe({ 200: '6000' }), 200);
    expect(taken.stale, 'the unreadable lock is reported').toBeDefined();
  });

  it("release leaves another owner's lock alone", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const old = acquireHostLock(dir, who, probe({ 100: '5000' }), 100);
    acquireHostLock(dir, who, probe({ 200: '6000' }), 200);
    old.release();
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid, 'the new owner keeps its lock').toBe(200);
  });

  it("reads this process's start time from /proc", () => {
    expect(procProbe.startTicks(process.pid)).toMatch(/^\d+$/);
    expect(procProbe.startTicks(2 ** 22 + 7)).toBeUndefined();
  });
});
