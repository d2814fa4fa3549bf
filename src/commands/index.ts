/** Every command, by name. The CLI, the actions and the build's action.yml generator read this. */
import { applyCommand } from './apply.js';
import { e2eGateCommand } from './e2e-gate.js';
import { guardCommand } from './guard.js';
import { lintWorkflowsCommand } from './lint-workflows.js';
import { planCommand } from './plan.js';
import { pruneBackupsCommand } from './prune-backups.js';
import { recoverCommand } from './recover.js';
import { restoreCommand } from './restore.js';
import { upgradeCommand } from './upgrade.js';
import { snapshotCommand } from './snapshot.js';
import type { CommandSpec, InputDef } from './spec.js';
import { validateCommand } from './validate.js';
import { verifyBackupCommand } from './verify-backup.js';

export const COMMANDS = {
  plan: planCommand,
  guard: guardCommand,
  apply: applyCommand,
  'verify-backup': verifyBackupCommand,
  snapshot: snapshotCommand,
  'prune-backups': pruneBackupsCommand,
  restore: restoreCommand,
  recover: recoverCommand,
  upgrade: upgradeCommand,
  'e2e-gate': e2eGateCommand,
  'lint-workflows': lintWorkflowsCommand,
  validate: validateCommand,
} as const satisfies Record<string, CommandSpec<any>>;

export type CommandName = keyof typeof COMMANDS;

export function getCommand(name: string): CommandSpec<readonly InputDef[]> | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
}
