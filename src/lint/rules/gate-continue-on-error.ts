/**
 * SG105 gate-continue-on-error (docs/rules.md SG105, docs/architecture.md §9): the steps that exist to
 * say no (and the jobs holding them) never continue on error.
 */
import type { WorkflowFacts } from '../facts.js';
import type { WorkflowFile } from '../workflow.js';
import type { Report } from './context.js';

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

export function checkGateContinueOnError(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  for (const j of facts.jobs) {
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
}
