/**
 * The request, dependencies and outcome of `stateguard restore` (docs/architecture.md §12): shared by
 * the rule (./evaluate.ts) and the orchestration (./restore.ts).
 */
import type { BackupReport } from '../backup/types.js';
import type { GuardReason } from '../guard/decide.js';
import type { GuardDeps, GuardRequest } from '../guard/evaluate.js';
import type { GuardedDeps, GuardedOutcome, OperationRequest } from '../ops/guarded.js';
import type { DryRunFields } from '../ops/dry-run.js';
import type { CrashHook } from '../ops/steps.js';

/**
 * A restore's request: what every operation is asked, and restore's own consent and backup inputs
 * (the guard's, less its confirm token: restore's confirm is the backup's file name, §12).
 */
export interface RestoreRequest extends OperationRequest, Omit<GuardRequest, 'confirmToken'> {
  helperImage: string | undefined;
  /** where the pre-restore snapshot goes (default: the backup's directory) */
  outDir: string | undefined;
  readyTimeoutSeconds: number;
  /** check everything, touch nothing, say what would happen (docs/architecture.md §12, "Dry runs") */
  dryRun?: boolean;
  /** at most one progress line per this many milliseconds during the long copies (default 5000, §7) */
  progressIntervalMs?: number;
}

export interface RestoreDeps extends GuardedDeps, GuardDeps {
  crash?: CrashHook;
  sleep?: (ms: number) => Promise<void>;
}

export interface RestoreOutcome extends GuardedOutcome<'restored' | 'would-restore'>, DryRunFields {
  decision: 'restored' | 'would-restore' | 'blocked' | 'failed';
  backup: BackupReport | null;
  pre_restore_snapshot: string | null;
  volumes: { volume: string; entries: number; bytes: number }[];
  /** every reason it did not restore (the guard's, or the one failure) */
  reasons: GuardReason[];
  helper_image: string | null;
  /** true when a started restore put the old data back (before or after commit) */
  reverted: boolean;
  /**
   * what every volume holds at the end, from what the steps did (docs/architecture.md §12): `old`,
   * `backup`, or null when the data was not touched (refused, or the journal is kept for recover)
   */
  data: 'old' | 'backup' | null;
  /** ms from the stop to the service running again; null when nothing was stopped (§7, "Downtime and progress") */
  downtime_ms: number | null;
  /**
   * The image the backup's data was written by, from its manifest (docs/architecture.md §16), and
   * whether the module's container runs another one now: data of another version going back is
   * said, not refused. null when unknown (no backup, or a legacy archive).
   */
  backup_image: { ref: string; id: string; differs_from_running: boolean } | null;
  /** the warning said when `backup_image` differs from the running image */
  backup_image_note?: string;
}
