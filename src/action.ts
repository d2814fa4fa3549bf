/**
 * The action side: INPUT_* variables -> typed options (through the command's one input
 * definition) -> command -> outputs, job summary, annotations, exit status.
 *
 * The runner sets `INPUT_<NAME>` with the name upper-cased and spaces replaced by `_`; hyphens are
 * kept (`INPUT_BACKUP-REF`). Every value leaving here goes through the Scrubber.
 */
import * as core from '@actions/core';
import { getCommand } from './commands/index.js';
import { actionNames, parseInputs, type RawInputs } from './commands/inputs.js';
import type { Annotation, CommandContext, CommandResult, CommandSpec, InputDef, Logger } from './commands/spec.js';
import { ExitCode, UserError } from './errors.js';
import { checkComposeFlavorEnv } from './compose-env.js';
import { errorResult, runCommand } from './run-command.js';
import { Scrubber } from './report/scrub.js';
import { runtimeSelector } from './runtime/select.js';
import type { Runtime } from './runtime/types.js';

/** The slice of @actions/core the action layer uses: a test can pass a recording fake. */
export interface ActionCore {
  setOutput(name: string, value: string): void;
  setSecret(value: string): void;
  setFailed(message: string): void;
  info(message: string): void;
  warning(message: string, props?: core.AnnotationProperties): void;
  error(message: string, props?: core.AnnotationProperties): void;
  notice(message: string, props?: core.AnnotationProperties): void;
  writeSummary(markdown: string): Promise<void>;
}

export const realCore: ActionCore = {
  setOutput: core.setOutput,
  setSecret: core.setSecret,
  setFailed: core.setFailed,
  info: core.info,
  warning: core.warning,
  error: core.error,
  notice: core.notice,
  writeSummary: async (md) => {
    await core.summary.addRaw(md, true).write();
  },
};

export interface ActionIo {
  env: Record<string, string | undefined>;
  cwd: string;
  core?: ActionCore;
  now?: () => Date;
  runtime?: () => Runtime;
}

export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** The inputs an action reads: its command's inputs that are not CLI-only. */
export function actionInputs(spec: CommandSpec<readonly InputDef[]>): InputDef[] {
  return spec.inputs.filter((d) => !d.cliOnly);
}

/**
 * Inputs compared byte for byte by the command, so never trimmed here. `confirm` is the operator's
 * assertion that the backup is done and must equal the token exactly (docs/architecture.md §4), as it does on
 * the CLI; @actions/core's getInput would trim it, which would turn " BACKUP_DONE " into a match.
 * The guard then names the difference ("surrounding whitespace") without echoing the value.
 */
const EXACT_INPUTS: ReadonlySet<string> = new Set(['confirm']);

export function readActionInputs(
  spec: CommandSpec<readonly InputDef[]>,
  env: Record<string, string | undefined>,
): RawInputs {
  const raw: RawInputs = {};
  for (const def of actionInputs(spec)) {
    // Composite steps and some runners can only pass `INPUT_BACKUP_REF` (no hyphen): accept both.
    const v = env[inputEnvName(def.name)] ?? env[inputEnvName(def.name).replace(/-/g, '_')];
    // The runner trims nothing; a lone newline or spaces count as "not given" for free text.
    // Booleans are never trimmed: `" true"` is not `true` here any more than on the CLI.
    if (v !== undefined)
      raw[def.name] = def.kind === 'list' || def.kind === 'boolean' || EXACT_INPUTS.has(def.name) ? v : v.trim();
  }
  return raw;
}

function place(
  a: { file?: string; line?: number; column?: number; title?: string } | undefined,
): core.AnnotationProperties | undefined {
  if (!a) return undefined;
  return { file: a.file, startLine: a.line, startColumn: a.column, title: a.title };
}

/** Run the action for `name` (or, for the root action, the `command` input). Returns the exit code. */
export async function runAction(name: string | undefined, io: ActionIo): Promise<number> {
  const c = io.core ?? realCore;
  const scrub = new Scrubber();
  const commandName = name ?? io.env[inputEnvName('command')]?.trim() ?? '';
  const spec = getCommand(commandName);
  let result: CommandResult;
  if (!spec) {
    result = errorResult(
      undefined,
      new UserError(
        `input 'command' must be one of plan, guard, apply, verify-backup, snapshot, e2e-gate, lint-workflows, ` +
          `validate; got ${JSON.stringify(commandName)}.`,
        { input: 'command' },
      ),
    );
    result.outputs['failure-reason'] = 'invalid-input';
  } else {
    const log: Logger = {
      info: (m) => c.info(scrub.scrub(m)),
      warn: (m, w) => c.warning(scrub.scrub(m), place(w)),
      error: (m, w) => c.error(scrub.scrub(m), place(w)),
      notice: (m, w) => c.notice(scrub.scrub(m), place(w)),
      raw: (chunk) => c.info(scrub.scrub(chunk.replace(/\n$/, ''))),
    };
    const ctx: CommandContext = {
      cwd: io.cwd,
      env: io.env,
      log,
      now: io.now ?? (() => new Date()),
      runtime: runtimeSelector(io.env, io.runtime),
      inAction: true,
      addSecret: (v) => {
        scrub.add(v);
        if (v) c.setSecret(v);
      },
    };
    // Secret inputs are masked in the runner before anything else runs.
    for (const def of actionInputs(spec)) {
      const v = io.env[inputEnvName(def.name)];
      if (def.secret && v) ctx.addSecret(v.trim());
    }
    try {
      checkComposeFlavorEnv(io.env);
      const options = parseInputs(actionInputs(spec), readActionInputs(spec, io.env), actionNames);
      if ('json' in options) options.json = false;
      result = await runCommand(spec, options, ctx);
    } catch (err) {
      result = errorResult(spec, err);
    }
  }
  return publish(result, c, scrub);
}

/** Publish a result to the runner. Exported for tests. */
export async function publish(result: CommandResult, c: ActionCore, scrub: Scrubber): Promise<number> {
  if (result.text) c.info(scrub.scrub(result.text));
  for (const [k, v] of Object.entries(result.outputs)) c.setOutput(k, scrub.scrub(v));
  for (const a of result.annotations ?? []) annotate(c, a, scrub);
  if (result.summary) {
    try {
      await c.writeSummary(scrub.scrub(result.summary) + '\n');
    } catch (err) {
      // A summary is a convenience: failing to write it never changes the verdict.
      c.warning(`could not write the job summary: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // Only the two "yes" codes pass the step (2 is plan's drift, which is not a "no" for an action).
  // Anything else — 1, 3, or a value no command should return — fails it: an unexpected exit code
  // is never read as success.
  if (result.exitCode === ExitCode.ok || result.exitCode === ExitCode.drift) return ExitCode.ok;
  const reason = result.failureReason ? ` (failure-reason: ${result.failureReason})` : '';
  c.setFailed(scrub.scrub(`${firstLine(result.text ?? '') || 'stateguard said no'}${reason}`));
  return result.exitCode === ExitCode.no ? ExitCode.no : ExitCode.couldNotRun;
}

function annotate(c: ActionCore, a: Annotation, scrub: Scrubber): void {
  const msg = scrub.scrub(a.message);
  if (a.level === 'error') c.error(msg, place(a));
  else if (a.level === 'warning') c.warning(msg, place(a));
  else c.notice(msg, place(a));
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
