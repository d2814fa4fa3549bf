/**
 * Runtime implemented with the `docker` CLI and the compose CLI, so DOCKER_HOST, contexts, ssh and
 * TLS behave exactly as the operator's own `docker` does. State is read from `docker ps` /
 * `docker inspect` JSON by compose labels — never by container name and never by parsing compose's
 * human output (compose v1 even exits 0 on unknown flags).
 */
import { parse as parseYaml } from 'yaml';
import { EnvironmentError, UserError } from '../errors.js';
import { spawnProcess } from './process.js';
import type {
  ComposeTarget,
  ContainerInfo,
  ContainerState,
  ExecOptions,
  ExecResult,
  ProcessRunner,
  RenderedProject,
  RenderedService,
  Runtime,
  WaitResult,
} from './types.js';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
} as const;

export interface DockerCliOptions {
  runner?: ProcessRunner;
  /** force a compose flavor instead of probing (tests, or STATEGUARD_COMPOSE=v1|v2; the CLI and the actions refuse any other value before a command runs: src/compose-env.ts) */
  compose?: 'v1' | 'v2';
  env?: Readonly<Record<string, string | undefined>>;
}

function firstLine(text: string): string {
  return text.trim().split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

/** End a quoted message with exactly one sentence mark. */
function sentence(text: string): string {
  return /[.?!]$/.test(text) ? text : `${text}.`;
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
  let doc: { services?: Record<string, RenderedService> } | null;
  try {
    doc = parseYaml(stdout, { maxAliasCount: 100 }) as typeof doc;
  } catch {
    throw new UserError('compose printed a config that is not valid YAML (its text is not shown: it may hold environment values)', {
      reason: 'compose-error',
    });
  }
  return doc?.services ?? {};
}

/**
 * Normalise an image reference the way the engine lists RepoTags: implicit `:latest`, and the
 * Docker Hub prefixes dropped (`docker.io/library/x` lists as `x`).
 */
export function normalizeImageRef(ref: string): string {
  let r = ref.trim();
  if (r.includes('@')) return r; // digest refs compare as written
  r = r.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '').replace(/^index\.docker\.io\//, '');
  const lastSlash = r.lastIndexOf('/');
  const tail = r.slice(lastSlash + 1);
  if (!tail.includes(':')) r += ':latest';
  return r;
}

export class DockerCli implements Runtime {
  private readonly run: ProcessRunner;
  private readonly env: Readonly<Record<string, string | undefined>>;
  /** an explicit env (not process.env) is passed to every child, so DOCKER_HOST/DOCKER_CONTEXT given there are honoured */
  private readonly childEnv: Readonly<Record<string, string | undefined>> | undefined;
  private flavor: Promise<'v1' | 'v2'> | undefined;
  private pinged: Promise<void> | undefined;

  constructor(opts: DockerCliOptions = {}) {
    this.run = opts.runner ?? spawnProcess;
    this.env = opts.env ?? process.env;
    this.childEnv = opts.env && opts.env !== process.env ? opts.env : undefined;
    const forced = opts.compose ?? this.env.STATEGUARD_COMPOSE;
    if (forced === 'v1' || forced === 'v2') this.flavor = Promise.resolve(forced);
  }

  private withEnv(opts?: ExecOptions): ExecOptions | undefined {
    if (!this.childEnv) return opts;
    return { ...opts, env: { ...this.childEnv, ...opts?.env } };
  }

  docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.run('docker', args, this.withEnv(opts));
  }

  ping(): Promise<void> {
    this.pinged ??= (async () => {
      const r = await this.docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 30_000 });
      if (r.code !== 0 || r.stdout.trim() === '') {
        this.pinged = undefined;
        throw new EnvironmentError(
          `Cannot reach the Docker engine via ${describeEngine(this.env)}: ` +
            `${sentence(firstLine(r.stderr) || `docker exited ${r.code}`)} ` +
            `Start the engine, or point DOCKER_HOST / 'docker context use' at the host that runs the services.`,
        );
      }
    })();
    return this.pinged;
  }

  composeFlavor(): Promise<'v1' | 'v2'> {
    // v1 is not probed with `docker-compose version`: that is a Python start-up (~0.5 s) on the
    // critical path of every plan. When it is missing, the first compose call says so (see compose()).
    this.flavor ??= (async () => {
      const v2 = await this.docker(['compose', 'version', '--short']);
      return v2.code === 0 && /\d/.test(v2.stdout) ? ('v2' as const) : ('v1' as const);
    })();
    return this.flavor;
  }

  /** Build the compose command line for a target (exposed for unit tests of both flavors). */
  static composeArgs(flavor: 'v1' | 'v2', target: ComposeTarget, args: readonly string[]): [string, string[]] {
    const base = target.files.flatMap((f) => ['-f', f]).concat(['-p', target.project], args);
    return flavor === 'v2' ? ['docker', ['compose', ...base]] : ['docker-compose', base];
  }

  private async compose(target: ComposeTarget, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const [cmd, full] = DockerCli.composeArgs(await this.composeFlavor(), target, args);
    const r = await this.run(cmd, full, this.withEnv(opts));
    if (r.code === 127 && cmd === 'docker-compose') {
      throw new EnvironmentError(
        'Neither `docker compose` (v2) nor `docker-compose` (v1) is installed; install one of them.',
        'compose-error',
      );
    }
    return r;
  }

  async listProjectContainers(project: string): Promise<ContainerInfo[]> {
    await this.ping();
    const ps = await this.docker(['ps', '-a', '-q', '--no-trunc', '--filter', `label=${LABEL.project}=${project}`]);
    if (ps.code !== 0) throw new EnvironmentError(`docker ps failed: ${firstLine(ps.stderr)}`);
    const ids = ps.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    const all = await this.inspectContainers(ids);
    // The label filter already matched; re-check so a parsing surprise never mixes projects.
    return all.filter((c) => c.project === project);
  }

  async inspectContainers(idsOrNames: readonly string[]): Promise<ContainerInfo[]> {
    if (idsOrNames.length === 0) return [];
    const r = await this.docker(['inspect', '--type', 'container', ...idsOrNames]);
    // `docker inspect` exits 1 when some names are missing but still prints the found ones.
    if (r.code !== 0 && !r.stdout.trim().startsWith('[')) {
      if (/no such (container|object)/i.test(r.stderr)) return [];
      throw new EnvironmentError(`docker inspect failed: ${firstLine(r.stderr)}`);
    }
    return parseInspect(r.stdout);
  }

  async renderProject(target: ComposeTarget): Promise<RenderedProject> {
    const [config, hashes] = await Promise.all([
      this.compose(target, ['config']),
      this.compose(target, ['config', '--hash', '*']),
    ]);
    for (const r of [config, hashes]) {
      if (r.code !== 0) {
        throw new UserError(
          `compose could not render project '${target.project}' from ${target.files.join(', ')}: ` +
            `${firstLine(r.stderr) || `exit ${r.code}`}`,
          { reason: 'compose-error' },
        );
      }
    }
    return { services: parseRenderedConfig(config.stdout), hashes: parseConfigHashes(hashes.stdout) };
  }

  async imageIds(refs: readonly string[]): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    const unique = [...new Set(refs)];
    for (const ref of unique) out[ref] = null;
    if (unique.length === 0) return out;
    const r = await this.docker(['image', 'inspect', ...unique]);
    const text = r.stdout.trim();
    if (r.code !== 0 && !text.startsWith('[')) {
      if (/no such image/i.test(r.stderr)) return out;
      throw new EnvironmentError(`docker image inspect failed: ${firstLine(r.stderr)}`);
    }
    const images = JSON.parse(text || '[]') as Array<{ Id: string; RepoTags?: string[]; RepoDigests?: string[] }>;
    for (const ref of unique) {
      const norm = normalizeImageRef(ref);
      const hit = images.find(
        (img) =>
          img.Id === ref ||
          (img.RepoTags ?? []).some((t) => normalizeImageRef(t) === norm) ||
          (img.RepoDigests ?? []).some((d) => d === ref || normalizeImageRef(d) === norm),
      );
      out[ref] = hit ? hit.Id : null;
    }
    return out;
  }

  recreateService(target: ComposeTarget, service: string): Promise<ExecResult> {
    return this.compose(target, ['up', '-d', '--no-deps', '--force-recreate', service]);
  }

  composeUp(target: ComposeTarget, services: readonly string[] = []): Promise<ExecResult> {
    return this.compose(target, ['up', '-d', ...services]);
  }

  composeDown(target: ComposeTarget, removeVolumes: boolean): Promise<ExecResult> {
    return this.compose(target, ['down', '--remove-orphans', ...(removeVolumes ? ['-v'] : [])]);
  }

  async wait(containerId: string, timeoutMs: number): Promise<WaitResult> {
    const r = await this.docker(['wait', containerId], { timeoutMs });
    if (r.code === 124) return { exitCode: null, timedOut: true };
    const code = Number.parseInt(r.stdout.trim(), 10);
    if (r.code !== 0 || Number.isNaN(code)) {
      throw new EnvironmentError(`docker wait ${containerId.slice(0, 12)} failed: ${firstLine(r.stderr)}`);
    }
    return { exitCode: code, timedOut: false };
  }

  async stop(containerIds: readonly string[], timeoutSeconds = 10): Promise<void> {
    if (containerIds.length === 0) return;
    const r = await this.docker(['stop', '-t', String(timeoutSeconds), ...containerIds]);
    if (r.code !== 0) throw new EnvironmentError(`docker stop failed: ${firstLine(r.stderr)}`);
  }

  async start(containerIds: readonly string[]): Promise<void> {
    if (containerIds.length === 0) return;
    const r = await this.docker(['start', ...containerIds]);
    if (r.code !== 0) throw new EnvironmentError(`docker start failed: ${firstLine(r.stderr)}`);
  }

  async logs(containerId: string, onChunk: (chunk: string, stream?: 'stdout' | 'stderr') => void, follow: boolean): Promise<void> {
    await this.docker(['logs', ...(follow ? ['--follow'] : []), containerId], {
      onStdout: (chunk) => onChunk(chunk, 'stdout'),
      onStderr: (chunk) => onChunk(chunk, 'stderr'),
    });
  }

  async copyFrom(containerId: string, path: string, sink: NodeJS.WritableStream): Promise<void> {
    const r = await this.docker(['cp', `${containerId}:${path}`, '-'], { stdoutSink: sink });
    if (r.code !== 0) {
      throw new EnvironmentError(`docker cp from ${containerId.slice(0, 12)}:${path} failed: ${firstLine(r.stderr)}`);
    }
  }

  async copyTo(containerId: string, dir: string, tarArchive: Buffer): Promise<void> {
    const r = await this.docker(['cp', '-', `${containerId}:${dir}`], { input: tarArchive });
    if (r.code !== 0) {
      throw new EnvironmentError(`docker cp to ${containerId.slice(0, 12)}:${dir} failed: ${firstLine(r.stderr)}`);
    }
  }

  async createNamedContainer(name: string, image: string, labels: Record<string, string>): Promise<boolean> {
    const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const r = await this.docker(['create', '--name', name, ...labelArgs, image]);
    if (r.code === 0) return true;
    if (/already in use|conflict/i.test(r.stderr)) return false;
    throw new EnvironmentError(`docker create ${name} failed: ${firstLine(r.stderr)}`);
  }

  async removeContainer(idOrName: string): Promise<void> {
    const r = await this.docker(['rm', '-f', idOrName]);
    if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
      throw new EnvironmentError(`docker rm ${idOrName} failed: ${firstLine(r.stderr)}`);
    }
  }
}
