/**
 * SG101 apply-automatic-trigger (docs/rules.md SG101, docs/architecture.md §9): a stateguard command
 * that changes or stops a stateful module, or deletes its backups, reachable from a trigger other
 * than `workflow_dispatch`.
 */
import { MUTATING, type WorkflowFacts } from '../facts.js';
import type { Report } from './context.js';

/** Routine backup work that `schedule` may run (never a push or a pull request): workflows/backup.yml. */
const SCHEDULE_OK = new Set(['snapshot', 'prune-backups']);

/**
 * A mutating stateguard command reachable from anything but workflow_dispatch. A snapshot
 * only stops and restarts the module to copy its volumes, and scheduled backups (with their
 * retention, prune-backups, which never deletes the newest verified one) are the point of having
 * them (workflows/backup.yml), so `schedule` may run them; a push or a pull request may not
 * (docs/rules.md, SG101).
 */
export function checkApplyAutomaticTrigger(facts: WorkflowFacts, report: Report): void {
  const { invocations: allInvocations, automatic, triggers } = facts;
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
}
