/** `stateguard lint-workflows` — not implemented yet (its issue has not landed). */
import { notImplemented } from './not-implemented.js';
import { FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const lintWorkflowsCommand = notImplemented(
  'lint-workflows',
  'Lint the workflows that drive stateful changes.',
  [
    { name: 'paths', kind: 'list', positional: true, description: 'Workflow files or directories (default: .github/workflows, .forgejo/workflows, .gitea/workflows, workflows).' },
    { name: 'format', kind: 'choice', choices: ['text', 'json', 'sarif'], default: 'text', description: 'Output format.' },
  ] as const,
  [
    { name: 'errors', description: 'Number of errors.' },
    { name: 'warnings', description: 'Number of warnings.' },
    FAILURE_REASON_OUTPUT,
  ],
);
