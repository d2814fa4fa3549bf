/**
 * verify-backup's shapes (docs/architecture.md §5). Shared contract between verify-backup (producer), guard and
 * apply (consumers) and snapshot (whose output verify-backup must accept).
 */

import type { ArchiveKind } from './names.js';
import type { Manifest } from './manifest.js';

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
  /** a PAX/GNU extension header that is malformed, oversized, not understood or could be read two ways */
  | 'unsupported-header'
  /**
   * a ustar header restorers read differently: magic/version neither exact POSIX nor exact GNU, a
   * prefix outside POSIX ustar, a numeric field that is not plain octal, a regular file named with a
   * trailing '/', a directory with a body, a PAX size that disagrees with the header's size
   */
  | 'ambiguous-header'
  /** a single zero block followed by more entries: restorers stop there */
  | 'lone-zero-block'
  /** a name (name, prefix, PAX path or GNU long name) that is not valid UTF-8 */
  | 'bad-encoding'
  /** the same name twice (after NFC and `./`, `//`, trailing `/` are normalised) */
  | 'duplicate-entry'
  /** a path that is both a file and a directory, or a file whose parent is a file */
  | 'path-conflict'
  /** entries, but no regular file (only directories, or only '.') */
  | 'no-files'
  /** the top level is not exactly the matched module's declared data volumes */
  | 'layout-mismatch'
  /** the module the backup's name matched declares no data volumes, so no archive has its layout */
  | 'no-data-volumes'
  /** an entry `<volume>/.stateguard-restore[/…]`: restore's reserved work-area name (restore could not put it back) */
  | 'reserved-name'
  /** a name segment longer than 255 bytes or a path longer than 4096 bytes: no filesystem takes it */
  | 'name-too-long'
  // ---- provenance (docs/architecture.md §16) ----
  /** no `.stateguard/manifest.json` first entry (an archive not written by stateguard, or an old one) */
  | 'no-manifest'
  /** a manifest that is too large, not strict canonical JSON of the known format, or misplaced */
  | 'manifest-invalid'
  /** the manifest names another module than the file name, or one that does not cover this module */
  | 'manifest-wrong-module'
  /** the manifest names another compose project / stack (or runtime) than the module declares */
  | 'manifest-wrong-project'
  /** the manifest's stamp or kind differs from the file name's: a renamed archive */
  | 'manifest-mismatch'
  /** the manifest's volumes are not the declared data volumes */
  | 'manifest-volumes'
  /** a volume's entry count or byte total differs from what the walk saw: changed after writing */
  | 'manifest-counts'
  /** bytes or entries fell by more than --max-shrink-percent against the newest earlier backup */
  | 'backup-shrank';

export interface BackupProblem {
  code: BackupProblemCode;
  message: string;
  /** the archive entry concerned, when there is one (sanitised for printing) */
  entry?: string;
}

/**
 * Something verify-backup accepts but restore changes, said before anything is restored
 * (docs/architecture.md §5, §12): `setid-stripped` — a regular file with the setuid or setgid bit,
 * restored without it.
 */
export interface BackupWarning {
  /**
   * `legacy-archive`: no manifest, accepted with --allow-legacy-archive (what was not checked is
   * listed); `shrink-allowed`: the backup shrank past the limit, accepted with --allow-shrink
   * (docs/architecture.md §16).
   */
  code: 'setid-stripped' | 'legacy-archive' | 'shrink-allowed';
  message: string;
  /** the archive entry concerned (sanitised for printing) */
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
  /**
   * what the name says the archive is (docs/architecture.md §7): 'backup' (`<module>-<stamp>.tar.gz`), or a
   * safety copy restore or upgrade wrote before changing anything ('pre-restore', 'pre-upgrade');
   * null when the name is not one of ours. Always set by verifyBackup.
   */
  kind?: ArchiveKind | null;
  /**
   * 'matched': a `.sha256` beside the archive names it and equals its sha256; 'absent': there is
   * none, so integrity was not checked against anything independent of the file; null: not
   * reached or not verified (a mismatch or an unreadable `.sha256` is also a problem).
   */
  checksum: 'matched' | 'absent' | null;
  problems: BackupProblem[];
  /** what restore will change in what the archive says (empty when nothing); never a reason to refuse */
  warnings: BackupWarning[];
  /**
   * The provenance manifest as read (docs/architecture.md §16): module, project, image, engine, the
   * counts recorded when it was written. null when there is none or it could not be read. Always
   * set by verifyBackup.
   */
  manifest?: Manifest | null;
  /**
   * The backup the shrink hold compared with (its file name and totals), or null when there was no
   * earlier backup with a manifest beside it. Always set by verifyBackup.
   */
  shrink_against?: { file: string; bytes: number; entries: number } | null;
}
