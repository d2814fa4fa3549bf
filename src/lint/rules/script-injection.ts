/**
 * SG201 script-injection (docs/rules.md SG201, docs/architecture.md §9): attacker data interpolated
 * into run: and into inputs that are code (src/lint/code-inputs.ts), read from the expression's AST;
 * taint flows through env:, step and job outputs and matrices, and values that cannot carry a payload
 * are not taint (src/lint/taint.ts).
 */
import { codeInputsOf } from '../code-inputs.js';
import { EXPRESSION } from '../expressions.js';
import type { WorkflowFacts } from '../facts.js';
import { taintedReads, type TaintFlow } from '../taint.js';
import type { Path, WorkflowFile } from '../workflow.js';
import type { Report } from './context.js';

export function checkScriptInjection(wf: WorkflowFile, facts: WorkflowFacts, flow: TaintFlow, report: Report): void {
  for (const j of facts.jobs) {
    for (const s of j.steps) {
      const scope = flow.stepScope(j.id, s.index);
      const targets: { path: Path; text: string; what: string }[] = [];
      if (typeof s.step.run === 'string')
        targets.push({ path: [...s.path, 'run'], text: s.step.run, what: 'a run: script' });
      for (const c of codeInputsOf(s.step))
        targets.push({
          path: [...s.path, 'with', c.entry.input],
          text: c.text,
          what: `the '${c.entry.input}' input of ${c.entry.action} (run as ${c.entry.language})`,
        });
      for (const t of targets) {
        if (!t.text.includes('${{')) continue;
        let k = 0;
        for (const m of t.text.matchAll(EXPRESSION)) {
          const reads = taintedReads(m[1]!, scope);
          if (reads.length > 0) {
            report(
              'SG201',
              wf.positionInScalar(t.path, EXPRESSION, k),
              `\${{${m[1]!.replace(/\s+/g, ' ')}}} is interpolated into ` +
                `${t.what} of step ${s.index + 1} in job '${s.jobId}' (script injection: it reads ` +
                `${reads.join(', ').replace(/\s+/g, ' ')}); pass it through env: and use the variable instead`,
            );
          }
          k++;
        }
      }
    }
  }
}
