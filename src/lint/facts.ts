/**
 * The facts of a workflow that stateguard's own rules (docs/architecture.md §9, src/lint/rules/) read:
 * its triggers and inputs, its jobs and steps, and every stateguard call in them (a `uses:` step, or
 * a CLI command in a `run:`) with the consent values it is given and where they come from (followed
 * through `env:`). Built once per workflow (src/lint/checks.ts). Pure: no file system, no @actions/*.
 * Malformed shapes (already reported by the schema rule) are skipped, never thrown on.
 */
/* eslint-disable @typescript-eslint/no-base-to-string --
   parsed YAML/JSON values are turned into text as they are, whatever their type; a later check
   refuses what is not the text it expects */
import type { Position } from '../model/yaml-source.js';
import { envName, inputName, soleAccess } from './expressions.js';
import { shellOrigins, valueOrigins, type Origin, type Scope } from './derived.js';
import { assignmentsOf, commandsOf, stateguardCli, type Command } from './shell.js';
import type { Path, WorkflowFile } from './workflow.js';
import { isObj, triggersOf, type Obj } from './rules/context.js';

const isExpression = (v: unknown): boolean => typeof v === 'string' && v.includes('${{');

/** What a step's `uses:` refers to. */
export interface UsesRef {
  kind: 'local' | 'docker' | 'remote' | 'invalid';
  owner?: string;
  repo?: string;
  /** sub-path inside the repository (remote) or the local path without `./` */
  path: string;
  ref?: string;
}

export function parseUses(uses: string): UsesRef {
  const u = uses.trim();
  if (u.startsWith('./') || u === '.') return { kind: 'local', path: normalisePath(u) };
  if (u.startsWith('docker://')) return { kind: 'docker', path: u.slice('docker://'.length) };
  const m = /^([^/@\s]+)\/([^/@\s]+)((?:\/[^@\s]*)?)@(\S+)$/.exec(u);
  if (!m) return { kind: 'invalid', path: u };
  return { kind: 'remote', owner: m[1]!, repo: m[2]!, path: normalisePath(m[3] ?? ''), ref: m[4]! };
}

/**
 * A `uses:` path the way the runner resolves it: `//` collapsed, `.` dropped, `x/..` folded, no
 * leading `./` or trailing `/`. A `..` that would leave the repository is kept (`../x`): the
 * caller decides conservatively what that can be.
 */
export function normalisePath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

/**
 * The stateguard command a step's `uses:` runs, or undefined when it is not a stateguard step.
 * A stateguard step's `uses:` names a repository called `stateguard` (any owner, ref, sub-path),
 * a local `./actions/<name>` or `./<…>/stateguard/actions/<name>` (vendored), or the root action
 * (`./`, `./<…>/stateguard` or `owner/stateguard@ref`) with `with.command`; paths are normalised
 * first (normalisePath). A local path that escapes the repository (`./../…`) cannot be checked, so
 * it is taken for what its tail says (`…/actions/<name>`, `…/stateguard`). A root action whose
 * command is an expression returns '*': it may be anything, including apply (fail closed).
 */
export function stateguardCommand(step: Obj): string | undefined {
  if (typeof step.uses !== 'string') return undefined;
  const ref = parseUses(step.uses);
  let sub: string | undefined;
  if (ref.kind === 'local') {
    const segs = ref.path === '' ? [] : ref.path.split('/');
    const escapes = segs[0] === '..';
    const n = segs.length;
    const lower = segs.map((x) => x.toLowerCase());
    if (n === 0) sub = '';
    else if (lower[n - 1] === 'stateguard') sub = '';
    else if (n >= 2 && lower[n - 2] === 'actions' && (n === 2 || lower[n - 3] === 'stateguard' || escapes))
      sub = lower[n - 1]!;
    else return undefined;
  } else if (ref.kind === 'remote' && ref.repo!.toLowerCase() === 'stateguard') {
    if (ref.path.split('/')[0] === '..') return '*';
    sub = ref.path === '' ? '' : ref.path.split('/').pop()!;
  } else {
    return undefined;
  }
  if (sub !== '') return sub.toLowerCase();
  const command = isObj(step.with) ? step.with.command : undefined;
  if (command === undefined || command === null) return undefined;
  if (isExpression(command)) return '*';
  return String(command).trim().toLowerCase();
}

