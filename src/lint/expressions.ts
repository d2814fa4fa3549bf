/**
 * What a `${{ }}` expression reads, from GitHub's own expression lexer and parser
 * (@actions/expressions, the version @actions/workflow-parser uses): context names and property
 * names are case-insensitive there (`Inputs.x`, `GITHUB.EVENT`), and a function such as
 * `toJSON(github.event)` reads the whole object. Walking the AST sees all of that; a regex did not.
 * An expression the parser refuses (already an SG000 error) falls back to a case-insensitive
 * textual reading that errs towards "untrusted" (fail closed).
 */
import { Lexer, Parser } from '@actions/expressions';
import {
  Binary,
  ContextAccess,
  FunctionCall,
  Grouping,
  IndexAccess,
  Literal,
  Logical,
  Unary,
  type Expr,
} from '@actions/expressions/ast';

/** A context read: its root (lower case) and the property names after it; null for a computed or `*` index. */
export interface Access {
  root: string;
  keys: (string | null)[];
}

const CONTEXTS = [
  'github',
  'env',
  'inputs',
  'vars',
  'secrets',
  'steps',
  'job',
  'jobs',
  'runner',
  'strategy',
  'matrix',
  'needs',
];
const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled', 'hashFiles'].map((name) => ({
  name,
  minArgs: 0,
  maxArgs: 255,
}));

/** `${{ … }}` (the body may span lines in a block scalar). */
export const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;

/** Functions whose result is a boolean or a hash whatever their arguments: no payload gets through. */
const PAYLOAD_FREE_FUNCTIONS = new Set([
  'contains',
  'startswith',
  'endswith',
  'success',
  'failure',
  'always',
  'cancelled',
  'hashfiles',
]);

const cache = new Map<string, Access[] | null>();

/**
 * Every context access in an expression body, or null when it does not parse. With `valuesOnly`,
 * only the reads whose value can reach the result: reads under a comparison, `!` or a boolean/hash
 * function are left out (their result carries no payload); computed indexes are kept (fail closed).
 */
