/**
 * An upgrade's rollback (docs/architecture.md §13): the pre-upgrade snapshot is put back through
 * restore's journaled machinery (§12) and the previous container is recreated exactly as it was
 * before the deploy — the definition recorded in the journal (image ID, environment, command,
 * mounts, labels, networks) — never today's compose file with an image override, which would start
 * the old image with the new version's environment. Then the health gate (with its settle window),
 * then the data check: every path of the snapshot still there with its type.
 *
 * The target is always the snapshot, so the rollback can be started again from the top after a
 * crash at any instant: whatever an interrupted attempt left in the work areas is dropped, the
 * snapshot is staged afresh and swapped in (the live content, whatever it is, goes to `old/`).
 */
import { listServiceContainers } from '../drift/containers.js';
import path from 'node:path';
import type { Journal, UpgradeJournalRecord } from '../ops/journal.js';
import { stageArchive } from '../ops/stage.js';
import { helperOf, markPhase, targetOf, type StepDeps } from '../ops/steps.js';
import { healthGate, type HealthGate } from './health.js';
import { verifyDataAgainstSnapshot } from './verify-data.js';
import type { ProgressSettings } from '../report/progress.js';

export interface RollbackDeps extends StepDeps {
  gate: HealthGate;
  /** progress lines while the snapshot is staged (docs/architecture.md §7, "Downtime and progress") */
  progress?: ProgressSettings & { say(line: string): void };
}

/** How a finished rollback ended (a thrown error: it did not finish; the journal is kept). */
export interface RollbackResult {
  /** null: healthy for the settle window and every snapshot path present; else why not */
  problem: string | null;
  /** which check failed */
  failed: 'recreate' | 'health' | 'data' | null;
  /** true: recreated from the recorded definition; false: an old journal, today's compose file + pinned image */
  exact: boolean;
  /** snapshot entries found in the live volumes */
  checked: number;
}

/**
 * Bring the previous container back: from its recorded definition, replacing whatever runs for the
 * service now; an old journal without one falls back to today's compose file with the pinned image
 * (and says so). Returns why it could not, or null.
 */
export async function recreatePrevious(
  record: UpgradeJournalRecord,
  deps: StepDeps,
): Promise<{ problem: string | null; exact: boolean }> {
  const defs = record.previous_container ?? [];
  if (defs.length > 0) {
    const current = (await listServiceContainers(deps.runtime, record)).map((c) => c.id);
    for (const def of defs) {
      await deps.runtime.recreateFromDefinition(def, current.splice(0));
      deps.say(
        `recreated ${def.name} from its definition recorded before the deploy (image ${def.image_id.slice(0, 19)})`,
      );
    }
    return { problem: null, exact: true };
  }
  deps.say(
    `the journal records no previous container definition (written by an older stateguard): recreating ` +
      `${record.service} from today's compose file with the pinned image ${record.pinned_image ?? '(none)'}`,
  );
  if (!record.pinned_image) return { problem: 'the journal names no pinned image', exact: false };
  const r = await deps.runtime.recreateService(targetOf(record), record.service, record.pinned_image);
  return {
    problem: r.code === 0 ? null : `recreating ${record.service} on ${record.pinned_image} failed: ${r.stderr.trim()}`,
    exact: false,
  };
}

/** Roll back (see the module comment). Throws when a step failed before the end; the journal stays. */
export async function rollBack(j: Journal<UpgradeJournalRecord>, deps: RollbackDeps): Promise<RollbackResult> {
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
  const layout = { module: record.module, volumes: record.mounts.map((m) => m.volume) };
  const staged = await stageArchive(
    deps.runtime,
    helper,
    {
      path: record.pre_restore_snapshot,
      sha256: record.snapshot_sha256 ?? '',
      layout,
      limits: { maxUncompressedBytes: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER },
    },
    deps.progress && {
      ...deps.progress,
      label: `rollback ${record.module}: staging ${path.basename(record.pre_restore_snapshot)}`,
      total: null,
    },
  );
  await deps.crash?.('after-rollback-staged');
  await deps.runtime.swap(
    helper,
    'forward',
    staged.volumes.map((v) => v.root),
  );
  deps.say('every volume holds the pre-upgrade snapshot again');
  await deps.crash?.('after-rollback-swap');
  const back = await recreatePrevious(record, deps);
  let failed: RollbackResult['failed'] = back.problem ? 'recreate' : null;
  let problem = back.problem;
  if (problem === null) {
    problem = await healthGate(deps.runtime, record, deps.gate);
    if (problem) failed = 'health';
  }
  await deps.runtime.dropWorkArea(helper);
  let checked = 0;
  if (problem === null) {
    // After the settle window the previous version has run on the data: a wipe on start shows now.
    const data = await verifyDataAgainstSnapshot(deps.runtime, helper, {
      path: record.pre_restore_snapshot,
      sha256: record.snapshot_sha256 ?? '',
      layout,
    });
    if (data.ok) checked = data.checked;
    else {
      problem = data.problem;
      failed = 'data';
    }
  }
  await markPhase(j, 'rolled-back', deps);
  await j.remove();
  return { problem, failed, exact: back.exact, checked };
}

/** What a rollback brought back, in words that claim only what was done and checked. */
export function describeRollback(r: RollbackResult, record: UpgradeJournalRecord): string {
  const what = r.exact
    ? `the previous container as recorded before the deploy (image ${record.pinned_image}, its environment, ` +
      `command, mounts and labels)`
    : `the previous image ${record.pinned_image} with TODAY's compose definition (the journal recorded no previous ` +
      `container definition)`;
  return (
    `the pre-upgrade data (${record.pre_restore_snapshot}) and ${what} run healthy for the settle window; ` +
    `all ${r.checked} paths of the snapshot are present in the live volumes with their type`
  );
}

/** Why a finished rollback is not good, in words naming the check that failed. */
export function describeRollbackFailure(r: RollbackResult, record: UpgradeJournalRecord): string {
  const snap = `Pre-upgrade snapshot: ${record.pre_restore_snapshot}.`;
  if (r.failed === 'data') {
    return `the previous version runs healthy, but the data does not match the snapshot: ${r.problem}. ${snap}`;
  }
  if (r.failed === 'recreate') return `the previous container could not be recreated: ${r.problem}. ${snap}`;
  return `the previous version is not healthy on the restored data: ${r.problem}. ${snap}`;
}
