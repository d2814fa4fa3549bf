/**
 * stateguard's own workflow rules (DESIGN §9), run on a workflow that was read safely. Pure: no
 * file system, no @actions/*. Each check reports on the line of the value it objects to.
 * Malformed shapes (already reported by the schema rule) are skipped, never thrown on.
 */
import type { Problem, RuleId } from './rules.js';
import { ruleById } from './rules.js';
import type { Path, WorkflowFile } from './workflow.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
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
  if (u.startsWith('./') || u === '.') return { kind: 'local', path: u.replace(/^\.\/?/, '').replace(/\/+$/, '') };
  if (u.startsWith('docker://')) return { kind: 'docker', path: u.slice('docker://'.length) };
  const m = /^([^/@\s]+)\/([^/@\s]+)((?:\/[^@\s]*)?)@(\S+)$/.exec(u);
  if (!m) return { kind: 'invalid', path: u };
  return { kind: 'remote', owner: m[1]!, repo: m[2]!, path: (m[3] ?? '').replace(/^\/+|\/+$/g, ''), ref: m[4]! };
}

/**
 * The stateguard command a step runs, or undefined when it is not a stateguard step.
 * A stateguard step's `uses:` names a repository called `stateguard` (any owner, ref, sub-path),
 * a local `./actions/<name>`, or the root action (`./` or `owner/stateguard@ref`) with
 * `with.command`. A root action whose command is an expression returns '*': it may be anything,
 * including apply, and is treated so (fail closed).
 */
