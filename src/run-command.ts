/**
 * Runs one command with a context, turning every escape (user error, unreachable engine, bug)
 * into a CommandResult that says no. Shared by the CLI and the actions so both fail closed the
 * same way.
 */
import { EnvironmentError, ExitCode, UserError, errorMessage } from './errors.js';
import { cell } from './report/markdown.js';
import type { CommandContext, CommandResult, CommandSpec, InputDef } from './commands/spec.js';

export async function runCommand(
  spec: CommandSpec<readonly InputDef[]>,
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<CommandResult> {
  try {
    return await spec.run(options as never, ctx);
  } catch (err) {
    return errorResult(spec, err);
  }
}

/** The "no" value of every verdict-like output, set when a command could not complete. */
const FAIL_CLOSED_OUTPUTS: Record<string, string> = {
  decision: 'blocked',
  verified: 'false',
  valid: 'false',
  status: 'error',
};

export function errorResult(spec: CommandSpec<readonly InputDef[]> | undefined, err: unknown): CommandResult {
  const name = spec?.name ?? 'stateguard';
  let exitCode: CommandResult['exitCode'] = ExitCode.couldNotRun;
  let reason: CommandResult['failureReason'] = 'internal';
  let message = errorMessage(err);
  if (err instanceof UserError) {
    exitCode = err.exitCode;
    reason = err.reason;
  } else if (err instanceof EnvironmentError) {
    reason = err.reason;
  } else {
    message = `unexpected error (stateguard failed closed; please report this): ${message}`;
  }
  // Outputs a workflow branches on say "no" explicitly, never stay empty, whatever failed.
  const outputs: Record<string, string> = {};
  const json: Record<string, unknown> = { error: message, failure_reason: reason, exit_code: exitCode };
  for (const [name, value] of Object.entries(FAIL_CLOSED_OUTPUTS)) {
    if (spec?.outputs.some((o) => o.name === name)) {
      outputs[name] = value;
      json[name.replace(/-/g, '_')] = value;
    }
  }
  outputs['failure-reason'] = reason;
  return {
    exitCode,
    json,
    text: `stateguard ${name}: ${message}`,
    outputs,
    summary: `### stateguard ${name}: could not complete\n\n${message
      .split('\n')
      .map((l) => `> ${cell(l)}`)
      .join('\n')}\n\nfailure-reason: \`${reason}\``,
    failureReason: reason,
    annotations: [],
  };
}
