/**
 * The restore rule (docs/architecture.md §12, "Rule"), instead of the stateful-apply guard: a
 * restorable module, allow-stateful, a verified backup of this module (backupVerdict, which drill
 * shares), the backup's file name as confirm, no drift but state. Fills the outcome's backup, its
 * image and reasons as it goes.
 */
import path from 'node:path';
import type { BackupReport } from '../backup/types.js';
import type { DriftKey } from '../drift/types.js';
import { errorMessage } from '../errors.js';
import { inputRef, setTrue, setValue } from '../report/words.js';
import {
  acceptedDespite,
  describeConfirmMismatch,
  orderReasons,
  capital,
  guardReason,
  type GuardReason,
  type GuardResult,
} from '../guard/decide.js';
import { planOne, verifyInputOf, type GuardDeps, type GuardEvaluation } from '../guard/evaluate.js';
import type { ModuleDecl } from '../model/module.js';
import type { ContainerInfo } from '../ports.js';
import type { RestoreOutcome, RestoreRequest } from './types.js';

/** Drift a restore may run with: it repairs a broken service's data; it never rolls out a definition. */
export const RESTORE_TOLERATED_DRIFT: readonly DriftKey[] = ['container.state.running', 'container.health'];
/** The backup's data was written by another image than the module runs now (docs/architecture.md §16). */
function otherImageNote(module: string, image: { ref: string; id: string }, running: ContainerInfo): string {
  return (
    `restore ${module}: the backup's data was written by image ${image.ref} (${image.id.slice(0, 19)}); the ` +
    `module now runs ${running.imageRef} (${running.imageId.slice(0, 19)}). Data of another version is going ` +
    `back: make sure that version reads it.`
  );
}
/**
 * Why a verify-backup report cannot be restored into module `m` (or null): it must verify and be the
 * module's own backup, whose layout is exactly the module's declared volumes (`archive-mismatch`).
 */
export function backupVerdict(m: ModuleDecl, backup: BackupReport, what: string): GuardReason | null {
  // The archive's own layout, and its manifest's volumes and project (docs/architecture.md §16): all or nothing.
  const layout = backup.problems.filter((p) =>
    ['layout-mismatch', 'no-data-volumes', 'manifest-volumes', 'manifest-wrong-project'].includes(p.code),
  );
  if (backup.verified === true && backup.matched_module !== m.name) {
    return guardReason(
      'archive-mismatch',
      `the backup is named for module '${backup.matched_module}', not '${m.name}'; ` +
        `${what} takes only the module's own backups (their layout is its declared volumes)`,
      `Pass a backup named ${m.name}-YYYYMMDDTHHMMSSZ.tar.gz.`,
      'backup-ref',
    );
  }
  if (layout.length > 0) {
    return guardReason(
      'archive-mismatch',
      `the backup's layout does not match the declared data volumes of '${m.name}': ` +
        layout.map((p) => p.message).join('; '),
      `Use a backup whose top-level directories are exactly ${m.volumes.map((v) => v.volume).join(', ')}.`,
      'backup-ref',
    );
  }
  if (backup.verified !== true) {
    return guardReason(
      'backup-rejected',
      `the backup did not verify: ${backup.problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`,
      'Pass a backup that stateguard verify-backup accepts.',
      'backup-ref',
    );
  }
  return null;
}

