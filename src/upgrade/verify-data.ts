/**
 * After an upgrade's rollback (docs/architecture.md §13): does the live data still hold what the
 * snapshot holds, once the previous version has run on it for the settle window? Every path of the
 * snapshot must be present in the live volumes with the same type (a wipe on start is caught);
 * additions and changed file contents are allowed (a database writes on start).
 *
 * The snapshot is walked with the strict reader of verify-backup (§5), and it must still be the file
 * that was written (its sha256); the live side is one helper listing with read-only mounts.
 */
import { open } from 'node:fs/promises';
import { inspectArchive, type Layout } from '../backup/archive.js';
import type { HelperSpec, MountEntry, Runtime } from '../ports.js';
import { withArticle } from '../report/words.js';

/** How many missing paths a message names. */
export const MISSING_SHOWN = 10;

export interface SnapshotEntry {
  volume: string;
  /** relative to the volume */
  path: string;
  type: MountEntry['type'];
}

/** Every entry of the snapshot below a volume's top directory; throws when the archive is not the one written. */
export async function snapshotEntries(snapshot: string, sha256: string, layout: Layout): Promise<SnapshotEntry[]> {
  const entries: SnapshotEntry[] = [];
  const fh = await open(snapshot, 'r');
  try {
    const inspection = await inspectArchive(
      fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false }),
      { maxUncompressedBytes: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER },
      {
        layout,
        onEntry: (e) => {
          const parts = e.path.replace(/^\.\//, '').split('/').filter(Boolean);
          const [volume, ...rest] = parts;
          if (!volume || rest.length === 0 || !layout.volumes.includes(volume)) return;
          const type = e.type === 'file' ? 'file' : e.type === 'directory' ? 'directory' : 'other';
          entries.push({ volume, path: rest.join('/'), type });
        },
      },
    );
    if (inspection.problems.length > 0 || !inspection.readToEnd) {
      throw new Error(
        `the snapshot ${snapshot} no longer passes the checks: ` +
          inspection.problems
            .slice(0, 3)
            .map((p) => `[${p.code}] ${p.message}`)
            .join('; '),
      );
    }
    if (sha256 && inspection.sha256 !== sha256) {
      throw new Error(`the snapshot ${snapshot} changed since it was written (sha256 ${inspection.sha256})`);
    }
  } finally {
    await fh.close();
  }
  return entries;
}

export interface DataCheck {
  /** snapshot entries compared */
  checked: number;
  /** `volume/path` (and what it is now, when another type), the first MISSING_SHOWN */
  missing: string[];
  missingCount: number;
}

/** Compare the snapshot's entries with the live listing (pure). */
export function compareWithSnapshot(
  snapshot: readonly SnapshotEntry[],
  live: readonly { volume: string; entries: readonly MountEntry[] }[],
): DataCheck {
  const index = new Map<string, Map<string, MountEntry['type']>>();
  for (const v of live) index.set(v.volume, new Map(v.entries.map((e) => [e.path, e.type])));
  const missing: string[] = [];
  let missingCount = 0;
  for (const e of snapshot) {
    const now = index.get(e.volume)?.get(e.path);
    if (now === e.type) continue;
    missingCount++;
    if (missing.length < MISSING_SHOWN) {
      missing.push(
        `${e.volume}/${e.path}` +
          (now === undefined ? '' : ` (${withArticle(e.type)} in the snapshot, now ${withArticle(now)})`),
      );
    }
  }
  return { checked: snapshot.length, missing, missingCount };
}

/** Check the live volumes against the snapshot; null and the count when every path is there, else why not. */
export async function verifyDataAgainstSnapshot(
  runtime: Runtime,
  helper: HelperSpec,
  snapshot: { path: string; sha256: string; layout: Layout },
): Promise<{ ok: true; checked: number } | { ok: false; problem: string }> {
  const expected = await snapshotEntries(snapshot.path, snapshot.sha256, snapshot.layout);
  const live = await runtime.listMountEntries(helper);
  const check = compareWithSnapshot(expected, live);
  if (check.missingCount === 0) return { ok: true, checked: check.checked };
  const more = check.missingCount - check.missing.length;
  return {
    ok: false,
    problem:
      `${check.missingCount} of the snapshot's ${check.checked} paths are missing from the live volumes after the ` +
      `settle window: ${check.missing.join(', ')}${more > 0 ? ` and ${more} more` : ''} (snapshot ${snapshot.path})`,
  };
}
