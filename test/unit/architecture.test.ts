/**
 * The layer boundaries of docs/architecture.md §1, enforced: which source files may import what.
 * Read statically from the import statements of every file under src/.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../support/runner.js';

const SRC = path.join(REPO, 'src');
const DOMAIN = ['model', 'drift', 'guard', 'backup', 'ops', 'apply', 'probe', 'lint', 'report', 'restore', 'upgrade'];

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

const SOURCES = files(SRC).map((f) => ({ rel: path.relative(SRC, f).split(path.sep).join('/'), imports: importsOf(readFileSync(f, 'utf8')) }));

/** Where a relative import lands, as a path under src/ (or the bare specifier for packages). */
function target(fromRel: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), spec)).replace(/\.js$/, '.ts');
}

describe('import boundaries (docs/architecture.md §1)', () => {
  it('the import reader sees every form (a reader that saw nothing would pass everything)', () => {
    expect(importsOf(`import a from 'x';\nimport type { B } from "./y.js";\nexport { c } from '../z.js';\nimport 'side';\nconst d = await import('dyn');\nexport type * from './t.js';`)).toEqual(['x', './y.js', '../z.js', './t.js', 'side', 'dyn']);
    expect(SOURCES.length).toBeGreaterThan(40);
    expect(SOURCES.find((s) => s.rel === 'runtime/process.ts')!.imports).toContain('node:child_process');
  });

  it('only src/runtime spawns processes (node:child_process)', () => {
    const offenders = SOURCES.filter((s) => !s.rel.startsWith('runtime/') && s.imports.some((i) => i === 'node:child_process' || i === 'child_process'));
    expect(offenders.map((s) => s.rel)).toEqual([]);
  });

  it('only the action entry loads @actions/core', () => {
    const offenders = SOURCES.filter((s) => s.rel !== 'action.ts' && s.imports.some((i) => i.startsWith('@actions/core')));
    expect(offenders.map((s) => s.rel)).toEqual([]);
  });

  it('domain folders import only the ports, errors, packages and each other — never an adapter, a command or an entry', () => {
    const offenders: string[] = [];
    for (const s of SOURCES.filter((x) => DOMAIN.includes(x.rel.split('/')[0]!))) {
      for (const spec of s.imports) {
        const t = target(s.rel, spec);
        if (!spec.startsWith('.')) {
          if (spec.startsWith('@actions/core') || spec.includes('child_process')) offenders.push(`${s.rel} -> ${spec}`);
          continue;
        }
        // data shipped with the package (the module schema) is not code
        const ok = t === 'ports.ts' || t === 'errors.ts' || t === 'version.ts' || t.endsWith('.json') || DOMAIN.includes(t.split('/')[0]!);
        if (!ok) offenders.push(`${s.rel} -> ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('nothing below the command layer imports it (commands depend on the domain, not the reverse)', () => {
    const below = SOURCES.filter((s) => [...DOMAIN, 'runtime'].includes(s.rel.split('/')[0]!) || s.rel === 'ports.ts' || s.rel === 'errors.ts');
    const offenders = below.flatMap((s) => s.imports.filter((i) => target(s.rel, i).startsWith('commands/') || ['cli.ts', 'action.ts', 'main.ts', 'run-command.ts'].includes(target(s.rel, i))).map((i) => `${s.rel} -> ${i}`));
    expect(offenders).toEqual([]);
  });

  it('no docker or compose argument arrays outside src/runtime', () => {
    const offenders = files(SRC)
      .filter((f) => !path.relative(SRC, f).startsWith('runtime'))
      // a docker argv: runtime.docker([...]), ['docker-compose', [...]], or ['compose', '-f', ...]
      .filter((f) => /\.docker\(\s*\[|['"]docker-compose['"]\s*,\s*\[|\[\s*['"]compose['"]\s*,\s*['"]-/.test(readFileSync(f, 'utf8')))
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
