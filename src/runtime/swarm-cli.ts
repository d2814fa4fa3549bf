/**
 * The Swarm adapter (docs/architecture.md §14): the same engine interface as the compose adapter,
 * for modules declared with `spec.swarm`. A "project" is the stack, a "service" the stack-file key.
 *
 * What differs from Compose, and how it is kept behind the interface:
 * - Containers are the task containers of the stack's services. Each carries its task (state, the
 *   spec it ran) so plan can judge "a completed task with exit 0 under the current spec".
 * - The config hash is the hash of a view of the fields stack deploy sets (./swarm-view.ts), on
 *   both sides: the rendered stack file and the spec each task ran.
 * - Recreating one service deploys a stack file holding only that service (never the whole stack:
 *   no other service may change), then forces a new task when the spec did not change.
 * - Stopping a long-running service scales it to 0, starting scales it back, and a snapshot reads a
 *   scaled-down task's volume through a never-started helper (./swarm-scaling.ts).
 * - The lock is a `docker config`: a cluster-wide object whose name is unique on the managers
 *   (./swarm-lock.ts).
 *
 * SwarmCli is composed of parts, not derived from the compose adapter; every method is written here
 * or handed to a part by name. Shared with the compose adapter: the runner and env (DockerCommand,
 * ./docker-command.ts), the plain-engine operations (./docker-engine.ts: inspect, wait, logs, copies,
 * images, and the data-mount checks, which on the manager see this node's task containers), the run
 * records, last-known-good and journal marks (./docker-records.ts) and the workbench
 * (./docker-workbench.ts). Its own: the services and tasks (./swarm-services.ts), the scaling and the
 * lock. What Swarm does not do (an upgrade's exact rollback, listing a volume) is refused here.
 * Single node only for volumes: a task on another node has no container here; see §14 for the
 * multi-node design and what is refused until it is built.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { EnvironmentError, UserError } from '../errors.js';
import { SWARM_VIEW_KEY } from '../drift/config-diff.js';
import { ComposeCli } from './compose-cli.js';
import { composeReason } from './compose-render.js';
import type { DockerCliOptions } from './docker-cli.js';
import { DockerCommand } from './docker-command.js';
import { DockerEngine } from './docker-engine.js';
import { outputLines } from './docker-parsers.js';
import { DockerRecords } from './docker-records.js';
import { DockerWorkbench } from './docker-workbench.js';
import { SwarmLock } from './swarm-lock.js';
import { snapshotHelperKey, SwarmScaling } from './swarm-scaling.js';
import { CONVERGE_MS, POLL_MS, sleep, SwarmServices } from './swarm-services.js';
import { oneServiceStack } from './swarm-stack-file.js';
import { currentTasks, isJob, SWARM_LABEL, taskContainer } from './swarm-tasks.js';
import { declaredView, viewHash } from './swarm-view.js';
import type {
  ComposeInfo,
  ComposeTarget,
  ContainerInfo,
  EngineLock,
  ExecOptions,
  ExecResult,
  HelperSpec,
  JournalMark,
  LastKnownGood,
  MountSpace,
  RenderedProject,
  RenderedService,
  RenderOptions,
  RootMeta,
  RunRecord,
  Runtime,
  StagedCount,
  StagedTime,
  SwapResult,
  ThrowawaySpec,
  WaitResult,
  WorkAreaState,
} from './types.js';

export { lockConfigName } from './swarm-lock.js';

export class SwarmCli implements Runtime {
  /** the runner, the child environment and the plain ping, shared with the parts below */
  private readonly command: DockerCommand;
  /** the plain-engine operations, as the compose adapter's (./docker-engine.ts) */
  private readonly plain: DockerEngine;
  /** run records, last-known-good and journal marks, as the compose adapter's (./docker-records.ts) */
  private readonly records: DockerRecords;
  /** the Workbench methods, as the compose adapter's (./docker-workbench.ts) */
  private readonly workbench: DockerWorkbench;
  /** the compose CLI, for composeFlavor only (the Runtime asks every adapter for it) */
  private readonly composeCli: ComposeCli;
  /** the stack's services and tasks (./swarm-services.ts) */
  private readonly services: SwarmServices;
  /** stop by scaling to 0, start by scaling back, copies from a stopped task (./swarm-scaling.ts) */
  private readonly scaling: SwarmScaling;
  /** the lock as a docker config (./swarm-lock.ts) */
  private readonly lock: SwarmLock;
  private swarmChecked: Promise<void> | undefined;
  private engineInfo: Promise<ComposeInfo> | undefined;

  constructor(opts: DockerCliOptions = {}) {
    this.command = new DockerCommand(opts);
    this.plain = new DockerEngine(this.command);
    this.records = new DockerRecords(this.command, this);
    this.workbench = new DockerWorkbench(this.command);
    this.composeCli = new ComposeCli(this.command, opts.compose ?? this.command.env.STATEGUARD_COMPOSE);
    this.services = new SwarmServices(this.command);
    this.scaling = new SwarmScaling(this.command, this.plain, this.services);
    this.lock = new SwarmLock(this.command);
  }

  /** `docker <args>` with an argument array: private to the adapter (the domain has no docker argv). */
  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  // ---- engine info: the engine must be a swarm manager ----

  async ping(): Promise<void> {
    await this.command.ping();
    this.swarmChecked ??= (async () => {
      const r = await this.docker(['info', '--format', '{{json .Swarm}}']);
      let swarm: { LocalNodeState?: string; ControlAvailable?: boolean } = {};
      try {
        swarm = JSON.parse(r.stdout.trim() || '{}') as typeof swarm;
      } catch {
        // reported below
      }
      if (swarm.LocalNodeState !== 'active' || swarm.ControlAvailable !== true) {
        this.swarmChecked = undefined;
        throw new EnvironmentError(
          `the module runs on Docker Swarm, but this engine is not a swarm manager (swarm state: ` +
            `${swarm.LocalNodeState ?? 'unknown'}${swarm.LocalNodeState === 'active' ? ', a worker' : ''}). Point ` +
            `DOCKER_HOST or the docker context at a manager node of the swarm that runs the stack.`,
        );
      }
    })();
    return this.swarmChecked;
  }

  async engineId(): Promise<string> {
    await this.ping();
    return this.plain.engineId();
  }

  /** As on the compose adapter: which compose CLI answers (nothing on Swarm asks). */
  composeFlavor(): Promise<'v1' | 'v2'> {
    return this.composeCli.composeFlavor();
  }

  composeInfo(): Promise<ComposeInfo> {
    this.engineInfo ??= (async () => {
      await this.ping();
      const r = await this.docker(['version', '--format', '{{.Server.Version}}']);
      return { flavor: 'swarm' as const, version: r.stdout.trim() || 'unknown' };
    })();
    this.engineInfo.catch(() => (this.engineInfo = undefined));
    return this.engineInfo;
  }

  // ---- the engine view ----

  async listProjectContainers(stack: string): Promise<ContainerInfo[]> {
    await this.ping();
    const services = await this.services.stackServices(stack);
    const tasks = await this.services.serviceTasks(services);
    const out: ContainerInfo[] = [];
    const chosen = services.map((s) => ({ service: s, tasks: currentTasks(s, tasks) }));
    const containerIds = chosen.flatMap((c) => c.tasks.map((t) => t.Status?.ContainerStatus?.ContainerID ?? ''));
    const local = new Map((await this.inspectContainers(containerIds.filter(Boolean))).map((c) => [c.id, c]));
    for (const { service, tasks: current } of chosen) {
      const full = String(service.Spec?.Name ?? '');
      const short = full.startsWith(`${stack}_`) ? full.slice(stack.length + 1) : full;
      for (const t of current) out.push(taskContainer(stack, short, service, t, local));
      if (current.length === 0 && !isJob(service.Spec)) {
        // A long-running service with no task (scaled to 0, e.g. by a snapshot that was killed):
        // shown as one container that never started, carrying the service's own spec, so the plan
        // says which fields (deploy.replicas) differ instead of "missing".
        out.push(taskContainer(stack, short, service, null, local));
      }
    }
    return out;
  }

  /** `docker stack config` of the stack files: interpolated as `docker stack deploy` would. */
  private async stackConfig(target: ComposeTarget): Promise<any> {
    const r = await this.docker(['stack', 'config', ...target.files.flatMap((f) => ['-c', f])]);
    if (r.code !== 0) {
      throw new UserError(
        `docker stack config could not render stack '${target.project}' from ${target.files.join(', ')} (exit ` +
          `${r.code}):\n${composeReason(r.stderr) || 'no message'}`,
        { reason: 'compose-error' },
      );
    }
    const doc = parseYaml(r.stdout);
    if (!doc || typeof doc !== 'object' || !doc.services || typeof doc.services !== 'object') {
      throw new UserError(`docker stack config rendered no services for stack '${target.project}'`, {
        reason: 'compose-error',
      });
    }
    return doc;
  }

  async renderProject(target: ComposeTarget, _opts?: RenderOptions): Promise<RenderedProject> {
    const doc = await this.stackConfig(target);
    const services: Record<string, RenderedService> = {};
    const hashes: Record<string, string> = {};
    for (const [name, svc] of Object.entries(doc.services as Record<string, any>)) {
      const view = declaredView(target.project, svc, (doc.volumes ?? {}) as Record<string, any>);
      services[name] = { ...(svc as RenderedService), [SWARM_VIEW_KEY]: view };
      hashes[name] = viewHash(view);
    }
    const top = doc.volumes;
    const volumes = top && typeof top === 'object' && !Array.isArray(top) ? Object.keys(top) : [];
    return { services, hashes, volumes, inactive: {} };
  }

  inspectContainers(idsOrNames: readonly string[]): Promise<ContainerInfo[]> {
    return this.plain.inspectContainers(idsOrNames);
  }

  /** Up to `limit` local image IDs (the records part's view asks; the Swarm lock needs no image). */
  localImageIds(limit: number): Promise<string[]> {
    return this.plain.localImageIds(limit);
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

  // data mounts (§12): the same `docker ps`/`inspect` and `docker cp` on the manager
  listRunningContainers(): Promise<ContainerInfo[]> {
    return this.plain.listRunningContainers();
  }

  existingPaths(containerId: string, paths: readonly string[]): Promise<string[]> {
    return this.plain.existingPaths(containerId, paths);
  }

  // ---- the lifecycle ----

  async recreateService(target: ComposeTarget, service: string, imageOverride?: string): Promise<ExecResult> {
    await this.ping();
    const doc = await this.stackConfig(target);
    if (!doc.services[service]) {
      return { code: 1, stdout: '', stderr: `service '${service}' is not in the stack file` };
    }
    const before = await this.services.serviceByName(target.project, service);
    const oldTasks = new Set(before ? (await this.services.serviceTasks([before])).map((t) => t.ID) : ([] as string[]));
    // The rendered file holds environment values: a private temp dir, removed at once.
    const dir = await mkdtemp(path.join(tmpdir(), 'stateguard-stack-'));
    let deployed: ExecResult;
    try {
      const file = path.join(dir, 'stack.yaml');
      await writeFile(file, stringifyYaml(oneServiceStack(doc, service, imageOverride)), { mode: 0o600 });
      deployed = await this.docker(['stack', 'deploy', '--resolve-image', 'never', '-c', file, target.project]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    if (deployed.code !== 0) return deployed;
    const after = await this.services.serviceByName(target.project, service);
    if (!after)
      return {
        code: 1,
        stdout: deployed.stdout,
        stderr: `service ${target.project}_${service} is not there after deploy`,
      };
    // A job re-runs on every deploy (a new iteration); a long-running service gets new tasks only
    // when its spec changed: otherwise force them, as compose's --force-recreate does.
    if (!isJob(after.Spec) && before && JSON.stringify(before.Spec) === JSON.stringify(after.Spec)) {
      const f = await this.docker(['service', 'update', '--force', '--detach', after.ID]);
      if (f.code !== 0) return f;
    }
    const settled = await this.services.waitForNewTasks(after.ID, oldTasks);
    return 'failure' in settled ? settled.failure : { code: 0, stdout: deployed.stdout, stderr: deployed.stderr };
  }

  stop(containerIds: readonly string[], timeoutSeconds?: number): Promise<void> {
    return this.scaling.stop(containerIds, timeoutSeconds);
  }

  start(containerIds: readonly string[]): Promise<string[]> {
    return this.scaling.start(containerIds);
  }

  async resumeStopped(
    target: ComposeTarget,
    service: string,
  ): Promise<{ replicas: number; containerIds: string[] } | null> {
    await this.ping();
    const svc = await this.services.serviceByName(target.project, service);
    const kept = svc?.Spec?.Labels?.[SWARM_LABEL.stoppedReplicas];
    if (!svc || kept === undefined) return null;
    await this.workbench.removeHelpers(snapshotHelperKey(`${target.project}_${service}`));
    return this.scaling.scaleBack(svc);
  }

  wait(containerId: string, timeoutMs: number): Promise<WaitResult> {
    return this.plain.wait(containerId, timeoutMs);
  }

  logs(
    containerId: string,
    onChunk: (chunk: string, stream?: 'stdout' | 'stderr') => void,
    follow: boolean,
  ): Promise<void> {
    return this.plain.logs(containerId, onChunk, follow);
  }

  copyFrom(containerId: string, dir: string, sink: NodeJS.WritableStream): Promise<void> {
    return this.scaling.copyFrom(containerId, dir, sink);
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

  removeImageTag(ref: string): Promise<void> {
    return this.plain.removeImageTag(ref);
  }

  // ---- whole-stack deploy and removal: tests and the demo only ----

  composeUp(target: ComposeTarget): Promise<ExecResult> {
    return this.docker([
      'stack',
      'deploy',
      '--resolve-image',
      'never',
      ...target.files.flatMap((f) => ['-c', f]),
      target.project,
    ]);
  }

  async composeDown(target: ComposeTarget, removeVolumes: boolean): Promise<ExecResult> {
    const r = await this.docker(['stack', 'rm', target.project]);
    const deadline = Date.now() + CONVERGE_MS;
    const filter = `label=${SWARM_LABEL.namespace}=${target.project}`;
    while (Date.now() < deadline) {
      const running = await this.docker(['ps', '-q', '--filter', filter]);
      if (outputLines(running.stdout).length === 0) break;
      await sleep(POLL_MS);
    }
    // A job's finished task containers can outlive `docker stack rm`: remove what is left.
    const left = outputLines((await this.docker(['ps', '-aq', '--filter', filter])).stdout);
    if (left.length) await this.docker(['rm', '-f', ...left]);
    if (removeVolumes) {
      const vols = outputLines((await this.docker(['volume', 'ls', '-q', '--filter', filter])).stdout);
      if (vols.length) await this.docker(['volume', 'rm', '-f', ...vols]);
    }
    return r;
  }

  // ---- the record store: a docker config for the lock (./swarm-lock.ts), the rest as on compose ----

  async createLock(name: string, labels: Record<string, string>): Promise<boolean> {
    await this.ping();
    return this.lock.create(name, labels);
  }

  readLock(name: string): Promise<EngineLock | null> {
    return this.lock.read(name);
  }

  removeLock(id: string): Promise<void> {
    return this.lock.remove(id);
  }

  readRunRecords(project: string): Promise<RunRecord[]> {
    return this.records.readRunRecords(project);
  }

  writeRunRecord(record: RunRecord): Promise<void> {
    return this.records.writeRunRecord(record);
  }

  writeLastKnownGood(record: LastKnownGood): Promise<void> {
    return this.records.writeLastKnownGood(record);
  }

  readLastKnownGood(project: string, service: string): Promise<LastKnownGood | null> {
    return this.records.readLastKnownGood(project, service);
  }

  writeJournalMark(key: string, mark: JournalMark, keeper?: { image: string }): Promise<void> {
    return this.records.writeJournalMark(key, mark, keeper);
  }

  readJournal(key: string): Promise<JournalMark[]> {
    return this.records.readJournal(key);
  }

  removeJournalMark(key: string, seq: number): Promise<void> {
    return this.records.removeJournalMark(key, seq);
  }

  // ---- the workbench, as the compose adapter's (listMountEntries is refused below) ----

  helperImageProblem(image: string): Promise<string | null> {
    return this.workbench.helperImageProblem(image);
  }

  mountSpace(helper: HelperSpec): Promise<MountSpace[]> {
    return this.workbench.mountSpace(helper);
  }

  prepareWorkArea(helper: HelperSpec): Promise<void> {
    return this.workbench.prepareWorkArea(helper);
  }

  stage(helper: HelperSpec, produce: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    return this.workbench.stage(helper, produce);
  }

  setStagedTimes(helper: HelperSpec, times: readonly StagedTime[]): Promise<void> {
    return this.workbench.setStagedTimes(helper, times);
  }

  countStaged(helper: HelperSpec): Promise<StagedCount[]> {
    return this.workbench.countStaged(helper);
  }

  swap(
    helper: HelperSpec,
    direction: 'forward' | 'revert',
    roots: readonly (RootMeta | null)[],
  ): Promise<SwapResult[]> {
    return this.workbench.swap(helper, direction, roots);
  }

  dropWorkArea(helper: HelperSpec): Promise<void> {
    return this.workbench.dropWorkArea(helper);
  }

  workAreas(helper: HelperSpec): Promise<WorkAreaState[]> {
    return this.workbench.workAreas(helper);
  }

  removeHelpers(key: string): Promise<void> {
    return this.workbench.removeHelpers(key);
  }

  createScratchVolumes(key: string, count: number): Promise<string[]> {
    return this.workbench.createScratchVolumes(key, count);
  }

  removeScratch(key: string): Promise<void> {
    return this.workbench.removeScratch(key);
  }

  runThrowaway(spec: ThrowawaySpec): Promise<string> {
    return this.workbench.runThrowaway(spec);
  }

  // ---- an upgrade's exact rollback (docs/architecture.md §13): upgrade is refused on Swarm (§14) ----

  async readContainerDefinition(): Promise<{ problem: string }> {
    return { problem: 'a Swarm task is recreated by its service, not from a container definition' };
  }

  async recreateFromDefinition(): Promise<string> {
    throw new EnvironmentError(
      'recreating a container from its definition is not built for Swarm',
      'unsupported-runtime',
    );
  }

  /** The Swarm view hash is not compose's config hash: cannot tell (an upgrade then needs the plan hash). */
  async configHashWithImage(): Promise<null> {
    return null;
  }
  /**
   * The drift allowlist's proof (docs/architecture.md §3, "Drift allowlist"): no compose config hash on
   * Swarm, so never proven (validate refuses a container.config allowance on Swarm anyway).
   */
  async configHashWithValues(): Promise<null> {
    return null;
  }

  async listMountEntries(): Promise<never> {
    throw new EnvironmentError(
      'listing a volume is not built for Swarm (the data is node-local)',
      'unsupported-runtime',
    );
  }
}
