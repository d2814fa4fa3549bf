/**
 * The guarded-operation skeleton every mutating command runs through (docs/architecture.md §6;
 * apply today, restore and upgrade next):
 *
 *   lock → interrupted-operation check → fresh plan + guard → plan-hash binding → preflight
 *   refusals → dependencies healthy before → the step → (the step checks dependencies after) →
 *   release the lock
 *
 * Every path ends in an outcome through `end()`; only the step can reach a success status, and
 * only explicitly. Anything thrown under the lock is a failure (never a success), and once the step
 * has started something on the engine no outcome is "could not run" (exit 3): something ran, so the
 * answer is a "no" (exit 1) that says what happened.
 */
import { EnvironmentError, errorMessage, type FailureReason } from '../errors.js';
import type { GuardResult } from '../guard/decide.js';
import type { GuardDeps, GuardEvaluation, GuardRequest } from '../guard/evaluate.js';
import type { ModuleDecl } from '../model/module.js';
import type { ContainerInfo, Logger, Runtime } from '../ports.js';
import type { Surface } from '../report/words.js';
import { Scrubber } from '../report/scrub.js';
import {
  holderRunsHere,
  LOCK_OPERATIONS,
  peekLock,
  withModuleLock,
  type HeldLock,
  type LockRefusal,
  type LockRequest,
} from './lock.js';
import {
  checkDependencies,
  dependencyProblem,
  dependencyState,
  listProjects,
  type DependencyCheck,
  type DependencyState,
} from './dependencies.js';

/** The statuses the skeleton itself can end with; an operation adds its own success statuses. */
export type SkeletonStatus = 'no-op' | 'blocked' | 'refused' | 'failed';

export interface GuardedOutcome<S extends string = string> {
  module: string;
  status: S | SkeletonStatus;
  failure_reason: FailureReason | '';
  /** true when the outcome is "could not run" (exit 3) rather than a "no" (exit 1) */
  could_not_run: boolean;
  plan_hash: string | null;
  expected_plan_hash: string | null;
  guard: GuardResult | null;
  lock: { name: string; holder: string; since: string; broke?: { holder: string; since: string } } | null;
  lock_refusal: LockRefusal | null;
  dependencies: DependencyCheck[];
  /** the sentence that explains the outcome (scrubbed) */
  verdict: string;
  /** what happened, in order, one sentence each (scrubbed) */
  messages: string[];
  warnings: string[];
}

/** The fields every guarded outcome starts with: a failure until the step says otherwise (fail closed). */
export function guardedOutcome(
  module: string,
  expectedPlanHash: string | undefined,
): GuardedOutcome<never> & { status: 'failed'; failure_reason: 'internal' } {
  return {
    module,
    status: 'failed',
    failure_reason: 'internal',
    could_not_run: false,
    plan_hash: null,
    expected_plan_hash: expectedPlanHash ?? null,
    guard: null,
    lock: null,
    lock_refusal: null,
    dependencies: [],
    verdict: '',
    messages: [],
    warnings: [],
  };
}

/**
 * What every guarded operation is asked, whatever rule decides it: the module (and every module, for
 * planning), where and when, the reviewed plan it is bound to, and who holds the lock. Each operation
 * adds its own consent and inputs (apply: the guard's request; restore and upgrade: their rules').
 */
export interface OperationRequest {
  /** every module of the repo (planning may need them all), and the one operated on */
  modules: ModuleDecl[];
  module: ModuleDecl;
  cwd: string;
  now: Date;
  /** the module's plan_hash of the reviewed plan; refuse (plan-changed) when the fresh one differs */
  expectedPlanHash: string | undefined;
  breakStaleLock: boolean;
  staleAfterMs: number;
  /** who is operating (see describeHolder) */
  holder: string;
  /** where the fixes are read: CLI flags (default) or action inputs */
  surface?: Surface;
}

/** The consent and backup inputs of the stateful-apply guard, with what every operation is asked. */
export type GuardedRequest = OperationRequest & GuardRequest;

export interface GuardedDeps extends GuardDeps {
  log: Logger;
  now: () => Date;
}

