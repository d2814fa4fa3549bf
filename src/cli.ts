/**
 * `stateguard <command> [flags]`: argv -> typed options (through the command's one input
 * definition) -> command -> stdout/stderr and exit code (docs/architecture.md §10).
 */
import { COMMANDS, getCommand } from './commands/index.js';
import { cliNames, parseInputs, type RawInputs } from './commands/inputs.js';
import type { CommandContext, CommandSpec, InputDef, Logger } from './commands/spec.js';
import { ExitCode, UserError } from './errors.js';
import { COMPOSE_ENV_HELP, checkComposeFlavorEnv } from './compose-env.js';
import { PROGRESS_ENV_HELP } from './report/progress.js';
import { COMPLETION_SHELLS, completionScript, isCompletionShell } from './completion.js';
import { errorResult, runCommand } from './run-command.js';
import { Scrubber } from './report/scrub.js';
import { runtimeSelector } from './runtime/select.js';
import type { Runtime } from './runtime/types.js';
import { VERSION } from './version.js';

export { VERSION };

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  now?: () => Date;
  runtime?: () => Runtime;
}

/** Split argv into raw inputs for one command. Unknown flags are usage errors (exit 3). */
export function parseArgv(spec: CommandSpec<readonly InputDef[]>, argv: readonly string[]): RawInputs {
  const defs = spec.inputs.filter((d) => !d.actionOnly);
  const raw: RawInputs = {};
  const push = (name: string, value: string): void => {
    const prev = raw[name];
    raw[name] = prev === undefined ? [value] : [...(Array.isArray(prev) ? prev : [prev]), value];
  };
  const positional = defs.find((d) => d.positional);
  const rest = defs.find((d) => d.rest);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      if (!rest) throw new UserError(`stateguard ${spec.name} takes no command after '--'.`, { input: '--' });
      for (const r of argv.slice(i + 1)) push(rest.name, r);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const def = defs.find((d) => d.name === name && !d.positional && !d.rest);
      if (!def) {
        const known = defs
          .filter((d) => !d.positional && !d.rest)
          .map((d) => `--${d.name}`)
          .join(', ');
        throw new UserError(`unknown flag --${name} for 'stateguard ${spec.name}'. Known flags: ${known}.`, {
          input: name,
        });
      }
      if (eq !== -1) push(name, arg.slice(eq + 1));
      else if (def.kind === 'boolean') {
        // `--flag` alone means true; `--flag true|false` takes the next word as its value. Any other
        // word right after it is ambiguous (`--allow-stateful yes`: a value? a typo?) and refused,
        // except where the command takes positionals, which is what that word then is.
        const next = argv[i + 1];
        if (next === 'true' || next === 'false') {
          push(name, next);
          i++;
        } else if (next === undefined || next.startsWith('-') || positional) push(name, 'true');
        else {
          throw new UserError(
            `--${name} is a boolean flag and the word after it, ${JSON.stringify(next)}, is neither true nor false. ` +
              `Write --${name} (true), --${name} true, --${name} false or --${name}=true|false; booleans are not ` +
              `coerced (yes/1/TRUE are refused).`,
            { input: name },
          );
        }
      } else {
        const value = argv[i + 1];
        if (value === undefined || (value.startsWith('--') && value.length > 2)) {
          throw new UserError(`--${name} needs a value: ${def.description}`, { input: name });
        }
        push(name, value);
        i++;
      }
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      throw new UserError(`unknown option ${arg} for 'stateguard ${spec.name}' (flags are --long).`, { input: arg });
    }
    if (!positional) {
      throw new UserError(`unexpected argument ${JSON.stringify(arg)} for 'stateguard ${spec.name}'.`, { input: arg });
    }
    push(positional.name, arg);
  }
  // Flags given once stay single strings so "given twice" is detected for non-list inputs.
  for (const [k, v] of Object.entries(raw)) {
    const def = defs.find((d) => d.name === k);
    if (Array.isArray(v) && v.length === 1 && def?.kind !== 'list') raw[k] = v[0];
  }
  return raw;
}

