/**
 * The per-module engine lock (docs/architecture.md §6.1).
 *
 * A never-started container with a name derived from the compose project and service. Creating a
 * container with a name is atomic on the engine, so two runners that share the engine (or two jobs
 * on one runner) cannot both take it — unlike a file lock, which only holds on one machine. The
 * container carries labels saying who holds the lock and since when; it never runs, so it needs no
 * resources beyond a name.
 *
 * The object itself is the adapter's (RecordStore.createLock/readLock/removeLock): for compose a
 * never-started container created from a local image, never pulled. If none can be created the
 * operation refuses (could not run) rather than running unlocked.
 *
 * A killed apply (cancelled job, lost runner) cannot release its lock. That is deliberate: the
 * one-shot it started may still be running. The lock then counts as stale once it is older than
 * max(stale-after, timeout_seconds + 10 min), and only an explicit --break-stale-lock removes it.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { EnvironmentError, errorMessage } from '../errors.js';
import type { EngineLock, RecordStore } from '../ports.js';

export const LOCK_LABEL = {
  lock: 'io.stateguard.lock',
  module: 'io.stateguard.lock.module',
  project: 'io.stateguard.lock.project',
  service: 'io.stateguard.lock.service',
  since: 'io.stateguard.lock.since',
  holder: 'io.stateguard.lock.holder',
  /** which operation holds it (apply, restore, upgrade, snapshot, recover) */
  operation: 'io.stateguard.lock.operation',
} as const;

/** The operations that take a module's lock; the refusal names the one holding it. */
export const LOCK_OPERATIONS = ['apply', 'restore', 'upgrade', 'snapshot', 'recover'] as const;
export type LockOperation = (typeof LOCK_OPERATIONS)[number];

/**
 * How many times a lock that exists but cannot be read is read again. The engine reserves a
 * container's name before the container can be inspected, so a lock being created answers
 * "name in use" to a create and "no such container" to an inspect for a moment.
 */
export const LOCK_READ_ATTEMPTS = 8;

/** Extra time a holder may legitimately need beyond the one-shot's own timeout. */
export const STALE_MARGIN_MS = 10 * 60 * 1000;

function sanitize(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 60);
}

/**
 * `stateguard-lock-<project>-<service>-<hash>`: readable, valid as a container name whatever the
 * inputs, and unique per (project, service) pair — the hash keeps `a-b`/`c` and `a`/`b-c` apart.
 */
export function lockName(project: string, service: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([project, service]))
    .digest('hex')
    .slice(0, 10);
  return `stateguard-lock-${sanitize(project) || 'x'}-${sanitize(service) || 'x'}-${hash}`;
}

/** Who is applying, from the runner's environment. Identifiers only: nothing here is secret. */
export function describeHolder(env: Readonly<Record<string, string | undefined>>, host: string, pid: number): string {
  const parts: string[] = [];
  if (env.GITHUB_REPOSITORY) parts.push(`repo ${env.GITHUB_REPOSITORY}`);
  if (env.GITHUB_WORKFLOW) parts.push(`workflow ${JSON.stringify(env.GITHUB_WORKFLOW)}`);
  if (env.GITHUB_RUN_ID) {
    parts.push(`run ${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? ` attempt ${env.GITHUB_RUN_ATTEMPT}` : ''}`);
  }
  if (env.GITHUB_ACTOR) parts.push(`actor ${env.GITHUB_ACTOR}`);
  parts.push(`host ${host}`, `pid ${pid}`);
  // Labels are single-line; keep it short and printable.
  return parts
    .join(', ')
    .replace(/[\r\n\t]+/g, ' ')
    .slice(0, 400);
}

export interface LockRequest {
  module: string;
  project: string;
  service: string;
  /** image references of the module (rendered by compose); tried first when present locally */
  moduleImages: string[];
  holder: string;
  now: Date;
  /** a lock older than this (and older than timeout + margin) may be broken with breakStale */
  staleAfterMs: number;
  breakStale: boolean;
  /** the operation taking the lock (its label; default apply) */
  operation?: LockOperation;
  /** waits between reads of a lock that exists but cannot be read yet (tests pass a no-op) */
  sleep?: (ms: number) => Promise<void>;
}

export interface HeldLock {
  name: string;
  id: string;
  since: string;
  holder: string;
  /** set when a stale lock was broken to take this one */
  broke?: { holder: string; since: string };
}

export interface LockRefusal {
  name: string;
  holder: string;
  since: string;
  ageMs: number | null;
  stale: boolean;
  /** a full sentence: who holds it, since when, and what the operator can do */
  message: string;
}

export type LockOutcome = { acquired: true; lock: HeldLock } | { acquired: false; refusal: LockRefusal };