export function stateguardCommand(step: Obj): string | undefined {
  if (typeof step.uses !== 'string') return undefined;
  const ref = parseUses(step.uses);
  let sub: string | undefined;
  if (ref.kind === 'local') {
    if (ref.path === '') sub = '';
    else {
      const m = /^actions\/([^/]+)$/.exec(ref.path);
      if (!m) return undefined;
      sub = m[1]!;
    }
  } else if (ref.kind === 'remote' && ref.repo!.toLowerCase() === 'stateguard') {
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

const APPLY = new Set(['apply', 'stateful-apply', '*']);
const GATES = new Set(['guard', 'verify-backup', 'e2e-gate', 'apply', 'stateful-apply', '*']);
const TOUCHES_STATEFUL = new Set(['guard', 'apply', 'stateful-apply', 'snapshot', '*']);

interface StepInfo {
  jobId: string;
  index: number;
  step: Obj;
  path: Path;
  command: string | undefined;
}

interface JobInfo {
  id: string;
  job: Obj;
  steps: StepInfo[];
}

export function checkWorkflow(wf: WorkflowFile): Problem[] {
  const problems: Problem[] = [];
  const report = (rule: RuleId, pos: { line: number; column: number }, message: string): void => {
    problems.push({ file: wf.file, line: pos.line, column: pos.column, rule, severity: ruleById(rule).severity, message });
  };
  const root = wf.value;
  const triggers = triggerNames(root.on);
  const jobs: JobInfo[] = [];
  if (isObj(root.jobs)) {
    for (const [id, job] of Object.entries(root.jobs)) {
      if (!isObj(job)) continue;
      const steps: StepInfo[] = [];
      if (Array.isArray(job.steps)) {
        job.steps.forEach((step, index) => {
          if (isObj(step)) steps.push({ jobId: id, index, step, path: ['jobs', id, 'steps', index], command: stateguardCommand(step) });
        });
      }
      jobs.push({ id, job, steps });
    }
  }
  const allSteps = jobs.flatMap((j) => j.steps);
  const dispatch = isObj(root.on) ? root.on.workflow_dispatch : undefined;
  const dispatchInputs = isObj(dispatch) && isObj(dispatch.inputs) ? dispatch.inputs : {};
  const describe = (s: StepInfo): string =>
    `step ${s.index + 1} of job '${s.jobId}' (${String(s.step.uses)}${s.command === '*' ? ', command given by an expression: stateguard assumes it may be apply' : ''})`;

  // SG101: stateful apply reachable from anything but workflow_dispatch.
  const automatic = triggers.filter((t) => t !== 'workflow_dispatch');
  for (const s of allSteps) {
    if (!s.command || !APPLY.has(s.command)) continue;
    if (automatic.length > 0) {
      report(
        'SG101',
        wf.at([...s.path, 'uses']),
        `${describe(s)} applies to stateful modules but this workflow also runs on ${automatic.map((t) => `'${t}'`).join(', ')}; only workflow_dispatch may apply (move the apply to a workflow triggered only by workflow_dispatch)`,
      );
    } else if (triggers.length === 0) {
      report('SG101', wf.at([...s.path, 'uses']), `${describe(s)} applies to stateful modules but the workflow declares no trigger; declare 'on: workflow_dispatch' only`);
    }
  }

  // SG102: consent values of an apply step must come from dispatch inputs.
  for (const s of allSteps) {
    if (!s.command || !APPLY.has(s.command) || !isObj(s.step.with)) continue;
    for (const name of ['confirm', 'backup-ref', 'allow-stateful']) {
      for (const key of new Set([name, name.replace(/-/g, '_')])) {
        if (!(key in s.step.with)) continue;
        const v = s.step.with[key];
        if (!fromDispatchInput(v)) {
          report(
            'SG102',
            wf.at([...s.path, 'with', key]),
            `'${key}' of ${describe(s)} is hard-coded (${JSON.stringify(v)}); take it from a workflow_dispatch input, e.g. \${{ inputs.${name === 'confirm' ? 'stateful_confirm' : name.replace(/-/g, '_')} }}`,
          );
        }
      }
    }
  }

  // SG103: the shape of the consent inputs.
  if (isObj(dispatchInputs)) {
    const base: Path = ['on', 'workflow_dispatch', 'inputs'];
    const allow = dispatchInputs.allow_stateful;
    if ('allow_stateful' in dispatchInputs) {
      const p = [...base, 'allow_stateful'];
      if (!isObj(allow) || allow.type !== 'boolean') {
        report('SG103', isObj(allow) && 'type' in allow ? wf.at([...p, 'type']) : wf.at(p, 'key'), `dispatch input 'allow_stateful' must be 'type: boolean' (got ${isObj(allow) && 'type' in allow ? JSON.stringify(allow.type) : 'no type'})`);
      }
      if (!isObj(allow) || allow.default !== false) {
        report('SG103', isObj(allow) && 'default' in allow ? wf.at([...p, 'default']) : wf.at(p, 'key'), `dispatch input 'allow_stateful' must have 'default: false' (got ${isObj(allow) && 'default' in allow ? JSON.stringify(allow.default) : 'no default'})`);
      }
    }
    for (const name of ['stateful_confirm', 'backup_ref']) {
      if (!(name in dispatchInputs)) continue;
      const input = dispatchInputs[name];
      const p = [...base, name];
      if (!isObj(input) || input.required !== true) {
        report('SG103', isObj(input) && 'required' in input ? wf.at([...p, 'required']) : wf.at(p, 'key'), `dispatch input '${name}' must be 'required: true' (got ${isObj(input) && 'required' in input ? JSON.stringify(input.required) : 'not required'})`);
      }
      if (isObj(input) && 'default' in input) {
        report('SG103', wf.at([...p, 'default']), `dispatch input '${name}' must not have a default (got ${JSON.stringify(input.default)}): the operator types it for each run`);
      }
    }
  }

  // SG104: apply jobs hold a concurrency group and are never cancelled in progress.
  const wfConcurrency = root.concurrency;
  for (const j of jobs) {
    const applySteps = j.steps.filter((s) => s.command && APPLY.has(s.command));
    if (applySteps.length === 0) continue;
    const jobConcurrency = j.job.concurrency;
    if (!hasGroup(jobConcurrency) && !hasGroup(wfConcurrency)) {
      report('SG104', wf.at(['jobs', j.id], 'key'), `job '${j.id}' runs a stateful apply without a concurrency group; add 'concurrency: { group: stateful-apply-\${{ inputs.module }}, cancel-in-progress: false }'`);
    }
    for (const [c, p] of [
      [jobConcurrency, ['jobs', j.id, 'concurrency']],
      [wfConcurrency, ['concurrency']],
    ] as const) {
      if (isObj(c) && 'cancel-in-progress' in c && c['cancel-in-progress'] !== false) {
        report('SG104', wf.at([...p, 'cancel-in-progress']), `job '${j.id}' runs a stateful apply with cancel-in-progress ${JSON.stringify(c['cancel-in-progress'])}; cancelling mid-apply is a crash: set it to false or remove it`);
      }
    }
  }

  // SG105: gates never continue on error (step or job level).
  for (const j of jobs) {
    const gates = j.steps.filter((s) => s.command && GATES.has(s.command));
    for (const s of gates) {
      if ('continue-on-error' in s.step && s.step['continue-on-error'] !== false) {
        report('SG105', wf.at([...s.path, 'continue-on-error']), `${describe(s)} has continue-on-error ${JSON.stringify(s.step['continue-on-error'])}: its "no" would pass; remove it`);
      }
    }
    if (gates.length > 0 && 'continue-on-error' in j.job && j.job['continue-on-error'] !== false) {
      report('SG105', wf.at(['jobs', j.id, 'continue-on-error']), `job '${j.id}' holds ${gates.length === 1 ? 'a stateguard gate' : `${gates.length} stateguard gates`} (${gates.map((g) => g.command).join(', ')}) and has continue-on-error ${JSON.stringify(j.job['continue-on-error'])}: a "no" would pass; remove it`);
    }
  }

  // SG201: script injection in run: and github-script's script:.
  for (const s of allSteps) {
    const targets: { path: Path; text: string; what: string }[] = [];
    if (typeof s.step.run === 'string') targets.push({ path: [...s.path, 'run'], text: s.step.run, what: 'run' });
    if (typeof s.step.uses === 'string' && /^actions\/github-script@/i.test(s.step.uses.trim()) && isObj(s.step.with) && typeof s.step.with.script === 'string') {
      targets.push({ path: [...s.path, 'with', 'script'], text: s.step.with.script, what: 'script' });
    }
    for (const t of targets) {
      let k = 0;
      for (const m of t.text.matchAll(EXPRESSION)) {
        const body = m[1]!;
        if (UNTRUSTED.test(body)) {
          report('SG201', wf.positionInScalar(t.path, EXPRESSION, k), `\${{${body}}} is interpolated into ${t.what === 'run' ? 'a run: script' : 'a github-script script:'} of step ${s.index + 1} in job '${s.jobId}' (script injection); pass it through env: and use the variable instead`);
        }
        k++;
      }
    }
  }

  // SG202: least-privilege token.
  if (!('permissions' in root)) {
    report('SG202', { line: 1, column: 1 }, "the workflow has no top-level 'permissions'; declare the least it needs, e.g. 'permissions: { contents: read }'");
  } else if (root.permissions === 'write-all') {
    report('SG202', wf.at(['permissions']), "top-level 'permissions: write-all' grants every scope; list only what the workflow needs");
  }
  for (const j of jobs) {
    if (j.job.permissions === 'write-all') {
      report('SG202', wf.at(['jobs', j.id, 'permissions']), `job '${j.id}' has 'permissions: write-all'; list only what the job needs`);
    }
  }

  // SG203: privileged triggers with a checkout of the PR head.
  const privileged = triggers.filter((t) => t === 'pull_request_target' || t === 'workflow_run');
  if (privileged.length > 0) {
    for (const s of allSteps) {
      if (typeof s.step.uses !== 'string' || !/^actions\/checkout@/i.test(s.step.uses.trim()) || !isObj(s.step.with)) continue;
      for (const key of ['ref', 'repository']) {
        const v = s.step.with[key];
        if (typeof v === 'string' && PR_HEAD.test(v)) {
          report('SG203', wf.at([...s.path, 'with', key]), `step ${s.index + 1} of job '${s.jobId}' checks out the pull request head (${key}: ${v}) in a workflow triggered by ${privileged.join(', ')}, which runs with secrets and a write token`);
        }
      }
    }
  }

  // SG106: volume-destroying compose flags in a workflow that touches stateful modules.
  const touchesStateful = allSteps.some((s) => s.command && TOUCHES_STATEFUL.has(s.command)) || 'allow_stateful' in dispatchInputs;
  if (touchesStateful) {
    for (const s of allSteps) {
      if (typeof s.step.run !== 'string') continue;
      for (const hit of composeVolumeRemovals(s.step.run)) {
        report('SG106', wf.positionInScalar([...s.path, 'run'], COMPOSE, hit.occurrence), `'${hit.command}' in step ${s.index + 1} of job '${s.jobId}' ${hit.effect}, in a workflow that touches stateful modules`);
      }
    }
  }

  // SG301: pin every action and reusable workflow to a commit SHA.
  const pinTargets: { path: Path; uses: string }[] = [];
  for (const j of jobs) if (typeof j.job.uses === 'string') pinTargets.push({ path: ['jobs', j.id, 'uses'], uses: j.job.uses });
  for (const s of allSteps) if (typeof s.step.uses === 'string') pinTargets.push({ path: [...s.path, 'uses'], uses: s.step.uses });
  for (const t of pinTargets) {
    const ref = parseUses(t.uses);
    if (ref.kind === 'local') continue;
    if (ref.kind === 'docker') {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref.path)) report('SG301', wf.at(t.path), `'${t.uses}' is not pinned to an image digest; use docker://image@sha256:<digest>`);
      continue;
    }
    if (ref.kind === 'remote' && /^[0-9a-f]{40}$/.test(ref.ref!)) continue;
    report('SG301', wf.at(t.path), `'${t.uses}' is not pinned to a full commit SHA; use ${ref.kind === 'remote' ? `${ref.owner}/${ref.repo}${ref.path ? `/${ref.path}` : ''}` : '<owner>/<repo>'}@<40-hex-sha> # ${ref.ref ?? 'tag'}`);
  }

  return problems;
}

