/** `stateguard plan` — not implemented yet (its issue has not landed). */
import { notImplemented } from './not-implemented.js';
import { FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const planCommand = notImplemented(
  'plan',
  'Plan the drift between the declared modules and the live engine.',
  [
    ROOT_INPUT, MODULES_INPUT,
    { name: 'module', kind: 'string', description: 'Plan only this module (default: every module).' },
    { name: 'out', kind: 'string', description: 'Also write the plan JSON to this file.' },
    { name: 'detailed-exitcode', kind: 'boolean', default: 'false', description: 'Exit 2 when drift is found (0 in sync).' },
    { name: 'github-token', kind: 'string', default: '${{ github.token }}', actionOnly: true, secret: true, description: 'Token used to post the sticky PR comment on pull_request events.' },
    { name: 'comment', kind: 'boolean', default: 'true', actionOnly: true, description: 'Post or update the sticky PR comment on pull_request events.' },
    JSON_INPUT,
  ] as const,
  [
    { name: 'changes', description: "'true' when any module drifted." },
    { name: 'drifted-modules', description: 'JSON array of drifted module names (usable as a strategy.matrix).' },
    { name: 'plan-json', description: 'Path of the written plan JSON file.' },
    { name: 'plan-hash', description: 'sha256 of the canonical drift; pass to apply as expected-plan-hash.' },
    FAILURE_REASON_OUTPUT,
  ],
);
