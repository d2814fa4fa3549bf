/**
 * STATEGUARD_COMPOSE: which compose CLI stateguard drives. Checked where the CLI and the action
 * build their context, before any command runs: an unknown value is a usage error (exit 3), never
 * silently read as "auto" — an operator who forced a flavor must not get the other one.
 */
import { UserError } from './errors.js';

export const COMPOSE_ENV = 'STATEGUARD_COMPOSE';
export const COMPOSE_CHOICES = ['auto', 'v1', 'v2'] as const;

/** Lines for `stateguard --help` (the README says the same in its own words). */
export const COMPOSE_ENV_HELP: readonly string[] = [
  `${COMPOSE_ENV}=auto|v1|v2   which compose CLI to drive: auto (default, also when unset or empty)`,
  `                              uses v2 'docker compose' when it answers, else v1 'docker-compose';`,
  `                              v1 or v2 forces that one. Any other value is refused (exit 3).`,
];

export function checkComposeFlavorEnv(env: Readonly<Record<string, string | undefined>>): void {
  const value = env[COMPOSE_ENV];
  if (value === undefined || value === '' || (COMPOSE_CHOICES as readonly string[]).includes(value)) return;
  throw new UserError(
    `environment variable ${COMPOSE_ENV} is ${JSON.stringify(value)}; expected auto, v1 or v2 (exactly, lowercase). ` +
      `Unset it (or set auto) to use compose v2 when present, else v1; set v1 or v2 to force one.`,
    { input: COMPOSE_ENV },
  );
}
