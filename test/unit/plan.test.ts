/**
 * planModules and `stateguard plan` without docker: the recording FakeRuntime for the command, and
 * the real DockerCli over a scripted process runner (no processes spawned) to count what a plan
 * would start, for compose v1 and v2.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cliRun } from '../support/commands.js';
import { modulePlanHash, planHash, planModules } from '../../src/plan/plan.js';
import type { ModulePlan, Plan } from '../../src/drift/types.js';
import { EnvironmentError, UserError } from '../../src/errors.js';
import type { ModuleDecl } from '../../src/model/module.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { countingRunner } from '../../src/runtime/process.js';
import type { ExecResult, ProcessRunner } from '../../src/runtime/types.js';
import { FakeRuntime, container } from '../support/fake-runtime.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';
import { withPlanHash } from '../support/plans.js';

afterAll(cleanupTempRepos);

const schema = JSON.parse(readFileSync(path.join(REPO, 'schema/plan.schema.json'), 'utf8'));
const validatePlan = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
function expectValidPlan(plan: unknown): void {
  const ok = validatePlan(plan);
  expect(validatePlan.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

function decl(
  name: string,
  service: string,
  opts: Partial<ModuleDecl> & { project?: string; file?: string } = {},
): ModuleDecl {
  const file = opts.file ?? '/repo/compose.yaml';
  return {
    name,
    class: opts.class ?? 'stateless',
    runtime: opts.runtime ?? 'compose',
    compose: {
      file: '../../compose.yaml',
      path: file,
      display: path.basename(file),
      project: opts.project ?? 'p',
      service,
    },
    expectedState: opts.expectedState ?? 'running',
    timeoutSeconds: 300,
    volumes: opts.volumes ?? [],
    ephemeralPaths: [],
    dependsOnHealthy: [],
    file: `modules/${name}/module.yaml`,
    absFile: `/repo/modules/${name}/module.yaml`,
    source: undefined as never,
  };
}

function fakeWith(): FakeRuntime {
  const rt = new FakeRuntime();
  rt.projects.p = {
    services: {
      web: { image: 'stateguard/busybox:1.0.0' },
      init: { image: 'stateguard/busybox:1.0.0' },
      db: { image: 'stateguard/busybox:1.0.0' },
    },
    hashes: { web: 'hash-current', init: 'hash-current', db: 'hash-current' },
  };
  rt.images['stateguard/busybox:1.0.0'] = 'sha256:aaa';
  return rt;
}

describe('planModules over the fake runtime', () => {
  const modules = [
    decl('web', 'web'),
    decl('init', 'init', { expectedState: 'exited-success', class: 'sidecar' }),
    decl('db', 'db', { class: 'stateful' }),
  ];

  it('builds the documented plan shape, valid against schema/plan.schema.json', async () => {
    const rt = fakeWith();
    rt.containers = [
      container({ project: 'p', service: 'web' }),
      container({ project: 'p', service: 'init', state: 'exited', exitCode: 1 }),
    ];
    const plan = await planModules(modules, rt);
    expectValidPlan(plan);
    expect(plan.summary).toEqual({ modules: 3, drifted: 2 });
    expect(plan.modules.map((m) => [m.name, m.in_sync, m.drift.map((d) => d.key)])).toEqual([
      ['web', true, []],
      ['init', false, ['container.state.exited_success']],
      ['db', false, ['container.missing']],
    ]);
    expect(plan.modules[1]).toMatchObject({
      class: 'sidecar',
      expected_state: 'exited-success',
      compose: { project: 'p', service: 'init', file: 'compose.yaml' },
      observed: { state: 'exited', exit_code: 1 },
      drift: [{ declared: 'exited (0)', observed: 'exited (1)', reason: 'exited-nonzero' }],
    });
    expect(plan.plan_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['stateful with a data volume', { class: 'stateful' as const, volumes: [{ volume: 'v', path: '/data' }] }, ['x']],
    ['stateful without data volumes', { class: 'stateful' as const }, []],
    ['sidecar with a data volume', { class: 'sidecar' as const, volumes: [{ volume: 'v', path: '/data' }] }, []],
    ['stateless', {}, []],
  ])('stateful_modules (output stateful-modules): %s', async (_, opts, expected) => {
    const rt = fakeWith();
    const plan = await planModules([decl('x', 'db', opts)], rt);
    expectValidPlan(plan);
    expect(plan.stateful_modules).toEqual(expected);
  });

  it('one listing, one render and one image lookup per project, whatever the module count', async () => {
    const rt = fakeWith();
    await planModules(modules, rt);
    expect(rt.callsTo('listProjectContainers')).toHaveLength(1);
    expect(rt.callsTo('renderProject')).toHaveLength(1);
    expect(rt.callsTo('imageIds')).toEqual([{ method: 'imageIds', args: [['stateguard/busybox:1.0.0']] }]);
  });

  it('`only` plans just those modules; an unknown name is refused', async () => {
    const rt = fakeWith();
    const plan = await planModules(modules, rt, { only: ['init'] });
    expect(plan.modules.map((m) => m.name)).toEqual(['init']);
    await expect(planModules(modules, rt, { only: ['nope'] })).rejects.toThrow(/module "nope" is not declared/);
  });

  it('an unreachable engine is an EnvironmentError naming DOCKER_HOST, never an in-sync plan', async () => {
    const rt = fakeWith();
    rt.reachable = false;
    await expect(planModules(modules, rt)).rejects.toThrow(EnvironmentError);
    await expect(planModules(modules, rt)).rejects.toThrow(/DOCKER_HOST/);
  });

  it('a render failure names the module and the file (exit 3, compose-error)', async () => {
    const rt = fakeWith();
    rt.renderProject = async () => {
      throw new UserError("compose could not render project 'p': Missing mandatory value");
    };
    const err = await planModules(modules, rt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(
      /compose cannot render compose\.yaml \(project 'p'\) for module 'web', 'init', 'db'/,
    );
    expect((err as UserError).reason).toBe('compose-error');
    expect((err as UserError).exitCode).toBe(3);
  });

  it('a service compose did not render is an error, not "in sync"', async () => {
    const rt = fakeWith();
    delete rt.projects.p!.hashes.web;
    await expect(planModules([decl('web', 'web')], rt)).rejects.toThrow(
      /compose did not render service 'web' of module 'web' from compose\.yaml/,
    );
  });

  it('a service rendered without any image is a compose-error, never compared with nothing', async () => {
    const rt = fakeWith();
    rt.projects.p!.services.web = {};
    rt.containers = [container({ project: 'p', service: 'web', imageRef: 'p_web' })];
    const err = await planModules([decl('web', 'web')], rt).catch((e: unknown) => e);
    expect((err as { reason?: string }).reason).toBe('compose-error');
  });
});

describe('plan_hash: each module binds its drift AND its declared definition', () => {
  const DECL = { image: 'x:2', config_hash: 'h1' };
  const mod = (name: string, drift: ModulePlan['drift'], id = 'c1', declared = DECL): ModulePlan =>
    withPlanHash({
      name,
      class: 'stateless',
      expected_state: 'running',
      compose: { project: 'p', service: name, file: 'compose.yaml' },
      declared,
      observed: { container_id: id, state: 'running', exit_code: null, image: 'x', health: null },
      drift,
      in_sync: drift.length === 0,
    });
  const base = [
    mod('a', []),
    mod('b', [
      { key: 'container.image', declared: 'x:2', observed: 'x:1', bump: 'major', reason: 'reference-changed' },
    ]),
  ];

  it('is stable: same drift, other container IDs, module order and key order give the same hashes', () => {
    const shuffled = [
      mod(
        'b',
        [{ reason: 'reference-changed', bump: 'major', observed: 'x:1', declared: 'x:2', key: 'container.image' }],
        'other',
      ),
      mod('a', [], 'zzz'),
    ];
    expect(planHash(shuffled)).toBe(planHash(base));
    expect(shuffled[0]!.plan_hash).toBe(base[1]!.plan_hash);
  });

  const changes: Array<[string, ModulePlan[]]> = [
    [
      'a drift item added',
      [mod('a', [{ key: 'container.missing', declared: 'running', observed: 'missing' }]), base[1]!],
    ],
    [
      'observed text changed',
      [
        base[0]!,
        mod('b', [
          { key: 'container.image', declared: 'x:2', observed: 'x:1.5', bump: 'major', reason: 'reference-changed' },
        ]),
      ],
    ],
    [
      'bump changed',
      [
        base[0]!,
        mod('b', [
          { key: 'container.image', declared: 'x:2', observed: 'x:1', bump: 'minor', reason: 'reference-changed' },
        ]),
      ],
    ],
    ['a module renamed', [mod('c', []), base[1]!]],
    ['a module dropped', [base[1]!]],
    // The review's case: the drift keys stay the same, the definition does not.
    [
      "a module's rendered config changed, drift identical",
      [mod('a', [], 'c1', { image: 'x:2', config_hash: 'h2' }), base[1]!],
    ],
    [
      "a module's image reference changed, drift identical",
      [mod('a', [], 'c1', { image: 'x:3', config_hash: 'h1' }), base[1]!],
    ],
  ];
  it.each(changes)('the whole-plan hash changes when %s', (_n, other) => {
    expect(planHash(other)).not.toBe(planHash(base));
  });

  it('a one-shot standing exited (1) whose command gains `rm -rf /data/*` has another module hash (same drift keys)', () => {
    const drift: ModulePlan['drift'] = [
      {
        key: 'container.state.exited_success',
        declared: 'exited (0)',
        observed: 'exited (1)',
        reason: 'exited-nonzero',
      },
    ];
    const before = modulePlanHash('init', drift, { image: 'x:1', config_hash: 'hash-of-create-bucket' });
    const after = modulePlanHash('init', drift, { image: 'x:1', config_hash: 'hash-of-rm-rf-data' });
    expect(after).not.toBe(before);
    expect(after).toMatch(/^[0-9a-f]{64}$/);
  });
});

/**
 * A scripted engine behind the real DockerCli: answers docker/compose argument arrays from a model
 * of N running services in one project, so the count of processes a plan starts is measured
 * without spawning anything.
 */
