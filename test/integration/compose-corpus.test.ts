/**
 * Issue 24 on the real engine: validate and plan read each compose file of the fixture corpus
 * (test/fixtures/compose-corpus/<feature>/, one small repo per feature) the way the compose CLI in use
 * renders it (docs/architecture.md §2, §3). One row per fixture, run on compose v1 and v2:
 *
 * - valid fixtures: validate says valid; after `up -d` with the same compose, plan has every module
 *   in sync (env-file: a changed value in app.env then shows container.config drift; dollar-escape:
 *   another changed field is listed, the command holding `$$` is not);
 * - merge-restart-oneshot: a one-shot whose `restart: unless-stopped` comes through a merge key is
 *   refused like the written-out key;
 * - profiles: the module on a profiled service is refused naming the profile and COMPOSE_PROFILES, the
 *   other module is planned; with COMPOSE_PROFILES set both are valid and in sync;
 * - what compose v1 cannot render (include, depends_on.restart, top-level name) is refused with
 *   compose's reason and a message naming compose v2; v2 renders it;
 * - a compose `name:` or a second module contradicting the module's project is refused naming both;
 * - a compose file compose rejects is refused with compose's whole reason and the failed command.
 *
 * Assertions are on the substrings the issue requires (names, profile, COMPOSE_PROFILES, v2), never on
 * whole sentences.
 */
import { afterAll, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { compose, describeDocker, removeProject, testFlavor, uniqueProject } from '../support/docker.js';
import { REPO } from '../support/runner.js';

const CORPUS = path.join(REPO, 'test/fixtures/compose-corpus');
const FLAVOR = testFlavor();

interface Copy {
  root: string;
  /** the project every module declares (`corpus-project` in the fixture) */
  project: string;
  /** the second project of the two-projects fixture (`corpus-other`) */
  other: string;
}

const made: Copy[] = [];

/** Copy a fixture to a temp dir, its module projects rewritten to unique names for this run. */
function copyFixture(name: string): Copy {
  // the temp dir's name does not hold the fixture's name: a printed path must not satisfy an assertion
  const root = mkdtempSync(path.join(tmpdir(), 'sg-corpus-'));
  cpSync(path.join(CORPUS, name), root, { recursive: true });
  const project = uniqueProject('sgcorpus');
  const copy = { root, project, other: `${project}-other` };
  made.push(copy);
  for (const m of readdirSync(path.join(root, 'modules'))) {
    const file = path.join(root, 'modules', m, 'module.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replaceAll('corpus-project', copy.project).replaceAll('corpus-other', copy.other),
    );
  }
  return copy;
}

function cleanup(copy: Copy): void {
  removeProject(copy.project);
  removeProject(copy.other);
  rmSync(copy.root, { recursive: true, force: true });
}

/** The environment of a CLI run: this process's, without anything that would change the rendering. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STATEGUARD_COMPOSE: FLAVOR };
  for (const k of ['COMPOSE_PROFILES', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME', 'DATA_DIR', 'PGDATA_DIR', 'DB_LOCATION'])
    delete env[k];
  return { ...env, ...extra };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
  /** everything the command said: where a refusal's words are looked for */
  text: string;
}

async function cli(command: 'validate' | 'plan', root: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([command, '--root', root, '--json'], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: cliEnv(extraEnv),
    cwd: root,
  });
  let json: any;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json, text: `${stdout}\n${stderr}` };
}

const composeFile = (copy: Copy) => path.join(copy.root, 'compose.yaml');

function up(copy: Copy, extra: string[] = []): void {
  const r = compose([composeFile(copy)], copy.project, [...extra, 'up', '-d']);
  if (r.status !== 0) throw new Error(`compose up failed: ${r.stderr}`);
}

function expectValid(v: Run): void {
  expect({ code: v.code, valid: v.json?.valid, errors: v.json?.errors }).toEqual({ code: 0, valid: true, errors: [] });
}

function expectRefused(v: Run, ...needles: string[]): void {
  expect(v.code).not.toBe(0);
  expect(v.json?.valid).not.toBe(true);
  for (const n of needles) expect(v.text).toContain(n);
}

/** After `up -d`: plan --json exits 0 and every module (all of them) is in sync. */
async function expectInSync(copy: Copy, modules: string[], extraEnv: Record<string, string> = {}): Promise<any> {
  const p = await cli('plan', copy.root, extraEnv);
  expect({ code: p.code, parsed: p.json !== undefined, stderr: p.code === 0 ? '' : p.stderr }).toEqual({
    code: 0,
    parsed: true,
    stderr: '',
  });
  const got = (p.json.modules as any[])
    .map((m) => ({ name: m.name, in_sync: m.in_sync, drift: m.drift }))
    .sort((a, b) => a.name.localeCompare(b.name));
  expect(got).toEqual([...modules].sort().map((name) => ({ name, in_sync: true, drift: [] })));
  return p.json;
}

/** Fixtures every flavor renders: valid, and in sync right after `up -d` (v1 lacks include and depends_on.restart). */
const VALID: Array<[string, string[]]> = [
  ['env-file', ['db']],
  ['interpolated-bind', ['db']],
  ['merge-volumes', ['db']],
  ['extends-file', ['db']],
  ['many-aliases', ['web', 'worker']],
  ['dollar-escape', ['app']],
  ...(FLAVOR === 'v2'
    ? ([
        ['include', ['db']],
        ['v1-only', ['app']],
      ] as Array<[string, string[]]>)
    : []),
];

