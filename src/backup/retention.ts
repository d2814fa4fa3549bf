/**
 * Backup retention (prune-backups, docs/architecture.md §7): which of a module's snapshots in one backup
 * root to keep and which to delete. The newest backup that VERIFIES is always kept, whatever the
 * keep rules say, and nothing at all is deleted when none verifies: pruning must never leave a module
 * without a restorable backup.
 *
 * Only `<module>-YYYYMMDDTHHMMSSZ.tar.gz` regular files directly in the root (and their `.sha256`)
 * are backups: other modules' files, other names, subdirectories and symlinks are never touched.
 * The module's safety copies (`<module>.pre-restore.<stamp>.tar.gz`, `.pre-upgrade.`: what a restore
 * replaced, what an upgrade started from) are never backups here: they never count as the newest
 * verified one nor as "at least one verified backup", and have their own rule (keep the newest of each
 * kind, and those younger than keep-safety-days). File-system access and verification are parameters,
 * so tests run on an in-memory listing.
 */
import path from 'node:path';
import { CHECKSUM_SUFFIX, parseArchiveName, parseStamp, type SafetyKind } from './names.js';

/** Safety copies younger than this many days are kept by default (docs/architecture.md §7). */
export const DEFAULT_KEEP_SAFETY_DAYS = 30;

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
  /**
   * safety copies: besides the newest of each kind (always kept), keep those younger than this many
   * days; 0 keeps only the newest of each kind (default DEFAULT_KEEP_SAFETY_DAYS)
   */
  keepSafetyDays?: number;
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
  /** the rule that keeps it, in words */
  rule: string;
}

/** What retention decided for one safety copy, and by which rule (docs/architecture.md §7). */
export interface SafetyCopyVerdict {
  path: string;
  kind: SafetyKind;
  taken_at: string;
  /** 'delete' is also what a dry run would delete */
  action: 'keep' | 'delete';
  /** the rule that keeps or deletes it, in words */
  rule: string;
}

export interface PruneResult {
  module: string;
  /** backups only (`<module>-<stamp>.tar.gz`); safety copies are in `safety_copies` */
  kept: KeptBackup[];
  deleted: string[];
  /** why each deleted backup goes (same order as `deleted`) */
  deleted_rules: string[];
  newest_verified: string | null;
  dry_run: boolean;
  /** archives that were checked and did not verify, with the first problem of each */
  rejected: { path: string; problem: string }[];
  /** the module's safety copies in the root, newest first, each with the rule that keeps or deletes it */
  safety_copies: SafetyCopyVerdict[];
}

