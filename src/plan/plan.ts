/**
 * Plan: every module's drift against the live engine (docs/architecture.md §3).
 *
 * The engine is read per compose PROJECT, not per module: one `ps` + one `inspect` per project,
 * one `config` + one `config --hash '*'` per (project, compose file), and one `image inspect` for
 * every declared image. So 80 modules of one project cost the same processes as 10.
 * The drift itself is decided by the pure rules in ./rules.ts.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { EnvironmentError, UserError, errorMessage } from '../errors.js';
import type { ModuleDecl } from '../model/module.js';
import type {
  ComposeInfo,
  ContainerInfo,
  DataMount,
  RenderedProject,
  RenderedService,
  RunRecord,
  Runtime,
  RuntimeKind,
  ServiceValues,
} from '../ports.js';
import { upgradeGate, type UpgradeSides } from '../upgrade/from.js';
import { readReleaseNotesFile } from '../upgrade/gate.js';
import { applyAllowances, configProofRequest, countedDrift, utcDay, type ConfigProof } from '../drift/allow.js';
import { computeDrift, observeContainers, serviceReplicas, type DeclaredService } from '../drift/rules.js';
import type {
  DeclaredDefinition,
  DriftItem,
  InterruptedOperation,
  ModulePlan,
  PendingUpgrade,
  Plan,
} from '../drift/types.js';

export interface PlanOptions {
  /** names of the modules to include (default: all); every name must exist */
  only?: string[];
  /** the repo root: release notes paths are shown relative to it and must stay inside it */
  root?: string;
  /** reads release notes for the pending-upgrade gate (default: from disk, a regular file only, at most 1 MiB) */
  readFile?: (file: string) => string | null;
  /**
   * The plan's clock: its UTC day decides which spec.drift.allow entries are live (docs/architecture.md §3,
   * "Drift allowlist"). Default: now.
   */
  now?: Date;
}

/** A stateful running compose module with container.image drift has a pending upgrade to show. */
function hasPendingUpgrade(m: ModuleDecl, drift: DriftItem[]): boolean {
  // upgrade is not built for Swarm (docs/architecture.md §14): no pending upgrade to show.
  return (
    m.class === 'stateful' &&
    m.expectedState === 'running' &&
    m.runtime !== 'swarm' &&
    drift.some((d) => d.key === 'container.image')
  );
}

/**
 * The pending upgrade of a stateful running module with container.image drift: the upgrade's own
 * pre-deploy gate (allow-major off) on the same engine facts upgrade reads (src/upgrade/from.ts,
 * docs/architecture.md §13), so the plan shows exactly what upgrade would decide. Never throws on notes.
 */
export function pendingUpgrade(
  m: ModuleDecl,
  sides: UpgradeSides,
  drift: DriftItem[],
  opts: Pick<PlanOptions, 'root' | 'readFile'> = {},
): PendingUpgrade | undefined {
  if (!hasPendingUpgrade(m, drift)) return undefined;
  const decided = upgradeGate(m, sides, {
    allowMajor: false,
    readFile: opts.readFile ?? readReleaseNotesFile,
    root: opts.root,
  });
  if (!decided) return undefined;
  const { from, gate } = decided;
  const notes = gate.release_notes;
  return {
    from: from.ref,
    to: sides.target.ref,
    bump: gate.bump,
    would_hold: gate.failure_reason,
    message: gate.message,
    release_notes: notes
      ? {
          ...notes,
          path: opts.root ? path.relative(opts.root, notes.path).split(path.sep).join('/') : notes.path,
        }
      : null,
  };
}

function renderKey(m: ModuleDecl): string {
  return JSON.stringify([m.compose.project, m.compose.path]);
}

function describeModules(ms: ModuleDecl[]): string {
  return ms.map((m) => `'${m.name}'`).join(', ');
}

/**
 * The plan of the selected modules. `runtime` is one engine for every module, or the adapter per
 * runtime kind (`spec.compose` / `spec.swarm`): each kind is planned with its own adapter and the
 * plans are merged in the modules' order (docs/architecture.md §14).
 */
