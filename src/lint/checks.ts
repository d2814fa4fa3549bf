/**
 * stateguard's own workflow rules (docs/architecture.md §9), run on a workflow that was read safely. Pure: no
 * file system, no @actions/*. Each check reports on the line of the value it objects to; what they read is
 * built once (src/lint/facts.ts). Malformed shapes (already reported by the schema rule) are skipped, never
 * thrown on.
 */
import { EXPRESSION } from './expressions.js';
import { codeInputsOf } from './code-inputs.js';
import { checkEnvFileInjection } from './rules/env-file-injection.js';
import { taintedReads, taintFlow } from './taint.js';
import type { Problem, RuleId } from './rules.js';
import { ruleById } from './rules.js';
import { describeOrigin, sharedOrigin, shellOrigins, valueOrigins, type Origin } from './derived.js';
import { consentInText, dispatchWithConsent, volumeRemoval } from './shell.js';
import type { Path, WorkflowFile } from './workflow.js';
import { PRIVILEGED_TRIGGERS } from './rules/pr-code-fetch.js';
import {
  CONSENT,
  MUTATING,
  parseUses,
  RESTORE_CONFIRM_INPUT,
  ROLE_NAMES,
  workflowFacts,
  type Role,
  type Sink,
} from './facts.js';
import { isObj, type Obj } from './rules/context.js';

/** Routine backup work that `schedule` may run (never a push or a pull request): workflows/backup.yml. */
const SCHEDULE_OK = new Set(['snapshot', 'prune-backups']);
const GATES = new Set([
  'guard',
  'verify-backup',
  'e2e-gate',
  'apply',
  'stateful-apply',
  'restore',
  'recover',
  'upgrade',
  '*',
]);