/**
 * True when `--help` stands where a flag stands. As the value of a flag (`--confirm --help`, from
 * `--confirm "$CONFIRM"`) or after `--` it is not a request for help: printing the usage there
 * exited 0, which a script reads as "allowed"/"verified". parseArgv then refuses the flag as
 * missing its value (exit 3).
 */
export function helpRequested(spec: CommandSpec<readonly InputDef[]>, argv: readonly string[]): boolean {
  const defs = spec.inputs.filter((d) => !d.actionOnly && !d.positional && !d.rest);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return false;
    if (arg === '--help') return true;
    if (arg.startsWith('--') && !arg.includes('=')) {
      const def = defs.find((d) => d.name === arg.slice(2));
      if (def && def.kind !== 'boolean')
        i++; // the next word is this flag's value
      else if (def && (argv[i + 1] === 'true' || argv[i + 1] === 'false')) i++;
    }
  }
  return false;
}

const COMPLETION_DESCRIPTION =
  `Print a shell completion script: stateguard completion ${COMPLETION_SHELLS.join('|')} (e.g. ` +
  '`source <(stateguard completion bash)`).';
const COMPLETION_USAGE = [
  `usage: stateguard completion ${COMPLETION_SHELLS.join('|')}`,
  '',
  'Print a completion script for the shell, generated from the command definitions:',
  '  bash: source <(stateguard completion bash)',
  '  zsh:  source <(stateguard completion zsh)',
  '  fish: stateguard completion fish | source',
].join('\n');

/**
 * `stateguard completion <shell>` (CLI only: not a command definition, so no action is built for it).
 * Anything but exactly one known shell is a usage error (exit 3) naming the shells.
 */
function runCompletion(args: readonly string[], io: CliIo): number {
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    io.stdout(COMPLETION_USAGE + '\n');
    return ExitCode.ok;
  }
  const shell = args[0];
  if (args.length !== 1 || !isCompletionShell(shell)) {
    const got =
      args.length === 0
        ? 'no shell was given'
        : args.length > 1
          ? `${args.length} arguments were given`
          : `unknown shell ${JSON.stringify(shell)}`;
    io.stderr(`stateguard completion: ${got}; name one of ${COMPLETION_SHELLS.join(', ')}.\n\n${COMPLETION_USAGE}\n`);
    return ExitCode.couldNotRun;
  }
  io.stdout(completionScript(shell));
  return ExitCode.ok;
}

export function usage(spec?: CommandSpec<readonly InputDef[]>): string {
  if (!spec) {
    return [
      `stateguard ${VERSION}: change stateful Docker Compose services from CI without losing data.`,
      '',
      'usage: stateguard <command> [flags]',
      '',
      'commands:',
      ...Object.values(COMMANDS).map((c) => `  ${c.name.padEnd(16)} ${c.description}`),
      `  ${'completion'.padEnd(16)} ${COMPLETION_DESCRIPTION}`,
      '',
      "Run 'stateguard <command> --help' for its flags. Exit codes: 0 ok, 1 no, 2 drift (plan --detailed-exitcode), " +
        '3 could not run.',
      '',
      'environment:',
      ...COMPOSE_ENV_HELP.map((l) => `  ${l}`),
      ...PROGRESS_ENV_HELP.map((l) => `  ${l}`),
    ].join('\n');
  }
  const lines = [`usage: stateguard ${spec.name} [flags]`, '', spec.description, '', 'flags:'];
  for (const d of spec.inputs.filter((x) => !x.actionOnly)) {
    const flag = d.positional
      ? `[${d.name}...]`
      : d.rest
        ? `-- ${d.name}...`
        : `--${d.name}${d.kind === 'boolean' ? '' : ' VALUE'}`;
    const extra = [
      d.kind === 'list' && !d.positional && !d.rest ? 'repeatable' : '',
      d.default ? `default ${d.default}` : '',
      d.required ? 'required' : '',
    ]
      .filter(Boolean)
      .join('; ');
    lines.push(`  ${flag.padEnd(30)} ${d.description}${extra ? ` (${extra})` : ''}`);
  }
  return lines.join('\n');
}