export async function planModules(
  modules: ModuleDecl[],
  runtime: Runtime | ((kind: RuntimeKind) => Runtime),
  opts: PlanOptions = {},
): Promise<Plan> {
  let selected = modules;
  if (opts.only) {
    const unknown = opts.only.filter((n) => !modules.some((m) => m.name === n));
    if (unknown.length > 0) {
      throw new UserError(
        `module ${unknown.map((n) => JSON.stringify(n)).join(', ')} is not declared; known modules: ` +
          `${modules.map((m) => m.name).join(', ')}.`,
        // A usage error (exit 3), as in pickModule: nothing was judged.
        { input: 'module', reason: 'module-not-found' },
      );
    }
    selected = modules.filter((m) => opts.only!.includes(m.name));
  }
  const runtimeOf = typeof runtime === 'function' ? runtime : (): Runtime => runtime;
  const swarmModules = selected.filter((m) => m.runtime === 'swarm');
  if (swarmModules.length === 0) return planSelected(selected, runtimeOf('compose'), opts);
  if (swarmModules.length === selected.length) return planSelected(selected, runtimeOf('swarm'), opts);
  const [onCompose, onSwarm] = await Promise.all([
    planSelected(
      selected.filter((m) => m.runtime !== 'swarm'),
      runtimeOf('compose'),
      opts,
    ),
    planSelected(swarmModules, runtimeOf('swarm'), opts),
  ]);
  const byName = new Map([...onCompose.modules, ...onSwarm.modules].map((p) => [p.name, p]));
  return assemblePlan(
    selected,
    selected.map((m) => byName.get(m.name)!),
    onCompose.compose,
    onSwarm.compose,
  );
}

/** The plan document of these modules' plans (summary, backup list and hashes derived from them). */
function assemblePlan(selected: ModuleDecl[], planned: ModulePlan[], compose: ComposeInfo, swarm?: ComposeInfo): Plan {
  return {
    schema: 'stateguard/plan/v1',
    compose,
    ...(swarm ? { swarm } : {}),
    modules: planned,
    summary: { modules: planned.length, drifted: planned.filter((p) => !p.in_sync).length },
    stateful_modules: statefulModules(selected),
    plan_hash: planHash(planned),
  };
}

