/** `stateguard prune-backups`: retention of a module's snapshots in one backup root (docs/architecture.md §7). */
import { lstat, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_KEEP_SAFETY_DAYS,
  NoVerifiedBackupError,
  pruneBackups,
  type PruneResult,
  type RetentionFs,
} from '../backup/retention.js';
import { verifyBackup } from '../backup/verify.js';
import { ExitCode, UserError } from '../errors.js';
import { cell, code, loadValidModules, pickModule } from './common.js';
import {
  defineCommand,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  MODULES_INPUT,
  PROVENANCE_INPUTS,
  ROOT_INPUT,
} from './spec.js';

const NODE_FS: RetentionFs = {
  readdir: (dir) => readdir(dir),
  lstat: (file) => lstat(file),
  unlink: (file) => unlink(file),
};

function render(r: PruneResult, refused: string | null): { text: string; summary: string } {
  const verb = r.dry_run ? 'would delete' : 'deleted';
  const mark = (v: boolean | null): string => (v === true ? 'verified' : v === false ? 'REJECTED' : 'not checked');
  const lines = [
    refused ??
      `prune-backups ${r.module}: kept ${r.kept.length}, ${verb} ${r.deleted.length}` +
        (r.safety_copies.length > 0
          ? `; safety copies: kept ${r.safety_copies.filter((c) => c.action === 'keep').length}, ${verb} ` +
            `${r.safety_copies.filter((c) => c.action === 'delete').length}`
          : ''),
    `  newest verified: ${r.newest_verified ?? 'none'}`,
    ...r.kept.map((k) => `  keep   ${k.path} (${mark(k.verified)}; ${k.rule})`),
    ...r.deleted.map((d, i) => `  ${r.dry_run ? 'would delete' : 'delete'} ${d} (${r.deleted_rules[i] ?? ''})`),
    ...r.rejected.map((x) => `  rejected ${x.path}: ${x.problem}`),
    ...(r.safety_copies.length > 0
      ? [
          `  safety copies (never counted as backups; docs/architecture.md §7):`,
          ...r.safety_copies.map(
            (c) => `  ${c.action === 'keep' ? 'keep  ' : r.dry_run ? 'would delete' : 'delete'} ${c.path} (${c.rule})`,
          ),
        ]
      : []),
  ];
  const rows = [
    ...r.kept.map((k) => `| ${code(path.basename(k.path))} | keep | ${mark(k.verified)}; ${cell(k.rule)} |`),
    ...r.deleted.map((d, i) => `| ${code(path.basename(d))} | ${verb} | ${cell(r.deleted_rules[i] ?? '')} |`),
    ...r.safety_copies.map(
      (c) =>
        `| ${code(path.basename(c.path))} | ${c.action === 'keep' ? 'keep' : verb} | safety copy: ${cell(c.rule)} |`,
    ),
  ];
  const summary =
    `### stateguard prune-backups: ${cell(r.module)}${r.dry_run ? ' (dry run)' : ''}\n\n` +
    (refused ? `**${cell(refused)}**\n\n` : '') +
    `newest verified: ${r.newest_verified ? code(r.newest_verified) : 'none'}\n\n` +
    (rows.length > 0 ? `| archive | action | verify-backup |\n|---|---|---|\n${rows.join('\n')}` : 'no archives') +
    (r.rejected.length > 0
      ? `\n\nrejected:\n\n${r.rejected.map((x) => `- ${code(path.basename(x.path))}: ${cell(x.problem)}`).join('\n')}`
      : '');
  return { text: lines.join('\n'), summary };
}

