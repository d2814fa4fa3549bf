/**
 * `stateguard recover` (docs/architecture.md §12): finish or revert an interrupted restore from its
 * journal on the engine. Before the swap committed → back to the old data; after → forward. Either
 * way each volume ends exactly old or exactly new, and the service runs on it.
 *
 * The lock an interrupted restore held is still there (a killed process cannot release it). It is
 * taken over only when its holder is provably gone (a process on this host that no longer exists)
 * or when the operator says so (`break-stale-lock: true`); otherwise recover refuses, because the
 * restore may still be running on another runner.
 */
import path from 'node:path';
import { errorMessage, type FailureReason } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import type { Logger, Runtime } from '../ports.js';
import { waitUntilReady } from '../drift/containers.js';
import { healthGate } from '../upgrade/health.js';
import { acquireLock, LOCK_LABEL, lockName, releaseLock, withModuleLock, type HeldLock } from './lock.js';
import { directionOf, Journal, JournalError, operationKey, readState } from './journal.js';
import { forwardAll, revertAll, wayBack, wayBackArgs, type CrashHook, type StepDeps } from './steps.js';
import { describeRollback, describeRollbackFailure, recreatePrevious, rollBack } from '../upgrade/rollback.js';
import { describeWorkAreas, readDataSide, revertFromDataSide } from './data-side.js';
import type { Journal as JournalT, Phase, UpgradeJournalRecord } from './journal.js';

export interface RecoverOutcome {
  module: string;
  decision: 'recovered' | 'nothing-to-recover' | 'failed' | 'refused';
  direction: 'reverted' | 'completed' | null;
  /**
   * what every volume holds at the end, from what the steps did (docs/architecture.md §12): `old`,
   * `backup` (the restored data), or null when recover did not touch the data
   */
  data: 'old' | 'backup' | null;
  /** the phase the journal was in */
  phase: string | null;
  pre_restore_snapshot: string | null;
  failure_reason: FailureReason | '';
  could_not_run: boolean;
  verdict: string;
  messages: string[];
  warnings: string[];
}

export interface RecoverRequest {
  module: ModuleDecl;
  holder: string;
  /** this host's name and the process-alive check, to tell a dead holder from a live one */
  host: string;
  pidAlive: (pid: number) => boolean;
  breakStaleLock: boolean;
  readyTimeoutSeconds: number;
}

export interface RecoverDeps {
  runtime: Runtime;
  log: Logger;
  now: () => Date;
  crash?: CrashHook;
  sleep?: (ms: number) => Promise<void>;
}

/** Whether a lock's holder (see describeHolder: `…, host H, pid N`) is a process on this host that is gone. */
export function holderIsGone(holder: string, host: string, pidAlive: (pid: number) => boolean): boolean {
  const m = /(?:^|, )host (.+), pid (\d+)$/.exec(holder);
  if (!m || m[1] !== host) return false;
  return !pidAlive(Number(m[2]));
}

type End = (
  decision: RecoverOutcome['decision'],
  reason: FailureReason | '',
  verdict: string,
  couldNotRun?: boolean,
) => RecoverOutcome;

/**
 * Under the module lock, bring back a service the engine recorded as stopped by a killed step
 * (runtime.resumeStopped), and wait until it is running and healthy. null when there was nothing.
 */
async function resumeStopped(
  req: RecoverRequest,
  deps: RecoverDeps,
  lockReq: Parameters<typeof acquireLock>[1],
  say: (s: string) => void,
  end: End,
): Promise<RecoverOutcome | null> {
  const m = req.module;
  return withModuleLock(
    deps.runtime,
    lockReq,
    0,
    async () => {
      const target = { project: m.compose.project, files: [m.compose.path] };
      const back = await deps.runtime.resumeStopped(target, m.compose.service);
      if (!back) return null;
      say(`'${m.name}' was left stopped by an interrupted snapshot: scaled back to ${back.replicas}`);
      const pending = await waitUntilReady(deps.runtime, back.containerIds, req.readyTimeoutSeconds * 1000, deps.sleep);
      if (pending.length) {
        return end(
          'failed',
          'snapshot-failed',
          `'${m.name}' was scaled back to ${back.replicas}, but ${pending.map((p) => p.problem).join(', ')} ` +
            `${req.readyTimeoutSeconds}s later; check the service now`,
        );
      }
      return end('recovered', '', `'${m.name}', left stopped by an interrupted snapshot, runs again (healthy)`);
    },
    { refused: () => null, released: (problem) => deps.log.warn(problem) },
  );
}

