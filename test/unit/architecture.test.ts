/**
 * The layer boundaries of docs/architecture.md §1, enforced: which source files may import what.
 * Read statically from the import statements of every file under src/.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../support/runner.js';

const SRC = path.join(REPO, 'src');
const DOMAIN = [
  'model',
  'drift',
  'plan',
  'guard',
  'backup',
  'ops',
  'apply',
  'probe',
  'lint',
  'report',
  'restore',
  'upgrade',
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

const SOURCES = files(SRC).map((f) => ({
  rel: path.relative(SRC, f).split(path.sep).join('/'),
  imports: importsOf(readFileSync(f, 'utf8')),
}));

/** Where a relative import lands, as a path under src/ (or the bare specifier for packages). */
function target(fromRel: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), spec)).replace(/\.js$/, '.ts');
}

describe('import boundaries (docs/architecture.md §1)', () => {
  it('the import reader sees every form (a reader that saw nothing would pass everything)', () => {
    expect(
      importsOf(
        `import a from 'x';\nimport type { B } from "./y.js";\nexport { c } from '../z.js';\nimport 'side';\nconst d = await import('dyn');\nexport type * from './t.js';`,
      ),
    ).toEqual(['x', './y.js', '../z.js', './t.js', 'side', 'dyn']);
    expect(SOURCES.length).toBeGreaterThan(40);
    expect(SOURCES.find((s) => s.rel === 'runtime/process.ts')!.imports).toContain('node:child_process');
  });

  it('only src/runtime spawns processes (node:child_process)', () => {
    const offenders = SOURCES.filter(
      (s) =>
        !s.rel.startsWith('runtime/') && s.imports.some((i) => i === 'node:child_process' || i === 'child_process'),
    );
    expect(offenders.map((s) => s.rel)).toEqual([]);
  });

  it('only the action entry loads @actions/core', () => {
    const offenders = SOURCES.filter(
      (s) => s.rel !== 'action.ts' && s.imports.some((i) => i.startsWith('@actions/core')),
    );
    expect(offenders.map((s) => s.rel)).toEqual([]);
  });

  it('domain folders import only the ports, errors, the clock, packages and each other — never an adapter, a command or an entry', () => {
    const offenders: string[] = [];
    for (const s of SOURCES.filter((x) => DOMAIN.includes(x.rel.split('/')[0]!))) {
      for (const spec of s.imports) {
        const t = target(s.rel, spec);
        if (!spec.startsWith('.')) {
          if (spec.startsWith('@actions/core') || spec.includes('child_process')) offenders.push(`${s.rel} -> ${spec}`);
          continue;
        }
        // data shipped with the package (the module schema) is not code
        const ok =
          t === 'ports.ts' ||
          t === 'errors.ts' ||
          t === 'version.ts' ||
          t === 'clock.ts' ||
          t.endsWith('.json') ||
          DOMAIN.includes(t.split('/')[0]!);
        if (!ok) offenders.push(`${s.rel} -> ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('nothing below the command layer imports it (commands depend on the domain, not the reverse)', () => {
    const below = SOURCES.filter(
      (s) => [...DOMAIN, 'runtime'].includes(s.rel.split('/')[0]!) || s.rel === 'ports.ts' || s.rel === 'errors.ts',
    );
    const offenders = below.flatMap((s) =>
      s.imports
        .filter(
          (i) =>
            target(s.rel, i).startsWith('commands/') ||
            ['cli.ts', 'action.ts', 'main.ts', 'run-command.ts'].includes(target(s.rel, i)),
        )
        .map((i) => `${s.rel} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it('no docker or compose argument arrays outside src/runtime', () => {
    const offenders = files(SRC)
      .filter((f) => !path.relative(SRC, f).startsWith('runtime'))
      // a docker argv: runtime.docker([...]), ['docker-compose', [...]], or ['compose', '-f', ...]
      .filter((f) =>
        /\.docker\(\s*\[|['"]docker-compose['"]\s*,\s*\[|\[\s*['"]compose['"]\s*,\s*['"]-/.test(
          readFileSync(f, 'utf8'),
        ),
      )
      .map((f) => path.relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it('no line over 120 characters in src (Prettier formats; this catches what it cannot, e.g. long strings)', () => {
    const long = files(SRC).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((l, i) => (l.length > 120 ? [`${path.relative(SRC, f)}:${i + 1} (${l.length})`] : [])),
    );
    expect(long).toEqual([]);
  });
});

/** Value imports only (a type-only import is erased and orders nothing at run time). */
function valueImportsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"`;]*?from\s*['"]([^'"]+)['"]/g))
    if (!m[2]) out.push(m[3]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** The strongly connected groups (more than one member) of a directed graph. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/**
 * Folder dependencies that close a cycle between src/ folders today (docs/architecture.md §1): the
 * engine-port work removes them. A new one fails; one that is gone must leave this list, so it only
 * shrinks.
 */
const KNOWN_FOLDER_CYCLE_EDGES = [
  'backup -> ops',
  'drift -> model',
  'drift -> report',
  'guard -> drift',
  'guard -> report',
  'model -> drift',
  'model -> report',
  'ops -> backup',
  'report -> drift',
  'report -> guard',
];

describe('import cycles', () => {
  const valueGraph = new Map<string, Set<string>>();
  for (const f of files(SRC)) {
    const rel = path.relative(SRC, f).split(path.sep).join('/');
    const deps = valueImportsOf(readFileSync(f, 'utf8'))
      .filter((s) => s.startsWith('.'))
      .map((s) => target(rel, s));
    valueGraph.set(rel, new Set(deps));
  }

  it('the cycle finder finds a cycle (one that found none would pass everything)', () => {
    const g = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
    expect(
      valueImportsOf(
        `import type { A } from './a.js';\nimport { b } from './b.js';\nexport type { C } from './c.js';\nexport { d } from './d.js';\nawait import('./e.js');`,
      ),
    ).toEqual(['./b.js', './d.js', './e.js']);
  });

  it('no two source files import each other, directly or through others', () => {
    expect(cycles(valueGraph)).toEqual([]);
  });

  it('folder cycles only shrink', () => {
    // a file at the top of src/ is its own node: errors.ts and ports.ts are leaves, main.ts an entry
    const folder = (rel: string): string => (rel.includes('/') ? rel.split('/')[0]! : rel);
    const folders = new Map<string, Set<string>>();
    for (const [from, deps] of valueGraph) {
      for (const to of deps) {
        if (folder(from) === folder(to)) continue;
        if (!folders.has(folder(from))) folders.set(folder(from), new Set());
        folders.get(folder(from))!.add(folder(to));
      }
    }
    const inCycle = new Map<string, number>();
    cycles(folders).forEach((group, i) => group.forEach((f) => inCycle.set(f, i)));
    const edges: string[] = [];
    for (const [from, tos] of folders)
      for (const to of tos)
        if (inCycle.has(from) && inCycle.get(from) === inCycle.get(to)) edges.push(`${from} -> ${to}`);
    expect(edges.sort()).toEqual([...KNOWN_FOLDER_CYCLE_EDGES].sort());
  });
});
