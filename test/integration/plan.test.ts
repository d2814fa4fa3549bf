/**
 * plan on the real engine (compose v1 here): one real compose project whose services are put into
 * every state of docs/architecture.md §3's table, then planned once; plus the in-sync case, plan_hash stability,
 * the process count, and the fail-closed paths (unreachable engine, a compose file compose cannot render).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { planModules } from '../../src/plan/plan.js';
import type { DriftItem, Plan } from '../../src/drift/types.js';
import { validateModules } from '../../src/model/validate.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { countingRunner, spawnProcess } from '../../src/runtime/process.js';
import {
  IMAGE,
  NOSHELL_IMAGE,
  describeDocker,
  docker,
  removeProject,
  uniqueProject,
  compose,
} from '../support/docker.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';

const validatePlan = new Ajv2020({ strict: true, allErrors: true }).compile(
  JSON.parse(readFileSync(path.join(REPO, 'schema/plan.schema.json'), 'utf8')),
);

const LOOP = `["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1; done"]`;
const RUNNING = ['ok', 'stopped', 'missing', 'config', 'unhealthy', 'imgref', 'imgtag'];
const ONESHOTS = ['os-ok', 'os-fail', 'os-created', 'os-running', 'os-stale', 'os-missing'];

function composeFile(o: { configEnv: string; imgref: string; staleEnv: string; tagA: string; tagB: string }): string {
  const loop = (name: string, extra = '') => `  ${name}:\n    image: ${IMAGE}\n    command: ${LOOP}\n${extra}`;
  const once = (name: string, cmd: string, extra = '') =>
    `  ${name}:\n    image: ${IMAGE}\n    restart: "no"\n    command: ["sh", "-c", "${cmd}"]\n${extra}`;
  return [
    'services:',
    loop('ok'),
    loop('stopped'),
    loop('missing'),
    loop('config', `    environment:\n      SETTING: "${o.configEnv}"\n`),
    loop(
      'unhealthy',
      '    healthcheck:\n      test: ["CMD", "false"]\n      interval: 1s\n      timeout: 1s\n      retries: 1\n',
    ),
    `  imgref:\n    image: ${o.imgref}\n    command: ${LOOP}\n`,
    `  imgtag:\n    image: ${o.tagB}\n    command: ${LOOP}\n`,
    once('os-ok', 'exit 0'),
    once('os-fail', 'exit 1'),
    once('os-created', 'exit 0'),
    once('os-running', 'sleep 300'),
    once('os-stale', 'exit 0', `    environment:\n      VERSION: "${o.staleEnv}"\n`),
    once('os-missing', 'exit 0'),
    '',
  ].join('\n');
}

describeDocker('stateguard plan on the real engine', () => {
  const project = uniqueProject('sgplan');
  const rand = randomBytes(4).toString('hex');
  const tagA = `sgtest-img-${rand}:1.0.0`;
  const tagA2 = `sgtest-img-${rand}:1.1.0`;
  const tagB = `sgtest-img-${rand}-t:1.0.0`;
  const tags = [tagA, tagA2, tagB];
  let root = '';
  let composePath = '';
  let plan: Plan;
  let calls: string[][] = [];
  // Set up the scenario with compose itself (the flavor the product uses), exactly as an operator would.
  const dc = (...args: string[]) => compose([composePath], project, args);

  beforeAll(async () => {
    for (const t of tags) expect(docker(['tag', IMAGE, t]).status).toBe(0);
    const files: Record<string, string> = {
      'compose.yaml': composeFile({ configEnv: 'one', imgref: tagA, staleEnv: 'v1', tagA, tagB }),
    };
    for (const name of [...RUNNING, ...ONESHOTS]) {
      const oneShot = name.startsWith('os-');
      files[`modules/${name}/module.yaml`] = moduleYaml(
        name,
        `  class: stateless\n  compose: { file: ../../compose.yaml, project: ${project}, service: ${name} }\n${oneShot ? '  runtime: { expected_state: exited-success }\n' : ''}`,
      );
    }
    root = tempRepo(files, 'sg-plan-it-');
    composePath = path.join(root, 'compose.yaml');

    // Bring the project into every state.
    const up = dc(
      'up',
      '-d',
      'ok',
      'stopped',
      'config',
      'unhealthy',
      'imgref',
      'imgtag',
      'os-ok',
      'os-fail',
      'os-running',
      'os-stale',
    );
    expect(up.status).toBe(0);
    expect(dc('up', '--no-start', 'os-created').status).toBe(0);
    // A one-off `compose run` container of `missing` must not count as its container.
    expect(dc('run', '-d', 'missing').status).toBe(0);
    const idOf = (service: string) =>
      docker([
        'ps',
        '-aq',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
        '--filter',
        'label=com.docker.compose.oneoff=False',
      ]).stdout.trim();
    for (const s of ['os-ok', 'os-fail', 'os-stale']) expect(docker(['wait', idOf(s)]).status).toBe(0);
    expect(docker(['stop', '-t', '5', idOf('stopped')]).status).toBe(0);
    const deadline = Date.now() + 60_000;
    while (docker(['inspect', '-f', '{{.State.Health.Status}}', idOf('unhealthy')]).stdout.trim() !== 'unhealthy') {
      if (Date.now() > deadline) throw new Error('healthcheck never turned unhealthy');
      await new Promise((r) => setTimeout(r, 500));
    }
    // Change the repo and the image tags after the fact.
    writeFileSync(composePath, composeFile({ configEnv: 'two', imgref: tagA2, staleEnv: 'v2', tagA, tagB }));
    expect(docker(['tag', NOSHELL_IMAGE, tagB]).status).toBe(0);

    const { loaded, problems } = await validateModules(root, 'modules/*/module.yaml', root, (t) =>
      new DockerCli().renderProject(t),
    );
    expect(problems).toEqual([]);
    const counting = countingRunner(spawnProcess);
    plan = await planModules(loaded.modules, new DockerCli({ runner: counting.runner }));
    calls = counting.calls;
  }, 240_000);

  afterAll(() => {
    removeProject(project);
    for (const t of tags) docker(['rmi', t]);
    cleanupTempRepos();
  });

  const driftOf = (name: string): DriftItem[] => plan.modules.find((m) => m.name === name)!.drift;
  const keysOf = (name: string) => driftOf(name).map((d) => d.key);

  it('is schema-valid and covers every module', () => {
    expect(validatePlan(plan)).toBe(true);
    expect(plan.modules).toHaveLength(RUNNING.length + ONESHOTS.length);
    expect(plan.summary.drifted).toBe(plan.modules.length - 2);
  });

  it.each([
    ['ok', []],
    ['os-ok', []],
    ['missing', ['container.missing']],
    ['stopped', ['container.state.running']],
    ['config', ['container.config']],
    ['unhealthy', ['container.health']],
  ])('%s -> %j', (name, keys) => {
    expect(keysOf(name)).toEqual(keys);
  });

  it('stopped: observed exited with its code', () => {
    expect(driftOf('stopped')).toEqual([
      { key: 'container.state.running', declared: 'running', observed: 'exited (0)' },
    ]);
  });

  it('image reference changed: container.image with the semver bump (compose also re-hashes the config)', () => {
    expect(driftOf('imgref')).toContainEqual({
      key: 'container.image',
      declared: tagA2,
      observed: tagA,
      reason: 'reference-changed',
      bump: 'minor',
    });
  });

  it('same tag re-pointed at another image ID (docker tag): container.image, tag-repointed', () => {
    const item = driftOf('imgtag').find((d) => d.key === 'container.image')!;
    expect(item).toMatchObject({ reason: 'tag-repointed', bump: 'unknown' });
    const noshellId = docker(['image', 'inspect', '-f', '{{.Id}}', NOSHELL_IMAGE])
      .stdout.trim()
      .replace('sha256:', '')
      .slice(0, 12);
    const busyboxId = docker(['image', 'inspect', '-f', '{{.Id}}', IMAGE])
      .stdout.trim()
      .replace('sha256:', '')
      .slice(0, 12);
    expect(item.declared).toBe(`${tagB} (image ${noshellId})`);
    expect(item.observed).toBe(`${tagB} (image ${busyboxId})`);
  });

  it.each([
    ['os-fail', 'exited-nonzero', 'exited (1)'],
    ['os-created', 'never-started', 'created'],
    ['os-running', 'running', 'running'],
  ])('one-shot %s -> container.state.exited_success (%s)', (name, reason, observed) => {
    expect(driftOf(name)).toEqual([
      { key: 'container.state.exited_success', declared: 'exited (0)', observed, reason },
    ]);
  });

  it('one-shot os-stale -> stale-config, naming the field that changed (a key and fingerprints, never the value)', () => {
    expect(driftOf('os-stale')).toEqual([
      {
        key: 'container.state.exited_success',
        declared: 'exited (0)',
        observed: 'exited (0) under an older config',
        reason: 'stale-config',
        fields: [expect.stringMatching(/^environment VERSION \([0-9a-f]{8} → [0-9a-f]{8}\)$/)],
      },
    ]);
  });

  it('one-shot os-missing -> no-container, and its image is unverifiable (no container, no run record)', () => {
    expect(driftOf('os-missing')).toEqual([
      {
        key: 'container.image',
        declared: IMAGE,
        observed: 'unknown: no container and no stateguard record of a successful run',
        reason: 'unverifiable',
        bump: 'unknown',
      },
      { key: 'container.state.exited_success', declared: 'exited (0)', observed: 'missing', reason: 'no-container' },
    ]);
  });

  it('a one-off `compose run` container is ignored (missing stays missing)', () => {
    expect(plan.modules.find((m) => m.name === 'missing')!.observed).toMatchObject({
      container_id: null,
      state: 'missing',
    });
  });

  it('never contains environment values (keys with a fingerprint only)', () => {
    const text = JSON.stringify(plan);
    expect(text).not.toContain('two');
    expect(text).toContain('environment SETTING (');
  });

  it('docker/compose processes: one per kind for the project, not per module', () => {
    // The engine ping and the compose flavor probe (`docker compose version`, then `docker-compose version`) run once.
    const probes = calls.filter((c) => c.includes('version'));
    expect(probes.length).toBeLessThanOrEqual(3);
    const kinds = calls
      .filter((c) => !c.includes('version'))
      .map((c) =>
        c[0] === 'docker-compose' || (c[0] === 'docker' && c[1] === 'compose')
          ? `compose ${c.slice(c.indexOf('-p') + 2).join(' ')}`
          : `docker ${c[1]}`,
      )
      .sort();
    // docker volume: stateguard's run records of the project's one-shots (one listing)
    // v2 renders the model as JSON (and with every profile, to name a profiled service it leaves out), then
    // hashes that rendered model (what `up` writes: docs/architecture.md §3)
    const rendering =
      process.env.STATEGUARD_COMPOSE === 'v2'
        ? [
            'compose --profile * config --format json',
            `compose --project-directory ${root} config --hash *`,
            'compose config --format json',
          ]
        : ['compose config', 'compose config --hash *'];
    expect(kinds).toEqual([...rendering, 'docker image', 'docker inspect', 'docker ps', 'docker volume'].sort());
    expect(calls.length).toBeLessThanOrEqual(process.env.STATEGUARD_COMPOSE === 'v2' ? 10 : 9);
  });

  it('plan_hash is stable when nothing changed and changes when a drift item changes', async () => {
    const { loaded } = await validateModules(root, 'modules/*/module.yaml', root, (t) =>
      new DockerCli().renderProject(t),
    );
    const again = await planModules(loaded.modules, new DockerCli());
    expect(again.plan_hash).toBe(plan.plan_hash);
    const stoppedId = plan.modules.find((m) => m.name === 'stopped')!.observed.container_id!;
    expect(docker(['start', stoppedId]).status).toBe(0);
    try {
      const after = await planModules(loaded.modules, new DockerCli());
      expect(after.modules.find((m) => m.name === 'stopped')!.in_sync).toBe(true);
      expect(after.plan_hash).not.toBe(plan.plan_hash);
    } finally {
      docker(['stop', '-t', '5', stoppedId]);
    }
  });

  it('CLI: the all-in-sync case exits 0 with --detailed-exitcode; drift exits 2; --out writes the plan', async () => {
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(['plan', '--root', root, ...argv], {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        env: process.env,
        cwd: root,
      });
      return { code, stdout, stderr };
    };
    const inSync = await run(['--module', 'ok', '--detailed-exitcode', '--json']);
    expect(inSync.code).toBe(0);
    expect(JSON.parse(inSync.stdout)).toMatchObject({
      summary: { modules: 1, drifted: 0 },
      modules: [{ name: 'ok', in_sync: true }],
    });
    const oneShotInSync = await run(['--module', 'os-ok', '--detailed-exitcode']);
    expect(oneShotInSync.code).toBe(0);
    expect(oneShotInSync.stdout).toContain('1 module, all in sync.');
    const all = await run(['--detailed-exitcode', '--out', 'plan.json']);
    expect(all.code).toBe(2);
    expect(all.stdout).toMatch(
      /^os-fail\s+stateless\s+exited-success\s+exited \(1\)\s+container\.state\.exited_success$/m,
    );
    expect(JSON.parse(readFileSync(path.join(root, 'plan.json'), 'utf8')).summary.drifted).toBe(11);
  });
});

