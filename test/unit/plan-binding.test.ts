/**
 * The reviewed plan is the plan that runs. A one-shot
 * stands exited (1); its command gains `rm -rf /data/*`; its drift keys stay the same. Before the
 * fix the plan_hash stayed the same too and apply ran the destructive version. And container.config
 * says what differs, field by field, never a value.
 */
import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { configDifferences, fingerprint } from '../../src/drift/config-diff.js';
import { planModules } from '../../src/plan/plan.js';
import { loadModules } from '../../src/model/module.js';
import type { ContainerInfo, RenderedService } from '../../src/runtime/types.js';
import { actionRun, cliRun } from '../support/commands.js';
import { container, FakeRuntime, examplePlatform } from '../support/fake-runtime.js';
import { REPO } from '../support/runner.js';

const ROOT = path.join(REPO, 'examples/platform');

/** The example platform; store-init's declared config hash is `initHash`, its container ran under h-create-bucket. */
function engine(initHash: string): FakeRuntime {
  const rt = examplePlatform({ initExit: 'missing', initHash });
  rt.containers.push(
    container({
      project: 'platform',
      service: 'store-init',
      id: 'init-1',
      state: 'exited',
      exitCode: 1,
      configHash: 'h-create-bucket',
    }),
  );
  return rt;
}

function modules() {
  const loaded = loadModules(ROOT, 'modules/*/module.yaml', ROOT);
  return loaded.modules;
}

describe('a module plan_hash binds the declared definition, not only the drift keys', () => {
  it('same drift (exited-nonzero), edited command: a different module hash', async () => {
    const reviewed = await planModules(modules(), engine('h-create-bucket'), { only: ['store-init'] });
    const edited = await planModules(modules(), engine('h-rm-rf-data'), { only: ['store-init'] });
    // exited (1) is never a success, so the one-shot's drift reads the same either way ...
    expect(edited.modules[0]!.drift.map((d) => [d.key, d.reason])).toEqual(
      reviewed.modules[0]!.drift.map((d) => [d.key, d.reason]),
    );
    // ... but what would run is not the same: the hash says so.
    expect(edited.modules[0]!.plan_hash).not.toBe(reviewed.modules[0]!.plan_hash);
  });

  it('apply with the reviewed module hash refuses the edited definition (plan-changed), and runs nothing', async () => {
    const reviewed = await planModules(modules(), engine('h-create-bucket'), { only: ['store-init'] });
    const rt = engine('h-rm-rf-data');
    const r = await cliRun(
      [
        'apply',
        '--root',
        ROOT,
        '--module',
        'store-init',
        '--allow-stateful',
        '--confirm',
        'BACKUP_DONE',
        '--backup-ref',
        '/nope.tar.gz',
        '--backup-root',
        '/',
        '--expected-plan-hash',
        reviewed.modules[0]!.plan_hash,
        '--json',
      ],
      rt,
    );
    const out = JSON.parse(r.stdout) as { status: string; failure_reason: string };
    expect(out.failure_reason).toBe('plan-changed');
    expect(r.code).toBe(1);
    expect(rt.callsTo('recreateService')).toEqual([]);
  });

  it("plan --module hands out that module's hash as plan-hash, and every module's in module-plan-hashes", async () => {
    const r = await cliRun(['plan', '--root', ROOT, '--module', 'store-init', '--json'], engine('h-x'));
    const plan = JSON.parse(r.stdout) as { modules: Array<{ name: string; plan_hash: string }>; plan_hash: string };
    expect(plan.modules[0]!.plan_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.modules[0]!.plan_hash).not.toBe(plan.plan_hash);
    expect(r.stderr + r.stdout).toContain(plan.modules[0]!.plan_hash);
  });
});

describe('output stateful-modules', () => {
  it('lists the stateful modules with data volumes (a backup matrix), next to drifted-modules', async () => {
    const r = await actionRun('plan', { root: ROOT, comment: 'false' }, engine('h-x'), {
      env: { RUNNER_TEMP: path.join(REPO, 'build', 'tmp-plan-binding') },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.outputs['stateful-modules']!)).toEqual(['store']);
    expect(JSON.parse(r.outputs['drifted-modules']!)).toEqual(expect.any(Array));
  });

  it('the job summary names the commit and links the run (from the runner environment)', async () => {
    const r = await actionRun('plan', { root: ROOT, comment: 'false' }, engine('h-x'), {
      env: {
        RUNNER_TEMP: path.join(REPO, 'build', 'tmp-plan-binding'),
        GITHUB_SHA: 'abcdef0123456789abcdef0123456789abcdef01',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'acme/platform',
        GITHUB_RUN_ID: '77',
      },
    });
    expect(r.summaries.join('\n')).toContain(
      'commit `abcdef0` · [workflow run](https://github.com/acme/platform/actions/runs/77)',
    );
  });
});