function scriptedEngine(services: string[], flavor: 'v1' | 'v2'): ProcessRunner {
  const inspect = services.map((s, i) => ({
    Id: `id${i}`,
    Name: `/p_${s}_1`,
    Image: 'sha256:aaa',
    Created: '2026-01-01T00:00:00Z',
    Config: {
      Image: 'stateguard/busybox:1.0.0',
      Env: ['SECRET_PASSWORD=never-in-a-plan'],
      Labels: {
        'com.docker.compose.project': 'p',
        'com.docker.compose.service': s,
        'com.docker.compose.oneoff': 'False',
        'com.docker.compose.config-hash': `${i.toString(16)}`.padStart(64, 'b'),
      },
    },
    State: { Status: 'running', ExitCode: 0, StartedAt: '2026-01-01T00:00:01Z', FinishedAt: '0001-01-01T00:00:00Z' },
    Mounts: [],
  }));
  const rendered = `services:\n${services.map((s) => `  ${s}:\n    image: stateguard/busybox:1.0.0\n    environment:\n      SECRET_PASSWORD: never-in-a-plan\n`).join('')}`;
  const hashes = services.map((s, i) => `${s} ${`${i.toString(16)}`.padStart(64, 'a')}`).join('\n');
  const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });
  return async (cmd, args) => {
    const a = [...args];
    if (cmd === 'docker' && a[0] === 'version') return ok('20.10.24\n');
    if (cmd === 'docker' && a.join(' ') === 'compose version --short')
      return flavor === 'v2' ? ok('2.26.1\n') : { code: 1, stdout: '', stderr: 'unknown command' };
    if (cmd === 'docker-compose' && a.join(' ') === 'version --short') return ok('1.29.2\n');
    if (cmd === 'docker' && a[0] === 'ps') return ok(inspect.map((c) => c.Id).join('\n') + '\n');
    if (cmd === 'docker' && a[0] === 'inspect') return ok(JSON.stringify(inspect.filter((c) => a.includes(c.Id))));
    if (cmd === 'docker' && a[0] === 'image')
      return ok(JSON.stringify([{ Id: 'sha256:aaa', RepoTags: ['stateguard/busybox:1.0.0'] }]));
    const composeArgs =
      flavor === 'v2' && cmd === 'docker' && a[0] === 'compose'
        ? a.slice(1)
        : flavor === 'v1' && cmd === 'docker-compose'
          ? a
          : null;
    if (composeArgs) {
      const sub = composeArgs.slice(composeArgs.indexOf('-p') + 2);
      if (sub.join(' ') === 'config') return ok(rendered);
      // v2: the model as JSON (and with every profile), then the hashes of that rendered model
      if (sub.join(' ') === 'config --format json' || sub.join(' ') === '--profile * config --format json')
        return ok(JSON.stringify(parseYaml(rendered)));
      if (sub.join(' ') === 'config --hash *' || sub.join(' ') === '--project-directory /repo config --hash *')
        return ok(hashes + '\n');
    }
    return { code: 1, stdout: '', stderr: `scripted engine: unexpected ${cmd} ${a.join(' ')}` };
  };
}

