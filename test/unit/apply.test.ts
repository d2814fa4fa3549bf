/**
 * apply (docs/architecture.md §6) against a recording fake runtime: the order of steps, every refusal, the lock,
 * the wait/timeout, dependency identity and log scrubbing. No docker here; the same paths run on
 * the real engine in test/integration/apply-platform.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { applyOneShot, type ApplyDeps, type ApplyRequest } from '../../src/apply/apply.js';
import { describeHolder, LOCK_LABEL, lockName } from '../../src/ops/lock.js';
import { LineScrubber, registerEnvSecrets } from '../../src/apply/logs.js';
import { applyExitCode } from '../../src/commands/apply.js';
import { EnvironmentError } from '../../src/errors.js';
import { Scrubber } from '../../src/report/scrub.js';
import path from 'node:path';
import type { BackupReport } from '../../src/backup/types.js';
import type { DriftKey, ModulePlan, Plan } from '../../src/drift/types.js';
import type { ModuleDecl } from '../../src/model/module.js';
import { loadModules } from '../../src/model/module.js';
import type { ContainerInfo } from '../../src/runtime/types.js';
import { container, FakeRuntime } from '../support/fake-runtime.js';
import { planOf, withPlanHash } from '../support/plans.js';
import { REPO } from '../support/runner.js';

function lockContainer(name: string, labels: Record<string, string>, id = `lock-${name}`): ContainerInfo {
  const c = container({ project: '', service: '', id, name, labels, state: 'created' });
  return { ...c, project: undefined, service: undefined, configHash: undefined };
}

function exampleModules(): ModuleDecl[] {
  const root = path.join(REPO, 'examples/platform');
  const loaded = loadModules(root, 'modules/*/module.yaml', root);
  const problems = loaded.problems;
  if (problems.length) throw new Error(`examples/platform is invalid: ${JSON.stringify(problems)}`);
  return loaded.modules;
}

function modulePlan(m: ModuleDecl, keys: DriftKey[], observedState = 'exited'): ModulePlan {
  return withPlanHash({
    name: m.name,
    class: m.class,
    expected_state: m.expectedState,
    compose: { project: m.compose.project, service: m.compose.service, file: m.compose.display },
    observed: {
      container_id: 'x',
      state: observedState,
      exit_code: 1,
      image: 'stateguard/busybox:1.0.0',
      health: null,
    },
    drift: keys.map((key) => ({
      key,
      declared: 'exited (0)',
      observed: 'exited (1)',
      ...(key === 'container.state.exited_success' ? { reason: 'exited-nonzero' } : {}),
    })),
    in_sync: keys.length === 0,
  });
}

/** A planModules stand-in that serves scripted drift per module and counts its calls. */
function scriptedPlanner(drift: Record<string, DriftKey[]>, observedState?: Record<string, string>) {
  const calls: Array<{ only?: string[] }> = [];
  const fn = async (modules: ModuleDecl[], _rt: unknown, opts: { only?: string[] } = {}): Promise<Plan> => {
    calls.push(opts);
    const selected = modules.filter((m) => !opts.only || opts.only.includes(m.name));
    const planned = selected.map((m) => modulePlan(m, drift[m.name] ?? [], observedState?.[m.name]));
    return planOf(planned);
  };
  return { fn, calls };
}

const VERIFIED_BACKUP: BackupReport = {
  verified: true,
  path: '/backups/store-20260101T000000Z.tar.gz',
  sha256: 'ab'.repeat(32),
  bytes: 100,
  uncompressed_bytes: 1000,
  entries: 3,
  created_at: '2026-01-01T00:00:00Z',
  matched_module: 'store',
  checksum: 'matched',
  problems: [],
  warnings: [],
};

// ---------------------------------------------------------------------------------------------

const SECRET = 's3cret-value-42';
const T0 = new Date('2026-03-01T12:00:00Z');

