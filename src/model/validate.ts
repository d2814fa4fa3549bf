/**
 * Cross-file checks of docs/architecture.md §2, run after every module.yaml passed its schema. Compose files are
 * read as YAML (no docker): the file exists, has the service, a one-shot's service never restarts,
 * declared data volumes are really mounted at the declared paths. A spec.swarm module's stack file is a compose
 * file read the same way, with the Swarm rules on top (swarmServiceProblems, swarmVolumeProblem).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeOverlap, mountOverlaps, type MountRef } from './mount-overlap.js';
import { readYamlFile, type SourceProblem } from './yaml-source.js';
import { displayPath, loadModules, sortProblems, type LoadedModules, type ModuleDecl } from './module.js';

interface ComposeService {
  restart?: unknown;
  scale?: unknown;
  deploy?: unknown;
  volumes?: unknown[];
  image?: unknown;
}

type ComposeRead =
  | { ok: true; services: Record<string, ComposeService>; /** top-level `volumes:` keys */ volumes: Set<string> }
  | { ok: false; problems: SourceProblem[] };

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

/** Mount targets of named volumes in a compose service, short and long syntax: target -> source. */
/**
 * Targets of the service's bind mounts (a host directory). A data volume may be one: its
 * `volume` then only names its directory in the archive (docs/architecture.md §2).
 */
export function bindMountTargets(service: ComposeService): Set<string> {
  const out = new Set<string>();
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target && (source.startsWith('/') || source.startsWith('.') || source.startsWith('~'))) {
        out.add(target.replace(/\/+$/, '') || '/');
      }
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'bind' && typeof o.target === 'string') out.add(o.target.replace(/\/+$/, '') || '/');
    }
  }
  return out;
}

/** Sources of the service's bind mounts as written (short and long syntax): target -> source. */
export function bindMountSources(service: ComposeService): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target && (source.startsWith('/') || source.startsWith('.') || source.startsWith('~'))) {
        out.set(target.replace(/\/+$/, '') || '/', source);
      }
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'bind' && typeof o.target === 'string' && typeof o.source === 'string') {
        out.set(o.target.replace(/\/+$/, '') || '/', o.source);
      }
    }
  }
  return out;
}

/**
 * The declared data volumes as the compose file mounts them, for the overlap rule
 * (docs/architecture.md §12, "Data mounts"): relative bind sources resolved against the compose
 * file's directory, as compose resolves them. A volume mounted neither way is left out (it has a
 * problem of its own).
 */
function declaredMountRefs(m: ModuleDecl, service: ComposeService): MountRef[] {
  const named = namedVolumeMounts(service);
  const binds = bindMountSources(service);
  const refs: MountRef[] = [];
  for (const v of m.volumes) {
    const target = v.path.replace(/\/+$/, '') || '/';
    const name = named.get(target);
    const source = binds.get(target);
    if (name !== undefined) refs.push({ volume: v.volume, path: v.path, kind: 'volume', name });
    else if (source !== undefined) {
      const hostPath = source.startsWith('~') ? source : path.resolve(path.dirname(m.compose.path), source);
      refs.push({ volume: v.volume, path: v.path, kind: 'bind', hostPath, shown: source });
    } else refs.push({ volume: v.volume, path: v.path, kind: 'bind' });
  }
  return refs;
}

export function namedVolumeMounts(service: ComposeService): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source && target && !source.startsWith('/') && !source.startsWith('.') && !source.startsWith('~')) {
        out.set(target.replace(/\/+$/, '') || '/', source);
      }
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (
        (o.type === undefined || o.type === 'volume') &&
        typeof o.source === 'string' &&
        typeof o.target === 'string'
      ) {
        out.set(o.target.replace(/\/+$/, '') || '/', o.source);
      }
    }
  }
  return out;
}

