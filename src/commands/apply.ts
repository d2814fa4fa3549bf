/**
 * `stateguard apply`: re-run a one-shot module under a lock, after a fresh plan and guard
 * (docs/architecture.md §6).
 */
import { hostname } from 'node:os';
import { applyOneShot, type ApplyOutcome } from '../apply/apply.js';
import { describeHolder } from '../ops/lock.js';
import { verifyBackup } from '../backup/verify.js';
import { planModules } from '../plan/plan.js';
import { ExitCode } from '../errors.js';
import { cell, checkExpectedPlanHash, loadValidModules, pickModule } from './common.js';
import { GUARD_INPUTS, guardRequest, guardText } from './guard.js';
import { defineCommand, FAILURE_REASON_OUTPUT, JSON_INPUT, LOCK_INPUTS } from './spec.js';

export function applyExitCode(o: ApplyOutcome): 0 | 1 | 3 {
  if (o.status === 'applied' || o.status === 'no-op') return ExitCode.ok;
  return o.could_not_run ? ExitCode.couldNotRun : ExitCode.no;
}

export function applySummary(o: ApplyOutcome): string {
  const icon = o.status === 'applied' || o.status === 'no-op' ? '✅' : '⛔';
  const lines = [`### ${icon} stateguard apply: \`${o.module}\` ${o.status}`, ''];
  if (o.failure_reason) lines.push(`failure-reason: \`${o.failure_reason}\``, '');
  lines.push('| | |', '|---|---|');
  if (o.exit_code !== null) lines.push(`| exit code | ${o.exit_code} |`);
  if (o.container_id) lines.push(`| container | \`${o.container_id.slice(0, 12)}\` |`);
  if (o.duration_ms !== null) lines.push(`| duration | ${o.duration_ms} ms |`);
  if (o.plan_hash) lines.push(`| plan hash | \`${o.plan_hash}\` |`);
  if (o.lock) lines.push(`| lock | \`${o.lock.name}\` |`);
  if (o.lock_refusal) lines.push(`| held by | ${cell(o.lock_refusal.holder)} since ${cell(o.lock_refusal.since)} |`);
  for (const d of o.dependencies)
    lines.push(
      `| depends_on_healthy \`${d.module}\` | ${d.ok ? 'unchanged' : `**${cell(d.problem ?? 'disturbed')}**`} |`,
    );
  lines.push('', ...o.messages.map((m) => `- ${cell(m)}`));
  if (o.guard && o.guard.decision === 'blocked') {
    lines.push('', '| # | reason | what failed | how to fix |', '|---|---|---|---|');
    o.guard.reasons.forEach((x, i) => lines.push(`| ${i + 1} | \`${x.code}\` | ${cell(x.message)} | ${cell(x.fix)} |`));
  }
  for (const w of o.warnings) lines.push('', `> ⚠️ ${cell(w)}`);
  if (o.log_tail.length) {
    // Lines are already scrubbed; a fence that cannot be closed by log content.
    lines.push(
      '',
      `<details><summary>last ${o.log_tail.length} log lines</summary>`,
      '',
      '~~~~~~~~text',
      ...o.log_tail.map((l) => l.replace(/~{8,}/g, '~')),
      '~~~~~~~~',
      '</details>',
    );
  }
  return lines.join('\n');
}

export const applyCommand = defineCommand({
  name: 'apply',
  title: 'stateguard apply',
  description: 'Re-run a one-shot module until it exits 0, under a lock, after a fresh plan and guard.',
  inputs: [
    ...GUARD_INPUTS,
    {
      name: 'expected-plan-hash',
      kind: 'string',
      description:
        'plan_hash of the reviewed plan (stateguard plan --module NAME); refuse (plan-changed) when the fresh plan ' +
        'differs.',
    },
    ...LOCK_INPUTS,
    JSON_INPUT,
  ] as const,
  outputs: [
    { name: 'status', description: 'applied, no-op, blocked, refused or failed.' },
    { name: 'exit-code', description: "The one-shot's exit code ('' when it did not run or was stopped)." },
    { name: 'container-id', description: 'ID of the container that ran.' },
    { name: 'duration-ms', description: 'How long the run took.' },
    { name: 'plan-hash', description: "plan_hash of the module's fresh plan." },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const set = await loadValidModules(opts, ctx);
    const module = pickModule(set, opts.module);
    checkExpectedPlanHash(opts.expectedPlanHash, module.name, ctx);
    const o = await applyOneShot(
      {
        ...guardRequest(opts, set, module, ctx),
        expectedPlanHash: opts.expectedPlanHash,
        breakStaleLock: opts.breakStaleLock,
        staleAfterMs: opts.lockStaleAfterMinutes * 60_000,
        holder: describeHolder(ctx.env, hostname(), process.pid),
      },
      {
        runtime: ctx.runtime(module.runtime),
        planModules,
        verifyBackup,
        log: ctx.log,
        addSecret: (v) => ctx.addSecret(v),
        now: () => ctx.now(),
      },
    );
    const text = [
      // The action layer appends the failure reason to the first line itself.
      `apply ${o.module}: ${o.status}`,
      ...(o.failure_reason ? [`failure-reason: ${o.failure_reason}`] : []),
      // Blocked by the guard: its text lists each reason once, with its fix; the verdict is not repeated.
      ...(o.guard && o.guard.decision === 'blocked' ? [guardText(o.guard)] : [`  ${o.verdict}`]),
    ].join('\n');
    return {
      exitCode: applyExitCode(o),
      json: o,
      text,
      outputs: {
        status: o.status,
        'exit-code': o.exit_code === null ? '' : String(o.exit_code),
        'container-id': o.container_id ?? '',
        'duration-ms': o.duration_ms === null ? '' : String(o.duration_ms),
        'plan-hash': o.plan_hash ?? '',
        'failure-reason': o.failure_reason,
      },
      summary: applySummary(o),
      annotations: o.failure_reason
        ? [{ level: 'error' as const, title: `stateguard apply: ${o.failure_reason}`, message: o.verdict || o.status }]
        : [],
      failureReason: o.failure_reason === '' ? undefined : o.failure_reason,
    };
  },
});
