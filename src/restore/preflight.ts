/**
 * What restore's and upgrade's preflight share (docs/architecture.md §12, "Data mounts"): the
 * module's data mounts, resolved from the current declaration and its container (recover's look at
 * the data side uses them too), and the failure reason of a data-mount refusal.
 */
import type { FailureReason } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import { overlapRefusal, type DataMountRefusal } from '../ops/data-mounts.js';
import type { ContainerInfo, DataMount } from '../ports.js';

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
