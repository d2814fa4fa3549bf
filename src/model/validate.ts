/**
 * Cross-file checks of docs/architecture.md §2, run after every module.yaml passed its schema. Each
 * compose file is read the way compose reads it: rendered by the compose CLI in use (merge keys,
 * `extends`, `include`, interpolation, `env_file` and profiles resolved by compose itself), through a
 * `ComposeRenderer` the command passes in; the source is read only to point at where a key is
 * written. The rendered service exists and is started (profiles), a one-shot's service never
 * restarts and runs once, declared data volumes are really mounted at the declared paths and do not
 * overlap, and the file's project is the module's. A spec.swarm module's stack file is read the same
 * way, with the Swarm rules on top (swarmServiceProblems, swarmVolumeProblem).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError, errorMessage } from '../errors.js';
import type { ComposeTarget, RenderedProject, RenderedService, RuntimeKind } from '../ports.js';
import { positionOfComposePath, readComposeSource, sourceProjectName, whereWritten } from './compose-source.js';
import { describeOverlap, mountOverlaps, type MountRef } from './mount-overlap.js';
import { renderedMounts } from './rendered-mounts.js';
import { closest } from './suggest.js';
import type { PathSegment, SourceProblem, YamlSource } from './yaml-source.js';
import { displayPath, loadModules, sortProblems, type LoadedModules, type ModuleDecl } from './module.js';
import { withArticle } from '../report/words.js';

/** Renders a compose (or stack) file as the module's runtime does: the adapter's renderProject. */
export type ComposeRenderer = (target: ComposeTarget, kind: RuntimeKind) => Promise<RenderedProject>;

type ComposeRead =
  | {
      ok: true;
      rendered: RenderedProject;
      source: YamlSource;
      /** the file's own top-level name: */ name: string | null;
    }
  /** `file`: problems of the file itself, reported once at their own positions; `why`: for each module */
  | { ok: false; file: SourceProblem[]; why: string };

/**
 * Why a one-shot's compose service could start more than one container (`scale`, `deploy.replicas`
 * other than 1, `deploy.mode: global`), or null. A value compose would interpolate (`${N}`) cannot be
 * checked here and is refused too: apply checks the rendered value again before it runs anything.
 */
export function oneShotReplicaProblem(service: { scale?: unknown; deploy?: unknown }): string | null {
  const one = (v: unknown): boolean => v === undefined || v === null || v === 1 || v === '1';
  if (!one(service.scale)) return `has scale: ${JSON.stringify(service.scale)}`;
  const deploy = service.deploy;
  if (deploy !== undefined && deploy !== null) {
    if (typeof deploy !== 'object') return `has deploy: ${JSON.stringify(deploy)}`;
    const d = deploy as Record<string, unknown>;
    if (!one(d.replicas)) return `has deploy.replicas: ${JSON.stringify(d.replicas)}`;
    if (d.mode !== undefined && d.mode !== 'replicated' && d.mode !== 'replicated-job')
      return `has deploy.mode: ${JSON.stringify(d.mode)}`;
  }
  return null;
}

/**
 * The declared data volumes as compose renders their mounts, for the overlap rule
 * (docs/architecture.md §12, "Data mounts"): host paths are already absolute in the rendering. A
 * volume mounted neither way is left out (it has a problem of its own).
 */
function declaredMountRefs(m: ModuleDecl, service: RenderedService): MountRef[] {
  const mounts = renderedMounts(service.volumes);
  const refs: MountRef[] = [];
  for (const v of m.volumes) {
    const target = v.path.replace(/\/+$/, '') || '/';
    const mt = mounts.find((x) => x.target === target);
    if (mt?.type === 'volume' && mt.source !== null)
      refs.push({ volume: v.volume, path: v.path, kind: 'volume', name: mt.source });
    else if (mt?.type === 'bind' && mt.source !== null) {
      refs.push({
        volume: v.volume,
        path: v.path,
        kind: 'bind',
        hostPath: mt.source,
        shown: shownHostPath(m, mt.source),
      });
    } else refs.push({ volume: v.volume, path: v.path, kind: 'bind' });
  }
  return refs;
}

