/**
 * The plain-engine operations both adapters share (docs/architecture.md §1, §14): containers by ID
 * (inspect, wait, stop, start, logs, copies, file removal), the data-mount checks, the engine's ID
 * and the local images. Neither compose nor Swarm is involved: `docker inspect`, `docker cp`,
 * `docker image …` on the engine stateguard talks to. DockerCli (./docker-cli.ts) and SwarmCli
 * (./swarm-cli.ts) each hand these methods to one DockerEngine over their DockerCommand; the Swarm
 * adapter wraps stop, start and copyFrom with its scaling (./swarm-scaling.ts).
 */
import { Writable } from 'node:stream';
import { EnvironmentError, PathNotFoundError } from '../errors.js';
import { UP_STATES } from '../drift/containers.js';
import { normalizeImageRef } from '../drift/image-ref.js';
import type { DockerCommand } from './docker-command.js';
import { firstLine, outputLines, parseInspect } from './docker-parsers.js';
import type { ContainerInfo, EngineInfo, EngineView, ExecOptions, ExecResult, Lifecycle, WaitResult } from './types.js';

/** What stateguard reads of `docker image inspect`. */
interface InspectedImage {
  Id: string;
  RepoTags?: string[];
  RepoDigests?: string[];
  Config?: { Volumes?: unknown };
}

/** `docker cp` says this when the path does not exist in the container (engine 20.10+ wording, both directions). */
const PATH_ABSENT = /no such container:path|could not find the file/i;

/** The roles' operations this part answers for both adapters. */
export type PlainEngine = Pick<EngineInfo, 'engineId'> &
  Pick<
    EngineView,
    'inspectContainers' | 'listRunningContainers' | 'imageIds' | 'imageVolumes' | 'listImageTags' | 'existingPaths'
  > &
  Pick<
    Lifecycle,
    | 'wait'
    | 'stop'
    | 'start'
    | 'logs'
    | 'copyFrom'
    | 'copyTo'
    | 'removeFilesInContainer'
    | 'tagImage'
    | 'removeImageTag'
  >;

export class DockerEngine implements PlainEngine {
  constructor(private readonly command: DockerCommand) {}

  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  /** The engine's ID (`docker info`); each adapter pings first, with its own ping. */
  async engineId(): Promise<string> {
    const r = await this.docker(['info', '--format', '{{.ID}}'], { timeoutMs: 30_000 });
    const id = r.stdout.trim();
    if (r.code !== 0 || id === '' || /\s/.test(id)) {
      throw new EnvironmentError(
        `docker info did not report the engine's ID: ${firstLine(r.stderr) || r.stdout.trim()}`,
      );
    }
    return id;
  }

  /** Up to `limit` local image IDs (a last resort for the lock container's image). */
  async localImageIds(limit: number): Promise<string[]> {
    const r = await this.docker(['image', 'ls', '-q', '--no-trunc']);
    if (r.code !== 0) return [];
    return [...new Set(outputLines(r.stdout))].slice(0, limit);
  }

