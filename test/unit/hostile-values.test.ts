/**
 * Values that must neither leak nor crash, each of which once said yes or printed a secret:
 * booleans trimmed by the action layer, secret names and URL userinfo the scrubber must mask, a
 * value compose interpolates into the rendered config (kept out of the plan, its file and the PR
 * comment), and deeply nested YAML (a clear problem, never a crash).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { registerEnvSecrets } from '../../src/apply/logs.js';
import { loadModules } from '../../src/model/module.js';
import { looksSecret, MASK, Scrubber } from '../../src/report/scrub.js';
import { actionRun, cliRun, fakeCommentsApi } from '../support/commands.js';
import { container, FakeRuntime, examplePlatform } from '../support/fake-runtime.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';

afterAll(cleanupTempRepos);

const ROOT = path.join(REPO, 'examples/platform');

const platform = (): FakeRuntime => examplePlatform();

describe('booleans are exactly true/false in the action layer too', () => {
  it.each([' true', 'true ', 'true\n', '\ttrue', ' false'])(
    'guard action refuses allow-stateful=%j as invalid input',
    async (value) => {
      const r = await actionRun(
        'guard',
        { root: ROOT, module: 'store-init', 'allow-stateful': value, confirm: 'BACKUP_DONE' },
        platform(),
      );
      expect(r.code).toBe(3);
      expect(r.outputs['failure-reason']).toBe('invalid-input');
      expect(r.outputs.decision).toBe('blocked');
    },
  );
  it('an empty boolean input is "not given" (its default), not an error', async () => {
    const r = await actionRun('plan', { root: ROOT, comment: '', 'detailed-exitcode': '' }, platform());
    expect(r.code).toBe(0);
  });
});

describe('secret names and URL credentials are masked', () => {
  it.each([
    'DB_PWD',
    'SMTP_PASS',
    'MYSQL_ROOT_PASSWD',
    'AWS_CREDENTIALS',
    'BASIC_AUTH',
    'SSH_PRIVATE',
    'GH_TOKEN',
    'API_KEY',
  ])('%s looks secret', (name) => expect(looksSecret(name)).toBe(true));
  it.each(['PATH', 'HOME', 'LANG', 'PORT', 'TZ'])('%s does not', (name) => expect(looksSecret(name)).toBe(false));

  it.each([
    ['postgres://app:hunter2xyz@db:5432/app', 'hunter2xyz'],
    ['mongodb+srv://root:p%40ss@cluster0/x', 'p%40ss'],
    ['see https://user:tok3n@example.invalid/path ok', 'tok3n'],
  ])('URL userinfo in %s is masked by every scrubber', (text, secret) => {
    const out = new Scrubber().scrub(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(`${MASK}@`);
  });

  it('a DSN in a variable of any name is registered (so a bare password in a log line is masked too)', () => {
    const s = new Scrubber();
    const added: string[] = [];
    registerEnvSecrets(['DATABASE_URL=postgres://app:s3cr3t-pw@db/app', 'PATH=/bin'], s, (v) => added.push(v));
    expect(added).toContain('s3cr3t-pw');
    expect(s.scrub('password was s3cr3t-pw')).toBe(`password was ${MASK}`);
  });

  it('boolean-like values of secret-looking names are never registered (they would corrupt `verified: true`)', () => {
    const s = new Scrubber();
    registerEnvSecrets(['USE_AUTH=true', 'TOKEN_ENABLED=false'], s, () => undefined);
    expect(s.scrub('verified: true, ok: false')).toBe('verified: true, ok: false');
  });
});

describe('a value compose interpolates from the runner environment reaches neither the plan nor the PR comment', () => {
  const SECRET = 'Zq9-registry-pw-77';
  function repo(): string {
    return tempRepo({
      'compose.yaml': 'services:\n  web:\n    image: reg.example/x:${REGISTRY_PASSWORD}\n    restart: always\n',
      'modules/web/module.yaml': moduleYaml(
        'web',
        '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n',
      ),
    });
  }
  function engine(): FakeRuntime {
    const rt = new FakeRuntime();
    // compose renders the interpolated value in place: the fake does what compose does
    rt.projects.p = { services: { web: { image: `reg.example/x:${SECRET}` } }, hashes: { web: 'h-web' } };
    rt.containers.push(
      container({ project: 'p', service: 'web', id: 'web-1', imageRef: 'reg.example/x:old', configHash: 'h-old' }),
    );
    return rt;
  }

  it('CLI: --json, text and the --out file carry no trace of it', async () => {
    const root = repo();
    const out = path.join(root, 'plan.json');
    const r = await cliRun(['plan', '--root', root, '--json', '--out', out], engine(), {
      env: { REGISTRY_PASSWORD: SECRET },
    });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    const file = readFileSync(out, 'utf8');
    expect(file).not.toContain(SECRET);
    expect(file).toContain('reg.example/x:***');
  });

  it('also from a .env file beside the compose file', async () => {
    const withDotEnv = tempRepo({
      'compose.yaml': 'services:\n  web:\n    image: reg.example/x:${REGISTRY_PASSWORD}\n',
      '.env': `# registry\nREGISTRY_PASSWORD="${SECRET}"\n`,
      'modules/web/module.yaml': moduleYaml(
        'web',
        '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n',
      ),
    });
    const r = await cliRun(['plan', '--root', withDotEnv, '--json'], engine());
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it.each([
    ['an include:d file', 'include:\n  - db/compose.yaml\nservices:\n  other:\n    image: x:1\n', 'db/compose.yaml'],
    [
      'the file a service extends',
      'services:\n  web:\n    extends: { file: base/web.yaml, service: web }\n',
      'base/web.yaml',
    ],
  ])('also when only %s refers to it (compose reads that file too)', async (_label, main, other) => {
    const root = tempRepo({
      'compose.yaml': main,
      [other]: 'services:\n  web:\n    image: reg.example/x:${REGISTRY_PASSWORD}\n',
      'modules/web/module.yaml': moduleYaml(
        'web',
        '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: web }\n',
      ),
    });
    const r = await cliRun(['plan', '--root', root, '--json'], engine(), { env: { REGISTRY_PASSWORD: SECRET } });
    expect(r.stdout).toContain('reg.example/x:***');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('action: outputs, summary, log, plan file and the sticky PR comment carry no trace of it', async () => {
    const api = await fakeCommentsApi();
    try {
      const root = repo();
      const event = path.join(root, 'event.json');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(event, JSON.stringify({ number: 7, pull_request: { number: 7 } }));
      const r = await actionRun('plan', { root, 'github-token': 'ghs_faketoken123' }, engine(), {
        env: {
          REGISTRY_PASSWORD: SECRET,
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_REPOSITORY: 'o/r',
          GITHUB_EVENT_PATH: event,
          GITHUB_API_URL: api.url,
          RUNNER_TEMP: root,
        },
      });
      expect(r.code).toBe(0);
      const posted = api.bodies.join('\n');
      expect(posted).toContain('reg.example/x:***');
      expect(posted).not.toContain(SECRET);
      const everything = [
        ...r.logs,
        ...r.summaries,
        ...Object.values(r.outputs),
        readFileSync(r.outputs['plan-json']!, 'utf8'),
      ].join('\n');
      expect(everything).not.toContain(SECRET);
    } finally {
      await api.close();
    }
  });
});

describe('deeply nested YAML is a clear problem, not a crash', () => {
  it.each([
    ['flow sequences', `${'['.repeat(20000)}${']'.repeat(20000)}`],
    ['flow mappings', `${'{a: '.repeat(20000)}1${'}'.repeat(20000)}`],
    ['block mappings', Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1'],
  ])('%s', (_label, body) => {
    const root = tempRepo({
      'modules/deep/module.yaml': `apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: deep\nspec:\n  x: ${body}\n`,
    });
    const { problems } = loadModules(root, 'modules/*/module.yaml', root);
    const text = problems.map((p) => p.message).join('\n');
    expect(text).not.toMatch(/call stack/i);
    expect(text).toMatch(/nested too deeply/);
  });
});
