// The project's own import graph, read from the source text: static imports and re-exports (type-only ones included:
// they are dependencies too) and dynamic `import('…')`. A small tokenizer skips comments, strings, template literals
// and regular expressions, so an import written inside one of those is not mistaken for a real one.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export interface ImportRef {
  /** The specifier as written; undefined for a dynamic import of a computed expression. */
  specifier: string | undefined;
  dynamic: boolean;
  /** 1-based line of the `import`/`export` keyword. */
  line: number;
}

interface Token {
  kind: 'name' | 'string' | 'punct' | 'other';
  value: string;
  line: number;
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const BEFORE_EXPRESSION = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  /** For each open `${` of a template literal, the brace depth its `}` returns to. */
  const templates: number[] = [];
  let depth = 0;
  let line = 1;
  let i = 0;
  const advance = (to: number) => {
    for (let k = i; k < to && k < src.length; k++) if (src[k] === '\n') line++;
    i = to;
  };
  const push = (kind: Token['kind'], value: string) => tokens.push({ kind, value, line });
  const regexAllowed = () => {
    const last = tokens.at(-1);
    if (!last) return true;
    if (last.kind === 'punct') return ![')', ']', '}'].includes(last.value);
    if (last.kind === 'name') return BEFORE_EXPRESSION.has(last.value);
    return false;
  };
  /** Reads template text up to its end or to a `${` (then the expression is tokenized as code). */
  const templateText = () => {
    let k = i;
    while (k < src.length) {
      if (src[k] === '\\') k += 2;
      else if (src[k] === '`') {
        advance(k + 1);
        push('other', '`…`');
        return;
      } else if (src[k] === '$' && src[k + 1] === '{') {
        advance(k + 2);
        templates.push(depth);
        depth++;
        push('punct', '${');
        return;
      } else k++;
    }
    advance(src.length);
  };