/** The plan of modules that share one engine adapter. */
async function planSelected(selected: ModuleDecl[], runtime: Runtime, opts: PlanOptions): Promise<Plan> {
  // The compose version probe (v1's is a ~0.5 s Python start-up) needs no engine: it runs beside
  // the engine reads and is awaited only when the plan is put together, so it costs no wall time.
  const composeInfo = runtime.composeInfo();
  composeInfo.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  // Unreachable engine: fail here with the DOCKER_HOST/context message, before compose prints its own.
  if (selected.length > 0) await runtime.ping();
  if (selected.length === 0) return assemblePlan([], [], await composeInfo);

  const projects = [...new Set(selected.map((m) => m.compose.project))];
  const renderGroups = new Map<string, ModuleDecl[]>();
  for (const m of selected) {
    const k = renderKey(m);
    renderGroups.set(k, [...(renderGroups.get(k) ?? []), m]);
  }

  // stateguard's run records, for the projects that hold a one-shot (see computeDrift).
  const oneShotProjects = [
    ...new Set(selected.filter((m) => m.expectedState === 'exited-success').map((m) => m.compose.project)),
  ];
  const [containerLists, renders, recordLists] = await Promise.all([
    Promise.all(projects.map((p) => runtime.listProjectContainers(p))),
    Promise.all(
      [...renderGroups.values()].map(async (group) => {
        const first = group[0]!;
        try {
          return await runtime.renderProject({ project: first.compose.project, files: [first.compose.path] });
        } catch (err) {
          if (err instanceof EnvironmentError) throw err;
          throw new UserError(
            `compose cannot render ` +
              `${first.compose.display} (project '${first.compose.project}') for module ` +
              `${describeModules(group)}: ${errorMessage(err)}`,
            { reason: 'compose-error' },
          );
        }
      }),
    ),
    Promise.all(oneShotProjects.map((p) => runtime.readRunRecords(p))),
  ]);
  const recordsByProject = new Map<string, RunRecord[]>(oneShotProjects.map((p, i) => [p, recordLists[i]!]));
  const compose = await composeInfo;
  const containersByProject = new Map<string, ContainerInfo[]>(projects.map((p, i) => [p, containerLists[i]!]));
  const renderByKey = new Map<string, RenderedProject>([...renderGroups.keys()].map((k, i) => [k, renders[i]!]));

  // Declared image and config hash per module; a service compose did not render is an error, never "in sync".
  const declaredParts: Array<{ image: string; configHash: string; service: RenderedService }> = [];
  for (const m of selected) {
    const rendered = renderByKey.get(renderKey(m))!;
    const service = rendered.services[m.compose.service];
    const hash = rendered.hashes[m.compose.service];
    if (!service || !hash) {
      throw new UserError(
        `compose did not render service '${m.compose.service}' of module '${m.name}' from ${m.compose.display} ` +
          `(project '${m.compose.project}'${service ? '; no config hash for it' : ''}); check the service name and ` +
          `any profiles.`,
        { reason: 'compose-error' },
      );
    }
    // The adapter names the image of a build-only service as compose does; none at all is a fault.
    const image = typeof service.image === 'string' ? service.image.trim() : '';
    if (image === '') {
      throw new UserError(
        `compose rendered no image for service '${m.compose.service}' of module '${m.name}'; stateguard cannot ` +
          `compare it.`,
        { reason: 'compose-error' },
      );
    }
    declaredParts.push({ image, configHash: hash, service });
  }
  const imageIds = await runtime.imageIds([...new Set(declaredParts.map((d) => d.image))]);
  const imageVolumes = await driftedImageVolumes(selected, declaredParts, containersByProject, runtime);

  const dataSide = await checkDataSide(selected, runtime, containersByProject);

  const today = utcDay(opts.now ?? new Date());
  const drafts = selected.map((m, i) => {
    const part = declaredParts[i]!;
    const declared: DeclaredService = {
      ...part,
      imageId: imageIds[part.image] ?? null,
      composeVersion: compose.version,
      composeFlavor: compose.flavor,
      imageVolumes,
    };
    const containers = (containersByProject.get(m.compose.project) ?? []).filter(
      (c) => c.service === m.compose.service,
    );
    const record =
      m.expectedState === 'exited-success'
        ? ((recordsByProject.get(m.compose.project) ?? []).find((r) => r.service === m.compose.service) ?? null)
        : undefined;
    return {
      containers,
      drift: computeDrift({ name: m.name, expectedState: m.expectedState }, containers, declared, record),
    };
  });
  // The drift allowlist (docs/architecture.md §3, "Drift allowlist"): a container.config item is
  // allowed only once compose's hash proves its allowed fields the whole difference.
  const proofs = await Promise.all(
    selected.map((m, i) =>
      proveConfigAllowance(m, drafts[i]!.containers, declaredParts[i]!.configHash, drafts[i]!.drift, today, runtime),
    ),
  );

  const planned: ModulePlan[] = selected.map((m, i) => {
    const part = declaredParts[i]!;
    const { containers } = drafts[i]!;
    const drift = applyAllowances(drafts[i]!.drift, m.driftAllow ?? [], today, proofs[i]);
    const definition = { image: part.image, config_hash: part.configHash };
    const interrupted = dataSide.get(m.name);
    return {
      name: m.name,
      class: m.class,
      expected_state: m.expectedState,
      ...(m.runtime === 'swarm' ? { runtime: 'swarm' as const } : {}),
      compose: { project: m.compose.project, service: m.compose.service, file: m.compose.display },
      declared: definition,
      observed: observeContainers(containers),
      drift,
      // Allowed drift stays listed (and in plan_hash: its allowances and expiry are bound) but does not count.
      in_sync: countedDrift(drift).length === 0 && interrupted?.status !== 'open',
      plan_hash: modulePlanHash(m.name, drift, definition),
      ...(interrupted ? { interrupted_operation: interrupted } : {}),
    };
  });
  // The pending upgrades (not bound by plan_hash): the last-known-good record is read only for them.
  await Promise.all(
    selected.map(async (m, i) => {
      const p = planned[i]!;
      if (!hasPendingUpgrade(m, p.drift)) return;
      const part = declaredParts[i]!;
      const upgrade = pendingUpgrade(
        m,
        {
          containers: (containersByProject.get(m.compose.project) ?? []).filter((c) => c.service === m.compose.service),
          target: { ref: part.image, id: imageIds[part.image] ?? null },
          lastKnownGood: await runtime.readLastKnownGood(m.compose.project, m.compose.service),
        },
        p.drift,
        opts,
      );
      if (upgrade) p.upgrade = upgrade;
    }),
  );
  return assemblePlan(selected, planned, compose);
}