/** The restore rule: restorable module, allow-stateful, a verified backup of this module, the exact confirm. */
export async function evaluateRestore(
  req: RestoreRequest,
  deps: GuardDeps,
  out: RestoreOutcome,
): Promise<GuardEvaluation> {
  const m = req.module;
  const surface = req.surface ?? 'cli';
  const reasons: GuardReason[] = [];
  if (m.class !== 'stateful' || m.volumes.length === 0) {
    reasons.push(
      guardReason(
        'not-restorable',
        `module '${m.name}' is ${m.class}${m.volumes.length === 0 ? ' and declares no data volumes' : ''}; ` +
          `restore acts only on a stateful module with spec.data.volumes`,
        `Restore the module that owns the data (class: stateful, spec.data.volumes).`,
        'module',
      ),
    );
  }
  if (req.allowStateful !== true) {
    reasons.push(
      guardReason(
        'not-allowed',
        'allow-stateful is not true; a restore replaces live data',
        `${capital(setTrue('allow-stateful', surface))} to restore.`,
        'allow-stateful',
      ),
    );
  }
  let backup: BackupReport | null = null;
  if (!req.backupRef) {
    reasons.push(
      guardReason(
        'backup-rejected',
        'no backup-ref was given',
        `${capital(setValue('backup-ref', 'the .tar.gz to restore', surface))}.`,
      ),
    );
  } else {
    try {
      backup = await deps.verifyBackup(verifyInputOf({ ...req, backupRef: req.backupRef }, { ignoreMaxAge: true }));
    } catch (err) {
      reasons.push(
        guardReason(
          'backup-rejected',
          `verifying the backup failed: ${errorMessage(err)}`,
          `Check ${inputRef('backup-ref', surface)}.`,
        ),
      );
    }
  }
  out.backup = backup;
  if (backup) {
    const problem = backupVerdict(m, backup, 'a restore');
    if (problem) reasons.push(problem);
  }
  if (backup?.verified === true && backup.manifest) {
    // Which image wrote the data going back (docs/architecture.md §16): said, never a reason to refuse.
    const running = (await deps.runtime.listProjectContainers(m.compose.project).catch(() => [])).find(
      (c) => c.service === m.compose.service && !c.oneoff,
    );
    const image = backup.manifest.image;
    const differs = running !== undefined && running.imageId !== image.id;
    out.backup_image = { ...image, differs_from_running: differs };
    if (differs) out.backup_image_note = otherImageNote(m.name, image, running);
  }
  // The operator names the file that is about to replace the live data.
  const fileName = backup?.path ? path.basename(backup.path) : path.basename(req.backupRef ?? '');
  const mismatch = describeConfirmMismatch(req.confirm, fileName);
  if (mismatch !== null || fileName === '') {
    reasons.push(
      guardReason(
        'confirm-mismatch',
        `${mismatch ?? 'confirm is empty'}: restore's confirm must be the backup's file name exactly`,
        `Type the backup's file name as ${inputRef('confirm', surface)} (` +
          `${fileName || 'MODULE-YYYYMMDDTHHMMSSZ.tar.gz'}).`,
        'confirm',
      ),
    );
  }
  const planned = await planOne(req.modules, m, deps);
  let driftKeys: DriftKey[] = [];
  let planHash: string | null = null;
  let plan = null;
  if ('error' in planned) {
    reasons.push(
      guardReason(planned.reason, `the module could not be planned: ${planned.error}`, 'Fix the cause above.'),
    );
  } else {
    plan = planned.plan;
    planHash = planned.hash;
    driftKeys = planned.plan.drift.map((d) => d.key);
    const other = planned.plan.drift.filter((d) => !RESTORE_TOLERATED_DRIFT.includes(d.key));
    if (other.length > 0) {
      reasons.push(
        guardReason(
          'drift-not-allowed',
          `the module has drift a restore would roll out with it (${other.map((d) => d.key).join(', ')}): restore ` +
            `recreates the service from its current declaration, so it must already run that declaration`,
          'Apply or upgrade the definition first (or deploy the module), then restore.',
        ),
      );
    }
  }
  const ordered = orderReasons(reasons);
  const result: GuardResult = {
    module: m.name,
    decision: ordered.length ? 'blocked' : 'allowed',
    reasons: ordered,
    drift_keys: driftKeys,
    backup: backup
      ? {
          verified: backup.verified === true,
          path: backup.path,
          matched_module: backup.matched_module,
          problems: backup.problems,
          ...(acceptedDespite(backup).length ? { accepted_despite: acceptedDespite(backup) } : {}),
        }
      : null,
    failure_reason: ordered[0]?.code ?? '',
  };
  out.reasons = ordered;
  return { result, plan, planHash };
}