export const pruneBackupsCommand = defineCommand({
  name: 'prune-backups',
  title: 'stateguard prune-backups',
  description:
    "Delete a module's old snapshots in one backup root, keeping the newest keep-last (and those younger than " +
    'keep-days) and always the newest one that verifies; deletes nothing when none verifies. Safety copies ' +
    '(MODULE.pre-restore.*, MODULE.pre-upgrade.*) never count as backups: the newest of each kind and those ' +
    'younger than keep-safety-days are kept.',
  inputs: [
    ROOT_INPUT,
    MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module whose backups are pruned.' },
    {
      name: 'backup-root',
      kind: 'string',
      required: true,
      description:
        'The one directory holding MODULE-YYYYMMDDTHHMMSSZ.tar.gz files (and the safety copies ' +
        'MODULE.pre-restore.*/MODULE.pre-upgrade.*); nothing else in it is ever touched.',
    },
    {
      name: 'keep-last',
      kind: 'integer',
      default: '7',
      description: 'Keep this many of the newest archives (at least 1), verified or not.',
    },
    {
      name: 'keep-days',
      kind: 'integer',
      default: '0',
      description: 'Also keep archives younger than this many days (0: no age-based keep).',
    },
    {
      name: 'keep-safety-days',
      kind: 'integer',
      default: String(DEFAULT_KEEP_SAFETY_DAYS),
      description:
        'Safety copies (MODULE.pre-restore.YYYYMMDDTHHMMSSZ.tar.gz, MODULE.pre-upgrade.…): keep those younger ' +
        'than this many days; the newest of each kind is always kept (0: only the newest of each kind).',
    },
    {
      name: 'dry-run',
      kind: 'boolean',
      default: 'false',
      description: 'Say what would be deleted; delete nothing.',
    },
    {
      name: 'max-uncompressed-bytes',
      kind: 'size',
      default: '64G',
      description: 'verify-backup: reject past this many uncompressed bytes (K/M/G suffixes).',
    },
    {
      name: 'max-entries',
      kind: 'integer',
      default: '1000000',
      description: 'verify-backup: reject past this many archive entries.',
    },
    // A backup without a provenance manifest does not verify, so it is never the one kept as newest
    // verified; this lets an older root be pruned while it still holds only legacy archives (§16).
    PROVENANCE_INPUTS[0],
    JSON_INPUT,
  ] as const,
  outputs: [
    { name: 'newest-verified', description: 'Path of the newest archive that verified (always kept).' },
    { name: 'deleted', description: 'JSON array of the deleted archives (would-be deleted with dry-run).' },
    { name: 'kept', description: 'JSON array of the kept archives.' },
    {
      name: 'deleted-safety-copies',
      description: 'JSON array of the deleted safety copies (would-be deleted with dry-run).',
    },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    if (opts.keepLast < 1) {
      throw new UserError(`--keep-last must be at least 1 (got ${opts.keepLast}): the newest archive is always kept.`, {
        input: 'keep-last',
      });
    }
    if (opts.keepSafetyDays < 0) {
      throw new UserError(`--keep-safety-days must be at least 0 (got ${opts.keepSafetyDays}).`, {
        input: 'keep-safety-days',
      });
    }
    const set = await loadValidModules(opts, ctx);
    const mod = pickModule(set, opts.module);
    const backupRoot = path.resolve(ctx.cwd, opts.backupRoot);
    const st = await stat(backupRoot).catch(() => null);
    if (!st?.isDirectory()) {
      throw new UserError(`--backup-root ${JSON.stringify(opts.backupRoot)} is not a directory.`, {
        input: 'backup-root',
      });
    }
    const now = ctx.now();
    let result: PruneResult;
    let refused: string | null = null;
    try {
      result = await pruneBackups({
        module: mod.name,
        backupRoot,
        keepLast: opts.keepLast,
        keepDays: opts.keepDays,
        keepSafetyDays: opts.keepSafetyDays,
        dryRun: opts.dryRun,
        now,
        fs: NODE_FS,
        verify: (file) =>
          verifyBackup({
            backupRef: file,
            cwd: ctx.cwd,
            module: mod,
            modules: set.modules,
            backupRoots: [backupRoot],
            now,
            maxUncompressedBytes: opts.maxUncompressedBytes,
            maxEntries: opts.maxEntries,
            ignoreMaxAge: true,
            allowLegacyArchive: opts.allowLegacyArchive,
          }),
      });
    } catch (err) {
      if (!(err instanceof NoVerifiedBackupError)) throw err;
      result = err.result;
      refused = err.message;
    }
    const { text, summary } = render(result, refused);
    const reason = refused ? ('backup-rejected' as const) : undefined;
    return {
      exitCode: refused ? ExitCode.no : ExitCode.ok,
      json: result,
      text,
      outputs: {
        'newest-verified': result.newest_verified ?? '',
        deleted: JSON.stringify(result.deleted),
        kept: JSON.stringify(result.kept.map((k) => k.path)),
        'deleted-safety-copies': JSON.stringify(
          result.safety_copies.filter((c) => c.action === 'delete').map((c) => c.path),
        ),
        'failure-reason': reason ?? '',
      },
      summary,
      annotations: refused ? [{ level: 'error' as const, title: 'stateguard prune-backups', message: refused }] : [],
      failureReason: reason,
    };
  },
});
