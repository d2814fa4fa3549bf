/**
 * CLI wording, through the real CLI and action layers over the fake engine.
 * Fixes name CLI flags in the CLI and inputs in an action; blocked/held texts say each reason once;
 * no `guard: allowed ()`; a/an; "held before anything was touched" said once.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { allowedLine, blockedHeadline } from '../../src/ops/guarded.js';
import { aOrAn, inputRef, setTrue, setValue, withArticle } from '../../src/report/words.js';
import { actionRun, cliRun } from '../support/commands.js';
import { examplePlatform, type FakeRuntime } from '../support/fake-runtime.js';
import { cleanupTempRepos } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';

afterAll(cleanupTempRepos);

const ROOT = path.join(REPO, 'examples/platform');

/** store's image bumped to a major version (held), store-init failed (drifted one-shot). */
function engine(): FakeRuntime {
  const rt = examplePlatform({ initExit: 1 });
  rt.projects.platform!.services.store = { image: 'stateguard/busybox:2.0.0' };
  rt.projects.platform!.hashes.store = 'h-store-2';
  rt.images['stateguard/busybox:2.0.0'] = 'sha256:ccc';
  return rt;
}

const RUNS: Array<[string, string[], Record<string, string>]> = [
  ['guard store-init', ['guard', '--module', 'store-init'], { module: 'store-init' }],
  ['apply store-init', ['apply', '--module', 'store-init'], { module: 'store-init' }],
  ['restore store', ['restore', '--module', 'store'], { module: 'store' }],
  [
    'upgrade store',
    ['upgrade', '--module', 'store', '--out-dir', '/nonexistent-out'],
    { module: 'store', 'out-dir': '/nonexistent-out' },
  ],
];

describe('fixes name CLI flags in the CLI and inputs in an action', () => {
  it.each(RUNS)('%s', async (_n, argv, inputs) => {
    const cli = await cliRun([...argv, '--root', ROOT], engine());
    const cliAll = cli.stdout + cli.stderr;
    expect(cliAll).toMatch(/fix: Pass --allow-stateful\b/);
    expect(cliAll).not.toMatch(/allow-stateful: 'true'|Set allow-stateful|Pass allow-stateful/);
    const act = await actionRun(argv[0]!, { root: ROOT, ...inputs }, engine());
    const actAll = [...act.logs, ...act.failed, ...act.summaries, act.outputs.reasons ?? ''].join('\n');
    expect(actAll).toMatch(/allow-stateful: 'true'/);
    expect(actAll).not.toMatch(/--allow-stateful/);
  });
});

describe('restore/upgrade/apply blocked or held: each reason said once (stdout and stderr together)', () => {
  it.each(RUNS.filter(([n]) => n !== 'guard store-init'))('%s', async (_n, argv) => {
    const r = await cliRun([...argv, '--root', ROOT, '--json'], engine());
    const json = JSON.parse(r.stdout) as {
      reasons?: Array<{ message: string }>;
      guard?: { reasons: Array<{ message: string }> };
    };
    const reasons = json.reasons ?? json.guard?.reasons ?? [];
    expect(reasons.length).toBeGreaterThan(1);
    const human = await cliRun([...argv, '--root', ROOT], engine());
    const all = human.stdout + human.stderr;
    for (const x of reasons) expect(all.split(x.message).length - 1).toBe(1);
  });

  it('upgrade held: "held before anything was touched" once, "nothing touched" never', async () => {
    const r = await cliRun(
      [
        'upgrade',
        '--module',
        'store',
        '--out-dir',
        '/nonexistent-out',
        '--root',
        ROOT,
        '--allow-stateful',
        '--confirm',
        'BACKUP_DONE',
      ],
      engine(),
    );
    const all = r.stdout + r.stderr;
    expect(all.split('held before anything was touched').length - 1).toBe(1);
    expect(all).not.toMatch(/nothing touched/);
    expect(all).toContain(
      'fix: Review the change; to take a major (or unclassifiable) upgrade anyway, pass --allow-major.',
    );
  });

  it.each<[string, Array<{ code: string }>, string]>([
    ['one reason', [{ code: 'not-allowed' }], "the guard blocked the restore of 'db' (1 reason: not-allowed)"],
    [
      'two reasons, one code each',
      [{ code: 'not-allowed' }, { code: 'confirm-mismatch' }],
      "the guard blocked the restore of 'db' (2 reasons: not-allowed, confirm-mismatch)",
    ],
    [
      'a repeated code is named once',
      [{ code: 'drift-not-allowed' }, { code: 'drift-not-allowed' }],
      "the guard blocked the restore of 'db' (2 reasons: drift-not-allowed)",
    ],
  ])('blockedHeadline: %s', (_n, reasons, want) => {
    expect(blockedHeadline('restore', 'db', reasons)).toBe(want);
  });
});

describe('small words', () => {
  it.each<[string[], string]>([
    [[], 'guard: allowed'],
    [['container.image'], 'guard: allowed (container.image)'],
    [['container.image', 'container.config'], 'guard: allowed (container.image, container.config)'],
  ])('allowedLine(%j) is %j (never "allowed ()")', (keys, want) => {
    expect(allowedLine(keys)).toBe(want);
    expect(allowedLine(keys)).not.toContain('()');
  });

  it.each<[string, 'a' | 'an']>([
    ['unknown', 'an'],
    ['major', 'a'],
    ['minor', 'a'],
    ['patch', 'a'],
    ['upgrade', 'an'],
    ['restore', 'a'],
    ['image', 'an'],
    ['OldFile', 'an'],
    ['one-shot', 'a'],
    ['unique', 'a'],
    ['hour', 'an'],
    ['sidecar', 'a'],
    ['stateful', 'a'],
  ])('aOrAn(%j) is %j', (word, want) => {
    expect(aOrAn(word)).toBe(want);
    expect(withArticle(word)).toBe(`${want} ${word}`);
  });

  it.each<[string, string, string, string]>([
    ['inputRef cli', inputRef('allow-stateful', 'cli'), '--allow-stateful', ''],
    ['inputRef action', inputRef('allow-stateful', 'action'), 'allow-stateful', ''],
    ['setTrue cli', setTrue('allow-major', 'cli'), 'pass --allow-major', ''],
    ['setTrue action', setTrue('allow-major', 'action'), "set allow-major: 'true'", ''],
    ['setValue cli', setValue('backup-ref', 'PATH', 'cli'), 'pass PATH as --backup-ref', ''],
    ['setValue action', setValue('backup-ref', 'PATH', 'action'), 'set backup-ref to PATH', ''],
  ])('%s', (_n, got, want) => {
    expect(got).toBe(want);
  });

  it('an unknown bump is "an unknown" in the held message and in the plan', async () => {
    const rt = engine();
    rt.projects.platform!.services.store = { image: 'stateguard/busybox:latest' };
    rt.images['stateguard/busybox:latest'] = 'sha256:ddd';
    const r = await cliRun(['upgrade', '--module', 'store', '--out-dir', '/nonexistent-out', '--root', ROOT], rt);
    const p = await cliRun(['plan', '--root', ROOT], rt);
    for (const all of [r.stdout + r.stderr, p.stdout + p.stderr]) {
      expect(all).toMatch(/an unknown bump/);
      expect(all).not.toMatch(/\ba unknown\b/);
    }
  });
});