/**
 * Whether the fields a module's live allowances name are the whole of its container.config drift
 * (docs/architecture.md §3, "Drift allowlist"): for every drifted replica, compose's config hash of the
 * declared service with that container's values of those fields put back must equal the container's
 * config-hash label. undefined when there is nothing to prove; never throws (a failure is `unknown`,
 * and the item counts).
 */
async function proveConfigAllowance(
  m: ModuleDecl,
  containers: readonly ContainerInfo[],
  declaredHash: string,
  drift: readonly DriftItem[],
  today: string,
  runtime: Runtime,
): Promise<ConfigProof | undefined> {
  const item = drift.find((d) => d.key === 'container.config');
  const request = item ? configProofRequest(item, m.driftAllow ?? [], today) : null;
  if (!request) return undefined;
  const drifted = serviceReplicas(containers).filter((c) => c.configHash !== declaredHash);
  if (drifted.length === 0) return 'unknown';
  const asked = new Map<string, Promise<string | null>>();
  try {
    for (const c of drifted) {
      if (!c.configHash) return 'differs';
      const values: ServiceValues = { environment: {}, labels: {} };
      for (const f of request.fields) {
        const [kind, name] = f.split(' ') as ['environment' | 'label', string];
        if (kind === 'environment') {
          const entry = c.env.find((e) => e.startsWith(`${name}=`));
          // Declared but not set on the container: an override cannot take a declared key away.
          if (entry === undefined) return 'unknown';
          values.environment[name] = entry.slice(name.length + 1);
        } else {
          const value = c.labels[name];
          if (value === undefined) return 'unknown';
          values.labels[name] = value;
        }
      }
      const key = canonicalJson(values);
      if (!asked.has(key)) {
        asked.set(
          key,
          runtime.configHashWithValues(
            { project: m.compose.project, files: [m.compose.path] },
            m.compose.service,
            values,
          ),
        );
      }
      const hash = await asked.get(key)!;
      if (hash === null) return 'unknown';
      if (hash !== c.configHash) return 'differs';
    }
  } catch {
    return 'unknown';
  }
  return 'equal';
}

/**
 * The `VOLUME` paths of the images that drifted containers run, for their field-level differences
 * (docs/architecture.md §3): an unnamed volume there is the image's, not a mount the compose file
 * lost. Read (one `image inspect`) only when a container whose config hash differs has an unnamed
 * volume; otherwise nothing is read and the plan costs no extra process.
 */
async function driftedImageVolumes(
  selected: readonly ModuleDecl[],
  declaredParts: ReadonlyArray<{ configHash: string }>,
  containersByProject: Map<string, ContainerInfo[]>,
  runtime: Runtime,
): Promise<Record<string, string[] | null>> {
  const ids = new Set<string>();
  selected.forEach((m, i) => {
    for (const c of containersByProject.get(m.compose.project) ?? []) {
      if (c.service !== m.compose.service || c.configHash === declaredParts[i]!.configHash || !c.imageId) continue;
      if (c.mounts.some((x) => x.type === 'volume' && /^[0-9a-f]{64}$/.test(x.name ?? ''))) ids.add(c.imageId);
    }
  });
  return ids.size > 0 ? runtime.imageVolumes([...ids].sort()) : {};
}

/**
 * The data side of the stateful compose modules with data volumes (docs/architecture.md §3, §12): one
 * read-only look per project (a helper run with every such module's data mounts, from the image of
 * one of their containers, never pulled) for a restore's work area. A module whose container does not
 * mount its declared volumes is not looked at (nothing to mount from). Never throws: a look that
 * fails is `could-not-check` for those modules.
 */
