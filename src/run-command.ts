/**
 * Runs one command with a context, turning every escape (user error, unreachable engine, bug)
 * into a CommandResult that says no. Shared by the CLI and the actions so both fail closed the
 * same way.
 */
import { EnvironmentError, ExitCode, UserError, errorMessage } from './errors.js';
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
  const outputs: Record<string, string> = {};
  if (spec?.outputs.some((o) => o.name === 'failure-reason')) outputs['failure-reason'] = reason;
  return {
    exitCode,
    json: { error: message, failure_reason: reason, exit_code: exitCode },
    text: `stateguard ${name}: ${message}`,
    outputs,
    summary: `### stateguard ${name}: could not complete\n\n${message.split('\n').map((l) => `> ${l}`).join('\n')}\n\nfailure-reason: \`${reason}\``,
    failureReason: reason,
    annotations: [],
  };
}
