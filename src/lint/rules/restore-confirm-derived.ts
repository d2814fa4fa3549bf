/**
 * SG108 restore-confirm-derived (docs/rules.md SG108, docs/architecture.md §9): the confirm of a
 * restore computed from the backup it restores (src/lint/derived.ts follows what a value reads).
 */
import { describeOrigin, sharedOrigin, shellOrigins, valueOrigins, type Origin } from '../derived.js';
import { RESTORE_CONFIRM_INPUT, ROLE_NAMES, type Sink, type WorkflowFacts } from '../facts.js';
import type { Report } from './context.js';

/**
 * A restore's confirm is the backup's file name typed by the operator, separately from the
 * backup reference; computed from that reference it confirms nothing. A sink reported here is not
 * also reported by SG102: this is the more precise reason.
 * Returns the sinks it reported, for SG102 (src/lint/rules/apply-input-hardcoded.ts) to skip.
 */
export function checkRestoreConfirmDerived(facts: WorkflowFacts, report: Report): ReadonlySet<Sink> {
  const allInvocations = facts.invocations;
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
  return derived;
}
