/**
 * Backup file names: `<name>-<YYYYMMDD>T<HHMMSS>Z.tar.gz` (docs/architecture.md §5, §7). Pure string and date
 * logic, shared by snapshot (which writes names) and verify-backup (which judges them), so the two
 * can never disagree about what a valid name is.
 */
import type { BackupProblem } from './types.js';

export const ARCHIVE_SUFFIX = '.tar.gz';
export const CHECKSUM_SUFFIX = '.sha256';
/** A stamp may be this far in the future before it is refused (clock skew between hosts). */
export const FUTURE_SKEW_MS = 5 * 60 * 1000;

const NAME_RE = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)-(\d{8}T\d{6}Z)\.tar\.gz$/;
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

export function archiveName(module: string, takenAt: Date): string {
  return `${module}-${formatStamp(takenAt)}${ARCHIVE_SUFFIX}`;
}

export interface NameVerdict {
  matchedModule: string | null;
  createdAt: Date | null;
  problems: BackupProblem[];
}

/**
 * Judge a backup's file name against the modules whose backups may cover this one (the module
 * itself and its `ref_modules`) and its maximum age. Every failed rule is reported.
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
  const m = NAME_RE.exec(fileName);
  if (!m) {
    // Say "bad stamp" when an allowed module name is clearly there and only the stamp is off.
    const looksLikeOurs = fileName.endsWith(ARCHIVE_SUFFIX) && allowed.some((a) => fileName.startsWith(`${a}-`));
    problems.push(
      looksLikeOurs
        ? {
            code: 'bad-stamp',
            message:
              `the time stamp in ` +
              `${JSON.stringify(fileName)} is not YYYYMMDDTHHMMSSZ (UTC, e.g. 20260131T235959Z); expected ${expected}`,
          }
        : { code: 'bad-name', message: `${JSON.stringify(fileName)} is not named ${expected}` },
    );
    return { matchedModule: null, createdAt: null, problems };
  }
  const [, name, stamp] = m as unknown as [string, string, string];
  const matchedModule = allowed.includes(name) ? name : null;
  if (!matchedModule) {
    problems.push({
      code: 'wrong-module',
      message: `the backup is of module '${name}', which does not cover this module (accepted: ${allowed.join(', ')})`,
    });
  }
  const createdAt = parseStamp(stamp);
  if (!createdAt) {
    problems.push({ code: 'bad-stamp', message: `the time stamp ${stamp} is not a real UTC date and time` });
    return { matchedModule, createdAt: null, problems };
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
  return { matchedModule, createdAt, problems };
}