/**
 * Commands that change a module (or stop it, as snapshot does, or delete its backups, as prune-backups
 * does), including the ones still to come.
 */
export const MUTATING = new Set([
  'apply',
  'stateful-apply',
  'restore',
  'recover',
  'upgrade',
  'snapshot',
  'prune-backups',
  '*',
]);

/**
 * Commands that take the operator's consent (allow-stateful, backup-ref, confirm). Not `recover`: it
 * takes none (it only brings an interrupted restore back to a consistent state from its journal),
 * so no rule may ask a workflow to give it any.
 */
export const CONSENT = new Set(['apply', 'stateful-apply', 'restore', 'upgrade', '*']);

export type Role = 'allow' | 'confirm' | 'backup';
export const ROLE_NAMES: Record<Role, { with: string; flag: string; input: string }> = {
  allow: { with: 'allow-stateful', flag: '--allow-stateful', input: 'allow_stateful' },
  confirm: { with: 'confirm', flag: '--confirm', input: 'stateful_confirm' },
  backup: { with: 'backup-ref', flag: '--backup-ref', input: 'backup_ref' },
};

/** The usual name of restore's confirm input (workflows/restore.yml): the backup's file name, typed. */
export const RESTORE_CONFIRM_INPUT = 'restore_confirm';

/** Where a consent value comes from, followed through env: (step, then job, then workflow). */
export type Source = { kind: 'input'; name: string; dispatchOnly: boolean } | { kind: 'other' };

/** A value given to a consent input or flag of a stateguard call. */
export interface Sink {
  role: Role;
  /** as written: `confirm`, `--confirm` */
  key: string;
  pos: Position;
  source: Source;
  /** for SG102's message */
  shown: string;
  /** the value as written: the `with:` value, or the shell word after the flag (undefined: none) */
  raw: { yaml: unknown } | { shell: string } | undefined;
}

/** One stateguard call: a `uses:` step, or one CLI command in a `run:`. */
export interface Invocation {
  command: string;
  pos: Position;
  label: string;
  sinks: Sink[];
  confirmToken: string;
  /** where its values are read (env:, the script's variables, the job's steps), for SG108 */
  scope: Scope;
}

export interface StepInfo {
  jobId: string;
  index: number;
  step: Obj;
  path: Path;
  invocations: Invocation[];
  /** the simple commands of its run: (empty when none) */
  commands: Command[];
  /** step, job and workflow env:, innermost first */
  envChain: unknown[];
}

export interface JobInfo {
  id: string;
  job: Obj;
  steps: StepInfo[];
}

function lookupEnv(
  chain: readonly unknown[],
  name: string,
  caseInsensitive: boolean,
): { value: unknown; level: number } | undefined {
  for (let level = 0; level < chain.length; level++) {
    const env = chain[level];
    if (!isObj(env)) continue;
    const key = caseInsensitive
      ? Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase())
      : Object.hasOwn(env, name)
        ? name
        : undefined;
    if (key !== undefined) return { value: env[key], level };
  }
  return undefined;
}

/** The source of a `with:`/`env:` value: a workflow input exactly, or through `${{ env.X }}`. */
function sourceOfValue(value: unknown, chain: readonly unknown[], depth = 0): Source {
  const a = soleAccess(value);
  if (!a) return { kind: 'other' };
  const input = inputName(a);
  if (input) return { kind: 'input', ...input };
  const env = envName(a);
  if (env !== undefined && depth < 8) {
    const found = lookupEnv(chain, env, true);
    if (found) return sourceOfValue(found.value, chain.slice(found.level + 1), depth + 1);
  }
  return { kind: 'other' };
}