/**
 * A rendered (absolute) host path as the operator would write it: relative to the compose file's
 * directory when it lies inside it (`./h/sub`), else absolute.
 */
function shownHostPath(m: ModuleDecl, abs: string): string {
  const rel = path.relative(path.dirname(m.compose.path), abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? `./${rel.split(path.sep).join('/')}` : abs;
}

function renderKey(m: ModuleDecl): string {
  return JSON.stringify([m.runtime, m.compose.project, m.compose.path]);
}

/**
 * Read every compose file the modules name, once per file and project: the source safely (a hostile
 * file never reaches compose), then compose's rendering. Compose that is not installed, or an engine
 * a stack file needs, is a problem of every module on that file: the schema checks still ran.
 */
export async function readComposeFiles(
  modules: readonly ModuleDecl[],
  displayBase: string,
  render: ComposeRenderer,
): Promise<Map<string, ComposeRead>> {
  const out = new Map<string, ComposeRead>();
  const sources = new Map<string, ReturnType<typeof readComposeSource>>();
  const pending: Array<Promise<void>> = [];
  const seen = new Set<string>();
  for (const m of modules) {
    const key = renderKey(m);
    if (seen.has(key)) continue;
    seen.add(key);
    const display = displayPath(m.compose.path, displayBase);
    let source = sources.get(m.compose.path);
    if (!source) {
      source = readComposeSource(m.compose.path, display);
      sources.set(m.compose.path, source);
    }
    if (!source.ok) {
      out.set(key, {
        ok: false,
        file: existsSync(m.compose.path) ? source.problems : [],
        why: source.problems[0]!.message,
      });
      continue;
    }
    const src = source.source;
    pending.push(
      render({ project: m.compose.project, files: [m.compose.path] }, m.runtime).then(
        (rendered) => void out.set(key, { ok: true, rendered, source: src, name: sourceProjectName(source.value) }),
        (err: unknown) => {
          if (err instanceof EnvironmentError) {
            out.set(key, {
              ok: false,
              file: [],
              why:
                `${errorMessage(err)} (validate checked the module.yaml schema only; the compose checks need ` +
                `compose: install docker compose v2, or docker-compose v1)`,
            });
            return;
          }
          const message = errorMessage(err);
          const at = positionOfComposePath(src, message) ?? { line: 1, column: 1 };
          out.set(key, {
            ok: false,
            file: [{ file: display, ...at, message }],
            why: `compose refused to render it (its reason is reported at ${display}:${at.line}:${at.column})`,
          });
        },
      ),
    );
  }
  await Promise.all(pending);
  return out;
}

export function crossCheck(
  loaded: LoadedModules,
  displayBase: string,
  reads: ReadonlyMap<string, ComposeRead>,
): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const byName = new Map<string, ModuleDecl>();

  for (const m of loaded.modules) {
    const first = byName.get(m.name);
    if (first) {
      problems.push(
        m.source.problem(
          ['metadata', 'name'],
          `module name '${m.name}' is already used by ${first.file}; names must be unique`,
        ),
      );
    } else byName.set(m.name, m);
  }

  for (const m of loaded.modules) {
    const src = m.source;
    if ((m.class === 'stateful' || m.class === 'sidecar') && !m.backup) {
      problems.push(
        src.problem(
          ['spec', 'class'],
          m.class === 'sidecar'
            ? `a sidecar module must declare spec.backup (ref_modules naming its parent, and max_age_hours)`
            : `a stateful module must declare spec.backup (max_age_hours; ref_modules only for other modules whose ` +
                `backups also cover it)`,
        ),
      );
    }
    // A sidecar is covered by its parent's backups, so it must name that parent; its own
    // backups alone never count for it. A stateful module's own backups always count (the
    // verify-backup allowed names are [itself, ...ref_modules]), so it may omit ref_modules.
    if (m.class === 'sidecar' && m.backup && m.backup.refModules.every((r) => r === m.name)) {
      // Points at ref_modules, or at spec.backup when the key is missing.
      problems.push(
        src.problem(
          ['spec', 'backup', 'ref_modules'],
          `a sidecar must name its parent stateful module in backup.ref_modules (e.g. ref_modules: [parent]): ` +
            `its parent's backups are what cover it`,
        ),
      );
    }
    problems.push(...upgradeProblems(m, loaded.root));
    // A reference to a module whose own module.yaml has problems is a knock-on of those: one
    // message per referring module and broken file (at its first reference), after the root cause.
    const brokenRefs = new Map<string, { keys: string[]; at: PathSegment[] }>();
    const brokenRef = (ref: string, key: string, at: PathSegment[]): boolean => {
      if (loaded.invalid?.get(ref) === undefined) return false;
      const seen = brokenRefs.get(ref);
      if (seen) {
        if (!seen.keys.includes(key)) seen.keys.push(key);
      } else brokenRefs.set(ref, { keys: [key], at });
      return true;
    };
    const unknownRef = (key: string, ref: string, at: PathSegment[]): void => {
      const guess = closest(ref, [...byName.keys(), ...(loaded.invalid?.keys() ?? [])]);
      const known = [...byName.keys()].filter((n) => n !== m.name).sort();
      problems.push(
        src.problem(
          at,
          `${key} names unknown module '${ref}'` +
            (guess !== undefined ? `: did you mean '${guess}'?` : '') +
            `; known modules: ${known.length > 0 ? known.join(', ') : '(none besides this one)'}`,
        ),
      );
    };
    m.backup?.refModules.forEach((ref, i) => {
      if (ref === m.name) return;
      const at = ['spec', 'backup', 'ref_modules', i];
      const target = byName.get(ref);
      if (!target) {
        if (!brokenRef(ref, 'backup.ref_modules', at)) unknownRef('backup.ref_modules', ref, at);
      } else if (target.class !== 'stateful') {
        problems.push(src.problem(at, `backup.ref_modules names '${ref}', which is ${target.class}, not stateful`));
      }
    });
    m.dependsOnHealthy.forEach((dep, i) => {
      const at = ['spec', 'depends_on_healthy', i];
      if (dep === m.name) {
        problems.push(src.problem(at, `a module cannot depend on itself`));
      } else if (!byName.has(dep) && !brokenRef(dep, 'depends_on_healthy', at)) {
        unknownRef('depends_on_healthy', dep, at);
      }
    });
    for (const [ref, { keys, at }] of brokenRefs) {
      problems.push({
        ...src.problem(
          at,
          `${keys.join(' and ')} name${keys.length === 1 ? 's' : ''} module '${ref}', whose module.yaml ` +
            `(${loaded.invalid!.get(ref)!}) has problems of its own: see the problem in that file and fix it first`,
        ),
        knockOn: true,
      });
    }

    const compose = reads.get(renderKey(m));
    // Problems with the file or service point into the runtime the module names (spec.compose or spec.swarm).
    const fileKind = m.runtime === 'swarm' ? 'stack file' : 'compose file';
    if (!compose || !compose.ok) {
      // The file's own problems at their own positions, once per file (a broken file is reported
      // once, however many modules use it; a missing file has nothing more to point at). When it
      // has them, they are the root cause and this module's line is their knock-on.
      const own = compose?.file ?? [];
      problems.push({
        ...src.problem(
          ['spec', m.runtime, 'file'],
          `${fileKind} ${m.compose.file} (${displayPath(m.compose.path, displayBase)}) cannot be used: ` +
            `${compose?.why ?? 'it was not read'}`,
        ),
        ...(own.length > 0 ? { knockOn: true as const } : {}),
      });
      if (own.length > 0 && !problems.some((p) => p.file === own[0]!.file && p.message === own[0]!.message)) {
        problems.push(...own);
      }
      continue;
    }
    const { rendered, source } = compose;
    if (m.runtime === 'compose') {
      const projectProblem = projectNameProblem(m, compose.name, loaded.modules);
      if (projectProblem) problems.push(src.problem(['spec', 'compose', 'project'], projectProblem));
    }
    const service = rendered.services[m.compose.service];
    if (!service) {
      const profiles = rendered.inactive?.[m.compose.service];
      if (profiles) {
        const enabled = process.env.COMPOSE_PROFILES ?? '';
        problems.push({
          ...src.problem(
            ['spec', m.runtime, 'service'],
            `service '${m.compose.service}' in ${m.compose.file} has profiles: [${profiles.join(', ')}], and none of ` +
              `them is enabled (COMPOSE_PROFILES is ${enabled === '' ? 'not set' : JSON.stringify(enabled)}), so ` +
              `compose neither renders nor starts it: set COMPOSE_PROFILES=${profiles[0]} wherever stateguard and ` +
              `compose run (the workflow's env:), or take profiles: off the service`,
          ),
          refusal: 'inactive-profile',
          module: m.name,
        });
        continue;
      }
      const known = Object.keys(rendered.services).sort().join(', ') || '(none)';
      problems.push(
        src.problem(
          ['spec', m.runtime, 'service'],
          `service '${m.compose.service}' is not in ${m.compose.file} as compose renders it; services there: ${known}`,
        ),
      );
      continue;
    }
    const where = (key: string): string => {
      const w = whereWritten(source, m.compose.service, key);
      return w ? ` (${w})` : '';
    };
    if (m.runtime === 'swarm') {
      problems.push(...swarmServiceProblems(m, service));
    } else if (m.expectedState === 'exited-success') {
      const replicas = oneShotReplicaProblem(service);
      if (replicas) {
        const key = replicas.includes('scale') ? 'scale' : 'deploy';
        problems.push(
          src.problem(
            ['spec', 'runtime', 'expected_state'],
            `one-shot service ` +
              `'${m.compose.service}' ${replicas} in ${m.compose.file}${where(key)}; a one-shot runs as exactly one ` +
              `container (two runs at once against the same data are never safe): remove it or set it to 1`,
          ),
        );
      }
      const r = service.restart;
      if (!(r === undefined || r === null || r === 'no' || (r as unknown) === false)) {
        problems.push(
          src.problem(
            ['spec', 'runtime', 'expected_state'],
            `one-shot service ` +
              `'${m.compose.service}' has restart: ` +
              `${JSON.stringify(r)} in ${m.compose.file}${where('restart')}; a one-shot must have restart: "no" (or ` +
              `none), or it never stays exited`,
          ),
        );
      }
    }
    const mounts = renderedMounts(service.volumes);
    m.volumes.forEach((v, i) => {
      const target = v.path.replace(/\/+$/, '') || '/';
      const mt = mounts.find((x) => x.target === target);
      const mounted = mt?.type === 'volume' && mt.source !== null ? mt.source : undefined;
      const bind = mt?.type === 'bind';
      if (m.runtime === 'swarm') {
        const swarmProblem = swarmVolumeProblem(m, v, mounted, bind, new Set(rendered.volumes ?? []));
        if (swarmProblem) {
          problems.push(src.problem(['spec', 'data', 'volumes', i], swarmProblem));
          return;
        }
      }
      if (mounted === undefined && bind) return;
      if (mounted !== v.volume) {
        problems.push(
          src.problem(
            ['spec', 'data', 'volumes', i],
            mounted
              ? `data volume '${v.volume}' at ${v.path}: the compose service mounts volume '${mounted}' there instead`
              : `data volume ` +
                  `'${v.volume}' at ${v.path} is not mounted by service ` +
                  `'${m.compose.service}' in ${m.compose.file}` +
                  `${mt ? ` (compose renders ${withArticle(mt.type)} mount there)` : ''}` +
                  ': its data would not survive a recreate',
          ),
        );
      }
    });
    for (const o of mountOverlaps(declaredMountRefs(m, service))) {
      const at = m.volumes.findIndex((v) => v.volume === o.b.volume);
      problems.push(src.problem(['spec', 'data', 'volumes', Math.max(at, 0)], describeOverlap(o)));
    }
  }
  return problems;
}

