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
 * - Stopping a long-running service scales it to 0 (stopping a task container only makes Swarm
 *   start another one) and remembers the replica count in a service label, so a crash leaves the
 *   number to come back to; starting scales it back and returns the new task containers.
 * - A scaled-down task's container is removed by Swarm, so a snapshot reads the volume through a
 *   never-started helper container that mounts it (same image, no network, labelled).
 * - The lock is a `docker config`: a cluster-wide object whose name is unique on the managers.
 * - Data-mount checks (listRunningContainers, existingPaths) are the compose adapter's own: the same
 *   `docker ps`/`inspect` and `docker cp` on the manager, which sees this node's task containers.
 * Single node only for volumes: a task on another node has no container here; see §14 for the
 * multi-node design and what is refused until it is built.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { EnvironmentError, UserError } from '../errors.js';
import { SWARM_VIEW_KEY } from '../drift/config-diff.js';
import { DockerCli, firstLine, outputLines, type DockerCliOptions } from './docker-cli.js';
import { composeReason } from './compose-render.js';
import { oneServiceStack } from './swarm-stack-file.js';
import { currentTasks, isJob, SWARM_LABEL, taskContainer, type Service, type Task } from './swarm-tasks.js';
import { declaredView, viewHash } from './swarm-view.js';
import type {
  ComposeInfo,
  ComposeTarget,
  ContainerInfo,
  EngineLock,
  ExecResult,
  RenderedProject,
  RenderedService,
  RenderOptions,
} from './types.js';

/** How long a recreate or a scale waits for the new tasks to have containers. */
const CONVERGE_MS = 120_000;
const POLL_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The label value of the helper that reads a stopped service's volume for a snapshot. */
function snapshotHelperKey(serviceName: string): string {
  // an operation key's alphabet (lower-case letters and digits), whatever the service is called
  return `snap${createHash('sha256').update(serviceName).digest('hex').slice(0, 28)}`;
}