describeDocker('stateguard plan fails closed', () => {
  afterAll(cleanupTempRepos);
  const web = (project: string) =>
    moduleYaml(
      'web',
      `  class: stateless\n  compose: { file: ../../compose.yaml, project: ${project}, service: web }\n`,
    );
  const run = async (root: string, env: Record<string, string | undefined>) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['plan', '--root', root, '--json'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env,
      cwd: root,
    });
    return { code, json: JSON.parse(stdout) as { error: string; failure_reason: string }, stderr };
  };

  it('engine unreachable: exit 3 naming DOCKER_HOST', async () => {
    const root = tempRepo({
      'compose.yaml': `services:\n  web:\n    image: ${IMAGE}\n`,
      'modules/web/module.yaml': web(uniqueProject()),
    });
    const r = await run(root, { ...process.env, DOCKER_HOST: 'unix:///nonexistent/sg-docker.sock' });
    expect(r.code).toBe(3);
    expect(r.json.failure_reason).toBe('docker-unavailable');
    expect(r.json.error).toContain('DOCKER_HOST=unix:///nonexistent/sg-docker.sock');
  });

  it("a compose file compose cannot render: refused before the engine is read, with compose's reason and command", async () => {
    const root = tempRepo({
      'compose.yaml': `services:\n  web:\n    image: \${SG_UNSET_IMAGE_${randomBytes(3).toString('hex')}:?must be set}\n`,
      'modules/web/module.yaml': web(uniqueProject()),
    });
    const r = await run(root, process.env);
    expect(r.code).toBe(1);
    expect(r.json.failure_reason).toBe('invalid-modules');
    expect(r.json.error).toMatch(
      /compose file \.\.\/\.\.\/compose\.yaml \(compose\.yaml\) cannot be used: compose refused to render it/,
    );
    expect(r.json.error).toMatch(
      /compose\.yaml:\d+:\d+: compose could not render project 'sgt[0-9a-f]+' from .*compose\.yaml: `.*config.*` exited \d+:/,
    );
    expect(r.json.error).toMatch(/must be set/);
  });
});

