/**
 * The Swarm adapter's pure parts (docs/architecture.md §14): the declared and engine views agree
 * for what `docker stack deploy` makes of a service, differ exactly where a field changed, and
 * name the field without a value; `$` is re-escaped so a one-service deploy never interpolates
 * twice; lock names stay valid config names.
 */
import { describe, expect, it } from '@jest/globals';
import { swarmDifferences } from '../../src/drift/config-diff.js';
import { lockConfigName } from '../../src/runtime/swarm-cli.js';
import { escapeDollars } from '../../src/runtime/swarm-stack-file.js';
import { declaredView, engineView, swarmImageRef, viewHash } from '../../src/runtime/swarm-view.js';

/** A rendered stack service (as `docker stack config` prints it) and the spec stack deploy makes of it. */
const RENDERED = {
  image: 'stateguard/busybox:1.0.0',
  command: ['sh', '-c', 'echo $HOME'],
  environment: { DB_PASSWORD: 'hunter2', MODE: 'fast' },
  volumes: [{ type: 'volume', source: 'db-data', target: '/data' }],
  healthcheck: { test: ['CMD', 'true'], interval: '1s' },
  deploy: { replicas: 1, labels: { team: 'core' } },
  ports: [{ target: 80, published: 8080, protocol: 'tcp' }],
};
const SPEC = {
  Name: 'shop_db',
  Labels: { 'com.docker.stack.namespace': 'shop', 'com.docker.stack.image': 'stateguard/busybox:1.0.0', team: 'core' },
  TaskTemplate: {
    ContainerSpec: {
      Image: 'stateguard/busybox:1.0.0@sha256:' + 'a'.repeat(64),
      Labels: { 'com.docker.stack.namespace': 'shop' },
      Args: ['sh', '-c', 'echo $HOME'],
      Env: ['MODE=fast', 'DB_PASSWORD=hunter2'],
      Mounts: [{ Type: 'volume', Source: 'shop_db-data', Target: '/data' }],
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1_000_000_000 },
    },
    RestartPolicy: { Condition: 'any' },
  },
  Mode: { Replicated: { Replicas: 1 } },
  EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080 }] },
};

function withSpec(edit: (s: typeof SPEC) => void): typeof SPEC {
  const s = JSON.parse(JSON.stringify(SPEC)) as typeof SPEC;
  edit(s);
  return s;
}