/**
 * A compose file is one project: its top-level `name:` (what `docker compose up` without `-p` uses)
 * must be the module's project, and every module on the file must name the same project; otherwise
 * stateguard plans one project while the operator's `up` runs another.
 */
function projectNameProblem(m: ModuleDecl, fileName: string | null, all: readonly ModuleDecl[]): string | null {
  if (fileName !== null && fileName !== m.compose.project) {
    return (
      `${m.compose.file} names its project '${fileName}' (top-level name:), but this module says project ` +
      `'${m.compose.project}': \`docker compose up\` would run project '${fileName}', which stateguard never looks ` +
      `at; make the two names equal`
    );
  }
  const others = all.filter(
    (o) => o.runtime === 'compose' && o.compose.path === m.compose.path && o.compose.project !== m.compose.project,
  );
  if (others.length > 0) {
    const list = others.map((o) => `'${o.name}' (project '${o.compose.project}')`).join(', ');
    return (
      `module '${m.name}' says project '${m.compose.project}' for ${m.compose.file}, but ${list} use the same ` +
      `compose file under another project; one compose file is one project: give them all the same project`
    );
  }
  return null;
}

/** `deploy:` of a compose/stack service as a mapping (null when absent), or a string saying why it is not one. */
function deployOf(service: RenderedService): Record<string, unknown> | null | string {
  const d = service.deploy;
  if (d === undefined || d === null) return null;
  if (typeof d !== 'object' || Array.isArray(d)) return `has deploy: ${JSON.stringify(d)} (not a mapping)`;
  return d as Record<string, unknown>;
}

