/** `stateguard apply` — not implemented yet (its issue has not landed). */
import { notImplemented } from './not-implemented.js';
import { FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const applyCommand = notImplemented(
  'apply',
  'Re-run a one-shot module until it exits 0, under a lock, after a fresh plan and guard.',
  [
    ROOT_INPUT, MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The one-shot module to apply.' },
    { name: 'allow-stateful', kind: 'boolean', default: 'false', description: "Must be exactly 'true' to change a stateful or sidecar module." },
    { name: 'backup-ref', kind: 'string', description: 'Path of the verified backup that covers the module.' },
    { name: 'backup-root', kind: 'list', description: 'Allowed backup directories (repeatable; one per line in the action).' },
    { name: 'confirm', kind: 'string', description: 'Must equal confirm-token exactly.' },
    { name: 'confirm-token', kind: 'string', default: 'BACKUP_DONE', description: 'The confirmation token this repo uses.' },
    { name: 'expected-plan-hash', kind: 'string', description: 'Refuse (plan-changed) when the fresh plan hash differs.' },
    JSON_INPUT,
  ] as const,
  [
    { name: 'exit-code', description: "The one-shot's exit code." },
    { name: 'container-id', description: 'ID of the container that ran.' },
    { name: 'duration-ms', description: 'How long the run took.' },
    FAILURE_REASON_OUTPUT,
  ],
);