interface Scenario {
  rt: FakeRuntime;
  modules: ModuleDecl[];
  initModule: ModuleDecl;
  raw: string[];
  infos: string[];
  warns: string[];
  secrets: string[];
  order: string[];
}

function scenario(
  opts: { storeHealth?: ContainerInfo['health']; storeState?: ContainerInfo['state']; newExit?: number } = {},
): Scenario {
  const rt = new FakeRuntime();
  const modules = exampleModules();
  const initModule = modules.find((m) => m.name === 'store-init')!;
  rt.containers.push(
    container({
      project: 'platform',
      service: 'store',
      id: 'store-1',
      state: opts.storeState ?? 'running',
      health: opts.storeHealth === undefined ? 'healthy' : opts.storeHealth,
    }),
    container({ project: 'platform', service: 'web', id: 'web-1', state: 'running' }),
    container({
      project: 'platform',
      service: 'store-init',
      id: 'init-old',
      state: 'exited',
      exitCode: 1,
      env: [`STORE_ROOT_PASSWORD=${SECRET}`, 'PATH=/bin'],
    }),
  );
  rt.projects.platform = {
    services: {
      store: { image: 'stateguard/busybox:1.0.0' },
      'store-init': { image: 'stateguard/busybox:1.0.0' },
      web: { image: 'stateguard/busybox:1.0.0' },
    },
    hashes: { store: 'h-store', 'store-init': 'h-init', web: 'h-web' },
  };
  rt.images['stateguard/busybox:1.0.0'] = 'sha256:busybox';
  rt.onRecreate = (_t, service) => {
    const prev = rt.containers.find((c) => c.service === service)!;
    rt.containers = rt.containers.filter((c) => c !== prev);
    rt.containers.push(
      container({
        project: 'platform',
        service,
        id: 'init-new',
        state: 'exited',
        exitCode: opts.newExit ?? 0,
        env: [`STORE_ROOT_PASSWORD=${SECRET}`, 'API_TOKEN=tok-123456', 'PATH=/bin'],
      }),
    );
  };
  rt.logText['init-new'] = `store-init: connecting with password ${SECRET}\nstore-init: token tok-123456 ok\n`;
  rt.waitResults['init-new'] = { exitCode: opts.newExit ?? 0, timedOut: false };
  const s: Scenario = { rt, modules, initModule, raw: [], infos: [], warns: [], secrets: [], order: [] };
  return s;
}

function deps(
  s: Scenario,
  planner = scriptedPlanner({ 'store-init': ['container.state.exited_success'] }).fn,
  verify?: ApplyDeps['verifyBackup'],
): ApplyDeps {
  return {
    runtime: s.rt,
    planModules: planner,
    verifyBackup: verify ?? (async () => VERIFIED_BACKUP),
    log: {
      info: (m) => s.infos.push(m),
      warn: (m) => s.warns.push(m),
      error: (m) => s.warns.push(m),
      notice: (m) => s.infos.push(m),
      raw: (c) => {
        s.order.push('raw');
        s.raw.push(c);
      },
    },
    addSecret: (v) => {
      s.order.push('secret');
      s.secrets.push(v);
    },
    now: () => T0,
    logGraceMs: 50,
  };
}

function request(s: Scenario, over: Partial<ApplyRequest> = {}): ApplyRequest {
  return {
    modules: s.modules,
    module: s.initModule,
    allowStateful: true,
    confirm: 'BACKUP_DONE',
    confirmToken: 'BACKUP_DONE',
    backupRef: '/backups/store-20260101T000000Z.tar.gz',
    backupRoots: ['/backups'],
    cwd: '/',
    now: T0,
    maxUncompressedBytes: 1 << 30,
    maxEntries: 1000,
    expectedPlanHash: undefined,
    breakStaleLock: false,
    staleAfterMs: 120 * 60_000,
    holder: 'repo o/r, run 7, host h, pid 1',
    ...over,
  };
}

const LOCK = lockName('platform', 'store-init');

function recreated(s: Scenario): unknown[][] {
  return s.rt.callsTo('recreateService').map((c) => [(c.args[0] as { project: string }).project, c.args[1]]);
}

