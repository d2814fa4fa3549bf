/**
 * Backup file names (docs/architecture.md §5, §7). Pure string and date logic, shared by snapshot
 * (which writes names), verify-backup (which judges them) and prune-backups (which lists them), so
 * they can never disagree about what a valid name is.
 *
 * - a backup: `<module>-<YYYYMMDD>T<HHMMSS>Z.tar.gz`
 * - a safety copy: `<module>.<kind>.<YYYYMMDD>T<HHMMSS>Z.tar.gz`, kind `pre-restore` (what a restore
 *   replaced) or `pre-upgrade` (what an upgrade started from). Module names hold no dot, so no
 *   backup pattern of any module (`db-*.tar.gz`, `ls -t db-*`) matches a safety copy, while `ls db*`
 *   shows it beside the module's backups.
 */
import type { BackupProblem } from './types.js';

export const ARCHIVE_SUFFIX = '.tar.gz';
export const CHECKSUM_SUFFIX = '.sha256';
/** A stamp may be this far in the future before it is refused (clock skew between hosts). */
export const FUTURE_SKEW_MS = 5 * 60 * 1000;

const MODULE_PART = '([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)';
const NAME_RE = new RegExp(`^${MODULE_PART}-(\\d{8}T\\d{6}Z)\\.tar\\.gz$`);
const SAFETY_RE = new RegExp(`^${MODULE_PART}\\.(pre-restore|pre-upgrade)\\.(\\d{8}T\\d{6}Z)\\.tar\\.gz$`);

/** The safety copies restore and upgrade write before they change anything (docs/architecture.md §7). */
export const SAFETY_KINDS = ['pre-restore', 'pre-upgrade'] as const;
export type SafetyKind = (typeof SAFETY_KINDS)[number];
/** What an archive's name says it is. */
export type ArchiveKind = 'backup' | SafetyKind;

export interface ParsedArchiveName {
  module: string;
  /** the stamp as written; it may still name no real date (see parseStamp) */
  stamp: string;
  kind: ArchiveKind;
}

/**
 * The one parser of archive names: a backup or a safety copy, or null for anything else. Only the
 * shape is judged here; whether the stamp is a real date is parseStamp's question.
 */
export function parseArchiveName(fileName: string): ParsedArchiveName | null {
  const b = NAME_RE.exec(fileName);
  if (b) return { module: b[1]!, stamp: b[2]!, kind: 'backup' };
  const s = SAFETY_RE.exec(fileName);
  if (s) return { module: s[1]!, stamp: s[3]!, kind: s[2] as SafetyKind };
  return null;
}
const STAMP_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `20260131T235959Z` for a Date (UTC, second precision). */
export function formatStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The Date a stamp names, or null when it is not a real UTC calendar time. */
export function parseStamp(stamp: string): Date | null {
  const m = STAMP_RE.exec(stamp);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 20260230 over into March: a round trip catches every impossible field.
  if (formatStamp(date) !== stamp) return null;
  return date;
}

/** `<module>-<stamp>.tar.gz` for a backup, `<module>.<kind>.<stamp>.tar.gz` for a safety copy. */
export function archiveName(module: string, takenAt: Date, kind: ArchiveKind = 'backup'): string {
  const stamp = formatStamp(takenAt);
  return kind === 'backup' ? `${module}-${stamp}${ARCHIVE_SUFFIX}` : `${module}.${kind}.${stamp}${ARCHIVE_SUFFIX}`;
}

export interface NameVerdict {
  matchedModule: string | null;
  createdAt: Date | null;
  /** what the name says the archive is; null when the name is not one of ours */
  kind: ArchiveKind | null;
  problems: BackupProblem[];
}

/** The stamp's shape, spelled out (this text reaches markdown summaries: no <placeholders>). */
const STAMP_SHAPE = 'YYYYMMDDTHHMMSSZ (UTC, e.g. 20260131T235959Z)';

/**
 * Why a name that is not one of ours was refused, by what it most looks like, first match wins: a
 * safety copy of an allowed module or a backup of one with only the stamp off (`bad-stamp`), or
 * anything else (`bad-name`, naming the safety-copy shape too when it starts `<module>.`).
 */
