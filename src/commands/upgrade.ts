/**
 * `stateguard upgrade`: a health-gated upgrade of a long-running stateful module, held when major or
 * flagged, rolled back with its data when unhealthy (docs/architecture.md §13).
 */
import { hostname } from 'node:os';
import { downtimeWords, progressIntervalMs } from '../report/progress.js';
import { verifyBackup } from '../backup/verify.js';
import { planModules } from '../plan/plan.js';
import { ExitCode } from '../errors.js';
import { describeHolder } from '../ops/lock.js';
import { blockedHeadline } from '../ops/guarded.js';
import type { UpgradeOutcome } from '../upgrade/types.js';
import { upgradeModule } from '../upgrade/upgrade.js';
import { cell, checkExpectedPlanHash, loadValidModules, pickModule, refuseOnSwarm } from './common.js';
import { inputRef, surfaceOf } from '../report/words.js';
import { crashHook, DRY_RUN_INPUT, dryRunLines, dryRunSummary } from './restore.js';
import {
  defineCommand,
  DOWNTIME_OUTPUT,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  MODULES_INPUT,
  ROOT_INPUT,
  LOCK_INPUTS,
} from './spec.js';

export function upgradeExitCode(o: UpgradeOutcome): 0 | 1 | 3 {
  if (o.decision === 'upgraded' || o.decision === 'would-upgrade' || o.status === 'no-op') return ExitCode.ok;
  return o.could_not_run ? ExitCode.couldNotRun : ExitCode.no;
}

export function upgradeSummary(o: UpgradeOutcome): string {
  const ok = o.decision === 'upgraded' || o.decision === 'would-upgrade' || o.status === 'no-op';
  const icon = ok ? '✅' : o.decision === 'held' ? '⏸️' : '⛔';
  const lines = [
    `### ${icon} stateguard upgrade${o.dry_run ? ' (dry run)' : ''}: \`${o.module}\` ` +
      `${o.status === 'no-op' ? 'no-op' : o.decision}`,
    '',
  ];
  if (o.failure_reason) lines.push(`failure-reason: \`${o.failure_reason}\``, '');
  lines.push('| | |', '|---|---|');
  lines.push(
    `| from | ${cell(o.from.image ?? '?')} ${o.from.image_id ? `(\`${o.from.image_id.slice(0, 19)}\`)` : ''} |`,
  );
  lines.push(`| to | ${cell(o.to.image ?? '?')} ${o.to.image_id ? `(\`${o.to.image_id.slice(0, 19)}\`)` : ''} |`);
  if (o.bump) lines.push(`| bump | ${o.bump} |`);
  if (o.acknowledged_migration)
    lines.push(`| manual migration acknowledged | \`${o.acknowledged_migration}\` (ack-migration) |`);
  if (o.snapshot) lines.push(`| snapshot | ${cell(o.snapshot)} |`);
  if (o.downtime_ms !== null) lines.push(`| downtime | ${downtimeWords(o.downtime_ms)} |`);
  if (o.pinned_image) lines.push(`| previous image pinned as | \`${o.pinned_image}\` |`);
  if (o.removed_pinned_images.length)
    lines.push(`| older pinned images removed | ${o.removed_pinned_images.map((t) => `\`${t}\``).join(', ')} |`);
  if (o.last_known_good)
    lines.push(`| last-known-good | ${cell(o.last_known_good.image_ref)} since ${o.last_known_good.recorded_at} |`);
  lines.push('', ...o.messages.map((m) => `- ${cell(m)}`));
  lines.push(...dryRunSummary(o));
  if (o.reasons.length && o.decision !== 'upgraded') {
    lines.push('', '| # | reason | what | how to proceed |', '|---|---|---|---|');
    o.reasons.forEach((x, i) => lines.push(`| ${i + 1} | \`${x.code}\` | ${cell(x.message)} | ${cell(x.fix)} |`));
  }
  if (o.release_notes) {
    const notes = o.release_notes.excerpt.replace(/~{8,}/g, '~');
    lines.push(
      '',
      `<details><summary>release notes ${cell(o.release_notes.path)}` +
        `${o.release_notes.flagged.length ? ` — flags: ${cell(o.release_notes.flagged.join(', '))}` : ''}</summary>`,
      '',
      '~~~~~~~~text',
      notes,
      '~~~~~~~~',
      '</details>',
    );
  }
  for (const w of o.warnings) lines.push('', `> ⚠️ ${cell(w)}`);
  return lines.join('\n');
}

/** The last line of upgrade's text: the verdict, or (when the reasons above already say it) its short form. */
export function upgradeVerdictLine(o: UpgradeOutcome): string {
  if (o.decision === 'held') return `upgrade of '${o.module}' held before anything was touched.`;
  if (o.status === 'blocked' && o.reasons.length) return blockedHeadline('upgrade', o.module, o.reasons);
  return o.verdict;
}

