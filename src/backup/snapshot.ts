/**
 * snapshot (docs/architecture.md §7): `<module>-<stamp>.tar.gz` (+ `.sha256`) of a module's declared data
 * volumes, taken while its containers are stopped. This file holds the order; the archive is written
 * by ./assemble.ts and published by ./publish.ts.
 *
 * Order, and why:
 * 1. Everything that can be checked without touching the engine's state is checked first (declared
 *    volumes, the containers, each declared path really being a mount, no overlapping data mounts, no
 *    OTHER running container on the data (same named volume, or a host directory equal to, above or
 *    below a data directory), no reserved work-area name in a volume, out-dir, name not taken). A
 *    refusal here stops nothing.
 * 2. Stop only this module's running containers (found by compose labels).
 * 3. `docker cp container:path -` from the stopped container (needs no tools in the image, pulls
 *    nothing), re-packed entry by entry under `<volume>/...` as regular files and directories
 *    only, gzipped, hashed as written, into a temporary dot-file in out-dir, then fsynced
 *    (./assemble.ts, which says why a symlink, hard link, device or FIFO is refused).
 * 4. Start the containers again — always, also when capturing failed — and say loudly if they
 *    did not come back. This happens before the archive is re-read, so the module's downtime is
 *    the copy alone.
 * 5. Re-read the temporary file with the verify-backup walker (the archive must pass it, and its
 *    sha256 must equal what was written), then publish it under its final name atomically
 *    (`publish`, injectable for crash tests), write the `.sha256` the same way, fsync the directory
 *    (./publish.ts). A crash at any point leaves nothing under the final name but a complete,
 *    checked archive.
 */
import { mkdir, lstat, open, rm } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../ports.js';
import { UserError, errorMessage } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import { waitUntilReady } from '../drift/containers.js';
import type { ContainerInfo, Runtime } from '../ports.js';
import { dataMountRefusal } from '../ops/data-mounts.js';
import { withModuleLock } from '../ops/lock.js';
import { interruptedOperation } from '../ops/journal.js';
import { inspectArchive } from './archive.js';
import { archiveName, formatStamp, parseArchiveName, type ArchiveKind, type SafetyKind } from './names.js';
import { checkManifest } from './provenance.js';
import { MANIFEST_FORMAT } from './manifest.js';
import { VERSION } from '../version.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, Downtime, type ProgressSettings } from '../report/progress.js';
import { captureToTemp, type Captured, type Provenance, type Target } from './assemble.js';
import { publishArchive, type Publish } from './publish.js';
import { SnapshotError } from './snapshot-error.js';

export { SnapshotError };

export interface SnapshotResult {
  path: string;
  sha256: string;
  bytes: number;
  entries: number;
  volumes: string[];
  taken_at: string;
  /**
   * Milliseconds from the stop being issued to the module running (and healthy) again; null when
   * nothing was stopped (docs/architecture.md §7, "Downtime and progress"). Always null from
   * `snapshotStopped`: its caller stopped the module.
   */
  downtime_ms: number | null;
}

export interface SnapshotHooks {
  /** Moves the finished temporary file to its final name. Default: atomic, never overwrites. */
  publish?: Publish;
  /** how the readiness wait sleeps between polls (tests pass an instant one) */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Called at the phase boundaries `after-stop` (the module is stopped, nothing read yet) and
   * `after-capture` (the archive is written, the module not yet started): the crash tests' seam.
   */
  crash?: (boundary: string) => void | Promise<void>;
}

/** Docker's own rule for volume names; also keeps the archive's top-level directories clean. */
const VOLUME_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** States in which a container is (or is about to be) running and may write to its volumes. */
const UP_STATES = new Set(['running', 'restarting']);
/** How long snapshot waits for the containers it stopped to be running and healthy again. */
export const DEFAULT_READY_TIMEOUT_SECONDS = 120;

