/**
 * An upgrade's rollback (docs/architecture.md §13): the pre-upgrade snapshot is put back through
 * restore's journaled machinery (§12) and the pinned previous image runs again. Data exactly as
 * before the upgrade — a migration the new version ran is undone — never a version-only rollback.
 *
 * The target is always the snapshot, so the rollback can be started again from the top after a
 * crash at any instant: whatever an interrupted attempt left in the work areas is dropped, the
 * snapshot is staged afresh and swapped in (the live content, whatever it is, goes to `old/`).
 */
import { listServiceContainers } from '../drift/containers.js';
import type { Journal } from '../restore/journal.js';
import { helperOf, markPhase, stageArchive, targetOf, type StepDeps } from '../restore/steps.js';
import { healthGate, type HealthGate } from './health.js';

export interface RollbackDeps extends StepDeps {
  gate: HealthGate;
}

/** Roll back; returns null when the previous version runs healthy on the restored data, else why not. */
export async function rollBack(j: Journal, deps: RollbackDeps): Promise<string | null> {
  const record = j.record;
  const helper = helperOf(record, j.key);
  if (!record.pre_restore_snapshot || !record.pinned_image) {
    throw new Error('the journal names no snapshot or no pinned image; nothing to roll back to');
  }
  await markPhase(j, 'rolling-back', deps);
  await deps.runtime.removeHelpers(j.key);
  const running = await listServiceContainers(deps.runtime, record);
  await deps.runtime.stop(running.filter((c) => c.state === 'running' || c.state === 'restarting').map((c) => c.id));
  deps.say(`stopped ${record.service}; putting the pre-upgrade snapshot back`);
  await deps.runtime.dropWorkArea(helper);
  await deps.runtime.prepareWorkArea(helper);
  const staged = await stageArchive(deps.runtime, helper, {
    path: record.pre_restore_snapshot,
    sha256: record.snapshot_sha256 ?? '',
    layout: { module: record.module, volumes: record.mounts.map((m) => m.volume) },
    limits: { maxUncompressedBytes: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER },
  });
  deps.crash?.('after-rollback-staged');
  await deps.runtime.swap(
    helper,
    'forward',
    staged.volumes.map((v) => v.root),
  );
  deps.say('every volume holds the pre-upgrade snapshot again');
  deps.crash?.('after-rollback-swap');
  const r = await deps.runtime.recreateService(targetOf(record), record.service, record.pinned_image);
  let problem: string | null =
    r.code === 0 ? null : `recreating ${record.service} on ${record.pinned_image} failed: ${r.stderr.trim()}`;
  if (problem === null) problem = await healthGate(deps.runtime, record, deps.gate);
  await deps.runtime.dropWorkArea(helper);
  await markPhase(j, 'rolled-back', deps);
  await j.remove();
  return problem;
}
