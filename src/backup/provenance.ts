/**
 * Provenance checks (docs/architecture.md §16): what an archive's manifest says, against its file
 * name, the module's declaration and what the walk actually saw; and the shrink hold against the
 * newest earlier backup of the module. Pure: the caller reads the files (./verify.ts).
 */
import type { ModuleDecl } from '../model/module.js';
import type { ArchiveInspection } from './archive.js';
import { MANIFEST_PATH, manifestTotals, parseManifest, type Manifest } from './manifest.js';
import type { ParsedArchiveName } from './names.js';
import type { BackupProblem, BackupWarning } from './types.js';

export interface ManifestCheckInput {
  inspection: Pick<ArchiveInspection, 'manifest' | 'volumes' | 'problems' | 'readToEnd'>;
  /** the file name, parsed (null: not one of ours; the name check has said so) */
  name: ParsedArchiveName | null;
  /**
   * the declaration of the module the name matched, whose volumes were the walk's layout (null: no
   * module matched or it has no volumes; refused already, and nothing is checked here)
   */
  matched: ModuleDecl | null;
  /** an archive without a manifest is accepted, with a warning saying what was not checked */
  allowLegacyArchive: boolean;
}

export interface ManifestVerdict {
  manifest: Manifest | null;
  problems: BackupProblem[];
  warnings: BackupWarning[];
}

/** What an archive without a manifest leaves unchecked (said whenever one is accepted). */
export const LEGACY_UNCHECKED =
  'its module, project, service and stamp as recorded when it was written, its volumes, their entry counts and ' +
  'byte totals, and whether it shrank against the previous backup';

/** Judge an archive's manifest; every finding is a problem with its own code. */
export function checkManifest(input: ManifestCheckInput): ManifestVerdict {
  const { inspection, name, matched } = input;
  const problems: BackupProblem[] = [];
  const warnings: BackupWarning[] = [];
  const raw = inspection.manifest;
  // Without a matched module there is no layout: the walk did not look for a manifest, and the name is refused.
  if (matched === null) return { manifest: null, problems, warnings };
  if (raw === null) {
    // A walk stopped early (a cap, a corrupt header) may not have reached a manifest: that is said already.
    const walkBroken = !inspection.readToEnd || inspection.problems.some((p) => p.code === 'manifest-invalid');
    if (walkBroken) return { manifest: null, problems, warnings };
    if (input.allowLegacyArchive) {
      warnings.push({
        code: 'legacy-archive',
        message:
          `the archive has no ${MANIFEST_PATH} (written before stateguard recorded provenance, or by another tool); ` +
          `accepted because of --allow-legacy-archive, so these were NOT checked: ${LEGACY_UNCHECKED}`,
      });
    } else {
      problems.push({
        code: 'no-manifest',
        message:
          `the archive has no ${MANIFEST_PATH} as its first entry, so nothing says which module, project and time ` +
          `it holds: it was not written by this stateguard (an older one, or another tool). Take a fresh backup ` +
          `with \`stateguard snapshot\`, or, if you know where this archive came from, pass --allow-legacy-archive ` +
          `(input allow-legacy-archive)`,
      });
    }
    return { manifest: null, problems, warnings };
  }
  const read = parseManifest(raw.body, raw.size);
  if ('problem' in read) {
    problems.push({ code: 'manifest-invalid', message: read.problem });
    return { manifest: null, problems, warnings };
  }
  const m = read.manifest;
  if (name !== null && m.module !== name.module) {
    problems.push({
      code: 'manifest-wrong-module',
      message:
        `the manifest says this is an archive of module '${m.module}', but the file is named for '${name.module}': ` +
        `a renamed archive of another module`,
    });
  }
  if (name !== null && (m.stamp !== name.stamp || m.kind !== name.kind)) {
    const what = [
      m.stamp !== name.stamp ? `was taken at ${m.stamp}, the name says ${name.stamp}` : '',
      m.kind !== name.kind ? `is a ${m.kind} archive, the name says ${name.kind}` : '',
    ].filter(Boolean);
    problems.push({
      code: 'manifest-mismatch',
      message:
        `the manifest says the archive ${what.join(' and ')}: a renamed archive (its age and kind are what the ` +
        `manifest says, not the name)`,
    });
  }
  if (matched !== null) {
    const runtime = matched.runtime === 'swarm' ? 'swarm' : 'compose';
    const where = (r: string, p: string, s: string): string =>
      `${r === 'swarm' ? 'stack' : 'compose project'} '${p}', service '${s}'`;
    if (m.runtime !== runtime || m.project !== matched.compose.project || m.service !== matched.compose.service) {
      problems.push({
        code: 'manifest-wrong-project',
        message:
          `the archive holds ${where(m.runtime, m.project, m.service)} (engine ${m.engine_id}), but module ` +
          `'${matched.name}' is ${where(runtime, matched.compose.project, matched.compose.service)}: another ` +
          `project's data`,
      });
    }
    const declared = matched.volumes.map((v) => v.volume).sort();
    const held = m.volumes.map((v) => v.name).sort();
    // A layout problem already says the archive does not hold the declared volumes.
    const layoutRefused = inspection.problems.some((p) => p.code === 'layout-mismatch');
    if (declared.join('\0') !== held.join('\0') && !layoutRefused) {
      problems.push({
        code: 'manifest-volumes',
        message:
          `the manifest lists the volumes ${held.join(', ')}; module '${matched.name}' declares ` +
          `${declared.join(', ')} (spec.data.volumes)`,
      });
    }
  }
  // Counts mean something only for an archive that walked clean; a broken one is refused already.
  if (inspection.readToEnd && inspection.problems.length === 0) {
    const names = new Set([...m.volumes.map((v) => v.name), ...Object.keys(inspection.volumes)]);
    const differ: string[] = [];
    for (const n of [...names].sort()) {
      const said = m.volumes.find((v) => v.name === n) ?? { entries: 0, bytes: 0 };
      const seen = inspection.volumes[n] ?? { entries: 0, bytes: 0 };
      if (said.entries !== seen.entries || said.bytes !== seen.bytes) {
        differ.push(`${n}: written ${said.entries} entries / ${said.bytes} bytes, now ${seen.entries} / ${seen.bytes}`);
      }
    }
    if (differ.length) {
      problems.push({
        code: 'manifest-counts',
        message: `the archive differs from what was written (${differ.join('; ')}): it was changed after writing`,
      });
    }
  }
  return { manifest: m, problems, warnings };
}

