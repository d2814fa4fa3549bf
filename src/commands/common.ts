/** Helpers shared by the commands that act on modules. */
import path from 'node:path';
import { UserError } from '../errors.js';
import { composeSecrets } from '../model/compose-interpolation.js';
import { formatProblem } from '../model/module.js';
import type { ModuleDecl } from '../model/module.js';
import { validateModules, type ComposeRenderer } from '../model/validate.js';
import type { CommandContext } from './spec.js';

// the markdown escapes every command's summary uses (they live with the other renderings)
export { cell, code } from '../report/markdown.js';

export interface ModuleSet {
  root: string;
  modules: ModuleDecl[];
  /** values compose would interpolate into these modules' files that must never be printed */
  secrets: string[];
  /**
   * Modules whose declaration is sound but that cannot be acted on here (a service in a profile
   * COMPOSE_PROFILES does not enable): module -> why. A command refuses them and goes on with the others.
   */
  refused: Map<string, string>;
}

/** validate's renderer: the compose CLI in use (or `docker stack config` for a spec.swarm module). */
export function composeRenderer(ctx: CommandContext): ComposeRenderer {
  return (target, kind) => ctx.runtime(kind).renderProject(target, { hashes: false });
}

/**
 * Load and validate every module. Any problem refuses the whole command (fail closed): acting on
 * a repo whose declarations are broken would be acting on a guess. A module that is refused only
 * for its environment (an inactive profile) is set aside in `refused` instead.
 */
export async function loadValidModules(
  opts: { root: string; modules: string },
  ctx: CommandContext,
): Promise<ModuleSet> {
  const root = path.resolve(ctx.cwd, opts.root);
  const { loaded, problems: all } = await validateModules(root, opts.modules, ctx.cwd, composeRenderer(ctx));
  const refused = new Map<string, string>();
  for (const p of all) if (p.refusal && p.module) refused.set(p.module, formatProblem(p));
  const problems = all.filter((p) => !p.refusal);
  if (problems.length > 0) {
    throw new UserError(
      `module declarations are invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}); ` +
        `run 'stateguard validate' and fix them first:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
      { reason: 'invalid-modules', exitCode: 1 },
    );
  }
  if (loaded.modules.length === 0) {
    throw new UserError(
      `no module.yaml found under ${opts.root} matching ${JSON.stringify(opts.modules)}; check --root and --modules.`,
      { input: 'root', reason: 'invalid-modules', exitCode: 1 },
    );
  }
  // Registered before anything reads the engine: a rendered config carries these values in place.
  const secrets = composeSecrets(loaded.modules, ctx.env);
  for (const v of secrets) ctx.addSecret(v);
  return { root: loaded.root, modules: loaded.modules, secrets, refused };
}

/**
 * Commands whose steps are built for Compose only refuse a Swarm module before touching anything
 * (docs/architecture.md §14: restore and upgrade move data through helper containers
 * bound to one host; on Swarm they need the node-pinned helpers designed there).
 */
export function refuseOnSwarm(m: ModuleDecl, command: string): void {
  if (m.runtime !== 'swarm') return;
  throw new UserError(
    `module '${m.name}' runs on Docker Swarm (spec.swarm in ${m.file}); ${command} is not built for Swarm yet, ` +
      `so nothing was done. Use plan, apply, snapshot, recover, verify-backup and the persistence probe on ` +
      `Swarm; for ${command}, see "Swarm" in docs/architecture.md.`,
    { reason: 'unsupported-runtime', exitCode: 1 },
  );
}

export function pickModule(set: ModuleSet, name: string | undefined, input = 'module'): ModuleDecl {
  if (!name) {
    throw new UserError(
      `--${input} is required: name the module to act on (one of: ${set.modules.map((m) => m.name).join(', ')}).`,
      {
        input,
      },
    );
  }
  const m = set.modules.find((x) => x.name === name);
  const refusal = m ? set.refused.get(m.name) : undefined;
  if (refusal !== undefined) {
    throw new UserError(`module '${name}' cannot be acted on here, so nothing was done: ${refusal}`, {
      reason: 'compose-error',
      exitCode: 1,
    });
  }
  if (!m) {
    throw new UserError(
      `--${input} ${JSON.stringify(name)} is not a module under ` +
        `${set.root}; known modules: ${set.modules.map((x) => x.name).join(', ')}.`,
      // A name that is not a module is a usage error (exit 3, 'could not run'), not a "no" about a module.
      { input, reason: 'module-not-found' },
    );
  }
  return m;
}

/** `expected-plan-hash`, when given, must look like a plan_hash: a typo must not pass as "no binding". */
export function checkExpectedPlanHash(value: string | undefined, module: string, ctx: CommandContext): void {
  if (value !== undefined && !/^[0-9a-f]{64}$/.test(value)) {
    throw new UserError(
      `${ctx.inAction ? "input 'expected-plan-hash'" : '--expected-plan-hash'} must be a plan_hash (64 lowercase ` +
        `hex characters) as printed by stateguard plan --module ${module}, got ${JSON.stringify(value.slice(0, 80))}.`,
      { input: 'expected-plan-hash' },
    );
  }
}