/** A config name valid on the engine (≤ 64 characters), derived from the lock's name. */
export function lockConfigName(name: string): string {
  if (name.length <= 64 && /^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$/.test(name)) return name;
  return `stateguard-lock-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

/** What a stopped task container was, so its volumes can still be read after Swarm removed it. */
interface Stopped {
  serviceId: string;
  container: ContainerInfo;
}

export class SwarmCli extends DockerCli {
  private readonly stopped = new Map<string, Stopped>();
  private swarmChecked: Promise<void> | undefined;
  private engineInfo: Promise<ComposeInfo> | undefined;

  constructor(opts: DockerCliOptions = {}) {
    super(opts);
  }

  override async ping(): Promise<void> {
    await super.ping();
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

  override composeInfo(): Promise<ComposeInfo> {
    this.engineInfo ??= (async () => {
      await this.ping();
      const r = await this.docker(['version', '--format', '{{.Server.Version}}']);
      return { flavor: 'swarm' as const, version: r.stdout.trim() || 'unknown' };
    })();
    this.engineInfo.catch(() => (this.engineInfo = undefined));
    return this.engineInfo;
  }

  private async stackServices(stack: string): Promise<Service[]> {
    const ls = await this.docker(['service', 'ls', '-q', '--filter', `label=${SWARM_LABEL.namespace}=${stack}`]);
    if (ls.code !== 0) throw new EnvironmentError(`docker service ls failed: ${firstLine(ls.stderr)}`);
    const ids = outputLines(ls.stdout);
    if (ids.length === 0) return [];
    const r = await this.docker(['service', 'inspect', ...ids]);
    if (r.code !== 0 && !r.stdout.trim().startsWith('[')) {
      throw new EnvironmentError(`docker service inspect failed: ${firstLine(r.stderr)}`);
    }
    // The label filter matched; re-check so a parsing surprise never mixes stacks.
    return (JSON.parse(r.stdout.trim() || '[]') as Service[]).filter(
      (s) => s.Spec?.Labels?.[SWARM_LABEL.namespace] === stack,
    );
  }

  private async serviceTasks(services: readonly Service[]): Promise<Task[]> {
    if (services.length === 0) return [];
    const ps = await this.docker(['service', 'ps', '-q', '--no-trunc', ...services.map((s) => s.ID)]);
    if (ps.code !== 0) throw new EnvironmentError(`docker service ps failed: ${firstLine(ps.stderr)}`);
    const ids = [...new Set(outputLines(ps.stdout))];
    if (ids.length === 0) return [];
    const r = await this.docker(['inspect', '--type', 'task', ...ids]);
    if (r.code !== 0 && !r.stdout.trim().startsWith('[')) {
      throw new EnvironmentError(`docker inspect of tasks failed: ${firstLine(r.stderr)}`);
    }
    return JSON.parse(r.stdout.trim() || '[]') as Task[];
  }

  override async listProjectContainers(stack: string): Promise<ContainerInfo[]> {
    await this.ping();
    const services = await this.stackServices(stack);
    const tasks = await this.serviceTasks(services);
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

  override async renderProject(target: ComposeTarget, _opts?: RenderOptions): Promise<RenderedProject> {
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

  private async serviceByName(stack: string, service: string): Promise<Service | null> {
    const r = await this.docker(['service', 'inspect', `${stack}_${service}`]);
    if (r.code !== 0) {
      if (/no such service/i.test(r.stderr)) return null;
      throw new EnvironmentError(`docker service inspect ${stack}_${service} failed: ${firstLine(r.stderr)}`);
    }
    return (JSON.parse(r.stdout.trim() || '[]') as Service[])[0] ?? null;
  }

  override async recreateService(target: ComposeTarget, service: string, imageOverride?: string): Promise<ExecResult> {
    await this.ping();
    const doc = await this.stackConfig(target);
    if (!doc.services[service]) {
      return { code: 1, stdout: '', stderr: `service '${service}' is not in the stack file` };
    }
    const before = await this.serviceByName(target.project, service);
    const oldTasks = new Set(before ? (await this.serviceTasks([before])).map((t) => t.ID) : ([] as string[]));
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
    const after = await this.serviceByName(target.project, service);
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
    const settled = await this.waitForNewTasks(after.ID, oldTasks);
    return 'failure' in settled ? settled.failure : { code: 0, stdout: deployed.stdout, stderr: deployed.stderr };
  }

  /**
   * Bounded: until the service's current tasks are all new ones that have a container (or ended);
   * those tasks when they do, an ExecResult saying what is missing when the bound passes.
   */
  private async waitForNewTasks(
    serviceId: string,
    oldTasks: ReadonlySet<string>,
  ): Promise<{ tasks: Task[] } | { failure: ExecResult }> {
    const deadline = Date.now() + CONVERGE_MS;
    let seen = '';
    for (;;) {
      const [svc] = (await this.inspectServices([serviceId])) ?? [];
      if (svc) {
        const current = currentTasks(svc, await this.serviceTasks([svc]));
        const want = isJob(svc.Spec) ? 1 : (svc.Spec?.Mode?.Replicated?.Replicas ?? 1);
        const ready = current.filter(
          (t) =>
            !oldTasks.has(t.ID) &&
            (t.Status?.ContainerStatus?.ContainerID || /^(failed|rejected)$/.test(t.Status?.State ?? '')),
        );
        seen = current.map((t) => `${t.ID.slice(0, 12)} ${t.Status?.State}`).join(', ') || 'no task';
        if (ready.length >= want && current.every((t) => !oldTasks.has(t.ID))) return { tasks: current };
      }
      if (Date.now() > deadline) {
        return {
          failure: {
            code: 1,
            stdout: '',
            stderr: `the service's new tasks did not start within ${CONVERGE_MS / 1000}s (${seen})`,
          },
        };
      }
      await sleep(POLL_MS);
    }
  }

  private async inspectServices(ids: readonly string[]): Promise<Service[] | null> {
    const r = await this.docker(['service', 'inspect', ...ids]);
    if (r.code !== 0 && !r.stdout.trim().startsWith('[')) return null;
    return JSON.parse(r.stdout.trim() || '[]') as Service[];
  }

  /** Task containers of a long-running service are stopped by scaling it to 0 (see the file comment). */
  override async stop(containerIds: readonly string[], timeoutSeconds?: number): Promise<void> {
    if (containerIds.length === 0) return;
    // Fail closed: a task whose container is not on this engine (another node), or a container that
    // vanished since it was listed (Swarm replaced the task), cannot be stopped from here.
    const remote = containerIds.filter((id) => /^(task|service)-/.test(id));
    if (remote.length) {
      throw new EnvironmentError(
        `${remote.join(', ')} has no container on the engine stateguard talks to (a task on another node, or ` +
          `none yet); stateguard stops only tasks on this engine (docs/architecture.md §14, multi-node)`,
      );
    }
    const found = await this.inspectContainers(containerIds);
    const vanished = containerIds.filter((id) => !found.some((c) => c.id === id || c.id.startsWith(id)));
    if (vanished.length) {
      throw new EnvironmentError(
        `container ${vanished.map((id) => id.slice(0, 12)).join(', ')} is gone since it was listed (Swarm may ` +
          `have replaced its task); nothing was stopped: run it again`,
      );
    }
    const plain: string[] = [];
    const byService = new Map<string, ContainerInfo[]>();
    for (const c of found) {
      const sid = c.labels[SWARM_LABEL.serviceId];
      if (!sid) {
        plain.push(c.id);
        continue;
      }
      byService.set(sid, [...(byService.get(sid) ?? []), c]);
    }
    for (const [sid, containers] of byService) {
      const [svc] = (await this.inspectServices([sid])) ?? [];
      if (!svc) throw new EnvironmentError(`service ${sid} of container ${containers[0]!.name} is gone`);
      if (isJob(svc.Spec)) {
        // A job's task does not restart (restart_policy none): stop its container itself.
        plain.push(...containers.map((c) => c.id));
        continue;
      }
      for (const c of containers) this.stopped.set(c.id, { serviceId: sid, container: c });
      const replicas = Number(svc.Spec?.Mode?.Replicated?.Replicas ?? 0);
      const kept = svc.Spec?.Labels?.[SWARM_LABEL.stoppedReplicas];
      const args = ['service', 'update', '--detach', '--replicas', '0'];
      // A second stop (a retry after a crash) keeps the count recorded by the first.
      if (kept === undefined) args.push('--label-add', `${SWARM_LABEL.stoppedReplicas}=${replicas}`);
      const r = await this.docker([...args, sid]);
      if (r.code !== 0) throw new EnvironmentError(`scaling ${svc.Spec?.Name} to 0 failed: ${firstLine(r.stderr)}`);
      await this.waitGone(
        containers.map((c) => c.id),
        ((timeoutSeconds ?? 10) + 60) * 1000,
        String(svc.Spec?.Name),
      );
    }
    if (plain.length) await super.stop(plain, timeoutSeconds);
  }

  /** Bounded: until none of these containers runs. */
  private async waitGone(ids: readonly string[], timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = (await this.inspectContainers(ids)).filter((c) => c.state === 'running' || c.state === 'restarting');
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new EnvironmentError(
          `${what} still runs ${left.map((c) => c.id.slice(0, 12)).join(', ')} after scaling to 0`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  override async start(containerIds: readonly string[]): Promise<string[]> {
    if (containerIds.length === 0) return [];
    const services = new Set<string>();
    const plain: string[] = [];
    for (const id of containerIds) {
      const s = this.stopped.get(id)?.serviceId;
      if (s) services.add(s);
      else plain.push(id);
    }
    const out = plain.length ? await super.start(plain) : [];
    for (const sid of services) {
      const [svc] = (await this.inspectServices([sid])) ?? [];
      if (!svc) throw new EnvironmentError(`service ${sid} is gone; it cannot be started again`);
      out.push(...(await this.scaleBack(svc)).containerIds);
      for (const [cid, s] of this.stopped) if (s.serviceId === sid) this.stopped.delete(cid);
    }
    return out;
  }

  override async resumeStopped(
    target: ComposeTarget,
    service: string,
  ): Promise<{ replicas: number; containerIds: string[] } | null> {
    await this.ping();
    const svc = await this.serviceByName(target.project, service);
    const kept = svc?.Spec?.Labels?.[SWARM_LABEL.stoppedReplicas];
    if (!svc || kept === undefined) return null;
    await this.removeHelpers(snapshotHelperKey(`${target.project}_${service}`));
    return this.scaleBack(svc);
  }

  /**
   * Scale a service stateguard scaled to 0 back to the count its label recorded (1 when the label is
   * gone), remove the label, and wait, bounded, for its new tasks' containers.
   */
  private async scaleBack(svc: Service): Promise<{ replicas: number; containerIds: string[] }> {
    const kept = svc.Spec?.Labels?.[SWARM_LABEL.stoppedReplicas];
    const replicas = kept === undefined ? 1 : Number(kept);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new EnvironmentError(
        `${svc.Spec?.Name} carries ${SWARM_LABEL.stoppedReplicas}=${JSON.stringify(kept)}, not a replica count; ` +
          `scale it by hand (docker service scale) and remove the label`,
      );
    }
    const old = new Set((await this.serviceTasks([svc])).map((t) => t.ID));
    const args = ['service', 'update', '--detach', '--replicas', String(replicas)];
    if (kept !== undefined) args.push('--label-rm', SWARM_LABEL.stoppedReplicas);
    const r = await this.docker([...args, svc.ID]);
    if (r.code !== 0) {
      throw new EnvironmentError(`scaling ${svc.Spec?.Name} back to ${replicas} failed: ${firstLine(r.stderr)}`);
    }
    const waited = replicas > 0 ? await this.waitForNewTasks(svc.ID, old) : { tasks: [] };
    if ('failure' in waited) throw new EnvironmentError(`${svc.Spec?.Name}: ${waited.failure.stderr}`);
    const { tasks } = waited;
    return {
      replicas,
      containerIds: tasks.map((t) => t.Status?.ContainerStatus?.ContainerID ?? '').filter(Boolean),
    };
  }

  /**
   * A stopped task's container is gone (Swarm removes it when scaling down): its volume is read
   * through a never-started helper mounting the same volume at the same path.
   */
  override async copyFrom(containerId: string, dir: string, sink: NodeJS.WritableStream): Promise<void> {
    const gone = this.stopped.get(containerId);
    if (!gone || (await this.inspectContainers([containerId])).length > 0)
      return super.copyFrom(containerId, dir, sink);
    const mount = gone.container.mounts.find((m) => m.destination === dir);
    if (!mount || mount.type !== 'volume' || !mount.name) {
      throw new EnvironmentError(
        `${dir} of ${gone.container.name} is not a named volume; on Swarm a snapshot reads named volumes only`,
      );
    }
    // One key per service (the module lock allows one snapshot at a time): recover removes a helper
    // a killed snapshot left behind.
    const key = snapshotHelperKey(String(gone.container.labels[SWARM_LABEL.serviceName] ?? 'unknown'));
    const created = await this.docker([
      'create',
      '--pull',
      'never',
      '--network',
      'none',
      '--label',
      `io.stateguard.helper=${key}`,
      '--mount',
      `type=volume,src=${mount.name},dst=${dir}`,
      gone.container.imageId,
      'stateguard-never-started',
    ]);
    if (created.code !== 0) {
      throw new EnvironmentError(`cannot create a helper to read volume ${mount.name}: ${firstLine(created.stderr)}`);
    }
    const helper = created.stdout.trim();
    try {
      await super.copyFrom(helper, dir, sink);
    } finally {
      await this.docker(['rm', '-f', helper]);
    }
  }

  // ---- the lock: a docker config, unique by name across the swarm's managers ----

  override async createLock(name: string, labels: Record<string, string>): Promise<boolean> {
    await this.ping();
    const config = lockConfigName(name);
    const r = await this.docker(
      [
        'config',
        'create',
        ...Object.entries({ ...labels, 'io.stateguard.lock-name': name }).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
        config,
        '-',
      ],
      { input: `stateguard lock ${name}\n` },
    );
    if (r.code === 0) return true;
    if (/already exists|AlreadyExists|conflict/i.test(r.stderr)) return false;
    throw new EnvironmentError(`cannot take the lock ${name} (docker config ${config}): ${firstLine(r.stderr)}`);
  }

  override async readLock(name: string): Promise<EngineLock | null> {
    const config = lockConfigName(name);
    const r = await this.docker(['config', 'inspect', config]);
    if (r.code !== 0) {
      if (/no such config|not found/i.test(r.stderr)) return null;
      throw new EnvironmentError(`docker config inspect ${config} failed: ${firstLine(r.stderr)}`);
    }
    const [c] = JSON.parse(r.stdout.trim() || '[]') as Array<{ ID: string; CreatedAt?: string; Spec?: any }>;
    if (!c) return null;
    return {
      id: c.ID,
      name: String(c.Spec?.Name ?? config),
      labels: c.Spec?.Labels ?? {},
      createdAt: c.CreatedAt ?? '',
    };
  }

  override async removeLock(id: string): Promise<void> {
    const r = await this.docker(['config', 'rm', id]);
    if (r.code !== 0 && !/no such config|not found/i.test(r.stderr)) {
      throw new EnvironmentError(`docker config rm ${id} failed: ${firstLine(r.stderr)}`);
    }
  }

  // ---- whole-stack deploy and removal: tests and the demo only ----

  override composeUp(target: ComposeTarget): Promise<ExecResult> {
    return this.docker([
      'stack',
      'deploy',
      '--resolve-image',
      'never',
      ...target.files.flatMap((f) => ['-c', f]),
      target.project,
    ]);
  }

  override async composeDown(target: ComposeTarget, removeVolumes: boolean): Promise<ExecResult> {
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

  // ---- an upgrade's exact rollback (docs/architecture.md §13): upgrade is refused on Swarm (§14) ----

  override async readContainerDefinition(): Promise<{ problem: string }> {
    return { problem: 'a Swarm task is recreated by its service, not from a container definition' };
  }

  override async recreateFromDefinition(): Promise<string> {
    throw new EnvironmentError(
      'recreating a container from its definition is not built for Swarm',
      'unsupported-runtime',
    );
  }

  /** The Swarm view hash is not compose's config hash: cannot tell (an upgrade then needs the plan hash). */
  override async configHashWithImage(): Promise<null> {
    return null;
  }
  /**
   * The drift allowlist's proof (docs/architecture.md §3, "Drift allowlist"): no compose config hash on
   * Swarm, so never proven (validate refuses a container.config allowance on Swarm anyway).
   */
  override async configHashWithValues(): Promise<null> {
    return null;
  }

  override async listMountEntries(): Promise<never> {
    throw new EnvironmentError(
      'listing a volume is not built for Swarm (the data is node-local)',
      'unsupported-runtime',
    );
  }
}
