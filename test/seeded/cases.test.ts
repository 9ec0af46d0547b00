// The seeded defects' manifests, without a cluster: each transform applies to today's product manifest (a changed
// manifest must fail here, not seed nothing in the matrix), and changes exactly what its defect says.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../report/helpers.ts';
import { CASES, placeholder, replaceOnce, VARIANT_IMAGE, variantManifest } from './cases.ts';

const product = readFileSync(join(REPO_ROOT, 'manifests', 'mtls-app.yaml'), 'utf8');

interface Container {
  name: string;
  image: string;
  args: string[];
  volumeMounts: { name: string }[];
}

function container(manifest: string): Container {
  const [deployment] = parseAllDocuments(manifest).map((doc) => doc.toJS());
  return deployment.spec.template.spec.containers[0] as Container;
}

describe('seeded-defect manifests', () => {
  test('replaceOnce refuses a text that is missing or ambiguous', () => {
    expect(() => replaceOnce('a b', 'c', 'd')).toThrow(/exactly one "c".*found 0/);
    expect(() => replaceOnce('a a', 'a', 'd')).toThrow(/found 2/);
    expect(replaceOnce('a b', 'b', '$&')).toBe('a $&');
  });

  test('the variant manifest runs the variant image with the defect as its first argument', () => {
    const changed = container(variantManifest(product, 'key-0644'));
    expect(changed.image).toBe(VARIANT_IMAGE);
    expect(changed.args.slice(0, 2)).toEqual(['key-0644', 'server']);
    expect(changed.args.slice(2)).toEqual(container(product).args.slice(1));
  });

  test('each manifest defect changes the product manifest', () => {
    const base = container(product);
    const byName = new Map(CASES.map((c) => [c.name, c.manifest?.(product)]));
    const otherDomain = container(byName.get('other-trust-domain') as string).args;
    expect(otherDomain).toContain('spiffe://other.example/k8s-workload');
    expect(otherDomain).toContain('spiffe://other.example/k8s-workload-client');
    expect(otherDomain.filter((arg) => arg.includes('${'))).toEqual([placeholder('PORT')]);
    expect(container(byName.get('selectors-mismatch') as string).name).toBe(`${placeholder('CONTAINER')}-unregistered`);
    const mounts = (m: string) => container(m).volumeMounts.map((v) => v.name);
    expect(mounts(product)).toContain('spire-agent-socket');
    expect(mounts(byName.get('socket-not-mounted') as string)).not.toContain('spire-agent-socket');
    expect(base.name).toBe(placeholder('CONTAINER'));
  });

  test('only the last case may leave the shared cluster broken', () => {
    expect(CASES.filter((c) => c.last).map((c) => c.name)).toEqual([CASES.at(-1)?.name]);
  });
});
