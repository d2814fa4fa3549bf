/**
 * The stateful-apply rule (docs/architecture.md §4), as one pure function.
 *
 * Every input arrives already evaluated — or as the error that stopped its evaluation — so the rule
 * itself can never throw and never has to guess: an input it cannot trust is a failed condition.
 * The decision is `allowed` only when nothing failed; there is no path from an error to `allowed`.
 *
 * failure_reason precedence (the single value a workflow branches on; every failed condition is
 * still listed in `reasons`, in this same order):
 *   1. could not evaluate the plan (docker-unavailable, compose-error, internal): nothing else
 *      about the module can be trusted, and whether any other condition even applies depends on it;
 *   2. drift-not-allowed: not a one-shot, or drift this path never applies. No input can fix it,
 *      so it comes before the conditions an operator could fix by re-dispatching, sparing them a
 *      backup and a confirmation that would be refused anyway;
 *   3. not-allowed: the explicit opt-in is missing;
 *   4. backup-rejected: the backup has to exist and verify before anyone can confirm it;
 *   5. confirm-mismatch: the confirmation asserts the backup is done, so it is checked last.
 *
 * A malformed request never reaches the rule: allow-stateful is typed `boolean` because the CLI and
 * action layers refuse anything but exactly `true`/`false` before any command runs (exit 3,
 * invalid-input; src/commands/inputs.ts, docs/architecture.md §10).
 *
 * The confirm value is never echoed: it is typed by a person into a free-text field, and a pasted
 * password would otherwise end up in the job log. The message says only how it differs (empty,
 * case, surrounding whitespace, or otherwise). The expected token is printed: it is repo
 * configuration written in the workflow, not a secret, and naming it is how the operator learns
 * what to type. The verified backup, not the token, is what protects the data.
 */
import { countedDrift } from '../drift/allow.js';
import { DRIFT_KEYS, type DriftKey, type ModulePlan } from '../drift/types.js';
import type { BackupProblem, BackupReport, BackupWarning } from '../backup/types.js';
import type { FailureReason } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import { inputRef, setValue, type Surface } from '../report/words.js';
import { appliedBy, howApplied, type AppliedBy } from './applies.js';

export type Decision = 'allowed' | 'no-op' | 'blocked';

/** One failed condition: what failed, and how to fix it (which input, what value is expected). */
export interface GuardReason {
  code: FailureReason;
  message: string;
  fix: string;
  /** the input to change, when an input can fix it */
  input?: string;
}

/** A reason, with the input that fixes it when there is one. */
export function guardReason(code: FailureReason, message: string, fix: string, input?: string): GuardReason {
  return { code, message, fix, ...(input ? { input } : {}) };
}

/** Something that could not be evaluated; carries the failure reason of its cause. */
export interface EvaluationError {
  error: string;
  reason: FailureReason;
}

export interface GuardInput {
  /** backup: its ref_modules name what to back up in the fix text (a sidecar's parent) */
  module: Pick<ModuleDecl, 'name' | 'class' | 'expectedState' | 'backup'> & { runtime?: ModuleDecl['runtime'] };
  /** the fresh plan of exactly this module, or why there is none */
  plan: ModulePlan | EvaluationError;
  allowStateful: boolean;
  confirm: string | undefined;
  confirmToken: string;
  /**
   * The verify-backup report for backup_ref; `undefined` when no backup_ref was given; an
   * EvaluationError when verification itself failed.
   */
  backup: BackupReport | EvaluationError | undefined;
  /** where the fixes are read: CLI flags (`--allow-stateful`, the default) or action inputs */
  surface?: Surface;
}

export interface GuardResult {
  module: string;
  decision: Decision;
  reasons: GuardReason[];
  /** drift keys of the fresh plan (empty when it could not be evaluated) */
  drift_keys: DriftKey[];
  /** the backup verdict the decision used, or null when none was needed or given */
  backup: {
    verified: boolean;
    path: string | null;
    matched_module: string | null;
    problems: BackupProblem[];
    /**
     * what the backup was accepted despite (docs/architecture.md §16): `legacy-archive` (no manifest,
     * allow-legacy-archive) or `shrink-allowed` (allow-shrink); present only when there is one
     */
    accepted_despite?: BackupWarning[];
  } | null;
  /** '' unless blocked */
  failure_reason: FailureReason | '';
  /**
   * Which path applies the change (docs/architecture.md §4, "What allowed means"): `allowed` means only
   * that the stateful rule does not block it. '' for no-op. Optional: added in issue 25.
   */
  applied_by?: AppliedBy | '';
  /** the same in words, naming the command (and the flags or inputs); '' for no-op */
  how_applied?: string;
}