export interface ShrinkCheckInput {
  manifest: Manifest;
  /** the newest earlier backup's file name and manifest, or null when there is none */
  previous: { file: string; manifest: Manifest } | null;
  maxShrinkPercent: number;
  allowShrink: boolean;
}

export interface ShrinkVerdict {
  /** the comparison made, for the report; null when there was nothing to compare with */
  against: { file: string; bytes: number; entries: number } | null;
  problems: BackupProblem[];
  warnings: BackupWarning[];
}

const percentDown = (before: number, after: number): number => (before === 0 ? 0 : ((before - after) / before) * 100);
const pct = (x: number): string => `${x.toFixed(1)}%`;

/** The shrink hold (docs/architecture.md §16): bytes or entries down more than the limit is refused. */
export function checkShrink(input: ShrinkCheckInput): ShrinkVerdict {
  const { previous } = input;
  if (previous === null) return { against: null, problems: [], warnings: [] };
  const before = manifestTotals(previous.manifest);
  const now = manifestTotals(input.manifest);
  const against = { file: previous.file, ...before };
  const bytesDown = percentDown(before.bytes, now.bytes);
  const entriesDown = percentDown(before.entries, now.entries);
  if (bytesDown <= input.maxShrinkPercent && entriesDown <= input.maxShrinkPercent) {
    return { against, problems: [], warnings: [] };
  }
  const figures =
    `${before.bytes} → ${now.bytes} bytes (${pct(-bytesDown)}) and ${before.entries} → ${now.entries} entries ` +
    `(${pct(-entriesDown)}) against ${previous.file}, the newest earlier backup`;
  if (input.allowShrink) {
    return {
      against,
      problems: [],
      warnings: [
        {
          code: 'shrink-allowed',
          message: `the backup shrank: ${figures}; accepted because of --allow-shrink`,
        },
      ],
    };
  }
  return {
    against,
    problems: [
      {
        code: 'backup-shrank',
        message:
          `the backup shrank by more than ${input.maxShrinkPercent}% (--max-shrink-percent): ${figures}. A backup ` +
          `that lost most of the data is held: check the module's data; if the shrink is real (data was deleted on ` +
          `purpose), pass --allow-shrink (input allow-shrink)`,
      },
    ],
    warnings: [],
  };
}