export function checkWorkflow(wf: WorkflowFile): Problem[] {
  const problems: Problem[] = [];
  const report = (rule: RuleId, pos: { line: number; column: number }, message: string): void => {
    problems.push({
      file: wf.file,
      line: pos.line,
      column: pos.column,
      rule,
      severity: ruleById(rule).severity,
      message,
    });
  };
  const root = wf.value;
  const {
    triggers,
    automatic,
    dispatchInputs,
    callInputs,
    jobs,
    steps: allSteps,
    invocations: allInvocations,
  } = workflowFacts(wf);

  // SG101: a mutating stateguard command reachable from anything but workflow_dispatch. A snapshot
  // only stops and restarts the module to copy its volumes, and scheduled backups (with their
  // retention, prune-backups, which never deletes the newest verified one) are the point of having
  // them (workflows/backup.yml), so `schedule` may run them; a push or a pull request may not
  // (docs/rules.md, SG101).
  for (const inv of allInvocations) {
    if (!MUTATING.has(inv.command)) continue;
    const scheduleOk = SCHEDULE_OK.has(inv.command);
    const forbidden = scheduleOk ? automatic.filter((t) => t !== 'schedule') : automatic;
    if (forbidden.length > 0) {
      report(
        'SG101',
        inv.pos,
        scheduleOk
          ? `${inv.label} ${inv.command === 'snapshot' ? 'stops a stateful module' : 'deletes backups'} but this ` +
              `workflow also runs on ${forbidden.map((t) => `'${t}'`).join(', ')}; only workflow_dispatch or ` +
              `schedule may run a ${inv.command}`
          : `${inv.label} changes stateful modules but this workflow also runs on ` +
              `${forbidden.map((t) => `'${t}'`).join(', ')}; only workflow_dispatch may run it (move it to a ` +
              `workflow ` +
              `triggered only by workflow_dispatch)`,
      );
    } else if (triggers.length === 0) {
      report(
        'SG101',
        inv.pos,
        `${inv.label} changes stateful modules but the workflow declares no trigger; declare 'on: workflow_dispatch' ` +
          `only`,
      );
    }
  }

  // SG108: a restore's confirm is the backup's file name typed by the operator, separately from the
  // backup reference; computed from that reference it confirms nothing. A sink reported here is not
  // also reported by SG102: this is the more precise reason.
  const derived = new Set<Sink>();
  for (const inv of allInvocations) {
    if (inv.command !== 'restore' && inv.command !== '*') continue;
    const origins = (sink: Sink): Set<Origin> =>
      sink.raw === undefined
        ? new Set()
        : 'yaml' in sink.raw
          ? valueOrigins(sink.raw.yaml, inv.scope)
          : shellOrigins(sink.raw.shell, inv.scope);
    const backups = inv.sinks.filter((x) => x.role === 'backup');
    const backup = new Set<Origin>(backups.length === 0 ? [`input:${ROLE_NAMES.backup.input}`] : []);
    for (const b of backups) for (const o of origins(b)) backup.add(o);
    for (const sink of inv.sinks) {
      if (sink.role !== 'confirm') continue;
      const shared = sharedOrigin(origins(sink), backup);
      if (shared === undefined) continue;
      derived.add(sink);
      report(
        'SG108',
        sink.pos,
        `'${sink.key}' of ${inv.label} is computed from the backup it restores (both read ` +
          `${describeOrigin(shared)}): the confirm is the backup's file name typed again by the operator, so it ` +
          `confirms nothing when derived from the backup reference; take it from its own required ` +
          `workflow_dispatch input with no default, e.g. \${{ inputs.${RESTORE_CONFIRM_INPUT} }}`,
      );
    }
  }

  // SG102: consent values of a mutating call must come from workflow inputs (directly or via env:).
  // Which inputs feed which consent, for SG103: by their usual names, and wherever they flow.
  const roles = new Map<string, Set<Role>>();
  const addRole = (name: string, role: Role): void => {
    const set = roles.get(name) ?? new Set<Role>();
    set.add(role);
    roles.set(name, set);
  };
  for (const role of ['allow', 'confirm', 'backup'] as Role[]) addRole(ROLE_NAMES[role].input, role);
  addRole(RESTORE_CONFIRM_INPUT, 'confirm');
  const tokens = new Map<string, string>();
  for (const inv of allInvocations) {
    if (!CONSENT.has(inv.command)) continue;
    for (const sink of inv.sinks) {
      if (derived.has(sink) && sink.source.kind !== 'input') continue;
      if (sink.source.kind === 'input') {
        addRole(sink.source.name, sink.role);
        if (sink.role === 'confirm') tokens.set(sink.source.name, inv.confirmToken);
        continue;
      }
      const suggestion =
        sink.role === 'confirm' && inv.command === 'restore' ? RESTORE_CONFIRM_INPUT : ROLE_NAMES[sink.role].input;
      report(
        'SG102',
        sink.pos,
        `'${sink.key}' of ${inv.label} is hard-coded or not from a workflow input ` +
          `(${sink.shown}); take it from a workflow_dispatch input, e.g. \${{ ` +
          `inputs.${suggestion} }}${
            sink.key.startsWith('--') ? ` passed through env: ` + `(${sink.key}="$${suggestion.toUpperCase()}")` : ''
          }`,
      );
    }
  }

  // SG103: the shape of every input that feeds consent, whatever its name.
  for (const [trigger, inputs] of [
    ['workflow_dispatch', dispatchInputs],
    ['workflow_call', callInputs],
  ] as const) {
    const base: Path = ['on', trigger, 'inputs'];
    for (const [declared, input] of Object.entries(inputs)) {
      const set = roles.get(declared.toLowerCase());
      if (!set) continue;
      const p = [...base, declared];
      const what = `${trigger === 'workflow_dispatch' ? 'dispatch' : 'workflow_call'} input '${declared}'`;
      const has = (k: string): boolean => isObj(input) && k in input;
      const get = (k: string): unknown => (isObj(input) ? input[k] : undefined);
      const feeds = (role: Role): string =>
        declared.toLowerCase() === ROLE_NAMES[role].input ? '' : ` (it feeds ${ROLE_NAMES[role].with})`;
      if (set.has('allow')) {
        if (get('type') !== 'boolean') {
          report(
            'SG103',
            has('type') ? wf.at([...p, 'type']) : wf.at(p, 'key'),
            `${what}${feeds('allow')} must be 'type: boolean' (got ` +
              `${has('type') ? JSON.stringify(get('type')) : 'no type'})`,
          );
        }
        if (get('default') !== false) {
          report(
            'SG103',
            has('default') ? wf.at([...p, 'default']) : wf.at(p, 'key'),
            `${what}${feeds('allow')} must have 'default: false' (got ` +
              `${has('default') ? JSON.stringify(get('default')) : 'no default'})`,
          );
        }
      }
      for (const role of ['confirm', 'backup'] as Role[]) {
        if (!set.has(role)) continue;
        if (get('required') !== true) {
          report(
            'SG103',
            has('required') ? wf.at([...p, 'required']) : wf.at(p, 'key'),
            `${what}${feeds(role)} must be 'required: true' (got ` +
              `${has('required') ? JSON.stringify(get('required')) : 'not required'})`,
          );
        }
        if (has('default')) {
          const token = tokens.get(declared.toLowerCase());
          const isToken = role === 'confirm' && token !== undefined && String(get('default')) === token;
          report(
            'SG103',
            wf.at([...p, 'default']),
            `${what}${feeds(role)} must not have a default (got ` +
              `${JSON.stringify(get('default'))}${
                isToken ? ', the confirm token itself: every run would ' + 'confirm' : ''
              }): the operator types it for each run`,
          );
        }
      }
    }
  }

  // SG104: mutating jobs hold a concurrency group that serialises, and are never cancelled in progress.
  const wfConcurrency = root.concurrency;
  for (const j of jobs) {
    const mutating = [
      ...new Set(j.steps.flatMap((s) => s.invocations.map((i) => i.command).filter((c) => MUTATING.has(c)))),
    ];
    if (mutating.length === 0) continue;
    // `runs stateguard restore`, `runs stateguard apply, snapshot`: the message names what it runs.
    const runs = `runs ${mutating
      .map((c) => (c === '*' ? 'a stateguard command given by an expression or variable' : `stateguard ${c}`))
      .join(', ')}`;
    const jobConcurrency = j.job.concurrency;
    if (!hasGroup(jobConcurrency) && !hasGroup(wfConcurrency)) {
      report(
        'SG104',
        wf.at(['jobs', j.id], 'key'),
        `job '${j.id}' ${runs} without a concurrency group; add 'concurrency: { group: ` +
          `stateful-apply-\${{ inputs.module }}, cancel-in-progress: false }'`,
      );
    }
    for (const [c, p] of [
      [jobConcurrency, ['jobs', j.id, 'concurrency']],
      [wfConcurrency, ['concurrency']],
    ] as const) {
      if (isObj(c) && 'cancel-in-progress' in c && c['cancel-in-progress'] !== false) {
        report(
          'SG104',
          wf.at([...p, 'cancel-in-progress']),
          `job '${j.id}' ${runs} with cancel-in-progress ${JSON.stringify(c['cancel-in-progress'])}; ` +
            `cancelling it mid-way is a crash: set it to false or remove it`,
        );
      }
      const group = typeof c === 'string' ? c : isObj(c) && typeof c.group === 'string' ? c.group : undefined;
      if (group !== undefined && perRun(group)) {
        report(
          'SG104',
          wf.at(typeof c === 'string' ? p : [...p, 'group']),
          `job '${j.id}' ${runs} in concurrency group ` +
            `${JSON.stringify(group)}, which is different for every run (run_id/run_number/run_attempt) and so ` +
            `serialises nothing; key it by the module, e.g. stateful-apply-\${{ inputs.module }}`,
        );
      }
    }
  }

  // SG105: gates never continue on error (step or job level).
  for (const j of jobs) {
    const gates = j.steps.filter((s) => s.invocations.some((i) => GATES.has(i.command)));
    for (const s of gates) {
      if ('continue-on-error' in s.step && s.step['continue-on-error'] !== false) {
        report(
          'SG105',
          wf.at([...s.path, 'continue-on-error']),
          `${s.invocations[0]!.label} has continue-on-error ` +
            `${JSON.stringify(s.step['continue-on-error'])}: its "no" would pass; remove it`,
        );
      }
    }
    if (gates.length > 0 && 'continue-on-error' in j.job && j.job['continue-on-error'] !== false) {
      const names = gates.flatMap((g) => g.invocations.filter((i) => GATES.has(i.command)).map((i) => i.command));
      report(
        'SG105',
        wf.at(['jobs', j.id, 'continue-on-error']),
        `job '${j.id}' holds ${
          names.length === 1 ? 'a stateguard ' + 'gate' : `${names.length} stateguard gates`
        } (${names.join(', ')}) and has continue-on-error ` +
          `${JSON.stringify(j.job['continue-on-error'])}: a "no" would pass; remove it`,
      );
    }
  }

  // SG106: volume-destroying docker commands in any run: (docs/rules.md SG106).
  for (const s of allSteps) {
    for (const c of s.commands) {
      const effect = volumeRemoval(c.argv);
      if (!effect) continue;
      const first = c.argv[0]!;
      report(
        'SG106',
        wf.positionInValue([...s.path, 'run'], first.start, first.text),
        `'${c.argv.map((w) => w.text).join(' ')}' in step ${s.index + 1} of job '${s.jobId}' ${effect}: the data ` +
          `stateguard protects; drop the flag, and change stateful services only through stateguard`,
      );
    }
  }

  // SG107: an automatic trigger dispatching a workflow with consent filled in.
  if (automatic.length > 0) {
    const why =
      `in a workflow that runs on ` +
      `${automatic.map((t) => `'${t}'`).join(', ')}: consent filled in by automation is no consent; only an operator ` +
      `dispatching by hand may give it: dispatch without consent inputs`;
    for (const s of allSteps) {
      for (const c of s.commands) {
        const hit = dispatchWithConsent(c.argv);
        if (hit)
          report(
            'SG107',
            wf.positionInValue([...s.path, 'run'], hit.word.start, hit.word.text),
            `step ${s.index + 1} of job '${s.jobId}' dispatches a workflow with ${hit.what} ${why}`,
          );
      }
      const script = githubScript(s.step);
      if (script !== undefined && /createWorkflowDispatch|\/dispatches\b/.test(script)) {
        for (const hit of consentInText(script)) {
          report(
            'SG107',
            wf.positionInValue([...s.path, 'with', 'script'], hit.index, hit.key),
            `step ${s.index + 1} of job '${s.jobId}' dispatches a workflow (github-script) with ${hit.key} set ${why}`,
          );
        }
      }
    }
  }

  // SG201: script injection in run: and in inputs that are code (src/lint/code-inputs.ts), read from
  // the expression's AST; taint flows through env:, step and job outputs and matrices, and values
  // that cannot carry a payload are not taint (src/lint/taint.ts, docs/architecture.md §9).
  const flow = taintFlow(root);
  for (const j of jobs) {
    for (const s of j.steps) {
      const scope = flow.stepScope(j.id, s.index);
      const targets: { path: Path; text: string; what: string }[] = [];
      if (typeof s.step.run === 'string')
        targets.push({ path: [...s.path, 'run'], text: s.step.run, what: 'a run: script' });
      for (const c of codeInputsOf(s.step))
        targets.push({
          path: [...s.path, 'with', c.entry.input],
          text: c.text,
          what: `the '${c.entry.input}' input of ${c.entry.action} (run as ${c.entry.language})`,
        });
      for (const t of targets) {
        if (!t.text.includes('${{')) continue;
        let k = 0;
        for (const m of t.text.matchAll(EXPRESSION)) {
          const reads = taintedReads(m[1]!, scope);
          if (reads.length > 0) {
            report(
              'SG201',
              wf.positionInScalar(t.path, EXPRESSION, k),
              `\${{${m[1]!.replace(/\s+/g, ' ')}}} is interpolated into ` +
                `${t.what} of step ${s.index + 1} in job '${s.jobId}' (script injection: it reads ` +
                `${reads.join(', ').replace(/\s+/g, ' ')}); pass it through env: and use the variable instead`,
            );
          }
          k++;
        }
      }
    }
  }

  // SG204 (lint-taint): attacker data written to $GITHUB_ENV/$GITHUB_OUTPUT/$GITHUB_PATH under a privileged trigger.
  checkEnvFileInjection(
    triggers,
    allSteps.map((s) => ({
      jobId: s.jobId,
      index: s.index,
      step: s.step,
      runPath: [...s.path, 'run'],
      scope: flow.stepScope(s.jobId, s.index),
    })),
    (path, offset, needle) => wf.positionInValue(path, offset, needle),
    (pos, message) => report('SG204', pos, message),
  );

  // SG202: least-privilege token.
  if (!('permissions' in root)) {
    report(
      'SG202',
      { line: 1, column: 1 },
      "the workflow has no top-level 'permissions'; declare the least it needs, e.g. 'permissions: { contents: read }'",
    );
  } else if (root.permissions === 'write-all') {
    report(
      'SG202',
      wf.at(['permissions']),
      "top-level 'permissions: write-all' grants every scope; list only what the workflow needs",
    );
  }
  for (const j of jobs) {
    if (j.job.permissions === 'write-all') {
      report(
        'SG202',
        wf.at(['jobs', j.id, 'permissions']),
        `job '${j.id}' has 'permissions: write-all'; list only what the job needs`,
      );
    }
  }

  // SG203: privileged triggers with a checkout of the PR head.
  const privileged = triggers.filter((t) => (PRIVILEGED_TRIGGERS as readonly string[]).includes(t));
  if (privileged.length > 0) {
    for (const s of allSteps) {
      if (typeof s.step.uses !== 'string' || !/^actions\/checkout@/i.test(s.step.uses.trim()) || !isObj(s.step.with))
        continue;
      for (const key of ['ref', 'repository']) {
        const v = s.step.with[key];
        if (typeof v === 'string' && PR_HEAD.test(v)) {
          report(
            'SG203',
            wf.at([...s.path, 'with', key]),
            `step ${s.index + 1} of job '${s.jobId}' checks out the pull request head ` +
              `(${key}: ${v}) in a workflow triggered by ` +
              `${privileged.join(', ')}, which runs with secrets and a write token; use the 'pull_request' trigger ` +
              `for anything that builds or runs the pull request's code, or check out only the base ref here`,
          );
        }
      }
    }
  }

  // SG301: pin every action and reusable workflow to a commit SHA.
  const pinTargets: { path: Path; uses: string }[] = [];
  for (const j of jobs)
    if (typeof j.job.uses === 'string') pinTargets.push({ path: ['jobs', j.id, 'uses'], uses: j.job.uses });
  for (const s of allSteps)
    if (typeof s.step.uses === 'string') pinTargets.push({ path: [...s.path, 'uses'], uses: s.step.uses });
  for (const t of pinTargets) {
    const ref = parseUses(t.uses);
    if (ref.kind === 'local') continue;
    if (ref.kind === 'docker') {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref.path))
        report(
          'SG301',
          wf.at(t.path),
          `'${t.uses}' is not pinned to an image digest; use docker://image@sha256:<digest>`,
        );
      continue;
    }
    if (ref.kind === 'remote' && /^[0-9a-f]{40}$/.test(ref.ref!)) continue;
    report(
      'SG301',
      wf.at(t.path),
      `'${t.uses}' is not pinned to a full commit SHA; use ` +
        `${ref.kind === 'remote' ? `${ref.owner}/${ref.repo}${ref.path ? `/${ref.path}` : ''}` : '<owner>/<repo>'}` +
        `@<40-hex-sha> # ${ref.ref ?? 'tag'}`,
    );
  }

  return problems;
}

