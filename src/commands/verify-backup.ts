/** `stateguard verify-backup` — not implemented yet (its issue has not landed). */
import { notImplemented } from './not-implemented.js';
import { FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const verifyBackupCommand = notImplemented(
  'verify-backup',
  'Verify a backup archive as untrusted input: location, name, age, checksum, and every entry, without extracting it.',
  [
    ROOT_INPUT, MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module the backup must cover.' },
    { name: 'backup-ref', kind: 'string', required: true, description: 'Path of the .tar.gz backup.' },
    { name: 'backup-root', kind: 'list', description: 'Allowed backup directories (repeatable; one per line in the action). None means refuse.' },
    { name: 'max-uncompressed-bytes', kind: 'size', default: '64G', description: 'Stop and reject past this many uncompressed bytes (K/M/G suffixes).' },
    { name: 'max-entries', kind: 'integer', default: '1000000', description: 'Stop and reject past this many archive entries.' },
    JSON_INPUT,
  ] as const,
  [
    { name: 'verified', description: "'true' when the backup passed every check." },
    { name: 'sha256', description: 'sha256 of the archive file.' },
    { name: 'bytes', description: 'Size of the archive file.' },
    { name: 'entries', description: 'Number of entries in the archive.' },
    FAILURE_REASON_OUTPUT,
  ],
);
