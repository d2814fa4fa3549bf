/**
 * Dry runs of restore and upgrade (docs/architecture.md §12, "Dry runs"): after every check the real run
 * makes before it touches anything, say step by step what it would do — in words that never claim it was
 * done ("would stop", never "stopped") — and touch nothing: no lock, no journal, no stop, no file, no
 * container left behind.
 */
import { constants as fsc } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { archiveName, CHECKSUM_SUFFIX } from '../backup/names.js';
import type { ModuleDecl } from '../model/module.js';
import type { ContainerInfo, DataMount } from '../ports.js';

/** One step a real run would take, in order. */
export interface DryRunStep {
  /** a short id: lock, journal, stop, snapshot, stage, swap, recreate, health, … */
  step: string;
  /** what the real run would do, as a sentence starting with "would" */
  would: string;
}

/** The fields a dry run adds to an outcome: `steps` is null in a real run, [] when a dry run refused. */
export interface DryRunFields {
  dry_run: boolean;
  steps: DryRunStep[] | null;
}

/**
 * Whether the snapshot could be written to `dir` (a real run creates it when missing): null when it can,
 * else why not. Read only: nothing is created.
 */
export async function outDirProblem(dir: string): Promise<string | null> {
  let probe = path.resolve(dir);
  for (;;) {
    const read = await stat(probe).then(
      (st) => ({ st }),
      (err: NodeJS.ErrnoException) => ({ st: null, code: err.code ?? '', message: err.message }),
    );
    const st = read.st;
    if (!st && 'code' in read && read.code !== 'ENOENT') {
      // ENOTDIR: a part of the path is a file
      if (read.code === 'ENOTDIR') return `a part of ${probe} is not a directory`;
      return `${probe} cannot be read (${read.message})`;
    }
    if (st) {
      if (!st.isDirectory()) return `${probe} is not a directory`;
      const ok = await access(probe, fsc.W_OK | fsc.X_OK).then(
        () => true,
        () => false,
      );
      return ok ? null : `${probe} is not writable by this user`;
    }
    const up = path.dirname(probe);
    if (up === probe) return `no part of ${dir} exists`;
    probe = up;
  }
}

function names(cs: readonly ContainerInfo[]): string {
  return cs.map((c) => c.name).join(', ');
}

function readiness(cs: readonly ContainerInfo[]): string {
  return cs.some((c) => c.health !== null) ? 'running and healthy' : 'running';
}

function mountList(mounts: readonly DataMount[]): string {
  return mounts.map((x) => `${x.volume} (${x.kind} ${x.source})`).join(', ');
}

/** What a restore would do (docs/architecture.md §12, "Order"), after every check passed. */
export function restoreSteps(a: {
  module: ModuleDecl;
  lock: string;
  toStop: readonly ContainerInfo[];
  mounts: readonly DataMount[];
  helperImage: string;
  backup: { path: string; uncompressed_bytes: number | null; entries: number | null };
  outDir: string;
  readyTimeoutSeconds: number;
  dependencies: readonly string[];
  now: Date;
}): DryRunStep[] {
  const m = a.module;
  const snap = path.join(path.resolve(a.outDir), archiveName(m.name, a.now, 'pre-restore'));
  const steps: DryRunStep[] = [
    { step: 'lock', would: `would take the restore lock ${a.lock}` },
    { step: 'journal', would: `would write the journal mark begun on the engine (recover reads it after a crash)` },
    {
      step: 'stop',
      would: a.toStop.length
        ? `would stop ${names(a.toStop)}`
        : `would stop nothing (no container of ${m.compose.service} is running)`,
    },
    {
      step: 'snapshot',
      would:
        `would write the pre-restore snapshot of ${m.volumes.map((v) => v.volume).join(', ')} to ${snap} ` +
        `(the name carries the time it is taken) with its ${CHECKSUM_SUFFIX}, verified before it counts`,
    },
    {
      step: 'stage',
      would:
        `would stage ${path.basename(a.backup.path)} (${a.backup.entries ?? '?'} entries, ` +
        `${a.backup.uncompressed_bytes ?? '?'} bytes) into a work area in each of ${mountList(a.mounts)}, ` +
        `re-packed, checked against its sha256 and counted on the engine (helper image ${a.helperImage})`,
    },
    { step: 'swap', would: `would swap each volume to the backup's data by renames (journal staged → committed)` },
    { step: 'recreate', would: `would recreate ${m.compose.service} from its declaration on the restored data` },
    {
      step: 'health',
      would:
        `would wait up to ${a.readyTimeoutSeconds} s for it to be ${readiness(a.toStop)}; ` +
        `otherwise put the old data back`,
    },
    ...(a.dependencies.length
      ? [{ step: 'dependencies', would: `would check that ${a.dependencies.join(', ')} stayed running and healthy` }]
      : []),
    { step: 'drop', would: `would drop the old data (the work areas) and remove the journal` },
    { step: 'release', would: `would release the restore lock` },
  ];
  return steps;
}

