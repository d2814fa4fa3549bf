/**
 * SG107 dispatch-consent-prefilled (docs/rules.md SG107, docs/architecture.md §9): a workflow with an
 * automatic trigger dispatching a workflow with consent filled in (`gh`, `curl`, actions/github-script).
 */
import type { WorkflowFacts } from '../facts.js';
import { consentInText, dispatchWithConsent } from '../shell.js';
import type { WorkflowFile } from '../workflow.js';
import { isObj, type Obj, type Report } from './context.js';

export function checkDispatchConsentPrefilled(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  const { automatic, steps: allSteps } = facts;
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
