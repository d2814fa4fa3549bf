/**
 * The drift rules of docs/architecture.md §3, as one pure function: declared module + what the engine showed ->
 * drift items. No docker, no I/O; src/plan/plan.ts gathers the inputs.
 *
 * Scale (several containers for one service): every replica is judged.
 * - expected `running`: a key is reported once when ANY replica violates it; `observed` names how
 *   many replicas do (`exited (137) [2 of 3 replicas]`), so one healthy replica never hides a
 *   stopped one.
 * - expected `exited-success`: the one-shot is in sync only when EVERY replica exited 0 under the
 *   current config hash; otherwise one `container.state.exited_success` item with the most severe
 *   reason (running > dead > exited-nonzero > never-started > stale-config).
 * Replicas are ordered by compose's container number, then ID, so the same engine state always
 * gives the same items (plan_hash stability).
 *
 * Drift items never carry container IDs or environment values: only states, exit codes, image
 * references and image IDs, so a plan can be posted publicly and hashed stably.
 */
import type { ExpectedState } from '../model/module.js';
import type { ContainerInfo, RenderedService, RunRecord } from '../ports.js';
import { normalizeImageRef } from './image-ref.js';
import { configDifferences } from './config-diff.js';
import { semverBump } from './semver.js';
import type { DriftItem, ObservedContainer } from './types.js';

export interface DriftModule {
  name: string;
  expectedState: ExpectedState;
}

/** The declared side of one module as compose rendered it. */
export interface DeclaredService {
  /** the image reference the rendered service uses (for `build:`-only services, compose's default name) */
  image: string;
  /** `compose config --hash` of the service */
  configHash: string;
  /** the image ID the declared reference points to now; null when the engine does not have it */
  imageId: string | null;
  /** the rendered service, for field-level differences (optional: the hash is the verdict) */
  service?: RenderedService;
  /** the compose version that rendered it (a container labelled by another version is said so) */
  composeVersion?: string;
  /** the front end that rendered it: compose v1 mounts no `configs:` (field-level differences only) */
  composeFlavor?: 'v1' | 'v2' | 'swarm';
  /** image ID -> its `VOLUME` paths, for the drifted containers' images (field-level differences only) */
  imageVolumes?: Readonly<Record<string, readonly string[] | null>>;
}

const COMPOSE_VERSION = 'com.docker.compose.version';

/**
 * Config hashes are compose's own: another compose version may hash the same definition
 * differently (v1 includes the image ID, v2 does not). A differing hash on a container another
 * version created is said to be that, with what to do, never a bare config difference.
 */
function otherComposeVersion(replicas: readonly ContainerInfo[], declared: DeclaredService): string | null {
  if (!declared.composeVersion) return null;
  // `2.26.1-4` (a distribution's build of 2.26.1) labels its containers `2.26.1`: compare X.Y.Z.
  const core = (v: string): string => /^v?(\d+\.\d+\.\d+)/.exec(v)?.[1] ?? v;
  const mine = core(declared.composeVersion);
  const found = [...new Set(replicas.map((c) => c.labels[COMPOSE_VERSION] ?? 'unknown'))].filter(
    (v) => core(v) !== mine,
  );
  return found.length ? found.join(', ') : null;
}

function composeVersionNote(found: string, declared: DeclaredService): string {
  return (
    `created by compose ` +
    `${found}, planned with compose ${declared.composeVersion}: config hashes of different compose versions ` +
    `need not agree. Recreate it with the compose you plan with, or plan with the compose that created it ` +
    `(STATEGUARD_COMPOSE=v1|v2)`
  );
}

/** Field-level differences of the replicas whose config differs (distinct, in first-seen order). */
function fieldsOf(replicas: readonly ContainerInfo[], declared: DeclaredService): string[] {
  if (!declared.service) return [];
  return [
    ...new Set(
      replicas.flatMap((c) =>
        configDifferences(declared.service!, c, {
          imageVolumes: declared.imageVolumes?.[c.imageId] ?? null,
          configsMounted: declared.composeFlavor !== 'v1',
        }),
      ),
    ),
  ];
}

const CONTAINER_NUMBER = 'com.docker.compose.container-number';

