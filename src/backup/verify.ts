/**
 * verify-backup (docs/architecture.md §5): is this file a backup we may trust for this module? The file is
 * untrusted input. Location, name, age and checksum are judged first; then one streaming pass
 * (./archive.ts) hashes, gunzips and walks it without extracting anything.
 *
 * Never throws for anything about the file: every finding, including "missing", "a directory" and
 * "outside the roots", is a problem with a stable code and `verified: false` (exit 1, not 3).
 */
import { constants as fsc } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ModuleDecl } from '../model/module.js';
import { inspectArchive, type ArchiveInspection, type Layout } from './archive.js';
import { CHECKSUM_SUFFIX, checkArchiveName, parseArchiveName, type ParsedArchiveName } from './names.js';
import type { Manifest } from './manifest.js';
import { readManifestOf } from './manifest-file.js';
import { checkManifest, checkShrink } from './provenance.js';
import type { BackupProblem, BackupReport } from './types.js';

export interface VerifyBackupInput {
  backupRef: string;
  cwd: string;
  module: ModuleDecl;
  /**
   * Every module's declaration: the backup's name may match a `ref_modules` parent (store-init's
   * backups are store's), and the parent's declared data volumes are the layout the archive must have.
   */
  modules: readonly ModuleDecl[];
  backupRoots: string[];
  now: Date;
  maxUncompressedBytes: number;
  maxEntries: number;
  /**
   * restore takes a backup of any age (an old one is often the point); the name must still be the
   * module's, and not from the future
   */
  ignoreMaxAge?: boolean;
  /** accept an archive without a provenance manifest, with a loud warning (docs/architecture.md §16) */
  allowLegacyArchive?: boolean;
  /** refuse a backup whose bytes or entries fell by more than this against the previous one (default 50) */
  maxShrinkPercent?: number;
  /** accept a backup that shrank past the limit, with a warning */
  allowShrink?: boolean;
}

/** The shrink hold's default limit (docs/architecture.md §16). */
export const DEFAULT_MAX_SHRINK_PERCENT = 50;
/** The shrink hold looks at no more than this many earlier archives for one with a manifest. */
const MAX_EARLIER_LOOKED_AT = 20;

/** Read size per chunk: big enough that syscalls and callbacks are noise, small enough for 64 MiB RSS. */
const READ_CHUNK = 1024 * 1024;
/** A `.sha256` file is one line; anything larger is not one. */
const MAX_CHECKSUM_FILE = 4096;

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

interface ResolvedRoots {
  roots: string[];
  missing: string[];
}

async function resolveRoots(roots: readonly string[], cwd: string): Promise<ResolvedRoots> {
  const out: ResolvedRoots = { roots: [], missing: [] };
  for (const r of roots) {
    try {
      out.roots.push(await realpath(path.resolve(cwd, r)));
    } catch {
      out.missing.push(r);
    }
  }
  return out;
}

function describeFsError(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return (err as Error)?.message ?? String(err);
}

