/**
 * SG202 permissions (docs/rules.md SG202, docs/architecture.md §9): a least-privilege token, declared
 * at the top level, never `write-all`.
 */
import type { WorkflowFacts } from '../facts.js';
import type { WorkflowFile } from '../workflow.js';
import type { Report } from './context.js';

export function checkPermissions(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  const root = wf.value;
  if (!('permissions' in root)) {
    report(
      'SG202',
      { line: 1, column: 1 },
      "the workflow has no top-level 'permissions'; declare the least it needs, e.g. 'permissions: { contents: read }'",
    );
  } else if (root.permissions === 'write-all') {
    report(
      'SG202',
      wf.at(['permissions']),
      "top-level 'permissions: write-all' grants every scope; list only what the workflow needs",
    );
  }
  for (const j of facts.jobs) {
    if (j.job.permissions === 'write-all') {
      report(
        'SG202',
        wf.at(['jobs', j.id, 'permissions']),
        `job '${j.id}' has 'permissions: write-all'; list only what the job needs`,
      );
    }
  }
}
