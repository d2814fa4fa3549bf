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
  /** for container.state.exited_success: which case (no-container, exited-nonzero, never-started, dead, running, stale-config) */
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
