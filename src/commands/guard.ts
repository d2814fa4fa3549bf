/** `stateguard guard`: the stateful-apply rule (docs/architecture.md §4) on a fresh plan and a verified backup. */
import { verifyBackup } from '../backup/verify.js';
import { planModules } from '../plan/plan.js';
import { ExitCode, type FailureReason } from '../errors.js';
import type { GuardResult } from '../guard/decide.js';
import { evaluateGuard, type GuardRequest } from '../guard/evaluate.js';
import type { ModuleDecl } from '../model/module.js';
import { surfaceOf } from '../report/words.js';
import { ALLOWED_MEANS } from '../guard/applies.js';
import { cell, code, loadValidModules, pickModule, type ModuleSet } from './common.js';
import {
  defineCommand,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  MODULES_INPUT,
  PROVENANCE_INPUTS,
  ROOT_INPUT,
  shrinkPercent,
  type CommandContext,
  type InputDef,
  type OptionsOf,
} from './spec.js';

/** The guard's inputs, shared with apply (which re-runs the guard with the same inputs). */
export const GUARD_INPUTS = [
  ROOT_INPUT,
  MODULES_INPUT,
  { name: 'module', kind: 'string', required: true, description: 'The module to decide on.' },
  {
    name: 'allow-stateful',
    kind: 'boolean',
    default: 'false',
    description: "Must be exactly 'true' to change a stateful or sidecar module.",
  },
  {
    name: 'backup-ref',
    kind: 'string',
    description: 'Path of the backup (.tar.gz) that covers the module; verified with the verify-backup rules.',
  },
  {
    name: 'backup-root',
    kind: 'list',
    description:
      'Allowed backup directories (repeatable; one per line in the action). None means every backup is refused.',
  },
  { name: 'confirm', kind: 'string', description: 'Must equal confirm-token exactly (case-sensitive). Never echoed.' },
  {
    name: 'confirm-token',
    kind: 'string',
    default: 'BACKUP_DONE',
    description: 'The confirmation token this repo uses.',
  },
  {
    name: 'max-uncompressed-bytes',
    kind: 'size',
    default: '64G',
    description: 'verify-backup cap: reject the backup past this many uncompressed bytes.',
  },
  {
    name: 'max-entries',
    kind: 'integer',
    default: '1000000',
    description: 'verify-backup cap: reject the backup past this many entries.',
  },
  ...PROVENANCE_INPUTS,
] as const satisfies readonly InputDef[];

/** The guard's options as evaluateGuard takes them; apply re-runs the guard with the same. */
export function guardRequest(
  opts: OptionsOf<typeof GUARD_INPUTS>,
  set: ModuleSet,
  module: ModuleDecl,
  ctx: CommandContext,
): GuardRequest {
  return {
    modules: set.modules,
    module,
    allowStateful: opts.allowStateful,
    confirm: opts.confirm,
    confirmToken: opts.confirmToken,
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
  };
}

/** Reasons that mean "could not evaluate" (exit 3) rather than "no" (exit 1). */
const COULD_NOT_RUN: readonly FailureReason[] = ['docker-unavailable', 'compose-error', 'internal'];

export function guardExitCode(r: GuardResult): 0 | 1 | 3 {
  if (r.decision === 'allowed' || r.decision === 'no-op') return ExitCode.ok;
  return r.failure_reason !== '' && COULD_NOT_RUN.includes(r.failure_reason) ? ExitCode.couldNotRun : ExitCode.no;
}

export function guardText(r: GuardResult): string {
  const head = `guard ${r.module}: ${r.decision}${r.drift_keys.length ? ` (drift: ${r.drift_keys.join(', ')})` : ''}`;
  if (r.decision === 'no-op') return head;
  if (r.decision === 'allowed') return [head, `  ${ALLOWED_MEANS}; ${r.how_applied ?? ''}`.trimEnd()].join('\n');
  return [
    head,
    `failure-reason: ${r.failure_reason}`,
    ...r.reasons.map((x, i) => `  ${i + 1}. [${x.code}] ${x.message}\n     fix: ${x.fix}`),
  ].join('\n');
}

export function guardSummary(r: GuardResult): string {
  const icon = r.decision === 'blocked' ? '⛔' : r.decision === 'no-op' ? '✅' : '🟢';
  const lines = [`### ${icon} stateguard guard: \`${r.module}\` is ${r.decision}`, ''];
  if (r.drift_keys.length) lines.push(`Drift: ${r.drift_keys.map((k) => `\`${k}\``).join(', ')}`, '');
  if (r.decision === 'allowed') lines.push(`\`allowed\`: ${ALLOWED_MEANS}. ${cell(r.how_applied ?? '')}`.trimEnd(), '');
  else if (r.decision === 'blocked' && r.how_applied) lines.push(`How it is applied: ${cell(r.how_applied)}`, '');
  if (r.backup)
    lines.push(
      `Backup: ${r.backup.verified ? 'verified' : 'not verified'}${r.backup.path ? ` (${code(r.backup.path)})` : ''}`,
      '',
    );
  if (r.reasons.length) {
    lines.push('| # | reason | what failed | how to fix |', '|---|---|---|---|');
    r.reasons.forEach((x, i) => lines.push(`| ${i + 1} | \`${x.code}\` | ${cell(x.message)} | ${cell(x.fix)} |`));
    lines.push('', `failure-reason: \`${r.failure_reason}\``);
  }
  return lines.join('\n');
}

export const guardCommand = defineCommand({
  name: 'guard',
  title: 'stateguard guard',
  description: 'Decide whether a module may be applied: allowed, no-op or blocked, with every reason.',
  inputs: [...GUARD_INPUTS, JSON_INPUT] as const,
  outputs: [
    {
      name: 'decision',
      description: `allowed (${ALLOWED_MEANS}; applied-by says which path applies it), no-op or blocked.`,
    },
    {
      name: 'applied-by',
      description:
        'Which path applies the change: apply (a one-shot), normal-deploy (a long-running stateless module), ' +
        'upgrade (an image bump of a long-running stateful module) or by-hand; empty for no-op.',
    },
    { name: 'reasons', description: 'JSON array of every failed condition: {code, message, fix, input}.' },
    {
      name: 'plan-hash',
      description: "plan_hash of the module's fresh plan (what apply's expected-plan-hash compares with).",
    },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const set = await loadValidModules(opts, ctx);
    const module = pickModule(set, opts.module);
    const ev = await evaluateGuard(guardRequest(opts, set, module, ctx), {
      runtime: ctx.runtime(module.runtime),
      planModules,
      verifyBackup,
    });
    const r = ev.result;
    const exitCode = guardExitCode(r);
    const despite = r.backup?.accepted_despite ?? [];
    for (const w of despite) ctx.log.warn(`guard: ${w.message}`);
    return {
      exitCode,
      json: { ...r, plan_hash: ev.planHash },
      text: guardText(r),
      outputs: {
        decision: r.decision,
        reasons: JSON.stringify(r.reasons),
        'plan-hash': ev.planHash ?? '',
        'applied-by': r.applied_by ?? '',
        'failure-reason': r.failure_reason,
      },
      summary: guardSummary(r),
      annotations: [
        ...r.reasons.map((x) => ({
          level: 'error' as const,
          title: `stateguard guard: ${x.code}`,
          message: `${x.message} — fix: ${x.fix}`,
        })),
        ...despite.map((w) => ({
          level: 'warning' as const,
          title: `stateguard guard: ${w.code}`,
          message: w.message,
        })),
      ],
      failureReason: r.failure_reason === '' ? undefined : r.failure_reason,
    };
  },
});
