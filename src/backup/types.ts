/**
 * verify-backup's shapes (DESIGN §5). Shared contract between verify-backup (producer), guard and
 * apply (consumers) and snapshot (whose output verify-backup must accept).
 */

/** Stable problem codes: workflows and tests match on these, never on message text. */
export type BackupProblemCode =
  | 'no-backup-root'
  | 'outside-backup-root'
  | 'not-found'
  | 'unreadable'
  | 'not-a-regular-file'
  | 'empty-file'
  | 'bad-name'
  | 'wrong-module'
  | 'bad-stamp'
  | 'stamp-in-future'
  | 'too-old'
  | 'checksum-mismatch'
  | 'checksum-unreadable'
  | 'gzip-corrupt'
  | 'tar-corrupt'
  | 'truncated'
  | 'unsafe-path'
  | 'forbidden-entry-type'
  | 'no-entries'
  | 'too-many-entries'
  | 'too-large'
  | 'parser-warning'
  /** the module declares no `backup:` section, so no archive can be accepted for it */
  | 'no-backup-config'
  /** a PAX/GNU extension header that is malformed, oversized or could be read two ways */
  | 'unsupported-header';

export interface BackupProblem {
  code: BackupProblemCode;
  message: string;
  /** the archive entry concerned, when there is one (sanitised for printing) */
  entry?: string;
}

export interface BackupReport {
  verified: boolean;
  path: string;
  sha256: string | null;
  bytes: number | null;
  uncompressed_bytes: number | null;
  entries: number | null;
  created_at: string | null;
  matched_module: string | null;
  problems: BackupProblem[];
}