/**
 * The Swarm rules for a spec.swarm module's service. Swarm ignores `restart:` (it reads deploy.restart_policy)
 * and counts tasks by deploy.replicas, so `restart:` and `scale:` are not checked here: a one-shot is a
 * replicated-job that is never retried (restart_policy.condition: none) and runs one task; a long-running module
 * is no job; a stateful or sidecar module is not global (several tasks, one per node, each writing its own
 * node-local copy of the data).
 */
function swarmServiceProblems(m: ModuleDecl, service: RenderedService): SourceProblem[] {
  const at = (message: string): SourceProblem => m.source.problem(['spec', 'runtime', 'expected_state'], message);
  const where = `'${m.compose.service}' in stack file ${m.compose.file}`;
  const deploy = deployOf(service);
  if (typeof deploy === 'string') {
    return [m.source.problem(['spec', 'swarm', 'service'], `service ${where} ${deploy}; deploy must be a mapping`)];
  }
  const mode = deploy?.mode;
  const out: SourceProblem[] = [];
  if (m.expectedState === 'exited-success') {
    if (mode !== 'replicated-job') {
      out.push(
        at(
          `one-shot service ${where} has ` +
            `${mode === undefined ? 'no deploy.mode' : `deploy.mode: ${JSON.stringify(mode)}`}; on Swarm a one-shot ` +
            `must be a job that runs once and stays exited: set deploy.mode: replicated-job`,
        ),
      );
    }
    const restart = deploy?.restart_policy;
    const condition =
      restart && typeof restart === 'object' ? (restart as Record<string, unknown>).condition : undefined;
    if (condition !== 'none') {
      const has =
        condition === undefined
          ? 'no deploy.restart_policy.condition'
          : `deploy.restart_policy.condition: ${JSON.stringify(condition)}`;
      out.push(
        at(
          `one-shot service ${where} has ${has}; Swarm ignores restart: and retries a failed job against the ` +
            `data unless told not to: set deploy.restart_policy.condition: none`,
        ),
      );
    }
    const one = (v: unknown): boolean => v === undefined || v === null || v === 1 || v === '1';
    for (const key of ['replicas', 'max_concurrent'] as const) {
      if (!one(deploy?.[key])) {
        out.push(
          at(
            `one-shot service ${where} has deploy.${key}: ${JSON.stringify(deploy?.[key])}; a one-shot runs as ` +
              `exactly one task (two runs at once, or one after another, against the same data are never safe): ` +
              `remove it or set it to 1`,
          ),
        );
      }
    }
  } else if (mode === 'replicated-job' || mode === 'global-job') {
    // Points at the service (expected_state running is usually not written: it is the default).
    out.push(
      m.source.problem(
        ['spec', 'swarm', 'service'],
        `service ${where} has deploy.mode: ${JSON.stringify(mode)}, a job that runs to completion, but the module ` +
          `expects it running: declare runtime.expected_state: exited-success for a job (or use deploy.mode: ` +
          `replicated for a long-running service)`,
      ),
    );
  }
  if (m.class !== 'stateless' && mode === 'global') {
    out.push(
      m.source.problem(
        ['spec', 'class'],
        `${m.class} service ${where} has deploy.mode: "global": one task per node, each writing its own ` +
          `node-local copy of the data: use deploy.mode: replicated with replicas: 1`,
      ),
    );
  }
  return out;
}

