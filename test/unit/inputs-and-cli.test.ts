import { describe, expect, it } from '@jest/globals';
import { parseArgv } from '../../src/cli.js';
import { actionNames, cliNames, parseBoolean, parseInputs, parseSize } from '../../src/commands/inputs.js';
import { getCommand } from '../../src/commands/index.js';
import { UserError } from '../../src/errors.js';
import { cliRun } from '../support/commands.js';
import { FakeRuntime } from '../support/fake-runtime.js';

describe('strict input parsing', () => {
  it.each([
    ['true', true],
    ['false', false],
  ])('boolean %s', (raw, want) => expect(parseBoolean(raw, '--x')).toBe(want));

  it.each(['yes', 'no', '1', '0', 'TRUE', 'True', ' true', 'true ', 'on', ''])(
    'boolean %j is refused, not coerced',
    (raw) => {
      expect(() => parseBoolean(raw, "input 'allow-stateful'")).toThrow(UserError);
      expect(() => parseBoolean(raw, "input 'allow-stateful'")).toThrow(
        /input 'allow-stateful' must be exactly 'true' or 'false'/,
      );
    },
  );

  it.each([
    ['512', 512],
    ['64K', 65536],
    ['100M', 100 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['2GiB', 2 * 1024 ** 3],
    ['1g', 1024 ** 3],
  ])('size %s', (raw, want) => expect(parseSize(raw, '--max')).toBe(want));

  it.each(['', '-1', '1.5G', 'lots', '0', '9999999999999999G'])('size %j is refused', (raw) => {
    expect(() => parseSize(raw, '--max-uncompressed-bytes')).toThrow(/--max-uncompressed-bytes must be/);
  });

  it('applies defaults, splits action lists by line, refuses a missing required input', () => {
    const guard = getCommand('guard')!;
    const got = parseInputs(guard.inputs, { module: 'db', 'backup-root': '/a\n\n /b \n' }, actionNames);
    expect(got).toMatchObject({
      module: 'db',
      allowStateful: false,
      confirmToken: 'BACKUP_DONE',
      backupRoot: ['/a', '/b'],
      root: '.',
    });
    expect(() => parseInputs(guard.inputs, {}, actionNames)).toThrow("input 'module' is required");
    expect(() => parseInputs(guard.inputs, { module: ['a', 'b'] }, cliNames)).toThrow('--module was given 2 times');
  });
});

describe('CLI argv', () => {
  const guard = getCommand('guard')!;
  it('parses flags, --flag=value, bare booleans and repeatable lists', () => {
    expect(
      parseArgv(guard, [
        '--module',
        'db',
        '--allow-stateful',
        '--backup-root',
        '/a',
        '--backup-root=/b',
        '--confirm=X',
      ]),
    ).toEqual({
      module: 'db',
      'allow-stateful': 'true',
      'backup-root': ['/a', '/b'],
      confirm: 'X',
    });
  });
  it.each([
    [['--modul', 'db'], /unknown flag --modul/],
    [['-m', 'db'], /unknown option -m/],
    [['db'], /unexpected argument "db"/],
    [['--module'], /--module needs a value/],
    [['--', 'x'], /takes no command after '--'/],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseArgv(guard, argv)).toThrow(msg);
  });

  // The real CLI layer (test/support/commands.ts); no case here reaches the engine.
  const cli = (argv: string[]) => cliRun(argv, new FakeRuntime(), { cwd: process.cwd() });

  it('usage errors exit 3 and --json still prints one JSON document', async () => {
    const r = await cli(['validate', '--bogus', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ failure_reason: 'invalid-input', exit_code: 3 });
    expect(r.stderr).toContain('unknown flag --bogus');
  });

  it('a guard that cannot even parse its inputs still says blocked, never leaves the decision empty', async () => {
    const r = await cli(['guard', '--module', 'x', '--allow-stateful=TRUE', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'blocked', failure_reason: 'invalid-input' });
  });

  it('unknown command exits 3', async () => {
    expect((await cli(['destroy'])).code).toBe(3);
  });

  it('a strict boolean flag value is enforced on the CLI too', async () => {
    const r = await cli(['guard', '--module', 'x', '--allow-stateful=yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("--allow-stateful must be exactly 'true' or 'false', got \"yes\"");
  });

  it('validate of the example platform exits 0, a missing root exits 3', async () => {
    expect((await cli(['validate', '--root', 'examples/platform'])).code).toBe(0);
    const r = await cli(['validate', '--root', 'does/not/exist']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('--root "does/not/exist" does not exist');
  });
});
