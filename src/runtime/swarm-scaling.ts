/**
 * Stopping and starting on Swarm (docs/architecture.md §14, snapshot): a long-running service's task
 * containers are stopped by scaling the service to 0 (stopping a task container only makes Swarm
 * start another one), with the replica count kept in a service label so a crash leaves the number to
 * come back to; starting scales it back and returns the new task containers. Swarm removes a
 * scaled-down task's container, so its volume is then read through a never-started helper that
 * mounts it (same image, no network, labelled). A job's task, and a container that is no task, is
 * stopped, started and copied as on a plain engine (./docker-engine.ts). A part of the Swarm adapter
 * (./swarm-cli.ts); it remembers the containers it stopped.
 */
import { createHash } from 'node:crypto';
import { EnvironmentError } from '../errors.js';
import type { DockerCommand } from './docker-command.js';
import type { DockerEngine } from './docker-engine.js';
import { firstLine } from './docker-parsers.js';
import { POLL_MS, sleep, type SwarmServices } from './swarm-services.js';
import { isJob, SWARM_LABEL, type Service } from './swarm-tasks.js';
import type { ContainerInfo, ExecOptions, ExecResult } from './types.js';

/** The label value of the helper that reads a stopped service's volume for a snapshot. */
export function snapshotHelperKey(serviceName: string): string {
  // an operation key's alphabet (lower-case letters and digits), whatever the service is called
  return `snap${createHash('sha256').update(serviceName).digest('hex').slice(0, 28)}`;
}

/** What a stopped task container was, so its volumes can still be read after Swarm removed it. */
interface Stopped {
  serviceId: string;
  container: ContainerInfo;
}

export class SwarmScaling {
  private readonly stopped = new Map<string, Stopped>();

  constructor(
    private readonly command: DockerCommand,
    private readonly plain: DockerEngine,
    private readonly services: SwarmServices,
  ) {}

  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  /** Task containers of a long-running service are stopped by scaling it to 0 (see the file comment). */
  async stop(containerIds: readonly string[], timeoutSeconds?: number): Promise<void> {
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
    const found = await this.plain.inspectContainers(containerIds);
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
      const [svc] = (await this.services.inspectServices([sid])) ?? [];
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
    if (plain.length) await this.plain.stop(plain, timeoutSeconds);
  }

  /** Bounded: until none of these containers runs. */
  private async waitGone(ids: readonly string[], timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = (await this.plain.inspectContainers(ids)).filter(
        (c) => c.state === 'running' || c.state === 'restarting',
      );
      if (left.length === 0) return;
      if (Date.now() > deadline) {
        throw new EnvironmentError(
          `${what} still runs ${left.map((c) => c.id.slice(0, 12)).join(', ')} after scaling to 0`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  async start(containerIds: readonly string[]): Promise<string[]> {
    if (containerIds.length === 0) return [];
    const services = new Set<string>();
    const plain: string[] = [];
    for (const id of containerIds) {
      const s = this.stopped.get(id)?.serviceId;
      if (s) services.add(s);
      else plain.push(id);
    }
    const out = plain.length ? await this.plain.start(plain) : [];
    for (const sid of services) {
      const [svc] = (await this.services.inspectServices([sid])) ?? [];
      if (!svc) throw new EnvironmentError(`service ${sid} is gone; it cannot be started again`);
      out.push(...(await this.scaleBack(svc)).containerIds);
      for (const [cid, s] of this.stopped) if (s.serviceId === sid) this.stopped.delete(cid);
    }
    return out;
  }

  /**
   * Scale a service stateguard scaled to 0 back to the count its label recorded (1 when the label is
   * gone), remove the label, and wait, bounded, for its new tasks' containers.
   */
  async scaleBack(svc: Service): Promise<{ replicas: number; containerIds: string[] }> {
    const kept = svc.Spec?.Labels?.[SWARM_LABEL.stoppedReplicas];
    const replicas = kept === undefined ? 1 : Number(kept);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new EnvironmentError(
        `${svc.Spec?.Name} carries ${SWARM_LABEL.stoppedReplicas}=${JSON.stringify(kept)}, not a replica count; ` +
          `scale it by hand (docker service scale) and remove the label`,
      );
    }
    const old = new Set((await this.services.serviceTasks([svc])).map((t) => t.ID));
    const args = ['service', 'update', '--detach', '--replicas', String(replicas)];
    if (kept !== undefined) args.push('--label-rm', SWARM_LABEL.stoppedReplicas);
    const r = await this.docker([...args, svc.ID]);
    if (r.code !== 0) {
      throw new EnvironmentError(`scaling ${svc.Spec?.Name} back to ${replicas} failed: ${firstLine(r.stderr)}`);
    }
    const waited = replicas > 0 ? await this.services.waitForNewTasks(svc.ID, old) : { tasks: [] };
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
  async copyFrom(containerId: string, dir: string, sink: NodeJS.WritableStream): Promise<void> {
    const gone = this.stopped.get(containerId);
    if (!gone || (await this.plain.inspectContainers([containerId])).length > 0)
      return this.plain.copyFrom(containerId, dir, sink);
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
      await this.plain.copyFrom(helper, dir, sink);
    } finally {
      await this.docker(['rm', '-f', helper]);
    }
  }
}
