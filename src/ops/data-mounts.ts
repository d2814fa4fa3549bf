/**
 * The data-mount checks every operation that reads or replaces a module's data runs before anything
 * stops (docs/architecture.md §12, "Data mounts"): snapshot, restore and upgrade.
 *
 * 1. overlap: two declared data mounts where one lies inside the other (container paths, the same
 *    named volume, host directories) — the one pure rule of ../model/mount-overlap.ts;
 * 2. other writers: a running container, of any project, that is not the module's and mounts the
 *    same named volume or a host directory equal to, a parent of or a child of a data directory;
 * 3. the reserved name: a data volume holding restore's work-area name at its top.
 */
import { describeReservedLive, reservedPathIn } from '../backup/reserved.js';
import { errorMessage } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import { describeOverlap, mountOverlaps, normalizePath, type MountRef } from '../model/mount-overlap.js';
import type { ContainerInfo, Mount, Runtime } from '../ports.js';
import { describeOtherUsers, otherUsers, type DataMountOf } from './volume-users.js';

export interface DataMountRefusal {
  kind: 'overlap' | 'in-use' | 'reserved';
  message: string;
}

/** The mount of `source` at each declared data path (declared paths that are no mount are left out). */
export function dataMountsOf(m: ModuleDecl, source: ContainerInfo): (DataMountOf & { path: string })[] {
  const out: (DataMountOf & { path: string })[] = [];
  for (const v of m.volumes) {
    const mount = source.mounts.find((x) => normalizePath(x.destination) === normalizePath(v.path));
    if (mount) out.push({ volume: v.volume, path: v.path, mount });
  }
  return out;
}

function refOf(d: { volume: string; path: string; mount: Mount }): MountRef {
  return {
    volume: d.volume,
    path: d.path,
    kind: d.mount.type === 'volume' ? 'volume' : 'bind',
    ...(d.mount.name ? { name: d.mount.name } : {}),
    ...(d.mount.source.startsWith('/') ? { hostPath: d.mount.source } : {}),
  };
}

/** Rule 1 (pure): the module's data mounts overlap, as its container mounts them. */
export function overlapRefusal(m: ModuleDecl, source: ContainerInfo): DataMountRefusal | null {
  const overlaps = mountOverlaps(dataMountsOf(m, source).map(refOf));
  if (overlaps.length === 0) return null;
  return { kind: 'overlap', message: `${overlaps.map(describeOverlap).join(' ')} Nothing was changed.` };
}

/**
 * Rules 1–3, in that order; the first that refuses, or null. `own` are the module's containers (the
 * ones the operation stops, never "others"); `source` is the container whose mounts are the data.
 */
export async function dataMountRefusal(args: {
  runtime: Runtime;
  module: ModuleDecl;
  source: ContainerInfo;
  own: readonly ContainerInfo[];
  verb: string;
}): Promise<DataMountRefusal | null> {
  const { runtime, module: m, source } = args;
  const overlap = overlapRefusal(m, source);
  if (overlap) return overlap;
  const data = dataMountsOf(m, source);
  const users = otherUsers(data, await runtime.listRunningContainers(), new Set(args.own.map((c) => c.id)));
  if (users.length) return { kind: 'in-use', message: describeOtherUsers(users, args.verb) };
  let found: string[];
  try {
    found = await runtime.existingPaths(
      source.id,
      data.map((d) => reservedPathIn(d.path)),
    );
  } catch (err) {
    // Not knowing is a "no" (fail closed), never a pass.
    return {
      kind: 'reserved',
      message:
        `could not check whether the data volumes of ${source.name} hold restore's reserved work-area name: ` +
        `${errorMessage(err)}. Nothing was changed.`,
    };
  }
  if (found.length) return { kind: 'reserved', message: describeReservedLive(found, m.name) };
  return null;
}
