/**
 * Consent is compared exactly and exit codes are only the documented ones: each case here once said
 * "yes" (exit 0, allowed, verified) when it should have said "no". Every test drives the real
 * CLI/action layer over a fake engine.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { publish } from '../../src/action.js';
import type { CommandResult } from '../../src/commands/spec.js';
import { Scrubber } from '../../src/report/scrub.js';
import { checkArchiveName, formatStamp } from '../../src/backup/names.js';
import { parseRenderedConfig } from '../../src/runtime/docker-cli.js';
import { processExitCode } from '../../src/cli.js';
import { dir, file, gz, tar } from '../support/archives.js';
import { actionRun, cliRun, recordingCore, type RecordedAction } from '../support/commands.js';
import { examplePlatform, FakeRuntime } from '../support/fake-runtime.js';
import { cleanupTempRepos, tempRepo } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';
import { withManifest } from '../support/manifests.js';

afterAll(cleanupTempRepos);

const ROOT = path.join(REPO, 'examples/platform');

/** examples/platform on the simulated engine: store healthy, store-init exited 1 (drift: a pending re-run). */
const engine = (): FakeRuntime => examplePlatform();

/** A fresh, valid backup of `store` under its own backup root. */
function backup(): { root: string; file: string } {
  const stamp = formatStamp(new Date(Date.now() - 60_000));
  const name = `store-${stamp}.tar.gz`;
  const archive = gz(tar(dir('store-data/'), file('store-data/f', 'x')));
  const manifested = withManifest(archive, { module: 'store', stamp, project: 'platform', service: 'store' });
  const root = tempRepo({ [name]: manifested }, 'sg-fc-bk-');
  return { root, file: path.join(root, name) };
}

// The real action and CLI layers over the fake engine (test/support/commands.ts).
const action = actionRun;
const cli = cliRun;

describe('confirm is compared exactly in the action, as on the CLI (docs/architecture.md §4: confirm equals the token exactly)', () => {
  // Decision: @actions/core getInput trims by default, but confirm is the operator's assertion
  // that the backup is done; the guard already explains "differs only by surrounding whitespace",
  // and the CLI refuses it. The action layer must not quietly repair it into a match.
  const confirms: Array<[string, string]> = [
    ['a trailing space', 'BACKUP_DONE '],
    ['a leading space', ' BACKUP_DONE'],
    ['a trailing newline (a block scalar)', 'BACKUP_DONE\n'],
    ['a tab', '\tBACKUP_DONE'],
  ];
  it.each(confirms)(
    'guard action: confirm with %s is blocked (confirm-mismatch), not trimmed into a match',
    async (_label, confirm) => {
      const b = backup();
      const r = await action(
        'guard',
        {
          root: ROOT,
          module: 'store-init',
          'allow-stateful': 'true',
          'backup-ref': b.file,
          'backup-root': b.root,
          confirm,
        },
        engine(),
      );
      expect(r.outputs.decision).toBe('blocked');
      expect(r.outputs['failure-reason']).toBe('confirm-mismatch');
      expect(r.code).toBe(1);
      expect(r.failed).toHaveLength(1);
      expect(JSON.parse(r.outputs.reasons!)[0].message).toContain('surrounding whitespace');
    },
  );

  it('guard action: the exact token with the same inputs is allowed (the block above is about whitespace only)', async () => {
    const b = backup();
    const r = await action(
      'guard',
      {
        root: ROOT,
        module: 'store-init',
        'allow-stateful': 'true',
        'backup-ref': b.file,
        'backup-root': b.root,
        confirm: 'BACKUP_DONE',
      },
      engine(),
    );
    expect(r.outputs).toMatchObject({ decision: 'allowed', 'failure-reason': '' });
    expect(r.code).toBe(0);
  });

  it('apply action: confirm with surrounding whitespace is blocked before anything is recreated', async () => {
    const b = backup();
    const rt = engine();
    const r = await action(
      'apply',
      {
        root: ROOT,
        module: 'store-init',
        'allow-stateful': 'true',
        'backup-ref': b.file,
        'backup-root': b.root,
        confirm: ' BACKUP_DONE ',
      },
      rt,
    );
    expect(r.outputs.status).toBe('blocked');
    expect(r.outputs['failure-reason']).toBe('confirm-mismatch');
    expect(r.code).toBe(1);
    expect(rt.calls.map((c) => c.method)).not.toContain('recreateService');
  });
});