/** The source of a shell word used as a flag value: `$NAME`/`${NAME}` from env:, else a literal. */
function sourceOfWord(text: string, chain: readonly unknown[]): Source {
  const m = /^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$/.exec(text);
  if (!m) return { kind: 'other' };
  const found = lookupEnv(chain, m[1] ?? m[2]!, false);
  return found ? sourceOfValue(found.value, chain.slice(found.level + 1)) : { kind: 'other' };
}

/** Literal env values a script can expand (`$COMPOSE down -v` with `COMPOSE: docker compose`). */
function literalEnv(chain: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const env of [...chain].reverse()) {
    if (!isObj(env)) continue;
    for (const [k, v] of Object.entries(env)) {
      if (typeof v === 'string' && !v.includes('${{')) out.set(k, v);
      else out.delete(k);
    }
  }
  return out;
}

/**
 * What the outputs of each step of a job are computed from (SG108): everything the step reads — its
 * `with:` and `env:` values and its `run:` script, followed through env: and the script's variables.
 * Filled lazily, once `steps` is complete; a step that reads its own outputs, directly or through
 * another step, stops there.
 */
function stepOriginsOf(steps: readonly StepInfo[]): (id: string) => ReadonlySet<Origin> | undefined {
  const memo = new Map<string, Set<Origin>>();
  const get = (id: string): ReadonlySet<Origin> | undefined => {
    const key = id.toLowerCase();
    const hit = memo.get(key);
    if (hit) return hit;
    const s = steps.find((x) => typeof x.step.id === 'string' && x.step.id.toLowerCase() === key);
    if (!s) return undefined;
    const out = new Set<Origin>();
    memo.set(key, out);
    const run = typeof s.step.run === 'string' ? s.step.run : undefined;
    const scope: Scope = { envChain: s.envChain, stepOrigins: get, shellVars: run ? assignmentsOf(run) : undefined };
    const values = [...Object.values(isObj(s.step.with) ? s.step.with : {})];
    values.push(...Object.values(isObj(s.step.env) ? s.step.env : {}));
    for (const v of values) for (const o of valueOrigins(v, scope)) out.add(o);
    if (run) for (const o of shellOrigins(run, scope)) out.add(o);
    return out;
  };
  return get;
}

/** What the rules read, built once per workflow. */
export interface WorkflowFacts {
  triggers: string[];
  /** every trigger but workflow_dispatch */
  automatic: string[];
  dispatchInputs: Obj;
  callInputs: Obj;
  jobs: JobInfo[];
  /** every step of every job, in order */
  steps: StepInfo[];
  /** every stateguard call of every step, in order */
  invocations: Invocation[];
}

