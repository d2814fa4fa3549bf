/**
 * The e2e gate's run (docs/architecture.md §8), from a validated request to a verdict; the command
 * (src/commands/e2e-gate.ts) validates every input before calling it and renders what it returns.
 *
 * 1. every value read from the environment is registered as a secret first;
 * 2. decide from the switch and the required variables (./gate.ts): run, skip loudly, or refuse an
 *    ambiguous switch;
 * 3. when running: the persistence probe first (when asked), so the e2e command then exercises
 *    the freshly recreated container; a failed probe ends the gate there, since tests against a
 *    service that just lost its data prove nothing; then the restore drill (when asked), which runs
 *    the command while its throwaway container is up; then the command, whose exit code is the verdict.
 *
 * The engine, the backup verifier and the process runner are parameters: only src/runtime spawns.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import { UserError, type FailureReason } from '../errors.js';
import type { VerifyBackupFn } from '../guard/evaluate.js';
import type { ModuleDecl } from '../model/module.js';
import type { Logger, ProcessRunner, Runtime, RuntimeKind } from '../ports.js';
import { runRestoreDrill, type DrillReport, type DrillRequest } from '../restore/drill.js';
import { decideGate, missingVariables, readSwitch, type Mode } from './gate.js';
import { runPersistenceProbe, type ProbeReport } from './persistence.js';

/** The drill's fixed bounds (verify-backup's defaults; the throwaway container's start-up). */
const DRILL_READY_TIMEOUT_MS = 120_000;
const DRILL_MAX_BYTES = 64 * 1024 ** 3;
const DRILL_MAX_ENTRIES = 1_000_000;

/** Values that are protocol words, not secrets: masking them would corrupt the JSON document. */
const NOT_SECRET = new Set(['true', 'false', 'null']);

/** What the caller chose for the restore drill; the gate adds the working directory, time and bounds. */
export type GateDrillRequest = Pick<
  DrillRequest,
  'module' | 'modules' | 'backupRef' | 'backupRoots' | 'helperImage' | 'allowLegacyArchive' | 'allowShrink'
> & {
  /**
   * Read (and so checked) only when the drill starts, after the decision and the probe: a value the
   * caller's check refuses ends a gate that reaches the drill, and no other.
   */
  maxShrinkPercent: () => number;
};

