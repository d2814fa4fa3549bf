/**
 * The journaled steps restore and recover share (docs/architecture.md §12): swap, revert, bring the
 * service back, tidy. Each step is idempotent, so recover can run it again after a crash at any
 * instant, and each journal mark is written before the step it announces.
 */
import path from 'node:path';
import { snapshotStopped, type SnapshotResult } from '../backup/snapshot.js';
import type { SafetyKind } from '../backup/names.js';
import { waitUntilReady } from '../drift/containers.js';
import { listServiceContainers } from '../drift/containers.js';
import { EnvironmentError, errorMessage } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import type { ComposeTarget, ContainerInfo, HelperSpec, Logger, Runtime, SwapResult } from '../ports.js';
import type { Journal, JournalRecord, Phase } from './journal.js';
import { humanDuration, type Downtime, type ProgressSettings } from '../report/progress.js';

/**
 * Test seam: called (and awaited) at every phase boundary. The CLI wires STATEGUARD_TEST_KILL_AT to
 * SIGKILL itself; the simulated engine's crash tests return a promise that never settles, so the
 * operation stops there with nothing after it run (no catch, no finally), as a killed process.
 */
export type CrashHook = (boundary: string) => void | Promise<void>;

export interface StepDeps {
  runtime: Runtime;
  say: (message: string) => void;
  crash?: CrashHook;
  readyTimeoutMs: number;
  sleep?: (ms: number) => Promise<void>;
  /** the service is running (and healthy where it has a healthcheck) again: the downtime's end (§7) */
  onReady?: (service: string) => void;
}

export function helperOf(record: JournalRecord, key: string): HelperSpec {
  return { image: record.helper_image, mounts: record.mounts, key };
}

/**
 * An operation that had ended (`done`, `reverted`, `rolled-back`) but not tidied: remove its helpers
 * and any work area left, then its journal. Idempotent, as every step.
 */
export async function tidyEnded(j: Journal, runtime: Runtime): Promise<void> {
  await runtime.removeHelpers(j.key);
  await runtime.dropWorkArea(helperOf(j.record, j.key));
  await j.remove();
}

export function targetOf(record: JournalRecord): ComposeTarget {
  return { project: record.project, files: record.compose_files };
}

/** Write the mark, then let a crash test stop right after it. */
export async function markPhase(j: Journal, phase: Phase, deps: Pick<StepDeps, 'crash'>): Promise<void> {
  await j.mark(phase);
  await deps.crash?.(`after-${phase}`);
}

/**
 * Recreate the service on the data now in place (restore's C4: never restart the old containers
 * on new data) and wait until it is running and healthy. Returns why it is not, or null.
 */
export async function recreateAndWait(record: JournalRecord, deps: StepDeps): Promise<string | null> {
  const r = await deps.runtime.recreateService(targetOf(record), record.service);
  if (r.code !== 0) {
    return `recreating ${record.service} failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}`;
  }
  return waitService(record, deps);
}

async function waitService(record: JournalRecord, deps: StepDeps): Promise<string | null> {
  const ids = (await listServiceContainers(deps.runtime, record)).map((c) => c.id);
  if (ids.length === 0) return `no container of ${record.service} exists`;
  deps.say(
    `waiting up to ${humanDuration(deps.readyTimeoutMs)} for ${record.service} to be running (and healthy where ` +
      `it has a healthcheck)`,
  );
  const pending = await waitUntilReady(deps.runtime, ids, deps.readyTimeoutMs, deps.sleep);
  if (pending.length === 0) {
    deps.onReady?.(record.service);
    return null;
  }
  return (
    `${pending.map((p) => `${p.id.slice(0, 12)} ${p.problem}`).join(', ')} ` +
    `(running, and healthy where it has a healthcheck, is required within ${deps.readyTimeoutMs / 1000}s)`
  );
}

/** How a revert ended: why the service is not up (null: it is), and what each volume holds, in words. */
export interface RevertEnd {
  problem: string | null;
  /** one sentence built from what the swap did in each volume (docs/architecture.md §12) */
  data: string;
}

