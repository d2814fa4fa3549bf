/**
 * What restore's and upgrade's preflight share (docs/architecture.md §12, "Data mounts"): the
 * module's data mounts, resolved from the current declaration and its container (recover's look at
 * the data side uses them too), no other container on the data, and the helper that works in it.
 */
import { listServiceContainers, UP_STATES } from '../drift/containers.js';
import type { FailureReason } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import { dataMountRefusal, overlapRefusal, type DataMountRefusal } from './data-mounts.js';
import type { ContainerInfo, DataMount, HelperSpec, Runtime } from '../ports.js';
import { pickHelperImage } from './steps.js';

/** Why a preflight refuses: a failure reason and the sentence that says it. */
export interface PreflightRefusal {
  reason: FailureReason;
  message: string;
}

/** What the data side of a stateful operation's preflight found, when it refused nothing. */
export interface DataSide {
  containers: ContainerInfo[];
  /** the container the mounts were read from */
  source: ContainerInfo;
  mounts: DataMount[];
  /** the containers that are up: what the operation stops */
  up: ContainerInfo[];
}

/**
 * The preflight restore and upgrade share, before anything is stopped: the module's containers, its
 * declared volumes resolved as their mounts (all or nothing), none paused, and no other running
 * container on the data and no reserved name in it (docs/architecture.md §12, "Data mounts").
 */
export async function dataSidePreflight(
  runtime: Runtime,
  m: ModuleDecl,
  verb: 'restore' | 'upgrade',
): Promise<DataSide | { refusal: PreflightRefusal }> {
  const containers = await listServiceContainers(runtime, m.compose);
  const resolved = resolveMounts(m, containers);
  if ('problem' in resolved) return { refusal: { reason: 'not-restorable', message: resolved.problem } };
  const up = containers.filter((c) => UP_STATES.has(c.state));
  if (up.some((c) => c.state === 'paused')) {
    return { refusal: { reason: 'not-restorable', message: `a container of '${m.name}' is paused; unpause it.` } };
  }
  // Another running container on the data would see it swapped under it; a volume holding the
  // reserved work-area name could not be swapped. Checked before anything stops.
  const refusal = await dataMountRefusal({ runtime, module: m, source: resolved.source, own: containers, verb });
  if (refusal) return { refusal: { reason: refusalReason(refusal), message: refusal.message } };
  return { containers, source: resolved.source, mounts: resolved.mounts, up };
}

/**
 * The helper that renames inside the volumes: the first usable local image of `candidates` (never
 * pulled), or the refusal `unavailable` words from what was tried.
 */
export async function helperPreflight(
  runtime: Runtime,
  candidates: readonly (string | undefined | null)[],
  work: { mounts: DataMount[]; key: string },
  unavailable: (tried: string[]) => string,
): Promise<HelperSpec | { refusal: PreflightRefusal }> {
  const picked = await pickHelperImage(runtime, candidates);
  if ('tried' in picked) return { refusal: { reason: 'helper-unavailable', message: unavailable(picked.tried) } };
  return { image: picked.image, mounts: work.mounts, key: work.key };
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
/** The failure reason of a data-mount refusal in restore's and upgrade's preflight. */
export function refusalReason(r: DataMountRefusal): FailureReason {
  return r.kind === 'in-use' ? 'volume-in-use' : 'not-restorable';
}