describe('apply: the happy path', () => {
  it('locks, re-plans, recreates only store-init, streams scrubbed logs, checks the parent, releases the lock', async () => {
    const s = scenario();
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({
      status: 'applied',
      failure_reason: '',
      exit_code: 0,
      container_id: 'init-new',
      could_not_run: false,
    });
    expect(recreated(s)).toEqual([['platform', 'store-init']]);
    // Only that service: nothing else was started, stopped or recreated.
    expect(s.rt.callsTo('stop')).toEqual([]);
    expect(s.rt.callsTo('start')).toEqual([]);
    expect(s.rt.callsTo('composeUp')).toEqual([]);
    expect(s.rt.callsTo('wait').map((c) => c.args)).toEqual([['init-new', 60_000]]);
    // The lock was taken with the module's image as the adapter's first choice, and is gone afterwards.
    const create = s.rt.callsTo('createLock')[0]!.args;
    expect(create[0]).toBe(LOCK);
    expect(create[1]).toMatchObject({
      [LOCK_LABEL.holder]: 'repo o/r, run 7, host h, pid 1',
      [LOCK_LABEL.since]: T0.toISOString(),
    });
    expect(create[2]).toEqual({ images: ['stateguard/busybox:1.0.0'], project: 'platform' });
    expect(s.rt.locks.size).toBe(0);
    expect(s.rt.containers.some((c) => c.name === LOCK)).toBe(false);
    // Logs: shown, with the secrets masked; secrets registered before the first log line.
    const log = s.raw.join('');
    expect(log).toContain('store-init | store-init: connecting with password ***');
    expect(log).toContain('token *** ok');
    expect(log).not.toContain(SECRET);
    expect(s.secrets).toEqual(expect.arrayContaining([SECRET, 'tok-123456']));
    expect(s.order.indexOf('raw')).toBeGreaterThan(s.order.lastIndexOf('secret'));
    expect(JSON.stringify(o)).not.toContain(SECRET);
    expect(o.log_tail).toEqual(['store-init: connecting with password ***', 'store-init: token *** ok']);
    expect(o.dependencies).toEqual([
      expect.objectContaining({
        module: 'store',
        ok: true,
        before: expect.objectContaining({ container_ids: ['store-1'] }),
      }),
    ]);
  });

  it("the plan is made fresh for exactly this module, and its hash is that module's own plan_hash", async () => {
    const s = scenario();
    const planner = scriptedPlanner({ 'store-init': ['container.state.exited_success'], store: ['container.config'] });
    const o = await applyOneShot(request(s), deps(s, planner.fn));
    // on the request's clock: its UTC day decides which drift allowances are live (docs/architecture.md §3)
    expect(planner.calls).toEqual([{ only: ['store-init'], now: T0 }]);
    expect(o.plan_hash).toBe(modulePlan(s.initModule, ['container.state.exited_success']).plan_hash);
    expect(o.status).toBe('applied');
  });

  it('the expected plan hash, when it matches, lets the apply run', async () => {
    const s = scenario();
    const hash = modulePlan(s.initModule, ['container.state.exited_success']).plan_hash;
    const o = await applyOneShot(request(s, { expectedPlanHash: hash }), deps(s));
    expect(o.status).toBe('applied');
  });
});

