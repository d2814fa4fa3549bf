/**
 * `stateguard e2e-gate` (docs/architecture.md §8): a staging gate that never fails open.
 *
 * Order, so that nothing with a side effect happens on a misconfigured gate:
 * 1. validate every input (variable names, the command's words, the probe's module), even when
 *    the gate is off, so a broken gate is found the day it is written, not the day staging turns on
 *    (here);
 * 2. decide from the switch and the required variables, then run: the probe, the drill, the
 *    command (src/probe/e2e-gate.ts, with the decision in src/probe/gate.ts).
 *
 * No variable value is printed: the gate only names variables, and every value it reads is
 * registered as a secret, so the CLI/action layers mask it even in the command's own output.
 */
import { verifyBackup } from '../backup/verify.js';
import { ExitCode, UserError } from '../errors.js';
import { runE2eGate, type E2eGateOutcome, type GateDrillRequest } from '../probe/e2e-gate.js';
import { ENV_NAME, type Mode } from '../probe/gate.js';
import { ShellWordsError, splitShellWords } from '../probe/shell-words.js';
import { probeReportLines, probeReportMarkdown } from '../report/probe-render.js';
import { errorResult } from '../run-command.js';
import { spawnProcess } from '../runtime/process.js';
import { cell, code, loadValidModules, pickModule, refuseOnSwarm } from './common.js';
import {
  defineCommand,
  FAILURE_REASON_OUTPUT,
  JSON_INPUT,
  MODULES_INPUT,
  PROVENANCE_INPUTS,
  ROOT_INPUT,
  shrinkPercent,
  type Annotation,
  type CommandContext,
  type CommandResult,
  type OptionsOf,
} from './spec.js';
import type { ModuleDecl } from '../model/module.js';

const INPUTS = [
  ROOT_INPUT,
  MODULES_INPUT,
  {
    name: 'switch',
    kind: 'string',
    default: 'STAGING_E2E',
    description:
      'Name of the environment variable that switches the gate on (1/true); unset, empty, 0 or false skip loudly; ' +
      'any other value is an error.',
  },
  {
    name: 'require',
    kind: 'list',
    description:
      'Environment variables that must be set and non-empty (repeatable; one per line in the action). Only names are ' +
      'ever printed.',
  },
  {
    name: 'mode',
    kind: 'choice',
    choices: ['optional', 'required'],
    default: 'optional',
    description: 'optional: skip loudly when off or unconfigured; required: fail instead.',
  },
  {
    name: 'persistence-probe',
    kind: 'string',
    description: 'Module whose data volumes are probed across a container recreate (run before the command).',
  },
  {
    name: 'restore-drill',
    kind: 'string',
    description:
      'Module whose backup (backup-ref) is restored into scratch volumes and started as a throwaway container ' +
      '(no network); the e2e command then runs with STATEGUARD_DRILL_CONTAINER set to its ID. The live module is ' +
      'untouched.',
  },
  {
    name: 'backup-ref',
    kind: 'string',
    description: 'Path of the .tar.gz backup the restore drill restores (verified first).',
  },
  {
    name: 'backup-root',
    kind: 'list',
    description: 'Allowed backup directories for the restore drill (repeatable; one per line in the action).',
  },
  ...PROVENANCE_INPUTS,
  {
    name: 'helper-image',
    kind: 'string',
    description:
      "A local image with /bin/sh and coreutils (busybox) for the drill's staging steps, when the module's own " +
      'image has none. Never pulled.',
  },
  {
    name: 'run',
    kind: 'string',
    actionOnly: true,
    description:
      'The e2e command, split into arguments like a shell splits words (quotes, backslashes) but run without a ' +
      "shell; write `bash -c '…'` for one.",
  },
  {
    name: 'command',
    kind: 'list',
    rest: true,
    cliOnly: true,
    description: 'The e2e command and its arguments, after --.',
  },
  JSON_INPUT,
] as const;

type Options = OptionsOf<typeof INPUTS>;

export const e2eGateCommand = defineCommand({
  name: 'e2e-gate',
  title: 'stateguard e2e-gate',
  description: 'A staging gate that never fails open: runs the e2e command only when switched on and fully configured.',
  inputs: INPUTS,
  outputs: [
    { name: 'status', description: 'passed, failed, skipped, or error (the gate could not run).' },
    { name: 'missing', description: 'JSON array of required variables that were missing or empty (names only).' },
    FAILURE_REASON_OUTPUT,
  ],
  async run(opts, ctx) {
    try {
      return await gate(opts, ctx);
    } catch (err) {
      const r = errorResult(e2eGateCommand, err);
      r.outputs.status = 'error';
      r.outputs.missing ??= '[]';
      r.json = {
        status: 'error',
        missing: [],
        reason: (r.json as { error: string }).error,
        probe: null,
        restore_drill: null,
        ...(r.json as object),
      };
      return r;
    }
  },
});

function validateName(name: string, input: string): void {
  if (!ENV_NAME.test(name)) {
    throw new UserError(
      `--${input} ${JSON.stringify(name)} is not an environment variable name: use letters, digits and _, not ` +
        `starting with a digit (e.g. STAGING_BASE_URL).`,
      { input },
    );
  }
}

function parseCommand(opts: Options): string[] {
  // Each side reads only its own input: `command` exists in the CLI, `run` in the action.
  const fromCli = (opts.command as string[] | undefined) ?? [];
  if (fromCli.length > 0) return fromCli;
  if (opts.run === undefined) return [];
  try {
    return splitShellWords(opts.run);
  } catch (err) {
    if (err instanceof ShellWordsError) throw new UserError(`input 'run': ${err.message}`, { input: 'run' });
    throw err;
  }
}