/**
 * No journal: the data side still shows an open operation when a volume holds a work area
 * (docs/architecture.md §12). Under the module lock, revert from it when the volumes prove how, else
 * refuse naming what was found. null when no volume holds a work area. A volume that cannot be looked
 * at is said (a warning), never taken for "nothing open".
 */
async function recoverDataSide(
  req: RecoverRequest,
  deps: RecoverDeps,
  lockReq: Parameters<typeof acquireLock>[1],
  say: (s: string) => void,
  end: End,
  out: RecoverOutcome,
): Promise<RecoverOutcome | null> {
  const m = req.module;
  if (m.class !== 'stateful' || m.volumes.length === 0 || m.runtime === 'swarm') return null;
  const first = await readDataSide(deps.runtime, m).catch((err: unknown) => ({ problem: errorMessage(err) }));
  if ('problem' in first) {
    out.warnings.push(`the volumes of '${m.name}' could not be checked for a work area: ${first.problem}`);
    return null;
  }
  if (!first.states.some((s) => s.present)) return null;
  return withModuleLock(
    deps.runtime,
    lockReq,
    0,
    async () => {
      try {
        return await revertUnderLock(req, deps, say, end, out);
      } catch (err) {
        return end('failed', 'restore-failed', `recovering from the data side stopped: ${errorMessage(err)}`);
      }
    },
    {
      refused: (refusal) => end('refused', 'locked', refusal.message),
      released: (problem) => out.warnings.push(problem),
    },
  );
}

async function revertUnderLock(
  req: RecoverRequest,
  deps: RecoverDeps,
  say: (s: string) => void,
  end: End,
  out: RecoverOutcome,
): Promise<RecoverOutcome | null> {
  const m = req.module;
  {
    // Read again under the lock: the operation may have ended meanwhile.
    const side = await readDataSide(deps.runtime, m);
    if ('problem' in side) return end('failed', 'restore-failed', `the volumes could not be read: ${side.problem}`);
    if (!side.states.some((s) => s.present)) return null;
    const found = describeWorkAreas(side.states);
    say(`no journal, but the data side shows an open operation (${found})`);
    const r = await revertFromDataSide(deps.runtime, m, side, req.readyTimeoutSeconds * 1000, say, deps.sleep);
    if (!r.ok) {
      return end(
        'failed',
        'interrupted-operation',
        `module '${m.name}' has an open operation on its data and no journal, and the volumes cannot prove which ` +
          `data to keep (${r.found}): a volume without a work area beside one whose new data is live may have lost ` +
          `its old data already. Nothing was changed. After removing the work areas, put back the safety copy ` +
          `that operation wrote before it changed anything: the newest ${m.name}.pre-restore.*.tar.gz (a ` +
          `restore) or ${m.name}.pre-upgrade.*.tar.gz (an upgrade) in its out-dir (by default the backup's ` +
          `directory; \`ls -t DIR/${m.name}.pre-*.tar.gz\`), with \`stateguard ` +
          `${wayBackArgs(m.name, `DIR/${m.name}.pre-restore.YYYYMMDDTHHMMSSZ.tar.gz`).join(' ')}\` (its real ` +
          `name in place of the example).`,
      );
    }
    out.direction = 'reverted';
    out.data = 'old';
    if (r.problem) return end('failed', 'restore-failed', `${r.data}, but the service: ${r.problem}`);
    return end('recovered', '', `reverted from the data side (no journal): ${r.data}, and the service runs`);
  }
}

