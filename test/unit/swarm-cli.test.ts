/**
 * The Swarm adapter without an engine (docs/architecture.md §14), through a scripted runner: the
 * manager check, which tasks stand for a service (a job's current iteration, the tasks Swarm wants
 * running, a service scaled to 0), how task states read, and the docker-config lock.
 */
import { describe, expect, it } from '@jest/globals';
import { EnvironmentError } from '../../src/errors.js';
import { lockConfigName, SwarmCli } from '../../src/runtime/swarm-cli.js';
import { engineView, viewHash } from '../../src/runtime/swarm-view.js';
import type { ExecResult } from '../../src/runtime/types.js';
import { ok, scripted, type Reply } from '../support/scripted-runner.js';

const MANAGER: Array<[RegExp, Reply]> = [
  [/^docker version/, ok('20.10.24\n')],
  [/^docker info --format \{\{json \.Swarm\}\}/, ok('{"LocalNodeState":"active","ControlAvailable":true}\n')],
];

const JOB_SPEC = {
  Name: 'shop_init',
  Labels: { 'com.docker.stack.namespace': 'shop' },
  TaskTemplate: { ContainerSpec: { Image: 'app:1', Args: ['run'] }, RestartPolicy: { Condition: 'none' } },
  Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
};
const DB_SPEC = {
  Name: 'shop_db',
  Labels: { 'com.docker.stack.namespace': 'shop' },
  TaskTemplate: { ContainerSpec: { Image: 'db:1' } },
  Mode: { Replicated: { Replicas: 1 } },
};
const WEB_SPEC = { ...DB_SPEC, Name: 'shop_web', Mode: { Replicated: { Replicas: 0 } } };

const SERVICES = [
  { ID: 'sjob', Spec: JOB_SPEC, JobStatus: { JobIteration: { Index: 2 } } },
  { ID: 'sdb', Spec: DB_SPEC },
  { ID: 'sweb', Spec: WEB_SPEC },
];
const task = (id: string, service: string, state: string, desired: string, extra: Record<string, unknown> = {}) => ({
  ID: id,
  ServiceID: service,
  NodeID: 'n1',
  DesiredState: desired,
  CreatedAt: '2026-11-29T10:00:00Z',
  Spec: service === 'sjob' ? JOB_SPEC.TaskTemplate : DB_SPEC.TaskTemplate,
  Status: { State: state, ContainerStatus: { ContainerID: `c-${id}`, ExitCode: state === 'failed' ? 1 : 0 } },
  ...extra,
});
const TASKS = [
  task('t-old-run', 'sjob', 'complete', 'complete', { JobIteration: { Index: 1 } }),
  task('t-now', 'sjob', 'failed', 'complete', { JobIteration: { Index: 2 } }),
  task('t-db-old', 'sdb', 'shutdown', 'shutdown'),
  task('t-db', 'sdb', 'running', 'running'),
];

function stack(extra: Array<[RegExp, Reply]> = []) {
  return scripted([
    ...MANAGER,
    ...extra,
    [/^docker service ls -q --filter label=com.docker.stack.namespace=shop/, ok('sjob\nsdb\nsweb\n')],
    [/^docker service inspect sjob sdb sweb/, ok(JSON.stringify(SERVICES))],
    [/^docker service ps -q --no-trunc sjob sdb sweb/, ok(TASKS.map((t) => t.ID).join('\n'))],
    [/^docker inspect --type task/, ok(JSON.stringify(TASKS))],
    // only the db task's container is on this node
    [
      /^docker inspect --type container/,
      ok(
        JSON.stringify([
          {
            Id: 'c-t-db',
            Name: '/shop_db.1.t-db',
            Image: 'sha256:dbimg',
            Config: { Image: 'db:1', Labels: {} },
            State: { Status: 'running', Health: { Status: 'healthy' } },
            Mounts: [],
          },
        ]),
      ),
    ],
  ]);
}