/** What the skeleton hands the operation's own checks and step. */
export interface OperationContext<O extends GuardedOutcome> {
  out: O;
  scrub: Scrubber;
  say: (message: string) => void;
  end: (status: O['status'], reason: FailureReason | '', message: string, couldNotRun?: boolean) => O;
  /** mark that something was started on the engine (from now on no outcome is "could not run") */
  started(): void;
  /** the depends_on_healthy modules with their state before the step */
  dependenciesBefore: DependencyState[];
  /** compare every dependency with its state before; records the checks in `out.dependencies` */
  checkDependencies(): Promise<boolean>;
}

export interface GuardedOperation<O extends GuardedOutcome> {
  /** the command's name in messages: "the guard blocked the apply of …" */
  verb: string;
  request: OperationRequest;
  deps: GuardedDeps;
  /** the outcome to fill, with the operation's own fields initialised */
  out: O;
  /** images the lock container may be created from, in order of preference */
  lockImages: string[];
  /** how long the operation may legitimately hold the lock (a stale bound is derived from it) */
  lockTimeoutSeconds: number;
  /**
   * Decides whether the operation may run: the stateful-apply guard (apply), or the operation's own
   * rule (restore §12, upgrade §13). It must produce the module's fresh plan_hash.
   */
  evaluate(): Promise<GuardEvaluation>;
  /** an interrupted earlier operation on the module (restore/upgrade journals) refuses, naming recover */
  interrupted?(): Promise<{ reason: FailureReason; message: string } | null>;
  /**
   * Refusals after the guard allowed and before dependencies are checked (nothing has run yet).
   * May return the project listings it made, so the dependency check does not list them again.
   */
  preflight?(
    ev: GuardEvaluation,
    ctx: OperationContext<O>,
  ): Promise<{ refused: O } | { listed?: Map<string, ContainerInfo[]> }>;
  step(ev: GuardEvaluation, ctx: OperationContext<O>): Promise<O>;
  /**
   * A dry run (docs/architecture.md §12, "Dry runs"): every check above runs, the lock is only read (never
   * taken), and this is called instead of `step`: it says what the step would do and touches nothing.
   */
  dryRun?(ev: GuardEvaluation, ctx: OperationContext<O>, lock: { name: string }): Promise<O>;
}

const EVALUATION_REASONS: readonly FailureReason[] = ['docker-unavailable', 'compose-error', 'internal'];

/** `guard: allowed (container.image)`, or `guard: allowed` with no drift (never `allowed ()`). */
export function allowedLine(driftKeys: readonly string[]): string {
  return `guard: allowed${driftKeys.length ? ` (${driftKeys.join(', ')})` : ''}`;
}

/**
 * The module lock as this run holds it: taken (a real run, released at the end), or only looked at
 * and found free (a dry run, docs/architecture.md §12 "Dry runs": nothing is created or released).
 */
type ModuleLock =
  | { kind: 'taken'; lock: HeldLock }
  | { kind: 'peeked'; name: string; wouldBreak: { holder: string; since: string } | null };

/** The dry run's lock step: the lock read, never taken; a refusal exactly as a real run would get it. */
async function peekModuleLock(
  runtime: Runtime,
  req: LockRequest,
  timeoutSeconds: number,
): Promise<{ held: ModuleLock } | { refusal: LockRefusal }> {
  const peek = await peekLock(runtime, req, timeoutSeconds);
  return peek.free
    ? { held: { kind: 'peeked', name: peek.name, wouldBreak: peek.wouldBreak } }
    : { refusal: peek.refusal };
}

/**
 * The one line that says a guarded operation was blocked, without repeating its reasons (the
 * result lists each once, with its fix): `the guard blocked the restore of 'db' (2 reasons: a, b)`.
 */
export function blockedHeadline(verb: string, module: string, reasons: readonly { code: string }[]): string {
  const n = reasons.length;
  const codes = [...new Set(reasons.map((r) => r.code))].join(', ');
  return `the guard blocked the ${verb} of '${module}' (${n} reason${n === 1 ? '' : 's'}: ${codes})`;
}

