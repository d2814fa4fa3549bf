/**
 * Where attacker data flows in a workflow (docs/architecture.md §9, docs/rules.md SG201 and SG204):
 * from `github.event.*`, `github.head_ref` and string `inputs.*`, through `env:` at every level, step
 * outputs (a step that reads such data may write any of it to `$GITHUB_OUTPUT`), job outputs
 * (`needs.<job>.outputs.*`) and matrices built from them (`matrix.*`). Values that cannot carry a
 * payload are not taint: numbers, ids, SHAs and booleans of the event, the result of a comparison,
 * `!` or contains()/startsWith()/endsWith(), and `boolean`/`number`/`choice` inputs. Expressions are
 * read with GitHub's expression parser; an unparsable one errs towards taint (fail closed). Pure;
 * never throws on a malformed workflow.
 */
import { accesses, describeAccess, EXPRESSION, untrustedReads, type Access } from './expressions.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where one expression is evaluated: what is tainted there, each with a description of its source. */
export interface TaintScope {
  /** env names (lower case) set from attacker data, with the source; '*' taints every name */
  readonly env: ReadonlyMap<string, string>;
  /** inputs (lower case) that cannot carry a payload: declared boolean/number/choice by every trigger */
  readonly safeInputs: ReadonlySet<string>;
  /** the source of a tainted step's outputs (id lower case), or undefined */
  readonly step: (id: string | null) => string | undefined;
  /** the source of a tainted job output (`needs.<job>.outputs.<name>`; name null: any), or undefined */
  readonly needs: (job: string | null, output: string | null) => string | undefined;
  /** the source of a tainted matrix value (key null: any), or undefined */
  readonly matrix: (key: string | null) => string | undefined;
}

export const EMPTY_SCOPE: TaintScope = {
  env: new Map(),
  safeInputs: new Set(),
  step: () => undefined,
  needs: () => undefined,
  matrix: () => undefined,
};

/**
 * The last key of a `github.event` path whose value is a number, a SHA or a boolean in every event
 * GitHub sends (ids, numbers, `head.sha`, `merge_commit_sha`, `head.repo.fork`, `draft`). Not under
 * `inputs` or `client_payload`, whose keys the sender chooses.
 */
const PAYLOAD_FREE_EVENT_KEYS = new Set([
  'id',
  'number',
  'run_id',
  'run_number',
  'run_attempt',
  'sha',
  'head_sha',
  'merge_commit_sha',
  'fork',
  'draft',
  'merged',
  'locked',
]);
/** Keys payload-free only right under `github.event` (a push's SHAs). */
const PAYLOAD_FREE_TOP_EVENT_KEYS = new Set(['before', 'after']);
const SENDER_KEYED = new Set(['inputs', 'client_payload']);

const low = (k: string | null | undefined): string | null | undefined => (typeof k === 'string' ? k.toLowerCase() : k);

/** Whether a `github.event…` path (keys after `event`) is a number, SHA or boolean. */
function payloadFreeEvent(rest: readonly (string | null)[]): boolean {
  if (rest.length === 0 || rest.some((k) => k === null)) return false;
  const keys = rest.map((k) => k!.toLowerCase());
  if (SENDER_KEYED.has(keys[0]!)) return false;
  const last = keys[keys.length - 1]!;
  return PAYLOAD_FREE_EVENT_KEYS.has(last) || (keys.length === 1 && PAYLOAD_FREE_TOP_EVENT_KEYS.has(last));
}

/** The source of attacker data one read gives, or undefined. */
export function readTaint(a: Access, scope: TaintScope): string | undefined {
  const [k0, k1, k2] = a.keys.map(low);
  const shown = describeAccess(a);
  switch (a.root) {
    case 'inputs':
      return typeof k0 === 'string' && scope.safeInputs.has(k0) ? undefined : shown;
    case 'github':
      if (k0 === undefined || k0 === null || k0 === '*') return shown;
      if (k0 === 'head_ref') return shown;
      if (k0 !== 'event') return undefined;
      if (k1 === 'inputs' && typeof k2 === 'string' && a.keys.length === 3 && scope.safeInputs.has(k2))
        return undefined;
      return payloadFreeEvent(a.keys.slice(1)) ? undefined : shown;
    case 'env': {
      if (k0 === undefined || k0 === null || k0 === '*') return scope.env.size > 0 ? shown : undefined;
      const src = scope.env.get(k0) ?? scope.env.get('*');
      return src === undefined ? undefined : `${shown} (set from ${src})`;
    }
    case 'steps': {
      if (k1 !== undefined && k1 !== 'outputs' && k1 !== null) return undefined; // outcome, conclusion
      const src = scope.step(k0 === undefined ? null : k0);
      return src === undefined ? undefined : `${shown} (written by a step that reads ${src})`;
    }
    case 'needs': {
      if (k1 !== undefined && k1 !== 'outputs' && k1 !== null) return undefined; // result
      const src = scope.needs(k0 ?? null, k2 ?? null);
      return src === undefined ? undefined : `${shown} (set from ${src})`;
    }
    case 'matrix': {
      const src = scope.matrix(k0 ?? null);
      return src === undefined ? undefined : `${shown} (built from ${src})`;
    }
    default:
      return undefined;
  }
}