function cliLogger(io: CliIo, scrub: Scrubber): Logger {
  const where = (w?: { file?: string; line?: number; column?: number }): string =>
    w?.file ? `${w.file}${w.line ? `:${w.line}${w.column ? `:${w.column}` : ''}` : ''}: ` : '';
  return {
    info: (m) => io.stderr(scrub.scrub(m) + '\n'),
    warn: (m, w) => io.stderr(scrub.scrub(`warning: ${where(w)}${m}`) + '\n'),
    error: (m, w) => io.stderr(scrub.scrub(`error: ${where(w)}${m}`) + '\n'),
    notice: (m, w) => io.stderr(scrub.scrub(`notice: ${where(w)}${m}`) + '\n'),
    raw: (chunk) => io.stderr(scrub.scrub(chunk)),
  };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const scrub = new Scrubber();
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage() + '\n');
    return name === undefined ? ExitCode.couldNotRun : ExitCode.ok;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`${VERSION}\n`);
    return ExitCode.ok;
  }
  if (name === 'completion') return runCompletion(args, io);
  const spec = getCommand(name);
  if (!spec) {
    io.stderr(`stateguard: unknown command ${JSON.stringify(name)}.\n\n${usage()}\n`);
    return ExitCode.couldNotRun;
  }
  if (helpRequested(spec, args)) {
    io.stdout(usage(spec) + '\n');
    return ExitCode.ok;
  }
  let raw: RawInputs | undefined;
  let argvError: unknown;
  try {
    raw = parseArgv(spec, args);
  } catch (err) {
    argvError = err;
  }
  // JSON mode from the parsed flags (so `--json false` and a `--json` after `--` are not it); when
  // argv itself is refused, from a plain scan, so the usage error still prints one JSON document.
  const jsonMode = raw ? jsonRequested(raw.json) : jsonFlagGiven(args);
  const ctx: CommandContext = {
    cwd: io.cwd,
    env: io.env,
    log: cliLogger(io, scrub),
    now: io.now ?? (() => new Date()),
    runtime: runtimeSelector(io.env, io.runtime),
    inAction: false,
    addSecret: (v) => scrub.add(v),
  };
  let result;
  try {
    if (!raw) throw argvError;
    checkComposeFlavorEnv(io.env);
    const options = parseInputs(
      spec.inputs.filter((d) => !d.actionOnly),
      raw,
      cliNames,
    );
    result = await runCommand(spec, options, ctx);
  } catch (err) {
    result = errorResult(spec, err);
  }
  if (jsonMode) {
    io.stdout(scrub.scrub(JSON.stringify(result.json, null, 2)) + '\n');
    if (result.text) io.stderr(scrub.scrub(result.text) + '\n');
  } else if (result.text) {
    (result.exitCode === ExitCode.couldNotRun ? io.stderr : io.stdout)(scrub.scrub(result.text) + '\n');
  }
  return processExitCode(result.exitCode);
}

function jsonRequested(value: RawInputs[string]): boolean {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.length > 0 && values.every((v) => v === 'true');
}

function jsonFlagGiven(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const flags = end === -1 ? args : args.slice(0, end);
  return flags.some((a, i) => a === '--json=true' || (a === '--json' && flags[i + 1] !== 'false'));
}

/**
 * The process exit status for a command's exit code: 0–3 as documented (docs/architecture.md §10), anything
 * else (undefined, NaN, a code no command should return) is 3. `process.exitCode = undefined`
 * would otherwise exit 0 — success — on a result nobody decided.
 */
export function processExitCode(code: unknown): number {
  return code === ExitCode.ok || code === ExitCode.no || code === ExitCode.drift || code === ExitCode.couldNotRun
    ? code
    : ExitCode.couldNotRun;
}
