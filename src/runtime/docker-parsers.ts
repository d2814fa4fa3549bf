/**
 * What the docker adapter reads and writes as text, with no process in sight: the parsing of
 * `docker inspect`, `compose config` and helper output, the labels stateguard's records and helpers
 * carry, and the argument pieces built from them. Pure functions and constants, so the parts of the
 * adapter (./docker-cli.ts, ./compose-cli.ts, ./docker-records.ts, ./docker-workbench.ts) and the unit
 * tests share one copy.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { EnvironmentError, UserError } from '../errors.js';
import type {
  ContainerInfo,
  ContainerRunConfig,
  ContainerState,
  DataMount,
  MountEntry,
  RenderedService,
  RunRecord,
  SwapOutcome,
  SwapResult,
} from './types.js';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
} as const;

/** The non-empty lines of a process's output, trimmed (IDs from `-q` listings). */
export function outputLines(text: string): string[] {
  return text
    .split('\n')
    .map((x) => x.trim())
    .filter(Boolean);
}

/** The first non-empty line of a process's output (its error, for messages). */
export function firstLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

export function describeEngine(env: Readonly<Record<string, string | undefined>>): string {
  if (env.DOCKER_HOST) return `DOCKER_HOST=${env.DOCKER_HOST}`;
  if (env.DOCKER_CONTEXT) return `docker context ${env.DOCKER_CONTEXT}`;
  return 'the current docker context (DOCKER_HOST is not set)';
}

