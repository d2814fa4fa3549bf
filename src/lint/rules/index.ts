/**
 * The rules of issue 29's repository part (docs/architecture.md §9), one per file in this directory
 * (beside the workflow rules, which src/lint/checks.ts runs on the facts of src/lint/facts.ts):
 * local composite actions followed (SG003, and SG201/SG106 through them), pull request code fetched
 * in a privileged `run:` (SG203), stateful services changed outside stateguard (SG109), modules the
 * repository does not declare (SG110) and placeholder pins (SG111).
 */
import type { Problem } from '../rules.js';
import type { WorkflowFile } from '../workflow.js';
import { reporter, stepsOf, triggersOf, workflowRunSites, type RepoContext } from './context.js';
import { followLocalActions } from './local-actions.js';
import { checkPlaceholderPins } from './placeholder-pin.js';
import { checkPrCodeFetch } from './pr-code-fetch.js';
import { checkStatefulOutside } from './stateful-outside.js';
import { checkUnknownModules } from './unknown-module.js';

export type { RepoContext } from './context.js';
export { readRepoModules } from './modules.js';

export function checkRepository(wf: WorkflowFile, ctx: RepoContext): Problem[] {
  const problems: Problem[] = [];
  const report = reporter(wf.file, problems);
  const triggers = triggersOf(wf.value.on);
  const steps = stepsOf(wf);
  const sites = workflowRunSites(wf);
  if (ctx.root !== undefined) sites.push(...followLocalActions(wf, ctx.root, steps, report));
  checkPrCodeFetch(triggers, sites, report);
  if (ctx.root !== undefined && ctx.modules !== undefined) {
    checkStatefulOutside(ctx.root, ctx.modules, triggers, sites, report);
    checkUnknownModules(ctx.modules, steps, sites, (s) => wf.at([...s.path, 'uses']), report);
  }
  checkPlaceholderPins(wf, steps, report);
  return problems;
}
