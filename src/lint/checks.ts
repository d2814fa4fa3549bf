/**
 * stateguard's own workflow rules (docs/architecture.md §9), run on a workflow that was read safely. Pure: no
 * file system, no @actions/*. The facts of the workflow are built once (src/lint/facts.ts); each rule is a file
 * of src/lint/rules/ that reads them and reports on the line of the value it objects to. Malformed shapes
 * (already reported by the schema rule) are skipped, never thrown on.
 */
import type { Problem } from './rules.js';
import { workflowFacts } from './facts.js';
import { taintFlow } from './taint.js';
import type { WorkflowFile } from './workflow.js';
import { reporter } from './rules/context.js';
import { checkActionPins } from './rules/action-not-pinned.js';
import { checkApplyAutomaticTrigger } from './rules/apply-automatic-trigger.js';
import { checkApplyConcurrency } from './rules/apply-concurrency.js';
import { checkApplyInputHardcoded } from './rules/apply-input-hardcoded.js';
import { checkComposeVolumeRemoval } from './rules/compose-volume-removal.js';
import { checkDispatchConsentPrefilled } from './rules/dispatch-consent-prefilled.js';
import { checkDispatchInputUnsafe } from './rules/dispatch-input-unsafe.js';
import { checkEnvFileInjection } from './rules/env-file-injection.js';
import { checkGateContinueOnError } from './rules/gate-continue-on-error.js';
import { checkPermissions } from './rules/permissions.js';
import { checkRestoreConfirmDerived } from './rules/restore-confirm-derived.js';
import { checkScriptInjection } from './rules/script-injection.js';
import { checkUntrustedCheckout } from './rules/untrusted-checkout.js';

export function checkWorkflow(wf: WorkflowFile): Problem[] {
  const problems: Problem[] = [];
  const report = reporter(wf.file, problems);
  const facts = workflowFacts(wf);

  checkApplyAutomaticTrigger(facts, report); // SG101
  // SG108 before SG102: a confirm it reports is not also reported by SG102 (the more precise reason).
  const derived = checkRestoreConfirmDerived(facts, report); // SG108
  checkApplyInputHardcoded(facts, derived, report); // SG102
  checkDispatchInputUnsafe(wf, facts, report); // SG103
  checkApplyConcurrency(wf, facts, report); // SG104
  checkGateContinueOnError(wf, facts, report); // SG105
  checkComposeVolumeRemoval(wf, facts, report); // SG106
  checkDispatchConsentPrefilled(wf, facts, report); // SG107

  // The taint flow (src/lint/taint.ts) is computed once and read by SG201 and SG204.
  const flow = taintFlow(wf.value);
  checkScriptInjection(wf, facts, flow, report); // SG201

  // SG204 (lint-taint): attacker data written to $GITHUB_ENV/$GITHUB_OUTPUT/$GITHUB_PATH under a privileged trigger.
  checkEnvFileInjection(
    facts.triggers,
    facts.steps.map((s) => ({
      jobId: s.jobId,
      index: s.index,
      step: s.step,
      runPath: [...s.path, 'run'],
      scope: flow.stepScope(s.jobId, s.index),
    })),
    (path, offset, needle) => wf.positionInValue(path, offset, needle),
    (pos, message) => report('SG204', pos, message),
  );

  checkPermissions(wf, facts, report); // SG202
  checkUntrustedCheckout(wf, facts, report); // SG203
  checkActionPins(wf, facts, report); // SG301
  return problems;
}