describe('container.config says what differs, field by field, never a value', () => {
  const base: ContainerInfo = {
    ...container({
      project: 'p',
      service: 's',
      env: ['PATH=/bin', 'DB_HOST=db1', 'DB_PASSWORD=hunter2-secret'],
      labels: { team: 'a' },
    }),
    mounts: [{ type: 'volume', name: 'p_data', source: '/x', destination: '/data' }],
    config: {
      cmd: ['sh', '-c', 'create-bucket'],
      entrypoint: null,
      user: '',
      restartPolicy: 'no',
      healthcheck: null,
      ports: [],
    },
  };
  const declared: RenderedService = {
    image: 'stateguard/busybox:1.0.0',
    command: ['sh', '-c', 'create-bucket'],
    environment: { DB_HOST: 'db1', DB_PASSWORD: 'hunter2-secret' },
    labels: { team: 'a' },
    volumes: [{ type: 'volume', source: 'data', target: '/data' }],
    restart: 'no',
  };
  const cases: Array<[string, RenderedService, string[]]> = [
    ['nothing declared differs', declared, []],
    ['command (list form)', { ...declared, command: ['sh', '-c', 'rm -rf /data/*'] }, ['command']],
    ['command (string form, v1 rendering)', { ...declared, command: 'sh -c "rm -rf /data/*"' }, ['command']],
    ['the same command as a string', { ...declared, command: 'sh -c create-bucket' }, []],
    [
      'an environment value',
      { ...declared, environment: { DB_HOST: 'db2', DB_PASSWORD: 'hunter2-secret' } },
      [`environment DB_HOST (${fingerprint('db1')} → ${fingerprint('db2')})`],
    ],
    [
      'a secret environment value: no fingerprint at all',
      { ...declared, environment: { DB_HOST: 'db1', DB_PASSWORD: 'other-secret' } },
      ['environment DB_PASSWORD (value changed)'],
    ],
    [
      'a new environment key',
      { ...declared, environment: { DB_HOST: 'db1', DB_PASSWORD: 'hunter2-secret', NEW: 'x' } },
      ['environment NEW (not set on the container)'],
    ],
    ['a volume target', { ...declared, volumes: ['data:/srv'] }, ['volumes (+/srv, -/data)']],
    ['restart', { ...declared, restart: 'always' }, ['restart (no → always)']],
    ['a label', { ...declared, labels: ['team=b'] }, [`label team (${fingerprint('a')} → ${fingerprint('b')})`]],
    ['a healthcheck string is CMD-SHELL', { ...declared, healthcheck: { test: 'true' } }, ['healthcheck']],
    ['user', { ...declared, user: '1000' }, ['user']],
    ['entrypoint', { ...declared, entrypoint: ['/bin/sh'] }, ['entrypoint']],
  ];
  it.each(cases)('%s', (_label, svc, expected) => {
    const fields = configDifferences(svc, base);
    expect(fields).toEqual(expected);
    expect(JSON.stringify(fields)).not.toMatch(/hunter2|other-secret|db2|rm -rf/);
  });

  it('a plan of a drifted running service carries the fields in its container.config item', async () => {
    const rt = new FakeRuntime();
    rt.overlayFiles = false; // the rendering below is the whole declared side
    rt.projects.platform = {
      services: {
        store: { image: 'stateguard/busybox:1.0.0', environment: { STORE_MODE: 'fast' } },
        'store-init': { image: 'stateguard/busybox:1.0.0' },
        web: { image: 'stateguard/busybox:1.0.0' },
      },
      hashes: { store: 'h-new', 'store-init': 'h-init', web: 'h-web' },
    };
    rt.images['stateguard/busybox:1.0.0'] = 'sha256:aaa';
    rt.containers.push({
      ...container({
        project: 'platform',
        service: 'store',
        id: 'store-1',
        configHash: 'h-old',
        env: ['STORE_MODE=slow'],
      }),
      config: base.config,
    });
    const plan = await planModules(modules(), rt, { only: ['store'] });
    const item = plan.modules[0]!.drift.find((d) => d.key === 'container.config')!;
    expect(item.fields).toEqual([`environment STORE_MODE (${fingerprint('slow')} → ${fingerprint('fast')})`]);
  });
});
