/**
 * `stateguard upgrade` (docs/architecture.md §13): a health-gated upgrade of a long-running stateful
 * module, held before anything is touched when the bump is major/unknown or the release notes flag
 * a manual migration, and rolled back WITH its data when the new version is not healthy.
 *
 * Order: pre-deploy gate (before the lock: a hold touches nothing and writes nothing) → lock →
 * interrupted-operation check → fresh plan and the same gate again → mounts, helper image, target
 * image present → pin the previous image by ID under a stateguard tag → journal `begun` → stop →
 * verified snapshot → `snapshotted` → `deploying` → recreate only this service on the new image →
 * health gate (running, healthy, not restarting, for a settle window) → no other container of the
 * project was recreated → last-known-good record → `done`.
 *
 * Any failure after `deploying` — deploy error, exit, restart loop, unhealthy, timeout, another
 * container recreated — rolls back (./rollback.ts); a SIGKILL leaves the journal and `recover` rolls
 * back from it. Before `deploying` nothing ran on the data: the stopped containers start again.
 */
import { listServiceContainers } from '../drift/containers.js';
import { errorMessage } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import { guardedOutcome, runGuarded } from '../ops/guarded.js';
import type { ContainerDefinition, ContainerInfo, DataMount, HelperSpec, LastKnownGood } from '../ports.js';
import { outDirProblem, upgradeSteps } from '../ops/dry-run.js';
import {
  interruptedOperation,
  Journal,
  journalCommon,
  operationKey,
  type UpgradeJournalRecord,
} from '../ops/journal.js';
import { dataSidePreflight, helperPreflight } from '../ops/preflight.js';
import { markPhase, stopAndSnapshot, type StepDeps } from '../ops/steps.js';
import { evaluateUpgrade } from './evaluate.js';
import { healthGate, type HealthGate } from './health.js';
import { PINNED_KEEP, prunePinnedImages } from './pinned-images.js';
import { describeRollback, describeRollbackFailure, rollBack } from './rollback.js';
import type { UpgradeDeps, UpgradeOutcome, UpgradeRequest } from './types.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, Downtime } from '../report/progress.js';

function emptyOutcome(m: ModuleDecl, req: UpgradeRequest): UpgradeOutcome {
  return {
    ...guardedOutcome(m.name, req.expectedPlanHash),
    decision: 'failed',
    from: { image: null, image_id: null },
    to: { image: null, image_id: null },
    bump: null,
    snapshot: null,
    release_notes: null,
    pinned_image: null,
    removed_pinned_images: [],
    last_known_good: null,
    reasons: [],
    acknowledged_migration: null,
    dry_run: req.dryRun === true,
    steps: req.dryRun === true ? [] : null,
    downtime_ms: null,
  };
}

function finish(o: UpgradeOutcome): UpgradeOutcome {
  if (o.failure_reason === 'held-major' || o.failure_reason === 'held-manual-migration') {
    o.status = 'held';
    o.decision = 'held';
  } else if (o.status === 'upgraded' || o.status === 'rolled-back' || o.status === 'would-upgrade')
    o.decision = o.status;
  else if (o.status === 'failed') o.decision = 'failed';
  else o.decision = 'blocked';
  return o;
}

