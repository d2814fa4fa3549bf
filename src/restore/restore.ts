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
 * leaves the journal; `stateguard recover` finishes or reverts from it (src/ops/recover.ts).
 */
import path from 'node:path';
import { errorMessage, type FailureReason } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import type { ContainerInfo, DataMount, HelperSpec } from '../ports.js';
import { guardedOutcome, runGuarded } from '../ops/guarded.js';
import { outDirProblem, restoreSteps } from '../ops/dry-run.js';
import { evaluateRestore } from './evaluate.js';
import {
  interruptedOperation,
  Journal,
  journalCommon,
  operationKey,
  type RestoreJournalRecord,
} from '../ops/journal.js';
import { dataSidePreflight, helperPreflight } from '../ops/preflight.js';
import { forwardAll, markPhase, revertAll, stopAndSnapshot, wayBack, type StepDeps } from '../ops/steps.js';
import { stageArchive } from '../ops/stage.js';
import type { RestoreDeps, RestoreOutcome, RestoreRequest } from './types.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, Downtime } from '../report/progress.js';
import { capital } from '../guard/decide.js';

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
      const side = await dataSidePreflight(deps.runtime, m, 'restore');
      if ('refusal' in side) return { refused: ctx.end('refused', side.refusal.reason, side.refusal.message) };
      mounts = side.mounts;
      toStop = side.up;
      // A local image that can rename inside the volumes; never pulled.
      const h = await helperPreflight(
        deps.runtime,
        [req.helperImage, side.source.imageId],
        { mounts, key },
        (tried) =>
          `no local image can run restore's helper steps (a /bin/sh with mkdir, mv, rm, find, stat, df, wc, awk, ` +
          `chown, chmod, sync, cat): ${tried.join('; ')}. Pass helper-image (--helper-image) naming a ` +
          `local image that has them (e.g. a busybox image loaded with docker load); stateguard never pulls.`,
      );
      if ('refusal' in h) return { refused: ctx.end('refused', h.refusal.reason, h.refusal.message) };
      helper = h;
      out.helper_image = h.image;
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
      const record: RestoreJournalRecord = {
        operation: 'restore',
        ...journalCommon({
          module: m,
          helper: h,
          stopped: toStop,
          holder: req.holder,
          startedAt: req.now,
          backup: { path: backup.path, sha256: backup.sha256 ?? '' },
        }),
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
        const snap = await stopAndSnapshot({
          runtime: deps.runtime,
          module: m,
          stop: toStop,
          downtime,
          say: ctx.say,
          crash: deps.crash,
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
        await deps.crash?.('after-prepare');
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
        await deps.crash?.('after-swap');
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
  const t = capital(clause);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function failureOf(err: unknown): FailureReason {
  const r = (err as { reason?: unknown })?.reason;
  return r === 'snapshot-failed' || r === 'archive-mismatch' || r === 'volume-in-use' ? r : 'restore-failed';
}