describeDocker(`the compose corpus of issue 24 on the real engine (compose ${FLAVOR})`, () => {
  afterAll(() => {
    for (const c of made.splice(0)) cleanup(c);
  });

  it.each(VALID)('%s: valid, and in sync right after up -d', async (name, modules) => {
    const copy = copyFixture(name);
    try {
      expectValid(await cli('validate', copy.root));
      up(copy);
      await expectInSync(copy, modules);
      if (name === 'env-file') {
        // A changed value in the env_file changes the declared definition: container.config drift.
        const envFile = path.join(copy.root, 'app.env');
        writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('APP_SETTING=one', 'APP_SETTING=two'));
        const p = await cli('plan', copy.root);
        expect(p.json).toBeDefined();
        const db = (p.json.modules as any[]).find((m) => m.name === 'db');
        expect(db.in_sync).toBe(false);
        expect(db.drift.map((d: any) => d.key)).toContain('container.config');
      }
      if (name === 'dollar-escape') {
        // Another field changes: the field list names it, and not the command holding the $$ escape.
        writeFileSync(
          composeFile(copy),
          `${readFileSync(composeFile(copy), 'utf8')}    environment:\n      EXTRA: "1"\n`,
        );
        const p = await cli('plan', copy.root);
        expect(p.json).toBeDefined();
        const config = (p.json.modules as any[])
          .find((m) => m.name === 'app')
          .drift.find((d: any) => d.key === 'container.config');
        expect(config.fields.some((f: string) => f.includes('EXTRA'))).toBe(true);
        expect(config.fields.filter((f: string) => f.startsWith('command'))).toEqual([]);
      }
    } finally {
      cleanup(copy);
    }
  });

  it('merge-restart-oneshot: a one-shot given restart: unless-stopped through <<: *restart is refused', async () => {
    const copy = copyFixture('merge-restart-oneshot');
    try {
      expectRefused(await cli('validate', copy.root), 'restart', 'unless-stopped', 'migrate');
    } finally {
      cleanup(copy);
    }
  });

  it('profiles: the module on a profiled service is refused naming debug and COMPOSE_PROFILES; the other is planned', async () => {
    const copy = copyFixture('profiles');
    try {
      const v = await cli('validate', copy.root);
      expectRefused(v, 'debug', 'COMPOSE_PROFILES', 'toolbox');
      // only the profiled module is refused: every problem is about toolbox, none is in module app's file
      const errors = (v.json?.errors ?? []) as Array<{ file: string; message: string }>;
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) {
        expect(e.message).toContain('toolbox');
        expect(e.file.split(/[\\/]/).join('/')).not.toContain('modules/app/');
      }
      up(copy); // starts app only: toolbox is in the debug profile
      const p = await cli('plan', copy.root);
      expect(p.text).toContain('debug');
      expect(p.text).toContain('COMPOSE_PROFILES');
      expect(p.json).toBeDefined();
      const app = (p.json.modules as any[]).find((m) => m.name === 'app');
      expect(app).toMatchObject({ name: 'app', in_sync: true, drift: [] });
      expect((p.json.modules as any[]).find((m) => m.name === 'toolbox')?.in_sync).not.toBe(true);

      // with the profile enabled, both modules are valid, and in sync once compose started toolbox
      const withProfile = { COMPOSE_PROFILES: 'debug' };
      expectValid(await cli('validate', copy.root, withProfile));
      up(copy, ['--profile', 'debug']);
      await expectInSync(copy, ['app', 'toolbox'], withProfile);
    } finally {
      cleanup(copy);
    }
  });

  if (FLAVOR === 'v1') {
    it.each([
      ['include', ['include']],
      ['v1-only', ['depends_on', 'restart']],
    ])('%s on compose v1: refused with compose v1 reason, naming compose v2', async (name, reason) => {
      const copy = copyFixture(name);
      try {
        expectRefused(await cli('validate', copy.root), ...reason, 'v2');
      } finally {
        cleanup(copy);
      }
    });
  }

  it('name-mismatch: a compose name: other than the module project is refused naming both', async () => {
    const copy = copyFixture('name-mismatch');
    try {
      const v = await cli('validate', copy.root);
      // compose v1 cannot render a top-level name: then the message says so and names v2
      if (FLAVOR === 'v2') expectRefused(v, 'other-name', copy.project);
      else expectRefused(v, 'name', 'v2');
    } finally {
      cleanup(copy);
    }
  });

  it('two-projects: two modules on one compose file with different projects are refused naming both', async () => {
    const copy = copyFixture('two-projects');
    try {
      expectRefused(await cli('validate', copy.root), copy.project, copy.other);
    } finally {
      cleanup(copy);
    }
  });

  it("invalid-v1: compose's whole reason is shown, and the failed command (config) is named", async () => {
    const copy = copyFixture('invalid-v1');
    try {
      const v = await cli('validate', copy.root);
      expectRefused(v, 'services.app.restart', 'string');
      expect(v.text).toMatch(/\bconfig\b/);
      // v1's first line is only "is invalid because:"; the reason is on the next line
      if (FLAVOR === 'v1') expect(v.text).toContain('contains an invalid type');
    } finally {
      cleanup(copy);
    }
  });
});
