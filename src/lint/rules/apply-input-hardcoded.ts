/**
 * SG102 apply-input-hardcoded (docs/rules.md SG102, docs/architecture.md §9): the consent values of a
 * mutating call (allow-stateful, confirm, backup-ref) must come from workflow inputs, directly or
 * through env:.
 */
import { CONSENT, RESTORE_CONFIRM_INPUT, ROLE_NAMES, type Sink, type WorkflowFacts } from '../facts.js';
import type { Report } from './context.js';

/**
 * `derived`: the confirm sinks SG108 reported (src/lint/rules/restore-confirm-derived.ts, run first),
 * which are not reported again here: that is the more precise reason. A value from a workflow input
 * is SG103's to judge (src/lint/rules/dispatch-input-unsafe.ts).
 */
export function checkApplyInputHardcoded(facts: WorkflowFacts, derived: ReadonlySet<Sink>, report: Report): void {
  for (const inv of facts.invocations) {
    if (!CONSENT.has(inv.command)) continue;
    for (const sink of inv.sinks) {
      if (sink.source.kind === 'input' || derived.has(sink)) continue;
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
}
