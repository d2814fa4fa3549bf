/**
 * The stack's services and their tasks as the manager reports them (docs/architecture.md §14):
 * `docker service ls/inspect` by the stack's namespace label, `docker service ps` + `docker inspect
 * --type task`, and the bounded wait until a service's new tasks have containers. A part of the Swarm
 * adapter (./swarm-cli.ts), shared by its view, its deploys and its scaling (./swarm-scaling.ts);
 * reading the JSON is ./swarm-tasks.ts.
 */
import { EnvironmentError } from '../errors.js';
import type { DockerCommand } from './docker-command.js';
import { firstLine, outputLines } from './docker-parsers.js';
import { currentTasks, isJob, SWARM_LABEL, type Service, type Task } from './swarm-tasks.js';
import type { ExecOptions, ExecResult } from './types.js';

/** How long a recreate or a scale waits for the new tasks to have containers. */
export const CONVERGE_MS = 120_000;
export const POLL_MS = 250;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SwarmServices {
  constructor(private readonly command: DockerCommand) {}

  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  async stackServices(stack: string): Promise<Service[]> {
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

  async serviceTasks(services: readonly Service[]): Promise<Task[]> {
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

  async serviceByName(stack: string, service: string): Promise<Service | null> {
    const r = await this.docker(['service', 'inspect', `${stack}_${service}`]);
    if (r.code !== 0) {
      if (/no such service/i.test(r.stderr)) return null;
      throw new EnvironmentError(`docker service inspect ${stack}_${service} failed: ${firstLine(r.stderr)}`);
    }
    return (JSON.parse(r.stdout.trim() || '[]') as Service[])[0] ?? null;
  }

  async inspectServices(ids: readonly string[]): Promise<Service[] | null> {
    const r = await this.docker(['service', 'inspect', ...ids]);
    if (r.code !== 0 && !r.stdout.trim().startsWith('[')) return null;
    return JSON.parse(r.stdout.trim() || '[]') as Service[];
  }

  /**
   * Bounded: until the service's current tasks are all new ones that have a container (or ended);
   * those tasks when they do, an ExecResult saying what is missing when the bound passes.
   */
  async waitForNewTasks(
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
}
