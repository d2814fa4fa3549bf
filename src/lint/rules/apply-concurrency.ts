/**
 * SG104 apply-concurrency (docs/rules.md SG104, docs/architecture.md §9): a job running a mutating
 * stateguard command holds a concurrency group that serialises, and is never cancelled in progress.
 */
import { EXPRESSION } from '../expressions.js';
import { MUTATING, type WorkflowFacts } from '../facts.js';
import type { WorkflowFile } from '../workflow.js';
import { isObj, type Report } from './context.js';

export function checkApplyConcurrency(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  const wfConcurrency = wf.value.concurrency;
  for (const j of facts.jobs) {
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
}

/** A concurrency group whose expressions read the run's own id, number or attempt. */
function perRun(group: string): boolean {
  for (const m of group.matchAll(EXPRESSION)) if (/run_(?:id|number|attempt)\b/i.test(m[1]!)) return true;
  return false;
}

function hasGroup(c: unknown): boolean {
  if (typeof c === 'string') return c.trim() !== '';
  return isObj(c) && typeof c.group === 'string' && c.group.trim() !== '';
}