export async function upgradeModule(req: UpgradeRequest, deps: UpgradeDeps): Promise<UpgradeOutcome> {
  const m = req.module;
  const out = emptyOutcome(m, req);
  // The pre-deploy gate first, before the lock: a hold touches nothing on the engine and writes nothing.
  const pre = await evaluateUpgrade(req, deps, out);
  if (pre.gate?.held) {
    out.plan_hash = pre.planHash;
    out.status = 'held';
    out.failure_reason = pre.gate.failure_reason || 'held-major';
    out.verdict = `upgrade of '${m.name}' held before anything was touched: ${pre.gate.message}`;
    out.messages.push(out.verdict);
    // The reason itself is listed once (reasons, with its fix); the log says only that it was held.
    deps.log.warn(`upgrade of '${m.name}': held (${out.failure_reason})`);
    return finish(out);
  }
  const key = operationKey(m.compose.project, m.compose.service);
  const upgradeSettings = m.upgrade;
  const gate: HealthGate = {
    timeoutMs: (req.healthTimeoutSeconds ?? upgradeSettings?.healthTimeoutSeconds ?? 120) * 1000,
    settleMs: (req.settleSeconds ?? upgradeSettings?.settleSeconds ?? 10) * 1000,
    sleep: deps.sleep,
    intervalMs: deps.pollMs,
  };
  let mounts: DataMount[] = [];
  let running: ContainerInfo[] = [];
  let helper: HelperSpec | null = null;
  let previousImageId = '';
  let previousConfigHash = '';
  let previous: ContainerDefinition[] = [];
  const clock = (): number => deps.now().getTime();
  const downtime = new Downtime(clock);
  const progress = { now: clock, intervalMs: req.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS };

  const done = await runGuarded<UpgradeOutcome>({
    verb: 'upgrade',
    request: req,
    deps,
    out,
    lockImages: [],
    lockTimeoutSeconds: gate.timeoutMs / 1000 + 3600,
    evaluate: () => evaluateUpgrade(req, deps, out),
    interrupted: () => interruptedOperation(deps.runtime, m),
    preflight: async (_ev, ctx): Promise<{ refused: UpgradeOutcome } | { listed?: undefined }> => {
      // The snapshot and a rollback read and replace the data: the restore's checks, before the stop.
      const side = await dataSidePreflight(deps.runtime, m, 'upgrade');
      if ('refusal' in side) return { refused: ctx.end('refused', side.refusal.reason, side.refusal.message) };
      const containers = side.containers;
      mounts = side.mounts;
      running = side.up;
      // The rollback recreates the container exactly as it is now (§13): one container, whose
      // definition the adapter can reproduce, or no upgrade at all.
      if (containers.length !== 1) {
        return {
          refused: ctx.end(
            'refused',
            'not-restorable',
            `service ${m.compose.service} has ${containers.length} containers; upgrade rolls back exactly one ` +
              `recorded container. Scale it to one first.`,
          ),
        };
      }
      const read = await deps.runtime.readContainerDefinition(containers[0]!.id);
      if ('problem' in read) {
        return {
          refused: ctx.end(
            'refused',
            'not-restorable',
            `a rollback could not recreate ${containers[0]!.name} exactly as it is: ${read.problem}. Nothing was ` +
              `touched.`,
          ),
        };
      }
      previous = [read.definition];
      previousImageId = side.source.imageId;
      previousConfigHash = side.source.configHash ?? '';
      out.from.image_id = previousImageId;
      const declared = out.to.image;
      const ids = declared ? await deps.runtime.imageIds([declared]) : {};
      const toId = declared ? (ids[declared] ?? null) : null;
      out.to.image_id = toId;
      if (!toId) {
        return {
          refused: ctx.end(
            'refused',
            'image-not-present',
            `the target image ${declared ?? '(none)'} is not on the engine; upgrade never pulls or builds. ` +
              `Pull or load it first.`,
          ),
        };
      }
      // The rollback must be possible before anything starts: a helper that can rename in the volumes.
      const h = await helperPreflight(
        deps.runtime,
        [req.helperImage, previousImageId],
        { mounts, key },
        (tried) =>
          `a rollback could not put the snapshot back: no local image can run restore's helper steps ` +
          `(${tried.join('; ')}). Pass helper-image naming a local image with /bin/sh and coreutils.`,
      );
      if ('refusal' in h) return { refused: ctx.end('refused', h.refusal.reason, h.refusal.message) };
      helper = h;
      return {};
    },
    // A dry run: every check above ran; say what the step would do, touch nothing (§13, "Dry runs").
    dryRun: req.dryRun
      ? async (_ev, ctx, lock) => {
          const problem = await outDirProblem(req.outDir);
          if (problem) {
            const w =
              `the pre-upgrade snapshot could not be written to ${req.outDir}: ${problem}; a real run would ` +
              `fail there and start the service again`;
            out.warnings.push(w);
            deps.log.warn(w);
          }
          const known = await deps.runtime.readLastKnownGood(m.compose.project, m.compose.service);
          const pinned = `stateguard/pinned-${key}:${deps
            .now()
            .toISOString()
            .replace(/[^0-9]/g, '')
            .slice(0, 14)}`;
          const own = new RegExp(`^stateguard/pinned-${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d{14}$`);
          const tags = (await deps.runtime.listImageTags(`stateguard/pinned-${key}`)).filter((t) => own.test(t)).sort();
          out.steps = upgradeSteps({
            module: m,
            lock: lock.name,
            running,
            from: out.from.image,
            fromId: previousImageId,
            recordFrom: !!out.from.image && (!known || known.image_id !== previousImageId),
            pinned,
            to: out.to.image,
            toId: out.to.image_id,
            outDir: req.outDir,
            timeoutSeconds: gate.timeoutMs / 1000,
            settleSeconds: gate.settleMs / 1000,
            prune: tags.reverse().slice(PINNED_KEEP - 1),
            dependencies: m.dependsOnHealthy,
            now: deps.now(),
          });
          return ctx.end(
            'would-upgrade',
            '',
            `dry run: the upgrade of '${m.name}' to ${out.to.image} (${out.bump ?? 'config'}) would proceed; every ` +
              `check and the gate passed, and nothing was touched (no lock taken, nothing pinned or stopped, no ` +
              `file written).`,
          );
        }
      : undefined,
    step: async (_ev, ctx) => {
      const h = helper!;
      const target = { project: m.compose.project, files: [m.compose.path] };
      const others = (await deps.runtime.listProjectContainers(m.compose.project))
        .filter((c) => c.service !== m.compose.service)
        .map((c) => c.id)
        .sort();
      const pinned = `stateguard/pinned-${key}:${deps
        .now()
        .toISOString()
        .replace(/[^0-9]/g, '')
        .slice(0, 14)}`;
      // What the pinned image stands for (docs/architecture.md §13): the running version is known good (the
      // rule required it running and healthy); recorded when no last-known-good names its image yet, so a
      // rollback to the pinned tag still classifies the next upgrade from this reference.
      const known = await deps.runtime.readLastKnownGood(m.compose.project, m.compose.service);
      if (out.from.image && (!known || known.image_id !== previousImageId)) {
        await deps.runtime.writeLastKnownGood({
          project: m.compose.project,
          service: m.compose.service,
          image_id: previousImageId,
          image_ref: out.from.image,
          config_hash: previousConfigHash,
          snapshot: '',
          recorded_at: deps.now().toISOString(),
        });
        ctx.say(`recorded the running ${out.from.image} as last-known-good (the version the pinned image stands for)`);
      }
      await deps.runtime.tagImage(previousImageId, pinned);
      out.pinned_image = pinned;
      ctx.say(`pinned the previous image ${previousImageId.slice(0, 19)} as ${pinned}`);
      const record: UpgradeJournalRecord = {
        operation: 'upgrade',
        ...journalCommon({ module: m, helper: h, stopped: running, holder: req.holder, startedAt: req.now }),
        pinned_image: pinned,
        snapshot_sha256: null,
        target_image: out.to.image,
        previous_container: previous,
      };
      const journal = new Journal(deps.runtime, key, record, deps.now);
      const stepDeps: StepDeps & { gate: HealthGate } = {
        runtime: deps.runtime,
        say: ctx.say,
        crash: deps.crash,
        readyTimeoutMs: gate.timeoutMs,
        sleep: deps.sleep,
        gate,
      };
      // The gate (and the rollback's) says what it waits for and when the service is up again (§7).
      gate.say = ctx.say;
      gate.onReady = (service) => ctx.say(downtime.up(service));
      stepDeps.onReady = gate.onReady;
      const rollbackDeps = { ...stepDeps, progress: { ...progress, say: (l: string) => deps.log.info(l) } };
      ctx.started();
      await deps.runtime.removeHelpers(key);
      await markPhase(journal, 'begun', deps);
      let deploying = false;
      let failure: string;
      try {
        const snap = await stopAndSnapshot({
          runtime: deps.runtime,
          module: m,
          stop: running,
          downtime,
          say: ctx.say,
          crash: deps.crash,
          outDir: req.outDir,
          now: deps.now(),
          log: deps.log,
          kind: 'pre-upgrade',
          progress,
        });
        out.snapshot = snap.path;
        record.pre_restore_snapshot = snap.path;
        record.snapshot_sha256 = snap.sha256;
        ctx.say(`pre-upgrade snapshot written and verified: ${snap.path}`);
        await markPhase(journal, 'snapshotted', deps);
        await markPhase(journal, 'deploying', deps);
        deploying = true;
        const r = await deps.runtime.recreateService(target, m.compose.service);
        await deps.crash?.('after-deploy');
        if (r.code !== 0)
          throw new Error(`deploying ${out.to.image} failed: ${r.stderr.trim().split('\n').pop() ?? ''}`);
        const problem = await healthGate(deps.runtime, m.compose, gate);
        if (problem) throw new Error(`${out.to.image} is not healthy: ${problem}`);
        const othersAfter = (await deps.runtime.listProjectContainers(m.compose.project))
          .filter((c) => c.service !== m.compose.service)
          .map((c) => c.id)
          .sort();
        if (JSON.stringify(othersAfter) !== JSON.stringify(others)) {
          throw new Error('another container of the project was recreated or removed during the deploy');
        }
        const [now] = await listServiceContainers(deps.runtime, m.compose);
        const lkg: LastKnownGood = {
          project: m.compose.project,
          service: m.compose.service,
          image_id: now?.imageId ?? out.to.image_id ?? '',
          image_ref: out.to.image ?? '',
          config_hash: now?.configHash ?? '',
          snapshot: snap.path,
          recorded_at: deps.now().toISOString(),
        };
        await deps.runtime.writeLastKnownGood(lkg);
        out.last_known_good = lkg;
        await markPhase(journal, 'done', deps);
        await journal.remove();
        // The upgrade is done: retention may warn, never fail it (or roll it back).
        const kept = await prunePinnedImages(deps.runtime, key, pinned, ctx.say, out).catch((err: unknown) => {
          out.warnings.push(`pinned-image retention stopped early: ${errorMessage(err)}`);
          return '';
        });
        const what = out.bump === 'none' ? 'same image, recreated on the declared reference' : (out.bump ?? 'config');
        return ctx.end(
          'upgraded',
          '',
          `upgraded '${m.name}' to ${out.to.image} (${what}); healthy for the settle window; ` +
            `last-known-good advanced. Pre-upgrade snapshot: ${snap.path}.${kept}`,
        );
      } catch (err) {
        failure = errorMessage(err);
      }
      if (!deploying) {
        // Nothing ran on the data: start what was stopped, drop the journal.
        ctx.say(`upgrade stopped before deploying: ${failure}; starting ${m.compose.service} again`);
        try {
          await deps.runtime.start(running.map((c) => c.id));
          if (running.length) ctx.say(downtime.up(running.map((c) => c.name).join(', ')));
          await markPhase(journal, 'reverted', deps);
          await journal.remove();
        } catch (err) {
          return ctx.end(
            'failed',
            'snapshot-failed',
            `upgrade of '${m.name}' stopped before deploying (${failure}) and starting it again failed ` +
              `(${errorMessage(err)}); run \`stateguard recover --module ${m.name}\`.`,
          );
        }
        return ctx.end('failed', 'snapshot-failed', `upgrade of '${m.name}' stopped before deploying: ${failure}`);
      }
      downtime.down();
      ctx.say(
        `UPGRADE FAILED: ${failure}; rolling back to the previous container (${pinned}) with the snapshot's data`,
      );
      try {
        const rolled = await rollBack(journal, rollbackDeps);
        if (rolled.problem) {
          return ctx.end(
            'failed',
            'rollback-failed',
            `ROLLBACK FAILED: the upgrade failed (${failure}); ${describeRollbackFailure(rolled, record)}`,
          );
        }
        return ctx.end(
          'rolled-back',
          'rolled-back',
          `upgrade of '${m.name}' to ${out.to.image} failed (${failure}); rolled back: ` +
            `${describeRollback(rolled, record)}.`,
        );
      } catch (err) {
        return ctx.end(
          'failed',
          'rollback-failed',
          `ROLLBACK FAILED: the upgrade failed (${failure}) and rolling back failed too (${errorMessage(err)}). The ` +
            `journal is kept: run \`stateguard recover --module ${m.name}\`. Pre-upgrade snapshot: ` +
            `${record.pre_restore_snapshot ?? 'not written'}.`,
        );
      }
    },
  });
  done.downtime_ms = downtime.ms();
  if (done.status !== 'upgraded' && done.reasons.length === 0 && done.failure_reason) {
    done.reasons = [{ code: done.failure_reason, message: done.verdict, fix: '' }];
  }
  return finish(done);
}