describe('swarm views', () => {
  it('a service deployed from the stack file: same view, same hash, no differences', () => {
    const d = declaredView('shop', RENDERED, { 'db-data': {} });
    const e = engineView(SPEC);
    expect(swarmDifferences(d, e)).toEqual([]);
    expect(viewHash(d)).toBe(viewHash(e));
  });

  it.each([
    ['command', (s: typeof SPEC) => (s.TaskTemplate.ContainerSpec.Args = ['sh', '-c', 'rm -rf /data/*']), 'command'],
    ['image', (s: typeof SPEC) => (s.TaskTemplate.ContainerSpec.Image = 'stateguard/busybox:2.0.0'), 'image'],
    ['replicas', (s: typeof SPEC) => (s.Mode.Replicated.Replicas = 0), 'deploy.replicas (0 → 1)'],
    ['volume', (s: typeof SPEC) => (s.TaskTemplate.ContainerSpec.Mounts[0]!.Source = 'other'), 'volumes'],
    [
      'healthcheck',
      (s: typeof SPEC) => (s.TaskTemplate.ContainerSpec.Healthcheck.Test = ['CMD', 'false']),
      'healthcheck',
    ],
    [
      'restart',
      (s: typeof SPEC) => (s.TaskTemplate.RestartPolicy.Condition = 'none'),
      'deploy.restart_policy.condition',
    ],
    ['deploy label', (s: typeof SPEC) => (s.Labels.team = 'edge'), 'deploy.labels'],
    ['port', (s: typeof SPEC) => (s.EndpointSpec.Ports[0]!.PublishedPort = 9090), 'ports'],
  ])('a changed %s is a different hash, and the field is named', (_what, edit, field) => {
    const d = declaredView('shop', RENDERED, { 'db-data': {} });
    const e = engineView(withSpec(edit));
    expect(viewHash(d)).not.toBe(viewHash(e));
    expect(swarmDifferences(d, e)).toContain(field);
  });

  it('an environment change names the key with fingerprints, never a value', () => {
    const d = declaredView('shop', RENDERED, { 'db-data': {} });
    const e = engineView(
      withSpec((s) => (s.TaskTemplate.ContainerSpec.Env = ['MODE=fast', 'DB_PASSWORD=changed-pw', 'EXTRA=1'])),
    );
    const diff = swarmDifferences(d, e).join(' | ');
    expect(diff).toContain('environment DB_PASSWORD');
    expect(diff).toContain('environment EXTRA (not declared)');
    expect(diff).not.toContain('hunter2');
    expect(diff).not.toContain('changed-pw');
  });

  it("stateguard's own scale-down label and the stack's labels are not differences", () => {
    const d = declaredView('shop', RENDERED, { 'db-data': {} });
    const e = engineView(withSpec((s) => Object.assign(s.Labels, { 'io.stateguard.stopped-replicas': '1' })));
    expect(swarmDifferences(d, e)).toEqual([]);
  });

  it('a job: mode and completions; the task spec (what the task ran) overrides the service template', () => {
    const job = {
      ...RENDERED,
      deploy: { mode: 'replicated-job', labels: { team: 'core' }, restart_policy: { condition: 'none' } },
    };
    const spec = withSpec((s) => {
      (s as { Mode: unknown }).Mode = { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } };
      s.TaskTemplate.RestartPolicy.Condition = 'none';
    });
    const d = declaredView('shop', job, { 'db-data': {} });
    expect(swarmDifferences(d, engineView(spec))).toEqual([]);
    const oldTask = { ...spec.TaskTemplate, ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Args: ['old'] } };
    expect(swarmDifferences(d, engineView(spec, oldTask))).toEqual(['command']);
  });

  it('external and named volumes keep their own names; others get the stack prefix', () => {
    const svc = {
      image: 'x:1',
      volumes: [
        { type: 'volume', source: 'a', target: '/a' },
        { type: 'volume', source: 'b', target: '/b' },
        { type: 'volume', source: 'c', target: '/c' },
      ],
    };
    expect(declaredView('shop', svc, { a: {}, b: { external: true }, c: { name: 'custom' } }).mounts).toEqual(
      ['volume:custom:/c', 'volume:b:/b', 'volume:shop_a:/a'].sort(),
    );
  });

  it.each([
    ['repo:1.2@sha256:' + 'b'.repeat(64), 'repo:1.2'],
    ['registry:5000/repo:1.2@sha256:' + 'b'.repeat(64), 'registry:5000/repo:1.2'],
    ['registry:5000/repo@sha256:' + 'b'.repeat(64), 'registry:5000/repo@sha256:' + 'b'.repeat(64)],
    ['repo:1.2', 'repo:1.2'],
  ])('image %s compares as %s', (ref, want) => {
    expect(swarmImageRef(ref)).toBe(want);
  });
});

describe('swarm adapter helpers', () => {
  it('every $ in every string value is escaped again (the rendered file was interpolated once)', () => {
    expect(escapeDollars({ a: 'pw$x', b: ['$$', '${Y}'], c: 3, d: { e: 'no dollars' } })).toEqual({
      a: 'pw$$x',
      b: ['$$$$', '$${Y}'],
      c: 3,
      d: { e: 'no dollars' },
    });
  });

  it.each([
    ['stateguard-lock-shop-db-0123456789', 'stateguard-lock-shop-db-0123456789'],
    [`stateguard-lock-${'p'.repeat(40)}-${'s'.repeat(30)}-0123456789`, null],
  ])('lock %s is a valid config name of at most 64 characters', (name, same) => {
    const c = lockConfigName(name);
    expect(c.length).toBeLessThanOrEqual(64);
    expect(c).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$/);
    if (same) expect(c).toBe(same);
    else expect(c).not.toBe(lockConfigName(`${name}x`));
  });
});
