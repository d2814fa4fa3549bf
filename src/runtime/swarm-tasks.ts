/**
 * What the engine's `docker service inspect` and task JSON say, read as the Swarm adapter
 * (./swarm-cli.ts) needs it (docs/architecture.md §14): the labels Swarm and stateguard set, a task's
 * state as a container state, which tasks stand for a service now, and a task as a ContainerInfo whose
 * config hash is the hash of its view (./swarm-view.ts). Pure: no docker here.
 */
import { engineView, swarmImageRef, viewHash } from './swarm-view.js';
import type { ContainerInfo, ContainerState } from './types.js';

export const SWARM_LABEL = {
  namespace: 'com.docker.stack.namespace',
  serviceId: 'com.docker.swarm.service.id',
  serviceName: 'com.docker.swarm.service.name',
  taskId: 'com.docker.swarm.task.id',
  /** on a service stateguard scaled to 0: the replica count to scale back to */
  stoppedReplicas: 'io.stateguard.stopped-replicas',
} as const;

/** Task states before a container runs, the running one, and the terminal ones (docker/swarmkit). */
function containerState(taskState: string): ContainerState {
  switch (taskState) {
    case 'running':
    case 'starting':
      // starting: the container is being started, its command about to run; counted as running so
      // that apply never starts a second run against the same data.
      return 'running';
    case 'complete':
    case 'failed':
    case 'shutdown':
      return 'exited';
    case 'rejected':
    case 'orphaned':
    case 'remove':
      return 'dead';
    default:
      // new, pending, assigned, accepted, preparing, ready: no container runs yet
      return 'created';
  }
}

export interface Service {
  ID: string;
  Version?: { Index?: number };
  Spec: any;
  JobStatus?: { JobIteration?: { Index?: number } };
}

export interface Task {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt?: string;
  DesiredState?: string;
  JobIteration?: { Index?: number };
  Spec?: any;
  Status?: { State?: string; Timestamp?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
}

export function isJob(spec: any): boolean {
  return !!(spec?.Mode?.ReplicatedJob || spec?.Mode?.GlobalJob);
}

/**
 * The tasks that stand for a service now: a job's tasks of its current iteration; a long-running
 * service's tasks that Swarm wants running (older ones are history).
 */
export function currentTasks(service: Service, tasks: readonly Task[]): Task[] {
  const mine = tasks.filter((t) => t.ServiceID === service.ID);
  if (isJob(service.Spec)) {
    const iteration = service.JobStatus?.JobIteration?.Index ?? 0;
    return mine.filter((t) => (t.JobIteration?.Index ?? 0) === iteration);
  }
  return mine.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'ready');
}

export function taskContainer(
  stack: string,
  short: string,
  service: Service,
  t: Task | null,
  local: Map<string, ContainerInfo>,
): ContainerInfo {
  const view = engineView(service.Spec, t?.Spec);
  const cid = t?.Status?.ContainerStatus?.ContainerID ?? '';
  const c = cid ? local.get(cid) : undefined;
  const taskState = t?.Status?.State ?? 'none';
  const state = containerState(taskState);
  const exit = t?.Status?.ContainerStatus?.ExitCode;
  const name = t ? `${service.Spec?.Name}.${t.Slot ?? t.NodeID ?? ''}.${t.ID}` : `${service.Spec?.Name} (no task)`;
  return {
    id: cid || (t ? `task-${t.ID}` : `service-${service.ID}`),
    name: c?.name ?? name,
    imageRef: swarmImageRef(
      String(t?.Spec?.ContainerSpec?.Image ?? service.Spec?.TaskTemplate?.ContainerSpec?.Image ?? ''),
    ),
    imageId: c?.imageId ?? '',
    state,
    exitCode: state === 'exited' || state === 'dead' ? (typeof exit === 'number' ? exit : (c?.exitCode ?? null)) : null,
    health: state === 'running' ? (c?.health ?? null) : null,
    startedAt: c?.startedAt ?? null,
    finishedAt: c?.finishedAt ?? null,
    createdAt: t?.CreatedAt ?? '',
    labels: { ...(c?.labels ?? {}), ...(t ? { [SWARM_LABEL.taskId]: t.ID } : {}) },
    project: stack,
    service: short,
    oneoff: false,
    configHash: viewHash(view),
    env: Array.isArray(view.environment) ? view.environment : [],
    mounts: c?.mounts ?? [],
    swarm: { task_id: t?.ID ?? '', service_id: service.ID, node_id: t?.NodeID ?? '', task_state: taskState, view },
  };
}