/** A gate whose inputs are all valid: names checked, the command split, the modules picked. */
export interface E2eGateRequest {
  /** name of the variable that switches the gate on */
  switchName: string;
  /** variables that must be set and non-empty (no duplicates) */
  required: readonly string[];
  mode: Mode;
  /** the e2e command and its arguments; empty: no command */
  argv: readonly string[];
  /** the module whose data volumes are probed before the command */
  probeModule: ModuleDecl | undefined;
  drill: GateDrillRequest | undefined;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface E2eGateDeps {
  /** the engine adapter for a module's runtime (compose by default) */
  runtime: (kind?: RuntimeKind) => Runtime;
  log: Logger;
  now: () => Date;
  verifyBackup: VerifyBackupFn;
  /** registers a value with the CLI/action scrubber (and the runner's masking) */
  addSecret: (value: string) => void;
  /** starts the e2e command (src/runtime/process.ts in production) */
  spawn: ProcessRunner;
}

export type E2eGateStatus = 'passed' | 'failed' | 'skipped' | 'error';

/** The e2e command as reported: its program, how many arguments (never their values), its exit code. */
export interface E2eCommandReport {
  program: string;
  arguments: number;
  exit_code: number;
}

export interface E2eGateOutcome {
  /** error: the gate could not decide (an ambiguous switch) */
  status: E2eGateStatus;
  reason: string;
  /** required variables that were missing or empty (names only) */
  missing: string[];
  /** set exactly when the gate fails (a skip in required mode fails) */
  failureReason?: FailureReason;
  probe: ProbeReport | null;
  drill: DrillReport | null;
  command: E2eCommandReport | null;
}

export async function runE2eGate(req: E2eGateRequest, deps: E2eGateDeps): Promise<E2eGateOutcome> {
  const { switchName, argv, env } = req;
  // Every value read from here on is a secret to the output layers.
  for (const n of req.required) {
    const v = env[n];
    if (v && !NOT_SECRET.has(v)) deps.addSecret(v);
  }
  const switchState = readSwitch(env, switchName);
  if (switchState.kind === 'ambiguous') deps.addSecret(env[switchName] ?? '');
  const missing = missingVariables(env, req.required);

  // 2. Decide.
  const decision = decideGate({ switchName, switchState, missing, mode: req.mode });
  if (decision.action === 'refuse') {
    return {
      status: 'error',
      reason: decision.reason,
      missing,
      failureReason: 'invalid-input',
      probe: null,
      drill: null,
      command: null,
    };
  }
  if (decision.action === 'skip') {
    const also =
      decision.cause === 'switch-off' && missing.length > 0 ? ` (also missing or empty: ${missing.join(', ')})` : '';
    const fails = decision.failInRequiredMode;
    return {
      status: 'skipped',
      reason:
        `the e2e gate did not run: ` +
        `${decision.reason}${also}${fails ? ' mode is required, so a skip fails the gate.' : ''}`,
      missing,
      failureReason: fails ? 'e2e-skipped' : undefined,
      probe: null,
      drill: null,
      command: null,
    };
  }

  // 3. Run: the probe first, then the command.
  if (argv.length > 0) resolveProgram(argv[0]!, req.cwd, env);
  let probe: ProbeReport | null = null;
  if (req.probeModule) {
    const probeModule = req.probeModule;
    deps.log.info(`e2e gate: ${switchName} is on; running the persistence probe of module ${probeModule.name} first.`);
    probe = await runPersistenceProbe(probeModule, {
      runtime: deps.runtime(probeModule.runtime),
      now: deps.now,
      log: (m) => deps.log.info(m),
      warn: (m) => deps.log.warn(m),
    });
    if (!probe.passed) {
      return {
        status: 'failed',
        reason:
          `the persistence probe of module ` +
          `${probeModule.name} failed${argv.length ? '; the e2e command was not run' : ''}: ${probe.problems[0]}`,
        missing,
        failureReason: 'probe-failed',
        probe,
        drill: null,
        command: null,
      };
    }
  }
  let drill: DrillReport | null = null;
  let exitCode: number | null;
  const runCommand = async (extraEnv: Record<string, string>): Promise<number | null> => {
    if (argv.length === 0) return null;
    const [program, ...args] = argv as [string, ...string[]];
    deps.log.info(
      `e2e gate: ${switchName} is on and every required variable is set; running ` +
        `${program} with ${args.length} argument${args.length === 1 ? '' : 's'}.`,
    );
    return runStreaming(program, args, { cwd: req.cwd, env: { ...env, ...extraEnv } }, deps);
  };
  if (req.drill) {
    const { maxShrinkPercent, ...d } = req.drill;
    deps.log.info(`e2e gate: restore drill of module ${d.module.name} from ${d.backupRef}.`);
    const outcome = await runRestoreDrill(
      {
        ...d,
        cwd: req.cwd,
        now: deps.now(),
        readyTimeoutMs: DRILL_READY_TIMEOUT_MS,
        maxUncompressedBytes: DRILL_MAX_BYTES,
        maxEntries: DRILL_MAX_ENTRIES,
        maxShrinkPercent: maxShrinkPercent(),
      },
      { runtime: deps.runtime(), verifyBackup: deps.verifyBackup, say: (m) => deps.log.info(m), clock: deps.now },
      (id) => runCommand({ STATEGUARD_DRILL_CONTAINER: id }),
    );
    drill = outcome.report;
    if (!outcome.ok) {
      return {
        status: 'failed',
        reason: `the restore drill of module ${d.module.name} failed: ${outcome.problem}`,
        missing,
        failureReason: outcome.reason,
        probe,
        drill,
        command: null,
      };
    }
    exitCode = outcome.value;
  } else {
    exitCode = await runCommand({});
  }
  const after = [probe ? 'the persistence probe' : '', drill ? 'the restore drill' : ''].filter(Boolean).join(' and ');
  if (exitCode === null) {
    return {
      status: 'passed',
      reason: `${after} passed (no e2e command was given).`,
      missing,
      probe,
      drill,
      command: null,
    };
  }
  const program = argv[0]!;
  const command = { program, arguments: argv.length - 1, exit_code: exitCode };
  return exitCode === 0
    ? {
        status: 'passed',
        reason: `the e2e command (${program}) exited 0${after ? ` after ${after} passed` : ''}.`,
        missing,
        probe,
        drill,
        command,
      }
    : {
        status: 'failed',
        reason: `the e2e command (${program}) exited ${exitCode}.`,
        missing,
        failureReason: 'e2e-failed',
        probe,
        drill,
        command,
      };
}

/** Resolve the program like the child's execvp will, so a typo fails before anything is recreated. */
function resolveProgram(program: string, cwd: string, env: Readonly<Record<string, string | undefined>>): void {
  const executable = (file: string): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) {
    if (executable(path.resolve(cwd, program))) return;
  } else {
    const dirs = (env.PATH ?? process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
    if (dirs.some((d) => executable(path.join(path.resolve(cwd, d), program)))) return;
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

/** Run the command with its output streamed live, line by line (so masking sees whole lines). */
async function runStreaming(
  program: string,
  args: string[],
  where: { cwd: string; env: Record<string, string | undefined> },
  deps: Pick<E2eGateDeps, 'log' | 'spawn'>,
): Promise<number> {
  const stdout = lineForwarder((line) => deps.log.raw(line));
  const stderr = lineForwarder((line) => deps.log.raw(line));
  const decoder = new StringDecoder('utf8');
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      stdout.push(decoder.write(chunk));
      done();
    },
  });
  const r = await deps.spawn(program, args, {
    cwd: where.cwd,
    env: where.env,
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
