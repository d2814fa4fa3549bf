/**
 * `stateguard recover` (docs/architecture.md §12): finish or revert an interrupted operation from its
 * journal on the engine. Either way each volume ends exactly old or exactly new, and the service runs
 * on it. What that means depends on the operation (a restore: before the swap committed → back to the
 * old data, after → forward; an upgrade: a rollback, §13): recover hands the journal to the recovery
 * the registry names for the journal's `operation` (RecoverDeps.operations; the command layer
 * assembles it from src/restore/recovery.ts and src/upgrade/recovery.ts), so it knows neither.
 *
 * The lock an interrupted restore held is still there (a killed process cannot release it). It is
 * taken over only when its holder is provably gone (a process on this host that no longer exists)
 * or when the operator says so (`break-stale-lock: true`); otherwise recover refuses, because the
 * restore may still be running on another runner.
 */
import { errorMessage, type FailureReason } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import type { Logger, Runtime } from '../ports.js';
import { waitUntilReady } from '../drift/containers.js';
import { acquireLock, LOCK_LABEL, lockName, releaseLock, withModuleLock, type HeldLock } from './lock.js';
import { Journal, JournalError, operationKey, readState, type JournalRecord, type Phase } from './journal.js';
import { wayBackArgs, type CrashHook, type StepDeps } from './steps.js';
import { describeWorkAreas, readDataSide, revertFromDataSide } from './data-side.js';

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
  /** how each kind of operation is finished or reverted (the command layer assembles it) */
  operations: RecoverRegistry;
}

/**
 * What an operation's recovery works with: the lock is held and the journal read. It fills in the
 * outcome's `direction` and `data` as the data changes, and ends through `end`.
 */
export interface RecoveryContext {
  request: RecoverRequest;
  steps: StepDeps;
  out: RecoverOutcome;
  end: (decision: RecoverOutcome['decision'], reason: FailureReason | '', verdict: string) => RecoverOutcome;
}

/**
 * How recover finishes or reverts one kind of operation from its journal at the phase it reached. A
 * thrown error ends recover as failed with the journal kept (run it again once the cause is fixed).
 */
export interface OperationRecovery<R extends JournalRecord> {
  recover(journal: Journal<R>, phase: Phase, ctx: RecoveryContext): Promise<RecoverOutcome>;
}

/** One recovery per operation a journal can record. */
export type RecoverRegistry = {
  [K in JournalRecord['operation']]: OperationRecovery<Extract<JournalRecord, { operation: K }>>;
};

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
    const journal = new Journal(runtime, key, state.record, deps.now, marks);
    // The registry's entry for the record's operation takes exactly that operation's record.
    const recovery = deps.operations[state.record.operation] as OperationRecovery<JournalRecord>;
    return await recovery.recover(journal, state.phase, { request: req, steps: stepDeps, out, end });
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
