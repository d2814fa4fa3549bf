/**
 * `stateguard e2e-gate` (docs/architecture.md §8): a staging gate that never fails open.
 *
 * Order, so that nothing with a side effect happens on a misconfigured gate:
 * 1. validate every input (variable names, the command's words, the probe's module), even when
 *    the gate is off, so a broken gate is found the day it is written, not the day staging turns on;
 * 2. decide from the switch and the required variables (src/probe/gate.ts): run, skip loudly, or
 *    refuse an ambiguous switch;
 * 3. when running: the persistence probe first (when asked), so the e2e command then exercises
 *    the freshly recreated container; a failed probe ends the gate there, since tests against a
 *    service that just lost its data prove nothing; then the command, whose exit code is the verdict.
 *
 * No variable value is printed: the gate only names variables, and every value it reads is
 * registered as a secret, so the CLI/action layers mask it even in the command's own output.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import { verifyBackup } from '../backup/verify.js';
import { ExitCode, UserError, type FailureReason } from '../errors.js';
import { decideGate, ENV_NAME, missingVariables, readSwitch, type Mode } from '../probe/gate.js';
import { runPersistenceProbe, type ProbeReport } from '../probe/persistence.js';
import { ShellWordsError, splitShellWords } from '../probe/shell-words.js';
import { errorResult } from '../run-command.js';
import { runRestoreDrill, type DrillReport } from '../restore/drill.js';
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

/** The drill's fixed bounds (verify-backup's defaults; the throwaway container's start-up). */
const DRILL_READY_TIMEOUT_MS = 120_000;
const DRILL_MAX_BYTES = 64 * 1024 ** 3;
const DRILL_MAX_ENTRIES = 1_000_000;
type Status = 'passed' | 'failed' | 'skipped' | 'error';

/** Values that are protocol words, not secrets: masking them would corrupt the JSON document. */
const NOT_SECRET = new Set(['true', 'false', 'null']);

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