async function checkDataSide(
  selected: readonly ModuleDecl[],
  runtime: Runtime,
  containersByProject: Map<string, ContainerInfo[]>,
): Promise<Map<string, InterruptedOperation>> {
  const out = new Map<string, InterruptedOperation>();
  const byProject = new Map<string, Array<{ m: ModuleDecl; mounts: DataMount[]; image: string }>>();
  for (const m of selected) {
    if (m.class !== 'stateful' || m.volumes.length === 0 || m.runtime === 'swarm') continue;
    const c = (containersByProject.get(m.compose.project) ?? []).find((x) => x.service === m.compose.service);
    if (!c) continue;
    const mounts: DataMount[] = [];
    for (const v of m.volumes) {
      const mt = c.mounts.find((x) => x.destination === v.path && (x.type === 'volume' || x.type === 'bind'));
      if (!mt) break;
      mounts.push({
        volume: v.volume,
        kind: mt.type === 'volume' ? 'volume' : 'bind',
        source: mt.type === 'volume' ? (mt.name ?? mt.source) : mt.source,
      });
    }
    if (mounts.length !== m.volumes.length) continue;
    byProject.set(m.compose.project, [...(byProject.get(m.compose.project) ?? []), { m, mounts, image: c.imageId }]);
  }
  await Promise.all(
    [...byProject].map(async ([project, entries]) => {
      const mounts: DataMount[] = [];
      const index = new Map<string, number>();
      for (const e of entries) {
        for (const mt of e.mounts) {
          const k = `${mt.kind}:${mt.source}`;
          if (!index.has(k)) {
            index.set(k, mounts.length);
            mounts.push(mt);
          }
        }
      }
      const key = sha256(`plan\0${project}`).slice(0, 24);
      try {
        const states = await runtime.workAreas({ image: entries[0]!.image, mounts, key });
        for (const e of entries) {
          const open = e.mounts.filter((mt) => states[index.get(`${mt.kind}:${mt.source}`)!]?.present === true);
          if (open.length === 0) continue;
          out.set(e.m.name, {
            status: 'open',
            volumes: open.map((mt) => mt.volume),
            message:
              `an operation is open on the data of '${e.m.name}': ${open.map((mt) => mt.volume).join(', ')} ` +
              `hold${open.length === 1 ? 's' : ''} a restore's work area (journal or not); run ` +
              `\`stateguard recover --module ${e.m.name}\``,
          });
        }
      } catch (err) {
        for (const e of entries) {
          out.set(e.m.name, {
            status: 'could-not-check',
            volumes: [],
            message: `could not check the data volumes of '${e.m.name}' for an open operation: ${errorMessage(err)}`,
          });
        }
      }
    }),
  );
  return out;
}

/** The modules a scheduled backup covers: class stateful with at least one declared data volume. */
export function statefulModules(modules: readonly Pick<ModuleDecl, 'name' | 'class' | 'volumes'>[]): string[] {
  return modules.filter((m) => m.class === 'stateful' && m.volumes.length > 0).map((m) => m.name);
}

/** JSON with object keys sorted at every level: the same data always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function canonicalDrift(items: DriftItem[]): DriftItem[] {
  return [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * One module's plan_hash: sha256 (hex) of the canonical JSON of its name, its drift and its declared
 * definition (rendered config hash and image reference). Observed container IDs and rendering
 * never change it; an edit of the compose definition always does, even when the drift keys stay
 * the same — so a reviewed hash binds what was reviewed (docs/architecture.md, "What a plan hash binds").
 */
export function modulePlanHash(name: string, drift: DriftItem[], declared: DeclaredDefinition): string {
  return sha256(canonicalJson({ name, drift: canonicalDrift(drift), declared }));
}

/** The whole plan's hash: over every module's name and plan_hash, modules sorted by name. */
export function planHash(modules: Pick<ModulePlan, 'name' | 'plan_hash'>[]): string {
  const canonical = [...modules]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => ({ name: m.name, plan_hash: m.plan_hash }));
  return sha256(canonicalJson(canonical));
}