describe('apply: refusals before anything runs', () => {
  const cases: Array<[string, (s: Scenario) => [ApplyRequest, ApplyDeps], string, RegExp]> = [
    [
      'a long-running module (not a one-shot)',
      (s) => [request(s, { module: s.modules.find((m) => m.name === 'store')! }), deps(s)],
      'drift-not-allowed',
      /only re-runs one-shot/,
    ],
    [
      'a stale plan hash',
      (s) => [request(s, { expectedPlanHash: 'f'.repeat(64) }), deps(s)],
      'plan-changed',
      /differs from the reviewed one \(expected-plan-hash f{64}\)/,
    ],
    [
      'a guard that blocks (allow-stateful false, no confirm)',
      (s) => [request(s, { allowStateful: false, confirm: undefined }), deps(s)],
      'not-allowed',
      /allow-stateful is not true.*confirm is empty/,
    ],
    [
      'an unverified backup',
      (s) => [
        request(s),
        deps(s, undefined, async () => ({
          ...VERIFIED_BACKUP,
          verified: false,
          problems: [{ code: 'too-old', message: 'old' }],
        })),
      ],
      'backup-rejected',
      /did not pass verify-backup \(too-old/,
    ],
    [
      'image drift on the one-shot',
      (s) => [
        request(s),
        deps(s, scriptedPlanner({ 'store-init': ['container.state.exited_success', 'container.image'] }).fn),
      ],
      'drift-not-allowed',
      /container\.image/,
    ],
    [
      'a one-shot still running',
      (s) => {
        s.rt.containers.find((c) => c.id === 'init-old')!.state = 'running';
        return [
          request(s),
          deps(
            s,
            scriptedPlanner({ 'store-init': ['container.state.exited_success'] }, { 'store-init': 'running' }).fn,
          ),
        ];
      },
      'still-running',
      /still running \(init-old running\)/,
    ],
    [
      "a manual 'compose run' of the one-shot still in progress",
      (s) => {
        s.rt.containers.push(
          container({ project: 'platform', service: 'store-init', id: 'init-run', oneoff: true, state: 'running' }),
        );
        return [request(s), deps(s)];
      },
      'still-running',
      /still running \(init-run running\)/,
    ],
    [
      'a parent that is unhealthy before the apply',
      (s) => {
        s.rt.containers.find((c) => c.id === 'store-1')!.health = 'unhealthy';
        return [request(s), deps(s)];
      },
      'dependency-disturbed',
      /not healthy before the apply.*store-1 is unhealthy/,
    ],
    [
      'a parent that is not running before the apply',
      (s) => {
        s.rt.containers.find((c) => c.id === 'store-1')!.state = 'exited';
        return [request(s), deps(s)];
      },
      'dependency-disturbed',
      /store-1 is exited/,
    ],
    [
      'a parent with no container',
      (s) => {
        s.rt.containers = s.rt.containers.filter((c) => c.id !== 'store-1');
        return [request(s), deps(s)];
      },
      'dependency-disturbed',
      /has no container/,
    ],
  ];

  it.each(cases)('%s: refused with the reason, nothing recreated, lock released', async (_, make, reason, message) => {
    const s = scenario();
    const [req, d] = make(s);
    const o = await applyOneShot(req, d);
    expect(o.status).not.toBe('applied');
    expect(o.failure_reason).toBe(reason);
    expect(o.verdict).toMatch(message);
    expect(o.exit_code).toBeNull();
    expect(recreated(s)).toEqual([]);
    expect(s.rt.callsTo('wait')).toEqual([]);
    expect(s.rt.locks.size).toBe(0);
    expect(applyExitCode(o)).toBe(1);
  });

  it('a module in sync is a no-op success: nothing recreated', async () => {
    const s = scenario();
    const o = await applyOneShot(
      request(s, { allowStateful: false, confirm: undefined, backupRef: undefined }),
      deps(s, scriptedPlanner({}).fn),
    );
    expect(o).toMatchObject({ status: 'no-op', failure_reason: '' });
    expect(applyExitCode(o)).toBe(0);
    expect(recreated(s)).toEqual([]);
    expect(s.rt.locks.size).toBe(0);
  });

  it('a no-op whose hash differs from the reviewed plan is still refused (plan-changed): the reviewed plan is not what is there', async () => {
    const s = scenario();
    const o = await applyOneShot(
      request(s, { expectedPlanHash: modulePlan(s.initModule, ['container.state.exited_success']).plan_hash }),
      deps(s, scriptedPlanner({}).fn),
    );
    expect(o.failure_reason).toBe('plan-changed');
  });

  it('a plan that cannot be made (engine down) blocks as could-not-run, and the lock is released', async () => {
    const s = scenario();
    const failing = async (): Promise<Plan> => {
      throw new EnvironmentError('Cannot reach the Docker engine via DOCKER_HOST=unix:///nope.sock');
    };
    const o = await applyOneShot(request(s), deps(s, failing));
    expect(o).toMatchObject({ status: 'blocked', failure_reason: 'docker-unavailable', could_not_run: true });
    expect(applyExitCode(o)).toBe(3);
    expect(recreated(s)).toEqual([]);
    expect(s.rt.locks.size).toBe(0);
  });
});

describe('apply: the engine lock', () => {
  function preLock(s: Scenario, ageMs: number, extra: Record<string, string> = {}): void {
    const labels = {
      [LOCK_LABEL.lock]: '1',
      [LOCK_LABEL.since]: new Date(T0.getTime() - ageMs).toISOString(),
      [LOCK_LABEL.holder]: 'repo o/r, run 99, host other, pid 42',
      ...extra,
    };
    s.rt.locks.set(LOCK, labels);
    s.rt.containers.push(lockContainer(LOCK, labels, 'held-lock-id'));
  }

  it('a held lock refuses fast, naming the holder and since when, and is left alone', async () => {
    const s = scenario();
    preLock(s, 5 * 60_000);
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'refused', failure_reason: 'locked' });
    expect(o.verdict).toContain('run 99, host other, pid 42');
    expect(o.verdict).toContain(new Date(T0.getTime() - 5 * 60_000).toISOString());
    expect(o.verdict).toContain('(5 min ago)');
    expect(o.lock_refusal).toMatchObject({ name: LOCK, stale: false });
    expect(s.rt.locks.has(LOCK)).toBe(true);
    expect(s.rt.callsTo('removeLock')).toEqual([]);
    expect(recreated(s)).toEqual([]);
  });

  it('break-stale-lock does not break a lock that is not stale', async () => {
    const s = scenario();
    preLock(s, 30 * 60_000);
    const o = await applyOneShot(request(s, { breakStaleLock: true }), deps(s));
    expect(o.failure_reason).toBe('locked');
    expect(o.verdict).toMatch(/counts as stale after 120 min/);
    expect(s.rt.callsTo('removeLock')).toEqual([]);
  });

  it('the stale bound is never shorter than timeout_seconds + 10 min', async () => {
    const s = scenario();
    s.initModule = { ...s.initModule, timeoutSeconds: 3 * 3600 };
    preLock(s, 150 * 60_000); // older than stale-after (120 min), younger than 3 h + 10 min
    const o = await applyOneShot(request(s, { module: s.initModule, breakStaleLock: true }), deps(s));
    expect(o.failure_reason).toBe('locked');
    expect(o.verdict).toMatch(/counts as stale after 190 min/);
  });

  it('a stale lock without the flag: refused, saying it is stale and how to break it', async () => {
    const s = scenario();
    preLock(s, 180 * 60_000);
    const o = await applyOneShot(request(s), deps(s));
    expect(o.failure_reason).toBe('locked');
    expect(o.lock_refusal?.stale).toBe(true);
    expect(o.verdict).toMatch(/stale.*break-stale-lock: true/);
    expect(s.rt.callsTo('removeLock')).toEqual([]);
  });

  it('a stale lock with break-stale-lock: exactly that container is removed, the apply runs, and a warning says whose lock was broken', async () => {
    const s = scenario();
    preLock(s, 180 * 60_000);
    const o = await applyOneShot(request(s, { breakStaleLock: true }), deps(s));
    expect(o.status).toBe('applied');
    expect(s.rt.callsTo('removeLock')[0]!.args).toEqual(['held-lock-id']);
    expect(o.lock?.broke?.holder).toContain('run 99');
    expect(s.warns.join('\n')).toContain('broke a stale apply lock held by repo o/r, run 99');
    expect(s.rt.locks.size).toBe(0);
  });

  it('a container that is not a stateguard lock but has the name is never removed, even with the flag', async () => {
    const s = scenario();
    s.rt.locks.set(LOCK, {});
    s.rt.containers.push(lockContainer(LOCK, {}, 'foreign-id'));
    const o = await applyOneShot(request(s, { breakStaleLock: true }), deps(s));
    expect(o.failure_reason).toBe('locked');
    expect(o.verdict).toContain('not a stateguard lock');
    expect(s.rt.callsTo('removeLock')).toEqual([]);
  });

  it('a lock the engine cannot create: could not run, nothing runs (never unlocked)', async () => {
    const s = scenario();
    s.rt.lockFails.add(LOCK);
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'failed', failure_reason: 'docker-unavailable', could_not_run: true });
    expect(recreated(s)).toEqual([]);
  });

  it('two applies at once on one module: exactly one runs, the other is refused naming the lock', async () => {
    const s = scenario();
    // The fake's wait yields to the event loop, so both applies interleave on one fake engine.
    const [a, b] = await Promise.all([
      applyOneShot(request(s, { holder: 'A' }), deps(s)),
      applyOneShot(request(s, { holder: 'B' }), deps(s)),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual(['applied', 'refused']);
    const refused = a.status === 'refused' ? a : b;
    expect(refused.failure_reason).toBe('locked');
    expect(refused.verdict).toContain(LOCK);
    expect(refused.verdict).toMatch(/locked by a running apply \(holder (A|B), since /);
    expect(recreated(s)).toHaveLength(1);
  });

  it.each([
    ['platform', 'store-init'],
    ['a-b', 'c'],
    ['a', 'b-c'],
    ['Weird Project!', 'svc/../x'],
    ['x'.repeat(300), 'y'.repeat(300)],
  ])('lock name #%# (%s) is a valid, bounded container name', (p, svc) => {
    const n = lockName(p, svc);
    expect(n).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    expect(n.length).toBeLessThan(160);
  });

  it('lock names do not collide when project/service split differently', () => {
    expect(lockName('a-b', 'c')).not.toBe(lockName('a', 'b-c'));
  });

  it('the holder description carries run identifiers only', () => {
    const h = describeHolder(
      {
        GITHUB_REPOSITORY: 'o/r',
        GITHUB_WORKFLOW: 'apply',
        GITHUB_RUN_ID: '9',
        GITHUB_RUN_ATTEMPT: '2',
        GITHUB_TOKEN: 'ghs_secret',
        GITHUB_ACTOR: 'me',
      },
      'runner-1',
      77,
    );
    expect(h).toBe('repo o/r, workflow "apply", run 9 attempt 2, actor me, host runner-1, pid 77');
    expect(h).not.toContain('ghs_secret');
  });
});

describe('apply: running the one-shot', () => {
  it('exit 1: failed (one-shot-failed) with the exit code, the log shown scrubbed', async () => {
    const s = scenario({ newExit: 1 });
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({
      status: 'failed',
      failure_reason: 'one-shot-failed',
      exit_code: 1,
      container_id: 'init-new',
      could_not_run: false,
    });
    expect(applyExitCode(o)).toBe(1);
    expect(s.raw.join('')).toContain('password ***');
    expect(s.raw.join('')).not.toContain(SECRET);
    expect(s.rt.locks.size).toBe(0);
  });

  it('timeout: the container is stopped and the apply fails (timeout)', async () => {
    const s = scenario();
    s.rt.waitResults['init-new'] = { exitCode: null, timedOut: true };
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'failed', failure_reason: 'timeout', exit_code: null });
    expect(s.rt.callsTo('stop').map((c) => c.args[0])).toEqual([['init-new']]);
    expect(s.rt.locks.size).toBe(0);
  });

  it('a parent recreated during the apply: dependency-disturbed even though the one-shot exited 0', async () => {
    const s = scenario();
    const inner = s.rt.onRecreate!;
    s.rt.onRecreate = (t, svc) => {
      inner(t, svc);
      s.rt.containers.find((c) => c.id === 'store-1')!.id = 'store-2';
    };
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'failed', failure_reason: 'dependency-disturbed', exit_code: 0 });
    expect(o.dependencies[0]).toMatchObject({ module: 'store', ok: false });
    expect(o.verdict).toMatch(/store-1 → store-2/);
  });

  it('a parent left unhealthy (same ID) is also disturbed; and it outranks a failed exit', async () => {
    const s = scenario({ newExit: 3 });
    const inner = s.rt.onRecreate!;
    s.rt.onRecreate = (t, svc) => {
      inner(t, svc);
      s.rt.containers.find((c) => c.id === 'store-1')!.health = 'starting';
    };
    const o = await applyOneShot(request(s), deps(s));
    expect(o.failure_reason).toBe('dependency-disturbed');
    expect(o.verdict).toMatch(/store-1 is starting.*also exited 3/);
  });

  // Once recreate was asked for, the engine may have run something: never "could not run" (exit 3)
  // after that point, always a "no" (exit 1) that says what happened.
  it('compose failing to recreate: compose-error, a "no" (not could-not-run), secrets scrubbed from its message', async () => {
    const s = scenario();
    s.rt.recreateService = async () => ({ code: 1, stdout: '', stderr: `ERROR: something about ${SECRET}` });
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'failed', failure_reason: 'compose-error', could_not_run: false });
    expect(applyExitCode(o)).toBe(1);
    expect(o.verdict).not.toContain(SECRET);
    expect(s.rt.locks.size).toBe(0);
  });

  it('no new container after recreate: refuses to guess (compose-error)', async () => {
    const s = scenario();
    s.rt.onRecreate = () => undefined;
    const o = await applyOneShot(request(s), deps(s));
    expect(o.failure_reason).toBe('compose-error');
    expect(o.verdict).toMatch(/found 0/);
    expect(s.rt.callsTo('wait')).toEqual([]);
  });

  it('docker wait itself failing after the run started: a "no", never success, never "could not run", lock released', async () => {
    const s = scenario();
    s.rt.wait = async () => {
      throw new EnvironmentError('docker wait init-new failed: connection reset');
    };
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'failed', failure_reason: 'docker-unavailable', could_not_run: false });
    expect(applyExitCode(o)).toBe(1);
    expect(s.rt.locks.size).toBe(0);
  });

  it('an unexpected throw under the lock: failed (internal), lock still released', async () => {
    const s = scenario();
    s.rt.recreateService = async () => {
      throw new Error('bug');
    };
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'failed', failure_reason: 'internal', could_not_run: false });
    expect(o.verdict).toContain('bug');
    expect(s.rt.locks.size).toBe(0);
  });

  it('a lock that cannot be released is a loud warning with the manual command', async () => {
    const s = scenario();
    s.rt.removeLock = async () => {
      throw new EnvironmentError('docker rm failed: daemon gone');
    };
    const o = await applyOneShot(request(s), deps(s));
    expect(o.status).toBe('applied');
    expect(o.warnings.join('\n')).toContain(`docker rm ${LOCK}`);
    expect(s.warns.join('\n')).toContain('could not release the module lock');
  });
});

