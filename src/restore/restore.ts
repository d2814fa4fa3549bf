/**
 * `stateguard restore` (docs/architecture.md §12): put a verified backup back onto a module's live
 * data volumes, atomically per volume and across volumes, through the engine only.
 *
 * Order: verify the archive and the operator's consent (before the lock: nothing to hold yet) →
 * lock → interrupted-operation check → fresh plan (hash binding, no drift but state) → resolve every
 * volume from the CURRENT declaration and the module's container, all or nothing → no overlapping
 * data mounts, no other running container on the data, no reserved name in it → helper image →
 * free space → journal `begun` → stop → verified pre-restore snapshot → stage every volume
 * (re-packed, never extracted from the untrusted archive) → `staged` → `swapping` → swap by renames
 * → `committed` → recreate on the new data → running and healthy → drop the old data → `done`.
 *
 * Before `committed` every failure reverts (old data, old containers started again); after it the
 * restore goes forward, and a service that does not come up on the restored data is reverted too
 * (`reverting`), so the module is never left running on data nobody checked. A crash anywhere
 * leaves the journal; `stateguard recover` finishes or reverts from it (./recover.ts).
 */
import path from 'node:path';
import type { BackupReport } from '../backup/types.js';
import { snapshotStopped } from '../backup/snapshot.js';
import { listServiceContainers } from '../drift/containers.js';
import type { DriftKey } from '../drift/types.js';
import { errorMessage, type FailureReason } from '../errors.js';
import { inputRef, setTrue, setValue } from '../report/words.js';
import {
  acceptedDespite,
  describeConfirmMismatch,
  orderReasons,
  type GuardReason,
  type GuardResult,
} from '../guard/decide.js';
import { planOne, verifyInputOf, type GuardDeps, type GuardEvaluation } from '../guard/evaluate.js';
import type { ModuleDecl } from '../model/module.js';
import { dataMountRefusal, overlapRefusal, type DataMountRefusal } from '../ops/data-mounts.js';
import type { ContainerInfo, DataMount, HelperSpec } from '../ports.js';
import {
  guardedOutcome,
  runGuarded,
  type GuardedDeps,
  type GuardedOutcome,
  type GuardedRequest,
} from '../ops/guarded.js';
import { outDirProblem, restoreSteps, type DryRunFields } from '../ops/dry-run.js';
import { interruptedOperation, Journal, operationKey, type JournalRecord } from './journal.js';
import {
  forwardAll,
  helperOf,
  markPhase,
  pickHelperImage,
  revertAll,
  stageArchive,
  wayBack,
  type CrashHook,
  type StepDeps,
} from './steps.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, Downtime } from '../report/progress.js';

/** Drift a restore may run with: it repairs a broken service's data; it never rolls out a definition. */
export const RESTORE_TOLERATED_DRIFT: readonly DriftKey[] = ['container.state.running', 'container.health'];

export interface RestoreRequest extends GuardedRequest {
  helperImage: string | undefined;
  /** where the pre-restore snapshot goes (default: the backup's directory) */
  outDir: string | undefined;
  readyTimeoutSeconds: number;
  /** check everything, touch nothing, say what would happen (docs/architecture.md §12, "Dry runs") */
  dryRun?: boolean;
  /** at most one progress line per this many milliseconds during the long copies (default 5000, §7) */
  progressIntervalMs?: number;
}

export interface RestoreDeps extends GuardedDeps, GuardDeps {
  crash?: CrashHook;
  sleep?: (ms: number) => Promise<void>;
}

export interface RestoreOutcome extends GuardedOutcome<'restored' | 'would-restore'>, DryRunFields {
  decision: 'restored' | 'would-restore' | 'blocked' | 'failed';
  backup: BackupReport | null;
  pre_restore_snapshot: string | null;
  volumes: { volume: string; entries: number; bytes: number }[];
  /** every reason it did not restore (the guard's, or the one failure) */
  reasons: GuardReason[];
  helper_image: string | null;
  /** true when a started restore put the old data back (before or after commit) */
  reverted: boolean;
  /**
   * what every volume holds at the end, from what the steps did (docs/architecture.md §12): `old`,
   * `backup`, or null when the data was not touched (refused, or the journal is kept for recover)
   */
  data: 'old' | 'backup' | null;
  /** ms from the stop to the service running again; null when nothing was stopped (§7, "Downtime and progress") */
  downtime_ms: number | null;
  /**
   * The image the backup's data was written by, from its manifest (docs/architecture.md §16), and
   * whether the module's container runs another one now: data of another version going back is
   * said, not refused. null when unknown (no backup, or a legacy archive).
   */
  backup_image: { ref: string; id: string; differs_from_running: boolean } | null;
  /** the warning said when `backup_image` differs from the running image */
  backup_image_note?: string;
}

