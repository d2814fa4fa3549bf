/**
 * Other writers of a module's data (docs/architecture.md §12, "Data mounts"): any running container
 * on the engine, of this project or not, that mounts the same named volume, or a host directory that
 * is a data directory, a parent of one or a child of one, would write where a snapshot reads or a
 * restore swaps. Pure: the caller lists the running containers (one `ps` + one `inspect`).
 */
import { normalizePath, pathRelation } from '../model/mount-overlap.js';
import type { ContainerInfo, Mount } from '../ports.js';
import { withArticle } from '../report/words.js';

/** One declared data volume and the mount of the module's container that holds it. */
export interface DataMountOf {
  volume: string;
  mount: Mount;
}

/** A running container that is not the module's and mounts its data. */
export interface OtherUser {
  id: string;
  name: string;
  /** the declared data volume it reaches */
  volume: string;
  /** what it mounts and where, e.g. `bind /srv at /host` or `volume p_data at /logs` */
  how: string;
}

const KINDS = new Set(['volume', 'bind']);

function hostPathOf(m: Mount): string | null {
  return KINDS.has(m.type) && m.source.startsWith('/') ? normalizePath(m.source) : null;
}

/**
 * The running containers, other than `own`, that mount the same named volume as a data volume, or a
 * host directory equal to, a parent of or a child of a data volume's directory on the host (a bind's
 * source, a named volume's mountpoint as the engine reports it), compared by whole path segments.
 */
export function otherUsers(
  data: readonly DataMountOf[],
  running: readonly ContainerInfo[],
  own: ReadonlySet<string>,
): OtherUser[] {
  const out: OtherUser[] = [];
  for (const c of running) {
    if (own.has(c.id)) continue;
    for (const d of data) {
      const dataHost = hostPathOf(d.mount);
      const hit = c.mounts.find((m) => {
        if (!KINDS.has(m.type)) return false;
        if (d.mount.type === 'volume' && m.type === 'volume' && !!m.name && m.name === d.mount.name) return true;
        const theirs = hostPathOf(m);
        return !!dataHost && !!theirs && pathRelation(dataHost, theirs) !== null;
      });
      if (hit) {
        const what = hit.type === 'volume' && hit.name ? `volume ${hit.name}` : `${hit.type} ${hit.source}`;
        out.push({ id: c.id, name: c.name, volume: d.volume, how: `${what} at ${hit.destination}` });
      }
    }
  }
  return out;
}

/** The refusal's words: each container and mount, that nothing was changed, and how to proceed. */
export function describeOtherUsers(users: readonly OtherUser[], verb: string): string {
  const list = users.map((u) => `${u.name} (${u.how}, data volume ${u.volume})`).join(', ');
  const risk =
    verb === 'snapshot'
      ? 'the archive could hold a torn copy of what they write'
      : 'what they write after the pre-operation snapshot would be lost when the data is swapped';
  return (
    `other running containers use the module's data: ${list}. During ${withArticle(verb)} while they run, ${risk}. ` +
    `Nothing was changed. Stop ${users.length > 1 ? 'them' : 'it'} first, or run the ${verb} in a window where ` +
    `${users.length > 1 ? 'they are' : 'it is'} stopped.`
  );
}
