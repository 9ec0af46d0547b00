// CLUSTER-01 fails when another cluster runs on the host. A process counts when its program is kubelet,
// kube-apiserver or etcd, it is not in this run's ledger or cluster state, and it was not started under the run
// itself: a Go build of Kubernetes or a `kube-apiserver --version` check of the run must never fail it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { descendsFrom, foreignClusterProcesses } from '../../fixtures/pids.ts';

test('a cluster program not ours is foreign; a mention in a command line, our own and our children are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foreign-'));
  const program = join(dir, 'kube-apiserver');
  symlinkSync('/bin/sleep', program);
  const child = spawn(program, ['30'], { stdio: 'ignore' });
  try {
    const pid = child.pid ?? 0;
    expect(descendsFrom(pid, process.pid)).toBe(true);
    expect(descendsFrom(process.pid, pid)).toBe(false);
    const lines = [
      `${pid} ${program} 30`,
      '1 /usr/bin/etcd --data-dir /var/lib/etcd',
      '2 kubelet --config /var/lib/kubelet/config.yaml',
      '3 /usr/local/go/bin/go build -o out/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubelet',
      '4 /var/lib/x/kube-apiserver --etcd-servers=https://127.0.0.1:2379',
    ];
    expect(foreignClusterProcesses(lines, new Set([4]))).toEqual([
      '1 /usr/bin/etcd --data-dir /var/lib/etcd',
      '2 kubelet --config /var/lib/kubelet/config.yaml',
    ]);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
