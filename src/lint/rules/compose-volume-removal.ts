/**
 * SG106 compose-volume-removal (docs/rules.md SG106, docs/architecture.md §9): volume-destroying
 * docker commands in any `run:` of any workflow, read the way a shell reads them (src/lint/shell.ts).
 */
import type { WorkflowFacts } from '../facts.js';
import { volumeRemoval } from '../shell.js';
import type { WorkflowFile } from '../workflow.js';
import type { Report } from './context.js';

export function checkComposeVolumeRemoval(wf: WorkflowFile, facts: WorkflowFacts, report: Report): void {
  for (const s of facts.steps) {
    for (const c of s.commands) {
      const effect = volumeRemoval(c.argv);
      if (!effect) continue;
      const first = c.argv[0]!;
      report(
        'SG106',
        wf.positionInValue([...s.path, 'run'], first.start, first.text),
        `'${c.argv.map((w) => w.text).join(' ')}' in step ${s.index + 1} of job '${s.jobId}' ${effect}: the data ` +
          `stateguard protects; drop the flag, and change stateful services only through stateguard`,
      );
    }
  }
}
