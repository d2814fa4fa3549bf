/** `stateguard snapshot` — not implemented yet (its issue has not landed). */
import { notImplemented } from './not-implemented.js';
import { FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

export const snapshotCommand = notImplemented(
  'snapshot',
  "Snapshot a module's declared data volumes while its containers are stopped, then start them again.",
  [
    ROOT_INPUT, MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module to snapshot.' },
    { name: 'out-dir', kind: 'string', required: true, description: 'Directory that receives <module>-<stamp>.tar.gz and its .sha256.' },
    JSON_INPUT,
  ] as const,
  [
    { name: 'backup-ref', description: 'Path of the written archive (feed it to backup-ref).' },
    { name: 'sha256', description: 'sha256 of the archive.' },
    { name: 'bytes', description: 'Size of the archive.' },
    FAILURE_REASON_OUTPUT,
  ],
);
