/**
 * The semver bump between two image references (docs/architecture.md §3: `container.image` carries it). Pure.
 *
 * A tag counts as a version only when it is `[v]MAJOR[.MINOR[.PATCH]]` with an optional
 * `-prerelease`/`+build` suffix; anything else (`latest`, `RELEASE.2024-05-01T10-00-00Z`, a date,
 * a digest) is `unknown`, because guessing an order for those would mislabel a major change.
 */
import type { SemverBump } from './types.js';

export interface ParsedRef {
  /** registry/repository without tag or digest, e.g. `stateguard/busybox` */
  repository: string;
  tag: string | null;
  digest: string | null;
}

/** Split `repo[:tag][@digest]`; a registry port (`host:5000/x`) is not mistaken for a tag. */
export function parseImageRef(ref: string): ParsedRef {
  let rest = ref.trim();
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  const tag = colon === -1 ? null : rest.slice(colon + 1);
  let repository = colon === -1 ? rest : rest.slice(0, colon);
  repository = repository.replace(/^(docker\.io|index\.docker\.io)\/(library\/)?/, '');
  return { repository, tag: tag ?? (digest ? null : 'latest'), digest };
}

const VERSION = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+][0-9A-Za-z.+-]*)?$/;

export function parseVersion(tag: string | null): [number, number, number] | null {
  if (tag === null) return null;
  const m = VERSION.exec(tag);
  if (!m) return null;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

/**
 * The bump from `from` to `to`. Different repositories, non-version tags, digests and identical
 * versions (a re-pointed tag) are all `unknown`: the version number says nothing about the change.
 * A downgrade is classified by the component that changed, like an upgrade: a major downgrade is as
 * dangerous for data as a major upgrade.
 */
export function semverBump(from: string, to: string): SemverBump {
  const a = parseImageRef(from);
  const b = parseImageRef(to);
  if (a.repository !== b.repository) return 'unknown';
  const va = parseVersion(a.tag);
  const vb = parseVersion(b.tag);
  if (!va || !vb || a.digest || b.digest) return 'unknown';
  if (va[0] !== vb[0]) return 'major';
  if (va[1] !== vb[1]) return 'minor';
  if (va[2] !== vb[2]) return 'patch';
  return 'unknown';
}
