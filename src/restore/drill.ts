/**
 * The restore drill (e2e-gate --restore-drill): prove a backup restores and the service starts on
 * it, without touching the live module. The backup is verified as restore verifies it, re-packed
 * into SCRATCH volumes (one per declared volume) by restore's own workbench steps, and a throwaway
 * copy of the module's container (its image and run configuration, no network, no compose labels)
 * is started on them. The caller's check runs while it is up; the scratch containers and volumes
 * are removed in every case. The live module's containers are compared before and after: any
 * change fails the drill.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BackupReport } from '../backup/types.js';
import { verifyInputOf, type VerifyBackupFn } from '../guard/evaluate.js';
import { listServiceContainers, waitUntilReady } from '../drift/containers.js';
import { errorMessage, type FailureReason } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import type { ContainerInfo, HelperSpec, Runtime } from '../ports.js';
import type { RepackResult } from '../backup/repack.js';
import { backupVerdict } from './evaluate.js';
import { pickHelperImage } from '../ops/steps.js';
import { stageArchive } from '../ops/stage.js';

export interface DrillRequest {
  module: ModuleDecl;
  modules: readonly ModuleDecl[];
  backupRef: string;
  backupRoots: string[];
  cwd: string;
  now: Date;
  helperImage: string | undefined;
  readyTimeoutMs: number;
  maxUncompressedBytes: number;
  maxEntries: number;
  /** provenance (docs/architecture.md §16); absent: the strict defaults */
  allowLegacyArchive?: boolean;
  maxShrinkPercent?: number;
  allowShrink?: boolean;
}

export interface DrillDeps {
  runtime: Runtime;
  verifyBackup: VerifyBackupFn;
  say: (message: string) => void;
  clock(): Date;
  sleep?: (ms: number) => Promise<void>;
}

/** The evidence e2e-gate reports as `restore_drill`. */
export interface DrillReport {
  module: string;
  backup: string;
  verified: boolean;
  volumes: { volume: string; entries: number; bytes: number }[];
  container_ready: boolean;
  /** ISO time the drill's container was ready on the restored data (null when it never was) */
  at: string | null;
}

export type DrillOutcome<T> =
  | { ok: true; report: DrillReport; value: T }
  | { ok: false; report: DrillReport; reason: FailureReason; problem: string };

class DrillFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** What must not change on the live module while the drill runs. */
function liveState(cs: readonly ContainerInfo[]): string {
  return cs
    .map((c) => `${c.id} ${c.state} ${c.startedAt ?? '-'} ${c.imageId}`)
    .sort()
    .join('\n');
}

/** A key unique to this drill (the adapter's key syntax: 8-64 lowercase hex). */
export function drillKey(m: ModuleDecl, now: Date): string {
  return createHash('sha256')
    .update(`drill\0${m.compose.project}\0${m.compose.service}\0${now.toISOString()}\0`)
    .update(randomBytes(8))
    .digest('hex')
    .slice(0, 24);
}

async function verify(req: DrillRequest, deps: DrillDeps): Promise<BackupReport> {
  const m = req.module;
  if (m.volumes.length === 0) {
    throw new DrillFailure('archive-mismatch', `module '${m.name}' declares no data volumes: nothing to restore`);
  }
  let backup: BackupReport;
  try {
    backup = await deps.verifyBackup(verifyInputOf({ ...req, module: m }, { ignoreMaxAge: true }));
  } catch (err) {
    throw new DrillFailure('backup-rejected', `verifying the backup failed: ${errorMessage(err)}`);
  }
  const problem = backupVerdict(m, backup, 'a drill');
  if (problem) throw new DrillFailure(problem.code, problem.message);
  return backup;
}

/**
 * Run the drill; `check` runs while the throwaway container is up (given its ID). Never throws for
 * a drill that failed: the outcome says why. Scratch containers and volumes are always removed.
 */