describe.each(['v1', 'v2'] as const)('process count through DockerCli (compose %s, scripted, no spawn)', (flavor) => {
  async function count(n: number): Promise<{ calls: string[][]; plan: Plan }> {
    const services = Array.from({ length: n }, (_, i) => `svc${i}`);
    const counting = countingRunner(scriptedEngine(services, flavor));
    const rt = new DockerCli({ runner: counting.runner, compose: flavor, env: {} });
    const modules = services.map((s) => decl(`m-${s}`, s));
    const plan = await planModules(modules, rt);
    return { calls: counting.calls, plan };
  }

  it('10 and 80 modules of one project start the same processes', async () => {
    const ten = await count(10);
    const eighty = await count(80);
    expect(ten.plan.summary).toEqual({ modules: 10, drifted: 10 }); // hashes differ in the model: config drift
    expect(eighty.plan.modules.every((m) => m.drift.map((d) => d.key).join() === 'container.config')).toBe(true);
    const shape = (calls: string[][]) =>
      calls.map((c) => (c[0] === 'docker' && c[1] !== 'compose' ? `docker ${c[1]}` : c.slice(0, 2).join(' '))).sort();
    expect(eighty.calls).toHaveLength(ten.calls.length);
    expect(shape(eighty.calls)).toEqual(shape(ten.calls));
    // ping, compose version (a plan names its flavor and version), ps, inspect, config, config --hash, image
    // inspect; v2 also renders with every profile (to name a profiled service it leaves out)
    expect(ten.calls).toHaveLength(flavor === 'v1' ? 7 : 8);
    const composeCalls = ten.calls.filter(
      (c) => (flavor === 'v1' ? c[0] === 'docker-compose' : c[1] === 'compose') && c.includes('-p'),
    );
    expect(composeCalls.map((c) => c.slice(c.indexOf('-p') + 2).join(' ')).sort()).toEqual(
      flavor === 'v1'
        ? ['config', 'config --hash *']
        : ['--profile * config --format json', '--project-directory /repo config --hash *', 'config --format json'],
    );
    expect(JSON.stringify(eighty.plan)).not.toContain('never-in-a-plan');
  });
});