export async function recoverModule(req: RecoverRequest, deps: RecoverDeps): Promise<RecoverOutcome> {
  const m = req.module;
  const out: RecoverOutcome = {
    module: m.name,
    decision: 'failed',
    direction: null,
    data: null,
    phase: null,
    pre_restore_snapshot: null,
    failure_reason: 'internal',
    could_not_run: false,
    verdict: '',
    messages: [],
    warnings: [],
  };
  const say = (s: string): void => {
    out.messages.push(s);
    deps.log.info(s);
  };
  const end: End = (decision, reason, verdict, couldNotRun = false) => {
    out.decision = decision;
    out.failure_reason = reason;
    out.could_not_run = couldNotRun;
    out.verdict = verdict;
    say(verdict);
    return out;
  };
  const key = operationKey(m.compose.project, m.compose.service);
  const { runtime } = deps;
  const lockReq = {
    module: m.name,
    project: m.compose.project,
    service: m.compose.service,
    moduleImages: [],
    holder: req.holder,
    now: deps.now(),
    staleAfterMs: 0,
    breakStale: false,
    operation: 'recover' as const,
    sleep: deps.sleep,
  };
  try {
    await runtime.ping();
    if ((await runtime.readJournal(key)).length === 0) {
      // An operation killed before its journal began leaves only its lock: remove it when its
      // holder is provably gone, so the next apply or restore is not refused for nothing.
      const existing = await runtime.readLock(lockName(m.compose.project, m.compose.service));
      const holder = existing?.labels[LOCK_LABEL.holder] ?? '';
      let live = existing !== null;
      if (existing && existing.labels[LOCK_LABEL.lock] === '1' && holderIsGone(holder, req.host, req.pidAlive)) {
        await runtime.removeLock(existing.id);
        say(`removed the lock left by ${holder}, which is no longer running`);
        live = false;
      }
      // A snapshot killed while the service was stopped (Swarm: scaled to 0, the count in a label).
      if (!live) {
        const resumed = await resumeStopped(req, deps, lockReq, say, end);
        if (resumed) return resumed;
      }
      if (!live) {
        const fromData = await recoverDataSide(req, deps, lockReq, say, end, out);
        if (fromData) return fromData;
      }
      const unchecked = out.warnings.find((w) => w.includes('could not be checked for a work area'));
      return end(
        'nothing-to-recover',
        '',
        unchecked
          ? `module '${m.name}' has no journal; ${unchecked}, so an operation open on them could not be ruled out`
          : `module '${m.name}' has no interrupted operation; nothing to recover`,
      );
    }
  } catch (err) {
    return end('failed', 'docker-unavailable', `could not read the journal: ${errorMessage(err)}`, true);
  }

  // The lock: ours to take, or the dead restore's to take over, or someone else's (refuse).
  let lock: HeldLock;
  try {
    let taken = await acquireLock(runtime, lockReq, 0);
    if (!taken.acquired) {
      const existing = await runtime.readLock(lockName(m.compose.project, m.compose.service));
      const holder = existing?.labels[LOCK_LABEL.holder] ?? '';
      const gone = holderIsGone(holder, req.host, req.pidAlive);
      if (!existing || !(gone || req.breakStaleLock)) {
        return end(
          'refused',
          'locked',
          `${taken.refusal.message} It may still be running there. If it is not (the runner was lost), ` +
            `run recover with break-stale-lock: true (--break-stale-lock).`,
        );
      }
      say(`taking over the lock of the interrupted operation (${holder}${gone ? ', no longer running' : ''})`);
      await runtime.removeLock(existing.id);
      taken = await acquireLock(runtime, lockReq, 0);
      if (!taken.acquired) return end('refused', 'locked', taken.refusal.message);
    }
    lock = taken.lock;
  } catch (err) {
    return end('failed', 'docker-unavailable', `could not take the lock: ${errorMessage(err)}`, true);
  }

  try {
    const marks = await runtime.readJournal(key);
    if (marks.length === 0) {
      return end('nothing-to-recover', '', `the interrupted operation on '${m.name}' was finished meanwhile`);
    }
    const state = readState(marks);
    out.phase = state.phase;
    out.pre_restore_snapshot = state.record.pre_restore_snapshot;
    const stepDeps: StepDeps = {
      runtime,
      say,
      crash: deps.crash,
      readyTimeoutMs: req.readyTimeoutSeconds * 1000,
      sleep: deps.sleep,
    };
    if (state.record.operation === 'upgrade') {
      const upgrade = new Journal(runtime, key, state.record, deps.now, marks);
      return await recoverUpgrade(upgrade, state.phase, stepDeps, req, end, out);
    }
    const journal = new Journal(runtime, key, state.record, deps.now, marks);
    const direction = directionOf(state.phase);
    say(`journal of an interrupted ${state.record.operation} of '${m.name}': phase ${state.phase} → ${direction}`);
    if (direction === 'tidy') {
      await runtime.removeHelpers(key);
      await runtime.dropWorkArea({ image: state.record.helper_image, mounts: state.record.mounts, key });
      await journal.remove();
      out.direction = state.phase === 'done' ? 'completed' : 'reverted';
      out.data = state.phase === 'done' ? 'backup' : 'old';
      return end('recovered', '', `the ${state.record.operation} had ended (${state.phase}); removed its journal`);
    }
    if (direction === 'revert') {
      const revert = await revertAll(journal, stepDeps, state.phase === 'reverting');
      out.direction = 'reverted';
      out.data = 'old';
      if (revert.problem) {
        return end('failed', 'restore-failed', `${revert.data}, but the service: ${revert.problem}`);
      }
      return end('recovered', '', `reverted: ${revert.data}, and the service of '${m.name}' runs`);
    }
    const fwd = await forwardAll(journal, stepDeps);
    if (fwd.ok) {
      out.direction = 'completed';
      out.data = 'backup';
      return end(
        'recovered',
        '',
        `completed: every volume of '${m.name}' holds the backup's data and the service runs`,
      );
    }
    const snapshot = state.record.pre_restore_snapshot;
    if (fwd.data === 'backup') {
      // The words come from what was done: the old data was gone, nothing was reverted.
      out.direction = 'completed';
      out.data = 'backup';
      return end(
        'failed',
        'restore-failed',
        `every volume of '${m.name}' holds the backup's data (${path.basename(state.record.backup)}) and the ` +
          `service is not healthy on it (${fwd.problem}). The old data is gone: its work area in ` +
          `${fwd.gone.join(', ')} had already been dropped when the restore was interrupted, so it could not be put ` +
          `back. To go back, ${wayBack(m.name, snapshot)}.`,
      );
    }
    out.direction = 'reverted';
    out.data = 'old';
    return end(
      'failed',
      'restore-failed',
      `the restored data did not come up healthy (${fwd.problem}); ${fwd.revert.data}. Pre-restore ` +
        `snapshot: ${snapshot ?? 'none'}.`,
    );
  } catch (err) {
    const what = err instanceof JournalError ? 'the journal is unreadable' : 'recovery stopped';
    return end(
      'failed',
      'restore-failed',
      `${what}: ${errorMessage(err)}. The journal is kept; fix the cause and run recover again.`,
    );
  } finally {
    const problem = await releaseLock(runtime, lock);
    if (problem) out.warnings.push(problem);
  }
}