/** The expected sha256 from a `.sha256` file beside the archive, or a problem; null when absent. */
async function readChecksumFile(
  archiveReal: string,
  refName: string,
  roots: readonly string[],
): Promise<{ expected: string } | { problem: BackupProblem } | null> {
  const file = `${archiveReal}${CHECKSUM_SUFFIX}`;
  const shown = path.basename(file);
  try {
    await lstat(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    return { problem: { code: 'checksum-unreadable', message: `${shown}: ${describeFsError(err)}` } };
  }
  let fh: FileHandle | undefined;
  try {
    const real = await realpath(file);
    if (!roots.some((r) => isInside(r, real))) {
      return { problem: { code: 'checksum-unreadable', message: `${shown} resolves outside the backup roots` } };
    }
    fh = await open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile()) return { problem: { code: 'checksum-unreadable', message: `${shown} is not a regular file` } };
    if (st.size > MAX_CHECKSUM_FILE) {
      return {
        problem: { code: 'checksum-unreadable', message: `${shown} is ${st.size} bytes; a checksum file is one line` },
      };
    }
    const text = (await fh.readFile()).toString('utf8');
    const line =
      text
        .split(/\r?\n/)
        .find((l) => l.trim() !== '')
        ?.trim() ?? '';
    // `sha256sum` writes `<hex>  <name>` (or `<hex> *<name>` in binary mode); a bare hex is accepted too.
    const m = /^([0-9a-fA-F]{64})(?:\s+\*?(.+))?$/.exec(line);
    if (!m) {
      return {
        problem: {
          code: 'checksum-unreadable',
          message: `${shown} is not '<sha256 hex>  <file name>' (as sha256sum writes it)`,
        },
      };
    }
    const named = m[2]?.trim();
    if (
      named !== undefined &&
      path.basename(named) !== path.basename(archiveReal) &&
      path.basename(named) !== refName
    ) {
      return {
        problem: {
          code: 'checksum-mismatch',
          message:
            `${shown} is the checksum of ` +
            `${JSON.stringify(named.slice(0, 200))}, not of ${path.basename(archiveReal)}`,
        },
      };
    }
    return { expected: m[1]!.toLowerCase() };
  } catch (err) {
    return { problem: { code: 'checksum-unreadable', message: `${shown}: ${describeFsError(err)}` } };
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

export async function verifyBackup(input: VerifyBackupInput): Promise<BackupReport> {
  const absRef = path.resolve(input.cwd, input.backupRef || '.');
  const report: BackupReport = {
    verified: false,
    path: absRef,
    sha256: null,
    bytes: null,
    uncompressed_bytes: null,
    entries: null,
    created_at: null,
    matched_module: null,
    kind: null,
    checksum: null,
    problems: [],
    warnings: [],
    manifest: null,
    shrink_against: null,
  };
  try {
    await verifyInto(report, input, absRef);
  } catch (err) {
    // Defence in depth: nothing above should throw, but if it does the answer is still "no".
    report.problems.push({
      code: 'unreadable',
      message: `verification failed: ${(err as Error)?.message ?? String(err)}`,
    });
  }
  report.verified = report.problems.length === 0;
  return report;
}

/** The declaration of the module a backup's name matched (the module itself or a `ref_modules` parent). */
function declaration(matched: string | null, input: VerifyBackupInput): ModuleDecl | null {
  if (matched === null) return null;
  return input.module.name === matched ? input.module : (input.modules.find((m) => m.name === matched) ?? null);
}

/**
 * The newest backup of the same module in the same directory, taken before this one, whose manifest
 * reads and agrees with its own name and the module's project: what the shrink hold compares with.
 * An earlier archive without a readable manifest is passed over (it cannot be compared).
 */
async function previousBackup(
  dir: string,
  name: ParsedArchiveName,
  decl: ModuleDecl,
): Promise<{ file: string; manifest: Manifest } | null> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const earlier = files
    .map((f) => ({ f, parsed: parseArchiveName(f) }))
    .filter((x) => x.parsed?.kind === 'backup' && x.parsed.module === name.module && x.parsed.stamp < name.stamp)
    .sort((a, b) => (a.parsed!.stamp < b.parsed!.stamp ? 1 : -1))
    .slice(0, MAX_EARLIER_LOOKED_AT);
  for (const { f, parsed } of earlier) {
    const read = await readManifestOf(path.join(dir, f));
    if (!('manifest' in read)) continue;
    const m = read.manifest;
    if (
      m.module === parsed!.module &&
      m.stamp === parsed!.stamp &&
      m.kind === 'backup' &&
      m.project === decl.compose.project
    ) {
      return { file: f, manifest: m };
    }
  }
  return null;
}

/**
 * The layout the archive must have: one top-level directory per declared data volume of the module
 * the name matched (the snapshot contract, see ./assemble.ts). A problem instead when there is none.
 */
function expectedLayout(matched: string, input: VerifyBackupInput): Layout | BackupProblem {
  const decl = input.module.name === matched ? input.module : input.modules.find((m) => m.name === matched);
  if (!decl) {
    return {
      code: 'layout-mismatch',
      message:
        `the backup is named for module ` +
        `'${matched}', whose declaration was not found, so the layout it must have is unknown`,
    };
  }
  if (decl.volumes.length === 0) {
    return {
      code: 'no-data-volumes',
      message:
        `module '${matched}' (which the backup's name matched) declares no data volumes (spec.data.volumes), ` +
        `so no archive has its layout; a backup of it cannot be accepted`,
    };
  }
  return { module: decl.name, volumes: decl.volumes.map((v) => v.volume) };
}

async function verifyInto(report: BackupReport, input: VerifyBackupInput, absRef: string): Promise<void> {
  const problems = report.problems;
  const mod = input.module;
  if (!input.backupRef) {
    problems.push({ code: 'not-found', message: 'no backup-ref was given: name the .tar.gz backup to verify' });
    return;
  }
  if (!mod.backup) {
    problems.push({
      code: 'no-backup-config',
      message:
        `module '${mod.name}' declares no backup: section (ref_modules, max_age_hours), so no backup can be ` +
        `accepted for it`,
    });
  }

  // ---- where is it, really? ----
  if (input.backupRoots.length === 0) {
    problems.push({
      code: 'no-backup-root',
      message: 'no backup root is configured: pass --backup-root DIR (repeatable) naming where backups may live',
    });
  }
  const { roots, missing } = await resolveRoots(input.backupRoots, input.cwd);
  let real: string | null = null;
  try {
    real = await realpath(absRef);
    report.path = real;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      problems.push({ code: 'not-found', message: `${input.backupRef} does not exist` });
    } else {
      problems.push({ code: 'unreadable', message: `${input.backupRef}: ${describeFsError(err)}` });
    }
  }
  let inside = false;
  if (real && input.backupRoots.length > 0) {
    inside = roots.some((r) => isInside(r, real));
    if (!inside) {
      const missingNote = missing.length ? ` (roots that do not exist: ${missing.join(', ')})` : '';
      problems.push({
        code: 'outside-backup-root',
        message:
          `${real} (the real path, symlinks resolved) is not inside a backup root: ` +
          `${roots.join(', ') || 'none exist'}${missingNote}`,
      });
    }
  }

  // ---- its name: module and age ----
  if (mod.backup) {
    const allowed = [...new Set([mod.name, ...mod.backup.refModules])];
    const verdict = checkArchiveName(
      path.basename(real ?? absRef),
      allowed,
      input.ignoreMaxAge ? Number.MAX_SAFE_INTEGER : mod.backup.maxAgeHours,
      input.now,
    );
    problems.push(...verdict.problems);
    report.matched_module = verdict.matchedModule;
    report.kind = verdict.kind;
    report.created_at = verdict.createdAt?.toISOString() ?? null;
  }

  // Never open a file outside the roots: reading it is what the roots exist to prevent.
  if (!real || !inside) return;

  let layout: Layout | null = null;
  if (report.matched_module !== null) {
    const expected = expectedLayout(report.matched_module, input);
    if ('code' in expected) problems.push(expected);
    else layout = expected;
  } else if (problems.length === 0) {
    // Unreachable (no match always comes with a name problem), but never verify without a layout.
    problems.push({
      code: 'layout-mismatch',
      message: 'the backup matched no module, so the layout it must have is unknown',
    });
  }

  let fh: FileHandle | undefined;
  try {
    try {
      // O_NOFOLLOW: the real path has no links left, so a link appearing now is a swap; refuse it.
      // O_NONBLOCK: opening a FIFO must not hang.
      fh = await open(real, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EISDIR') problems.push({ code: 'not-a-regular-file', message: `${real} is a directory` });
      else if (code === 'ENOENT')
        problems.push({ code: 'not-found', message: `${real} disappeared while being verified` });
      else problems.push({ code: 'unreadable', message: `${real}: ${describeFsError(err)}` });
      return;
    }
    const st = await fh.stat();
    if (st.isDirectory()) {
      problems.push({ code: 'not-a-regular-file', message: `${real} is a directory, not a backup file` });
      return;
    }
    if (!st.isFile()) {
      problems.push({
        code: 'not-a-regular-file',
        message: `${real} is not a regular file (a device, FIFO or socket)`,
      });
      return;
    }
    // The descriptor, not the name, is what gets read: confirm it is the file inside the root.
    const viaProc = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => null);
    if (viaProc !== null && viaProc !== real) {
      problems.push({
        code: 'outside-backup-root',
        message: `${real} was replaced while being opened (now ${viaProc})`,
      });
      return;
    }
    report.bytes = st.size;
    if (st.size === 0) {
      problems.push({ code: 'empty-file', message: `${real} is empty (0 bytes)` });
      return;
    }
    const checksum = await readChecksumFile(real, path.basename(absRef), roots);
    if (checksum && 'problem' in checksum) problems.push(checksum.problem);

    let inspection: ArchiveInspection;
    const stream = fh.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false, start: 0 });
    try {
      inspection = await inspectArchive(
        stream,
        { maxUncompressedBytes: input.maxUncompressedBytes, maxEntries: input.maxEntries },
        { layout },
      );
    } finally {
      stream.destroy();
    }
    problems.push(...inspection.problems);
    report.warnings = inspection.warnings;
    // ---- provenance (docs/architecture.md §16): the manifest against the name, the module, the walk ----
    const name = parseArchiveName(path.basename(real));
    const matchedDecl = layout === null ? null : declaration(report.matched_module, input);
    // No layout: the name or the declaration is refused already, and the walk did not look for a manifest.
    const provenance = checkManifest({
      inspection,
      name,
      matched: matchedDecl,
      allowLegacyArchive: input.allowLegacyArchive === true,
    });
    problems.push(...provenance.problems);
    report.warnings.push(...provenance.warnings);
    report.manifest = provenance.manifest;
    if (provenance.manifest && name?.kind === 'backup' && matchedDecl && problems.length === 0) {
      const shrink = checkShrink({
        manifest: provenance.manifest,
        previous: await previousBackup(path.dirname(real), name, matchedDecl),
        maxShrinkPercent: input.maxShrinkPercent ?? DEFAULT_MAX_SHRINK_PERCENT,
        allowShrink: input.allowShrink === true,
      });
      report.shrink_against = shrink.against;
      problems.push(...shrink.problems);
      report.warnings.push(...shrink.warnings);
    }
    report.entries = inspection.entries;
    report.uncompressed_bytes = inspection.uncompressedBytes;
    if (inspection.readToEnd) {
      report.sha256 = inspection.sha256;
      if (inspection.bytesRead !== st.size) {
        problems.push({
          code: 'unreadable',
          message: `${real} changed size while being read (${st.size} -> ${inspection.bytesRead} bytes)`,
        });
      }
      if (checksum && 'expected' in checksum) {
        if (checksum.expected === inspection.sha256) report.checksum = 'matched';
        else {
          problems.push({
            code: 'checksum-mismatch',
            message:
              `sha256 is ${inspection.sha256} but ${path.basename(real)}${CHECKSUM_SUFFIX} says ` +
              `${checksum.expected}`,
          });
        }
      } else if (checksum === null) {
        report.checksum = 'absent';
      }
    }
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
