/**
 * What a value given to a stateguard step is computed from (docs/rules.md, SG108): the workflow
 * inputs it reads, the variables it passes through (`env:` at every level, assignments in the
 * `run:` script) and the steps whose outputs it reads, followed to where they come from. Two values
 * sharing an origin are derived from the same thing: a restore confirm computed from the backup
 * reference is no separate confirmation. Pure; never throws on a malformed workflow.
 */
import { accesses, EXPRESSION, type Access } from './expressions.js';

/**
 * One origin: `input:<name>` (lower case; `input:*` for a read of every input, as in
 * `toJSON(inputs)`), `var:<NAME>` (a variable the workflow or script defines) or `step:<id>`.
 */
export type Origin = string;

export interface Scope {
  /** step, job and workflow `env:`, innermost first */
  readonly envChain: readonly unknown[];
  /** what the `run:` script holding the value assigns to each variable */
  readonly shellVars?: ReadonlyMap<string, readonly string[]>;
  /** the origins of a step's outputs (id as written in `steps.<id>`), or undefined when there is none */
  readonly stepOrigins?: (id: string) => ReadonlySet<Origin> | undefined;
}

const MAX_DEPTH = 16;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `$NAME` and `${NAME…}` anywhere in shell text, `$( … )` included. */
const SHELL_VAR = /\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{#?([A-Za-z_][A-Za-z0-9_]*))/g;

/** The origins of a YAML value (a `with:` or `env:` value): what its `${{ }}` expressions read. */
export function valueOrigins(value: unknown, scope: Scope, depth = 0): Set<Origin> {
  const out = new Set<Origin>();
  if (typeof value !== 'string' || depth > MAX_DEPTH) return out;
  for (const m of value.matchAll(EXPRESSION)) {
    const list = accesses(m[1]!);
    if (list === null) {
      // Unparsable (an SG000 error already): read the names as text, case-insensitively.
      for (const t of m[1]!.matchAll(/\binputs\s*\.\s*([A-Za-z_][\w-]*)/gi)) out.add(`input:${t[1]!.toLowerCase()}`);
      for (const t of m[1]!.matchAll(/(?:^|[^\w.])env\s*\.\s*([A-Za-z_][\w-]*)/gi))
        for (const o of envOrigins(t[1]!, scope, depth)) out.add(o);
      continue;
    }
    for (const a of list) for (const o of accessOrigins(a, scope, depth)) out.add(o);
  }
  return out;
}

function accessOrigins(a: Access, scope: Scope, depth: number): Set<Origin> {
  const [k0, k1, k2] = a.keys.map((k) => (k === null ? null : k?.toLowerCase()));
  if (a.root === 'inputs') return new Set([k0 ? `input:${k0}` : 'input:*']);
  if (a.root === 'github') {
    // github.event.inputs.X is the dispatch input X; the whole event (or github itself) holds every input.
    if (k0 === undefined || k0 === null) return new Set(['input:*']);
    if (k0 !== 'event') return new Set();
    if (k1 === undefined || k1 === null) return new Set(['input:*']);
    if (k1 !== 'inputs') return new Set();
    return new Set([k2 ? `input:${k2}` : 'input:*']);
  }
  if (a.root === 'env') {
    if (!a.keys[0]) return anyEnvOrigins(scope, depth);
    return envOrigins(a.keys[0], scope, depth);
  }
  if (a.root === 'steps' && a.keys[0]) {
    const id = a.keys[0];
    const step = scope.stepOrigins?.(id);
    return new Set([`step:${id.toLowerCase()}`, ...(step ?? [])]);
  }
  return new Set();
}

/** `${{ env.NAME }}`: the variable (case-insensitive, innermost `env:` first) and what it was set from. */
function envOrigins(name: string, scope: Scope, depth: number): Set<Origin> {
  const chain = scope.envChain;
  for (let level = 0; level < chain.length; level++) {
    const env = chain[level];
    if (!isObj(env)) continue;
    const key = Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) continue;
    const outer = { ...scope, envChain: chain.slice(level + 1) };
    return new Set([`var:${key}`, ...valueOrigins(env[key], outer, depth + 1)]);
  }
  return new Set();
}

/** `toJSON(env)`: every variable in scope. */
function anyEnvOrigins(scope: Scope, depth: number): Set<Origin> {
  const out = new Set<Origin>();
  for (const env of scope.envChain) if (isObj(env)) for (const k of Object.keys(env)) out.add(k);
  return new Set([...out].flatMap((k) => [...envOrigins(k, scope, depth)]));
}

/**
 * The origins of a shell word as written (`"$B"`, `$(basename "$B")`, `${B%.tar.gz}`, `x-${{ inputs.b }}`):
 * every variable it expands — its assignments in the script first, then `env:` (case-sensitive, as
 * the shell reads it) — and every expression in it. A variable defined nowhere (the runner's own,
 * e.g. `$RUNNER_TEMP`) is no origin: it is the same for every value and ties none together.
 */
export function shellOrigins(text: string, scope: Scope, depth = 0, seen = new Set<string>()): Set<Origin> {
  const out = valueOrigins(text, scope, depth);
  if (depth > MAX_DEPTH) return out;
  for (const m of text.matchAll(SHELL_VAR)) {
    const name = m[1] ?? m[2]!;
    if (seen.has(name)) continue;
    seen.add(name);
    const assigned = scope.shellVars?.get(name);
    if (assigned) {
      out.add(`var:${name}`);
      for (const v of assigned) for (const o of shellOrigins(v, scope, depth + 1, seen)) out.add(o);
    }
    for (let level = 0; level < scope.envChain.length; level++) {
      const env = scope.envChain[level];
      if (!isObj(env) || !Object.hasOwn(env, name)) continue;
      out.add(`var:${name}`);
      const outer = { ...scope, envChain: scope.envChain.slice(level + 1) };
      for (const o of valueOrigins(env[name], outer, depth + 1)) out.add(o);
      break;
    }
  }
  return out;
}

/**
 * The origin two sets share, preferring the most telling (an input, then a step, then a variable),
 * or undefined. `input:*` (every input) shares any input.
 */
export function sharedOrigin(a: ReadonlySet<Origin>, b: ReadonlySet<Origin>): Origin | undefined {
  const common = [...a].filter((o) => b.has(o));
  const anyInput = (s: ReadonlySet<Origin>): Origin | undefined => [...s].find((o) => o.startsWith('input:'));
  if (a.has('input:*') && anyInput(b)) common.push(anyInput(b)!);
  if (b.has('input:*') && anyInput(a)) common.push(anyInput(a)!);
  const rank = (o: Origin): number => (o.startsWith('input:') ? 0 : o.startsWith('step:') ? 1 : 2);
  return common.sort((x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0))[0];
}

/** An origin for a message: `input 'backup_ref'`, `variable BACKUP_REF`, `the outputs of step 'pick'`. */
export function describeOrigin(o: Origin): string {
  const [kind, ...rest] = o.split(':');
  const name = rest.join(':');
  if (kind === 'input') return name === '*' ? 'every workflow input' : `input '${name}'`;
  if (kind === 'step') return `the outputs of step '${name}'`;
  return `variable ${name}`;
}
