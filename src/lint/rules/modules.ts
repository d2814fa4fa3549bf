/**
 * The repository's modules as lint-workflows sees them (docs/architecture.md §9): read with the
 * project's own loader (src/model/module.ts) from `modules/*\/module.yaml` when the repository has a
 * `modules/` directory. A module.yaml left out for its own problems still counts as declared (its
 * name, where readable): `validate` reports it; a reference to it is not "unknown".
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { loadModules } from '../../model/module.js';

export interface LintModule {
  name: string;
  stateful: boolean;
  runtime: 'compose' | 'swarm';
  project: string;
  service: string;
  /** absolute path of the compose (or stack) file */
  composePath: string;
}

export interface RepoModules {
  /** every declared name, including the ones of module.yaml files with problems */
  names: Set<string>;
  modules: LintModule[];
}

/** The glob every stateguard command reads modules with by default (src/commands/spec.ts MODULES_INPUT). */
export const DEFAULT_MODULES_GLOB = 'modules/*/module.yaml';

/** undefined when the repository has no modules/ directory (the module rules then have nothing to check). */
export function readRepoModules(root: string): RepoModules | undefined {
  try {
    if (!statSync(path.join(root, 'modules')).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  let loaded;
  try {
    loaded = loadModules(root, DEFAULT_MODULES_GLOB, root);
  } catch {
    return undefined;
  }
  const names = new Set<string>([...loaded.modules.map((m) => m.name), ...(loaded.invalid?.keys() ?? [])]);
  return {
    names,
    modules: loaded.modules.map((m) => ({
      name: m.name,
      stateful: m.class === 'stateful',
      runtime: m.runtime,
      project: m.compose.project,
      service: m.compose.service,
      composePath: m.compose.path,
    })),
  };
}
