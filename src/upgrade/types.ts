/**
 * The request, dependencies and outcome of `stateguard upgrade` (docs/architecture.md §13): shared by
 * the rule (./evaluate.ts), the pinned-image retention (./pinned-images.ts) and the orchestration
 * (./upgrade.ts).
 */
import type { GuardReason } from '../guard/decide.js';
import type { GuardDeps } from '../guard/evaluate.js';
import type { GuardedDeps, GuardedOutcome, OperationRequest } from '../ops/guarded.js';
import type { DryRunFields } from '../ops/dry-run.js';
import type { LastKnownGood } from '../ports.js';
import type { CrashHook } from '../ops/steps.js';
import type { GateResult } from './gate.js';

/**
 * An upgrade's request: what every operation is asked, and upgrade's own consent (no backup: the
 * pre-upgrade snapshot is taken by the upgrade itself, §13).
 */
export interface UpgradeRequest extends OperationRequest {
  allowStateful: boolean;
  confirm: string | undefined;
  /** the word `confirm` must equal exactly */
  confirmToken: string;
  allowMajor: boolean;
  outDir: string;
  helperImage: string | undefined;
  healthTimeoutSeconds: number | undefined;
  settleSeconds: number | undefined;
  /** the repo root: release notes must resolve inside it */
  root?: string;
  /** lifts a manual-migration hold for exactly this target version (docs/architecture.md §13, "Acknowledging") */
  ackMigration?: string;
  /** check everything, touch nothing, say what would happen (docs/architecture.md §13, "Dry runs") */
  dryRun?: boolean;
  /** at most one progress line per this many milliseconds during the long copies (default 5000, §7) */
  progressIntervalMs?: number;
}

export interface UpgradeDeps extends GuardedDeps, GuardDeps {
  crash?: CrashHook;
  sleep?: (ms: number) => Promise<void>;
  /** reads a release-notes file: null when missing; throws when not a regular file or unreadable (held) */
  readFile?: (file: string) => string | null;
  /** health-gate poll interval (tests pass a small one) */
  pollMs?: number;
}

export interface UpgradeOutcome
  extends GuardedOutcome<'upgraded' | 'held' | 'rolled-back' | 'would-upgrade'>, DryRunFields {
  decision: 'upgraded' | 'held' | 'rolled-back' | 'would-upgrade' | 'blocked' | 'failed';
  /** the version whose manual-migration hold ack-migration lifted (null: none) */
  acknowledged_migration: string | null;
  from: { image: string | null; image_id: string | null };
  to: { image: string | null; image_id: string | null };
  bump: string | null;
  snapshot: string | null;
  release_notes: GateResult['release_notes'];
  pinned_image: string | null;
  /** older pinned image tags of this module removed after a successful upgrade (by tag) */
  removed_pinned_images: string[];
  last_known_good: LastKnownGood | null;
  reasons: GuardReason[];
  /** ms from the stop to the service (new or rolled back) running again; null when nothing was stopped (§7) */
  downtime_ms: number | null;
}