/** Resolve the program like the child's execvp will, so a typo fails before anything is recreated. */
function resolveProgram(program: string, ctx: CommandContext): void {
  const executable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) {
    if (executable(path.resolve(ctx.cwd, program))) return;
  } else {
    const dirs = (ctx.env.PATH ?? process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
    if (dirs.some((d) => executable(path.join(path.resolve(ctx.cwd, d), program)))) return;
  }
  const hint = program.includes('=')
    ? ' It looks like a shell variable assignment: pass variables through env: instead.'
    : ['cd', 'export', 'source', '.', 'set', 'exec'].includes(program)
      ? ` '${program}' is a shell builtin: write the shell yourself, e.g. bash -c '…'.`
      : '';
  throw new UserError(
    `the e2e command's program ` +
      `${JSON.stringify(program)} was not found${program.includes('/') ? ' or is not executable' : ' on PATH'}.${hint}`,
    { input: 'command' },
  );
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
  let drillModule: ModuleDecl | undefined;
  let drillModules: readonly ModuleDecl[] = [];
  if (opts.restoreDrill) {
    const set = await loadValidModules(opts, ctx);
    drillModule = pickModule(set, opts.restoreDrill, 'restore-drill');
    refuseOnSwarm(drillModule, 'the restore drill');
    drillModules = set.modules;
    if (!opts.backupRef) {
      throw new UserError('--restore-drill needs --backup-ref: the backup to restore into scratch volumes.', {
        input: 'backup-ref',
      });
    }
  } else if (opts.backupRef || opts.backupRoot.length > 0 || opts.helperImage) {
    throw new UserError('--backup-ref, --backup-root and --helper-image are inputs of --restore-drill MODULE.', {
      input: 'restore-drill',
    });
  }
  if (argv.length === 0 && !probeModule && !drillModule) {
    throw new UserError(
      "nothing to run: give the e2e command after -- (CLI) or in input 'run' (action), and/or --persistence-probe " +
        'MODULE, and/or --restore-drill MODULE.',
      { input: 'command' },
    );
  }

  // Every value read from here on is a secret to the output layers.
  for (const n of required) {
    const v = ctx.env[n];
    if (v && !NOT_SECRET.has(v)) ctx.addSecret(v);
  }
  const switchState = readSwitch(ctx.env, opts.switch);
  if (switchState.kind === 'ambiguous') ctx.addSecret(ctx.env[opts.switch] ?? '');
  const missing = missingVariables(ctx.env, required);

  // 2. Decide.
  const decision = decideGate({ switchName: opts.switch, switchState, missing, mode });
  if (decision.action === 'refuse') {
    return finish({
      status: 'error',
      exitCode: ExitCode.couldNotRun,
      reason: decision.reason,
      missing,
      failureReason: 'invalid-input',
      probe: null,
      drill: null,
      command: null,
      level: 'error',
      heading: 'could not decide',
    });
  }
  if (decision.action === 'skip') {
    const also =
      decision.cause === 'switch-off' && missing.length > 0 ? ` (also missing or empty: ${missing.join(', ')})` : '';
    const fails = decision.failInRequiredMode;
    return finish({
      status: 'skipped',
      exitCode: fails ? ExitCode.no : ExitCode.ok,
      reason:
        `the e2e gate did not run: ` +
        `${decision.reason}${also}${fails ? ' mode is required, so a skip fails the gate.' : ''}`,
      missing,
      failureReason: fails ? 'e2e-skipped' : undefined,
      probe: null,
      drill: null,
      command: null,
      level: fails ? 'error' : 'notice',
      heading: fails ? 'skipped (required: failing)' : 'skipped',
    });
  }

  // 3. Run: the probe first, then the command.
  if (argv.length > 0) resolveProgram(argv[0]!, ctx);
  let probe: ProbeReport | null = null;
  if (probeModule) {
    ctx.log.info(`e2e gate: ${opts.switch} is on; running the persistence probe of module ${probeModule.name} first.`);
    probe = await runPersistenceProbe(probeModule, {
      runtime: ctx.runtime(probeModule.runtime),
      now: ctx.now,
      log: (m) => ctx.log.info(m),
      warn: (m) => ctx.log.warn(m),
    });
    if (!probe.passed) {
      return finish({
        status: 'failed',
        exitCode: ExitCode.no,
        reason:
          `the persistence probe of module ` +
          `${probeModule.name} failed${argv.length ? '; the e2e command was not run' : ''}: ${probe.problems[0]}`,
        missing,
        failureReason: 'probe-failed',
        probe,
        drill: null,
        command: null,
        level: 'error',
        heading: 'failed',
      });
    }
  }
  let drill: DrillReport | null = null;
  let exitCode: number | null;
  const runCommand = async (extraEnv: Record<string, string>): Promise<number | null> => {
    if (argv.length === 0) return null;
    const [program, ...args] = argv as [string, ...string[]];
    ctx.log.info(
      `e2e gate: ${opts.switch} is on and every required variable is set; running ` +
        `${program} with ${args.length} argument${args.length === 1 ? '' : 's'}.`,
    );
    return runStreaming(program, args, ctx, extraEnv);
  };
  if (drillModule) {
    ctx.log.info(`e2e gate: restore drill of module ${drillModule.name} from ${opts.backupRef}.`);
    const outcome = await runRestoreDrill(
      {
        module: drillModule,
        modules: drillModules,
        backupRef: opts.backupRef!,
        backupRoots: opts.backupRoot,
        cwd: ctx.cwd,
        now: ctx.now(),
        helperImage: opts.helperImage,
        readyTimeoutMs: DRILL_READY_TIMEOUT_MS,
        maxUncompressedBytes: DRILL_MAX_BYTES,
        maxEntries: DRILL_MAX_ENTRIES,
        allowLegacyArchive: opts.allowLegacyArchive,
        maxShrinkPercent: shrinkPercent(opts.maxShrinkPercent),
        allowShrink: opts.allowShrink,
      },
      { runtime: ctx.runtime(), verifyBackup, say: (m) => ctx.log.info(m), clock: ctx.now },
      (id) => runCommand({ STATEGUARD_DRILL_CONTAINER: id }),
    );
    drill = outcome.report;
    if (!outcome.ok) {
      return finish({
        status: 'failed',
        exitCode: ExitCode.no,
        reason: `the restore drill of module ${drillModule.name} failed: ${outcome.problem}`,
        missing,
        failureReason: outcome.reason,
        probe,
        drill,
        command: null,
        level: 'error',
        heading: 'failed',
      });
    }
    exitCode = outcome.value;
  } else {
    exitCode = await runCommand({});
  }
  const after = [probe ? 'the persistence probe' : '', drill ? 'the restore drill' : ''].filter(Boolean).join(' and ');
  if (exitCode === null) {
    return finish({
      status: 'passed',
      exitCode: ExitCode.ok,
      reason: `${after} passed (no e2e command was given).`,
      missing,
      probe,
      drill,
      command: null,
      level: null,
      heading: 'passed',
    });
  }
  const program = argv[0]!;
  const command = { program, arguments: argv.length - 1, exit_code: exitCode };
  return exitCode === 0
    ? finish({
        status: 'passed',
        exitCode: ExitCode.ok,
        reason: `the e2e command (${program}) exited 0${after ? ` after ${after} passed` : ''}.`,
        missing,
        probe,
        drill,
        command,
        level: null,
        heading: 'passed',
      })
    : finish({
        status: 'failed',
        exitCode: ExitCode.no,
        reason: `the e2e command (${program}) exited ${exitCode}.`,
        missing,
        failureReason: 'e2e-failed',
        probe,
        drill,
        command,
        level: 'error',
        heading: 'failed',
      });
}