export const upgradeCommand = defineCommand({
  name: 'upgrade',
  title: 'stateguard upgrade',
  description:
    'Upgrade a long-running stateful module: held when the bump is major or the release notes flag a manual ' +
    'migration; otherwise snapshot, deploy only that service, health gate, and roll back with the data on failure.',
  inputs: [
    ROOT_INPUT,
    MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module to upgrade.' },
    {
      name: 'allow-stateful',
      kind: 'boolean',
      default: 'false',
      description: "Must be exactly 'true' to upgrade a stateful module.",
    },
    {
      name: 'confirm',
      kind: 'string',
      description: 'Must equal confirm-token exactly (case-sensitive). Never echoed.',
    },
    {
      name: 'confirm-token',
      kind: 'string',
      default: 'BACKUP_DONE',
      description: 'The confirmation token this repo uses.',
    },
    {
      name: 'out-dir',
      kind: 'string',
      required: true,
      description: 'Where the pre-upgrade snapshot is written (a rollback restores it).',
    },
    {
      name: 'allow-major',
      kind: 'boolean',
      default: 'false',
      description: "Exactly 'true' takes a major (or unclassifiable) version bump instead of holding it.",
    },
    {
      name: 'ack-migration',
      kind: 'string',
      description:
        'The version (the exact tag being deployed, e.g. 16.4) whose manual migration you did: lifts a ' +
        'manual-migration hold for exactly that version. Lifts nothing else (not a major hold, not the consent ' +
        'checks).',
    },
    {
      name: 'health-timeout-seconds',
      kind: 'integer',
      description: 'Bound on the health gate (default: spec.upgrade.health_timeout_seconds, else 120).',
    },
    {
      name: 'settle-seconds',
      kind: 'integer',
      description: 'How long the new version must stay running and healthy (default: spec.upgrade, else 10).',
    },
    {
      name: 'expected-plan-hash',
      kind: 'string',
      description: "plan_hash of the module's reviewed plan; refuse (plan-changed) when the fresh plan differs.",
    },
    {
      name: 'helper-image',
      kind: 'string',
      description: "A local image with /bin/sh and coreutils for a rollback's restore, when the module's has none.",
    },
    ...LOCK_INPUTS,
    DRY_RUN_INPUT,
    JSON_INPUT,
  ] as const,
  outputs: [
    {
      name: 'status',
      description:
        'upgraded, would-upgrade (a dry run that would proceed), held, rolled-back, no-op, blocked, refused or failed.',
    },
    { name: 'bump', description: 'none (the same image runs already), patch, minor, major or unknown.' },
    { name: 'snapshot', description: 'Path of the verified pre-upgrade snapshot.' },
    { name: 'pinned-image', description: 'The previous image, pinned under a stateguard tag.' },
    { name: 'plan-hash', description: "plan_hash of the module's fresh plan." },
    DOWNTIME_OUTPUT,
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const set = await loadValidModules(opts, ctx);
    const module = pickModule(set, opts.module);
    refuseOnSwarm(module, 'upgrade');
    const progressInterval = progressIntervalMs(ctx.env);
    checkExpectedPlanHash(opts.expectedPlanHash, module.name, ctx);
    if (opts.confirm) ctx.addSecret(opts.confirm);
    const o = await upgradeModule(
      {
        modules: set.modules,
        module,
        allowStateful: opts.allowStateful,
        confirm: opts.confirm,
        confirmToken: opts.confirmToken,
        cwd: ctx.cwd,
        now: ctx.now(),
        surface: surfaceOf(ctx),
        expectedPlanHash: opts.expectedPlanHash,
        breakStaleLock: opts.breakStaleLock,
        staleAfterMs: opts.lockStaleAfterMinutes * 60_000,
        holder: describeHolder(ctx.env, hostname(), process.pid),
        allowMajor: opts.allowMajor,
        outDir: opts.outDir,
        helperImage: opts.helperImage,
        healthTimeoutSeconds: opts.healthTimeoutSeconds,
        settleSeconds: opts.settleSeconds,
        root: set.root,
        ...(opts.ackMigration !== undefined ? { ackMigration: opts.ackMigration } : {}),
        dryRun: opts.dryRun,
        progressIntervalMs: progressInterval,
      },
      {
        runtime: ctx.runtime(),
        planModules,
        verifyBackup,
        log: ctx.log,
        now: () => ctx.now(),
        crash: crashHook(ctx.env),
      },
    );
    return {
      exitCode: upgradeExitCode(o),
      json: o,
      text: [
        `upgrade ${o.module}${o.dry_run ? ' (dry run)' : ''}: ${o.status === 'no-op' ? 'no-op' : o.decision}`,
        ...(o.failure_reason ? [`failure-reason: ${o.failure_reason}`] : []),
        ...(o.acknowledged_migration
          ? [
              `  manual migration acknowledged for ${o.acknowledged_migration} ` +
                `(${inputRef('ack-migration', surfaceOf(ctx))})`,
            ]
          : []),
        // Held or blocked: each reason once, with its fix; then the verdict only when it adds to them.
        ...(o.reasons.length && o.decision !== 'upgraded'
          ? o.reasons.map((r) => `  - [${r.code}] ${r.message} — fix: ${r.fix}`)
          : []),
        ...(o.release_notes?.flagged.length
          ? [`  release notes (${o.release_notes.path}):`, o.release_notes.excerpt]
          : []),
        ...dryRunLines(o),
        `  ${upgradeVerdictLine(o)}`,
        ...(o.downtime_ms !== null ? [`  ${downtimeWords(o.downtime_ms)}`] : []),
      ].join('\n'),
      outputs: {
        status: o.status,
        bump: o.bump ?? '',
        snapshot: o.snapshot ?? '',
        'pinned-image': o.pinned_image ?? '',
        'plan-hash': o.plan_hash ?? '',
        'downtime-ms': o.downtime_ms === null ? '' : String(o.downtime_ms),
        'failure-reason': o.failure_reason,
      },
      summary: upgradeSummary(o),
      annotations: o.failure_reason
        ? [
            {
              level: o.decision === 'held' ? ('warning' as const) : ('error' as const),
              title: `stateguard upgrade: ${o.failure_reason}`,
              message: o.verdict,
            },
          ]
        : [],
      failureReason: o.failure_reason === '' ? undefined : o.failure_reason,
    };
  },
});