/**
 * An interrupted upgrade (docs/architecture.md §13): before `deploying` nothing ran on the data, so
 * the stopped containers start again (the previous image; recreated from the pinned one if they are
 * gone); from `deploying` on, the new version may have migrated the data, so it is rolled back: the
 * snapshot restored and the pinned previous image running.
 */
async function recoverUpgrade(
  journal: JournalT<UpgradeJournalRecord>,
  phase: Phase,
  stepDeps: StepDeps,
  req: RecoverRequest,
  end: (d: RecoverOutcome['decision'], r: FailureReason | '', v: string) => RecoverOutcome,
  out: RecoverOutcome,
): Promise<RecoverOutcome> {
  const record = journal.record;
  const { runtime } = stepDeps;
  const m = req.module;
  if (phase === 'done' || phase === 'rolled-back' || phase === 'reverted') {
    await runtime.removeHelpers(journal.key);
    await runtime.dropWorkArea({ image: record.helper_image, mounts: record.mounts, key: journal.key });
    await journal.remove();
    out.direction = phase === 'done' ? 'completed' : 'reverted';
    return end('recovered', '', `the upgrade had ended (${phase}); removed its journal`);
  }
  const gate = {
    timeoutMs: req.readyTimeoutSeconds * 1000,
    settleMs: (m.upgrade?.settleSeconds ?? 10) * 1000,
    sleep: stepDeps.sleep,
  };
  out.direction = 'reverted';
  if (phase === 'begun' || phase === 'snapshotted') {
    const existing = await runtime.inspectContainers(record.stopped);
    let problem: string | null = null;
    if (existing.length === record.stopped.length && existing.length > 0)
      await runtime.start(existing.map((c) => c.id));
    else problem = (await recreatePrevious(record, stepDeps)).problem;
    problem ??= await healthGate(runtime, record, gate);
    await journal.mark('reverted');
    await journal.remove();
    if (problem) return end('failed', 'rollback-failed', `the previous version is back but not healthy: ${problem}`);
    return end('recovered', '', `the upgrade of '${m.name}' had not deployed yet; the previous version runs again`);
  }
  const rolled = await rollBack(journal, { ...stepDeps, gate });
  if (rolled.problem) {
    return end('failed', 'rollback-failed', `ROLLBACK FAILED: ${describeRollbackFailure(rolled, record)}`);
  }
  return end(
    'recovered',
    '',
    `rolled back the interrupted upgrade of '${m.name}': ${describeRollback(rolled, record)}`,
  );
}