/** The attacker data one expression body can give, described for a message; [] when none. */
export function taintedReads(body: string, scope: TaintScope): string[] {
  const list = accesses(body, { valuesOnly: true });
  if (list === null) {
    // Unparsable (an SG000 error already): read it as text and err towards taint.
    const envNames = new Set([...scope.env.keys()]);
    const out = untrustedReads(body, envNames);
    for (const m of body.matchAll(/\b(steps|needs|matrix)\s*\.\s*([A-Za-z_][\w-]*)/gi)) {
      const root = m[1]!.toLowerCase();
      const key = m[2]!.toLowerCase();
      const src = root === 'steps' ? scope.step(key) : root === 'needs' ? scope.needs(key, null) : scope.matrix(key);
      if (src !== undefined) out.push(`${m[0]} (from ${src})`);
    }
    return [...new Set(out)];
  }
  const out: string[] = [];
  for (const a of list) {
    const t = readTaint(a, scope);
    if (t !== undefined) out.push(t);
  }
  return [...new Set(out)];
}

/** The first attacker data any `${{ }}` in a string gives, or undefined. */
export function textTaint(text: unknown, scope: TaintScope): string | undefined {
  if (typeof text !== 'string' || !text.includes('${{')) return undefined;
  for (const m of text.matchAll(EXPRESSION)) {
    const reads = taintedReads(m[1]!, scope);
    if (reads.length > 0) return reads[0];
  }
  return undefined;
}

/** The first attacker data anywhere in a YAML value (strings, lists and mappings, keys included). */
function deepTaint(value: unknown, scope: TaintScope, depth = 0): string | undefined {
  if (depth > 32) return undefined;
  if (typeof value === 'string') return textTaint(value, scope);
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = deepTaint(v, scope, depth + 1);
      if (t !== undefined) return t;
    }
  } else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      const t = textTaint(k, scope) ?? deepTaint(v, scope, depth + 1);
      if (t !== undefined) return t;
    }
  }
  return undefined;
}

/**
 * The tainted env names after one `env:` mapping is applied over `outer`: names it sets replace the
 * outer ones; its own expressions see the outer env. An `env:` given as one tainted expression
 * taints every name.
 */
export function envTaintOf(env: unknown, scope: TaintScope): Map<string, string> {
  const next = new Map(scope.env);
  if (typeof env === 'string') {
    const t = textTaint(env, scope);
    if (t !== undefined) next.set('*', t);
    return next;
  }
  if (!isObj(env)) return next;
  for (const [k, v] of Object.entries(env)) {
    const t = textTaint(typeof v === 'string' ? v : undefined, scope);
    if (t !== undefined) next.set(k.toLowerCase(), t);
    else next.delete(k.toLowerCase());
  }
  return next;
}

/** `$NAME`, `${NAME…}` and PowerShell's `$env:NAME` in script text. */
const SHELL_VAR = /\$(?:env:([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*)|\{#?!?([A-Za-z_][A-Za-z0-9_]*))/g;
/** Runner variables that hold attacker data: the event file and the pull request's branch. */
const RUNNER_TAINT = new Map([
  ['github_event_path', 'the event payload ($GITHUB_EVENT_PATH)'],
  ['github_head_ref', 'the pull request branch ($GITHUB_HEAD_REF)'],
]);

/** The variables a script references (lower case). */
export function shellVarsIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SHELL_VAR)) out.push((m[1] ?? m[2] ?? m[3]!).toLowerCase());
  return out;
}

/** The source of attacker data a variable of the script holds (env:, or a runner variable), or undefined. */
export function shellVarTaint(name: string, scope: TaintScope): string | undefined {
  const env =
    scope.env.get(name) ?? (name.startsWith('github_') || name.startsWith('runner_') ? undefined : scope.env.get('*'));
  if (env !== undefined) return `$${name.toUpperCase()} (set from ${env})`;
  return RUNNER_TAINT.get(name);
}