/** The only drift the stateful path may apply: a pending (re-)run of a one-shot. */
export const STATEFUL_APPLICABLE_DRIFT: readonly DriftKey[] = ['container.state.exited_success'];

const EVALUATION_REASONS: readonly FailureReason[] = ['docker-unavailable', 'compose-error', 'internal'];

/** Order of failure reasons from most to least fundamental (see the file comment). */
export const FAILURE_PRECEDENCE: readonly FailureReason[] = [
  ...EVALUATION_REASONS,
  'drift-not-allowed',
  'not-allowed',
  'backup-rejected',
  'confirm-mismatch',
];

export function isEvaluationError(x: unknown): x is EvaluationError {
  return typeof x === 'object' && x !== null && 'error' in x && 'reason' in x;
}

/** How a given confirm differs from the token, without revealing what was typed. */
export function describeConfirmMismatch(confirm: string | undefined, token: string): string | null {
  if (confirm === token) return null;
  if (confirm === undefined || confirm === '') return 'confirm is empty';
  const trimmed = confirm.trim();
  if (trimmed === '') return 'confirm is only whitespace';
  if (trimmed === token) return 'confirm differs from the token only by surrounding whitespace';
  if (confirm.toLowerCase() === token.toLowerCase()) return 'confirm differs from the token only by letter case';
  if (trimmed.toLowerCase() === token.toLowerCase()) {
    return 'confirm differs from the token by letter case and surrounding whitespace';
  }
  if (confirm.replace(/\s+/g, '') === token.replace(/\s+/g, ''))
    return 'confirm differs from the token by whitespace inside it';
  return 'confirm does not equal the token';
}

/**
 * Check that a plan is a coherent plan of this module. A plan that contradicts itself or names
 * another module is a bad plan: evaluation failed, so the guard blocks.
 */
export function planProblem(module: GuardInput['module'], plan: ModulePlan): string | null {
  if (plan.name !== module.name) return `the plan is of module '${plan.name}', not '${module.name}'`;
  if (plan.class !== module.class) return `the plan says class '${plan.class}' but module.yaml says '${module.class}'`;
  if (plan.expected_state !== module.expectedState) {
    return `the plan says expected_state '${plan.expected_state}' but module.yaml says '${module.expectedState}'`;
  }
  if (!Array.isArray(plan.drift)) return 'the plan has no drift list';
  const unknown = plan.drift.filter((d) => !DRIFT_KEYS.includes(d?.key));
  if (unknown.length > 0)
    return `the plan has unknown drift keys: ${unknown.map((d) => JSON.stringify(d?.key)).join(', ')}`;
  const open = plan.interrupted_operation?.status === 'open';
  // Allowed drift (docs/architecture.md §3, "Drift allowlist") is listed but does not count.
  const counted = countedDrift(plan.drift);
  if (plan.in_sync !== (counted.length === 0 && !open)) {
    return (
      `the plan says in_sync=${String(plan.in_sync)} with ${counted.length} drift item(s) that count ` +
      `(${plan.drift.length - counted.length} allowed)`
    );
  }
  return null;
}

function backupSummary(b: BackupReport | EvaluationError | undefined): GuardResult['backup'] {
  if (b === undefined) return null;
  if (isEvaluationError(b)) {
    return { verified: false, path: null, matched_module: null, problems: [{ code: 'unreadable', message: b.error }] };
  }
  const despite = acceptedDespite(b);
  return {
    verified: b.verified === true,
    path: b.path,
    matched_module: b.matched_module,
    problems: b.problems ?? [],
    ...(despite.length ? { accepted_despite: despite } : {}),
  };
}

/** The warnings a backup was accepted despite, which every command that uses it says loudly (§16). */
export function acceptedDespite(b: Pick<BackupReport, 'verified' | 'warnings'>): BackupWarning[] {
  if (b.verified !== true) return [];
  return (b.warnings ?? []).filter((w) => w.code === 'legacy-archive' || w.code === 'shrink-allowed');
}

/**
 * How to take the backup that would cover the module, naming real modules: a sidecar is covered by
 * its parent's backups (backup.ref_modules), a stateful module by its own. Never a placeholder.
 */
