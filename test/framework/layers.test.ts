// The house rules of the architecture (shared/reference/architecture.md), checked on the source: lib/ is the judge and
// never imports the system under test (workload/), the harness (fixtures/) or the phases (suites/); fixtures/ never
// imports suites/; and no project module takes part in an import cycle (static, type-only and dynamic imports alike).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { importCycles, importsOf, type ModuleGraph, moduleGraph, sourceFiles } from '../support/module-graph.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SCANNED = ['lib', 'fixtures', 'suites', 'scripts'] as const;

const FORBIDDEN = [
  { from: 'lib/', to: ['workload/', 'fixtures/', 'suites/'], why: 'lib/ is the judge' },
  { from: 'fixtures/', to: ['suites/'], why: 'the harness sits below the phases' },
] as const;

/** `a imports b (why)` for every import that crosses a forbidden boundary. */
function layerViolations(graph: ModuleGraph): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph.edges) {
    for (const rule of FORBIDDEN) {
      if (!file.startsWith(rule.from)) continue;
      for (const target of targets) {
        if (rule.to.some((dir) => target.startsWith(dir))) found.push(`${file} imports ${target} (${rule.why})`);
      }
    }
  }
  return found.sort();
}

describe('the project', () => {
  const files = sourceFiles(ROOT, SCANNED);
  const graph = moduleGraph(ROOT, files);

  test('every .ts file under lib/, fixtures/, suites/ and scripts/ is read', () => {
    for (const dir of SCANNED) {
      expect(
        files.some((file) => file.startsWith(`${dir}/`)),
        `expected .ts files under ${dir}/; the scan found none, so nothing there would be checked`,
      ).toBe(true);
    }
    expect(graph.unresolved, 'every relative import resolves to a project file and every import can be read').toEqual(
      [],
    );
  });

  test('lib/ imports neither workload/, fixtures/ nor suites/; fixtures/ does not import suites/', () => {
    expect(layerViolations(graph), 'imports that go against the layers (a lower layer importing a higher one)').toEqual(
      [],
    );
  });

  test('no import cycle among the project modules', () => {
    const cycles = importCycles(graph.edges);
    expect(cycles, `import cycles (each printed as the chain of imports):\n${cycles.join('\n')}`).toEqual([]);
  });
});

describe('the checker itself', () => {
  test('finds static, type-only, side-effect, re-export and dynamic imports, and nothing in comments or strings', () => {
    const source = [
      "import 'reflect-metadata';",
      "import type { A } from './a.ts';",
      'import {',
      '  b,',
      '  type C,',
      "} from './b.ts';",
      "export * from './c.ts';",
      "export type { D } from './d.ts';",
      "export { e } from './e.ts';",
      "// import { no } from './comment.ts';",
      "/* import('./block-comment.ts') */",
      'const s = "import x from \'./string.ts\'";',
      // A template literal whose text looks like an import and whose expression holds a real one.
      "const t = `import('./template.ts') $" + "{await import('./in-template.ts')} done`;",
      "const r = /import\\('.\\/regex.ts'\\)/g;",
      'const q = /[\'"]/.test(s) ? 1 / 2 : 3;',
      "const lazy = () => import('./lazy.ts');",
      'const url = import.meta.url;',
      'const o = { import: 1 }; o.import;',
      "export const from = 'not a module';",
      'const computed = (name: string) => import(name);',
    ].join('\n');
    const refs = importsOf(source);
    expect(
      refs.map((r) => `${r.dynamic ? 'dynamic' : 'static'} ${r.specifier ?? '(computed)'} @${r.line}`),
      'the imports found, with their kind and line',
    ).toEqual([
      'static reflect-metadata @1',
      'static ./a.ts @2',
      'static ./b.ts @3',
      'static ./c.ts @7',
      'static ./d.ts @8',
      'static ./e.ts @9',
      'dynamic ./in-template.ts @13',
      'dynamic ./lazy.ts @16',
      'dynamic (computed) @20',
    ]);
  });

  describe('on a small project', () => {
    const root = mkdtempSync(join(tmpdir(), 'layers-test-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('lib/judge.ts', "import { x } from '../workload/src/x.ts';\nexport const y = x;\n");
    write('workload/src/x.ts', 'export const x = 1;\n');
    write('fixtures/a.ts', "import { b } from './b.ts';\nexport const a = () => b;\n");
    write('fixtures/b.ts', "export const b = () => import('./c.ts');\n");
    write('fixtures/c.ts', "import { a } from './a.ts';\nimport { phase } from '../suites/10-x.test.ts';\n");
    write('suites/10-x.test.ts', "export const phase = 1;\nimport('./missing.ts');\n");
    const graph = moduleGraph(root, sourceFiles(root, SCANNED));

    test('a layer violation names both files and the rule', () => {
      expect(layerViolations(graph), 'the two violations of the small project').toEqual([
        'fixtures/c.ts imports suites/10-x.test.ts (the harness sits below the phases)',
        'lib/judge.ts imports workload/src/x.ts (lib/ is the judge)',
      ]);
    });

    test('a cycle through a dynamic import is printed as its chain of imports', () => {
      expect(importCycles(graph.edges), 'the one cycle of the small project').toEqual([
        'fixtures/a.ts → fixtures/b.ts → fixtures/c.ts → fixtures/a.ts',
      ]);
    });

    test('an import that does not resolve is reported with file and line', () => {
      expect(graph.unresolved, 'the unresolved import').toEqual([
        'suites/10-x.test.ts:2: "./missing.ts" is not a file of the project',
      ]);
    });
  });
});
