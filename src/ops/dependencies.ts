/**
 * depends_on_healthy: the modules that must stay running (and healthy where they have a
 * healthcheck) in the same containers across a guarded operation (docs/architecture.md §6).
 * Each compose project is listed once, however many dependencies live in it.
 */
import { errorMessage } from '../errors.js';
import { ofService } from '../drift/containers.js';
import type { ModuleDecl } from '../model/module.js';
import type { ContainerInfo, Runtime } from '../ports.js';

export interface DependencyState {
  module: string;
  container_ids: string[];
  states: string[];
  health: (string | null)[];
}

export interface DependencyCheck {
  module: string;
  before: DependencyState;
  after: DependencyState | null;
  ok: boolean;
  problem: string | null;
}

export function dependencyState(m: ModuleDecl, projectContainers: readonly ContainerInfo[]): DependencyState {
  const cs = ofService(projectContainers, m.compose.service).sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    module: m.name,
    container_ids: cs.map((c) => c.id),
    states: cs.map((c) => c.state),
    health: cs.map((c) => c.health),
  };
}
/**
 * Lists each compose project once, however many dependencies live in it (`listed` holds projects
 * already listed at this moment). A project that cannot be listed maps to its error.
 */
export async function listProjects(
  runtime: Runtime,
  deps: readonly ModuleDecl[],
  listed = new Map<string, ContainerInfo[]>(),
): Promise<Map<string, ContainerInfo[] | Error>> {
  const out = new Map<string, ContainerInfo[] | Error>(listed);
  for (const d of deps) {
    if (out.has(d.compose.project)) continue;
    try {
      out.set(d.compose.project, await runtime.listProjectContainers(d.compose.project));
    } catch (err) {
      out.set(d.compose.project, err instanceof Error ? err : new Error(String(err)));
    }
  }
  return out;
}

/** Why a dependency is not "running, healthy where it has a healthcheck", or null. */
export function dependencyProblem(s: DependencyState): string | null {
  if (s.container_ids.length === 0) return `module '${s.module}' has no container`;
  const bad: string[] = [];
  s.container_ids.forEach((id, i) => {
    const st = s.states[i];
    const h = s.health[i];
    if (st !== 'running') bad.push(`${id.slice(0, 12)} is ${st}`);
    else if (h !== null && h !== undefined && h !== 'healthy') bad.push(`${id.slice(0, 12)} is ${h}`);
  });
  return bad.length ? `module '${s.module}': ${bad.join(', ')}` : null;
}

export function compareDependency(before: DependencyState, after: DependencyState): string | null {
  const same =
    before.container_ids.length === after.container_ids.length &&
    before.container_ids.every((id, i) => after.container_ids[i] === id);
  if (!same) {
    return (
      `module '${before.module}' was recreated or removed during the apply: container ` +
      `${before.container_ids.map((i) => i.slice(0, 12)).join(',')} → ` +
      `${after.container_ids.map((i) => i.slice(0, 12)).join(',') || 'none'}`
    );
  }
  return dependencyProblem(after);
}

export async function checkDependencies(
  runtime: Runtime,
  deps: ModuleDecl[],
  before: DependencyState[],
  out: { dependencies: DependencyCheck[] },
): Promise<boolean> {
  let ok = true;
  const listed = await listProjects(runtime, deps);
  for (const [i, d] of deps.entries()) {
    const b = before[i]!;
    let after: DependencyState | null = null;
    let problem: string | null;
    const listing = listed.get(d.compose.project)!;
    if (listing instanceof Error) {
      problem = `module '${d.name}' could not be read after the apply: ${errorMessage(listing)}`;
    } else {
      after = dependencyState(d, listing);
      problem = compareDependency(b, after);
    }
    if (problem) ok = false;
    out.dependencies.push({ module: d.name, before: b, after, ok: problem === null, problem });
  }
  return ok;
}
