/**
 * Backup retention (prune-backups, docs/architecture.md §7): which of a module's snapshots in one backup
 * root to keep and which to delete. The newest backup that VERIFIES is always kept, whatever the
 * keep rules say, and nothing at all is deleted when none verifies: pruning must never leave a module
 * without a restorable backup.
 *
 * Only `<module>-YYYYMMDDTHHMMSSZ.tar.gz` regular files directly in the root (and their `.sha256`)
 * are ever considered: other modules' files, other names, subdirectories and symlinks are never
 * touched. File-system access and verification are parameters, so tests run on an in-memory listing.
 */
import path from 'node:path';
import { ARCHIVE_SUFFIX, CHECKSUM_SUFFIX, parseStamp } from './names.js';

/** What retention needs of an lstat: never a followed symlink. */
export interface EntryStat {
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

export interface RetentionFs {
  readdir(dir: string): Promise<string[]>;
  /** lstat: must not follow symlinks */
  lstat(file: string): Promise<EntryStat>;
  /** unlink (removes a symlink itself, never its target) */
  unlink(file: string): Promise<void>;
}

export interface PruneInput {
  module: string;
  /** absolute path of the one backup directory */
  backupRoot: string;
  /** keep at least this many of the newest archives (>= 1) */
  keepLast: number;
  /** also keep archives younger than this many days (0: no age-based keep) */
  keepDays: number;
  dryRun: boolean;
  now: Date;
  fs: RetentionFs;
  /** verify-backup of one archive (of any age) */
  verify(file: string): Promise<{ verified: boolean; problems: { code: string; message: string }[] }>;
}

export interface KeptBackup {
  path: string;
  /** true/false: verified or rejected on this run; null: not checked (a newer one verified first) */
  verified: boolean | null;
}

export interface PruneResult {
  module: string;
  kept: KeptBackup[];
  deleted: string[];
  newest_verified: string | null;
  dry_run: boolean;
  /** archives that were checked and did not verify, with the first problem of each */
  rejected: { path: string; problem: string }[];
}

interface Candidate {
  path: string;
  stamp: string;
  takenAt: Date;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** `<module>-<stamp>.tar.gz` exactly, with a real UTC stamp; null for any other name. */
export function backupStamp(module: string, fileName: string): { stamp: string; takenAt: Date } | null {
  const prefix = `${module}-`;
  if (!fileName.startsWith(prefix) || !fileName.endsWith(ARCHIVE_SUFFIX)) return null;
  const stamp = fileName.slice(prefix.length, fileName.length - ARCHIVE_SUFFIX.length);
  if (!/^\d{8}T\d{6}Z$/.test(stamp)) return null;
  const takenAt = parseStamp(stamp);
  return takenAt ? { stamp, takenAt } : null;
}

/** The module's archives directly in the root, regular files only (lstat), newest first. */
export async function listBackups(fs: RetentionFs, backupRoot: string, module: string): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const name of await fs.readdir(backupRoot)) {
    if (name.includes('/') || name.includes(path.sep)) continue;
    const parsed = backupStamp(module, name);
    if (!parsed) continue;
    const file = path.join(backupRoot, name);
    let st: EntryStat;
    try {
      st = await fs.lstat(file);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue;
      throw err;
    }
    if (st.isSymbolicLink() || !st.isFile()) continue;
    out.push({ path: file, ...parsed });
  }
  // The stamp is fixed-width UTC: text order is time order.
  return out.sort((a, b) => (a.stamp < b.stamp ? 1 : a.stamp > b.stamp ? -1 : 0));
}

/**
 * Remove a file if it is still a regular file (lstat again just before: a symlink or directory put
 * there meanwhile is left alone); a file that vanished meanwhile is not an error.
 */
async function removeIfRegular(fs: RetentionFs, file: string): Promise<void> {
  try {
    const st = await fs.lstat(file);
    if (st.isSymbolicLink() || !st.isFile()) return;
    await fs.unlink(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

export class NoVerifiedBackupError extends Error {
  constructor(
    readonly module: string,
    readonly result: PruneResult,
  ) {
    super(`no verified backup of ${module}; refusing to prune`);
    this.name = 'NoVerifiedBackupError';
  }
}

/**
 * Decide and (unless dry-run) delete. Throws NoVerifiedBackupError, having deleted nothing, when no
 * archive of the module verifies.
 */
export async function pruneBackups(input: PruneInput): Promise<PruneResult> {
  if (!Number.isSafeInteger(input.keepLast) || input.keepLast < 1) {
    throw new RangeError(`keep-last must be an integer >= 1, got ${input.keepLast}`);
  }
  const all = await listBackups(input.fs, input.backupRoot, input.module);
  const verdict = new Map<string, boolean>();
  const rejected: PruneResult['rejected'] = [];
  let newestVerified: string | null = null;
  for (const c of all) {
    const r = await input.verify(c.path);
    verdict.set(c.path, r.verified);
    if (r.verified) {
      newestVerified = c.path;
      break;
    }
    const p = r.problems[0];
    rejected.push({ path: c.path, problem: p ? `[${p.code}] ${p.message}` : 'not verified' });
  }
  const keepDaysMs = input.keepDays > 0 ? input.keepDays * 24 * 3600 * 1000 : 0;
  const keep = (c: Candidate, i: number): boolean =>
    c.path === newestVerified ||
    i < input.keepLast ||
    (keepDaysMs > 0 && input.now.getTime() - c.takenAt.getTime() < keepDaysMs);
  const kept = all.filter(keep).map((c) => ({ path: c.path, verified: verdict.get(c.path) ?? null }));
  const doomed = all.filter((c, i) => !keep(c, i));
  const result: PruneResult = {
    module: input.module,
    kept,
    deleted: [],
    newest_verified: newestVerified,
    dry_run: input.dryRun,
    rejected,
  };
  if (newestVerified === null) throw new NoVerifiedBackupError(input.module, result);
  // Oldest first: an interruption leaves the newer archives in place.
  for (const c of [...doomed].reverse()) {
    if (!input.dryRun) {
      await removeIfRegular(input.fs, c.path);
      await removeIfRegular(input.fs, `${c.path}${CHECKSUM_SUFFIX}`);
    }
    result.deleted.push(c.path);
  }
  return result;
}
