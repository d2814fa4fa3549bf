/**
 * Overlapping data mounts (docs/architecture.md §12, "Data mounts"). Restore swaps each declared data
 * volume on its own, by renames inside it, and every helper binds its mounts by path when it starts:
 * two data mounts where one lies inside the other (`/data` and `/data/sub` in the container, or
 * `./h` and `./h/sub` on the host) would have one volume's work area moved into the other's. Such
 * mounts are refused, in validate and in every preflight, with this one pure rule.
 *
 * Paths are compared by segments after normalising (`.`, `..`, repeated and trailing slashes), so
 * `/srv/a` is not a parent of `/srv/ab`.
 */
import path from 'node:path';

/** One declared data volume and where it is mounted, as far as the caller can see it. */
export interface MountRef {
  /** the declared `data.volumes[].volume` */
  volume: string;
  /** the path inside the container */
  path: string;
  kind: 'volume' | 'bind';
  /** the engine's volume name (kind volume) */
  name?: string;
  /**
   * the directory on the engine's host: a bind's source (absolute, relative ones resolved by the
   * caller), or a named volume's mountpoint when the engine reported it
   */
  hostPath?: string;
  /** how to show the source in a message (the compose file's spelling); default hostPath or name */
  shown?: string;
}

export interface MountOverlap {
  a: MountRef;
  b: MountRef;
  /** where they overlap: the container paths, the same named volume, or the host directories */
  where: 'container' | 'volume' | 'host';
  /** 'same' or which one lies inside the other */
  relation: 'same' | 'a-inside-b' | 'b-inside-a';
}

/** The path normalised for comparison: `.`/`..` resolved, no repeated or trailing slash. */
export function normalizePath(p: string): string {
  const n = path.posix.normalize(p.replace(/\\/g, '/'));
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

function segments(p: string): string[] {
  return normalizePath(p)
    .split('/')
    .filter((s) => s !== '' && s !== '.');
}

/**
 * How two paths relate, by whole segments: the same path, one inside the other, or null. An
 * absolute and a relative path never relate (they name different things).
 */
export function pathRelation(a: string, b: string): 'same' | 'a-inside-b' | 'b-inside-a' | null {
  const na = normalizePath(a);
  const nb = normalizePath(b);
  if (na.startsWith('/') !== nb.startsWith('/')) return null;
  const sa = segments(na);
  const sb = segments(nb);
  const common = Math.min(sa.length, sb.length);
  for (let i = 0; i < common; i++) if (sa[i] !== sb[i]) return null;
  if (sa.length === sb.length) return 'same';
  return sa.length > sb.length ? 'a-inside-b' : 'b-inside-a';
}

/** Every pair of data mounts that overlap (each pair once, the first overlap found for it). */
export function mountOverlaps(mounts: readonly MountRef[]): MountOverlap[] {
  const out: MountOverlap[] = [];
  for (let i = 0; i < mounts.length; i++) {
    for (let j = i + 1; j < mounts.length; j++) {
      const a = mounts[i]!;
      const b = mounts[j]!;
      const inContainer = pathRelation(a.path, b.path);
      if (inContainer) {
        out.push({ a, b, where: 'container', relation: inContainer });
        continue;
      }
      if (a.kind === 'volume' && b.kind === 'volume' && a.name !== undefined && a.name === b.name) {
        out.push({ a, b, where: 'volume', relation: 'same' });
        continue;
      }
      const onHost = a.hostPath && b.hostPath ? pathRelation(a.hostPath, b.hostPath) : null;
      if (onHost) out.push({ a, b, where: 'host', relation: onHost });
    }
  }
  return out;
}

function shownSource(m: MountRef): string {
  return m.shown ?? (m.kind === 'bind' ? (m.hostPath ?? '?') : (m.name ?? m.hostPath ?? '?'));
}

function describeMount(m: MountRef): string {
  return `'${m.volume}' (${m.path}, ${m.kind} ${shownSource(m)})`;
}

/** One sentence per overlap, naming both mounts, what overlaps and the fix. */
export function describeOverlap(o: MountOverlap): string {
  const [inner, outer] = o.relation === 'b-inside-a' ? [o.b, o.a] : [o.a, o.b];
  const pair = `data volumes ${describeMount(o.a)} and ${describeMount(o.b)} overlap`;
  const what =
    o.where === 'volume'
      ? `both are the named volume ${o.a.name}`
      : o.where === 'container'
        ? o.relation === 'same'
          ? `both are mounted at ${o.a.path}`
          : `${inner.path} is inside ${outer.path} in the container`
        : o.relation === 'same'
          ? `both are the host directory ${o.a.hostPath}`
          : `the host directory of '${inner.volume}' is inside that of '${outer.volume}'`;
  return (
    `${pair}: ${what}. A restore swaps each data volume on its own and would move one into the other, so ` +
    `stateguard refuses overlapping data mounts. Fix: mount the parent once and declare it as one data volume, ` +
    `or use separate directories.`
  );
}
