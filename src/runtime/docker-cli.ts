/**
 * Runtime implemented with the `docker` CLI and the compose CLI, so DOCKER_HOST, contexts, ssh and
 * TLS behave exactly as the operator's own `docker` does. State is read from `docker ps` /
 * `docker inspect` JSON by compose labels — never by container name and never by parsing compose's
 * human output (compose v1 even exits 0 on unknown flags).
 *
 * DockerCli holds what is compose's own (the project's containers by compose label, an upgrade's
 * exact rollback) and hands the rest to its parts, which share one DockerCommand (./docker-command.ts:
 * runner, child env, Engine API, ping): the plain-engine operations (./docker-engine.ts, shared with
 * the Swarm adapter), the compose CLI (./compose-cli.ts), the record store (./docker-records.ts) and
 * restore's workbench (./docker-workbench.ts). The pure parsing is in ./docker-parsers.ts.
 */
import { EnvironmentError } from '../errors.js';
import { normalizeImageRef } from '../drift/image-ref.js';
import { createRequest, definitionFromInspect, referencedContainers } from './container-definition.js';
import { apiMessage } from './engine-api.js';
import { ComposeCli, composeArgs } from './compose-cli.js';
import { DockerCommand, type DockerCommandOptions } from './docker-command.js';
import { DockerEngine } from './docker-engine.js';
import { DockerRecords } from './docker-records.js';
import { DockerWorkbench } from './docker-workbench.js';
import { firstLine, LABEL, outputLines } from './docker-parsers.js';
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

/** The runner, env and dial (./docker-command.ts), and the compose flavor. */
export interface DockerCliOptions extends DockerCommandOptions {
  /**
   * force a compose flavor instead of probing (tests, or STATEGUARD_COMPOSE=v1|v2; the CLI and the
   * actions refuse any other value before a command runs: src/compose-env.ts)
   */
  compose?: 'v1' | 'v2';
}

export class DockerCli implements Runtime {
  /** the runner, the child environment, the Engine API and the ping, shared with the parts below */
  private readonly command: DockerCommand;
  /** the plain-engine operations: containers by ID, data mounts, images (./docker-engine.ts) */
  private readonly plain: DockerEngine;
  /** the RecordStore methods, on this engine (./docker-records.ts) */
  private readonly records: DockerRecords;
  /** the Workbench methods, on this engine (./docker-workbench.ts) */
  private readonly workbench: DockerWorkbench;
  /** the compose CLI: flavor, rendering, config hashes, up (./compose-cli.ts) */
  private readonly composeCli: ComposeCli;

  constructor(opts: DockerCliOptions = {}) {
    this.command = new DockerCommand(opts);
    this.plain = new DockerEngine(this.command);
    this.records = new DockerRecords(this.command, this);
    this.workbench = new DockerWorkbench(this.command);
    this.composeCli = new ComposeCli(this.command, opts.compose ?? this.command.env.STATEGUARD_COMPOSE);
  }

  /** `docker <args>` with an argument array: private to the adapter (the domain has no docker argv). */
  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  // ---- engine info ----

  ping(): Promise<void> {
    return this.command.ping();
  }

  async engineId(): Promise<string> {
    await this.ping();
    return this.plain.engineId();
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

  // ---- the engine view ----

  async listProjectContainers(project: string): Promise<ContainerInfo[]> {
    await this.ping();
    const ps = await this.docker(['ps', '-a', '-q', '--no-trunc', '--filter', `label=${LABEL.project}=${project}`]);
    if (ps.code !== 0) throw new EnvironmentError(`docker ps failed: ${firstLine(ps.stderr)}`);
    const ids = outputLines(ps.stdout);
    const all = await this.inspectContainers(ids);
    // The label filter already matched; re-check so a parsing surprise never mixes projects.
    return all.filter((c) => c.project === project);
  }

  inspectContainers(idsOrNames: readonly string[]): Promise<ContainerInfo[]> {
    return this.plain.inspectContainers(idsOrNames);
  }

  /** Up to `limit` local image IDs (a last resort for the lock container's image). */
  localImageIds(limit: number): Promise<string[]> {
    return this.plain.localImageIds(limit);
  }

  /** The one reading of a compose file (docs/architecture.md §2): see ./compose-cli.ts. */
  async renderProject(target: ComposeTarget, opts: RenderOptions = {}): Promise<RenderedProject> {
    return this.composeCli.renderProject(target, opts);
  }

  imageIds(refs: readonly string[]): Promise<Record<string, string | null>> {
    return this.plain.imageIds(refs);
  }

  imageVolumes(images: readonly string[]): Promise<Record<string, string[] | null>> {
    return this.plain.imageVolumes(images);
  }

  listImageTags(repository: string): Promise<string[]> {
    return this.plain.listImageTags(repository);
  }

  // data mounts (docs/architecture.md §12, "Data mounts"): other writers, reserved names
  listRunningContainers(): Promise<ContainerInfo[]> {
    return this.plain.listRunningContainers();
  }

  existingPaths(containerId: string, paths: readonly string[]): Promise<string[]> {
    return this.plain.existingPaths(containerId, paths);
  }

  // ---- the lifecycle ----

  async recreateService(target: ComposeTarget, service: string, imageOverride?: string): Promise<ExecResult> {
    return this.composeCli.recreateService(target, service, imageOverride);
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

  wait(containerId: string, timeoutMs: number): Promise<WaitResult> {
    return this.plain.wait(containerId, timeoutMs);
  }

  stop(containerIds: readonly string[], timeoutSeconds?: number): Promise<void> {
    return this.plain.stop(containerIds, timeoutSeconds);
  }

  start(containerIds: readonly string[]): Promise<string[]> {
    return this.plain.start(containerIds);
  }

  logs(
    containerId: string,
    onChunk: (chunk: string, stream?: 'stdout' | 'stderr') => void,
    follow: boolean,
  ): Promise<void> {
    return this.plain.logs(containerId, onChunk, follow);
  }

  copyFrom(containerId: string, path: string, sink: NodeJS.WritableStream): Promise<void> {
    return this.plain.copyFrom(containerId, path, sink);
  }

  copyTo(containerId: string, dir: string, tarArchive: Buffer): Promise<void> {
    return this.plain.copyTo(containerId, dir, tarArchive);
  }

  removeFilesInContainer(containerId: string, files: readonly string[]): Promise<boolean> {
    return this.plain.removeFilesInContainer(containerId, files);
  }

  tagImage(imageId: string, ref: string): Promise<void> {
    return this.plain.tagImage(imageId, ref);
  }

  // Pinned-image retention (docs/architecture.md §13).
  removeImageTag(ref: string): Promise<void> {
    return this.plain.removeImageTag(ref);
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

  // ---- an upgrade's exact rollback (docs/architecture.md §13) ----

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
    const api = this.command.engine();
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
