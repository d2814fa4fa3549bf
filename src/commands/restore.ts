/**
 * `stateguard restore` and `stateguard recover`: put a verified backup back onto a module's data
 * volumes, and finish or revert one that was interrupted (docs/architecture.md §12).
 */
import { surfaceOf } from '../report/words.js';
import { hostname } from 'node:os';
import { downtimeWords, progressIntervalMs } from '../report/progress.js';
import { verifyBackup } from '../backup/verify.js';
import { planModules } from '../plan/plan.js';
import { ExitCode } from '../errors.js';
import { describeHolder } from '../ops/lock.js';
import { restoreModule } from '../restore/restore.js';
import type { RestoreOutcome } from '../restore/types.js';
import type { CrashHook } from '../ops/steps.js';
import { cell, checkExpectedPlanHash, loadValidModules, pickModule, refuseOnSwarm } from './common.js';
import { GUARD_INPUTS } from './guard.js';
import {
  defineCommand,
  DOWNTIME_OUTPUT,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  LOCK_INPUTS,
  shrinkPercent,
} from './spec.js';

/**
 * Test seam for the crash tests (docs/architecture.md §12): STATEGUARD_TEST_KILL_AT=<boundary> makes
 * the process SIGKILL itself at that phase boundary, exactly as a lost runner would stop.
 */
export function crashHook(env: Readonly<Record<string, string | undefined>>): CrashHook | undefined {
  const at = env.STATEGUARD_TEST_KILL_AT;
  if (!at) return undefined;
  return (boundary) => {
    if (boundary === at) process.kill(process.pid, 'SIGKILL');
  };
}

const RESTORE_ONLY = GUARD_INPUTS.filter((i) => i.name !== 'confirm' && i.name !== 'confirm-token');

export const READY_TIMEOUT_INPUT = {
  name: 'ready-timeout-seconds',
  kind: 'integer',
  default: '120',
  description:
    'How long to wait for the service to be running (and healthy, where it has a healthcheck) on the data; past ' +
    'it the old data is put back.',
} as const;

export const BREAK_LOCK_INPUT = {
  name: 'break-stale-lock',
  kind: 'boolean',
  default: 'false',
  description:
    "Exactly 'true' takes over a lock whose holder cannot be proven gone (a runner that was lost). Make sure no " +
    'restore of the module is running.',
} as const;

/** Shared by restore and upgrade (docs/architecture.md §12, "Dry runs"). */
export const DRY_RUN_INPUT = {
  name: 'dry-run',
  kind: 'boolean',
  default: 'false',
  description:
    "Exactly 'true' runs every check the real run makes and prints what it would do, step by step, touching " +
    'nothing (no lock, no stop, no file written). Exit 0 when the real run would proceed.',
} as const;

/** A dry run's steps as text lines ("  1. would stop …"), none in a real run. */
export function dryRunLines(o: { dry_run: boolean; steps: { would: string }[] | null }): string[] {
  if (!o.dry_run || !o.steps?.length) return [];
  return ['  dry run — what a real run would do:', ...o.steps.map((st, i) => `    ${i + 1}. ${st.would}`)];
}

/** A dry run's steps as a markdown list for the job summary. */
export function dryRunSummary(o: { dry_run: boolean; steps: { would: string }[] | null }): string[] {
  if (!o.dry_run) return [];
  if (!o.steps?.length) return ['', '_Dry run: nothing was touched._'];
  return [
    '',
    '**Dry run** — nothing was touched; a real run would:',
    '',
    ...o.steps.map((st, i) => `${i + 1}. ${cell(st.would)}`),
  ];
}

export function restoreExitCode(o: RestoreOutcome): 0 | 1 | 3 {
  if (o.status === 'restored' || o.status === 'would-restore') return ExitCode.ok;
  return o.could_not_run ? ExitCode.couldNotRun : ExitCode.no;
}

export function restoreSummary(o: RestoreOutcome): string {
  const icon = o.status === 'restored' || o.status === 'would-restore' ? '✅' : '⛔';
  const lines = [`### ${icon} stateguard restore${o.dry_run ? ' (dry run)' : ''}: \`${o.module}\` ${o.decision}`, ''];
  if (o.failure_reason) lines.push(`failure-reason: \`${o.failure_reason}\``, '');
  lines.push('| | |', '|---|---|');
  if (o.backup) lines.push(`| backup | ${cell(o.backup.path)} |`);
  if (o.pre_restore_snapshot) lines.push(`| pre-restore snapshot | ${cell(o.pre_restore_snapshot)} |`);
  for (const v of o.volumes) lines.push(`| volume \`${v.volume}\` | ${v.entries} entries, ${v.bytes} bytes |`);
  if (o.reverted) lines.push('| reverted | the old data was put back |');
  if (o.downtime_ms !== null) lines.push(`| downtime | ${downtimeWords(o.downtime_ms)} |`);
  if (o.plan_hash) lines.push(`| plan hash | \`${o.plan_hash}\` |`);
  if (o.lock_refusal) lines.push(`| held by | ${cell(o.lock_refusal.holder)} since ${cell(o.lock_refusal.since)} |`);
  lines.push('', ...o.messages.map((m) => `- ${cell(m)}`));
  lines.push(...dryRunSummary(o));
  if (o.status !== 'restored' && o.reasons.length) {
    lines.push('', '| # | reason | what failed | how to fix |', '|---|---|---|---|');
    o.reasons.forEach((x, i) => lines.push(`| ${i + 1} | \`${x.code}\` | ${cell(x.message)} | ${cell(x.fix)} |`));
  }
  for (const w of o.warnings) lines.push('', `> ⚠️ ${cell(w)}`);
  return lines.join('\n');
}