export function backupFix(module: GuardInput['module'], surface: Surface = 'cli'): string {
  const parents = (module.backup?.refModules ?? []).filter((r) => r !== module.name);
  const sources = module.class === 'sidecar' && parents.length > 0 ? parents : [module.name];
  const first = sources[0]!;
  const which = sources.map((s) => `'${s}'`).join(' or ');
  return (
    `Take a backup of ` +
    `${which} with \`stateguard snapshot --module ${first} --out-dir DIR\` (DIR under a ` +
    `${inputRef('backup-root', surface)}) and ${setValue('backup-ref', 'the archive it writes', surface)}.`
  );
}

export function decide(input: GuardInput): GuardResult {
  const { module } = input;
  const surface = input.surface ?? 'cli';
  const reasons: GuardReason[] = [];
  let driftKeys: DriftKey[] = [];
  let planKnown = false;

  if (isEvaluationError(input.plan)) {
    reasons.push({
      code: EVALUATION_REASONS.includes(input.plan.reason) ? input.plan.reason : 'internal',
      message: `could not plan module '${module.name}': ${input.plan.error}`,
      fix:
        'Fix the cause above (engine reachable, compose file renders) and run again; the guard never allows what ' +
        'it cannot plan.',
    });
  } else {
    const problem = planProblem(module, input.plan);
    if (problem) {
      reasons.push({
        code: 'internal',
        message: `the plan of module '${module.name}' cannot be trusted: ${problem}`,
        fix: 'Re-run the plan; if this persists, report it: stateguard failed closed.',
      });
    } else {
      planKnown = true;
      // Allowed drift never needs allow-stateful or confirm: only what counts is judged (docs/architecture.md §4).
      driftKeys = [...new Set(countedDrift(input.plan.drift).map((d) => d.key))];
      const io = input.plan.interrupted_operation;
      if (io?.status === 'open') {
        reasons.push({
          code: 'interrupted-operation',
          message: io.message,
          fix: `Run \`stateguard recover --module ${module.name}\` first.`,
        });
      }
    }
  }

  if (planKnown && reasons.length === 0 && driftKeys.length === 0) {
    return {
      module: module.name,
      decision: 'no-op',
      reasons: [],
      drift_keys: [],
      backup: null,
      failure_reason: '',
      applied_by: '',
      how_applied: '',
    };
  }
  if (planKnown && reasons.length === 0 && module.class === 'stateless') {
    return {
      module: module.name,
      decision: 'allowed',
      reasons: [],
      drift_keys: driftKeys,
      backup: null,
      failure_reason: '',
      applied_by: appliedBy(module, driftKeys),
      how_applied: howApplied(module, driftKeys, surface),
    };
  }

  // From here: something already failed, or a stateful/sidecar module has drift. The stateful
  // conditions are checked whenever there is (or, with an unknown plan, may be) something to
  // apply, so the operator sees the complete list in one run rather than one reason per retry.
  const stateful = module.class !== 'stateless' && (!planKnown || driftKeys.length > 0);

  if (stateful) {
    if (module.expectedState !== 'exited-success') {
      reasons.push({
        code: 'drift-not-allowed',
        message:
          `module '${module.name}' is ${module.class} and long-running (expected_state: ` +
          `${module.expectedState}); the stateful path only re-runs one-shots (expected_state: exited-success)`,
        fix: howApplied(module, planKnown ? driftKeys : undefined, surface),
      });
    }
    if (planKnown) {
      const notApplicable = driftKeys.filter((k) => !STATEFUL_APPLICABLE_DRIFT.includes(k));
      if (notApplicable.length > 0) {
        reasons.push({
          code: 'drift-not-allowed',
          message:
            `module '${module.name}' has drift this path never applies to a ` +
            `${module.class} module: ${notApplicable.join(', ')} (only ${STATEFUL_APPLICABLE_DRIFT.join(', ')} is ` +
            `applied)`,
          fix:
            unverifiableFix(input.plan) ??
            (module.expectedState === 'exited-success'
              ? 'Resolve that drift by hand with a backup in place, then re-plan.'
              : howApplied(module, driftKeys, surface)),
        });
      }
    }
    if (input.allowStateful !== true) {
      reasons.push({
        code: 'not-allowed',
        input: 'allow-stateful',
        message: `allow-stateful is not true; module '${module.name}' is ${module.class}`,
        fix:
          surface === 'action'
            ? "Set allow-stateful: 'true' (the workflow's allow_stateful checkbox) to change a stateful or sidecar " +
              'module.'
            : 'Pass --allow-stateful to change a stateful or sidecar module.',
      });
    }
    const backup = input.backup;
    if (backup === undefined) {
      reasons.push({
        code: 'backup-rejected',
        input: 'backup-ref',
        message: 'no backup-ref was given',
        fix: backupFix(module, surface),
      });
    } else if (isEvaluationError(backup)) {
      reasons.push({
        code: 'backup-rejected',
        input: 'backup-ref',
        message: `the backup could not be verified: ${backup.error}`,
        fix:
          `${capital(setValue('backup-ref', 'a readable .tar.gz', surface))} under a ` +
          `${inputRef('backup-root', surface)}; run stateguard verify-backup to see why.`,
      });
    } else if (backup.verified !== true || (backup.problems ?? []).length > 0) {
      const problems = backup.problems ?? [];
      const listed = problems.length
        ? problems.map((p) => `${p.code}: ${p.message}`).join('; ')
        : 'verify-backup did not confirm it';
      reasons.push({
        code: 'backup-rejected',
        input: 'backup-ref',
        message: `backup-ref ${backup.path} did not pass verify-backup (${listed})`,
        fix:
          'Fix each backup problem listed (or take a fresh snapshot) and ' +
          `${setValue('backup-ref', 'that path', surface)}.`,
      });
    }
    const mismatch = describeConfirmMismatch(input.confirm, input.confirmToken);
    // A blank token (empty or only whitespace) would let an equally blank confirm — the value of an
    // untouched text field — count as the operator's assertion: no confirmation can match it.
    const blankToken = input.confirmToken.trim() === '';
    if (mismatch !== null || blankToken) {
      reasons.push({
        code: 'confirm-mismatch',
        input: 'confirm',
        message: blankToken
          ? 'the confirm token is empty or only whitespace, so no confirmation can match'
          : `${mismatch} (the value given is not shown)`,
        fix: blankToken
          ? `Set ${inputRef('confirm-token', surface)} to a non-empty value (default BACKUP_DONE).`
          : `Set ${inputRef('confirm', surface)} to exactly ` +
            `${JSON.stringify(input.confirmToken)} (case-sensitive, no spaces) once the backup is done.`,
      });
    }
  }

  const ordered = orderReasons(reasons);
  // Defensive: an unknown plan or any reason is a block. No branch can reach 'allowed' otherwise.
  if (ordered.length === 0 && !planKnown) {
    ordered.push({
      code: 'internal',
      message: 'the plan could not be evaluated',
      fix: 'Re-run; stateguard failed closed.',
    });
  }
  if (ordered.length > 0) {
    return {
      module: module.name,
      decision: 'blocked',
      reasons: ordered,
      drift_keys: driftKeys,
      backup: backupSummary(input.backup),
      failure_reason: ordered[0]!.code,
      applied_by: appliedBy(module, driftKeys),
      how_applied: howApplied(module, planKnown ? driftKeys : undefined, surface),
    };
  }
  return {
    module: module.name,
    decision: 'allowed',
    reasons: [],
    drift_keys: driftKeys,
    backup: backupSummary(input.backup),
    failure_reason: '',
    applied_by: appliedBy(module, driftKeys),
    how_applied: howApplied(module, driftKeys, surface),
  };
}

