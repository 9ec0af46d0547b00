// Docker's host networking restored after the dockerd a run started: checked with real iptables and a real bridge, in
// a network namespace of the test's own (netfilter state is per namespace), so the host's own rules are never touched.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const MODULE = new URL('../../fixtures/docker-network.ts', import.meta.url).href;
const NS = `spire-val-docker-net-${process.pid}`;
const isRoot = process.getuid?.() === 0;

/** Runs `command` inside the namespace. */
function inNs(command: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, command, ...args], { encoding: 'utf8', stdio: 'pipe' });
}

/** Calls a function of fixtures/docker-network.ts inside the namespace; its result comes back as JSON. */
function call(name: 'snapshotDockerNetwork' | 'restoreDockerNetwork', arg?: unknown): unknown {
  const script = `const m = await import(${JSON.stringify(MODULE)}); console.log(JSON.stringify(await m.${name}(${
    arg === undefined ? '' : JSON.stringify(arg)
  })));`;
  return JSON.parse(inNs(process.execPath, '--input-type=module', '-e', script));
}

/** What dockerd 20.10 leaves behind when it stops (the rules it adds at start, as it adds them). */
function addDockerState(): void {
  inNs('ip', 'link', 'add', 'docker0', 'type', 'bridge');
  const ipt = (...args: string[]) => inNs('iptables', '-w', '5', ...args);
  ipt('-t', 'nat', '-N', 'DOCKER');
  ipt('-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER');
  ipt('-t', 'nat', '-A', 'POSTROUTING', '-s', '172.17.0.0/16', '!', '-o', 'docker0', '-j', 'MASQUERADE');
  ipt('-t', 'nat', '-A', 'DOCKER', '-i', 'docker0', '-j', 'RETURN');
  for (const chain of ['DOCKER', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2']) ipt('-N', chain);
  ipt('-A', 'FORWARD', '-j', 'DOCKER-USER'); // DOCKER-USER existed before: only this jump is new
  ipt('-A', 'FORWARD', '-j', 'DOCKER-ISOLATION-STAGE-1');
  ipt('-A', 'FORWARD', '-o', 'docker0', '-j', 'DOCKER');
  ipt('-A', 'DOCKER-ISOLATION-STAGE-1', '-i', 'docker0', '!', '-o', 'docker0', '-j', 'DOCKER-ISOLATION-STAGE-2');
  ipt('-A', 'DOCKER-ISOLATION-STAGE-2', '-o', 'docker0', '-j', 'DROP');
  ipt('-P', 'FORWARD', 'DROP');
}

/** Whether /run/netns is a mount point (`ip netns add` makes it one, and it outlives the namespaces). */
function netnsDirMounted(): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === '/run/netns');
}

describe.skipIf(!isRoot)('restoreDockerNetwork (real iptables, own network namespace)', () => {
  let mountedBefore = false;

  beforeAll(() => {
    mountedBefore = netnsDirMounted();
    // `ip netns add` bind-mounts /run/netns onto itself when it is not a mount point; over the namespaces a running
    // cluster pinned there (cni-…), that bind hides their mounts, and containerd can then never remove those pods'
    // sandboxes ("remove netns: … device or resource busy"). Refuse rather than break the cluster.
    const pinned = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
    if (!mountedBefore && pinned.length > 0)
      throw new Error(
        `a running cluster pins network namespaces under /run/netns (${pinned.join(', ')}): this test would hide ` +
          "them under a bind mount and break their pods' removal; run it with no cluster running (npm run teardown)",
      );
    execFileSync('ip', ['netns', 'add', NS]);
    // Already there before "the run": a rule of someone else's and a DOCKER-USER chain an admin keeps rules in.
    inNs('iptables', '-w', '5', '-A', 'FORWARD', '-s', '192.0.2.0/24', '-j', 'ACCEPT');
    inNs('iptables', '-w', '5', '-t', 'nat', '-A', 'POSTROUTING', '-s', '203.0.113.0/24', '-j', 'RETURN');
    inNs('iptables', '-w', '5', '-N', 'DOCKER-USER');
    inNs('iptables', '-w', '5', '-A', 'DOCKER-USER', '-s', '198.51.100.0/24', '-j', 'RETURN');
  });

  afterAll(() => {
    execFileSync('ip', ['netns', 'delete', NS]);
    // Leave no mount behind (the local cluster test checks there is none under /run/netns).
    if (!mountedBefore && netnsDirMounted() && readdirSync('/run/netns').length === 0) {
      execFileSync('umount', ['/run/netns']);
    }
  });

  test('removes what Docker added, keeps what was there, and puts the FORWARD policy back', () => {
    const before = call('snapshotDockerNetwork');
    const rulesBefore = inNs('iptables-save');
    addDockerState();
    expect(inNs('iptables', '-S', 'FORWARD')).toContain('-P FORWARD DROP');

    const line = call('restoreDockerNetwork', before) as string;

    expect(line).toMatch(
      /^removed what Docker added \(filter: 3 rule\(s\), 3 chain\(s\); nat: 2 rule\(s\), 1 chain\(s\);/,
    );
    expect(line).toContain('FORWARD policy DROP -> ACCEPT');
    expect(line).toContain('bridge docker0 deleted');
    const strip = (dump: string) =>
      dump
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.replace(/\[\d+:\d+\]/, ''));
    expect(strip(inNs('iptables-save'))).toEqual(strip(rulesBefore));
    expect(inNs('ip', '-br', 'link')).not.toContain('docker0');
    expect(call('snapshotDockerNetwork')).toEqual(before);
  });

  test('a second restore finds nothing to do', () => {
    const before = call('snapshotDockerNetwork');
    expect(call('restoreDockerNetwork', before)).toBe('nothing of Docker left');
  });
});
