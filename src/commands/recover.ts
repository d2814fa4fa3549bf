/** `stateguard recover`: finish or revert an interrupted restore from its journal (docs/architecture.md §12). */
import { hostname } from 'node:os';
import { ExitCode } from '../errors.js';
import { describeHolder } from '../ops/lock.js';
import { recoverModule, type RecoverOutcome, type RecoverRegistry } from '../ops/recover.js';
import { restoreRecovery } from '../restore/recovery.js';
import { upgradeRecovery } from '../upgrade/recovery.js';
import { cell, loadValidModules, pickModule } from './common.js';
import { BREAK_LOCK_INPUT, crashHook, READY_TIMEOUT_INPUT } from './restore.js';
import { defineCommand, FAILURE_REASON_OUTPUT, JSON_INPUT, MODULES_INPUT, ROOT_INPUT } from './spec.js';

/** Whether a process of this host exists (EPERM: it does, owned by someone else). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How recover finishes or reverts each kind of operation a journal records (src/ops/recover.ts). */
export function recoverRegistry(): RecoverRegistry {
  return { restore: restoreRecovery, upgrade: upgradeRecovery };
}

export function recoverExitCode(o: RecoverOutcome): 0 | 1 | 3 {
  if (o.decision === 'recovered' || o.decision === 'nothing-to-recover') return ExitCode.ok;
  return o.could_not_run ? ExitCode.couldNotRun : ExitCode.no;
}

export const recoverCommand = defineCommand({
  name: 'recover',
  title: 'stateguard recover',
  description:
    'Finish or revert an interrupted restore from its journal on the engine: every volume ends exactly old or ' +
    'exactly new, and the service runs on it.',
  inputs: [
    ROOT_INPUT,
    MODULES_INPUT,
    { name: 'module', kind: 'string', required: true, description: 'The module to recover.' },
    READY_TIMEOUT_INPUT,
    BREAK_LOCK_INPUT,
    JSON_INPUT,
  ] as const,
  outputs: [
    { name: 'decision', description: 'recovered, nothing-to-recover, refused or failed.' },
    { name: 'direction', description: "reverted (old data), completed (the backup's data) or ''." },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    const set = await loadValidModules(opts, ctx);
    const module = pickModule(set, opts.module);
    const o = await recoverModule(
      {
        module,
        holder: describeHolder(ctx.env, hostname(), process.pid),
        host: hostname(),
        pidAlive,
        breakStaleLock: opts.breakStaleLock,
        readyTimeoutSeconds: opts.readyTimeoutSeconds,
      },
      {
        runtime: ctx.runtime(module.runtime),
        log: ctx.log,
        now: () => ctx.now(),
        crash: crashHook(ctx.env),
        operations: recoverRegistry(),
      },
    );
    const icon = o.decision === 'recovered' || o.decision === 'nothing-to-recover' ? '✅' : '⛔';
    return {
      exitCode: recoverExitCode(o),
      json: o,
      text: [
        `recover ${o.module}: ${o.decision}${o.direction ? ` (${o.direction})` : ''}`,
        ...(o.failure_reason ? [`failure-reason: ${o.failure_reason}`] : []),
        `  ${o.verdict}`,
      ].join('\n'),
      outputs: { decision: o.decision, direction: o.direction ?? '', 'failure-reason': o.failure_reason },
      summary: [
        `### ${icon} stateguard recover: \`${o.module}\` ${o.decision}${o.direction ? ` (${o.direction})` : ''}`,
        '',
        ...(o.phase ? [`journal phase: \`${o.phase}\``, ''] : []),
        ...o.messages.map((m) => `- ${cell(m)}`),
        ...o.warnings.map((w) => `\n> ⚠️ ${cell(w)}`),
      ].join('\n'),
      annotations: o.failure_reason
        ? [{ level: 'error' as const, title: `stateguard recover: ${o.failure_reason}`, message: o.verdict }]
        : [],
      failureReason: o.failure_reason === '' ? undefined : o.failure_reason,
    };
  },
});