/** The text with its first letter in upper case. */
export function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Stable sort by FAILURE_PRECEDENCE; reasons outside it go last (still listed, still blocking). */
export function orderReasons(reasons: readonly GuardReason[]): GuardReason[] {
  const rank = (r: GuardReason): number => {
    const i = FAILURE_PRECEDENCE.indexOf(r.code);
    return i === -1 ? FAILURE_PRECEDENCE.length : i;
  };
  return reasons
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)
    .map((x) => x.r);
}

/**
 * The way forward when a one-shot's container is gone and stateguard holds no record of its last
 * successful run: nothing can show that the image about to run is the one that ran before, so the
 * operator makes it comparable deliberately (a created, never-started container of the declared
 * service) and reviews the plan again.
 */
function unverifiableFix(plan: ModulePlan | EvaluationError): string | null {
  if ('error' in plan) return null;
  if (!plan.drift.some((d) => d.key === 'container.image' && d.reason === 'unverifiable')) return null;
  const { project, service, file } = plan.compose;
  return (
    `The one-shot's container was removed and stateguard has no record of its last successful run, so the image it ` +
    `would run now ` +
    `cannot be compared with the one that ran against the data. Check the declared image, then create (not start) ` +
    `the container ` +
    `so the plan can compare it: 'docker compose -p ${project} -f ${file} up --no-start --no-deps ${service}' ` +
    `(v1: 'docker-compose' with the same arguments); re-plan, review, and apply.`
  );
}