describe('a blank confirm token never matches', () => {
  it.each([
    ['one space', ' '],
    ['spaces and a tab', '  \t'],
  ])('CLI: --confirm-token of %s with the same --confirm is blocked (confirm-mismatch)', async (_label, token) => {
    const b = backup();
    const r = await cli(
      [
        'guard',
        '--root',
        ROOT,
        '--json',
        '--module',
        'store-init',
        '--allow-stateful',
        '--backup-ref',
        b.file,
        '--backup-root',
        b.root,
        '--confirm-token',
        token,
        '--confirm',
        token,
      ],
      engine(),
    );
    const json = JSON.parse(r.stdout) as { decision: string; failure_reason: string };
    expect(json).toMatchObject({ decision: 'blocked', failure_reason: 'confirm-mismatch' });
    expect(r.code).toBe(1);
  });
});

describe("CLI: '--help' as the value of a flag is not a request for help", () => {
  // `stateguard guard ... --confirm "$CONFIRM" && deploy`: with CONFIRM='--help' the guard printed
  // its usage and exited 0, which the exit-code table reads as "allowed".
  it.each([
    ['guard', ['--module', 'store-init', '--allow-stateful', '--confirm', '--help']],
    ['guard', ['--module', '--help']],
    ['apply', ['--module', 'store-init', '--allow-stateful', '--confirm', '--help']],
    ['verify-backup', ['--module', 'store', '--backup-ref', '--help']],
    ['e2e-gate', ['--switch', '--help', '--', 'true']],
  ])('%s %j exits 3 (usage error), never 0', async (command, args) => {
    const rt = engine();
    const r = await cli([command, '--root', ROOT, ...args], rt);
    expect(r.code).toBe(3);
    expect(r.stdout).not.toContain('usage: stateguard');
    expect(r.stderr).toContain('needs a value');
    expect(rt.calls.map((c) => c.method)).not.toContain('recreateService');
  });

  it('--help in a flag position still prints the usage (exit 0)', async () => {
    const r = await cli(['guard', '--module', 'store-init', '--help'], engine());
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: stateguard guard');
  });
});

describe('action: an exit code that is not a known "yes" fails the step', () => {
  const result = (exitCode: unknown): CommandResult =>
    ({
      exitCode,
      json: {},
      text: 'guard store-init: ???',
      outputs: { decision: '' },
      annotations: [],
    }) as unknown as CommandResult;
  it.each([
    ['undefined', undefined, 3],
    ['NaN', Number.NaN, 3],
    ['4', 4, 3],
    ['-1', -1, 3],
    ['1 (no)', 1, 1],
    ['3 (could not run)', 3, 3],
  ])('exit code %s: the step fails (setFailed) with a failing exit', async (_label, code, expected) => {
    const rec: RecordedAction = { code: -1, outputs: {}, failed: [], logs: [], summaries: [] };
    const exit = await publish(result(code), recordingCore(rec), new Scrubber());
    expect(exit).toBe(expected);
    expect(rec.failed).toHaveLength(1);
  });
  it.each([
    ['0 (ok)', 0],
    ['2 (plan drift, not a no)', 2],
  ])('exit code %s passes the step', async (_label, code) => {
    const rec: RecordedAction = { code: -1, outputs: {}, failed: [], logs: [], summaries: [] };
    expect(await publish(result(code), recordingCore(rec), new Scrubber())).toBe(0);
    expect(rec.failed).toEqual([]);
  });
});

describe('CLI: the process exit status is one of the documented codes', () => {
  it.each([
    ['undefined', undefined, 3],
    ['null', null, 3],
    ['NaN', Number.NaN, 3],
    ['4', 4, 3],
    ['"0" (a string)', '0', 3],
    ['0', 0, 0],
    ['1', 1, 1],
    ['2', 2, 2],
    ['3', 3, 3],
  ])('a command exit code of %s exits 0-3 only (undocumented: 3)', (_label, code, expected) => {
    expect(processExitCode(code)).toBe(expected);
  });
});

describe('values that could only come from code or from compose still fail closed', () => {
  it.each([Number.NaN, 0, -1, Number.POSITIVE_INFINITY])(
    'max_age_hours %p accepts no backup, however fresh',
    (maxAge) => {
      const now = new Date('2026-11-23T12:00:00Z');
      const v = checkArchiveName(`store-${formatStamp(now)}.tar.gz`, ['store'], maxAge, now);
      expect(v.problems.map((p) => p.code)).toContain('too-old');
    },
  );

  it('a rendered compose config that is not YAML is refused without quoting it (it may hold env values)', () => {
    const rendered =
      'services:\n  db:\n    environment:\n      DB_PASSWORD: hunter2-secret-value\n    image: [unclosed\n';
    expect(() => parseRenderedConfig(rendered)).toThrow(/not valid YAML/);
    try {
      parseRenderedConfig(rendered);
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});