export const restoreCommand = defineCommand({
  name: 'restore',
  title: 'stateguard restore',
  description:
    "Put a verified backup back onto a stateful module's data volumes: pre-restore snapshot, staged copy, " +
    'journaled swap by renames, recreate, health check; reverted on any failure.',
  inputs: [
    ...RESTORE_ONLY,
    {
      name: 'confirm',
      kind: 'string',
      description:
        "The backup's file name exactly (e.g. store-20261129T120000Z.tar.gz): the operator names what replaces " +
        'the data.',
    },
    {
      name: 'out-dir',
      kind: 'string',
      description: "Where the pre-restore snapshot is written (default: the backup's directory).",
    },
    {
      name: 'expected-plan-hash',
      kind: 'string',
      description: "plan_hash of the module's reviewed plan; refuse (plan-changed) when the fresh plan differs.",
    },
    {
      name: 'helper-image',
      kind: 'string',
      description:
        "A local image with /bin/sh and coreutils (busybox) for the steps inside the volumes, when the module's " +
        'own image has none. Never pulled.',
    },
    READY_TIMEOUT_INPUT,
    ...LOCK_INPUTS,
    DRY_RUN_INPUT,
    JSON_INPUT,
  ] as const,
  outputs: [
    {
      name: 'status',
      description: 'restored, would-restore (a dry run that would proceed), blocked, refused or failed.',
    },
    { name: 'pre-restore-snapshot', description: 'Path of the verified snapshot of what was live before.' },
    { name: 'plan-hash', description: "plan_hash of the module's fresh plan." },
    DOWNTIME_OUTPUT,
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const set = await loadValidModules(opts, ctx);
    const module = pickModule(set, opts.module);
    refuseOnSwarm(module, 'restore');
    const progressInterval = progressIntervalMs(ctx.env);
    checkExpectedPlanHash(opts.expectedPlanHash, module.name, ctx);
    const o = await restoreModule(
      {
        modules: set.modules,
        module,
        allowStateful: opts.allowStateful,
        confirm: opts.confirm,
        backupRef: opts.backupRef,
        backupRoots: opts.backupRoot,
        cwd: ctx.cwd,
        now: ctx.now(),
        maxUncompressedBytes: opts.maxUncompressedBytes,
        maxEntries: opts.maxEntries,
        allowLegacyArchive: opts.allowLegacyArchive,
        maxShrinkPercent: shrinkPercent(opts.maxShrinkPercent),
        allowShrink: opts.allowShrink,
        surface: surfaceOf(ctx),
        expectedPlanHash: opts.expectedPlanHash,
        breakStaleLock: opts.breakStaleLock,
        staleAfterMs: opts.lockStaleAfterMinutes * 60_000,
        holder: describeHolder(ctx.env, hostname(), process.pid),
        helperImage: opts.helperImage,
        outDir: opts.outDir,
        readyTimeoutSeconds: opts.readyTimeoutSeconds,
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
      exitCode: restoreExitCode(o),
      json: o,
      text: [
        `restore ${o.module}${o.dry_run ? ' (dry run)' : ''}: ${o.decision}`,
        ...(o.failure_reason ? [`failure-reason: ${o.failure_reason}`] : []),
        ...dryRunLines(o),
        // Blocked: each reason once, with its fix; the verdict (JSON) repeats them, so it is not printed again.
        ...(o.status === 'blocked' && o.reasons.length
          ? [...o.reasons.map((r) => `  - [${r.code}] ${r.message} — fix: ${r.fix}`)]
          : [`  ${o.verdict}`]),
        ...(o.downtime_ms !== null ? [`  ${downtimeWords(o.downtime_ms)}`] : []),
      ].join('\n'),
      outputs: {
        status: o.status,
        'pre-restore-snapshot': o.pre_restore_snapshot ?? '',
        'plan-hash': o.plan_hash ?? '',
        'downtime-ms': o.downtime_ms === null ? '' : String(o.downtime_ms),
        'failure-reason': o.failure_reason,
      },
      summary: restoreSummary(o),
      annotations: o.failure_reason
        ? [{ level: 'error' as const, title: `stateguard restore: ${o.failure_reason}`, message: o.verdict }]
        : [],
      failureReason: o.failure_reason === '' ? undefined : o.failure_reason,
    };
  },
});