/** What a revert did per volume, in words. */
export function describeRevert(results: readonly SwapResult[]): string {
  const what = (r: SwapResult): string =>
    r.outcome === 'reverted'
      ? 'the old data was put back'
      : r.outcome === 'already-old'
        ? 'the old data was still live'
        : 'no work area (its old data was never moved, or was put back and tidied before)';
  return `every volume holds its old data (${results.map((r) => `${r.volume}: ${what(r)}`).join('; ')})`;
}

/**
 * Put the old data back in every volume and bring the service back on it: the containers the
 * operation stopped are started again when they still exist (nothing recreated them), otherwise the
 * service is recreated. Marks `reverted`, then tidies.
 *
 * Only called where every volume's old data is provably there: before `committed` (a volume without
 * a work area was never touched: the swap only runs once every work area was prepared, and nothing
 * drops one before `committed`), and at `reverting`, which forwardAll marks only after a forward
 * swap found every volume's work area (old data kept in it); so at `reverting` a volume without a
 * work area was reverted and tidied by an earlier attempt.
 */
export async function revertAll(j: Journal, deps: StepDeps, recreated: boolean): Promise<RevertEnd> {
  const record = j.record;
  const helper = helperOf(record, j.key);
  await deps.runtime.removeHelpers(j.key);
  if (recreated) {
    // Containers recreated on the new data must not run while it is swapped back.
    const running = await listServiceContainers(deps.runtime, record);
    await deps.runtime.stop(running.filter((c) => c.state === 'running' || c.state === 'restarting').map((c) => c.id));
  }
  const swapped = await deps.runtime.swap(
    helper,
    'revert',
    record.mounts.map(() => null),
  );
  const data = describeRevert(swapped);
  deps.say(data);
  await deps.crash?.('after-revert-swap');
  await deps.runtime.dropWorkArea(helper);
  let problem: string | null;
  const existing = recreated ? [] : await deps.runtime.inspectContainers(record.stopped);
  if (existing.length === record.stopped.length && existing.length > 0) {
    await deps.runtime.start(existing.map((c) => c.id));
    problem = await waitService(record, deps);
  } else if (record.stopped.length === 0 && !recreated) {
    problem = null; // nothing was running before; leave it so
  } else {
    problem = await recreateAndWait(record, deps);
  }
  await markPhase(j, 'reverted', deps);
  await j.remove();
  return { problem, data };
}

/** How forwardAll ended (docs/architecture.md §12). */
export type ForwardEnd =
  | { ok: true; data: 'backup' }
  /** not healthy on the restored data; the old data was put back (`revert` says how) */
  | { ok: false; data: 'old'; problem: string; revert: RevertEnd }
  /**
   * not healthy on the restored data, and the old data of `gone` was already dropped (a restore
   * killed after the drop): every volume keeps the backup's data, the way back is the pre-restore
   * snapshot. Never reverted: the volumes that still had their old data would then differ from
   * the others (a mix of old and new).
   */
  | { ok: false; data: 'backup'; problem: string; gone: string[] };

/**
 * Finish a committed swap (idempotent), recreate the service on the new data and wait for it. When it
 * does not come up and every volume still has its old data in its work area, mark `reverting` and
 * revert; when some volume's old data is gone, keep the backup's data everywhere and say so.
 */