/** The first attacker data a piece of script text reads: a tainted expression or a tainted variable. */
export function scriptTaint(text: string, scope: TaintScope, extra?: ReadonlyMap<string, string>): string | undefined {
  const t = textTaint(text, scope);
  if (t !== undefined) return t;
  for (const name of shellVarsIn(text)) {
    const s = extra?.get(name) ?? shellVarTaint(name, scope);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** Where one step is evaluated. */
export interface StepFlow {
  readonly scope: TaintScope;
}

/** The taint of every job and step of a workflow, computed once. */
export interface TaintFlow {
  /** the scope inside step `index` of job `jobId` (its `env:` applied; earlier steps' outputs) */
  stepScope(jobId: string, index: number): TaintScope;
}

/** Inputs every trigger that declares them gives as boolean, number or choice. */
function safeInputsOf(on: unknown): Set<string> {
  const types = new Map<string, boolean>();
  if (!isObj(on)) return new Set();
  for (const trigger of ['workflow_dispatch', 'workflow_call']) {
    const t = on[trigger];
    if (!isObj(t) || !isObj(t.inputs)) continue;
    for (const [name, def] of Object.entries(t.inputs)) {
      const type = isObj(def) ? def.type : undefined;
      const safe = type === 'boolean' || type === 'number' || (type === 'choice' && trigger === 'workflow_dispatch');
      const key = name.toLowerCase();
      types.set(key, (types.get(key) ?? true) && safe);
    }
  }
  return new Set([...types].filter(([, safe]) => safe).map(([k]) => k));
}

/** The source of attacker data a step reads (its `with:`, `env:` and `run:`), making its outputs tainted. */
export function stepReads(step: Obj, scope: TaintScope): string | undefined {
  const t = deepTaint(step.with, scope);
  if (t !== undefined) return t;
  if (typeof step.run === 'string') return scriptTaint(step.run, scope);
  // An action reads its whole environment.
  for (const v of scope.env.values()) return v;
  return undefined;
}

export function taintFlow(root: Obj): TaintFlow {
  const safeInputs = safeInputsOf(root.on);
  const base: TaintScope = { ...EMPTY_SCOPE, safeInputs };
  const wfEnv = envTaintOf(root.env, base);
  const jobs = isObj(root.jobs) ? root.jobs : {};
  const jobKey = new Map(Object.keys(jobs).map((k) => [k.toLowerCase(), k]));

  interface JobFlow {
    steps: TaintScope[];
    outputs: Map<string, string>;
  }
  const memo = new Map<string, JobFlow>();
  const EMPTY_JOB: JobFlow = { steps: [], outputs: new Map() };

  const needs = (job: string | null, output: string | null): string | undefined => {
    const ids = job === null ? [...jobKey.values()] : [jobKey.get(job)].filter((x): x is string => !!x);
    for (const id of ids) {
      const outs = jobFlow(id).outputs;
      if (output !== null) {
        const t = outs.get(output) ?? outs.get('*');
        if (t !== undefined) return t;
      } else {
        for (const t of outs.values()) return t;
      }
    }
    return undefined;
  };

  function jobFlow(id: string): JobFlow {
    const hit = memo.get(id);
    if (hit) return hit;
    memo.set(id, EMPTY_JOB); // a cycle of needs (an SG000 error) stops here
    const job = jobs[id];
    if (!isObj(job)) return EMPTY_JOB;
    const jobBase: TaintScope = { ...base, env: wfEnv, needs };
    // The matrix: per key when it is a mapping; a tainted include or whole-matrix expression taints every key.
    const strategy = isObj(job.strategy) ? job.strategy : {};
    const m = strategy.matrix;
    const matrixTaint = new Map<string, string>();
    if (typeof m === 'string') {
      const t = textTaint(m, jobBase);
      if (t !== undefined) matrixTaint.set('*', t);
    } else if (isObj(m)) {
      for (const [k, v] of Object.entries(m)) {
        const t = deepTaint(v, jobBase);
        if (t === undefined) continue;
        matrixTaint.set(k === 'include' ? '*' : k === 'exclude' ? '' : k.toLowerCase(), t);
      }
      matrixTaint.delete('');
    }
    const matrix = (key: string | null): string | undefined =>
      key === null ? [...matrixTaint.values()][0] : (matrixTaint.get(key) ?? matrixTaint.get('*'));
    const withMatrix: TaintScope = { ...jobBase, matrix };
    const jobScope: TaintScope = { ...withMatrix, env: envTaintOf(job.env, withMatrix) };
    const stepTaint = new Map<string, string>();
    const stepResolver = (sid: string | null): string | undefined =>
      sid === null ? [...stepTaint.values()][0] : stepTaint.get(sid);
    const scopes: TaintScope[] = [];
    const steps = Array.isArray(job.steps) ? job.steps : [];
    for (const step of steps) {
      const known = new Map(stepTaint);
      const before: TaintScope = {
        ...jobScope,
        step: (sid) => (sid === null ? [...known.values()][0] : known.get(sid)),
      };
      if (!isObj(step)) {
        scopes.push(before);
        continue;
      }
      const scope: TaintScope = { ...before, env: envTaintOf(step.env, before) };
      scopes.push(scope);
      if (typeof step.id === 'string') {
        const t = stepReads(step, scope);
        if (t !== undefined) stepTaint.set(step.id.toLowerCase(), t);
      }
    }
    const after: TaintScope = { ...jobScope, step: stepResolver };
    const outputs = new Map<string, string>();
    if (isObj(job.outputs)) {
      for (const [k, v] of Object.entries(job.outputs)) {
        const t = textTaint(v, after);
        if (t !== undefined) outputs.set(k.toLowerCase(), t);
      }
    }
    // A reusable workflow given attacker data may return it in any output.
    if (typeof job.uses === 'string') {
      const t = deepTaint(job.with, jobScope);
      if (t !== undefined) outputs.set('*', t);
    }
    const flow = { steps: scopes, outputs };
    memo.set(id, flow);
    return flow;
  }

  return {
    stepScope(jobId, index) {
      return jobFlow(jobId).steps[index] ?? { ...base, env: wfEnv, needs };
    },
  };
}