/** Run the command with its output streamed live, line by line (so masking sees whole lines). */
async function runStreaming(
  program: string,
  args: string[],
  ctx: CommandContext,
  extraEnv: Record<string, string> = {},
): Promise<number> {
  const stdout = lineForwarder((line) => ctx.log.raw(line));
  const stderr = lineForwarder((line) => ctx.log.raw(line));
  const decoder = new StringDecoder('utf8');
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      stdout.push(decoder.write(chunk));
      done();
    },
  });
  const r = await spawnProcess(program, args, {
    cwd: ctx.cwd,
    env: { ...ctx.env, ...extraEnv },
    stdoutSink: sink,
    onStderr: (c) => stderr.push(c),
  });
  stdout.push(decoder.end());
  stdout.flush();
  stderr.flush();
  return r.code;
}

/** Whole lines out; a line longer than 64 KiB is forwarded in pieces so memory stays bounded. */
export function lineForwarder(emit: (line: string) => void): { push(text: string): void; flush(): void } {
  let pending = '';
  return {
    push(text) {
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        emit(pending.slice(0, nl + 1));
        pending = pending.slice(nl + 1);
      }
      if (pending.length > 65536) {
        emit(pending);
        pending = '';
      }
    },
    flush() {
      if (pending) emit(pending + '\n');
      pending = '';
    },
  };
}

interface Finish {
  status: Status;
  exitCode: CommandResult['exitCode'];
  reason: string;
  missing: string[];
  failureReason?: FailureReason;
  probe: ProbeReport | null;
  drill: DrillReport | null;
  command: { program: string; arguments: number; exit_code: number } | null;
  level: Annotation['level'] | null;
  heading: string;
}

function finish(f: Finish): CommandResult {
  const title = 'stateguard e2e-gate';
  const lines = [`e2e gate ${f.status.toUpperCase()}: ${f.reason}`];
  if (f.probe) lines.push(...probeLines(f.probe));
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
  if (f.level) annotations.push({ level: f.level, message: f.reason, title });
  // The first probe problem is already in the reason; each further one gets its own annotation.
  for (const p of f.probe && !f.probe.passed ? f.probe.problems.slice(1) : []) {
    annotations.push({ level: 'error', message: p, title: 'stateguard persistence probe' });
  }
  let summary = `### ${title}: ${f.heading}\n\n${cell(f.reason)}\n`;
  if (f.probe) summary += '\n' + probeSummary(f.probe);
  if (verified) summary += `\nlast verified restore: ${code(verified.backup)} at ${verified.at}\n`;
  return {
    exitCode: f.exitCode,
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

function probeLines(p: ProbeReport): string[] {
  const ids = `${p.old_container?.slice(0, 12) ?? '-'} → ${p.new_container?.slice(0, 12) ?? '-'}`;
  const out = [
    `persistence probe of ${p.module} (${p.project}/${p.service}, ${ids}): ${p.passed ? 'passed' : 'FAILED'}`,
  ];
  for (const c of p.checks) {
    const want = c.kind === 'durable' ? 'must survive' : 'must not survive';
    out.push(
      `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.kind.padEnd(9)} ${c.path} (${want}): ${
        c.after_recreate ?? (c.written ? 'not ' + 'checked' : 'not written')
      }`,
    );
  }
  for (const problem of p.problems) out.push(`  ${problem}`);
  if (p.cleanup.note) out.push(`  note: ${p.cleanup.note}`);
  return out;
}

function probeSummary(p: ProbeReport): string {
  const rows = p.checks.map(
    (c) =>
      `| ${cell(c.path)} | ${c.kind}${c.volume ? ` (${cell(c.volume)})` : ''} | ${c.after_recreate ?? '—'} | ` +
      `${c.ok ? 'ok' : '**fail**'} |`,
  );
  let md =
    `**Persistence probe** of ${code(p.module)}: ${p.passed ? 'passed' : '**failed**'} ` +
    `(container ${p.old_container?.slice(0, 12) ?? '—'} → ${p.new_container?.slice(0, 12) ?? '—'})\n\n` +
    `| path | kind | after recreate | result |\n|---|---|---|---|\n${rows.join('\n')}\n`;
  if (p.problems.length) md += '\n' + p.problems.map((x) => `- ${cell(x)}`).join('\n') + '\n';
  if (p.cleanup.note) md += `\n> ${cell(p.cleanup.note)}\n`;
  return md;
}
