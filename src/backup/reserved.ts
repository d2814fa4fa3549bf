/**
 * The one reserved name inside data volumes (docs/architecture.md §12, "Data mounts"): restore's
 * work area at the top of each volume. A volume that holds it cannot be restored (restore stages
 * and keeps the old data there), so one rule applies everywhere: snapshot and every preflight
 * refuse a live volume holding it before anything stops, verify-backup and the re-packer refuse an
 * archive entry `<volume>/.stateguard-restore[/…]`, and the helper programs create nothing else.
 */

/** The work area's name at the top of every data volume during a restore. */
export const WORK_AREA = '.stateguard-restore';

/**
 * True when a top-level name of a volume is the reserved one. Compared as a case-insensitive
 * filesystem would (after NFC), so an archive cannot smuggle `.Stateguard-Restore` onto one.
 */
export function isReservedName(segment: string): boolean {
  return segment.normalize('NFC').toLowerCase() === WORK_AREA;
}

/** Where the reserved name would be in a volume mounted at `mountPath` (for a live check). */
export function reservedPathIn(mountPath: string): string {
  return `${mountPath.replace(/\/+$/, '')}/${WORK_AREA}`;
}

/** What a live volume holding the reserved name most likely means, and what to do. */
export function describeReservedLive(found: readonly string[], module: string): string {
  return (
    `${found.join(', ')} ${found.length > 1 ? 'exist' : 'exists'}: that name is reserved for restore's work area ` +
    `(${WORK_AREA} at the top of every data volume), so this data could not be restored. It most likely is ` +
    `the work area of an interrupted restore or upgrade: run \`stateguard recover --module ${module}\`. If ` +
    `recover finds nothing to recover, move that entry out of the volume (it is not the module's data). ` +
    `Nothing was changed.`
  );
}
