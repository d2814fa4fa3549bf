/** `stateguard verify-backup`: a backup archive judged as untrusted input (docs/architecture.md §5). */
import { ExitCode } from '../errors.js';
import { verifyBackup } from '../backup/verify.js';
import type { BackupReport } from '../backup/types.js';
import { cell, code, loadValidModules, pickModule } from './common.js';
import {
  defineCommand,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  MODULES_INPUT,
  PROVENANCE_INPUTS,
  ROOT_INPUT,
  shrinkPercent,
} from './spec.js';

/** What was checked against the `.sha256` beside the archive, in words. */
export function checksumLine(r: BackupReport): string {
  if (r.checksum === 'matched') return 'checksum: matched (the .sha256 beside it)';
  if (r.checksum === 'absent') return 'checksum: no .sha256 beside it — integrity not independently checked';
  return 'checksum: not checked';
}

/** A safety copy says so (docs/architecture.md §7): it holds what a restore replaced or an upgrade started from. */
function whatItIs(r: BackupReport): string {
  return r.kind === 'pre-restore' || r.kind === 'pre-upgrade' ? `safety copy (${r.kind})` : 'backup';
}

/**
 * The failure reason of a rejected backup: `no-manifest` or `backup-shrank` when that is the only
 * kind of problem (a workflow may branch to a human decision on those), else `backup-rejected`.
 */
export function verifyFailureReason(r: BackupReport): 'backup-rejected' | 'no-manifest' | 'backup-shrank' {
  const codes = new Set(r.problems.map((p) => p.code));
  if (codes.size === 1 && codes.has('no-manifest')) return 'no-manifest';
  if (codes.size === 1 && codes.has('backup-shrank')) return 'backup-shrank';
  return 'backup-rejected';
}

/** Where the archive says it came from (docs/architecture.md §16), or that nothing says so. */
export function provenanceLine(r: BackupReport): string {
  const m = r.manifest;
  if (!m) return 'provenance: none (no manifest) — module, project, stamp and counts were not checked';
  return (
    `provenance: ${m.runtime === 'swarm' ? 'stack' : 'project'} ${m.project}, service ${m.service}, image ` +
    `${m.image.ref} (${m.image.id.slice(0, 19)}), engine ${m.engine_id}, stateguard ${m.stateguard_version}`
  );
}

export function renderBackupReport(r: BackupReport): { text: string; summary: string } {
  const lines: string[] = [];
  if (r.verified) {
    lines.push(`${whatItIs(r)} verified: ${r.path}`);
    lines.push(
      `  module ${r.matched_module}, taken ${r.created_at}, ${r.entries} entries, ${r.bytes} bytes ` +
        `(${r.uncompressed_bytes} uncompressed)`,
    );
    lines.push(`  sha256 ${r.sha256}`);
    lines.push(`  ${checksumLine(r)}`);
    lines.push(`  ${provenanceLine(r)}`);
    if (r.shrink_against) {
      lines.push(
        `  compared with ${r.shrink_against.file}: ${r.shrink_against.bytes} bytes, ` +
          `${r.shrink_against.entries} entries`,
      );
    }
    for (const w of r.warnings)
      lines.push(
        `  warning [${w.code}] ${w.message}${w.entry !== undefined ? ` (entry ${JSON.stringify(w.entry)})` : ''}`,
      );
  } else {
    lines.push(`backup REJECTED: ${r.path}`);
    for (const p of r.problems)
      lines.push(`  [${p.code}] ${p.message}${p.entry !== undefined ? ` (entry ${JSON.stringify(p.entry)})` : ''}`);
  }
  const kindNote = r.kind && r.kind !== 'backup' ? ` (a ${r.kind} safety copy)` : '';
  const summary = r.verified
    ? `### stateguard verify-backup: verified${kindNote}\n\n| file | module | taken | entries | bytes | sha256 ` +
      `|\n|---|---|---|---|---|---|\n` +
      `| ${cell(r.path)} | ${cell(r.matched_module ?? '')} | ${r.created_at} | ${r.entries} | ${r.bytes} | ` +
      `\`${r.sha256}\` |\n\n${checksumLine(r)}\n\n${cell(provenanceLine(r))}` +
      r.warnings
        .map((w) => `\n\nwarning \`${w.code}\`: ${cell(w.message)}${w.entry ? ` ${code(w.entry)}` : ''}`)
        .join('')
    : `### stateguard verify-backup: rejected\n\n${code(r.path)}\n\n| code | problem | entry |\n|---|---|---|\n` +
      r.problems
        .map((p) => `| \`${p.code}\` | ${cell(p.message)} | ${p.entry !== undefined ? code(p.entry) : ''} |`)
        .join('\n');
  return { text: lines.join('\n'), summary };
}

