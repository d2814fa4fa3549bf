/**
 * The last touch on every lint-workflows message (docs/rules.md, docs/architecture.md §9): one line
 * (a raw newline, e.g. from GitHub's parser or a quoted script, would split the `file:line:col`
 * output and the job log annotation) ending in the rule's section of docs/rules.md, where its fix is.
 */
import { ruleById, type Problem, type RuleId } from './rules.js';

/** The GitHub anchor of a rule's section `## SG201 script-injection`: `sg201-script-injection`. */
export function ruleAnchor(id: RuleId): string {
  return `${id} ${ruleById(id).name}`.toLowerCase().replace(/\s+/g, '-');
}

export function finishMessage<P extends Problem>(p: P): P {
  const ref = `docs/rules.md#${ruleAnchor(p.rule)}`;
  const oneLine = p.message.replace(/\s*(?:\r\n|\r|\n|\u2028|\u2029)\s*/g, ' ').trim();
  return { ...p, message: oneLine.endsWith(`(${ref})`) ? oneLine : `${oneLine} (${ref})` };
}
