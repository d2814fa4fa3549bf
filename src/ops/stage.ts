/**
 * Staging an archive into the prepared work areas (docs/architecture.md §12): restore's backup, the
 * drill's backup and an upgrade's rollback snapshot (§13) all go in through the re-packer.
 */
import { open } from 'node:fs/promises';
import type { ArchiveLimits, Layout } from '../backup/archive.js';
import type { HelperSpec, Runtime } from '../ports.js';
import { ProgressReporter, type ProgressSettings } from '../report/progress.js';
import { repackForStaging, WORK_AREA, type RepackResult } from '../backup/repack.js';

/**
 * Read an archive again (it was verified, but it may have changed since), stream it re-packed into
 * the prepared work areas, and check on the engine that what was staged is what the archive holds.
 * Refuses when the archive no longer passes the checks or its sha256 differs from the verified one.
 */
export async function stageArchive(
  runtime: Runtime,
  helper: HelperSpec,
  archive: { path: string; sha256: string; layout: Layout; limits: ArchiveLimits },
  progress?: ProgressSettings & { say(line: string): void; label: string; total: number | null },
): Promise<RepackResult> {
  const fh = await open(archive.path, 'r');
  let result: RepackResult | null = null;
  try {
    await runtime.stage(helper, async (write) => {
      // Bytes counted as they go to the engine, against the archive's uncompressed size (§7).
      const reporter = progress ? new ProgressReporter(progress) : null;
      const r = await repackForStaging(fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false }), {
        layout: archive.layout,
        limits: archive.limits,
        prefixFor: (i) => `${i}/${WORK_AREA}/new`,
        out: reporter
          ? async (chunk) => {
              await write(chunk);
              reporter.add(chunk.length);
            }
          : write,
      });
      result = r;
      if (r.problems.length > 0 || !r.readToEnd) {
        throw Object.assign(
          new Error(
            `the archive failed the checks while being staged: ` +
              r.problems.map((p) => `[${p.code}] ${p.message}`).join('; '),
          ),
          { reason: 'archive-mismatch' },
        );
      }
      if (r.sha256 !== archive.sha256) {
        throw new Error(`the archive changed since it was verified (sha256 ${r.sha256}, verified ${archive.sha256})`);
      }
    });
  } finally {
    await fh.close();
  }
  const repacked = result as RepackResult | null;
  if (!repacked) throw new Error('staging produced no result');
  // The engine's extraction dates entries before 1970 at 1970: set what the archive says (§12).
  if (repacked.times.length) await runtime.setStagedTimes(helper, repacked.times);
  const counted = await runtime.countStaged(helper);
  for (const v of repacked.volumes) {
    const c = counted.find((x) => x.volume === v.volume);
    if (!c || c.entries !== v.entries || c.files !== v.files || c.bytes !== v.bytes) {
      throw new Error(
        `volume ${v.volume}: staged ${c ? `${c.entries} entries/${c.files} files/${c.bytes} bytes` : 'nothing'}, ` +
          `the archive holds ${v.entries}/${v.files}/${v.bytes}; the staged copy is not the archive`,
      );
    }
  }
  return repacked;
}