export function workflowFacts(wf: WorkflowFile): WorkflowFacts {
  const root = wf.value;
  const triggers = triggersOf(root.on);
  const on = isObj(root.on) ? root.on : {};
  const inputsOf = (trigger: string): Obj => {
    const t = on[trigger];
    return isObj(t) && isObj(t.inputs) ? t.inputs : {};
  };
  const dispatchInputs = inputsOf('workflow_dispatch');
  const callInputs = inputsOf('workflow_call');

  const jobs: JobInfo[] = [];
  if (isObj(root.jobs)) {
    for (const [id, job] of Object.entries(root.jobs)) {
      if (!isObj(job)) continue;
      const steps: StepInfo[] = [];
      const stepOrigins = stepOriginsOf(steps);
      if (Array.isArray(job.steps)) {
        job.steps.forEach((step, index) => {
          if (!isObj(step)) return;
          const path: Path = ['jobs', id, 'steps', index];
          const envChain = [step.env, job.env, root.env];
          const info: StepInfo = { jobId: id, index, step, path, invocations: [], commands: [], envChain };
          const where = `step ${index + 1} of job '${id}'`;
          const usesCommand = stateguardCommand(step);
          if (usesCommand !== undefined) {
            const w = isObj(step.with) ? step.with : {};
            const sinks: Sink[] = [];
            for (const role of ['allow', 'confirm', 'backup'] as Role[]) {
              const name = ROLE_NAMES[role].with;
              for (const key of new Set([name, name.replace(/-/g, '_')])) {
                if (!(key in w)) continue;
                sinks.push({
                  role,
                  key,
                  pos: wf.at([...path, 'with', key]),
                  source: sourceOfValue(w[key], envChain),
                  shown: JSON.stringify(w[key]),
                  raw: { yaml: w[key] },
                });
              }
            }
            const token = w['confirm-token'] ?? w.confirm_token;
            info.invocations.push({
              command: usesCommand,
              pos: wf.at([...path, 'uses']),
              label: `${where} (${String(step.uses)}${
                usesCommand === '*' ? ', command given by an expression: ' + 'stateguard assumes it may be apply' : ''
              })`,
              sinks,
              confirmToken: typeof token === 'string' ? token : 'BACKUP_DONE',
              scope: { envChain, stepOrigins },
            });
          }
          if (typeof step.run === 'string') {
            const runPath: Path = [...path, 'run'];
            const env = literalEnv(envChain);
            // Reading the script as a shell would is the costly part; a script (and env) that names
            // none of the programs the rules look at cannot hold one of their commands.
            if (RELEVANT.test(step.run) || [...env.values()].some((v) => RELEVANT.test(v)))
              info.commands = commandsOf(step.run, env);
            let scope: Scope | undefined;
            for (const c of info.commands) {
              const cli = stateguardCli(c.argv);
              if (!cli) continue;
              scope ??= { envChain, stepOrigins, shellVars: assignmentsOf(step.run) };
              const at = (w: { start: number; text: string }): Position => wf.positionInValue(runPath, w.start, w.text);
              const sinks: Sink[] = [];
              let confirmToken = 'BACKUP_DONE';
              cli.args.forEach((word, j) => {
                const t = word.text;
                if (t === '--confirm-token' && cli.args[j + 1]) confirmToken = cli.args[j + 1]!.text;
                else if (t.startsWith('--confirm-token=')) confirmToken = t.slice('--confirm-token='.length);
                for (const role of ['allow', 'confirm', 'backup'] as Role[]) {
                  const flag = ROLE_NAMES[role].flag;
                  if (t === flag) {
                    // --allow-stateful is a boolean flag: alone it means true, whatever follows.
                    const value = role === 'allow' ? undefined : cli.args[j + 1];
                    sinks.push({
                      role,
                      key: flag,
                      pos: at(word),
                      source: value ? sourceOfWord(value.text, envChain) : { kind: 'other' },
                      shown: value
                        ? JSON.stringify(value.text)
                        : role === 'allow'
                          ? 'given alone, which means true'
                          : 'no value',
                      raw: value ? { shell: value.text } : undefined,
                    });
                  } else if (t.startsWith(flag + '=')) {
                    const value = t.slice(flag.length + 1);
                    sinks.push({
                      role,
                      key: flag,
                      pos: at(word),
                      source: sourceOfWord(value, envChain),
                      shown: JSON.stringify(value),
                      raw: { shell: value },
                    });
                  }
                }
              });
              info.invocations.push({
                command: cli.command,
                pos: at(c.argv[0]!),
                label: `${where} (run: ${c.argv
                  .slice(0, 4)
                  .map((w) => w.text)
                  .join(
                    ' ',
                  )}${cli.command === '*' ? ', command given by a variable: stateguard assumes it may be apply' : ''})`,
                sinks,
                confirmToken,
                scope,
              });
            }
          }
          steps.push(info);
        });
      }
      jobs.push({ id, job, steps });
    }
  }
  const allSteps = jobs.flatMap((j) => j.steps);
  const allInvocations = allSteps.flatMap((s) => s.invocations);
  const automatic = triggers.filter((t) => t !== 'workflow_dispatch');

  return { triggers, automatic, dispatchInputs, callInputs, jobs, steps: allSteps, invocations: allInvocations };
}

/** Text every command the run: rules look for contains: docker, stateguard's CLI, gh, curl-like clients. */
const RELEVANT = /docker|stateguard|cli\.js|dispatches|\bgh\b|curl|wget|\bhttps?\b/i;
