/**
 * Local composite actions (docs/rules.md SG003 and SG201, docs/architecture.md §9): a step's
 * `uses: ./path` is followed into `<path>/action.yml` (or `action.yaml`), read as safely as a
 * workflow (size cap, strict UTF-8, one document, bounded aliases: the same reader), and a composite
 * action's `runs.steps` are checked with the caller's context: the `with:` values it passes become
 * the action's `inputs.*`, the calling job's `env:` stays visible. A problem found in the action is
 * the workflow's, reported at the caller's `uses:` and naming the action file's line. An action that
 * is missing, unreadable, outside the repository, nested too deep, in a cycle or beyond the budget
 * is itself a problem (SG003), never skipped.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { MAX_YAML_BYTES } from '../../model/yaml-source.js';
import { parseUses } from '../facts.js';
import {
  accesses,
  describeAccess,
  envTaint,
  EXPRESSION,
  untrusted,
  untrustedReads,
  type Taint,
} from '../expressions.js';
import { commandsOf, volumeRemoval } from '../shell.js';
import { loadWorkflow, type WorkflowFile } from '../workflow.js';
import { isObj, literalEnvOf, type Obj, type Report, type RunSite, type WorkflowStep } from './context.js';

/** Nesting of local actions followed (GitHub itself stops composite actions at about ten levels). */
export const MAX_LOCAL_ACTION_DEPTH = 8;
/**
 * Local action uses followed for one workflow, at most, counting each use inside an action again (a
 * wide fan-out of nested actions cannot make the lint explode; a workflow with many jobs using the
 * same few actions stays well under it).
 */
export const MAX_LOCAL_ACTIONS = 512;

/** How an expression inside an action is judged: which of its inputs carry untrusted data, and env. */
interface Judge {
  /** 'all': every `inputs.*` is untrusted (a workflow's own inputs); else input name -> what it reads */
  inputs: 'all' | Map<string, string[]>;
  env: Taint;
}

function readsOf(body: string, judge: Judge): string[] {
  const list = accesses(body);
  if (list === null) {
    // Unparsable: err towards untrusted, as for a workflow.
    const text = untrustedReads(body, judge.env);
    return text.length > 0 || /\binputs\b/i.test(body) ? [body.trim()] : [];
  }
  const out: string[] = [];
  for (const a of list) {
    if (a.root === 'inputs' && judge.inputs !== 'all') {
      const k = a.keys[0];
      if (k === undefined || k === null) {
        if (judge.inputs.size > 0) out.push(describeAccess(a));
      } else {
        const from = judge.inputs.get(k.toLowerCase());
        if (from) out.push(`${describeAccess(a)} (given ${[...new Set(from)].join(', ')})`);
      }
    } else if (untrusted(a, judge.env)) out.push(describeAccess(a));
  }
  return out;
}

function readsOfValue(value: unknown, judge: Judge): string[] {
  if (typeof value !== 'string' || !value.includes('${{')) return [];
  return [...value.matchAll(EXPRESSION)].flatMap((m) => readsOf(m[1]!, judge));
}

/** envTaint over a composite step's env:, judging its `inputs.*` reads by the action's inputs. */
function stepEnvTaint(env: unknown, outer: Taint, judge: Judge): Taint {
  if (!isObj(env)) return envTaint(env, outer);
  const next = new Set(outer);
  for (const [k, v] of Object.entries(env)) {
    if (readsOfValue(v, { ...judge, env: outer }).length > 0) next.add(k.toLowerCase());
    else next.delete(k.toLowerCase());
  }
  return next;
}

function githubScript(step: Obj): string | undefined {
  return typeof step.uses === 'string' &&
    /^actions\/github-script@/i.test(step.uses.trim()) &&
    isObj(step.with) &&
    typeof step.with.script === 'string'
    ? step.with.script
    : undefined;
}

type Loaded = { ok: true; wf: WorkflowFile; display: string; real: string } | { ok: false; why: string };

/**
 * Follow every local action the workflow's steps use; report SG003, SG201 and SG106 found through
 * them; return the composite actions' `run:` scripts for the other run-reading rules.
 */