async function gate(opts: Options, ctx: CommandContext): Promise<CommandResult> {
  // 1. Validate everything first.
  validateName(opts.switch, 'switch');
  const required = [...new Set(opts.require)];
  for (const n of required) validateName(n, 'require');
  const mode = opts.mode as Mode;
  const argv = parseCommand(opts);
  let probeModule: ModuleDecl | undefined;
  if (opts.persistenceProbe) {
    probeModule = pickModule(await loadValidModules(opts, ctx), opts.persistenceProbe, 'persistence-probe');
    if (probeModule.volumes.length === 0 && probeModule.ephemeralPaths.length === 0) {
      throw new UserError(
        `--persistence-probe ` +
          `${probeModule.name}: the module declares no data.volumes and no data.ephemeral_paths, so there is nothing ` +
          `to probe. Declare them in ${probeModule.file}.`,
        { input: 'persistence-probe' },
      );
    }
  }
  let drill: GateDrillRequest | undefined;
  if (opts.restoreDrill) {
    const set = await loadValidModules(opts, ctx);
    const drillModule = pickModule(set, opts.restoreDrill, 'restore-drill');
    refuseOnSwarm(drillModule, 'the restore drill');
    if (!opts.backupRef) {
      throw new UserError('--restore-drill needs --backup-ref: the backup to restore into scratch volumes.', {
        input: 'backup-ref',
      });
    }
    drill = {
      module: drillModule,
      modules: set.modules,
      backupRef: opts.backupRef,
      backupRoots: opts.backupRoot,
      helperImage: opts.helperImage,
      allowLegacyArchive: opts.allowLegacyArchive,
      maxShrinkPercent: () => shrinkPercent(opts.maxShrinkPercent),
      allowShrink: opts.allowShrink,
    };
  } else if (opts.backupRef || opts.backupRoot.length > 0 || opts.helperImage) {
    throw new UserError('--backup-ref, --backup-root and --helper-image are inputs of --restore-drill MODULE.', {
      input: 'restore-drill',
    });
  }
  if (argv.length === 0 && !probeModule && !drill) {
    throw new UserError(
      "nothing to run: give the e2e command after -- (CLI) or in input 'run' (action), and/or --persistence-probe " +
        'MODULE, and/or --restore-drill MODULE.',
      { input: 'command' },
    );
  }

  // 2. Decide and run (src/probe/e2e-gate.ts), then render.
  const outcome = await runE2eGate(
    { switchName: opts.switch, required, mode, argv, probeModule, drill, cwd: ctx.cwd, env: ctx.env },
    {
      runtime: (kind) => ctx.runtime(kind),
      log: ctx.log,
      now: ctx.now,
      verifyBackup,
      addSecret: (v) => ctx.addSecret(v),
      spawn: spawnProcess,
    },
  );
  return finish(outcome);
}

/** How each verdict is shown: exit code, annotation level (none on a pass), summary heading. */
function presentation(o: E2eGateOutcome): {
  exitCode: CommandResult['exitCode'];
  level: Annotation['level'] | null;
  heading: string;
} {
  switch (o.status) {
    case 'error':
      return { exitCode: ExitCode.couldNotRun, level: 'error', heading: 'could not decide' };
    case 'skipped':
      // a skip fails the gate (and so carries a failure reason) only in required mode
      return o.failureReason
        ? { exitCode: ExitCode.no, level: 'error', heading: 'skipped (required: failing)' }
        : { exitCode: ExitCode.ok, level: 'notice', heading: 'skipped' };
    case 'failed':
      return { exitCode: ExitCode.no, level: 'error', heading: 'failed' };
    case 'passed':
      return { exitCode: ExitCode.ok, level: null, heading: 'passed' };
  }
}

function finish(f: E2eGateOutcome): CommandResult {
  const { exitCode, level, heading } = presentation(f);
  const title = 'stateguard e2e-gate';
  const lines = [`e2e gate ${f.status.toUpperCase()}: ${f.reason}`];
  if (f.probe) lines.push(...probeReportLines(f.probe));
  const verified = f.drill?.container_ready && f.status === 'passed' ? f.drill : null;
  if (f.drill) {
    lines.push(
      verified
        ? `last verified restore: ${verified.backup} at ${verified.at}`
        : `restore drill of ${f.drill.module} (${f.drill.backup}): not verified`,
    );
    for (const v of f.drill.volumes) lines.push(`  ${v.volume}: ${v.entries} entries, ${v.bytes} bytes`);
  }
  const annotations: Annotation[] = [];
  if (level) annotations.push({ level, message: f.reason, title });
  // The first probe problem is already in the reason; each further one gets its own annotation.
  for (const p of f.probe && !f.probe.passed ? f.probe.problems.slice(1) : []) {
    annotations.push({ level: 'error', message: p, title: 'stateguard persistence probe' });
  }
  let summary = `### ${title}: ${heading}\n\n${cell(f.reason)}\n`;
  if (f.probe) summary += '\n' + probeReportMarkdown(f.probe);
  if (verified) summary += `\nlast verified restore: ${code(verified.backup)} at ${verified.at}\n`;
  return {
    exitCode,
    json: {
      status: f.status,
      missing: f.missing,
      reason: f.reason,
      probe: f.probe,
      restore_drill: f.drill ? { ...f.drill, verified: f.drill.verified && f.status === 'passed' } : null,
      command: f.command,
      failure_reason: f.failureReason ?? '',
    },
    text: lines.join('\n'),
    outputs: { status: f.status, missing: JSON.stringify(f.missing), 'failure-reason': f.failureReason ?? '' },
    summary,
    annotations,
    failureReason: f.failureReason,
  };
}