function lockLabels(req: LockRequest): Record<string, string> {
  return {
    [LOCK_LABEL.lock]: '1',
    [LOCK_LABEL.module]: req.module,
    [LOCK_LABEL.project]: req.project,
    [LOCK_LABEL.service]: req.service,
    [LOCK_LABEL.since]: req.now.toISOString(),
    [LOCK_LABEL.holder]: req.holder,
    [LOCK_LABEL.operation]: req.operation ?? 'apply',
  };
}

function describeExisting(
  c: EngineLock | null,
  now: Date,
): { holder: string; since: string; ageMs: number | null; ours: boolean; operation: string } {
  if (!c) {
    // Only reached after LOCK_READ_ATTEMPTS reads: the name is taken but the engine shows no object.
    return {
      holder:
        `unreadable (the engine reported the lock taken but showed no lock object ` + `in ${LOCK_READ_ATTEMPTS} reads)`,
      since: 'unknown',
      ageMs: null,
      ours: true,
      operation: 'operation',
    };
  }
  const ours = c.labels[LOCK_LABEL.lock] === '1';
  const since = c.labels[LOCK_LABEL.since] || c.createdAt || 'unknown';
  const t = Date.parse(since);
  const op = c.labels[LOCK_LABEL.operation] ?? '';
  return {
    holder: ours
      ? c.labels[LOCK_LABEL.holder] || 'unknown holder'
      : `an object that is not a stateguard lock (${c.name})`,
    since,
    ageMs: Number.isNaN(t) ? null : Math.max(0, now.getTime() - t),
    ours,
    // a lock written before the label existed names no operation
    operation: /^[a-z-]{1,20}$/.test(op) ? op : 'operation',
  };
}

/**
 * Read a lock whose name is taken: the engine may not show it yet (being created) or already (being
 * removed). Read again, bounded; between reads try to take it, in case it was released.
 */
async function readTakenLock(
  runtime: RecordStore,
  name: string,
  retake: () => Promise<boolean>,
  sleep: (ms: number) => Promise<void>,
): Promise<{ taken: true } | { taken: false; existing: EngineLock | null }> {
  for (let i = 0; i < LOCK_READ_ATTEMPTS; i++) {
    const existing = await runtime.readLock(name);
    if (existing) return { taken: false, existing };
    await sleep(50 * (i + 1));
    if (await retake()) return { taken: true };
  }
  return { taken: false, existing: null };
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function minutes(ms: number): string {
  return `${Math.round(ms / 60_000)} min`;
}

/**
 * Take the lock, or say who holds it. A stale lock is broken only with breakStale, and only the
 * exact container that was found stale is removed (by ID), so a lock taken by someone else in the
 * meantime is never removed.
 */
export async function acquireLock(
  runtime: RecordStore,
  req: LockRequest,
  timeoutSeconds: number,
): Promise<LockOutcome> {
  const name = lockName(req.project, req.service);
  const labels = lockLabels(req);
  const staleBoundMs = Math.max(req.staleAfterMs, timeoutSeconds * 1000 + STALE_MARGIN_MS);
  let broke: HeldLock['broke'];
  const create = (): Promise<boolean> =>
    runtime.createLock(name, labels, { images: req.moduleImages, project: req.project });
  const tookIt = async (): Promise<LockOutcome> => {
    const me = await runtime.readLock(name);
    if (
      !me ||
      me.labels[LOCK_LABEL.since] !== labels[LOCK_LABEL.since] ||
      me.labels[LOCK_LABEL.holder] !== req.holder
    ) {
      throw new EnvironmentError(`took the lock ${name} but cannot read it back; refusing to continue`);
    }
    return { acquired: true, lock: { name, id: me.id, since: labels[LOCK_LABEL.since]!, holder: req.holder, broke } };
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await create()) return tookIt();
    const read = await readTakenLock(runtime, name, create, req.sleep ?? defaultSleep);
    if (read.taken) return tookIt();
    const existing = read.existing;
    const judged = judgeExisting(req, name, existing, staleBoundMs, attempt > 0);
    if ('refusal' in judged) return { acquired: false, refusal: judged.refusal };
    await runtime.removeLock(judged.existing.id);
    broke = judged.broke;
  }
  // Broke a stale lock and someone else took the name first.
  const read = await readTakenLock(runtime, name, async () => false, req.sleep ?? defaultSleep);
  return refuse(
    req.module,
    name,
    describeExisting(read.taken ? null : read.existing, req.now),
    false,
    'Wait for it to finish.',
  );
}

/**
 * Whether a lock that exists refuses the operation, or may be broken (stale, and break-stale-lock given).
 * `retried`: a stale lock was broken once already and the name was taken again (never broken twice).
 */