export function followLocalActions(
  wf: WorkflowFile,
  root: string,
  steps: readonly WorkflowStep[],
  report: Report,
): RunSite[] {
  const sites: RunSite[] = [];
  const isLocal = (s: WorkflowStep): s is WorkflowStep & { step: { uses: string } } =>
    typeof s.step.uses === 'string' && parseUses(s.step.uses).kind === 'local';
  // Resolving the root touches the file system: only for a workflow that uses a local action.
  if (!steps.some(isLocal)) return sites;
  let rootReal: string;
  try {
    rootReal = realpathSync(root);
  } catch {
    return sites;
  }
  const cache = new Map<string, Loaded>();
  let budget = MAX_LOCAL_ACTIONS;
  const inside = (p: string): boolean => p === rootReal || p.startsWith(rootReal + path.sep);

  const load = (dirReal: string): Loaded => {
    const hit = cache.get(dirReal);
    if (hit) return hit;
    let result: Loaded = { ok: false, why: 'has no action.yml or action.yaml' };
    for (const name of ['action.yml', 'action.yaml']) {
      const file = path.join(dirReal, name);
      let size: number;
      let real: string;
      try {
        if (!statSync(file).isFile()) continue;
        real = realpathSync(file);
        size = statSync(real).size;
      } catch {
        continue;
      }
      const display = path.relative(rootReal, file).split(path.sep).join('/');
      if (!inside(real)) {
        result = { ok: false, why: `has ${display} linking outside the repository` };
        break;
      }
      if (size > MAX_YAML_BYTES) {
        result = { ok: false, why: `has ${display} of ${size} bytes; the limit is ${MAX_YAML_BYTES} (1 MiB)` };
        break;
      }
      let bytes: Buffer;
      try {
        bytes = readFileSync(real);
      } catch (err) {
        result = {
          ok: false,
          why: `has ${display}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        };
        break;
      }
      const loaded = loadWorkflow(bytes, display);
      result = loaded.ok
        ? { ok: true, wf: loaded.workflow, display, real }
        : {
            ok: false,
            why: `has ${display}, which is not readable YAML (line ${loaded.problems[0]?.line ?? 1}: ${
              loaded.problems[0]?.message ?? 'unreadable'
            })`,
          };
      break;
    }
    cache.set(dirReal, result);
    return result;
  };

  const visit = (
    top: WorkflowStep,
    uses: string,
    withValues: unknown,
    judge: Judge,
    stack: readonly string[],
    via: string,
  ): void => {
    const pos = wf.at([...top.path, 'uses']);
    const where = `step ${top.index + 1} of job '${top.jobId}'${via}`;
    const refuse = (why: string, fix: string): void =>
      report('SG003', pos, `local action '${uses.trim()}' used by ${where} ${why}, so it cannot be checked; ${fix}`);
    const ref = parseUses(uses);
    if (ref.path.split('/')[0] === '..')
      return refuse('leaves the repository', 'keep local actions inside the repository (uses: ./path/in/repo)');
    let dirReal: string;
    try {
      dirReal = realpathSync(path.resolve(rootReal, ref.path));
    } catch {
      return refuse('does not exist', 'correct the path or add the action');
    }
    if (!inside(dirReal))
      return refuse('resolves outside the repository (a symbolic link)', 'keep local actions inside the repository');
    if (stack.includes(dirReal))
      return refuse('calls itself (a cycle of local actions)', 'remove the cycle: the runner would never finish it');
    if (stack.length >= MAX_LOCAL_ACTION_DEPTH)
      return refuse(`is nested deeper than ${MAX_LOCAL_ACTION_DEPTH} local actions`, 'flatten the actions');
    if (budget-- <= 0) {
      // Said once: every action after the budget would say the same.
      if (budget < -1) return;
      return refuse(
        `is beyond the ${MAX_LOCAL_ACTIONS} local action uses one workflow may have followed`,
        'split the workflow or flatten the actions',
      );
    }
    const loaded = load(dirReal);
    if (!loaded.ok) return refuse(loaded.why, 'add a readable action.yml (under 1 MiB, one YAML document)');
    const action = loaded.wf;
    const runs = action.value.runs;
    if (!isObj(runs) || typeof runs.using !== 'string')
      return refuse(`has ${loaded.display} without runs.using`, 'declare runs.using (composite, node20, docker)');
    if (runs.using.toLowerCase() !== 'composite') return;
    if (!Array.isArray(runs.steps))
      return refuse(`has ${loaded.display}, a composite action without runs.steps`, 'declare its runs.steps');

    // The action's inputs as the caller gives them (or their defaults), judged in the caller's context.
    const declared = isObj(action.value.inputs) ? action.value.inputs : {};
    const given = isObj(withValues) ? withValues : {};
    const inputs = new Map<string, string[]>();
    const names = new Set([...Object.keys(declared), ...Object.keys(given)].map((n) => n.toLowerCase()));
    for (const name of names) {
      const key = Object.keys(given).find((k) => k.toLowerCase() === name);
      const decl = Object.entries(declared).find(([k]) => k.toLowerCase() === name)?.[1];
      const value = key !== undefined ? given[key] : isObj(decl) ? decl.default : undefined;
      const reads = readsOfValue(value, judge);
      if (reads.length > 0) inputs.set(name, reads);
    }

    runs.steps.forEach((step, k) => {
      if (!isObj(step)) return;
      const p = ['runs', 'steps', k];
      const env = stepEnvTaint(step.env, judge.env, { inputs, env: judge.env });
      const inner: Judge = { inputs, env };
      const line = (q: (string | number)[]): number => action.at(q).line;
      const here = ` (through ${loaded.display} line ${line([...p])}, step ${k + 1} of that action)`;
      const targets: { path: (string | number)[]; text: string; what: string }[] = [];
      if (typeof step.run === 'string') targets.push({ path: [...p, 'run'], text: step.run, what: 'a run: script' });
      const script = githubScript(step);
      if (script !== undefined)
        targets.push({ path: [...p, 'with', 'script'], text: script, what: 'a github-script script:' });
      for (const t of targets) {
        let n = 0;
        for (const m of t.text.matchAll(EXPRESSION)) {
          const reads = readsOf(m[1]!, inner);
          if (reads.length > 0) {
            const at = action.positionInScalar(t.path, EXPRESSION, n);
            report(
              'SG201',
              pos,
              `\${{${m[1]}}} is interpolated into ${t.what} of local action ${loaded.display} (line ${at.line}), ` +
                `used by ${where} (script injection: it reads ${[...new Set(reads)].join(', ')}); in the action, ` +
                `pass it through env: and use the variable instead`,
            );
          }
          n++;
        }
      }
      if (typeof step.run === 'string') {
        const siteEnv = literalEnvOf([step.env, ...top.envChain]);
        const wd = step['working-directory'];
        const site: RunSite = {
          jobId: top.jobId,
          index: top.index,
          run: step.run,
          env: siteEnv,
          workingDirectory: wd === undefined ? '' : typeof wd === 'string' && !wd.includes('${{') ? wd : undefined,
          where: `${where}${here}`,
          at: () => pos,
        };
        sites.push(site);
        if (/docker/.test(step.run))
          for (const c of commandsOf(step.run, siteEnv)) {
            const effect = volumeRemoval(c.argv);
            if (effect)
              report(
                'SG106',
                pos,
                `'${c.argv.map((w) => w.text).join(' ')}' in ${site.where} ${effect}: the data stateguard protects; ` +
                  `drop the flag, and change stateful services only through stateguard`,
              );
          }
      }
      if (typeof step.uses === 'string' && parseUses(step.uses).kind === 'local')
        visit(top, step.uses, step.with, inner, [...stack, dirReal], `${via}${here}`);
    });
  };

  const wfTaint = envTaint(wf.value.env, new Set());
  for (const s of steps) {
    if (!isLocal(s)) continue;
    const taint = envTaint(s.step.env, envTaint(s.job.env, wfTaint));
    visit(s, s.step.uses, s.step.with, { inputs: 'all', env: taint }, [], '');
  }
  return sites;
}