/** The backup's data was written by another image than the module runs now (docs/architecture.md §16). */
function otherImageNote(module: string, image: { ref: string; id: string }, running: ContainerInfo): string {
  return (
    `restore ${module}: the backup's data was written by image ${image.ref} (${image.id.slice(0, 19)}); the ` +
    `module now runs ${running.imageRef} (${running.imageId.slice(0, 19)}). Data of another version is going ` +
    `back: make sure that version reads it.`
  );
}

const UP = new Set(['running', 'restarting', 'paused']);

function reason(code: FailureReason, message: string, fix: string, input?: string): GuardReason {
  return { code, message, fix, ...(input ? { input } : {}) };
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
    return reason(
      'archive-mismatch',
      `the backup is named for module '${backup.matched_module}', not '${m.name}'; ` +
        `${what} takes only the module's own backups (their layout is its declared volumes)`,
      `Pass a backup named ${m.name}-YYYYMMDDTHHMMSSZ.tar.gz.`,
      'backup-ref',
    );
  }
  if (layout.length > 0) {
    return reason(
      'archive-mismatch',
      `the backup's layout does not match the declared data volumes of '${m.name}': ` +
        layout.map((p) => p.message).join('; '),
      `Use a backup whose top-level directories are exactly ${m.volumes.map((v) => v.volume).join(', ')}.`,
      'backup-ref',
    );
  }
  if (backup.verified !== true) {
    return reason(
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
      reason(
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
      reason(
        'not-allowed',
        'allow-stateful is not true; a restore replaces live data',
        `${capitalized(setTrue('allow-stateful', surface))} to restore.`,
        'allow-stateful',
      ),
    );
  }
  let backup: BackupReport | null = null;
  if (!req.backupRef) {
    reasons.push(
      reason(
        'backup-rejected',
        'no backup-ref was given',
        `${capitalized(setValue('backup-ref', 'the .tar.gz to restore', surface))}.`,
      ),
    );
  } else {
    try {
      backup = await deps.verifyBackup(verifyInputOf({ ...req, backupRef: req.backupRef }, { ignoreMaxAge: true }));
    } catch (err) {
      reasons.push(
        reason(
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
      reason(
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
    reasons.push(reason(planned.reason, `the module could not be planned: ${planned.error}`, 'Fix the cause above.'));
  } else {
    plan = planned.plan;
    planHash = planned.hash;
    driftKeys = planned.plan.drift.map((d) => d.key);
    const other = planned.plan.drift.filter((d) => !RESTORE_TOLERATED_DRIFT.includes(d.key));
    if (other.length > 0) {
      reasons.push(
        reason(
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

/** The declared volumes as mounts of the module's container (never from the archive), all or nothing. */
export function resolveMounts(
  m: ModuleDecl,
  containers: readonly ContainerInfo[],
): { mounts: DataMount[]; source: ContainerInfo } | { problem: string } {
  const source = containers[0];
  if (!source) {
    return {
      problem:
        `no container of service '${m.compose.service}' (project '${m.compose.project}') exists to read the ` +
        `volumes' mounts from; create it without starting it (compose up --no-start ${m.compose.service}) and retry`,
    };
  }
  const mounts: DataMount[] = [];
  for (const v of m.volumes) {
    const mt = source.mounts.find((x) => x.destination === v.path);
    if (!mt || (mt.type !== 'volume' && mt.type !== 'bind')) {
      return {
        problem:
          `${v.path} (volume ${v.volume}) is not a volume or bind mount of ${source.name}; ` +
          `restoring it would write into the container's own layer. Fix spec.data.volumes or the compose file.`,
      };
    }
    mounts.push({
      volume: v.volume,
      kind: mt.type === 'volume' ? 'volume' : 'bind',
      source: mt.type === 'volume' ? (mt.name ?? mt.source) : mt.source,
    });
  }
  // One volume inside another (or the same one twice) would be swapped into the other (§12, "Data mounts").
  const overlap = overlapRefusal(m, source);
  if (overlap) return { problem: overlap.message };
  return { mounts, source };
}

function emptyOutcome(m: ModuleDecl, req: RestoreRequest): RestoreOutcome {
  return {
    ...guardedOutcome(m.name, req.expectedPlanHash),
    decision: 'failed',
    backup: null,
    pre_restore_snapshot: null,
    volumes: [],
    reasons: [],
    helper_image: null,
    reverted: false,
    data: null,
    dry_run: req.dryRun === true,
    steps: req.dryRun === true ? [] : null,
    downtime_ms: null,
    backup_image: null,
  };
}

/** Bytes of headroom on top of the staged data (directory blocks, the journal's own files). */
const SPACE_MARGIN = 16 * 1024 * 1024;

export async function restoreModule(req: RestoreRequest, deps: RestoreDeps): Promise<RestoreOutcome> {
  const m = req.module;
  const out = emptyOutcome(m, req);
  const key = operationKey(m.compose.project, m.compose.service);
  let mounts: DataMount[] = [];
  let toStop: ContainerInfo[] = [];
  let helper: HelperSpec | null = null;
  const clock = (): number => deps.now().getTime();
  const downtime = new Downtime(clock);
  const progress = { now: clock, intervalMs: req.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS };

  const finished = await runGuarded<RestoreOutcome>({
    verb: 'restore',
    request: req,
    deps,
    out,
    lockImages: [],
    lockTimeoutSeconds: req.readyTimeoutSeconds * 4 + 3600,
    evaluate: async () => {
      const r = await evaluateRestore(req, deps, out);
      if (out.backup_image_note) deps.log.warn(out.backup_image_note);
      return r;
    },
    interrupted: () => interruptedOperation(deps.runtime, m),
    preflight: async (_ev, ctx): Promise<{ refused: RestoreOutcome } | { listed?: undefined }> => {
      const containers = await listServiceContainers(deps.runtime, m.compose);
      const resolved = resolveMounts(m, containers);
      if ('problem' in resolved) return { refused: ctx.end('refused', 'not-restorable', resolved.problem) };
      mounts = resolved.mounts;
      toStop = containers.filter((c) => UP.has(c.state));
      if (toStop.some((c) => c.state === 'paused')) {
        return { refused: ctx.end('refused', 'not-restorable', `a container of '${m.name}' is paused; unpause it.`) };
      }
      // Another running container on the data would see it swapped under it; a volume holding the
      // reserved work-area name could not be swapped (§12, "Data mounts"). Checked before anything stops.
      const refusal = await dataMountRefusal({
        runtime: deps.runtime,
        module: m,
        source: resolved.source,
        own: containers,
        verb: 'restore',
      });
      if (refusal) return { refused: ctx.end('refused', refusalReason(refusal), refusal.message) };
      // A local image that can rename inside the volumes; never pulled.
      const picked = await pickHelperImage(deps.runtime, [req.helperImage, resolved.source.imageId]);
      if ('tried' in picked) {
        return {
          refused: ctx.end(
            'refused',
            'helper-unavailable',
            `no local image can run restore's helper steps (a /bin/sh with mkdir, mv, rm, find, stat, df, wc, awk, ` +
              `chown, chmod, sync, cat): ${picked.tried.join('; ')}. Pass helper-image (--helper-image) naming a ` +
              `local image that has them (e.g. a busybox image loaded with docker load); stateguard never pulls.`,
          ),
        };
      }
      helper = { image: picked.image, mounts, key };
      out.helper_image = picked.image;
      // Live and staged data coexist until the old data is dropped: the staged data must fit.
      const need = (out.backup?.uncompressed_bytes ?? 0) + SPACE_MARGIN;
      const byFs = new Map<string, { available: number; volumes: string[] }>();
      for (const s of await deps.runtime.mountSpace(helper)) {
        const e = byFs.get(s.filesystem) ?? { available: s.availableBytes, volumes: [] };
        e.volumes.push(s.volume);
        byFs.set(s.filesystem, e);
      }
      for (const [fs, e] of byFs) {
        if (e.available < need) {
          return {
            refused: ctx.end(
              'refused',
              'insufficient-space',
              `the filesystem ${fs} holding ${e.volumes.join(', ')} has ${e.available} bytes free; staging the ` +
                `backup next to the live data needs ${need} (the archive's ${need - SPACE_MARGIN} uncompressed ` +
                `bytes plus a margin). Free space there first. Nothing was changed.`,
            ),
          };
        }
      }
      return {};
    },
    // A dry run: every check above ran; say what the step would do, touch nothing (§12, "Dry runs").
    dryRun: req.dryRun
      ? async (_ev, ctx, lock) => {
          const backup = out.backup!;
          const outDir = req.outDir ?? path.dirname(backup.path);
          const problem = await outDirProblem(outDir);
          if (problem) {
            const w =
              `the pre-restore snapshot could not be written to ${outDir}: ${problem}; a real run would fail ` +
              `there and put everything back`;
            out.warnings.push(w);
            deps.log.warn(w);
          }
          out.steps = restoreSteps({
            module: m,
            lock: lock.name,
            toStop,
            mounts,
            helperImage: helper!.image,
            backup,
            outDir,
            readyTimeoutSeconds: req.readyTimeoutSeconds,
            dependencies: m.dependsOnHealthy,
            now: deps.now(),
          });
          return ctx.end(
            'would-restore',
            '',
            `dry run: the restore of '${m.name}' from ${path.basename(backup.path)} would proceed; every check ` +
              `passed and nothing was touched (no lock taken, nothing stopped, no file written).`,
          );
        }
      : undefined,
    step: async (_ev, ctx) => {
      const h = helper!;
      const backup = out.backup!;
      const record: JournalRecord = {
        operation: 'restore',
        module: m.name,
        project: m.compose.project,
        service: m.compose.service,
        backup: backup.path,
        backup_sha256: backup.sha256 ?? '',
        helper_image: h.image,
        mounts,
        roots: mounts.map(() => null),
        stopped: toStop.map((c) => c.id),
        compose_files: [m.compose.path],
        pre_restore_snapshot: null,
        holder: req.holder,
        started_at: req.now.toISOString(),
      };
      const journal = new Journal(deps.runtime, key, record, deps.now);
      const stepDeps: StepDeps = {
        runtime: deps.runtime,
        say: ctx.say,
        crash: deps.crash,
        readyTimeoutMs: req.readyTimeoutSeconds * 1000,
        sleep: deps.sleep,
        onReady: (service) => ctx.say(downtime.up(service)),
      };
      await deps.runtime.removeHelpers(key);
      ctx.started();
      await markPhase(journal, 'begun', deps);
      let committed = false;
      try {
        if (toStop.length) downtime.stopping();
        await deps.runtime.stop(toStop.map((c) => c.id));
        ctx.say(
          toStop.length ? downtime.stopped(toStop.map((c) => c.name).join(', ')) : 'stopped (nothing was running)',
        );
        deps.crash?.('after-stop');
        const snap = await snapshotStopped({
          module: m,
          runtime: deps.runtime,
          outDir: req.outDir ?? path.dirname(backup.path),
          now: deps.now(),
          log: deps.log,
          kind: 'pre-restore',
          progress,
        });
        out.pre_restore_snapshot = snap.path;
        record.pre_restore_snapshot = snap.path;
        ctx.say(`pre-restore snapshot written and verified: ${snap.path} (sha256 ${snap.sha256})`);
        await markPhase(journal, 'snapshotted', deps);

        await deps.runtime.prepareWorkArea(h);
        deps.crash?.('after-prepare');
        const repacked = await stageArchive(
          deps.runtime,
          h,
          {
            path: backup.path,
            sha256: backup.sha256 ?? '',
            layout: { module: m.name, volumes: m.volumes.map((v) => v.volume) },
            limits: { maxUncompressedBytes: req.maxUncompressedBytes, maxEntries: req.maxEntries },
          },
          {
            ...progress,
            say: (l) => deps.log.info(l),
            label: `restore ${m.name}: staging ${path.basename(backup.path)}`,
            total: backup.uncompressed_bytes,
          },
        );
        record.roots = repacked.volumes.map((v) => v.root);
        out.volumes = repacked.volumes.map((v) => ({ volume: v.volume, entries: v.entries, bytes: v.bytes }));
        ctx.say(`staged ${out.volumes.map((v) => `${v.volume} (${v.entries} entries, ${v.bytes} bytes)`).join(', ')}`);
        for (const w of repacked.warnings) ctx.say(`warning [${w.code}] ${w.message}${w.entry ? `: ${w.entry}` : ''}`);
        await markPhase(journal, 'staged', deps);
        await markPhase(journal, 'swapping', deps);
        await deps.runtime.swap(h, 'forward', record.roots);
        deps.crash?.('after-swap');
        await markPhase(journal, 'committed', deps);
        committed = true;
      } catch (err) {
        if (committed) throw err;
        const why = errorMessage(err);
        ctx.say(`restore stopped before the new data went live: ${why}; putting everything back`);
        out.reverted = true;
        try {
          const revert = await revertAll(journal, stepDeps, false);
          out.data = 'old';
          const tail = revert.problem
            ? ` ${sentenceOf(revert.data)} The service is not up again: ${revert.problem}.`
            : ` ${sentenceOf(revert.data)} The service runs on it.`;
          return ctx.end('failed', failureOf(err), `restore of '${m.name}' failed and was reverted: ${why}.${tail}`);
        } catch (revertErr) {
          return ctx.end(
            'failed',
            'restore-failed',
            `restore of '${m.name}' failed (${why}) and reverting failed too (${errorMessage(revertErr)}). ` +
              `The journal is kept on the engine: run \`stateguard recover --module ${m.name}\`. ` +
              `Pre-restore snapshot: ${out.pre_restore_snapshot ?? 'not written'}.`,
          );
        }
      }
      ctx.say(`every volume holds the backup's data (committed); recreating ${m.compose.service} on it`);
      try {
        const fwd = await forwardAll(journal, stepDeps);
        out.data = fwd.data;
        if (fwd.ok) {
          return ctx.end(
            'restored',
            '',
            `restored '${m.name}' from ${path.basename(backup.path)}; the service is running on it. ` +
              `Pre-restore snapshot: ${out.pre_restore_snapshot}.`,
          );
        }
        if (fwd.data === 'backup') {
          // Only when the old data was already gone (see forwardAll): words from what was done.
          return ctx.end(
            'failed',
            'restore-failed',
            `every volume of '${m.name}' holds the backup's data and the service is not healthy on it ` +
              `(${fwd.problem}); the old data of ${fwd.gone.join(', ')} is gone. To go back, ` +
              `${wayBack(m.name, out.pre_restore_snapshot)}.`,
          );
        }
        out.reverted = true;
        return ctx.end(
          'failed',
          'restore-failed',
          `restored data did not come up healthy (${fwd.problem}); ${fwd.revert.data}. ` +
            `Pre-restore snapshot: ${out.pre_restore_snapshot}.`,
        );
      } catch (err) {
        return ctx.end(
          'failed',
          'restore-failed',
          `restore of '${m.name}' did not finish after the new data went live: ${errorMessage(err)}. The journal is ` +
            `kept on the engine: run \`stateguard recover --module ${m.name}\`. ` +
            `Pre-restore snapshot: ${out.pre_restore_snapshot}.`,
        );
      }
    },
  });
  finished.decision =
    finished.status === 'restored' || finished.status === 'would-restore'
      ? finished.status
      : finished.status === 'failed'
        ? 'failed'
        : 'blocked';
  finished.downtime_ms = downtime.ms();
  if (finished.status !== 'restored' && finished.reasons.length === 0 && finished.failure_reason) {
    finished.reasons = [{ code: finished.failure_reason, message: finished.verdict, fix: '' }];
  }
  return finished;
}

/** A clause as a sentence: capitalised, with one full stop. */
function sentenceOf(clause: string): string {
  const t = clause.charAt(0).toUpperCase() + clause.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function failureOf(err: unknown): FailureReason {
  const r = (err as { reason?: unknown })?.reason;
  return r === 'snapshot-failed' || r === 'archive-mismatch' || r === 'volume-in-use' ? r : 'restore-failed';
}

/** The failure reason of a data-mount refusal in restore's and upgrade's preflight. */
export function refusalReason(r: DataMountRefusal): FailureReason {
  return r.kind === 'in-use' ? 'volume-in-use' : 'not-restorable';
}

export { helperOf };

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