/**
 * Why a data volume of a spec.swarm module cannot hold its data on Swarm, or null: it must be a named volume
 * declared in the stack file's top-level `volumes:` (by its key there, not Swarm's `<stack>_<key>`), never a
 * bind mount (a host path is node-local: the task rescheduled on another node starts without it).
 */
function swarmVolumeProblem(
  m: ModuleDecl,
  v: { volume: string; path: string },
  mounted: string | undefined,
  bind: boolean,
  declared: Set<string>,
): string | null {
  const stackFile = `stack file ${m.compose.file}`;
  const prefix = `${m.compose.project}_`;
  if (v.volume.startsWith(prefix) && v.volume.length > prefix.length) {
    const key = v.volume.slice(prefix.length);
    if (!declared.has(v.volume) && (declared.has(key) || mounted === key)) {
      return (
        `data volume '${v.volume}' at ${v.path}: name the volume by its key in ${stackFile}, '${key}', not ` +
        `'<stack>_${key}' (Swarm adds the stack prefix '${prefix}' itself): write volume: ${key}`
      );
    }
  }
  if (mounted === undefined && bind) {
    return (
      `data volume '${v.volume}' at ${v.path} is a bind mount in service '${m.compose.service}' of ${stackFile}; on ` +
      `Swarm a host path is node-local (a task rescheduled on another node starts without the data): use a named ` +
      `volume: mount '${v.volume}:${v.path}' and declare '${v.volume}: {}' under the stack file's top-level volumes:`
    );
  }
  if (mounted === v.volume && !declared.has(v.volume)) {
    const known = [...declared].sort().join(', ') || '(none)';
    return (
      `data volume '${v.volume}' at ${v.path} is not declared in the top-level volumes: of ${stackFile} (declared ` +
      `there: ${known}); on Swarm a data volume must be a named volume of the stack: add '${v.volume}: {}' under ` +
      `volumes:`
    );
  }
  return null;
}