function githubScript(step: Obj): string | undefined {
  if (
    typeof step.uses === 'string' &&
    /^actions\/github-script@/i.test(step.uses.trim()) &&
    isObj(step.with) &&
    typeof step.with.script === 'string'
  )
    return step.with.script;
  return undefined;
}

/** A checkout ref that reads the pull request's (or the triggering run's) head: untrusted code. */
const PR_HEAD = new RegExp(
  [
    String.raw`github\s*\.\s*event\s*\.\s*pull_request\s*\.\s*head`,
    String.raw`github\s*\.\s*head_ref`,
    String.raw`github\s*\.\s*event\s*\.\s*workflow_run\s*\.\s*head_`,
    String.raw`\bhead_ref\b`,
    String.raw`refs\/pull\/`,
    // issue 29: the merge commit of the pull request is its code too (docs/rules.md SG203)
    String.raw`github\s*\.\s*event\s*\.\s*pull_request\s*\.\s*merge_commit_sha`,
  ].join('|'),
);

/** A concurrency group whose expressions read the run's own id, number or attempt. */
function perRun(group: string): boolean {
  for (const m of group.matchAll(EXPRESSION)) if (/run_(?:id|number|attempt)\b/i.test(m[1]!)) return true;
  return false;
}

function hasGroup(c: unknown): boolean {
  if (typeof c === 'string') return c.trim() !== '';
  return isObj(c) && typeof c.group === 'string' && c.group.trim() !== '';
}