/** Check everything that needs no change on the engine; returns the containers to stop. */
async function plan(
  mod: ModuleDecl,
  runtime: Runtime,
): Promise<{ source: ContainerInfo; toStop: ContainerInfo[]; targets: Target[] }> {
  if (mod.volumes.length === 0) {
    throw new SnapshotError(
      `module '${mod.name}' declares no data volumes (spec.data.volumes), so there is nothing to snapshot. ` +
        `Declare the volumes that hold its data in ${mod.file}.`,
    );
  }
  for (const v of mod.volumes) {
    if (!VOLUME_NAME_RE.test(v.volume)) {
      throw new SnapshotError(
        `volume name ${JSON.stringify(v.volume)} in ${mod.file} is not a valid volume name (letters, digits, _ . -)`,
      );
    }
  }
  const seen = new Set<string>();
  for (const v of mod.volumes) {
    if (seen.has(v.volume)) throw new SnapshotError(`volume ${v.volume} is declared twice in ${mod.file}`);
    seen.add(v.volume);
  }
  const all = await runtime.listProjectContainers(mod.compose.project);
  const mine = all.filter((c) => c.service === mod.compose.service);
  const source = mine.find((c) => !c.oneoff) ?? mine[0];
  if (!source) {
    throw new SnapshotError(
      `no container of service ` +
        `'${mod.compose.service}' (compose project '${mod.compose.project}') exists, so there is nothing to copy ` +
        `the volumes from. Deploy the module first.`,
    );
  }
  const targets: Target[] = [];
  for (const v of mod.volumes) {
    const mount = source.mounts.find((m) => m.destination === v.path);
    if (!mount) {
      throw new SnapshotError(
        `${v.path} (volume ${v.volume}) is not a mount in container ` +
          `${source.name}: the data there would not survive a recreate, ` +
          `and a snapshot of it would be of the container's own layer. Fix spec.data.volumes in ` +
          `${mod.file} or the compose file.`,
      );
    }
    targets.push({ volume: v.volume, path: v.path });
  }
  // Overlapping data mounts (captured twice, and never restorable), another running container on the
  // data (an inconsistent snapshot, its writes lost by a restore), the reserved work-area name in a
  // volume (an archive restore could not put back): refused before anything stops (§12, "Data mounts").
  const refusal = await dataMountRefusal({ runtime, module: mod, source, own: mine, verb: 'snapshot' });
  if (refusal)
    throw new SnapshotError(refusal.message, refusal.kind === 'in-use' ? 'volume-in-use' : 'snapshot-failed');
  const toStop = mine.filter((c) => UP_STATES.has(c.state) || c.state === 'paused');
  if (toStop.some((c) => c.state === 'paused')) {
    throw new SnapshotError(
      `a container of '${mod.name}' is paused; unpause it first (stopping a paused container would change its state).`,
    );
  }
  return { source, toStop, targets };
}

/** The manifest's fields for a copy of `source` taken at `takenAt` (the stamp of the file name). */
async function provenanceOf(
  mod: ModuleDecl,
  runtime: Runtime,
  source: ContainerInfo,
  kind: ArchiveKind,
  takenAt: Date,
): Promise<Provenance> {
  return {
    format: MANIFEST_FORMAT,
    kind,
    module: mod.name,
    runtime: mod.runtime === 'swarm' ? 'swarm' : 'compose',
    project: mod.compose.project,
    service: mod.compose.service,
    stamp: formatStamp(takenAt),
    created_at: takenAt.toISOString(),
    image: { ref: source.imageRef, id: source.imageId },
    engine_id: await runtime.engineId(),
    stateguard_version: VERSION,
  };
}

/** Re-read the temporary archive with the verify-backup walker, then publish it and its .sha256. */
async function verifyAndPublish(
  mod: ModuleDecl,
  captured: Captured,
  targets: readonly Target[],
  finalPath: string,
  hooks: SnapshotHooks | undefined,
): Promise<void> {
  const { tempPath, sha256, bytes } = captured;
  // The archive must be one verify-backup accepts, and the bytes on disk the bytes we hashed.
  const fhCheck = await open(tempPath, fsc.O_RDONLY);
  let check;
  try {
    // The layout too: one top-level directory per declared volume, as verify-backup requires.
    check = await inspectArchive(
      fhCheck.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false }),
      { maxUncompressedBytes: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER },
      { layout: { module: mod.name, volumes: targets.map((t) => t.volume) } },
    );
  } finally {
    await fhCheck.close();
  }
  // Its manifest too: it must read back, name this archive and agree with what the walk saw (§16).
  const provenance = checkManifest({
    inspection: check,
    name: parseArchiveName(path.basename(finalPath)),
    matched: mod,
    allowLegacyArchive: false,
  });
  const problems = [...check.problems, ...provenance.problems];
  if (problems.length || check.sha256 !== sha256 || check.bytesRead !== bytes) {
    throw new SnapshotError(
      `the written archive did not pass verification: ` +
        `${
          problems.map((p) => `[${p.code}] ${p.message}`).join('; ') || `sha256/size differ from what was ` + `written`
        }`,
    );
  }
  await publishArchive(tempPath, finalPath, sha256, hooks?.publish);
}