describe('stateguard plan (CLI over the fake runtime)', () => {
  const COMPOSE = `services:
  web:
    image: stateguard/busybox:1.0.0
  init:
    image: stateguard/busybox:1.0.0
    restart: "no"
`;
  const files = {
    'compose.yaml': COMPOSE,
    'modules/web/module.yaml': moduleYaml(
      'web',
      '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n',
    ),
    'modules/init/module.yaml': moduleYaml(
      'init',
      '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: init }\n  runtime: { expected_state: exited-success }\n',
    ),
  };

  const cli = (argv: string[], rt: FakeRuntime, cwd: string) => cliRun(['plan', ...argv], rt, { cwd });
  const synced = (): FakeRuntime => {
    const rt = fakeWith();
    rt.containers = [
      container({ project: 'p', service: 'web' }),
      container({ project: 'p', service: 'init', state: 'exited', exitCode: 0 }),
    ];
    return rt;
  };
  const drifted = (): FakeRuntime => {
    const rt = synced();
    rt.containers[1]!.exitCode = 1;
    return rt;
  };

  it('table by default; exit 0 in sync and with drift unless --detailed-exitcode', async () => {
    const root = tempRepo(files);
    const a = await cli([], synced(), root);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^MODULE\s+CLASS\s+EXPECTED\s+OBSERVED\s+DRIFT$/m);
    expect(a.stdout).toMatch(/^init\s+stateless\s+exited-success\s+exited \(0\)\s+in sync$/m);
    expect(a.stdout).toContain('2 modules, all in sync.');
    const b = await cli([], drifted(), root);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain(
      '- container.state.exited_success: declared exited (0), observed exited (1) (exited-nonzero)',
    );
    expect((await cli(['--detailed-exitcode'], drifted(), root)).code).toBe(2);
    expect((await cli(['--detailed-exitcode'], synced(), root)).code).toBe(0);
  });

  it('--json prints one schema-valid document; --out writes the same plan', async () => {
    const root = tempRepo(files);
    const r = await cli(['--json', '--out', 'out/plan.json'], drifted(), root);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as Plan;
    expectValidPlan(plan);
    expect(JSON.parse(readFileSync(path.join(root, 'out/plan.json'), 'utf8'))).toEqual(plan);
    expect(r.stderr).toContain('MODULE'); // human text goes to stderr in --json mode
  });

  it('--module plans one module; an unknown one is refused with module-not-found', async () => {
    const root = tempRepo(files);
    const r = await cli(['--json', '--module', 'web'], drifted(), root);
    expect((JSON.parse(r.stdout) as Plan).modules.map((m) => m.name)).toEqual(['web']);
    const bad = await cli(['--json', '--module', 'nope'], drifted(), root);
    expect(bad.code).toBe(3); // a usage error, not a "no" about a module
    expect(JSON.parse(bad.stdout)).toMatchObject({ failure_reason: 'module-not-found' });
  });

  it('engine unreachable: exit 3, docker-unavailable, names DOCKER_HOST', async () => {
    const root = tempRepo(files);
    const rt = synced();
    rt.reachable = false;
    const r = await cli(['--json'], rt, root);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({
      failure_reason: 'docker-unavailable',
      error: expect.stringContaining('DOCKER_HOST'),
    });
  });

  it('--detailed-exitcode must be a strict boolean flag', async () => {
    const root = tempRepo(files);
    const r = await cli(['--detailed-exitcode=yes'], synced(), root);
    expect(r.code).toBe(3);
  });
});