describe('SwarmCli', () => {
  it.each([
    ['{"LocalNodeState":"inactive","ControlAvailable":false}', /not a swarm manager \(swarm state: inactive\)/],
    ['{"LocalNodeState":"active","ControlAvailable":false}', /swarm state: active, a worker/],
    ['not json', /swarm state: unknown/],
  ])('refuses an engine that is not a manager (%s), naming DOCKER_HOST', async (info, message) => {
    const s = scripted([
      [/^docker version/, ok('20.10.24\n')],
      [/^docker info/, ok(info)],
    ]);
    const err = await new SwarmCli({ runner: s.runner }).ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain('DOCKER_HOST');
  });

  it('observes the current tasks: a job only by its current iteration; a service only by the tasks Swarm wants running; a service at 0 replicas as one never-started container', async () => {
    const s = stack();
    const list = await new SwarmCli({ runner: s.runner }).listProjectContainers('shop');
    expect(list.map((c) => [c.service, c.id, c.state, c.exitCode, c.health])).toEqual([
      ['init', 'c-t-now', 'exited', 1, null],
      ['db', 'c-t-db', 'running', null, 'healthy'],
      ['web', 'service-sweb', 'created', null, null],
    ]);
    // The job's config hash is the view of what its task ran; the db's comes with its local image ID.
    expect(list[0]!.configHash).toBe(viewHash(engineView(JOB_SPEC, JOB_SPEC.TaskTemplate)));
    expect(list[1]).toMatchObject({ imageId: 'sha256:dbimg', project: 'shop', imageRef: 'db:1' });
    expect(list[0]!.imageId).toBe('');
    // Only docker, with argument arrays; nothing deployed, scaled or removed by reading.
    expect(s.calls.every((c) => c.cmd === 'docker')).toBe(true);
    expect(s.calls.some((c) => c.args.some((a) => ['deploy', 'update', 'scale', 'rm', 'create'].includes(a)))).toBe(
      false,
    );
  });

  it.each([
    ['pending', 'created', null],
    ['starting', 'running', null],
    ['running', 'running', null],
    ['complete', 'exited', 0],
    ['failed', 'exited', 1],
    ['rejected', 'dead', 1],
    ['orphaned', 'dead', 1],
  ])('a task %s reads as a container %s', async (taskState, state, exitCode) => {
    const one = [
      task('t1', 'sjob', taskState, 'complete', {
        Status: { State: taskState, ContainerStatus: { ContainerID: '', ExitCode: exitCode ?? undefined } },
      }),
    ];
    const s = scripted([
      ...MANAGER,
      [/^docker service ls/, ok('sjob\n')],
      [/^docker service inspect sjob/, ok(JSON.stringify([{ ID: 'sjob', Spec: JOB_SPEC }]))],
      [/^docker service ps/, ok('t1\n')],
      [/^docker inspect --type task/, ok(JSON.stringify(one))],
    ]);
    const [c] = await new SwarmCli({ runner: s.runner }).listProjectContainers('shop');
    expect(c).toMatchObject({
      state,
      exitCode: state === 'exited' || state === 'dead' ? exitCode : null,
      id: 'task-t1',
    });
  });

  it('the lock is a docker config created from stdin with its labels; a taken name is false; another error throws', async () => {
    const answers: ExecResult[] = [
      ok('id1\n'),
      {
        code: 1,
        stdout: '',
        stderr:
          'Error response from daemon: rpc error: code = AlreadyExists desc = config stateguard-lock-x already exists',
      },
      { code: 1, stdout: '', stderr: 'permission denied' },
    ];
    const s = scripted([...MANAGER, [/^docker config create/, () => answers.shift()!]]);
    const rt = new SwarmCli({ runner: s.runner });
    expect(await rt.createLock('stateguard-lock-x', { 'io.stateguard.lock': '1' })).toBe(true);
    const create = s.calls.find((c) => c.args[0] === 'config')!;
    expect(create.args).toEqual([
      'config',
      'create',
      '--label',
      'io.stateguard.lock=1',
      '--label',
      'io.stateguard.lock-name=stateguard-lock-x',
      'stateguard-lock-x',
      '-',
    ]);
    expect(String(create.opts?.input)).toContain('stateguard lock');
    expect(await rt.createLock('stateguard-lock-x', {})).toBe(false);
    await expect(rt.createLock('stateguard-lock-x', {})).rejects.toThrow(/permission denied/);
  });

  it('reads a lock back by its config name, and none is null', async () => {
    const long = `stateguard-lock-${'p'.repeat(50)}-svc-0123456789`;
    const s = scripted([
      [
        new RegExp(`^docker config inspect ${lockConfigName(long)}`),
        ok(
          JSON.stringify([
            {
              ID: 'cfg1',
              CreatedAt: '2026-11-29T10:00:00Z',
              Spec: { Name: lockConfigName(long), Labels: { 'io.stateguard.lock': '1' } },
            },
          ]),
        ),
      ],
      [/^docker config inspect/, { code: 1, stdout: '', stderr: 'Error: no such config: stateguard-lock-y' }],
    ]);
    const rt = new SwarmCli({ runner: s.runner });
    expect(await rt.readLock(long)).toEqual({
      id: 'cfg1',
      name: lockConfigName(long),
      labels: { 'io.stateguard.lock': '1' },
      createdAt: '2026-11-29T10:00:00Z',
    });
    expect(await rt.readLock('stateguard-lock-y')).toBeNull();
  });

  it('resumes nothing when no service carries the scaled-to-0 label', async () => {
    const s = scripted([
      ...MANAGER,
      [/^docker service inspect shop_db/, ok(JSON.stringify([{ ID: 'sdb', Spec: DB_SPEC }]))],
    ]);
    expect(await new SwarmCli({ runner: s.runner }).resumeStopped({ project: 'shop', files: [] }, 'db')).toBeNull();
    expect(s.calls.some((c) => c.args.includes('update'))).toBe(false);
  });

  it.each([
    [['task-abc'], /no container on the engine stateguard talks to/],
    [['c-gone'], /is gone since it was listed/],
  ])('stop of %j fails closed and scales nothing', async (ids, message) => {
    const s = scripted([
      ...MANAGER,
      [/^docker inspect --type container/, { code: 1, stdout: '[]', stderr: 'Error: No such container: c-gone' }],
    ]);
    await expect(new SwarmCli({ runner: s.runner }).stop(ids)).rejects.toThrow(message);
    expect(s.calls.some((c) => c.args.includes('update') || c.args.includes('stop'))).toBe(false);
  });
});
