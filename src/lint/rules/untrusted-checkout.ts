/**
 * SG203 untrusted-checkout, the `actions/checkout` form (docs/rules.md SG203, docs/architecture.md §9):
 * a privileged trigger with a checkout of the pull request's head. The form that fetches it in a
 * `run:` is src/lint/rules/pr-code-fetch.ts.
 */
import type { WorkflowFacts } from '../facts.js';
import type { WorkflowFile } from '../workflow.js';
import { isObj, privilegedOf, type Report } from './context.js';

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

export function checkUntrustedCheckout(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  const { triggers, steps: allSteps } = facts;
  const privileged = privilegedOf(triggers);
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
}