/** What an upgrade would do (docs/architecture.md §13, "Order"), after every check and the gate passed. */
export function upgradeSteps(a: {
  module: ModuleDecl;
  lock: string;
  running: readonly ContainerInfo[];
  from: string | null;
  fromId: string;
  /** the running version would first be recorded as last-known-good (no record names its image ID) */
  recordFrom: boolean;
  pinned: string;
  to: string | null;
  toId: string | null;
  outDir: string;
  timeoutSeconds: number;
  settleSeconds: number;
  /** pinned tags a successful upgrade would remove (retention) */
  prune: readonly string[];
  dependencies: readonly string[];
  now: Date;
}): DryRunStep[] {
  const m = a.module;
  const snap = path.join(path.resolve(a.outDir), archiveName(m.name, a.now, 'pre-upgrade'));
  return [
    { step: 'lock', would: `would take the upgrade lock ${a.lock}` },
    ...(a.recordFrom && a.from
      ? [{ step: 'last-known-good', would: `would record the running ${a.from} as last-known-good first` }]
      : []),
    { step: 'pin', would: `would pin the running image ${a.fromId.slice(0, 19)} as ${a.pinned}` },
    { step: 'journal', would: `would write the journal mark begun on the engine (recover reads it after a crash)` },
    {
      step: 'stop',
      would: a.running.length ? `would stop ${names(a.running)}` : `would stop nothing (nothing is running)`,
    },
    {
      step: 'snapshot',
      would:
        `would write the pre-upgrade snapshot of ${m.volumes.map((v) => v.volume).join(', ')} to ${snap} ` +
        `(the name carries the time it is taken) with its ${CHECKSUM_SUFFIX}, verified before it counts`,
    },
    {
      step: 'deploy',
      would: `would recreate only ${m.compose.service} on ${a.to ?? '?'}${a.toId ? ` (${a.toId.slice(0, 19)})` : ''}`,
    },
    {
      step: 'health',
      would:
        `would wait up to ${a.timeoutSeconds} s for it to be ${readiness(a.running)}, then settle ` +
        `${a.settleSeconds} s (still ${readiness(a.running)}, not restarted); on any failure roll back to ` +
        `${a.pinned} with the snapshot's data`,
    },
    { step: 'others', would: `would check that no other container of project ${m.compose.project} was recreated` },
    ...(a.dependencies.length
      ? [{ step: 'dependencies', would: `would check that ${a.dependencies.join(', ')} stayed running and healthy` }]
      : []),
    { step: 'last-known-good', would: `would record ${a.to ?? '?'} as last-known-good and remove the journal` },
    {
      step: 'retention',
      would: a.prune.length
        ? `would remove the older pinned image tags ${a.prune.join(', ')} ` +
          `(keeping ${a.pinned} and the newest before it)`
        : `would remove no pinned image tag (at most two are kept)`,
    },
    { step: 'release', would: `would release the upgrade lock` },
  ];
}