export async function forwardAll(j: Journal, deps: StepDeps): Promise<ForwardEnd> {
  const record = j.record;
  const helper = helperOf(record, j.key);
  await deps.runtime.removeHelpers(j.key);
  const swapped = await deps.runtime.swap(helper, 'forward', record.roots);
  const gone = swapped.filter((r) => r.outcome === 'no-work-area').map((r) => r.volume);
  const problem = await recreateAndWait(record, deps);
  await deps.crash?.('after-recreate');
  if (problem === null) {
    await deps.runtime.dropWorkArea(helper);
    await deps.crash?.('after-drop');
    await markPhase(j, 'done', deps);
    await j.remove();
    return { ok: true, data: 'backup' };
  }
  if (gone.length > 0) {
    deps.say(
      `the service did not come up on the restored data: ${problem}; the old data of ${gone.join(', ')} is gone ` +
        `(its work area had been dropped before), so nothing is reverted: every volume keeps the backup's data`,
    );
    // The rest of the old data goes too: every volume then holds the backup's data, and no work area
    // is left to block the way back (a restore of the pre-restore snapshot, which holds all of it).
    await deps.runtime.dropWorkArea(helper);
    await j.remove();
    return { ok: false, data: 'backup', problem, gone };
  }
  deps.say(`the service did not come up on the restored data: ${problem}; putting the old data back`);
  await markPhase(j, 'reverting', deps);
  try {
    const revert = await revertAll(j, deps, true);
    if (revert.problem !== null) {
      return {
        ok: false,
        data: 'old',
        problem: `${problem}; AND after reverting to the old data: ${revert.problem}`,
        revert,
      };
    }
    return { ok: false, data: 'old', problem, revert };
  } catch (err) {
    throw new EnvironmentError(`${problem}; reverting to the old data failed too: ${errorMessage(err)}`);
  }
}

/**
 * The arguments of the restore that puts a safety copy back (docs/architecture.md §7, §12): the copy by its
 * explicit path, its directory as the backup root, its file name as the confirm. The integration test runs
 * exactly these, so the command the texts print is one that works.
 */
export function wayBackArgs(module: string, safetyCopy: string): string[] {
  return [
    'restore',
    '--module',
    module,
    '--backup-ref',
    safetyCopy,
    '--backup-root',
    path.dirname(safetyCopy),
    '--confirm',
    path.basename(safetyCopy),
    '--allow-stateful',
  ];
}

/** The way back to the data a restore replaced, as a command (docs/architecture.md §12). */
export function wayBack(module: string, preRestoreSnapshot: string | null): string {
  return preRestoreSnapshot
    ? `restore the pre-restore snapshot: \`stateguard ${wayBackArgs(module, preRestoreSnapshot).join(' ')}\``
    : 'no pre-restore snapshot was recorded';
}

/**
 * The first local image (in order) that can run the helper steps, or why none can. Never pulls:
 * the probe runs each candidate with `--pull never`.
 */
export async function pickHelperImage(
  runtime: Runtime,
  candidates: readonly (string | undefined | null)[],
): Promise<{ image: string } | { tried: string[] }> {
  const tried: string[] = [];
  for (const image of [...new Set(candidates.filter((x): x is string => !!x))]) {
    const problem = await runtime.helperImageProblem(image);
    if (problem === null) return { image };
    tried.push(`${image.length > 40 ? `${image.slice(0, 19)}…` : image}: ${problem}`);
  }
  return { tried };
}

/**
 * The first destructive steps restore and upgrade share, after the journal's `begun`: stop what runs
 * (the downtime starts), then write and verify the safety copy of the stopped data. The caller
 * records the copy in its journal and marks `snapshotted`.
 */
export async function stopAndSnapshot(a: {
  runtime: Runtime;
  module: ModuleDecl;
  stop: readonly ContainerInfo[];
  downtime: Downtime;
  say: (message: string) => void;
  crash?: CrashHook;
  outDir: string;
  now: Date;
  log: Logger;
  kind: SafetyKind;
  progress: ProgressSettings;
}): Promise<SnapshotResult> {
  if (a.stop.length) a.downtime.stopping();
  await a.runtime.stop(a.stop.map((c) => c.id));
  a.say(a.stop.length ? a.downtime.stopped(a.stop.map((c) => c.name).join(', ')) : 'stopped (nothing was running)');
  await a.crash?.('after-stop');
  return snapshotStopped({
    module: a.module,
    runtime: a.runtime,
    outDir: a.outDir,
    now: a.now,
    log: a.log,
    kind: a.kind,
    progress: a.progress,
  });
}