export function accesses(body: string, opts: { valuesOnly?: boolean } = {}): Access[] | null {
  const valuesOnly = opts.valuesOnly === true;
  const key = `${valuesOnly ? 'v' : 'a'}\0${body}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let result: Access[] | null;
  try {
    const expr = new Parser(new Lexer(body).lex().tokens, CONTEXTS, STATUS_FUNCTIONS).parse();
    result = [];
    collect(expr, result, valuesOnly);
  } catch {
    result = null;
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(key, result);
  return result;
}

function literalKey(e: Expr): string | null {
  if (!(e instanceof Literal)) return null;
  const v = e.token.value;
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : e.token.lexeme;
}

function collect(e: Expr, out: Access[], valuesOnly: boolean): void {
  if (e instanceof ContextAccess) {
    out.push({ root: e.name.lexeme.toLowerCase(), keys: [] });
  } else if (e instanceof IndexAccess) {
    const keys: (string | null)[] = [];
    let cur: Expr = e;
    while (cur instanceof IndexAccess) {
      keys.unshift(literalKey(cur.index));
      if (!(cur.index instanceof Literal)) collect(cur.index, out, valuesOnly);
      cur = cur.expr;
    }
    if (cur instanceof ContextAccess) out.push({ root: cur.name.lexeme.toLowerCase(), keys });
    else collect(cur, out, valuesOnly);
  } else if (e instanceof FunctionCall) {
    if (valuesOnly && PAYLOAD_FREE_FUNCTIONS.has(e.functionName.lexeme.toLowerCase())) return;
    for (const a of e.args) collect(a, out, valuesOnly);
  } else if (e instanceof Logical) {
    // && and || give one of their operands
    for (const a of e.args) collect(a, out, valuesOnly);
  } else if (e instanceof Binary) {
    // ==, !=, <, … give a boolean
    if (valuesOnly) return;
    collect(e.left, out, valuesOnly);
    collect(e.right, out, valuesOnly);
  } else if (e instanceof Unary) {
    // ! gives a boolean
    if (valuesOnly) return;
    collect(e.expr, out, valuesOnly);
  } else if (e instanceof Grouping) {
    collect(e.group, out, valuesOnly);
  }
}

/** Environment variable names (lower case) whose value is untrusted; '*' means any name may be. */
export type Taint = ReadonlySet<string>;

/**
 * Whether an access reads data an outsider or a dispatcher controls: `inputs` (any part),
 * `github.event.*`, `github.head_ref`, the whole `github` context (toJSON(github) includes the
 * event), a computed key on `github`, or an `env` variable set from such data.
 */
export function untrusted(a: Access, taint: Taint): boolean {
  const k0 = a.keys[0];
  if (a.root === 'inputs') return true;
  if (a.root === 'github') {
    if (k0 === undefined || k0 === null || k0 === '*') return true;
    const k = k0.toLowerCase();
    return k === 'event' || k === 'head_ref';
  }
  if (a.root === 'env') {
    if (k0 === undefined || k0 === null || k0 === '*') return taint.size > 0;
    return taint.has('*') || taint.has(k0.toLowerCase());
  }
  return false;
}

/** The untrusted reads of one expression body, described for a message; [] when none. */
export function untrustedReads(body: string, taint: Taint): string[] {
  const list = accesses(body);
  if (list === null) {
    // Unparsable (an SG000 error already): read it as text, case-insensitively, and err towards untrusted.
    const out: string[] = [];
    if (/(?:^|[^\w.])(?:inputs\b|github\s*(?:\.\s*(?:event|head_ref)\b|\[|\s*\)|\s*$))/i.test(body))
      out.push(body.trim());
    for (const m of body.matchAll(/(?:^|[^\w.])env\s*\.\s*([A-Za-z_][\w-]*)/gi))
      if (taint.has('*') || taint.has(m[1]!.toLowerCase())) out.push(`env.${m[1]}`);
    return out;
  }
  return list.filter((a) => untrusted(a, taint)).map(describeAccess);
}

export function describeAccess(a: Access): string {
  return [a.root, ...a.keys.map((k) => (k === null ? '[…]' : k))].join('.');
}

/** The one access a value consists of (`${{ inputs.x }}`, `${{ env.X }}`), when that is all it is. */
export function soleAccess(value: unknown): Access | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(value);
  if (!m || m[1]!.includes('}}')) return undefined;
  const list = accesses(m[1]!);
  if (!list || list.length !== 1) return undefined;
  // Only a plain property path: `inputs.x`, not `format('{0}', inputs.x)` or `inputs.x || 'y'`.
  const body = m[1]!.trim();
  if (!/^[A-Za-z_][\w-]*(?:\s*(?:\.\s*[A-Za-z_][\w-]*|\[\s*'[^']*'\s*\]))*$/.test(body)) return undefined;
  return list[0];
}

/** The workflow input a value is exactly (`inputs.NAME` or `github.event.inputs.NAME`), lower case. */
export function inputName(a: Access): { name: string; dispatchOnly: boolean } | undefined {
  if (a.root === 'inputs' && a.keys.length === 1 && a.keys[0])
    return { name: a.keys[0].toLowerCase(), dispatchOnly: false };
  const [k0, k1, k2] = a.keys;
  if (
    a.root === 'github' &&
    a.keys.length === 3 &&
    k0?.toLowerCase() === 'event' &&
    k1?.toLowerCase() === 'inputs' &&
    k2
  )
    return { name: k2.toLowerCase(), dispatchOnly: true };
  return undefined;
}

/** The env variable a value is exactly (`${{ env.NAME }}`). */
export function envName(a: Access): string | undefined {
  return a.root === 'env' && a.keys.length === 1 && a.keys[0] ? a.keys[0] : undefined;
}

/**
 * The untrusted env names after one `env:` mapping is applied over `outer` (names it sets replace
 * the outer ones; its own `${{ env.X }}` reads see the outer env). An `env:` given as one
 * expression that reads untrusted data taints every name.
 */
export function envTaint(env: unknown, outer: Taint): Taint {
  if (typeof env === 'string') {
    return [...env.matchAll(EXPRESSION)].some((m) => untrustedReads(m[1]!, outer).length > 0)
      ? new Set([...outer, '*'])
      : outer;
  }
  if (typeof env !== 'object' || env === null || Array.isArray(env)) return outer;
  const next = new Set(outer);
  for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
    const name = k.toLowerCase();
    const bad =
      typeof v === 'string' && [...v.matchAll(EXPRESSION)].some((m) => untrustedReads(m[1]!, outer).length > 0);
    if (bad) next.add(name);
    else next.delete(name);
  }
  return next;
}