describeDocker('stateguard plan with a drift allowlist (spec.drift.allow, docs/architecture.md §3)', () => {
  const project = uniqueProject('sgallow');
  let root = '';
  let composePath = '';
  const service = (logLevel: string, extra = '') =>
    `services:\n  db:\n    image: ${IMAGE}\n    command: ${LOOP}\n    environment:\n      LOG_LEVEL: "${logLevel}"\n      TZ: UTC\n${extra}` +
    `    volumes:\n      - db-data:/var/lib/db\nvolumes:\n  db-data: {}\n`;
  const moduleWith = (until: string) =>
    moduleYaml(
      'db',
      `  class: stateful\n  compose: { file: ../../compose.yaml, project: ${project}, service: db }\n` +
        `  backup: { max_age_hours: 24 }\n  data:\n    volumes:\n      - { volume: db-data, path: /var/lib/db }\n` +
        `  drift:\n    allow:\n      - { key: container.config, fields: [environment LOG_LEVEL], reason: "debug logs for INC-7", until: ${until} }\n`,
    );
  const run = async (until: string, argv: string[]) => {
    writeFileSync(path.join(root, 'modules/db/module.yaml'), moduleWith(until));
    let stdout = '';
    let stderr = '';
    const code = await runCli(['plan', '--root', root, '--detailed-exitcode', ...argv], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: process.env,
      cwd: root,
    });
    return { code, stdout, stderr };
  };

  beforeAll(() => {
    root = tempRepo(
      { 'compose.yaml': service('info'), 'modules/db/module.yaml': moduleWith('2999-12-31') },
      'sg-allow-it-',
    );
    composePath = path.join(root, 'compose.yaml');
    expect(compose([composePath], project, ['up', '-d']).status).toBe(0);
    // The repo now declares another LOG_LEVEL than the running container has.
    writeFileSync(composePath, service('debug'));
  }, 120_000);

  afterAll(() => {
    removeProject(project);
    cleanupTempRepos();
  });

  it('an entry allowed until a past date: drift again (exit 2), and the plan says the allowance expired', async () => {
    const r = await run('2001-01-31', []);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^db\s+stateful\s+running\s+running\s+container\.config$/m);
    expect(r.stdout).toContain('differs in: environment LOG_LEVEL (');
    expect(r.stdout).toContain(
      '— counts: allowance expired after 2001-01-31 (environment LOG_LEVEL): it counts as drift',
    );
    const json = await run('2001-01-31', ['--json']);
    const plan = JSON.parse(json.stdout) as Plan;
    expect(validatePlan(plan)).toBe(true);
    expect(plan.modules[0]).toMatchObject({
      in_sync: false,
      drift: [{ key: 'container.config', allowed: false, allowances: [{ until: '2001-01-31', expired: true }] }],
    });
  });

  it('the same entry until a future date: in sync (exit 0), the item listed as allowed with its reason and until', async () => {
    const r = await run('2999-12-31', []);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^db\s+stateful\s+running\s+running\s+in sync; container\.config \(allowed\)$/m);
    expect(r.stdout).toContain('— ALLOWED (environment LOG_LEVEL until 2999-12-31: debug logs for INC-7)');
    const json = await run('2999-12-31', ['--json']);
    const plan = JSON.parse(json.stdout) as Plan;
    expect(validatePlan(plan)).toBe(true);
    expect(plan.summary.drifted).toBe(0);
    expect(plan.modules[0]).toMatchObject({
      in_sync: true,
      drift: [
        {
          key: 'container.config',
          allowed: true,
          allowances: [
            { reason: 'debug logs for INC-7', until: '2999-12-31', fields: ['environment LOG_LEVEL'], expired: false },
          ],
        },
      ],
    });
  });

  it("a change stateguard does not compare beside the allowed field is never hidden: compose's hash proves it, the item counts", async () => {
    writeFileSync(composePath, service('debug', '    working_dir: /tmp\n'));
    try {
      const r = await run('2999-12-31', ['--json']);
      expect(r.code).toBe(2);
      const plan = JSON.parse(r.stdout) as Plan;
      expect(plan.modules[0]!.drift[0]!.fields).toEqual([expect.stringMatching(/^environment LOG_LEVEL \(/)]);
      expect(plan.modules[0]!.drift[0]).toMatchObject({
        allowed: false,
        allowance_note: expect.stringContaining('not proven the only difference'),
      });
    } finally {
      writeFileSync(composePath, service('debug'));
    }
  });
});
