/**
 * Runtime implemented with the `docker` CLI and the compose CLI, so DOCKER_HOST, contexts, ssh and
 * TLS behave exactly as the operator's own `docker` does. State is read from `docker ps` /
 * `docker inspect` JSON by compose labels — never by container name and never by parsing compose's
 * human output (compose v1 even exits 0 on unknown flags).
 *
 * DockerCli holds engine info, the engine view, the lifecycle and the image operations itself, and
 * hands the rest to its parts, which share one DockerCommand (./docker-command.ts: runner, child env,
 * Engine API, ping): the compose CLI (./compose-cli.ts), the record store (./docker-records.ts) and
 * restore's workbench (./docker-workbench.ts). The pure parsing is in ./docker-parsers.ts.
 */
import { Writable } from 'node:stream';
import { EnvironmentError, PathNotFoundError } from '../errors.js';
import { UP_STATES } from '../drift/containers.js';
import { normalizeImageRef } from '../drift/image-ref.js';
import { createRequest, definitionFromInspect, referencedContainers } from './container-definition.js';
import { apiMessage, type EngineApi } from './engine-api.js';
import { ComposeCli, composeArgs } from './compose-cli.js';
import { DockerCommand, type DockerCommandOptions } from './docker-command.js';
import { DockerRecords } from './docker-records.js';
import { DockerWorkbench } from './docker-workbench.js';
import { firstLine, LABEL, outputLines, parseInspect } from './docker-parsers.js';
import type {
  ComposeInfo,
  ContainerDefinition,
  MountEntry,
  HelperSpec,
  JournalMark,
  LastKnownGood,
  MountSpace,
  RootMeta,
  StagedCount,
  StagedTime,
  SwapResult,
  ThrowawaySpec,
  WorkAreaState,
  ComposeTarget,
  ContainerInfo,
  EngineLock,
  ExecOptions,
  ExecResult,
  ProcessRunner,
  RenderedProject,
  RenderOptions,
  RunRecord,
  Runtime,
  ServiceValues,
  WaitResult,
} from './types.js';

export { normalizeImageRef };
// The parsing and the labels live in ./docker-parsers.ts; importers of this file keep finding them here.
export {
  builtImageName,
  describeEngine,
  firstLine,
  healthArgs,
  LABEL,
  LKG_LABEL,
  mountArg,
  outputLines,
  parseConfigHashes,
  parseInspect,
  parseMountListing,
  parseRenderedConfig,
  parseRenderedYaml,
  parseRunRecord,
  parseSwapOutput,
  RUN_RECORD_LABEL,
  runRecordKey,
  runRecordLabels,
  WORKBENCH_LABEL,
} from './docker-parsers.js';

/** What stateguard reads of `docker image inspect`. */
interface InspectedImage {
  Id: string;
  RepoTags?: string[];
  RepoDigests?: string[];
  Config?: { Volumes?: unknown };
}

/** The runner, env and dial (./docker-command.ts), and the compose flavor. */
export interface DockerCliOptions extends DockerCommandOptions {
  /**
   * force a compose flavor instead of probing (tests, or STATEGUARD_COMPOSE=v1|v2; the CLI and the
   * actions refuse any other value before a command runs: src/compose-env.ts)
   */
  compose?: 'v1' | 'v2';
}

/** `docker cp` says this when the path does not exist in the container (engine 20.10+ wording, both directions). */
const PATH_ABSENT = /no such container:path|could not find the file/i;

export class DockerCli implements Runtime {
  protected readonly run: ProcessRunner;
  protected readonly env: Readonly<Record<string, string | undefined>>;
  /** the runner, the child environment, the Engine API and the ping, shared with the parts below */
  private readonly command: DockerCommand;
  /** the RecordStore methods, on this engine (./docker-records.ts) */
  private readonly records: DockerRecords;
  /** the Workbench methods, on this engine (./docker-workbench.ts) */
  private readonly workbench: DockerWorkbench;
  /** the compose CLI: flavor, rendering, config hashes, up (./compose-cli.ts) */
  private readonly composeCli: ComposeCli;

  constructor(opts: DockerCliOptions = {}) {
    this.command = new DockerCommand(opts);
    this.run = this.command.run;
    this.env = this.command.env;
    this.records = new DockerRecords(this.command, this);
    this.workbench = new DockerWorkbench(this.command);
    this.composeCli = new ComposeCli(this.command, opts.compose ?? this.env.STATEGUARD_COMPOSE);
  }

  protected withEnv(opts?: ExecOptions): ExecOptions | undefined {
    return this.command.withEnv(opts);
  }

