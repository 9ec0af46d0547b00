// Phase 90: SVID rotation (the seed's next step 2). The entry has a short X.509-SVID TTL (rotation.x509SvidTtlSeconds,
// 30 s by default); SPIRE's agent renews the SVID on its own schedule (about every 10-15 s at that TTL: nothing here
// forces it), and the workload must present the new certificate to new connections
// and rewrite its files without a restart; the pod-to-pod client of phase 80 keeps working and sees the new certificate.
import { expect } from 'vitest';
import { kube } from '../fixtures/cluster-context.ts';
import { control } from '../fixtures/control.ts';
import { execInPod, type LogLine, podLogLines, podLogs } from '../fixtures/kube.ts';
import type { Handles, RunContext } from '../fixtures/run-context.ts';
import { inspectSvid } from '../lib/svid-inspector.ts';
import { WaitAborted, waitFor } from '../lib/wait.ts';
import { judgeExchangesThroughRotation } from '../lib/workload-log.ts';

type Pod = Handles['pod'];

/** The serial the server presents to a new connection, seen by a client run inside the pod. */
async function servedSerial(run: RunContext, pod: Pod): Promise<string> {
  const { namespace, name } = pod;
  const result = await execInPod(kube(run), namespace, name, run.config.workload.container, [
    'node',
    '/opt/mtls-demo/src/main.ts',
    'client',
    '--connect',
    `127.0.0.1:${run.config.workload.port}`,
  ]);
  const serial = /\[Client\] Server certificate serial: ([0-9a-f]+)/.exec(result.stdout)?.[1];
  if (result.exitCode !== 0 || !serial) throw new Error(`the in-pod client failed: ${result.stdout}${result.stderr}`);
  return serial;
}

control(
  'ROT-01',
  async ({ run, evidence, log, need, provide }) => {
    const pod = need('pod');
    const { namespace, name } = pod;
    const first = await servedSerial(run, pod);
    const ttl = run.config.rotation.x509SvidTtlSeconds;
    log(`serving serial ${first}; waiting for SPIRE to rotate the SVID (TTL ${ttl}s)`);
    const next = await waitFor(
      'a new certificate on a new connection',
      async () => {
        const serial = await servedSerial(run, pod).catch((error: Error) => {
          // A server that presents an expired certificate never applied a rotation: no need to wait any longer.
          if (/certificate has expired|CERT_HAS_EXPIRED/.test(error.message))
            throw new WaitAborted(
              `the server presents an expired certificate to a new connection (it served serial ${first} at first): ` +
                `it never applied SPIRE's rotation — ${error.message.split('\n').find((line) => /expired/.test(line))}`,
            );
          throw error;
        });
        return serial !== first ? { done: true, value: serial } : { done: false, status: `still ${serial}` };
      },
      { timeoutMs: (ttl + 30) * 1000, intervalMs: 2000, onProgress: log },
    );
    const files = await execInPod(kube(run), namespace, name, run.config.workload.container, [
      'cat',
      '/app/svid.0.pem',
    ]);
    const onDisk = inspectSvid({ chainPem: files.stdout, bundlePem: files.stdout }).summary.serial;
    const current = await kube(run).core.readNamespacedPod({ name, namespace });
    const status = current.status?.containerStatuses?.[0];
    const rotationLines = (await podLogs(kube(run), namespace, name, run.config.workload.container))
      .split('\n')
      .filter((line) => line.includes('[SVID Rotation]'));
    await evidence(
      'rotation.txt',
      `before: ${first}\nafter:  ${next}\non disk: ${onDisk}\nrestarts: ${status?.restartCount}, started ${status?.state?.running?.startedAt?.toISOString()}\n\n${rotationLines.join('\n')}`,
    );
    expect(next, `expected a new certificate after rotation; the server still presents serial ${first}`).not.toBe(
      first,
    );
    expect(onDisk, `expected svid.0.pem to hold the served certificate ${next}; it holds ${onDisk}`).toBe(next);
    // Same container, never restarted: the listener stayed up and swapped its TLS context.
    expect(
      status?.restartCount,
      `expected no restart of the server container through rotation; restarts went from ${pod.restarts} to ${status?.restartCount}`,
    ).toBe(pod.restarts);
    expect(
      status?.state?.running?.startedAt?.toISOString(),
      'expected the same server container (same start time) through rotation',
    ).toBe(pod.startedAt);
    expect(
      rotationLines.some((line) => line.includes(next)),
      `expected an [SVID Rotation] log line naming serial ${next}`,
    ).toBe(true);
    provide('rotatedSerial', next);
  },
  (86_400 + 120) * 1000,
);

control(
  'ROT-02',
  async ({ run, evidence, log, need, figure }) => {
    const client = need('clientPod');
    const pod = need('pod');
    const serial = need('rotatedSerial');
    const { namespace, name } = client;
    // The window opens when the server logged its rotation to the serial ROT-01 saw served (the runtime's time on that
    // line); from then on every exchange of the client must succeed, and one must be served the new certificate.
    const rotationLine = (await podLogLines(kube(run), pod.namespace, pod.name, run.config.workload.container)).find(
      (line) => line.text.startsWith(`[SVID Rotation] New SVID serial ${serial} `),
    );
    if (!rotationLine)
      throw new Error(`expected the server pod ${pod.name} to log its rotation to serial ${serial}; its log has none`);
    const fromMs = rotationLine.at;
    let judged = judgeExchangesThroughRotation([], serial, { fromMs, toMs: fromMs });
    let clientLines: LogLine[] = [];
    // The client calls every few seconds: wait (bounded) for an exchange served the rotated certificate.
    await waitFor(
      `the client pod ${name} to be served certificate ${serial}`,
      async () => {
        clientLines = await podLogLines(kube(run), namespace, name, 'mtls-client', fromMs);
        judged = judgeExchangesThroughRotation(clientLines, serial, { fromMs, toMs: Date.now() });
        return judged.servedRotated
          ? { done: true, value: judged }
          : { done: false, status: `last: ${clientLines.at(-1)?.text ?? 'no line since the rotation'}` };
      },
      { timeoutMs: 60_000, intervalMs: 2000, onProgress: log },
    ).catch(() => judged);
    const current = await kube(run).core.readNamespacedPod({ name, namespace });
    const status = current.status?.containerStatuses?.[0];
    figure('exchanges after the rotation', String(judged.replies));
    figure('failed exchanges after the rotation', String(judged.failures.length));
    await evidence(
      'client-through-rotation.txt',
      `client pod ${name}: restarts ${status?.restartCount}, started ${status?.state?.running?.startedAt?.toISOString()}\n` +
        `rotated server serial: ${serial}, rotation logged by ${pod.name} at ${new Date(fromMs).toISOString()}\n\n` +
        clientLines
          .filter((line) => line.text.startsWith('[Client]'))
          .map((line) => `${new Date(line.at).toISOString()} ${line.text}`)
          .join('\n'),
    );
    expect(
      judged.problems,
      `expected the client pod ${name} to carry on through the rotation to ${serial}: served the new certificate, ` +
        'no failed exchange',
    ).toEqual([]);
    expect(
      status?.restartCount,
      `expected no restart of the client pod through rotation; restarts went from ${client.restarts} to ${status?.restartCount}`,
    ).toBe(client.restarts);
    expect(
      status?.state?.running?.startedAt?.toISOString(),
      'expected the same client container (same start time) through rotation',
    ).toBe(client.startedAt);
  },
  3 * 60_000,
);