describe('planModules over two runtimes (spec.compose and spec.swarm)', () => {
  it('plans each module with the adapter of its runtime, merges them in module order, and says both', async () => {
    const composeRt = fakeWith();
    composeRt.containers = [container({ project: 'p', service: 'web' })];
    const swarmRt = new FakeRuntime();
    swarmRt.composeInfo = async () => ({ flavor: 'swarm', version: '20.10.24' });
    swarmRt.projects.shop = { services: { db: { image: 'stateguard/busybox:1.0.0' } }, hashes: { db: 'view-hash' } };
    swarmRt.images['stateguard/busybox:1.0.0'] = 'sha256:aaa';
    swarmRt.containers = [container({ project: 'shop', service: 'db', configHash: 'other-view' })];
    const asked: string[] = [];
    const modules = [decl('db', 'db', { runtime: 'swarm', project: 'shop', class: 'stateful' }), decl('web', 'web')];
    const plan = await planModules(modules, (kind) => {
      asked.push(kind);
      return kind === 'swarm' ? swarmRt : composeRt;
    });
    expectValidPlan(plan);
    expect(asked.sort()).toEqual(['compose', 'swarm']);
    expect(plan.modules.map((m) => [m.name, m.runtime ?? 'compose', m.drift.map((d) => d.key)])).toEqual([
      ['db', 'swarm', ['container.config']],
      ['web', 'compose', []],
    ]);
    expect(plan.swarm).toEqual({ flavor: 'swarm', version: '20.10.24' });
    expect(plan.compose.flavor).not.toBe('swarm');
    // Neither adapter was asked about the other's modules.
    expect(composeRt.calls.some((c) => JSON.stringify(c.args).includes('shop'))).toBe(false);
    expect(swarmRt.calls.some((c) => JSON.stringify(c.args).includes('"p"'))).toBe(false);
  });

  it('a swarm-only plan names swarm as what rendered it, and shows no pending upgrade (not built for Swarm)', async () => {
    const swarmRt = new FakeRuntime();
    swarmRt.composeInfo = async () => ({ flavor: 'swarm', version: '20.10.24' });
    swarmRt.projects.shop = { services: { db: { image: 'stateguard/busybox:1.1.0' } }, hashes: { db: 'h' } };
    swarmRt.images['stateguard/busybox:1.1.0'] = 'sha256:bbb';
    swarmRt.containers = [
      container({ project: 'shop', service: 'db', configHash: 'h', imageRef: 'stateguard/busybox:1.0.0' }),
    ];
    const plan = await planModules(
      [decl('db', 'db', { runtime: 'swarm', project: 'shop', class: 'stateful' })],
      () => swarmRt,
    );
    expectValidPlan(plan);
    expect(plan.compose).toEqual({ flavor: 'swarm', version: '20.10.24' });
    expect(plan.swarm).toBeUndefined();
    expect(plan.modules[0]!.drift.map((d) => d.key)).toContain('container.image');
    expect(plan.modules[0]!.upgrade).toBeUndefined();
  });
});