/** Parse the JSON array printed by `docker inspect` into ContainerInfo records. */
export function parseInspect(stdout: string): ContainerInfo[] {
  const trimmed = stdout.trim();
  if (!trimmed.startsWith('[')) return [];
  const raw = JSON.parse(trimmed) as Array<Record<string, any>>;
  return raw.map((c) => {
    const labels: Record<string, string> = c.Config?.Labels ?? {};
    const st = c.State ?? {};
    const started = typeof st.StartedAt === 'string' && !st.StartedAt.startsWith('0001-') ? st.StartedAt : null;
    const finished = typeof st.FinishedAt === 'string' && !st.FinishedAt.startsWith('0001-') ? st.FinishedAt : null;
    return {
      id: String(c.Id),
      name: String(c.Name ?? '').replace(/^\//, ''),
      imageRef: String(c.Config?.Image ?? ''),
      imageId: String(c.Image ?? ''),
      state: String(st.Status ?? 'dead') as ContainerState,
      exitCode: typeof st.ExitCode === 'number' ? st.ExitCode : null,
      health: st.Health?.Status ? (String(st.Health.Status) as ContainerInfo['health']) : null,
      startedAt: started,
      finishedAt: finished,
      createdAt: String(c.Created ?? ''),
      labels,
      project: labels[LABEL.project],
      service: labels[LABEL.service],
      oneoff: (labels[LABEL.oneoff] ?? '').toLowerCase() === 'true',
      configHash: labels[LABEL.configHash],
      env: Array.isArray(c.Config?.Env) ? (c.Config.Env as string[]) : [],
      config: runConfig(c),
      mounts: Array.isArray(c.Mounts)
        ? (c.Mounts as Array<Record<string, any>>).map((m) => ({
            type: String(m.Type ?? ''),
            name: m.Name ? String(m.Name) : undefined,
            source: String(m.Source ?? ''),
            destination: String(m.Destination ?? ''),
          }))
        : [],
    };
  });
}

function stringList(v: unknown): string[] | null {
  return Array.isArray(v) ? v.map(String) : null;
}

/** The run configuration of an inspected container (see ContainerRunConfig). */
function runConfig(c: Record<string, any>): ContainerRunConfig {
  const ports: string[] = [];
  for (const [key, bindings] of Object.entries((c.HostConfig?.PortBindings ?? {}) as Record<string, unknown>)) {
    const [target, proto = 'tcp'] = key.split('/');
    const list = Array.isArray(bindings) && bindings.length > 0 ? bindings : [{}];
    for (const b of list as Array<{ HostPort?: string }>) ports.push(`${b.HostPort ?? ''}:${target}/${proto}`);
  }
  return {
    cmd: stringList(c.Config?.Cmd),
    entrypoint: stringList(c.Config?.Entrypoint),
    user: String(c.Config?.User ?? ''),
    restartPolicy: String(c.HostConfig?.RestartPolicy?.Name ?? ''),
    healthcheck: stringList(c.Config?.Healthcheck?.Test),
    ports: ports.sort(),
  };
}

/** Compose's default image name for a service that only has `build:` (v1 and v2 differ). */
export function builtImageName(flavor: 'v1' | 'v2', project: string, service: string): string {
  return flavor === 'v2' ? `${project}-${service}` : `${project.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${service}`;
}

/** `config --hash '*'` prints `service hash` per line (v1 and v2 alike). */
export function parseConfigHashes(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\S+)\s+([0-9a-f]{16,})\s*$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * The rendered config holds interpolated environment values, so a parse error is reported without
 * the parser's message (which quotes the offending text).
 */
export function parseRenderedConfig(stdout: string): Record<string, RenderedService> {
  return parseRenderedYaml(stdout).services;
}

/** v1's rendered `config` (YAML): its services and the keys of its top-level `volumes:`. */
export function parseRenderedYaml(stdout: string): { services: Record<string, RenderedService>; volumes: string[] } {
  let doc: { services?: Record<string, RenderedService>; volumes?: unknown } | null;
  try {
    doc = parseYaml(stdout, { maxAliasCount: 100 }) as typeof doc;
  } catch {
    throw new UserError(
      'compose printed a config that is not valid YAML (its text is not shown: it may hold environment values)',
      {
        reason: 'compose-error',
      },
    );
  }
  const top = doc?.volumes;
  const volumes = top && typeof top === 'object' && !Array.isArray(top) ? Object.keys(top) : [];
  const services = doc?.services;
  return { services: services && typeof services === 'object' && !Array.isArray(services) ? services : {}, volumes };
}

/** Labels of a run-record volume (see writeRunRecord). */
export const RUN_RECORD_LABEL = {
  key: 'io.stateguard.run-record',
  project: 'io.stateguard.run-record.project',
  service: 'io.stateguard.run-record.service',
  containerId: 'io.stateguard.run-record.container-id',
  imageId: 'io.stateguard.run-record.image-id',
  imageRef: 'io.stateguard.run-record.image-ref',
  configHash: 'io.stateguard.run-record.config-hash',
  labelHash: 'io.stateguard.run-record.label-hash',
  recordedAt: 'io.stateguard.run-record.recorded-at',
} as const;

/** A short, name-safe key for one compose service. */
export function runRecordKey(project: string, service: string): string {
  return createHash('sha256').update(`${project}\0${service}`).digest('hex').slice(0, 16);
}

export function runRecordLabels(r: RunRecord): Record<string, string> {
  return {
    [RUN_RECORD_LABEL.key]: runRecordKey(r.project, r.service),
    [RUN_RECORD_LABEL.project]: r.project,
    [RUN_RECORD_LABEL.service]: r.service,
    [RUN_RECORD_LABEL.containerId]: r.container_id,
    [RUN_RECORD_LABEL.imageId]: r.image_id,
    [RUN_RECORD_LABEL.imageRef]: r.image_ref,
    [RUN_RECORD_LABEL.configHash]: r.config_hash,
    [RUN_RECORD_LABEL.labelHash]: r.label_hash,
    [RUN_RECORD_LABEL.recordedAt]: r.recorded_at,
  };
}

/** A record from volume labels, or null when any field is missing (a partial record proves nothing). */
export function parseRunRecord(labels: Record<string, string>): RunRecord | null {
  const get = (k: string): string | undefined =>
    typeof labels[k] === 'string' && labels[k] !== '' ? labels[k] : undefined;
  const rec = {
    project: get(RUN_RECORD_LABEL.project),
    service: get(RUN_RECORD_LABEL.service),
    container_id: get(RUN_RECORD_LABEL.containerId),
    image_id: get(RUN_RECORD_LABEL.imageId),
    image_ref: get(RUN_RECORD_LABEL.imageRef),
    config_hash: get(RUN_RECORD_LABEL.configHash),
    label_hash: get(RUN_RECORD_LABEL.labelHash),
    recorded_at: get(RUN_RECORD_LABEL.recordedAt),
  };
  if (Object.values(rec).some((v) => v === undefined)) return null;
  if (labels[RUN_RECORD_LABEL.key] !== runRecordKey(rec.project!, rec.service!)) return null;
  return rec as RunRecord;
}

/** Label prefix of last-known-good records (empty named volumes, like run records). */
export const LKG_LABEL = 'io.stateguard.lkg';

/** Labels of restore's helper containers and journal volumes (docs/architecture.md §12). */
export const WORKBENCH_LABEL = {
  helper: 'io.stateguard.helper',
  journal: 'io.stateguard.journal',
  seq: 'io.stateguard.journal.seq',
  phase: 'io.stateguard.journal.phase',
  at: 'io.stateguard.journal.at',
  dataPrefix: 'io.stateguard.journal.data.',
  /** on a mark volume: the name of its keeper container; on the keeper: the journal's key */
  keeper: 'io.stateguard.journal.keeper',
  drill: 'io.stateguard.drill',
} as const;

/** One word for `sh -c`, single-quoted. */
function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `--health-cmd` for a container's healthcheck test; [] keeps the image's own; NONE disables it. */
export function healthArgs(test: readonly string[] | null): string[] {
  if (!test || test.length === 0) return [];
  const [kind, ...rest] = test;
  if (kind === 'NONE') return ['--no-healthcheck'];
  const cmd = kind === 'CMD-SHELL' ? rest.join(' ') : kind === 'CMD' ? rest.map(shQuote).join(' ') : '';
  if (cmd === '') return [];
  return ['--health-cmd', cmd, '--health-interval', '1s', '--health-timeout', '5s', '--health-retries', '3'];
}

const KEY_RE = /^[a-z0-9]{8,64}$/;

/** An operation key as it goes into names and label filters; anything else is refused. */
export function checkKey(key: string): string {
  if (!KEY_RE.test(key)) throw new Error(`invalid operation key ${JSON.stringify(key)}`);
  return key;
}

/** `--mount` value for one data mount at `/v/<index>`; refuses sources the flag cannot carry. */
export function mountArg(m: DataMount, index: number): string {
  if (/[,"\n\r]/.test(m.source) || m.source === '') {
    throw new EnvironmentError(
      `the ${m.kind} ${JSON.stringify(m.source)} of volume ${m.volume} cannot be mounted into a helper container ` +
        `(a comma, quote or line break in its name); rename it to restore it with stateguard`,
    );
  }
  return `type=${m.kind},src=${m.source},dst=/v/${index}`;
}

/**
 * LIST_SCRIPT's output: NUL-separated tokens; `M`, mount path, then `D`/`F`/`O` each followed by the
 * entries of that type (`./rel/path`). A path token always starts with `./`, so it is never a marker.
 */
export function parseMountListing(
  stdout: string,
  mounts: readonly DataMount[],
): { volume: string; entries: MountEntry[] }[] {
  const out = mounts.map((m) => ({ volume: m.volume, entries: [] as MountEntry[] }));
  const tokens = stdout.split('\0');
  let current: MountEntry[] | null = null;
  let type: MountEntry['type'] | null = null;
  const seen = new Set<number>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === 'M') {
      const index = /^\/v\/(\d+)$/.exec(tokens[++i] ?? '')?.[1];
      current = index !== undefined ? (out[Number(index)]?.entries ?? null) : null;
      if (current === null) throw new EnvironmentError('the volume listing names a mount that was not asked for');
      seen.add(Number(index));
      type = null;
    } else if (t === 'D' || t === 'F' || t === 'O') {
      type = t === 'D' ? 'directory' : t === 'F' ? 'file' : 'other';
    } else if (t.startsWith('./') && current && type) {
      current.push({ path: t.slice(2), type });
    } else if (t !== '') {
      throw new EnvironmentError('the volume listing is not in the expected form');
    }
  }
  if (seen.size !== mounts.length) throw new EnvironmentError('the volume listing is incomplete');
  return out;
}

