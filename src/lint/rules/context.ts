/**
 * What the repository-aware rules (docs/architecture.md §9) share: the repository root a workflow
 * is linted in (for local actions and modules/), the steps of a workflow, and the `run:` scripts
 * those steps and the composite actions they call run. Pure apart from what the caller hands in.
 */
import type { Position } from '../../model/yaml-source.js';
import type { Problem, RuleId } from '../rules.js';
import { ruleById } from '../rules.js';
import type { Path, WorkflowFile } from '../workflow.js';
import type { RepoModules } from './modules.js';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where a workflow is linted from. Without a root, local actions and modules/ are not read. */
export interface RepoContext {
  /** absolute path of the repository (lint-workflows' working directory) */
  root?: string;
  /** the repository's modules (undefined when it has no modules/ directory) */
  modules?: RepoModules;
}

export interface WorkflowStep {
  jobId: string;
  index: number;
  step: Obj;
  path: Path;
  /** step, job and workflow env:, innermost first */
  envChain: unknown[];
  job: Obj;
}

export function stepsOf(wf: WorkflowFile): WorkflowStep[] {
  const out: WorkflowStep[] = [];
  const root = wf.value;
  if (!isObj(root.jobs)) return out;
  for (const [jobId, job] of Object.entries(root.jobs)) {
    if (!isObj(job) || !Array.isArray(job.steps)) continue;
    job.steps.forEach((step, index) => {
      if (isObj(step))
        out.push({
          jobId,
          index,
          step,
          path: ['jobs', jobId, 'steps', index],
          envChain: [step.env, job.env, root.env],
          job,
        });
    });
  }
  return out;
}

/**
 * A `run:` script, in the workflow or in a composite action a workflow step calls. `at` gives the
 * position to report a word of it at: in the workflow, the word itself; in an action, the caller's
 * `uses:` (the workflow's problem), with `where` naming the action file's line.
 */
export interface RunSite {
  jobId: string;
  /** the workflow step (0-based) the script runs in, or that calls the action holding it */
  index: number;
  run: string;
  /** literal env values visible to the script (a value with an expression is left out) */
  env: Map<string, string>;
  /** the step's working-directory when literal ('' when none, undefined when an expression) */
  workingDirectory: string | undefined;
  /** `step 2 of job 'j'`, or `step 2 of job 'j' (through ./x/action.yml line 14)` */
  where: string;
  at(offset: number, needle: string): Position;
}

/** Literal env values a script can read (`$COMPOSE_PROJECT_NAME`), outermost first, inner ones win. */
export function literalEnvOf(chain: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const env of [...chain].reverse()) {
    if (!isObj(env)) continue;
    for (const [k, v] of Object.entries(env)) {
      if (typeof v === 'string' && !v.includes('${{')) out.set(k, v);
      else if (typeof v === 'number' || typeof v === 'boolean') out.set(k, String(v));
      else out.delete(k);
    }
  }
  return out;
}

/** Triggers whose runs hold the base repository's secrets and a write token while an outsider controls data. */
export const PRIVILEGED_TRIGGERS: readonly string[] = ['pull_request_target', 'issue_comment', 'workflow_run'];

/** The workflow's triggers that are privileged, in the workflow's order. */
export function privilegedOf(triggers: readonly string[]): string[] {
  return triggers.filter((t) => PRIVILEGED_TRIGGERS.includes(t));
}

export function workingDirectoryOf(step: Obj, job: Obj): string | undefined {
  const defaults = isObj(job.defaults) && isObj(job.defaults.run) ? job.defaults.run['working-directory'] : undefined;
  const wd = step['working-directory'] ?? defaults;
  if (wd === undefined || wd === null) return '';
  if (typeof wd !== 'string' || wd.includes('${{')) return undefined;
  return wd;
}

/** The `run:` scripts of the workflow's own steps. */
export function workflowRunSites(wf: WorkflowFile): RunSite[] {
  return stepsOf(wf)
    .filter((s) => typeof s.step.run === 'string')
    .map((s) => ({
      jobId: s.jobId,
      index: s.index,
      run: s.step.run as string,
      env: literalEnvOf(s.envChain),
      workingDirectory: workingDirectoryOf(s.step, s.job),
      where: `step ${s.index + 1} of job '${s.jobId}'`,
      at: (offset: number, needle: string) => wf.positionInValue([...s.path, 'run'], offset, needle),
    }));
}

export type Report = (rule: RuleId, pos: Position, message: string) => void;

export function reporter(file: string, problems: Problem[]): Report {
  return (rule, pos, message) =>
    problems.push({ file, line: pos.line, column: pos.column, rule, severity: ruleById(rule).severity, message });
}

/** The workflow's triggers (the one reading: src/lint/facts.ts uses it too). */
export function triggersOf(on: unknown): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.filter((t): t is string => typeof t === 'string');
  if (isObj(on)) return Object.keys(on);
  return [];
}
