/**
 * The CLI's flags and usage, through the real CLI (and action) layers over the fake engine:
 * boolean flags with their value as the next argument, --json on every command, usage errors
 * exit 3, guard's fix names the real parent module, no raw <…> in markdown, STATEGUARD_COMPOSE.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkArchiveName } from '../../src/backup/names.js';
import { parseArgv } from '../../src/cli.js';
import { COMMANDS, getCommand } from '../../src/commands/index.js';
import { guardSummary } from '../../src/commands/guard.js';
import { UserError } from '../../src/errors.js';
import { actionRun, cliRun } from '../support/commands.js';
import { examplePlatform, FakeRuntime } from '../support/fake-runtime.js';
import { cleanupTempRepos } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';

afterAll(cleanupTempRepos);

const ROOT = path.join(REPO, 'examples/platform');

/** The example platform over the simulated engine: store healthy, store-init failed (so it drifted). */
const engine = (): FakeRuntime => examplePlatform();

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('boolean flags: --flag, --flag=VALUE and --flag VALUE', () => {
  const guard = getCommand('guard')!;
  it.each([
    [['--module', 'db', '--allow-stateful', 'true'], 'true'],
    [['--module', 'db', '--allow-stateful', 'false'], 'false'],
    [['--allow-stateful', 'true', '--module', 'db'], 'true'],
    [['--allow-stateful=true', '--module', 'db'], 'true'],
    // A bare boolean flag means true (as it always did), also before another flag or at the end.
    [['--allow-stateful', '--module', 'db'], 'true'],
    [['--module', 'db', '--allow-stateful'], 'true'],
  ])('%j', (argv, want) => {
    expect(parseArgv(guard, argv)).toMatchObject({ module: 'db', 'allow-stateful': want });
  });

  it.each([['yes'], ['TRUE'], ['1'], ['db']])('--allow-stateful %j is a usage error naming the flag', (word) => {
    const err = thrown(() => parseArgv(guard, ['--module', 'db', '--allow-stateful', word]));
    expect(err.exitCode).toBe(3);
    expect(err.input).toBe('allow-stateful');
    expect(err.message).toContain('--allow-stateful');
    expect(err.message).toContain(JSON.stringify(word));
  });

  it('through the CLI: --allow-stateful true reaches the guard as true', async () => {
    const r = await cliRun(
      ['guard', '--root', ROOT, '--module', 'store-init', '--allow-stateful', 'true', '--json'],
      engine(),
    );
    expect(r.code).toBe(1);
    const reasons = (JSON.parse(r.stdout) as { reasons: Array<{ code: string }> }).reasons.map((x) => x.code);
    expect(reasons).not.toContain('not-allowed');
  });

  it('--json false is not JSON mode', async () => {
    const r = await cliRun(['validate', '--root', ROOT, '--json', 'false'], engine());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('modules valid');
    expect(() => JSON.parse(r.stdout)).toThrow();
  });

  it('a positional after a bare boolean stays a positional (lint-workflows --json DIR)', () => {
    expect(parseArgv(getCommand('lint-workflows')!, ['--json', 'workflows'])).toEqual({
      json: 'true',
      paths: ['workflows'],
    });
  });
});

describe('--json on every command: exactly one JSON document on stdout', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'sg-json-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const invocations: Record<keyof typeof COMMANDS, string[]> = {
    plan: ['--root', ROOT],
    guard: ['--root', ROOT, '--module', 'store-init'],
    apply: ['--root', ROOT, '--module', 'store-init'],
    'verify-backup': [
      '--root',
      ROOT,
      '--module',
      'store',
      '--backup-ref',
      path.join(out, 'store-20260101T000000Z.tar.gz'),
      '--backup-root',
      out,
    ],
    snapshot: ['--root', ROOT, '--module', 'web', '--out-dir', out],
    'prune-backups': ['--root', ROOT, '--module', 'store', '--backup-root', out],
    restore: ['--root', ROOT, '--module', 'store'],
    recover: ['--root', ROOT, '--module', 'store'],
    upgrade: ['--root', ROOT, '--module', 'store', '--out-dir', out],
    'e2e-gate': ['--root', ROOT, '--', 'true'],
    'lint-workflows': [path.join(REPO, 'workflows')],
    validate: ['--root', ROOT],
  };

  it('covers every command', () => {
    expect(Object.keys(invocations).sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it.each(Object.entries(invocations))('%s --json', async (name, args) => {
    const r = await cliRun([name, '--json', ...args], engine());
    let doc: unknown;
    expect(() => (doc = JSON.parse(r.stdout))).not.toThrow();
    expect(typeof doc).toBe('object');
    // A usage error would also print one JSON document: make sure --json itself was accepted.
    expect((doc as { failure_reason?: string }).failure_reason).not.toBe('invalid-input');
    expect(r.stderr).not.toMatch(/unknown flag/);
  });
});

describe('lint-workflows --json', () => {
  const wf = path.join(REPO, 'workflows');
  it('prints the same document as --format json, with the human text on stderr', async () => {
    const a = await cliRun(['lint-workflows', '--json', wf], engine());
    const b = await cliRun(['lint-workflows', '--format', 'json', wf], engine());
    expect(a.code).toBe(b.code);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    expect(a.stderr).toMatch(/workflow files? checked/);
  });

  it('--json with --format sarif is a usage error naming both', async () => {
    const r = await cliRun(['lint-workflows', '--json', '--format', 'sarif', wf], engine());
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ failure_reason: 'invalid-input' });
    expect(r.stderr).toContain('--json');
    expect(r.stderr).toContain('--format sarif');
  });
});