  while (i < src.length) {
    const c = src[i] as string;
    const next = src[i + 1];
    if (/\s/.test(c)) advance(i + 1);
    else if (c === '/' && next === '/') advance(src.indexOf('\n', i) === -1 ? src.length : src.indexOf('\n', i));
    else if (c === '/' && next === '*')
      advance(src.indexOf('*/', i + 2) === -1 ? src.length : src.indexOf('*/', i + 2) + 2);
    else if (c === "'" || c === '"') {
      let k = i + 1;
      while (k < src.length && src[k] !== c && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1;
      push('string', src.slice(i + 1, k));
      advance(k + 1);
    } else if (c === '`') {
      advance(i + 1);
      templateText();
    } else if (c === '/' && regexAllowed()) {
      let k = i + 1;
      let inClass = false;
      while (k < src.length && src[k] !== '\n') {
        if (src[k] === '\\') k++;
        else if (src[k] === '[') inClass = true;
        else if (src[k] === ']') inClass = false;
        else if (src[k] === '/' && !inClass) break;
        k++;
      }
      k++;
      while (k < src.length && /[a-z]/.test(src[k] as string)) k++;
      push('other', 'regex');
      advance(k);
    } else if (/[A-Za-z_$]/.test(c)) {
      const word = /^[\w$]+/.exec(src.slice(i, i + 200))?.[0] ?? c;
      push('name', word);
      advance(i + word.length);
    } else if (/[0-9]/.test(c)) {
      const number = /^[\w.]+/.exec(src.slice(i, i + 100))?.[0] ?? c;
      push('other', number);
      advance(i + number.length);
    } else if (c === '}' && templates.length > 0 && templates.at(-1) === depth - 1) {
      templates.pop();
      depth--;
      advance(i + 1);
      templateText();
    } else {
      if (c === '{') depth++;
      if (c === '}') depth--;
      push('punct', c);
      advance(i + 1);
    }
  }
  return tokens;
}

/** The imports of a TypeScript/JavaScript source text, in order. */
export function importsOf(src: string): ImportRef[] {
  const tokens = tokenize(src);
  const refs: ImportRef[] = [];
  const at = (k: number) => tokens[k];
  /** The string after `from`, looking no further than the end of the statement. */
  const fromClause = (start: number): string | undefined => {
    for (let k = start; k < tokens.length && k < start + 500; k++) {
      const token = at(k) as Token;
      if (token.kind === 'punct' && token.value === ';') return undefined;
      if (token.kind === 'name' && token.value === 'from' && at(k + 1)?.kind === 'string') return at(k + 1)?.value;
    }
    return undefined;
  };
  tokens.forEach((token, k) => {
    if (token.kind !== 'name') return;
    const before = at(k - 1);
    if (before?.kind === 'punct' && before.value === '.') return; // a property called import/export
    const next = at(k + 1);
    if (token.value === 'import') {
      if (next?.value === '.') return; // import.meta
      if (next?.kind === 'punct' && next.value === '(') {
        const argument = at(k + 2);
        const literal = argument?.kind === 'string' && at(k + 3)?.value === ')';
        refs.push({ specifier: literal ? argument.value : undefined, dynamic: true, line: token.line });
        return;
      }
      if (next?.kind === 'string') {
        refs.push({ specifier: next.value, dynamic: false, line: token.line }); // side-effect import
        return;
      }
      const specifier = fromClause(k + 1);
      if (specifier !== undefined) refs.push({ specifier, dynamic: false, line: token.line });
    } else if (token.value === 'export') {
      const first = next?.value === 'type' ? at(k + 2) : next;
      if (first?.value !== '{' && first?.value !== '*') return;
      const specifier = fromClause(k + 1);
      if (specifier !== undefined) refs.push({ specifier, dynamic: false, line: token.line });
    }
  });
  return refs;
}

export interface ModuleGraph {
  /** Project-relative path → the project modules it imports (project-relative paths), sorted. */
  edges: Map<string, string[]>;
  /** Imports the graph could not follow: `file:line: why`. */
  unresolved: string[];
}

/** Every .ts file under `dirs` (relative to `root`), skipping node_modules. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) found.push(relative(root, path));
    }
  };
  for (const dir of dirs) if (existsSync(join(root, dir))) walk(join(root, dir));
  return found;
}

/**
 * The import graph of `files` and of every project module they reach through relative imports. Package imports
 * (`vitest`, `node:fs`) are not project modules and are left out.
 */
export function moduleGraph(root: string, files: readonly string[]): ModuleGraph {
  const edges = new Map<string, string[]>();
  const unresolved: string[] = [];
  const queue = [...files];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (edges.has(file)) continue;
    const targets = new Set<string>();
    for (const ref of importsOf(readFileSync(join(root, file), 'utf8'))) {
      if (ref.specifier === undefined) {
        unresolved.push(`${file}:${ref.line}: a dynamic import of a computed path cannot be checked`);
        continue;
      }
      if (!ref.specifier.startsWith('.')) continue;
      const target = relative(root, resolve(root, dirname(file), ref.specifier));
      if (!existsSync(join(root, target)) || !statSync(join(root, target)).isFile()) {
        unresolved.push(`${file}:${ref.line}: "${ref.specifier}" is not a file of the project`);
        continue;
      }
      targets.add(target);
      if (target.endsWith('.ts') && !edges.has(target)) queue.push(target);
    }
    edges.set(file, [...targets].sort());
  }
  return { edges, unresolved };
}

/** The strongly connected components of the graph (Tarjan): the modules that can reach each other. */
function components(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const result: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      result.push(component);
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return result;
}

/**
 * Every elementary cycle of the graph, each written `a → b → … → a` starting at its smallest module, sorted.
 * Stops after `limit` cycles (the caller reports that there are at least that many).
 */
export function importCycles(edges: Map<string, string[]>, limit = 500): string[] {
  const cycles: string[] = [];
  for (const component of components(edges)) {
    const members = new Set(component);
    for (const start of [...component].sort()) {
      // Only cycles whose smallest module is \`start\`, inside its component: each cycle is found once.
      const path = [start];
      const onPath = new Set(path);
      const walk = (node: string): void => {
        for (const next of edges.get(node) ?? []) {
          if (cycles.length >= limit) return;
          if (next === start) cycles.push([...path, start].join(' → '));
          else if (next > start && members.has(next) && !onPath.has(next)) {
            path.push(next);
            onPath.add(next);
            walk(next);
            onPath.delete(next);
            path.pop();
          }
        }
      };
      walk(start);
    }
  }
  return cycles.sort();
}
