/**
 * The layout rules of the tar walk (./tar-walker.ts): with a layout, the top level holds exactly the
 * declared data volumes (see ./archive.ts), and the provenance manifest `.stateguard/manifest.json`
 * as the first entry and nowhere else (docs/architecture.md §16): the walker keeps its body (capped)
 * and each volume's entries and bytes are counted, for verify-backup to cross-check.
 */
import { WORK_AREA, isReservedName } from './reserved.js';
import { MANIFEST_DIR, MANIFEST_PATH } from './manifest.js';
import { printablePath } from './entry-rules.js';
import type { BackupProblem } from './types.js';

export interface Layout {
  /** the module whose declared data volumes make the layout (for messages) */
  module: string;
  volumes: readonly string[];
}

/** What the walker saw of one data volume: the entries under `<volume>/` (itself included) and their file bytes. */
export interface VolumeTally {
  entries: number;
  bytes: number;
}

export class LayoutRules {
  private readonly volumesSeen = new Set<string>();
  private readonly outsideReported = new Set<string>();
  /** top-level directories whose reserved work-area entry was reported (once each) */
  private readonly reservedReported = new Set<string>();

  constructor(
    private readonly layout: Layout,
    /** filled in: per declared data volume, what the archive holds under it */
    private readonly tally: Map<string, VolumeTally>,
    private readonly report: (p: BackupProblem) => void,
  ) {}

  /**
   * The layout rules for one entry; true when it is the manifest (the first entry, exactly
   * `.stateguard/manifest.json`, a regular file). Any other entry under `.stateguard` (in any case) is
   * refused: nothing but the manifest may sit beside the volumes, and a second one could be read
   * instead of the first.
   */
  entry(
    segments: readonly string[],
    isDir: boolean,
    size: number,
    effective: string,
    shown: string,
    entryNumber: number,
  ): boolean {
    const layout = this.layout;
    if (segments.length === 0) return false;
    const top = segments[0]!;
    if (top.toLowerCase() === MANIFEST_DIR) {
      if (entryNumber === 1 && !isDir && effective === MANIFEST_PATH) return true;
      this.report({
        code: 'manifest-invalid',
        message:
          effective === MANIFEST_PATH && !isDir
            ? `${MANIFEST_PATH} must be the archive's first entry; this one is entry ${entryNumber}`
            : `${printablePath(effective)}: the only entry allowed under ${MANIFEST_DIR}/ is the regular file ` +
              `${MANIFEST_PATH}, as the archive's first entry`,
        entry: shown,
      });
      return false;
    }
    const declared = layout.volumes.includes(top);
    const list = layout.volumes.join(', ');
    // One rule for the reserved name (docs/architecture.md §12, "Data mounts"): restore could not put
    // this volume back, so the archive never verifies.
    if (declared && segments.length >= 2 && isReservedName(segments[1]!) && !this.reservedReported.has(top)) {
      this.reservedReported.add(top);
      this.report({
        code: 'reserved-name',
        message:
          `${printablePath(`${top}/${segments[1]}`)} is reserved for restore's work area (${WORK_AREA} at the top ` +
          `of each volume); a backup holding it could not be restored`,
        entry: shown,
      });
    }
    if (segments.length === 1 && !isDir) {
      this.report({
        code: 'layout-mismatch',
        message:
          `${printablePath(top)} is a regular file at the top level; the top level of a backup of ` +
          `'${layout.module}' holds only its data volumes (${list}) as directories`,
        entry: shown,
      });
      return false;
    }
    if (declared) {
      this.volumesSeen.add(top);
      const t = this.tally.get(top) ?? { entries: 0, bytes: 0 };
      t.entries++;
      if (!isDir) t.bytes += size;
      this.tally.set(top, t);
      return false;
    }
    if (this.outsideReported.has(top)) return false;
    if (this.outsideReported.size < 100) this.outsideReported.add(top);
    this.report({
      code: 'layout-mismatch',
      message:
        `top-level directory ` +
        `${printablePath(top)} is not a declared data volume of ` +
        `'${layout.module}' (${list}); a backup holds one directory per declared volume`,
      entry: shown,
    });
    return false;
  }

  /** The walk ended having seen entries: every declared volume must have been among them. */
  end(): void {
    const layout = this.layout;
    const missing = layout.volumes.filter((v) => !this.volumesSeen.has(v));
    if (missing.length) {
      this.report({
        code: 'layout-mismatch',
        message:
          `declared data ` +
          `volume${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of '${layout.module}' ` +
          `${missing.length > 1 ? 'are' : 'is'} missing from the archive (expected one top-level directory per ` +
          `volume: ${layout.volumes.join(', ')})`,
      });
    }
  }
}