export async function runRestoreDrill<T>(
  req: DrillRequest,
  deps: DrillDeps,
  check: (containerId: string) => Promise<T>,
): Promise<DrillOutcome<T>> {
  const m = req.module;
  const rt = deps.runtime;
  const report: DrillReport = {
    module: m.name,
    backup: req.backupRef,
    verified: false,
    volumes: [],
    container_ready: false,
    at: null,
  };
  let key: string | null = null;
  let before = '';
  let outcome: DrillOutcome<T>;
  try {
    const backup = await verify(req, deps);
    report.backup = backup.path;
    report.verified = true;
    const live = await listServiceContainers(rt, m.compose);
    const source = live[0];
    if (!source) {
      throw new DrillFailure(
        'not-restorable',
        `no container of service '${m.compose.service}' (project '${m.compose.project}') exists to copy the ` +
          `image and run configuration from`,
      );
    }
    before = liveState(live);
    const candidates = [...new Set([req.helperImage, source.imageId].filter((x): x is string => !!x))];
    const picked = await pickHelperImage(rt, candidates);
    if ('tried' in picked) {
      throw new DrillFailure(
        'helper-unavailable',
        `no local image can run the staging steps (${picked.tried.join('; ')}); pass --helper-image naming a ` +
          `local busybox-like image (never pulled)`,
      );
    }
    const helperImage = picked.image;
    key = drillKey(m, req.now);
    const scratch = await rt.createScratchVolumes(key, m.volumes.length);
    deps.say(`restore drill: scratch volumes ${scratch.join(', ')}`);
    const helper: HelperSpec = {
      image: helperImage,
      key,
      mounts: m.volumes.map((v, i) => ({ volume: v.volume, kind: 'volume' as const, source: scratch[i]! })),
    };
    await rt.prepareWorkArea(helper);
    let repacked: RepackResult;
    try {
      repacked = await stageArchive(rt, helper, {
        path: backup.path,
        sha256: backup.sha256 ?? '',
        layout: { module: m.name, volumes: m.volumes.map((v) => v.volume) },
        limits: { maxUncompressedBytes: req.maxUncompressedBytes, maxEntries: req.maxEntries },
      });
    } catch (err) {
      const r = (err as { reason?: unknown }).reason;
      throw new DrillFailure(r === 'archive-mismatch' ? 'archive-mismatch' : 'restore-failed', errorMessage(err));
    }
    report.volumes = repacked.volumes.map((v) => ({ volume: v.volume, entries: v.entries, bytes: v.bytes }));
    await rt.swap(
      helper,
      'forward',
      repacked.volumes.map((v) => v.root),
    );
    await rt.dropWorkArea(helper);
    const id = await rt.runThrowaway({
      key,
      image: source.imageId,
      mounts: m.volumes.map((v, i) => ({ source: scratch[i]!, destination: v.path })),
      entrypoint: source.config?.entrypoint ?? null,
      cmd: source.config?.cmd ?? null,
      user: source.config?.user ?? '',
      healthcheck: source.config?.healthcheck ?? null,
      env: source.env,
    });
    const pending = await waitUntilReady(rt, [id], req.readyTimeoutMs, deps.sleep);
    if (pending.length > 0) {
      throw new DrillFailure(
        'restore-failed',
        `the drill container did not become ready on the restored data within ${req.readyTimeoutMs / 1000}s: ` +
          pending.map((p) => p.problem).join(', '),
      );
    }
    report.container_ready = true;
    report.at = deps.clock().toISOString();
    deps.say(`restore drill: ${m.name} is running on ${backup.path} (container ${id.slice(0, 12)})`);
    outcome = { ok: true, report, value: await check(id) };
  } catch (err) {
    const reason = err instanceof DrillFailure ? err.reason : 'restore-failed';
    outcome = { ok: false, report, reason, problem: errorMessage(err) };
  }
  if (key !== null) {
    try {
      await rt.removeHelpers(key);
      await rt.removeScratch(key);
    } catch (err) {
      if (outcome.ok) {
        outcome = {
          ok: false,
          report,
          reason: 'restore-failed',
          problem: `removing the drill's scratch failed: ${errorMessage(err)}`,
        };
      }
    }
  }
  if (before !== '') {
    const after = liveState(await listServiceContainers(rt, m.compose));
    if (after !== before) {
      outcome = {
        ok: false,
        report,
        reason: 'restore-failed',
        problem: `the live containers of '${m.name}' changed during the drill (before: ${before}; after: ${after})`,
      };
    }
  }
  return outcome;
}