describe('apply: a one-shot runs as exactly one container', () => {
  it.each([
    ['scale: 2', { scale: 2 }],
    ['deploy.replicas: 3', { deploy: { replicas: 3 } }],
    ['deploy.mode: global', { deploy: { mode: 'global' } }],
  ])('rendered %s: refused before anything runs (invalid-modules, exit 1)', async (_label, extra) => {
    const s = scenario();
    s.rt.projects.platform!.services['store-init'] = { image: 'stateguard/busybox:1.0.0', ...extra };
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'refused', failure_reason: 'invalid-modules', could_not_run: false });
    expect(applyExitCode(o)).toBe(1);
    expect(o.verdict).toMatch(/exactly one container/);
    expect(recreated(s)).toEqual([]);
    expect(s.rt.locks.size).toBe(0);
  });

  it('two containers started anyway (compose scaled it): both are stopped, failed with exit 1, never "could not run"', async () => {
    const s = scenario();
    s.rt.onRecreate = (_t, service) => {
      s.rt.containers = s.rt.containers.filter((c) => c.service !== service);
      for (const id of ['init-a', 'init-b'])
        s.rt.containers.push(container({ project: 'platform', service, id, state: 'running' }));
    };
    const o = await applyOneShot(request(s), deps(s));
    expect(o).toMatchObject({ status: 'failed', failure_reason: 'compose-error', could_not_run: false });
    expect(applyExitCode(o)).toBe(1);
    expect(o.verdict).toMatch(/found 2/);
    expect(
      s.rt
        .callsTo('stop')
        .flatMap((c) => c.args[0] as string[])
        .sort(),
    ).toEqual(['init-a', 'init-b']);
    expect(s.rt.callsTo('wait')).toEqual([]);
  });
});