function nearMiss(fileName: string, allowed: readonly string[], expected: string): BackupProblem {
  const ours = fileName.endsWith(ARCHIVE_SUFFIX);
  const safety = (a: string, k: SafetyKind): string => `${a}.${k}.YYYYMMDDTHHMMSSZ${ARCHIVE_SUFFIX}`;
  const rules: Array<{ when: boolean; problem: () => BackupProblem }> = [
    ...SAFETY_KINDS.map((k) => ({
      when: ours && allowed.some((a) => fileName.startsWith(`${a}.${k}.`)),
      problem: (): BackupProblem => ({
        code: 'bad-stamp',
        message:
          `the time stamp in ${JSON.stringify(fileName)} is not ${STAMP_SHAPE}; ` +
          `expected ${allowed.map((a) => safety(a, k)).join(' or ')}`,
      }),
    })),
    {
      when: ours && allowed.some((a) => fileName.startsWith(`${a}-`)),
      problem: () => ({
        code: 'bad-stamp',
        message: `the time stamp in ${JSON.stringify(fileName)} is not ${STAMP_SHAPE}; expected ${expected}`,
      }),
    },
    {
      when: allowed.some((a) => fileName.startsWith(`${a}.`)),
      problem: () => ({
        code: 'bad-name',
        message:
          `${JSON.stringify(fileName)} is not named ${expected} (a backup) or ` +
          `${allowed.flatMap((a) => SAFETY_KINDS.map((k) => safety(a, k))).join(' or ')} (a safety copy)`,
      }),
    },
  ];
  return (
    rules.find((r) => r.when)?.problem() ?? {
      code: 'bad-name',
      message: `${JSON.stringify(fileName)} is not named ${expected}`,
    }
  );
}

/**
 * Judge a backup's file name against the modules whose backups may cover this one (the module
 * itself and its `ref_modules`) and its maximum age. Every failed rule is reported. A safety copy
 * (`<module>.pre-restore.<stamp>.tar.gz`, `.pre-upgrade.`) is judged by the same rules on the
 * module and stamp inside its name (docs/architecture.md §5, §7).
 */
export function checkArchiveName(
  fileName: string,
  allowed: readonly string[],
  maxAgeHours: number,
  now: Date,
): NameVerdict {
  const problems: BackupProblem[] = [];
  // Real module names and a spelled-out stamp, no <placeholders>: this text reaches markdown summaries.
  const expected = allowed.map((a) => `${a}-YYYYMMDDTHHMMSSZ${ARCHIVE_SUFFIX}`).join(' or ');
  const parsed = parseArchiveName(fileName);
  if (!parsed) {
    problems.push(nearMiss(fileName, allowed, expected));
    return { matchedModule: null, createdAt: null, kind: null, problems };
  }
  const { module: name, stamp, kind } = parsed;
  const matchedModule = allowed.includes(name) ? name : null;
  if (!matchedModule) {
    problems.push({
      code: 'wrong-module',
      message:
        `the ${kind === 'backup' ? 'backup' : `safety copy (${kind})`} is of module '${name}', which does not ` +
        `cover this module (accepted: ${allowed.join(', ')})`,
    });
  }
  const createdAt = parseStamp(stamp);
  if (!createdAt) {
    problems.push({ code: 'bad-stamp', message: `the time stamp ${stamp} is not a real UTC date and time` });
    return { matchedModule, createdAt: null, kind, problems };
  }
  const ageMs = now.getTime() - createdAt.getTime();
  if (!Number.isFinite(maxAgeHours) || maxAgeHours <= 0) {
    // The schema forbids this; a module built in code must not get "any age" by accident.
    problems.push({
      code: 'too-old',
      message: `backup.max_age_hours is ${maxAgeHours}: no backup age can be accepted`,
    });
  } else if (ageMs < -FUTURE_SKEW_MS) {
    problems.push({
      code: 'stamp-in-future',
      message:
        `the time stamp ` +
        `${stamp} is ${Math.round(-ageMs / 60000)} minutes in the future (more than 5 minutes of clock skew); check ` +
        `the clocks or the file name`,
    });
  } else if (ageMs > maxAgeHours * 3600 * 1000) {
    problems.push({
      code: 'too-old',
      message:
        `the backup is ` +
        `${(ageMs / 3600000).toFixed(1)} hours old; this module accepts at most ` +
        `${maxAgeHours} hours (backup.max_age_hours). Take a fresh snapshot.`,
    });
  }
  return { matchedModule, createdAt, kind, problems };
}