function snapshotResult(captured: Captured, finalPath: string, targets: readonly Target[], now: Date): SnapshotResult {
  return {
    downtime_ms: null,
    path: finalPath,
    sha256: captured.sha256,
    bytes: captured.bytes,
    entries: captured.entries,
    volumes: targets.map((t) => t.volume),
    taken_at: now.toISOString(),
  };
}

/** The final path of a new snapshot (or safety copy, §7) in outDir; refuses a name that is taken. */
async function snapshotPath(mod: ModuleDecl, outDir: string, now: Date, kind: ArchiveKind = 'backup'): Promise<string> {
  const finalPath = path.join(outDir, archiveName(mod.name, now, kind));
  await mkdir(outDir, { recursive: true });
  if (
    await lstat(finalPath).then(
      () => true,
      () => false,
    )
  ) {
    throw new SnapshotError(`${finalPath} already exists; refusing to overwrite a backup (wait a second and retry)`);
  }
  return finalPath;
}

/**
 * A verified safety copy of a module whose containers the caller has already stopped (restore's
 * pre-restore snapshot, docs/architecture.md §12; upgrade's pre-upgrade snapshot, §13): the same
 * archive, checks and atomic publish as `takeSnapshot`, without stopping or starting anything, named
 * `<module>.<kind>.<stamp>.tar.gz` so that no backup pattern picks it (§7).
 */
export async function snapshotStopped(args: {
  module: ModuleDecl;
  runtime: Runtime;
  outDir: string;
  now: Date;
  log: Logger;
  kind: SafetyKind;
  hooks?: SnapshotHooks;
  /** progress lines of the copy (clock and interval); none when absent */
  progress?: ProgressSettings;
}): Promise<SnapshotResult> {
  const { module: mod, runtime, log } = args;
  const { source, toStop, targets } = await plan(mod, runtime);
  if (toStop.length) {
    throw new SnapshotError(`${toStop.map((c) => c.name).join(', ')} is running; it must be stopped for this snapshot`);
  }
  const finalPath = await snapshotPath(mod, path.resolve(args.outDir), args.now, args.kind);
  const provenance = await provenanceOf(mod, runtime, source, args.kind, args.now);
  const captured = await captureToTemp(
    runtime,
    source.id,
    mod.name,
    targets,
    path.dirname(finalPath),
    path.basename(finalPath),
    log,
    `snapshot ${mod.name}`,
    args.progress,
    provenance,
  );
  try {
    await verifyAndPublish(mod, captured, targets, finalPath, args.hooks);
  } finally {
    await rm(captured.tempPath, { force: true });
  }
  return snapshotResult(captured, finalPath, targets, args.now);
}

interface SnapshotArgs {
  module: ModuleDecl;
  runtime: Runtime;
  outDir: string;
  now: Date;
  log: Logger;
  hooks?: SnapshotHooks;
  /** bound on the wait for the restarted containers to be running and healthy (default 120 s) */
  readyTimeoutSeconds?: number;
  /** who is snapshotting (the lock's holder label; see describeHolder) */
  holder?: string;
  /** the clock of the downtime and the progress lines (default: the system clock) */
  clock?: () => Date;
  /** at most one progress line per this many milliseconds (default 5000) */
  progressIntervalMs?: number;
}

/**
 * Snapshot under the module's lock (the one apply, restore and upgrade take): a snapshot stops and
 * starts the module, so it must never run in the middle of one of them, nor they in the middle of it.
 */
export async function takeSnapshot(args: SnapshotArgs): Promise<SnapshotResult> {
  const { module: mod, runtime, log } = args;
  await runtime.ping();
  const interrupted = await interruptedOperation(runtime, mod);
  if (interrupted) throw new UserError(interrupted.message, { reason: interrupted.reason, exitCode: 1 });
  const readySeconds = args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS;
  return withModuleLock(
    runtime,
    {
      module: mod.name,
      project: mod.compose.project,
      service: mod.compose.service,
      moduleImages: [],
      holder: args.holder ?? 'stateguard snapshot',
      now: args.now,
      staleAfterMs: 2 * 3600_000,
      breakStale: false,
      operation: 'snapshot',
    },
    readySeconds + 3600,
    () => snapshotLocked(args),
    {
      refused: (refusal) => {
        throw new UserError(refusal.message, { reason: 'locked', exitCode: 1 });
      },
      released: (problem) => log.warn(problem),
    },
  );
}