/** The service's containers that count: one-off `compose run` containers are ignored. */
export function serviceReplicas(containers: readonly ContainerInfo[]): ContainerInfo[] {
  return containers
    .filter((c) => !c.oneoff)
    .sort((a, b) => {
      const na = Number(a.labels[CONTAINER_NUMBER] ?? Number.MAX_SAFE_INTEGER);
      const nb = Number(b.labels[CONTAINER_NUMBER] ?? Number.MAX_SAFE_INTEGER);
      return na !== nb ? na - nb : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
}

/** `exited (1)`, `running`, `created`, … : the short state text used in drift items. */
export function stateText(c: Pick<ContainerInfo, 'state' | 'exitCode'>): string {
  return c.state === 'exited' || c.state === 'dead' ? `${c.state} (${c.exitCode ?? '?'})` : c.state;
}

function shortId(imageId: string | null): string {
  if (!imageId) return 'not present on the engine';
  return imageId.replace(/^sha256:/, '').slice(0, 12);
}

/** Describe which replicas show `values` (deterministic: sorted distinct values). */
function replicaText(values: string[], total: number): string {
  const distinct = [...new Set(values)].sort();
  const base = distinct.join(', ');
  return total > 1 ? `${base} [${values.length} of ${total} replicas]` : base;
}

type OneShotReason = 'no-container' | 'running' | 'dead' | 'exited-nonzero' | 'never-started' | 'stale-config';
const SEVERITY: OneShotReason[] = ['running', 'dead', 'exited-nonzero', 'never-started', 'stale-config'];

/**
 * Whether a one-shot container's exit 0 was a run of the declared config. Its config-hash label
 * normally says so; compose v2's `up --no-deps` writes a label that differs from `config --hash`,
 * so stateguard's own record of that exact container's run (same container, same label, planned
 * against the same declared hash) proves it as well.
 */
function ranDeclaredConfig(c: ContainerInfo, configHash: string, record: RunRecord | null | undefined): boolean {
  if (c.configHash === configHash) return true;
  return (
    !!record && record.container_id === c.id && record.label_hash === c.configHash && record.config_hash === configHash
  );
}

function oneShotReason(c: ContainerInfo, configHash: string, record?: RunRecord | null): OneShotReason | null {
  switch (c.state) {
    // paused and restarting are runs still in progress: apply must not start a second one.
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    case 'created':
      return 'never-started';
    case 'dead':
    case 'removing':
      return 'dead';
    case 'exited':
      if (c.exitCode !== 0) return 'exited-nonzero';
      // A missing label cannot prove the run used the current config: not a success of it.
      return ranDeclaredConfig(c, configHash, record) ? null : 'stale-config';
    default:
      // An unknown state is not a proven success (fail closed).
      return 'dead';
  }
}

function imageDrift(replicas: ContainerInfo[], declared: DeclaredService): DriftItem | null {
  const want = normalizeImageRef(declared.image);
  const refChanged = replicas.filter((c) => normalizeImageRef(c.imageRef) !== want);
  if (refChanged.length > 0) {
    const observedRefs = refChanged.map((c) => c.imageRef);
    const bumps = new Set(observedRefs.map((r) => semverBump(r, declared.image)));
    return {
      key: 'container.image',
      declared: declared.image,
      observed: replicaText(observedRefs, replicas.length),
      reason: 'reference-changed',
      bump: bumps.size === 1 ? [...bumps][0]! : 'unknown',
    };
  }
  // Same reference: does the tag still point at the image the containers run?
  const stale = replicas.filter((c) => declared.imageId === null || c.imageId !== declared.imageId);
  if (stale.length > 0) {
    return {
      key: 'container.image',
      declared: `${declared.image} (image ${shortId(declared.imageId)})`,
      observed: replicaText(
        stale.map((c) => `${c.imageRef} (image ${shortId(c.imageId)})`),
        replicas.length,
      ),
      // Without the image on the engine, `up` would pull whatever the tag means now: unknown, not in sync.
      reason: declared.imageId === null ? 'image-not-present' : 'tag-repointed',
      bump: 'unknown',
    };
  }
  return null;
}

/**
 * A one-shot with no container left: compare the declared image with what stateguard's record
 * says last ran to success. No record and no container means the image cannot be proven
 * unchanged — that is drift (`unverifiable`), never a silent re-run of whatever is declared now.
 */
function recordImageDrift(declared: DeclaredService, record: RunRecord | null): DriftItem | null {
  if (!record) {
    return {
      key: 'container.image',
      declared: declared.image,
      observed: 'unknown: no container and no stateguard record of a successful run',
      reason: 'unverifiable',
      bump: 'unknown',
    };
  }
  if (normalizeImageRef(record.image_ref) !== normalizeImageRef(declared.image)) {
    return {
      key: 'container.image',
      declared: declared.image,
      observed: `${record.image_ref} (last successful run, per stateguard's record)`,
      reason: 'reference-changed',
      bump: semverBump(record.image_ref, declared.image),
    };
  }
  if (declared.imageId === null || declared.imageId !== record.image_id) {
    return {
      key: 'container.image',
      declared: `${declared.image} (image ${shortId(declared.imageId)})`,
      observed: `${record.image_ref} (image ${shortId(record.image_id)}, last successful run)`,
      reason: declared.imageId === null ? 'image-not-present' : 'tag-repointed',
      bump: 'unknown',
    };
  }
  return null;
}

/**
 * Drift items for one module, in the fixed key order of DRIFT_KEYS. `record` is stateguard's run
 * record of a one-shot (null: none on the engine; undefined: not read, as for long-running modules).
 */
export function computeDrift(
  module: DriftModule,
  containers: readonly ContainerInfo[],
  declared: DeclaredService,
  record?: RunRecord | null,
): DriftItem[] {
  const replicas = serviceReplicas(containers);
  const items: DriftItem[] = [];
  if (module.expectedState === 'running') {
    if (replicas.length === 0) {
      return [{ key: 'container.missing', declared: 'running', observed: 'missing' }];
    }
    const configDiff = replicas.filter((c) => c.configHash !== declared.configHash);
    if (configDiff.length > 0) {
      const other = otherComposeVersion(configDiff, declared);
      items.push({
        key: 'container.config',
        declared: `config ${declared.configHash.slice(0, 12)}`,
        observed: other
          ? composeVersionNote(other, declared)
          : replicaText(
              configDiff.map((c) => (c.configHash ? `config ${c.configHash.slice(0, 12)}` : 'no config-hash label')),
              replicas.length,
            ),
        ...(other ? { reason: 'compose-version' } : {}),
        fields: fieldsOf(configDiff, declared),
      });
    }
    const notRunning = replicas.filter((c) => c.state !== 'running');
    if (notRunning.length > 0) {
      items.push({
        key: 'container.state.running',
        declared: 'running',
        observed: replicaText(notRunning.map(stateText), replicas.length),
      });
    }
    // Health is judged on running replicas only: a stopped container's last health is history.
    const unhealthy = replicas.filter((c) => c.state === 'running' && c.health === 'unhealthy');
    if (unhealthy.length > 0) {
      items.push({
        key: 'container.health',
        declared: 'healthy',
        observed: replicaText(
          unhealthy.map(() => 'unhealthy'),
          replicas.length,
        ),
      });
    }
  }
  if (replicas.length > 0) {
    const image = imageDrift(replicas, declared);
    if (image) items.push(image);
  } else if (module.expectedState === 'exited-success') {
    // Fail closed when the caller did not read records: treat it as no record.
    const image = recordImageDrift(declared, record ?? null);
    if (image) items.push(image);
  }
  if (module.expectedState === 'exited-success') {
    if (replicas.length === 0) {
      items.push({
        key: 'container.state.exited_success',
        declared: 'exited (0)',
        observed: 'missing',
        reason: 'no-container',
      });
    } else {
      const failing = replicas
        .map((c) => ({ c, reason: oneShotReason(c, declared.configHash, record) }))
        .filter((x): x is { c: ContainerInfo; reason: OneShotReason } => x.reason !== null);
      if (failing.length > 0) {
        const worst = SEVERITY.find((r) => failing.some((f) => f.reason === r))!;
        const shown = failing.filter((f) => f.reason === worst);
        const other =
          worst === 'stale-config'
            ? otherComposeVersion(
                shown.map((f) => f.c),
                declared,
              )
            : null;
        const observed =
          worst !== 'stale-config'
            ? shown.map((f) => stateText(f.c))
            : other
              ? [`${stateText(shown[0]!.c)}, ${composeVersionNote(other, declared)}`]
              : shown.map((f) => `${stateText(f.c)} under an older config`);
        items.push({
          key: 'container.state.exited_success',
          declared: 'exited (0)',
          observed: replicaText(observed, replicas.length),
          reason: worst,
          ...(worst === 'stale-config'
            ? {
                fields: fieldsOf(
                  shown.map((f) => f.c),
                  declared,
                ),
              }
            : {}),
        });
      }
    }
  }
  return items;
}

/** The `observed` block of a module plan: the first replica (see ordering above), or `missing`. */
export function observeContainers(containers: readonly ContainerInfo[]): ObservedContainer {
  const replicas = serviceReplicas(containers);
  const first = replicas[0];
  if (!first) return { container_id: null, state: 'missing', exit_code: null, image: null, health: null };
  const observed: ObservedContainer = {
    container_id: first.id,
    state: first.state,
    exit_code: first.state === 'exited' || first.state === 'dead' ? first.exitCode : null,
    image: first.imageRef || null,
    health: first.health,
  };
  if (replicas.length > 1) observed.replicas = replicas.length;
  return observed;
}