/**
 * spec.upgrade is for a stateful, running module only (what `stateguard upgrade` upgrades), and its
 * release_notes must stay inside the repo for any tag (the gate checks the substituted path again).
 */
function upgradeProblems(m: ModuleDecl, root: string): SourceProblem[] {
  if (!m.upgrade) return [];
  if (m.class !== 'stateful' || m.expectedState !== 'running') {
    const what = m.class !== 'stateful' ? `a ${m.class} module` : `a module with expected_state ${m.expectedState}`;
    return [
      m.source.problem(
        ['spec', 'upgrade'],
        `spec.upgrade is only for a stateful module with expected_state running (stateguard upgrade upgrades only ` +
          `those); this is ${what}: remove spec.upgrade (an apply recreates it)`,
        'key',
      ),
    ];
  }
  const template = m.upgrade.releaseNotes;
  if (template !== null) {
    const rel = path.relative(root, template.split('{version}').join('v'));
    if (rel === '' || rel.split(path.sep)[0] === '..' || path.isAbsolute(rel)) {
      return [
        m.source.problem(
          ['spec', 'upgrade', 'release_notes'],
          `spec.upgrade.release_notes points outside the repo (${JSON.stringify(rel)} from --root); keep the ` +
            `release notes inside the repo, relative to this module.yaml`,
        ),
      ];
    }
  }
  return [];
}

export interface ValidationResult {
  loaded: LoadedModules;
  problems: SourceProblem[];
}

/**
 * Schema + cross-file validation of every module under root. `render` is the compose CLI in use
 * (the adapter's renderProject); the schema checks run without it.
 */
export async function validateModules(
  root: string,
  glob: string,
  displayBase: string,
  render: ComposeRenderer,
): Promise<ValidationResult> {
  const loaded = loadModules(root, glob, displayBase);
  const reads = await readComposeFiles(loaded.modules, displayBase, render);
  const problems = sortProblems([...loaded.problems, ...crossCheck(loaded, displayBase, reads)]);
  return { loaded, problems };
}