export const verifyBackupCommand = defineCommand({
  name: 'verify-backup',
  title: 'stateguard verify-backup',
  description:
    'Verify a backup archive as untrusted input: location, name, age, checksum, and every entry, without extracting ' +
    'it.',
  inputs: [
    ROOT_INPUT,
    MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module the backup must cover.' },
    { name: 'backup-ref', kind: 'string', required: true, description: 'Path of the .tar.gz backup.' },
    {
      name: 'backup-root',
      kind: 'list',
      description: 'Allowed backup directories (repeatable; one per line in the action). None means refuse.',
    },
    {
      name: 'max-uncompressed-bytes',
      kind: 'size',
      default: '64G',
      description: 'Stop and reject past this many uncompressed bytes (K/M/G suffixes).',
    },
    {
      name: 'max-entries',
      kind: 'integer',
      default: '1000000',
      description: 'Stop and reject past this many archive entries.',
    },
    ...PROVENANCE_INPUTS,
    JSON_INPUT,
  ] as const,
  outputs: [
    { name: 'verified', description: "'true' when the backup passed every check." },
    { name: 'sha256', description: 'sha256 of the archive file.' },
    { name: 'bytes', description: 'Size of the archive file.' },
    { name: 'entries', description: 'Number of entries in the archive.' },
    {
      name: 'kind',
      description:
        "What the file name says it is: 'backup', or a safety copy ('pre-restore', 'pre-upgrade'); empty when the " +
        'name is not one of ours.',
    },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const set = await loadValidModules(opts, ctx);
    const mod = pickModule(set, opts.module);
    const report = await verifyBackup({
      backupRef: opts.backupRef,
      cwd: ctx.cwd,
      module: mod,
      modules: set.modules,
      backupRoots: opts.backupRoot,
      now: ctx.now(),
      maxUncompressedBytes: opts.maxUncompressedBytes,
      maxEntries: opts.maxEntries,
      allowLegacyArchive: opts.allowLegacyArchive,
      maxShrinkPercent: shrinkPercent(opts.maxShrinkPercent),
      allowShrink: opts.allowShrink,
    });
    // Accepted without a manifest, or despite a shrink: said loudly, not only in the JSON (§16).
    for (const w of report.warnings) {
      if (report.verified && (w.code === 'legacy-archive' || w.code === 'shrink-allowed')) {
        ctx.log.warn(`verify-backup: ${w.message}`);
      }
    }
    if (report.verified && report.checksum === 'absent') {
      ctx.log.warn(
        `verify-backup: ` +
          `${report.path} has no .sha256 beside it, so its integrity was not checked against anything independent of ` +
          `the file (write one with sha256sum, or take backups with stateguard snapshot)`,
      );
    }
    const { text, summary } = renderBackupReport(report);
    const reason = report.verified ? undefined : verifyFailureReason(report);
    return {
      exitCode: report.verified ? ExitCode.ok : ExitCode.no,
      json: report,
      text,
      outputs: {
        verified: String(report.verified),
        sha256: report.sha256 ?? '',
        bytes: report.bytes === null ? '' : String(report.bytes),
        entries: report.entries === null ? '' : String(report.entries),
        kind: report.kind ?? '',
        'failure-reason': reason ?? '',
      },
      summary,
      annotations: report.verified
        ? []
        : [
            {
              level: 'error' as const,
              title: 'stateguard verify-backup',
              message: `backup rejected: ${report.problems.map((p) => `[${p.code}] ${p.message}`).join('; ')}`,
            },
          ],
      failureReason: reason,
    };
  },
});
