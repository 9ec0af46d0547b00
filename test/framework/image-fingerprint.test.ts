// The workload image is reused only when it was built from the same context: the fingerprint must move with every
// input of the build (a source file, the lockfile, the Dockerfile, the base image) and with nothing else.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { contextFingerprint, WORKLOAD_DIR } from '../../fixtures/workload-container.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function context(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fingerprint-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'proto'));
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM base\n');
  writeFileSync(join(dir, 'package.json'), '{}');
  writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3}');
  writeFileSync(join(dir, 'src', 'main.ts'), 'console.log(1);\n');
  writeFileSync(join(dir, 'proto', 'w.proto'), 'syntax = "proto3";\n');
  return dir;
}

test('the fingerprint is stable and moves with each input of the image build', () => {
  const dir = context();
  const first = contextFingerprint(dir, 'sha256:base1');
  expect(first).toMatch(/^[0-9a-f]{64}$/);
  expect(contextFingerprint(dir, 'sha256:base1')).toBe(first);
  expect(contextFingerprint(dir, 'sha256:base2'), 'another base image').not.toBe(first);

  writeFileSync(join(dir, 'node_modules', 'x.js'), 'ignored: npm ci makes it from the lockfile');
  writeFileSync(join(dir, 'README.md'), 'not in the image');
  expect(contextFingerprint(dir, 'sha256:base1')).toBe(first);

  for (const [file, content] of [
    ['src/main.ts', 'console.log(2);\n'],
    ['src/new.ts', ''],
    ['package-lock.json', '{"lockfileVersion":3,"x":1}'],
    ['Dockerfile', 'FROM base\nUSER 0\n'],
    ['proto/w.proto', 'syntax = "proto2";\n'],
  ] as const) {
    const changed = context();
    writeFileSync(join(changed, file), content);
    expect(contextFingerprint(changed, 'sha256:base1'), `${file} changed`).not.toBe(first);
  }
});

test('the product workload has a fingerprint', () => {
  expect(contextFingerprint(WORKLOAD_DIR, 'sha256:any')).toMatch(/^[0-9a-f]{64}$/);
});
