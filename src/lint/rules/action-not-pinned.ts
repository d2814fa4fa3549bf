/**
 * SG301 action-not-pinned (docs/rules.md SG301, docs/architecture.md §9): every action and reusable
 * workflow pinned to a commit SHA, every docker action to an image digest.
 */
import { parseUses, type WorkflowFacts } from '../facts.js';
import type { Path, WorkflowFile } from '../workflow.js';
import type { Report } from './context.js';

export function checkActionPins(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  const { jobs, steps: allSteps } = facts;
  const pinTargets: { path: Path; uses: string }[] = [];
  for (const j of jobs)
    if (typeof j.job.uses === 'string') pinTargets.push({ path: ['jobs', j.id, 'uses'], uses: j.job.uses });
  for (const s of allSteps)
    if (typeof s.step.uses === 'string') pinTargets.push({ path: [...s.path, 'uses'], uses: s.step.uses });
  for (const t of pinTargets) {
    const ref = parseUses(t.uses);
    if (ref.kind === 'local') continue;
    if (ref.kind === 'docker') {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref.path))
        report(
          'SG301',
          wf.at(t.path),
          `'${t.uses}' is not pinned to an image digest; use docker://image@sha256:<digest>`,
        );
      continue;
    }
    if (ref.kind === 'remote' && /^[0-9a-f]{40}$/.test(ref.ref!)) continue;
    report(
      'SG301',
      wf.at(t.path),
      `'${t.uses}' is not pinned to a full commit SHA; use ` +
        `${ref.kind === 'remote' ? `${ref.owner}/${ref.repo}${ref.path ? `/${ref.path}` : ''}` : '<owner>/<repo>'}` +
        `@<40-hex-sha> # ${ref.ref ?? 'tag'}`,
    );
  }
}
