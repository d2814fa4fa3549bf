/**
 * The plan's shapes (DESIGN §3). Shared contract between plan (producer) and guard/apply
 * (consumers). `schema/plan.schema.json` describes the same JSON.
 */
import type { ExpectedState, ModuleClass } from '../model/module.js';

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
   * - container.image: reference-changed, tag-repointed (same tag, another image ID), image-not-present
   */
  reason?: string;
  /** for container.image */
  bump?: SemverBump;
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
  compose: { project: string; service: string; file: string };
  observed: ObservedContainer;
  drift: DriftItem[];
  in_sync: boolean;
}

export interface Plan {
  schema: 'stateguard/plan/v1';
  modules: ModulePlan[];
  summary: { modules: number; drifted: number };
  plan_hash: string;
}
