/**
 * Gathers the guard's inputs (a fresh plan of the module, the backup verdict) and decides.
 *
 * The plan and verify functions are passed in: the commands pass the real ones, unit tests pass
 * fakes. Every error while gathering becomes an EvaluationError that the rule turns into a block;
 * nothing here can turn a failure into `allowed`.
 */
import type { BackupReport } from '../backup/types.js';
import type { ModulePlan, Plan } from '../drift/types.js';
import { EnvironmentError, UserError, errorMessage, type FailureReason } from '../errors.js';
import type { VerifyBackupInput } from '../backup/verify.js';
import type { ModuleDecl } from '../model/module.js';
import type { Runtime } from '../ports.js';
import type { Surface } from '../report/words.js';
import { countedDrift } from '../drift/allow.js';
import { decide, type EvaluationError, type GuardResult } from './decide.js';

export type PlanModulesFn = (
  modules: ModuleDecl[],
  runtime: Runtime,
  opts?: { only?: string[]; now?: Date },
) => Promise<Plan>;
export type { VerifyBackupInput };
export type VerifyBackupFn = (input: VerifyBackupInput) => Promise<BackupReport>;

export interface GuardDeps {
  runtime: Runtime;
  planModules: PlanModulesFn;
  verifyBackup: VerifyBackupFn;
}

export interface GuardRequest {
  /** every module of the repo (planning may need them all), and the one decided on */
  modules: ModuleDecl[];
  module: ModuleDecl;
  allowStateful: boolean;
  confirm: string | undefined;
  confirmToken: string;
  backupRef: string | undefined;
  backupRoots: string[];
  cwd: string;
  now: Date;
  maxUncompressedBytes: number;
  maxEntries: number;
  /** provenance (docs/architecture.md §16); absent: the strict defaults (manifest required, 50% shrink hold) */
  allowLegacyArchive?: boolean;
  maxShrinkPercent?: number;
  allowShrink?: boolean;
  /** where the fixes are read: CLI flags (default) or action inputs */
  surface?: Surface;
}

export interface GuardEvaluation {
  result: GuardResult;
  /** the fresh plan of the module, null when it could not be made */
  plan: ModulePlan | null;
  /**
   * The module's own plan_hash in its fresh plan (drift + declared definition): the value every
   * plan prints for that module, which apply's --expected-plan-hash is compared with.
   */
  planHash: string | null;
}

/** verify-backup's input from a request's backup fields (restore and the drill take any age: ignoreMaxAge). */
export function verifyInputOf(
  req: Omit<VerifyBackupInput, 'ignoreMaxAge'>,
  opts: { ignoreMaxAge?: boolean } = {},
): VerifyBackupInput {
  return {
    backupRef: req.backupRef,
    cwd: req.cwd,
    module: req.module,
    modules: req.modules,
    backupRoots: req.backupRoots,
    now: req.now,
    maxUncompressedBytes: req.maxUncompressedBytes,
    maxEntries: req.maxEntries,
    ...(opts.ignoreMaxAge ? { ignoreMaxAge: true } : {}),
    ...(req.allowLegacyArchive !== undefined ? { allowLegacyArchive: req.allowLegacyArchive } : {}),
    ...(req.maxShrinkPercent !== undefined ? { maxShrinkPercent: req.maxShrinkPercent } : {}),
    ...(req.allowShrink !== undefined ? { allowShrink: req.allowShrink } : {}),
  };
}

export function evaluationError(err: unknown): EvaluationError {
  let reason: FailureReason = 'internal';
  if (err instanceof EnvironmentError) reason = err.reason;
  else if (err instanceof UserError) reason = err.reason;
  return { error: errorMessage(err), reason };
}

/** Plan exactly one module, fresh. Returns its plan and hash, or why it could not be planned. */
export async function planOne(
  modules: ModuleDecl[],
  module: ModuleDecl,
  deps: Pick<GuardDeps, 'runtime' | 'planModules'>,
  now?: Date,
): Promise<{ plan: ModulePlan; hash: string } | EvaluationError> {
  try {
    // The request's clock decides which drift allowances are live (docs/architecture.md §3, "Drift allowlist").
    const plan = await deps.planModules(modules, deps.runtime, { only: [module.name], ...(now ? { now } : {}) });
    const mine = plan.modules.filter((m) => m.name === module.name);
    if (mine.length !== 1) {
      return {
        error: `the plan has ${mine.length} entries for module '${module.name}' (expected exactly 1)`,
        reason: 'internal',
      };
    }
    const hash = mine[0]!.plan_hash;
    // Fail closed: a plan without a well-formed module hash binds nothing.
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
      return { error: `the plan of module '${module.name}' carries no valid plan_hash`, reason: 'internal' };
    }
    return { plan: mine[0]!, hash };
  } catch (err) {
    return evaluationError(err);
  }
}

export async function evaluateGuard(req: GuardRequest, deps: GuardDeps): Promise<GuardEvaluation> {
  const planned = await planOne(req.modules, req.module, deps, req.now);
  const plan = 'error' in planned ? planned : planned.plan;
  // The backup is read only when it can matter: a stateful/sidecar module with drift, or one whose
  // plan is unknown (then every condition is reported at once).
  const needsBackup =
    req.module.class !== 'stateless' && ('error' in planned || countedDrift(planned.plan.drift).length > 0);
  let backup: BackupReport | EvaluationError | undefined;
  if (needsBackup && req.backupRef) {
    try {
      backup = await deps.verifyBackup(verifyInputOf({ ...req, backupRef: req.backupRef }));
    } catch (err) {
      backup = evaluationError(err);
    }
  }
  const result = decide({
    module: req.module,
    plan,
    allowStateful: req.allowStateful,
    confirm: req.confirm,
    confirmToken: req.confirmToken,
    backup,
    ...(req.surface ? { surface: req.surface } : {}),
  });
  return { result, plan: 'error' in planned ? null : planned.plan, planHash: 'error' in planned ? null : planned.hash };
}