  async removeFilesInContainer(containerId: string, files: readonly string[]): Promise<boolean> {
    // Root inside the container: files written by `docker cp` are root's, in directories the
    // service user may not own. `--` so a file name can never be read as an option.
    for (const rm of [['rm'], ['/bin/busybox', 'rm']]) {
      const r = await this.docker(['exec', '-u', '0', containerId, ...rm, '-f', '--', ...files]);
      if (r.code === 0) return true;
    }
    return false;
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

  /**
   * One `docker image inspect` of these references: each reference to the image it names (matched by
   * ID, normalised tag or digest), absent ones to null.
   */
  private async inspectImages(refs: readonly string[]): Promise<Map<string, InspectedImage | null>> {
    const unique = [...new Set(refs)];
    const out = new Map<string, InspectedImage | null>(unique.map((r) => [r, null]));
    if (unique.length === 0) return out;
    const r = await this.docker(['image', 'inspect', ...unique]);
    const text = r.stdout.trim();
    if (r.code !== 0 && !text.startsWith('[')) {
      if (/no such image/i.test(r.stderr)) return out;
      throw new EnvironmentError(`docker image inspect failed: ${firstLine(r.stderr)}`);
    }
    const images = JSON.parse(text || '[]') as InspectedImage[];
    for (const ref of unique) {
      const norm = normalizeImageRef(ref);
      const hit = images.find(
        (img) =>
          img.Id === ref ||
          (img.RepoTags ?? []).some((t) => normalizeImageRef(t) === norm) ||
          (img.RepoDigests ?? []).some((d) => d === ref || normalizeImageRef(d) === norm),
      );
      out.set(ref, hit ?? null);
    }
    return out;
  }

  async imageIds(refs: readonly string[]): Promise<Record<string, string | null>> {
    const found = await this.inspectImages(refs);
    return Object.fromEntries([...found].map(([ref, img]) => [ref, img ? img.Id : null]));
  }

  // Field-level config differences (docs/architecture.md §3): which mounts an image declares.
  async imageVolumes(images: readonly string[]): Promise<Record<string, string[] | null>> {
    const found = await this.inspectImages(images);
    return Object.fromEntries(
      [...found].map(([ref, img]) => {
        const volumes = img?.Config?.Volumes;
        return [ref, img ? (volumes && typeof volumes === 'object' ? Object.keys(volumes).sort() : []) : null];
      }),
    );
  }

  async tagImage(imageId: string, ref: string): Promise<void> {
    const r = await this.docker(['tag', imageId, ref]);
    if (r.code !== 0) {
      throw new EnvironmentError(`docker tag ${imageId.slice(0, 19)} ${ref} failed: ${firstLine(r.stderr)}`);
    }
  }

  // Pinned-image retention (docs/architecture.md §13).
  async listImageTags(repository: string): Promise<string[]> {
    const r = await this.docker([
      'image',
      'ls',
      '--filter',
      `reference=${repository}`,
      '--format',
      '{{.Repository}}:{{.Tag}}',
    ]);
    if (r.code !== 0) throw new EnvironmentError(`docker image ls failed: ${firstLine(r.stderr)}`);
    const tags = outputLines(r.stdout).filter((t) => t.startsWith(`${repository}:`) && !t.endsWith(':<none>'));
    return [...new Set(tags)].sort();
  }

  async removeImageTag(ref: string): Promise<void> {
    // A `repository:tag` only: an image ID or a digest would remove the image itself.
    if (!/^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(ref) || ref.startsWith('sha256:')) {
      throw new EnvironmentError(`refusing to remove ${JSON.stringify(ref)}: not a repository:tag reference`);
    }
    const r = await this.docker(['image', 'rm', ref]);
    if (r.code !== 0) throw new EnvironmentError(`docker image rm ${ref} failed: ${firstLine(r.stderr)}`);
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

  /**
   * Without `timeoutSeconds`, each container gets its own stop timeout (compose's `stop_grace_period`,
   * else the engine's 10 s): a data store that needs longer to shut down cleanly is not killed
   * mid-shutdown before a snapshot copies its volume (docs/architecture.md §7).
   */
  async stop(containerIds: readonly string[], timeoutSeconds?: number): Promise<void> {
    if (containerIds.length === 0) return;
    const wait = timeoutSeconds === undefined ? [] : ['-t', String(timeoutSeconds)];
    const r = await this.docker(['stop', ...wait, ...containerIds]);
    if (r.code !== 0) throw new EnvironmentError(`docker stop failed: ${firstLine(r.stderr)}`);
  }

  async start(containerIds: readonly string[]): Promise<string[]> {
    if (containerIds.length === 0) return [];
    const r = await this.docker(['start', ...containerIds]);
    if (r.code !== 0) throw new EnvironmentError(`docker start failed: ${firstLine(r.stderr)}`);
    return [...containerIds];
  }

  async logs(
    containerId: string,
    onChunk: (chunk: string, stream?: 'stdout' | 'stderr') => void,
    follow: boolean,
  ): Promise<void> {
    await this.docker(['logs', ...(follow ? ['--follow'] : []), containerId], {
      onStdout: (chunk) => onChunk(chunk, 'stdout'),
      onStderr: (chunk) => onChunk(chunk, 'stderr'),
    });
  }

  async copyFrom(containerId: string, path: string, sink: NodeJS.WritableStream): Promise<void> {
    const r = await this.docker(['cp', `${containerId}:${path}`, '-'], { stdoutSink: sink });
    if (r.code !== 0) {
      const message = `docker cp from ${containerId.slice(0, 12)}:${path} failed: ${firstLine(r.stderr)}`;
      throw PATH_ABSENT.test(r.stderr) ? new PathNotFoundError(message) : new EnvironmentError(message);
    }
  }

  async copyTo(containerId: string, dir: string, tarArchive: Buffer): Promise<void> {
    const r = await this.docker(['cp', '-', `${containerId}:${dir}`], { input: tarArchive });
    if (r.code !== 0) {
      const message = `docker cp to ${containerId.slice(0, 12)}:${dir} failed: ${firstLine(r.stderr)}`;
      throw PATH_ABSENT.test(r.stderr) ? new PathNotFoundError(message) : new EnvironmentError(message);
    }
  }

  // ---- data mounts (docs/architecture.md §12, "Data mounts"): other writers, reserved names ----

  async listRunningContainers(): Promise<ContainerInfo[]> {
    // Without -a: running, restarting and paused containers, of every project and of none.
    const ps = await this.docker(['ps', '-q', '--no-trunc']);
    if (ps.code !== 0) throw new EnvironmentError(`docker ps failed: ${firstLine(ps.stderr)}`);
    return (await this.inspectContainers(outputLines(ps.stdout))).filter((c) => UP_STATES.has(c.state));
  }

  async existingPaths(containerId: string, paths: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for (const p of paths) {
      // `docker cp <id>:<path> -` needs no tool in the image and works on a stopped container. An
      // existing path's tar starts at once; the copy is then cut off (the feed rejects, the child is
      // killed), so a large directory is never read whole.
      let seen = false;
      let release: (err?: Error) => void = () => undefined;
      const gate = new Promise<void>((resolve, reject) => {
        release = (err) => (err ? reject(err) : resolve());
      });
      // The runner consumes it (a rejection kills the child); never an unhandled rejection here.
      gate.catch(() => undefined);
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (!seen && chunk.length > 0) {
            seen = true;
            release(new Error('the path exists'));
          }
          cb();
        },
      });
      const r = await this.docker(['cp', `${containerId}:${p}`, '-'], {
        stdoutSink: sink,
        feed: () => gate,
        timeoutMs: 120_000,
      });
      release();
      if (seen || r.code === 0) found.push(p);
      else if (!PATH_ABSENT.test(r.stderr)) {
        const why = firstLine(r.stderr) || `exit ${r.code}`;
        throw new EnvironmentError(`could not check whether ${p} exists in ${containerId.slice(0, 12)}: ${why}`);
      }
    }
    return found;
  }
}
