/** `stateguard guard` — not implemented yet (its issue has not landed). */
import { notImplemented } from './not-implemented.js';
import { FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const guardCommand = notImplemented(
  'guard',
  'Decide whether a module may be applied: allowed, no-op or blocked, with every reason.',
  [
    ROOT_INPUT, MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module to decide on.' },
    { name: 'allow-stateful', kind: 'boolean', default: 'false', description: "Must be exactly 'true' to change a stateful or sidecar module." },
    { name: 'backup-ref', kind: 'string', description: 'Path of the verified backup that covers the module.' },
    { name: 'backup-root', kind: 'list', description: 'Allowed backup directories (repeatable; one per line in the action).' },
    { name: 'confirm', kind: 'string', description: 'Must equal confirm-token exactly.' },
    { name: 'confirm-token', kind: 'string', default: 'BACKUP_DONE', description: 'The confirmation token this repo uses.' },
    JSON_INPUT,
  ] as const,
  [
    { name: 'decision', description: 'allowed, no-op or blocked.' },
    { name: 'reasons', description: 'JSON array of every failed condition.' },
    FAILURE_REASON_OUTPUT,
  ],
);