interface Candidate {
  path: string;
  stamp: string;
  takenAt: Date;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** `<module>-<stamp>.tar.gz` exactly, with a real UTC stamp; null for any other name (a safety copy too). */
export function backupStamp(module: string, fileName: string): { stamp: string; takenAt: Date } | null {
  const parsed = parseArchiveName(fileName);
  if (!parsed || parsed.kind !== 'backup' || parsed.module !== module) return null;
  const takenAt = parseStamp(parsed.stamp);
  return takenAt ? { stamp: parsed.stamp, takenAt } : null;
}

/** `<module>.<kind>.<stamp>.tar.gz` exactly, with a real UTC stamp; null for any other name. */
export function safetyCopyStamp(
  module: string,
  fileName: string,
): { stamp: string; takenAt: Date; kind: SafetyKind } | null {
  const parsed = parseArchiveName(fileName);
  if (!parsed || parsed.kind === 'backup' || parsed.module !== module) return null;
  const takenAt = parseStamp(parsed.stamp);
  return takenAt ? { stamp: parsed.stamp, takenAt, kind: parsed.kind } : null;
}

/** Regular files directly in the root (lstat: never a symlink) whose names `parse` accepts, newest first. */
async function listArchives<T extends { stamp: string }>(
  fs: RetentionFs,
  backupRoot: string,
  parse: (name: string) => T | null,
): Promise<(T & { path: string })[]> {
  const out: (T & { path: string })[] = [];
  for (const name of await fs.readdir(backupRoot)) {
    if (name.includes('/') || name.includes(path.sep)) continue;
    const parsed = parse(name);
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

/** The module's archives directly in the root, regular files only (lstat), newest first. */
export async function listBackups(fs: RetentionFs, backupRoot: string, module: string): Promise<Candidate[]> {
  return listArchives(fs, backupRoot, (name) => backupStamp(module, name));
}

/**
 * The safety rule (docs/architecture.md §7): the newest copy of each kind is always kept (it is the way
 * back from the latest restore or upgrade), and so is every copy younger than keep-safety-days.
 */
function judgeSafetyCopies(
  copies: readonly (Candidate & { kind: SafetyKind })[],
  keepSafetyDays: number,
  now: Date,
): SafetyCopyVerdict[] {
  const seen = new Set<SafetyKind>();
  const maxAgeMs = keepSafetyDays * 24 * 3600 * 1000;
  return copies.map((c) => {
    const base = { path: c.path, kind: c.kind, taken_at: c.takenAt.toISOString() };
    if (!seen.has(c.kind)) {
      seen.add(c.kind);
      return { ...base, action: 'keep' as const, rule: `the newest ${c.kind} copy (always kept)` };
    }
    if (now.getTime() - c.takenAt.getTime() < maxAgeMs) {
      return { ...base, action: 'keep' as const, rule: `younger than ${keepSafetyDays} days (keep-safety-days)` };
    }
    return {
      ...base,
      action: 'delete' as const,
      rule:
        keepSafetyDays > 0
          ? `older than ${keepSafetyDays} days (keep-safety-days) and not the newest ${c.kind} copy`
          : `not the newest ${c.kind} copy (keep-safety-days 0)`,
    };
  });
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
  const keepSafetyDays = input.keepSafetyDays ?? DEFAULT_KEEP_SAFETY_DAYS;
  if (!Number.isSafeInteger(keepSafetyDays) || keepSafetyDays < 0) {
    throw new RangeError(`keep-safety-days must be an integer >= 0, got ${keepSafetyDays}`);
  }
  const all = await listBackups(input.fs, input.backupRoot, input.module);
  const safety = judgeSafetyCopies(
    await listArchives(input.fs, input.backupRoot, (name) => safetyCopyStamp(input.module, name)),
    keepSafetyDays,
    input.now,
  );
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
  const ruleOf = (c: Candidate, i: number): string =>
    c.path === newestVerified
      ? 'the newest backup that verifies: always kept'
      : i < input.keepLast
        ? `one of the newest ${input.keepLast} (keep-last)`
        : keepDaysMs > 0 && input.now.getTime() - c.takenAt.getTime() < keepDaysMs
          ? `younger than ${input.keepDays} days (keep-days)`
          : `not among the newest ${input.keepLast} (keep-last)` +
            (keepDaysMs > 0 ? ` and older than ${input.keepDays} days (keep-days)` : '') +
            ', and a newer backup verifies';
  const kept = all
    .map((c, i) => ({ c, i }))
    .filter(({ c, i }) => keep(c, i))
    .map(({ c, i }) => ({ path: c.path, verified: verdict.get(c.path) ?? null, rule: ruleOf(c, i) }));
  const doomedRules = new Map(all.map((c, i) => [c.path, ruleOf(c, i)]));
  const doomed = all.filter((c, i) => !keep(c, i));
  const result: PruneResult = {
    module: input.module,
    kept,
    deleted: [],
    deleted_rules: [],
    newest_verified: newestVerified,
    dry_run: input.dryRun,
    rejected,
    safety_copies: safety,
  };
  if (newestVerified === null) {
    // Nothing at all is deleted, safety copies included: say so for each.
    result.safety_copies = safety.map((c) => ({
      ...c,
      action: 'keep',
      rule: 'no backup verifies, so nothing is deleted',
    }));
    throw new NoVerifiedBackupError(input.module, result);
  }
  // Oldest first: an interruption leaves the newer archives in place.
  for (const c of [...doomed].reverse()) {
    if (!input.dryRun) {
      await removeIfRegular(input.fs, c.path);
      await removeIfRegular(input.fs, `${c.path}${CHECKSUM_SUFFIX}`);
    }
    result.deleted.push(c.path);
    result.deleted_rules.push(doomedRules.get(c.path) ?? '');
  }
  for (const c of [...safety].reverse()) {
    if (c.action !== 'delete' || input.dryRun) continue;
    await removeIfRegular(input.fs, c.path);
    await removeIfRegular(input.fs, `${c.path}${CHECKSUM_SUFFIX}`);
  }
  return result;
}