export function crossCheck(loaded: LoadedModules, displayBase: string): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const byName = new Map<string, ModuleDecl>();
  const composeCache = new Map<string, ComposeRead>();

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
    const brokenRef = (ref: string): string | undefined => {
      const file = loaded.invalid?.get(ref);
      return file === undefined ? undefined : `whose module.yaml (${file}) has problems of its own; fix those first`;
    };
    m.backup?.refModules.forEach((ref, i) => {
      if (ref === m.name) return;
      const target = byName.get(ref);
      if (!target) {
        const broken = brokenRef(ref);
        problems.push(
          src.problem(
            ['spec', 'backup', 'ref_modules', i],
            broken
              ? `backup.ref_modules names module '${ref}', ${broken}`
              : `backup.ref_modules names unknown module '${ref}'`,
          ),
        );
      } else if (target.class !== 'stateful') {
        problems.push(
          src.problem(
            ['spec', 'backup', 'ref_modules', i],
            `backup.ref_modules names '${ref}', which is ${target.class}, not stateful`,
          ),
        );
      }
    });
    m.dependsOnHealthy.forEach((dep, i) => {
      if (dep === m.name) {
        problems.push(src.problem(['spec', 'depends_on_healthy', i], `a module cannot depend on itself`));
      } else if (!byName.has(dep)) {
        const broken = brokenRef(dep);
        problems.push(
          src.problem(
            ['spec', 'depends_on_healthy', i],
            broken
              ? `depends_on_healthy names module '${dep}', ${broken}`
              : `depends_on_healthy names unknown module '${dep}'`,
          ),
        );
      }
    });

    let compose = composeCache.get(m.compose.path);
    if (!compose) {
      compose = readCompose(m.compose.path, displayPath(m.compose.path, displayBase));
      composeCache.set(m.compose.path, compose);
    }
    // Problems with the file or service point into the runtime the module names (spec.compose or spec.swarm).
    const fileKind = m.runtime === 'swarm' ? 'stack file' : 'compose file';
    if (!compose.ok) {
      problems.push(
        src.problem(
          ['spec', m.runtime, 'file'],
          `${fileKind} ` +
            `${m.compose.file} (${displayPath(m.compose.path, displayBase)}) cannot be used: ` +
            `${compose.problems[0]!.message}`,
        ),
      );
      // A compose file that exists but is broken: also report its own problems at their own
      // positions, once per file (a missing file has nothing more to point at).
      const own = compose.problems;
      if (existsSync(m.compose.path) && !problems.some((p) => p.file === own[0]!.file)) problems.push(...own);
      continue;
    }
    const service = compose.services[m.compose.service];
    if (!service) {
      const known = Object.keys(compose.services).sort().join(', ') || '(none)';
      problems.push(
        src.problem(
          ['spec', m.runtime, 'service'],
          `service '${m.compose.service}' is not in ${m.compose.file}; services there: ${known}`,
        ),
      );
      continue;
    }
    if (m.runtime === 'swarm') {
      problems.push(...swarmServiceProblems(m, service));
    } else if (m.expectedState === 'exited-success') {
      const replicas = oneShotReplicaProblem(service);
      if (replicas) {
        problems.push(
          src.problem(
            ['spec', 'runtime', 'expected_state'],
            `one-shot service ` +
              `'${m.compose.service}' ${replicas} in ${m.compose.file}; a one-shot runs as exactly one container ` +
              `(two runs at once against the same data are never safe): remove it or set it to 1`,
          ),
        );
      }
      const r = service.restart;
      if (!(r === undefined || r === null || r === 'no' || r === false)) {
        problems.push(
          src.problem(
            ['spec', 'runtime', 'expected_state'],
            `one-shot service ` +
              `'${m.compose.service}' has restart: ` +
              `${JSON.stringify(r)} in ${m.compose.file}; a one-shot must have restart: "no" (or none), or it ` +
              `never stays exited`,
          ),
        );
      }
    }
    const mounts = namedVolumeMounts(service);
    const binds = bindMountTargets(service);
    m.volumes.forEach((v, i) => {
      const target = v.path.replace(/\/+$/, '') || '/';
      const mounted = mounts.get(target);
      if (m.runtime === 'swarm') {
        const swarmProblem = swarmVolumeProblem(m, v, mounted, binds.has(target), compose.volumes);
        if (swarmProblem) {
          problems.push(src.problem(['spec', 'data', 'volumes', i], swarmProblem));
          return;
        }
      }
      if (mounted === undefined && binds.has(target)) return;
      if (mounted !== v.volume) {
        problems.push(
          src.problem(
            ['spec', 'data', 'volumes', i],
            mounted
              ? `data volume '${v.volume}' at ${v.path}: the compose service mounts volume '${mounted}' there instead`
              : `data volume ` +
                  `'${v.volume}' at ${v.path} is not mounted by service ` +
                  `'${m.compose.service}' in ${m.compose.file}: its data would not survive a recreate`,
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

/** `deploy:` of a compose/stack service as a mapping (null when absent), or a string saying why it is not one. */
function deployOf(service: ComposeService): Record<string, unknown> | null | string {
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
function swarmServiceProblems(m: ModuleDecl, service: ComposeService): SourceProblem[] {
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

function readCompose(abs: string, display: string): ComposeRead {
  const read = readYamlFile(abs, display);
  if (!read.ok) return { ok: false, problems: read.problems };
  const services = (read.value as { services?: unknown }).services;
  if (!services || typeof services !== 'object' || Array.isArray(services)) {
    return { ok: false, problems: [read.source.problem(['services'], 'compose file has no services mapping')] };
  }
  const top = (read.value as { volumes?: unknown }).volumes;
  const volumes = new Set(top && typeof top === 'object' && !Array.isArray(top) ? Object.keys(top) : []);
  return { ok: true, services: services as Record<string, ComposeService>, volumes };
}

export interface ValidationResult {
  loaded: LoadedModules;
  problems: SourceProblem[];
}

/** Schema + cross-file validation of every module under root. */
export function validateModules(root: string, glob: string, displayBase: string): ValidationResult {
  const loaded = loadModules(root, glob, displayBase);
  const problems = sortProblems([...loaded.problems, ...crossCheck(loaded, displayBase)]);
  return { loaded, problems };
}
