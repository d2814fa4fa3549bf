/**
 * SG111 placeholder-pin (docs/rules.md SG111, docs/architecture.md §9): `uses: …@` followed by forty
 * zeros. The ready-to-copy templates (workflows/) carry that placeholder on purpose, with a comment
 * telling the user to pin the release they audited; a workflow in a directory the runner reads
 * (`.github/workflows`, `.forgejo/workflows`, `.gitea/workflows`) that still has it fails at run
 * time. So the rule applies to those directories, and a template elsewhere is linted as a template.
 */
import type { Path, WorkflowFile } from '../workflow.js';
import { isObj, type Report, type WorkflowStep } from './context.js';

export const PLACEHOLDER_PIN = /@0{40}$/;
/** A file the runner reads as a workflow (its display path, relative to the repository). */
export const RUNNER_DIR = /(?:^|\/)\.(?:github|forgejo|gitea)\/workflows\/[^/]+$/i;

export function checkPlaceholderPins(wf: WorkflowFile, steps: readonly WorkflowStep[], report: Report): void {
  if (!RUNNER_DIR.test(wf.file.replace(/\\/g, '/'))) return;
  const targets: { path: Path; uses: string }[] = [];
  const jobs = wf.value.jobs;
  if (isObj(jobs))
    for (const [id, job] of Object.entries(jobs))
      if (isObj(job) && typeof job.uses === 'string') targets.push({ path: ['jobs', id, 'uses'], uses: job.uses });
  for (const s of steps)
    if (typeof s.step.uses === 'string') targets.push({ path: [...s.path, 'uses'], uses: s.step.uses });
  for (const t of targets) {
    if (!PLACEHOLDER_PIN.test(t.uses.trim())) continue;
    report(
      'SG111',
      wf.at(t.path),
      `'${t.uses.trim()}' is pinned to the placeholder commit (forty zeros), which does not exist: the runner ` +
        `cannot fetch it; replace it with the commit SHA of the release you audited`,
    );
  }
}