describe('LineScrubber: secrets split across chunks and streams', () => {
  function run(chunks: Array<[string, 'stdout' | 'stderr']>, secrets: string[], maxLine?: number): string[] {
    const scrub = new Scrubber();
    for (const v of secrets) scrub.add(v);
    const out: string[] = [];
    const ls = new LineScrubber(scrub, (l) => out.push(l), 40, maxLine, maxLine ? Math.floor(maxLine / 4) : undefined);
    for (const [c, st] of chunks) ls.push(c, st);
    ls.flush();
    return out;
  }

  it('a secret split over two chunks is masked whole', () => {
    expect(
      run(
        [
          ['pw=s3cr', 'stdout'],
          ['et-value\n', 'stdout'],
        ],
        ['s3cret-value'],
      ),
    ).toEqual(['pw=***']);
  });

  it('a stderr chunk arriving in the middle of a stdout line does not break the stdout secret', () => {
    const out = run(
      [
        ['pw=s3cr', 'stdout'],
        ['warning here\n', 'stderr'],
        ['et-value\n', 'stdout'],
      ],
      ['s3cret-value'],
    );
    expect(out).toEqual(['warning here', 'pw=***']);
  });

  it('a last line without a newline is flushed, scrubbed', () => {
    expect(run([['end s3cret-value', 'stdout']], ['s3cret-value'])).toEqual(['end ***']);
  });

  it('an over-long line is cut without ever cutting a secret in two', () => {
    const secret = 'ZZ-secret-ZZ';
    for (let offset = 0; offset < 40; offset++) {
      const line = 'a'.repeat(50 + offset) + secret + 'b'.repeat(200);
      const chunks: Array<[string, 'stdout']> = line.match(/.{1,7}/g)!.map((c) => [c, 'stdout']);
      const out = run([...chunks, ['\n', 'stdout']], [secret], 64);
      const joined = out.join('');
      expect(joined).not.toContain('ZZ-');
      expect(joined).not.toContain('-ZZ');
      expect(joined.replace('***', secret)).toBe(line);
    }
  });

  it('registerEnvSecrets registers secret-looking names only, and multi-line values line by line', () => {
    const scrub = new Scrubber();
    const added: string[] = [];
    const n = registerEnvSecrets(
      [
        'DB_PASSWORD=pw-123',
        'PATH=/usr/bin',
        'TLS_PRIVATE_KEY=-----BEGIN-----\nAAAABBBB\nCCCCDDDD\n-----END-----',
        'EMPTY_TOKEN=',
        'noequals',
      ],
      scrub,
      (v) => added.push(v),
    );
    expect(added).toContain('pw-123');
    expect(added).toContain('AAAABBBB');
    expect(added).toContain('CCCCDDDD');
    expect(added).not.toContain('/usr/bin');
    expect(n).toBe(added.length);
    expect(scrub.scrub('key line AAAABBBB')).toBe('key line ***');
  });
});