export async function runGuarded<O extends GuardedOutcome>(op: GuardedOperation<O>): Promise<O> {
  const { request: req, deps, out } = op;
  const m = req.module;
  const runtime = deps.runtime;
  const scrub = new Scrubber();
  let started = false;
  // `logged`: a shorter line for the log when the message repeats what the result lists (a blocked
  // decision's reasons are listed once, each with its fix).
  const say = (message: string, logged?: string): void => {
    const clean = scrub.scrub(message);
    out.messages.push(clean);
    deps.log.info(logged === undefined ? clean : scrub.scrub(logged));
  };
  const end = (
    status: O['status'],
    reason: FailureReason | '',
    message: string,
    couldNotRun = false,
    logged?: string,
  ): O => {
    out.status = status;
    out.failure_reason = reason;
    out.could_not_run = couldNotRun && !started;
    say(message, logged);
    out.verdict = out.messages[out.messages.length - 1]!;
    return out;
  };

  const dependencies: ModuleDecl[] = [];
  for (const name of m.dependsOnHealthy) {
    const d = req.modules.find((x) => x.name === name);
    if (!d)
      return end(
        'refused',
        'invalid-modules',
        `depends_on_healthy names '${name}', which is not a module; run stateguard validate.`,
      );
    dependencies.push(d);
  }

  const lockRequest = {
    module: m.name,
    project: m.compose.project,
    service: m.compose.service,
    moduleImages: op.lockImages,
    holder: req.holder,
    now: deps.now(),
    staleAfterMs: req.staleAfterMs,
    breakStale: req.breakStaleLock,
    operation: LOCK_OPERATIONS.find((o) => o === op.verb),
  };
  const warn = (w: string): void => {
    out.warnings.push(w);
    deps.log.warn(w);
  };
  // A lock left by an interrupted restore: the way out is recover, not waiting for the holder. A
  // holder that runs on this host is a running operation, whose journal is open, not interrupted.
  const refused = async (refusal: LockRefusal): Promise<O> => {
    out.lock_refusal = refusal;
    const running = holderRunsHere(refusal.holder);
    const interrupted = op.interrupted && !running ? await op.interrupted().catch(() => null) : null;
    if (interrupted) return end('refused', interrupted.reason, `${interrupted.message} (${refusal.message})`);
    return end('refused', 'locked', refusal.message);
  };
  // One lock step: a real run holds the lock the way every operation does (withModuleLock); a dry run
  // only reads it and takes nothing, and its refusal is the one a real run would give.
  try {
    if (op.dryRun) {
      const peek = await peekModuleLock(runtime, lockRequest, op.lockTimeoutSeconds);
      if ('refusal' in peek) return await refused(peek.refusal);
      return await underLock(peek.held);
    }
    return await withModuleLock(
      runtime,
      lockRequest,
      op.lockTimeoutSeconds,
      (lock) => underLock({ kind: 'taken', lock }),
      {
        refused,
        released: warn,
        freed: (lock) => void out.messages.push(`released the ${op.verb} lock ${lock.name}`),
      },
    );
  } catch (err) {
    // Never run unlocked: a lock that cannot be taken (or read back) ends it, as could-not-run.
    // (underLock ends every failure of its own in an outcome: what reaches here is the lock's.)
    const reason: FailureReason = err instanceof EnvironmentError ? err.reason : 'internal';
    return end(
      'failed',
      reason,
      `could not ${op.dryRun ? 'read' : 'take'} the ${op.verb} lock: ${errorMessage(err)}`,
      true,
    );
  }

  /** Everything after the lock step: held (a real run) or found free (a dry run). Never throws. */
  async function underLock(held: ModuleLock): Promise<O> {
    if (held.kind === 'peeked') {
      say(`the ${op.verb} lock ${held.name} is free (dry run: not taken)`);
      if (held.wouldBreak) {
        warn(
          `the ${op.verb} lock is held by ${held.wouldBreak.holder} since ${held.wouldBreak.since} and is stale: ` +
            `a real run would break it (break-stale-lock: true)`,
        );
      }
    } else {
      const lock = held.lock;
      out.lock = {
        name: lock.name,
        holder: lock.holder,
        since: lock.since,
        ...(lock.broke ? { broke: lock.broke } : {}),
      };
      if (lock.broke) {
        warn(
          `broke a stale ${op.verb} lock held by ${lock.broke.holder} since ${lock.broke.since} ` +
            `(break-stale-lock: true)`,
        );
      }
      say(`took the ${op.verb} lock ${lock.name}`);
    }
    try {
      const interrupted = op.interrupted ? await op.interrupted() : null;
      if (interrupted) return end('refused', interrupted.reason, interrupted.message);

      // A reviewed plan may be stale by now: plan and guard again with the same inputs.
      const ev = await op.evaluate();
      out.guard = ev.result;
      out.plan_hash = ev.planHash;
      // A backup accepted without its manifest or despite a shrink is said, whatever follows (§16).
      for (const w of ev.result.backup?.accepted_despite ?? []) warn(`${op.verb}: ${w.message}`);
      if (req.expectedPlanHash !== undefined && ev.planHash !== null && ev.planHash !== req.expectedPlanHash) {
        return end(
          'refused',
          'plan-changed',
          `the fresh plan of ` +
            `'${m.name}' (plan_hash ` +
            `${ev.planHash}) differs from the reviewed one (expected-plan-hash ${req.expectedPlanHash}). ` +
            `The module's compose definition or its drift changed since that plan. Re-run stateguard plan --module ` +
            `${m.name}, ` +
            `review it, and pass that module's plan_hash (shown per module in the plan, its summary and the PR ` +
            `comment).`,
        );
      }
      if (ev.result.decision === 'blocked') {
        const first = ev.result.reasons[0];
        return end(
          'blocked',
          ev.result.failure_reason || 'internal',
          `the guard blocked the ${op.verb} of '${m.name}': ` +
            ev.result.reasons.map((r) => `${r.message} — fix: ${r.fix}`).join(' | '),
          first !== undefined && EVALUATION_REASONS.includes(first.code),
          blockedHeadline(op.verb, m.name, ev.result.reasons),
        );
      }
      if (ev.result.decision === 'no-op')
        return end('no-op', '', `module '${m.name}' is in sync: nothing to ${op.verb}`);
      if (ev.result.decision !== 'allowed') {
        return end(
          'blocked',
          'internal',
          `unexpected guard decision ${JSON.stringify(ev.result.decision)}; stateguard failed closed`,
          true,
        );
      }
      say(allowedLine(ev.result.drift_keys));

      const dependenciesBefore: DependencyState[] = [];
      const ctx: OperationContext<O> = {
        out,
        scrub,
        say,
        end,
        started: () => void (started = true),
        dependenciesBefore,
        checkDependencies: () => checkDependencies(runtime, dependencies, dependenciesBefore, out),
      };
      const pre = op.preflight ? await op.preflight(ev, ctx) : {};
      if ('refused' in pre) return pre.refused;

      // Dependencies must be running (and healthy) before; the step compares them after.
      const listed = await listProjects(runtime, dependencies, pre.listed);
      for (const d of dependencies) {
        const listing = listed.get(d.compose.project)!;
        if (listing instanceof Error) throw listing;
        const s = dependencyState(d, listing);
        const problem = dependencyProblem(s);
        if (problem) {
          out.dependencies.push({ module: d.name, before: s, after: null, ok: false, problem });
          return end(
            'refused',
            'dependency-disturbed',
            `depends_on_healthy is not healthy before the ` +
              `${op.verb} (${problem}); nothing was run. Bring it back to running and healthy first.`,
          );
        }
        dependenciesBefore.push(s);
      }

      if (held.kind === 'peeked') return await op.dryRun!(ev, ctx, { name: held.name });
      return await op.step(ev, ctx);
    } catch (err) {
      // Fail closed: whatever broke, this is not a success.
      const reason: FailureReason = err instanceof EnvironmentError ? err.reason : 'internal';
      return end('failed', reason, `${op.verb} stopped: ${errorMessage(err)}`, true);
    }
  }
}