describe('a name that is not a module is a usage error (exit 3, module-not-found)', () => {
  it.each([
    ['plan', ['--module', 'nosuch']],
    ['guard', ['--module', 'nosuch']],
    ['apply', ['--module', 'nosuch']],
    ['verify-backup', ['--module', 'nosuch', '--backup-ref', '/tmp/x.tar.gz']],
    ['snapshot', ['--module', 'nosuch', '--out-dir', '/tmp']],
    ['e2e-gate', ['--persistence-probe', 'nosuch', '--', 'true']],
  ])('%s %j', async (name, args) => {
    const rt = engine();
    const r = await cliRun([name, '--root', ROOT, '--json', ...args], rt);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ failure_reason: 'module-not-found' });
    expect(r.stderr).toContain('"nosuch"');
  });

  it('the action fails the step the same way', async () => {
    const r = await actionRun('plan', { root: ROOT, module: 'nosuch' }, engine());
    expect(r.code).toBe(3);
    expect(r.outputs['failure-reason']).toBe('module-not-found');
  });
});

describe("guard's fix names the real module to back up; no raw <…> in markdown", () => {
  it('a sidecar: take a backup of its parent', async () => {
    const r = await cliRun(['guard', '--root', ROOT, '--module', 'store-init', '--json'], engine());
    const reasons = (JSON.parse(r.stdout) as { reasons: Array<{ code: string; fix: string }> }).reasons;
    const fix = reasons.find((x) => x.code === 'backup-rejected')!.fix;
    expect(fix).toMatch(/take a backup of 'store'/i);
    expect(fix).toContain('stateguard snapshot --module store');
    expect(fix).not.toMatch(/<[^>]*>/);
  });

  it('the summary and the text carry no <placeholder>', async () => {
    const rec = await actionRun('guard', { root: ROOT, module: 'store-init' }, engine());
    expect(rec.summaries).toHaveLength(1);
    expect(rec.summaries[0]).not.toMatch(/<[a-zA-Z/!][^>]*>/);
    const r = await cliRun(['guard', '--root', ROOT, '--module', 'store-init'], engine());
    expect(r.stdout).not.toMatch(/<[a-zA-Z][^>]*>/);
  });

  it("a backup's name problems name the real modules, not <placeholders>", () => {
    for (const name of ['x.tar.gz', 'store-2026.tar.gz']) {
      const v = checkArchiveName(name, ['store-init', 'store'], 24, new Date('2026-01-01T00:00:00Z'));
      expect(v.problems[0]!.message).toContain('store-init-YYYYMMDDTHHMMSSZ.tar.gz or store-YYYYMMDDTHHMMSSZ.tar.gz');
      expect(v.problems[0]!.message).not.toMatch(/<[^>]*>/);
    }
  });

  it('message text that looks like HTML is neutralised in a markdown table', () => {
    const md = guardSummary({
      module: 'm',
      decision: 'blocked',
      reasons: [{ code: 'backup-rejected', message: 'expected <name>-<stamp>.tar.gz', fix: 'see <details>' }],
      drift_keys: [],
      backup: null,
      failure_reason: 'backup-rejected',
    });
    expect(md).not.toMatch(/<[a-zA-Z/!][^>]*>/);
    expect(md).toContain('&lt;name&gt;');
  });
});

describe('STATEGUARD_COMPOSE', () => {
  it.each(['v3', 'V2', ' v1', 'compose'])(
    '%j exits 3 naming the variable, the value and the choices',
    async (value) => {
      const r = await cliRun(['validate', '--root', ROOT, '--json'], engine(), { env: { STATEGUARD_COMPOSE: value } });
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout)).toMatchObject({ failure_reason: 'invalid-input' });
      expect(r.stderr).toContain('STATEGUARD_COMPOSE');
      expect(r.stderr).toContain(JSON.stringify(value));
      expect(r.stderr).toMatch(/auto, v1 or v2/);
    },
  );

  it.each(['auto', 'v1', 'v2', ''])('%j is accepted', async (value) => {
    const r = await cliRun(['validate', '--root', ROOT], engine(), { env: { STATEGUARD_COMPOSE: value } });
    expect(r.code).toBe(0);
  });

  it('the action refuses it too', async () => {
    const r = await actionRun('validate', { root: ROOT }, engine(), { env: { STATEGUARD_COMPOSE: 'v3' } });
    expect(r.code).toBe(3);
    expect(r.outputs['failure-reason']).toBe('invalid-input');
    expect(r.failed.join('\n')).toContain('STATEGUARD_COMPOSE');
  });

  it('is documented in stateguard --help', async () => {
    const r = await cliRun(['--help'], engine());
    expect(r.stdout).toContain('STATEGUARD_COMPOSE');
    expect(r.stdout).toMatch(/auto.*v1.*v2/);
  });
});
