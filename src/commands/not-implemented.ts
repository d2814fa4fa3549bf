/**
 * Placeholder for a command whose issue has not landed yet: it says so and exits 3 ("could not
 * run"), so a workflow that calls it fails loudly instead of passing silently.
 */
import { UserError } from '../errors.js';
import { defineCommand, type InputDef, type OutputDef } from './spec.js';

export function notImplemented(name: string, description: string, inputs: readonly InputDef[], outputs: readonly OutputDef[]) {
  return defineCommand({
    name,
    title: `stateguard ${name}`,
    description,
    inputs,
    outputs,
    async run() {
      throw new UserError(`stateguard ${name} is not implemented yet; this build cannot run it.`, {
        reason: 'not-implemented',
      });
    },
  });
}