function judgeExisting(
  req: LockRequest,
  name: string,
  existing: EngineLock | null,
  staleBoundMs: number,
  retried: boolean,
): { refusal: LockRefusal } | { existing: EngineLock; broke: { holder: string; since: string } } {
  const info = describeExisting(existing, req.now);
  const stale = info.ours && existing !== null && info.ageMs !== null && info.ageMs > staleBoundMs;
  const refusal = (extra: string): { refusal: LockRefusal } => {
    const r = refuse(req.module, name, info, stale, extra);
    return { refusal: (r as { refusal: LockRefusal }).refusal };
  };
  if (!existing) return refusal('Retry in a moment; if it persists, inspect the engine (docker ps -a).');
  if (!info.ours) {
    return refusal(
      'That name is taken by an engine object stateguard did not create; it is never removed automatically. ' +
        'Inspect it and remove it by hand if it is a leftover.',
    );
  }
  if (!stale) {
    return refusal(
      `Wait for it to finish. It counts as stale after ` +
        `${minutes(staleBoundMs)} (max of lock-stale-after-minutes and timeout_seconds + 10 min); ` +
        `only then can it be broken with break-stale-lock: true.`,
    );
  }
  if (!req.breakStale || retried) {
    return refusal(
      `The lock is stale (older than ` +
        `${minutes(staleBoundMs)}): its holder probably died. Make sure no ${info.operation} of this module is ` +
        `running, then re-run with break-stale-lock: true (--break-stale-lock).`,
    );
  }
  return { existing, broke: { holder: info.holder, since: info.since } };
}

/** What a dry run learns about the lock without taking it (docs/architecture.md §12, "Dry runs"). */
export type LockPeek =
  | { free: true; name: string; wouldBreak: { holder: string; since: string } | null }
  | { free: false; refusal: LockRefusal };

/**
 * The lock as acquireLock would find it, read only: free (or stale and break-stale-lock given: a real
 * run would break it), or the refusal a real run would give. Nothing is created or removed.
 */
export async function peekLock(runtime: RecordStore, req: LockRequest, timeoutSeconds: number): Promise<LockPeek> {
  const name = lockName(req.project, req.service);
  const staleBoundMs = Math.max(req.staleAfterMs, timeoutSeconds * 1000 + STALE_MARGIN_MS);
  const existing = await runtime.readLock(name);
  if (!existing) return { free: true, name, wouldBreak: null };
  const judged = judgeExisting(req, name, existing, staleBoundMs, false);
  if ('refusal' in judged) return { free: false, refusal: judged.refusal };
  return { free: true, name, wouldBreak: judged.broke };
}

/** "Locked by a running restore": which operation holds it, who, since when, and what the operator can do. */
function refuse(
  module: string,
  name: string,
  info: ReturnType<typeof describeExisting>,
  stale: boolean,
  extra: string,
): LockOutcome {
  const age = info.ageMs !== null ? ` (${minutes(info.ageMs)} ago)` : '';
  return {
    acquired: false,
    refusal: {
      name,
      holder: info.holder,
      since: info.since,
      ageMs: info.ageMs,
      stale,
      message:
        `module '${module}' is locked by a running ${info.operation} ` +
        `(holder ${info.holder}, since ${info.since}${age}); lock ${name}. ${extra}`,
    },
  };
}

/**
 * Whether a lock holder (see describeHolder: `…, host H, pid N`) is a process on this host that is
 * still running: its operation is running now, not interrupted (a refusal then says `locked`).
 */
export function holderRunsHere(holder: string, host = hostname()): boolean {
  const m = /(?:^|, )host (.+), pid (\d+)$/.exec(holder);
  if (!m || m[1] !== host) return false;
  try {
    process.kill(Number(m[2]), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove exactly our lock container (by ID). Never throws: returns the problem, if any. */
export async function releaseLock(runtime: RecordStore, lock: HeldLock): Promise<string | null> {
  try {
    await runtime.removeLock(lock.id);
    return null;
  } catch (err) {
    return (
      `could not release the module lock ${lock.name}: ${errorMessage(err)}. Remove it with ` +
      `'docker rm ${lock.name}' once no stateguard operation on the module is running.`
    );
  }
}

/**
 * Run `work` holding the module's lock, the one lock every operation that stops or changes the
 * module takes (apply, snapshot, restore, upgrade, recover): taken, or `refused` says why not;
 * released whatever `work` does, a release problem handed to `released` (never thrown over the
 * outcome of the work).
 */
export async function withModuleLock<T>(
  runtime: RecordStore,
  req: LockRequest,
  timeoutSeconds: number,
  work: (lock: HeldLock) => Promise<T>,
  on: {
    refused: (refusal: LockRefusal) => T | Promise<T>;
    released: (problem: string) => void;
    /** the lock was released cleanly (e.g. to say so) */
    freed?: (lock: HeldLock) => void;
  },
): Promise<T> {
  const taken = await acquireLock(runtime, req, timeoutSeconds);
  if (!taken.acquired) return on.refused(taken.refusal);
  try {
    return await work(taken.lock);
  } finally {
    const problem = await releaseLock(runtime, taken.lock);
    if (problem) on.released(problem);
    else on.freed?.(taken.lock);
  }
}
