/**
 * What an upgrade goes from (docs/architecture.md §13): the one function that plan's pending upgrade and
 * upgrade's rule both call, with the same inputs read from the engine, so the plan predicts exactly what
 * upgrade decides.
 *
 * The running container's image ID is what counts:
 * - it equals the target's image ID: no version change (`bump: none`, never held, no release notes read:
 *   the image that runs is the one declared; only the reference differs, e.g. a rolled-back service runs
 *   the pinned tag of the version declared again);
 * - it equals the last-known-good record's image ID: the upgrade goes from the reference that record names.
 *   Before it pins the previous image, upgrade records the running version as last-known-good when no
 *   record names its image ID yet, so after a rollback (the service runs `stateguard/pinned-…`) the
 *   version it stands for is still known and later patch upgrades classify against it;
 * - otherwise the running container's own reference.
 */
import { serviceReplicas } from '../drift/rules.js';
import type { ModuleDecl } from '../model/module.js';
import type { ContainerInfo, LastKnownGood } from '../ports.js';
import { preDeployGate, type GateInput, type GateResult } from './gate.js';

export interface UpgradeSides {
  /** the service's containers as listed (one-off containers are ignored) */
  containers: readonly ContainerInfo[];
  /** the declared image reference and its image ID on the engine (null: not on the engine) */
  target: { ref: string; id: string | null };
  /** the service's last-known-good record (null: none) */
  lastKnownGood: LastKnownGood | null;
}

export interface UpgradeFrom {
  /** the reference the running image stands for */
  ref: string;
  /** the running image ID ('' when the engine did not say) */
  id: string;
  /** every replica runs the target's image (same ID): no version change */
  sameImage: boolean;
  /** why `ref` is not the running container's own reference (null when it is) */
  note: string | null;
}

/** Where the upgrade goes from; null when no container of the service runs an image reference. */
export function upgradeFrom(sides: UpgradeSides): UpgradeFrom | null {
  const replicas = serviceReplicas(sides.containers);
  const first = replicas[0];
  if (!first || !first.imageRef) return null;
  const id = first.imageId;
  const sameImage = sides.target.id !== null && id !== '' && replicas.every((c) => c.imageId === sides.target.id);
  const lkg = sides.lastKnownGood;
  if (lkg && id !== '' && lkg.image_id === id && lkg.image_ref !== '' && lkg.image_ref !== first.imageRef) {
    return {
      ref: lkg.image_ref,
      id,
      sameImage,
      note: `the running image ${first.imageRef} is last-known-good ${lkg.image_ref} (same image ID)`,
    };
  }
  return { ref: first.imageRef, id, sameImage, note: null };
}

/** The pre-deploy gate on the engine's facts: from where the running image stands, to the target. */
export function upgradeGate(
  module: Pick<ModuleDecl, 'name' | 'upgrade'>,
  sides: UpgradeSides,
  opts: Pick<GateInput, 'allowMajor' | 'readFile' | 'root' | 'ackMigration'>,
): { from: UpgradeFrom; gate: GateResult } | null {
  const from = upgradeFrom(sides);
  if (!from) return null;
  const gate = preDeployGate({
    module,
    fromRef: from.ref,
    toRef: sides.target.ref,
    allowMajor: opts.allowMajor,
    readFile: opts.readFile,
    ...(opts.root !== undefined ? { root: opts.root } : {}),
    ...(opts.ackMigration !== undefined ? { ackMigration: opts.ackMigration } : {}),
    sameImage: from.sameImage,
  });
  return { from, gate };
}