  /** `docker <args>` with an argument array: private to the adapter (the domain has no docker argv). */
  protected docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
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

  ping(): Promise<void> {
    return this.command.ping();
  }

  async engineId(): Promise<string> {
    await this.ping();
    const r = await this.docker(['info', '--format', '{{.ID}}'], { timeoutMs: 30_000 });
    const id = r.stdout.trim();
    if (r.code !== 0 || id === '' || /\s/.test(id)) {
      throw new EnvironmentError(
        `docker info did not report the engine's ID: ${firstLine(r.stderr) || r.stdout.trim()}`,
      );
    }
    return id;
  }

  composeFlavor(): Promise<'v1' | 'v2'> {
    return this.composeCli.composeFlavor();
  }

  composeInfo(): Promise<ComposeInfo> {
    return this.composeCli.composeInfo();
  }

  /** Build the compose command line for a target (exposed for unit tests of both flavors). */
  static composeArgs(flavor: 'v1' | 'v2', target: ComposeTarget, args: readonly string[]): [string, string[]] {
    return composeArgs(flavor, target, args);
  }

  async listProjectContainers(project: string): Promise<ContainerInfo[]> {
    await this.ping();
    const ps = await this.docker(['ps', '-a', '-q', '--no-trunc', '--filter', `label=${LABEL.project}=${project}`]);
    if (ps.code !== 0) throw new EnvironmentError(`docker ps failed: ${firstLine(ps.stderr)}`);
    const ids = outputLines(ps.stdout);
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

  /** The one reading of a compose file (docs/architecture.md §2): see ./compose-cli.ts. */
  async renderProject(target: ComposeTarget, opts: RenderOptions = {}): Promise<RenderedProject> {
    return this.composeCli.renderProject(target, opts);
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

  async recreateService(target: ComposeTarget, service: string, imageOverride?: string): Promise<ExecResult> {
    return this.composeCli.recreateService(target, service, imageOverride);
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

  /** `compose up -d` of the given services (or all): the tests' and the demo's, not the domain's. */
  composeUp(target: ComposeTarget, services: readonly string[] = []): Promise<ExecResult> {
    return this.composeCli.composeUp(target, services);
  }

  /** `compose down` (with `-v` only when removeVolumes): the tests' and the demo's teardown. */
  composeDown(target: ComposeTarget, removeVolumes: boolean): Promise<ExecResult> {
    return this.composeCli.composeDown(target, removeVolumes);
  }

  /** Compose records nothing to resume: a killed snapshot leaves stopped containers, shown by plan. */
  async resumeStopped(
    _target: ComposeTarget,
    _service: string,
  ): Promise<{ replicas: number; containerIds: string[] } | null> {
    return null;
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

  // ---- the record store: locks and records on the engine (./docker-records.ts) ----

  async createLock(
    name: string,
    labels: Record<string, string>,
    hint: { images: string[]; project: string },
  ): Promise<boolean> {
    return this.records.createLock(name, labels, hint);
  }

  async readLock(name: string): Promise<EngineLock | null> {
    return this.records.readLock(name);
  }

  async removeLock(id: string): Promise<void> {
    return this.records.removeLock(id);
  }

  async readRunRecords(project: string): Promise<RunRecord[]> {
    return this.records.readRunRecords(project);
  }

  async writeRunRecord(record: RunRecord): Promise<void> {
    return this.records.writeRunRecord(record);
  }

  async writeLastKnownGood(record: LastKnownGood): Promise<void> {
    return this.records.writeLastKnownGood(record);
  }

  async readLastKnownGood(project: string, service: string): Promise<LastKnownGood | null> {
    return this.records.readLastKnownGood(project, service);
  }

  async writeJournalMark(key: string, mark: JournalMark, keeper?: { image: string }): Promise<void> {
    return this.records.writeJournalMark(key, mark, keeper);
  }

  async readJournal(key: string): Promise<JournalMark[]> {
    return this.records.readJournal(key);
  }

  async removeJournalMark(key: string, seq: number): Promise<void> {
    return this.records.removeJournalMark(key, seq);
  }

  // ---- restore's workbench: helper containers on the data (./docker-workbench.ts) ----

  async helperImageProblem(image: string): Promise<string | null> {
    return this.workbench.helperImageProblem(image);
  }

  async mountSpace(helper: HelperSpec): Promise<MountSpace[]> {
    return this.workbench.mountSpace(helper);
  }

  async prepareWorkArea(helper: HelperSpec): Promise<void> {
    return this.workbench.prepareWorkArea(helper);
  }

  async stage(helper: HelperSpec, produce: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    return this.workbench.stage(helper, produce);
  }

  async setStagedTimes(helper: HelperSpec, times: readonly StagedTime[]): Promise<void> {
    return this.workbench.setStagedTimes(helper, times);
  }

  async countStaged(helper: HelperSpec): Promise<StagedCount[]> {
    return this.workbench.countStaged(helper);
  }

  async swap(
    helper: HelperSpec,
    direction: 'forward' | 'revert',
    roots: readonly (RootMeta | null)[],
  ): Promise<SwapResult[]> {
    return this.workbench.swap(helper, direction, roots);
  }

  async dropWorkArea(helper: HelperSpec): Promise<void> {
    return this.workbench.dropWorkArea(helper);
  }

  async workAreas(helper: HelperSpec): Promise<WorkAreaState[]> {
    return this.workbench.workAreas(helper);
  }

  async listMountEntries(helper: HelperSpec): Promise<{ volume: string; entries: MountEntry[] }[]> {
    return this.workbench.listMountEntries(helper);
  }

  async removeHelpers(key: string): Promise<void> {
    return this.workbench.removeHelpers(key);
  }

  async createScratchVolumes(key: string, count: number): Promise<string[]> {
    return this.workbench.createScratchVolumes(key, count);
  }

  async removeScratch(key: string): Promise<void> {
    return this.workbench.removeScratch(key);
  }

  async runThrowaway(spec: ThrowawaySpec): Promise<string> {
    return this.workbench.runThrowaway(spec);
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

  // ---- an upgrade's exact rollback (docs/architecture.md §13) ----

  /** The Engine API through `docker system dial-stdio` (same DOCKER_HOST, context, ssh, TLS). */
  private engine(): EngineApi {
    return this.command.engine();
  }

  async readContainerDefinition(
    containerId: string,
  ): Promise<{ definition: ContainerDefinition } | { problem: string }> {
    const r = await this.docker(['inspect', '--type', 'container', containerId]);
    if (r.code !== 0)
      throw new EnvironmentError(`docker inspect ${containerId.slice(0, 12)} failed: ${firstLine(r.stderr)}`);
    const [raw] = JSON.parse(r.stdout.trim() || '[]') as unknown[];
    const read = definitionFromInspect(raw);
    if ('problem' in read) return read;
    // What the definition shares with other containers must still be there to be shared again.
    for (const ref of referencedContainers(read.definition)) {
      const [other] = await this.inspectContainers([ref.container]);
      if (!other || other.state !== 'running') {
        return {
          problem:
            `its ${ref.field} names container ${ref.container.slice(0, 12)}, which is ` +
            `${other ? other.state : 'gone'}; a rollback could not recreate it as it is`,
        };
      }
    }
    return read;
  }

  async recreateFromDefinition(def: ContainerDefinition, replace: readonly string[]): Promise<string> {
    const api = this.engine();
    await api.apiVersion();
    if (replace.length) {
      await this.stop(replace);
      const rm = await this.docker(['rm', ...replace]);
      if (rm.code !== 0 && !/no such container/i.test(rm.stderr)) {
        throw new EnvironmentError(`docker rm of the service's containers failed: ${firstLine(rm.stderr)}`);
      }
    }
    const req = createRequest(def);
    const created = await api.call('POST', `/containers/create?name=${encodeURIComponent(def.name)}`, req.body);
    if (created.status !== 201) {
      throw new EnvironmentError(`creating ${def.name} from its recorded definition failed: ${apiMessage(created)}`);
    }
    const createdId = (JSON.parse(created.text) as { Id?: unknown }).Id;
    const id = typeof createdId === 'string' ? createdId : '';
    if (!/^[0-9a-f]{64}$/.test(id)) throw new EnvironmentError(`creating ${def.name} returned no container ID`);
    for (const n of req.connect) {
      const r = await api.call('POST', `/networks/${encodeURIComponent(n.network)}/connect`, {
        Container: id,
        EndpointConfig: n.endpoint,
      });
      if (r.status !== 200) {
        throw new EnvironmentError(`connecting ${def.name} to network ${n.network} failed: ${apiMessage(r)}`);
      }
    }
    await this.start([id]);
    return id;
  }

  async configHashWithImage(target: ComposeTarget, service: string, image: string): Promise<string | null> {
    return this.composeCli.configHashWithImage(target, service, image);
  }

  // ---- the drift allowlist's proof (docs/architecture.md §3, "Drift allowlist") ----
  async configHashWithValues(target: ComposeTarget, service: string, values: ServiceValues): Promise<string | null> {
    return this.composeCli.configHashWithValues(target, service, values);
  }
}
