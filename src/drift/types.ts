/**
 * The plan's shapes (docs/architecture.md §3). Shared contract between plan (producer) and guard/apply
 * (consumers). `schema/plan.schema.json` describes the same JSON.
 */
import type { ExpectedState, ModuleClass } from '../model/module.js';
import type { ComposeInfo } from '../ports.js';

/** The closed drift vocabulary. */
export type DriftKey =
  | 'container.missing'
  | 'container.config'
  | 'container.state.running'
  | 'container.health'
  | 'container.image'
  | 'container.state.exited_success';

export const DRIFT_KEYS: readonly DriftKey[] = [
  'container.missing',
  'container.config',
  'container.state.running',
  'container.health',
  'container.image',
  'container.state.exited_success',
];

export type SemverBump = 'patch' | 'minor' | 'major' | 'unknown';

export interface DriftItem {
  key: DriftKey;
  /** what the repo declares, rendered short (e.g. "exited (0)", "stateguard/busybox:1.1.0") */
  declared: string;
  /** what the engine shows (e.g. "exited (1)", "missing") */
  observed: string;
  /**
   * Which case:
   * - container.state.exited_success: no-container, exited-nonzero, never-started, dead, running, stale-config
   * - container.config: compose-version (created by another compose version than the planning one)
   * - container.image: reference-changed, tag-repointed (same tag, another image ID), image-not-present,
   *   unverifiable (a one-shot with no container and no stateguard record of a successful run)
   */
  reason?: string;
  /** for container.image */
  bump?: SemverBump;
  /**
   * container.config (and a one-shot's stale-config): what differs, field by field — `command`,
   * `environment DB_HOST (1a2b3c4d → 5e6f7a8b)` — never a value. Empty when the hashes differ but
   * no compared field does (then the hash is still the verdict).
   */
  fields?: string[];
  /**
   * The module's drift allowlist (`spec.drift.allow`, docs/architecture.md §3 "Drift allowlist"): the
   * entries that name this item (for container.config: the item's fields they name), live or expired.
   * Absent when no entry names it.
   */
  allowances?: DriftAllowance[];
  /**
   * Present with `allowances`. true: every part of the item is covered by a live entry (for
   * container.config also proven the only difference), so it does not count: not for in_sync, the
   * drifted total, `--detailed-exitcode` nor the guard. false: it counts; `allowance_note` says why.
   */
  allowed?: boolean;
  /** why an item some entry names still counts (expired; fields not allowed; not proven) */
  allowance_note?: string;
}

/** One `spec.drift.allow` entry as it applied to a drift item. */
export interface DriftAllowance {
  reason: string;
  /** YYYY-MM-DD: the last UTC day the entry holds */
  until: string;
  /** container.config: the item's fields this entry names */
  fields?: string[];
  /** true: `until` is before the plan's UTC day; the entry no longer allows anything */
  expired: boolean;
}

export interface ObservedContainer {
  container_id: string | null;
  state: string;
  exit_code: number | null;
  image: string | null;
  health: string | null;
  /** present when compose runs several containers for the service (scale); the fields above describe the first */
  replicas?: number;
}

export interface ModulePlan {
  name: string;
  class: ModuleClass;
  expected_state: ExpectedState;
  /** present for a module on Docker Swarm: then compose.project is the stack and compose.file the stack file */
  runtime?: 'swarm';
  compose: { project: string; service: string; file: string };
  /** the module's declared definition as compose rendered it: what the module's plan_hash binds */
  declared: DeclaredDefinition;
  observed: ObservedContainer;
  drift: DriftItem[];
  in_sync: boolean;
  /**
   * sha256 of the canonical JSON of this module's name, drift AND declared definition: any edit of
   * the compose definition changes it even when the drift keys stay the same. apply, restore and
   * upgrade take this as --expected-plan-hash.
   */
  plan_hash: string;
  /** present for a stateful running module with container.image drift */
  upgrade?: PendingUpgrade;
  /**
   * The data side (docs/architecture.md §3, §12): present when a data volume holds a restore's work
   * area (`open`: an operation is open or was interrupted, journal or not; the module is then not in
   * sync and the guard blocks it, `interrupted-operation`) or when the volumes could not be looked at
   * (`could-not-check`: a warning, the plan goes on). Not a drift key: DESIGN §3's keys are a closed set.
   */
  interrupted_operation?: InterruptedOperation;
}

export interface InterruptedOperation {
  status: 'open' | 'could-not-check';
  /** the declared volumes holding a work area (open) */
  volumes: string[];
  message: string;
}

/**
 * A stateful running module whose image changes: what `stateguard upgrade` would do, per its pre-deploy
 * gate run with allow-major off (docs/architecture.md §13). Informational: not bound by plan_hash.
 */
export interface PendingUpgrade {
  /** the reference the running image stands for (docs/architecture.md §13) */
  from: string;
  to: string;
  /** none: the target is the image that runs already (same image ID) */
  bump: SemverBump | 'none';
  /** the gate would hold it: held-major or held-manual-migration ('' when it would proceed) */
  would_hold: '' | 'held-major' | 'held-manual-migration';
  message: string;
  /** path relative to the root; excerpt: the first lines, control characters stripped */
  release_notes: { path: string; flagged: string[]; excerpt: string } | null;
}

export interface DeclaredDefinition {
  /** the rendered image reference */
  image: string;
  /** the rendered service's config hash, as the planning compose computes it */
  config_hash: string;
}

export interface Plan {
  schema: 'stateguard/plan/v1';
  /** the compose CLI that rendered the declared side (`swarm` when every planned module is on Swarm) */
  compose: ComposeInfo;
  /** present when the plan also covers Swarm modules beside compose ones: the engine that rendered them */
  swarm?: ComposeInfo;
  modules: ModulePlan[];
  summary: { modules: number; drifted: number };
  /**
   * The planned modules of class stateful that declare data volumes: the ones a scheduled backup
   * snapshots (workflows/backup.yml takes it as a strategy.matrix). Not bound by any hash.
   */
  stateful_modules: string[];
  /** sha256 over every module's name and plan_hash: the whole plan (not what apply takes) */
  plan_hash: string;
  /**
   * Modules not planned because compose leaves their service out here (a profile COMPOSE_PROFILES does
   * not enable): the plan says so, by name, and exits 1 (docs/architecture.md §3).
   */
  refused?: Array<{ name: string; message: string }>;
}
