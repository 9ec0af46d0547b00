// Rotation propagation: from the agent delivering a new X.509-SVID on the Workload API stream to the workload's
// server presenting it to a new connection. The entry gets a short X.509-SVID TTL so that SPIRE rotates every few
// seconds. The delivery time comes from an independent stream on the same socket (the bench's own X509Source); the
// presentation time from a client that opens new mTLS connections back to back and reads the served leaf's serial.
import { serialOf } from '../../workload/src/app.ts';
import { mtlsRequest } from '../../workload/src/mtls.ts';
import { X509Source } from '../../workload/src/workload-api.ts';
import { type BenchSpire, log, quiet, startWorkloadServer, stopDaemon } from './environment.ts';
import { type BenchRow, row } from './results.ts';
import { quantile, summarize } from './stats.ts';

export interface RotationOptions {
  rotations: number;
  x509SvidTtlSeconds: number;
}

export interface RotationDetails {
  x509SvidTtlSeconds: number;
  /** Per rotation: the serial, when the watcher got it and when a new connection was first served it (ms, one clock). */
  rotations: { serial: string; deliveredAtMs: number; presentedAtMs: number; propagationMs: number }[];
  polls: number;
  failedPolls: number;
  firstPollFailure: string | undefined;
  /** Median duration of one poll (connect, handshake, one line each way): the resolution of a presentation time. */
  pollMedianMs: number;
}

export async function benchRotation(
  spire: BenchSpire,
  options: RotationOptions,
): Promise<{ rows: BenchRow[]; details: RotationDetails }> {
  await spire.register(options.x509SvidTtlSeconds);
  const delivered = new Map<string, number>();
  const watcher = new X509Source({ endpoint: spire.endpoint, log: quiet, backoff: { initialMs: 200, maxMs: 1000 } });
  watcher.on('update', (svid) => {
    const serial = serialOf(svid);
    if (!delivered.has(serial)) delivered.set(serial, performance.now());
  });
  await watcher.waitForFirstSvid(30_000);
  const server = await startWorkloadServer(spire, 'workload-rotation');
  try {
    const presented = new Map<string, number>();
    const pollDurations: number[] = [];
    let failedPolls = 0;
    let firstPollFailure: string | undefined;
    let served = '';
    // Each rotation follows an agent sync (about every 5 s) once half of the SVID's lifetime has passed.
    const windowMs = (options.rotations + 2) * (options.x509SvidTtlSeconds + 10) * 1000;
    const deadline = performance.now() + windowMs;
    const rotationsSeen = () => Math.max(0, presented.size - 1);
    log(`watching ${options.rotations} rotations (X.509-SVID TTL ${options.x509SvidTtlSeconds} s)`);
    while (rotationsSeen() < options.rotations && performance.now() < deadline) {
      const svid = watcher.current;
      if (!svid) throw new Error('the bench watcher lost its SVID');
      const started = performance.now();
      try {
        const { serverSerial } = await mtlsRequest({
          host: '127.0.0.1',
          port: server.port,
          svid,
          expectedServerId: spire.spiffeId,
          message: 'which certificate?',
          log: quiet,
          timeoutMs: 2000,
        });
        const at = performance.now();
        pollDurations.push(at - started);
        if (serverSerial !== served) {
          served = serverSerial;
          if (!presented.has(serverSerial)) {
            presented.set(serverSerial, at);
            if (presented.size > 1) log(`rotation ${presented.size - 1}: serving serial ${serverSerial}`);
          }
        }
      } catch (error) {
        failedPolls++;
        firstPollFailure ??= (error as Error).message;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    // The first serial served was there before the watch began: only the later ones are rotations.
    const rotations = [...presented].slice(1).map(([serial, presentedAtMs]) => {
      const deliveredAtMs = delivered.get(serial);
      if (deliveredAtMs === undefined)
        throw new Error(`the workload served serial ${serial}, which the bench's own Workload API stream never got`);
      return { serial, deliveredAtMs, presentedAtMs, propagationMs: presentedAtMs - deliveredAtMs };
    });
    if (rotations.length === 0)
      throw new Error(
        `no rotation was served within ${windowMs / 1000} s ` +
          `(${pollDurations.length} polls, ${failedPolls} failed${firstPollFailure ? `, first: ${firstPollFailure}` : ''})`,
      );
    const intervals = rotations
      .slice(1)
      .map((rotation, i) => (rotation.deliveredAtMs - (rotations[i]?.deliveredAtMs ?? 0)) / 1000);
    const details: RotationDetails = {
      x509SvidTtlSeconds: options.x509SvidTtlSeconds,
      rotations,
      polls: pollDurations.length,
      failedPolls,
      firstPollFailure,
      pollMedianMs: quantile(
        [...pollDurations].sort((a, b) => a - b),
        0.5,
      ),
    };
    const rows = [
      row(
        'rotation',
        'rotation propagation: new X.509-SVID on the stream → served to a new connection',
        'ms',
        { label: 'workload server', summary: summarize(rotations.map((rotation) => rotation.propagationMs)) },
        undefined,
        (_ratio, subject) => ({ text: '< 1 s for every rotation', met: subject.max < 1000 }),
      ),
    ];
    if (intervals.length > 0)
      rows.push(
        row('rotation', `time between SPIRE's rotations (TTL ${options.x509SvidTtlSeconds} s)`, 's', {
          label: 'bench watcher',
          summary: summarize(intervals),
        }),
      );
    return { rows, details };
  } finally {
    watcher.close();
    await stopDaemon(spire.ledger, server.daemon, process.execPath);
  }
}
