/**
 * The mounts of a service as compose rendered it (docs/architecture.md §2, "Reading compose files"):
 * compose v2 prints the long syntax (`{type, source, target}`), compose v1 the short one
 * (`/abs/host:/target:rw`, `name:/target:rw`, `/anonymous`) or the long one where the file used it.
 * Rendering has already interpolated `${DATA_DIR:-./data}` and made relative host paths absolute,
 * so splitting a rendered short entry on `:` is what compose v1 itself does. Pure.
 */
import { normalizePath } from './mount-overlap.js';

export interface RenderedMount {
  /** `volume` (named or anonymous), `bind`, `tmpfs`, … as compose names them */
  type: string;
  /** the volume's key (top-level `volumes:`) or the host path; null for an anonymous volume or tmpfs */
  source: string | null;
  /** the container path, without a trailing slash */
  target: string;
}

const isHostPath = (s: string): boolean => s.startsWith('/') || s.startsWith('.') || s.startsWith('~');

export function renderedMounts(volumes: unknown): RenderedMount[] {
  const out: RenderedMount[] = [];
  for (const v of Array.isArray(volumes) ? volumes : []) {
    if (typeof v === 'string') {
      const parts = v.split(':');
      if (parts.length === 1) out.push({ type: 'volume', source: null, target: normalizePath(parts[0]!) });
      else {
        const source = parts[0]!;
        out.push({ type: isHostPath(source) ? 'bind' : 'volume', source, target: normalizePath(parts[1]!) });
      }
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.target !== 'string') continue;
      const source = typeof o.source === 'string' && o.source !== '' ? o.source : null;
      const type = typeof o.type === 'string' ? o.type : source !== null && isHostPath(source) ? 'bind' : 'volume';
      out.push({ type, source, target: normalizePath(o.target) });
    }
  }
  return out;
}