/**
 * What the swap helper did per mount (one `MOUNT OUTCOME` line each, helper-scripts.ts SWAP_SCRIPT).
 * A mount without a line, or an outcome that does not belong to the direction, is an error: the
 * words of an outcome are built from these (docs/architecture.md §12), so they must be complete.
 */
export function parseSwapOutput(
  stdout: string,
  mounts: readonly DataMount[],
  direction: 'forward' | 'revert',
): SwapResult[] {
  const allowed: readonly SwapOutcome[] =
    direction === 'forward'
      ? ['forwarded', 'already-new', 'no-work-area']
      : ['reverted', 'already-old', 'no-work-area'];
  const byPath = new Map<string, string>();
  for (const line of outputLines(stdout)) {
    const m = /^(\/v\/\d+) (\S+)$/.exec(line);
    if (m) byPath.set(m[1]!, m[2]!);
  }
  return mounts.map((mt, i) => {
    const got = byPath.get(`/v/${i}`);
    if (!got || !(allowed as readonly string[]).includes(got)) {
      throw new EnvironmentError(
        `the swap (${direction}) did not say what it did in volume ${mt.volume} ` +
          `(${got === undefined ? 'no line' : JSON.stringify(got.slice(0, 40))}); treating it as not done`,
      );
    }
    return { volume: mt.volume, outcome: got as SwapOutcome };
  });
}