/** `${{ ... }}` (the body may span lines in a block scalar). */
const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;
/** Contexts an outsider or a dispatcher controls. `github.event_name` is not one of them. */
const UNTRUSTED = /(?:^|[^\w.'"])(?:github\s*\.\s*event\s*[.[]|github\s*\.\s*head_ref\b|github\s*\[\s*['"](?:event|head_ref)['"]\s*\]|inputs\s*[.[])/;
const PR_HEAD = /github\s*\.\s*event\s*\.\s*pull_request\s*\.\s*head|github\s*\.\s*head_ref|github\s*\.\s*event\s*\.\s*workflow_run\s*\.\s*head_|\bhead_ref\b|refs\/pull\//;
const DISPATCH_INPUT = /^\s*\$\{\{\s*(?:inputs|github\s*\.\s*event\s*\.\s*inputs)\s*(?:\.\s*[A-Za-z_][\w-]*|\[\s*'[^']+'\s*\])\s*\}\}\s*$/;

function fromDispatchInput(v: unknown): boolean {
  return typeof v === 'string' && DISPATCH_INPUT.test(v);
}

function hasGroup(c: unknown): boolean {
  if (typeof c === 'string') return c.trim() !== '';
  return isObj(c) && typeof c.group === 'string' && c.group.trim() !== '';
}

export function triggerNames(on: unknown): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.filter((t): t is string => typeof t === 'string');
  if (isObj(on)) return Object.keys(on);
  return [];
}

/** `docker compose` / `docker-compose` at the start of a command word. */
const COMPOSE = /(?<![\w-])(?:docker[ \t]+compose|docker-compose)(?![\w-])/g;
/** Compose options that take a value, so the value is not mistaken for the subcommand. */
const VALUE_FLAGS = new Set(['-f', '--file', '-p', '--project-name', '--project-directory', '--env-file', '--profile', '--ansi', '--parallel', '--progress', '-c', '--context', '-H', '--host', '--log-level']);
/** Subcommands whose arguments after the service are the container's command, not compose flags. */
const PASS_THROUGH = new Set(['run', 'exec']);

export interface ComposeHit {
  occurrence: number;
  command: string;
  effect: string;
}

/** Every compose invocation in a script that deletes or recreates volumes, or auto-confirms it. */
export function composeVolumeRemovals(script: string): ComposeHit[] {
  const hits: ComposeHit[] = [];
  let occurrence = 0;
  for (const m of script.matchAll(COMPOSE)) {
    const current = occurrence++;
    const rest = script.slice(m.index + m[0].length);
    // The command ends at an unescaped newline or a shell separator.
    const end = rest.search(/(?<!\\)\n|;|&&|\|\||\||&/);
    const text = (end === -1 ? rest : rest.slice(0, end)).replace(/\\\n/g, ' ');
    const words: string[] = [];
    for (const w of text.split(/\s+/)) {
      if (w.startsWith('#')) break;
      if (w) words.push(w.replace(/^['"]|['"]$/g, ''));
    }
    let sub: string | undefined;
    const flags: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (w.startsWith('-')) {
        flags.push(w);
        if (!sub && VALUE_FLAGS.has(w)) i++;
        continue;
      }
      if (!sub) sub = w;
      else if (PASS_THROUGH.has(sub)) break;
    }
    const effects: string[] = [];
    const short = (f: string): string => (/^-[A-Za-z]+$/.test(f) ? f.slice(1) : '');
    if (sub === 'down' && flags.some((f) => f === '--volumes' || f === '--volumes=true' || short(f).includes('v'))) effects.push('removes volumes (down -v/--volumes)');
    if (flags.some((f) => f === '--renew-anon-volumes' || short(f).includes('V'))) effects.push('recreates anonymous volumes (-V/--renew-anon-volumes)');
    if (flags.some((f) => f === '--yes' || short(f).includes('y'))) effects.push('answers yes to data-loss prompts (-y/--yes)');
    if (effects.length > 0) {
      hits.push({ occurrence: current, command: `${m[0]} ${words.join(' ')}`.trim(), effect: effects.join(' and ') });
    }
  }
  return hits;
}