async function snapshotLocked(args: SnapshotArgs): Promise<SnapshotResult> {
  const { module: mod, runtime, log } = args;
  const { source, toStop, targets } = await plan(mod, runtime);
  const finalPath = await snapshotPath(mod, path.resolve(args.outDir), args.now);
  // Read before anything stops: the manifest's image is what ran on the data (docs/architecture.md §16).
  const provenance = await provenanceOf(mod, runtime, source, 'backup', args.now);
  const outDir = path.dirname(finalPath);
  const finalName = path.basename(finalPath);

  let captured: Captured | null = null;
  let captureError: unknown = null;
  let restartError: string | null = null;
  const clock = args.clock ?? (() => new Date());
  const now = (): number => clock().getTime();
  const downtime = new Downtime(now);
  const names = toStop.map((c) => c.name).join(', ');

  log.info(`snapshot ${mod.name}: stopping ${toStop.length ? names : '(nothing running)'}`);
  try {
    if (toStop.length) downtime.stopping();
    await runtime.stop(toStop.map((c) => c.id));
    if (toStop.length) log.info(`snapshot ${mod.name}: ${downtime.stopped(names)}`);
    await args.hooks?.crash?.('after-stop');
    captured = await captureToTemp(
      runtime,
      source.id,
      mod.name,
      targets,
      outDir,
      finalName,
      log,
      `snapshot ${mod.name}`,
      { now, intervalMs: args.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS },
      provenance,
    );
    await args.hooks?.crash?.('after-capture');
  } catch (err) {
    captureError = err;
  } finally {
    // Start the containers again whatever happened above.
    let back: string[] = [];
    if (toStop.length) {
      try {
        // On Swarm the service is scaled back: new task containers stand for the stopped ones.
        back = await runtime.start(toStop.map((c) => c.id));
        // Back means running AND healthy where there is a healthcheck: the next step (often an
        // apply whose dependency check needs the parent healthy) must not race a `starting` parent.
        const readyMs = (args.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_SECONDS) * 1000;
        const pending = await waitUntilReady(runtime, back, readyMs, args.hooks?.sleep);
        if (pending.length) {
          const names = new Map(toStop.map((c) => [c.id, c.name]));
          restartError =
            `${pending.map((p) => `${names.get(p.id) ?? p.id.slice(0, 12)} ${p.problem}`).join(', ')} ` +
            `${readyMs / 1000}s after being started again (running, and healthy where it has a healthcheck, was ` +
            `required)`;
        }
      } catch (err) {
        restartError = `starting ${toStop.map((c) => c.name).join(', ')} again failed: ${errorMessage(err)}`;
      }
      if (restartError) {
        log.error(
          `SNAPSHOT: CONTAINERS OF ` +
            `${mod.name.toUpperCase()} ARE NOT RUNNING: ${restartError}. Start them by hand now ` +
            (mod.runtime === 'swarm'
              ? `(docker service scale ${mod.compose.project}_${mod.compose.service}=N, N from its label ` +
                `io.stateguard.stopped-replicas).`
              : '(docker start ...).'),
        );
      } else {
        // On Swarm other containers (new tasks) stand for the stopped ones: say which.
        const others = back.filter((id) => !toStop.some((c) => c.id === id));
        log.info(
          `snapshot ${mod.name}: ` +
            downtime.up(
              names,
              ` (running, and healthy where it has a healthcheck` +
                (others.length ? `, as ${others.map((id) => id.slice(0, 12)).join(', ')})` : ')'),
            ),
        );
      }
    }
  }

  // Set when the module-is-DOWN error itself is thrown, so the catch below does not say it twice.
  let downReported = false;
  try {
    if (captureError || !captured) {
      throw captureError instanceof UserError
        ? captureError
        : new SnapshotError(`snapshot of ${mod.name} failed: ${errorMessage(captureError)}`);
    }
    await verifyAndPublish(mod, captured, targets, finalPath, args.hooks);
    if (restartError) {
      downReported = true;
      throw new SnapshotError(`the snapshot was written (${finalPath}), but ${restartError}; the module is DOWN`);
    }
    log.info(
      `snapshot ${mod.name}: ${finalPath} (${captured.bytes} bytes, ${captured.entries} entries, sha256 ` +
        `${captured.sha256})`,
    );
    return { ...snapshotResult(captured, finalPath, targets, args.now), downtime_ms: downtime.ms() };
  } catch (err) {
    if (restartError && !downReported) {
      throw new SnapshotError(`${errorMessage(err)}; ALSO: ${restartError}; the module is DOWN`);
    }
    throw err;
  } finally {
    if (captured) await rm(captured.tempPath, { force: true });
  }
}
