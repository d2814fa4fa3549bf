/**
 * The gate's switch × variables × mode matrix, through the command (fake env, fake runtime) and
 * through the CLI. The e2e "command" is node itself, so no docker and no network.
 */
import { describe, expect, it } from '@jest/globals';
import { e2eGateCommand } from '../../src/commands/e2e-gate.js';
import { lineForwarder, runE2eGate, type E2eGateDeps, type E2eGateRequest } from '../../src/probe/e2e-gate.js';
import type { ExecOptions } from '../../src/runtime/types.js';
import { actionNames, cliNames, parseInputs } from '../../src/commands/inputs.js';
import type { CommandContext, CommandResult, InputDef } from '../../src/commands/spec.js';
import { decideGate, missingVariables, readSwitch } from '../../src/probe/gate.js';
import { runCommand } from '../../src/run-command.js';
import { cliRun } from '../support/commands.js';
import { FakeRuntime } from '../support/fake-runtime.js';

const SECRET = 's3cr3t-VALUE-xyz';
const SECRET2 = 'an0ther-S3CRET-value';
const ODD_SWITCH = 'sw1tch-VALUE-abc';
const NODE = process.execPath;
/** prints a marker, then exits with the code given */
const cmd = (code: number): string[] => [NODE, '-e', `console.log('E2E-COMMAND-RAN'); process.exit(${code})`];

interface Run {
  result: CommandResult;
  logs: string[];
  raw: string;
  secrets: string[];
  runtime: FakeRuntime;
}

async function runGate(
  env: Record<string, string | undefined>,
  raw: Record<string, string | string[]>,
  inAction = false,
): Promise<Run> {
  const logs: string[] = [];
  let rawOut = '';
  const secrets: string[] = [];
  const runtime = new FakeRuntime();
  const ctx: CommandContext = {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH, ...env },
    log: {
      info: (m) => logs.push(m),
      warn: (m) => logs.push(`warning: ${m}`),
      error: (m) => logs.push(`error: ${m}`),
      notice: (m) => logs.push(`notice: ${m}`),
      raw: (c) => (rawOut += c),
    },
    now: () => new Date('2026-03-01T12:00:00Z'),
    runtime: () => runtime,
    inAction,
    addSecret: (v) => secrets.push(v),
  };
  const defs = (e2eGateCommand.inputs as readonly InputDef[]).filter((d) => (inAction ? !d.cliOnly : !d.actionOnly));
  const options = parseInputs(defs, raw, inAction ? actionNames : cliNames);
  const result = await runCommand(e2eGateCommand, options, ctx);
  return { result, logs, raw: rawOut, secrets, runtime };
}

function everythingPrinted(r: Run): string {
  return JSON.stringify([
    r.result.text,
    r.result.json,
    r.result.outputs,
    r.result.summary,
    r.result.annotations,
    r.logs,
  ]);
}

type Vars = 'all-set' | 'one-missing' | 'one-empty' | 'one-blank' | 'none-set';
const VARS: Record<Vars, Record<string, string>> = {
  'all-set': { E2E_TOKEN: SECRET, E2E_URL: SECRET2 },
  'one-missing': { E2E_TOKEN: SECRET },
  'one-empty': { E2E_TOKEN: SECRET, E2E_URL: '' },
  'one-blank': { E2E_TOKEN: SECRET, E2E_URL: '   ' },
  'none-set': {},
};
const MISSING: Record<Vars, string[]> = {
  'all-set': [],
  'one-missing': ['E2E_URL'],
  'one-empty': ['E2E_URL'],
  'one-blank': ['E2E_URL'],
  'none-set': ['E2E_TOKEN', 'E2E_URL'],
};

type SwitchValue = string | undefined;
const OFF: SwitchValue[] = [undefined, '', '0', 'false'];
const ON: SwitchValue[] = ['1', 'true'];
const AMBIGUOUS: SwitchValue[] = ['yes', 'TRUE', 'True', ' 1', '1 ', 'on', '2', 'enabled', ODD_SWITCH];

interface Case {
  sw: SwitchValue;
  vars: Vars;
  mode: 'optional' | 'required';
  cmdExit: number;
  exit: number;
  status: string;
  reason: string;
  ran: boolean;
  printed: RegExp;
}

function expected(sw: SwitchValue, vars: Vars, mode: 'optional' | 'required', cmdExit: number): Case {
  const base = { sw, vars, mode, cmdExit };
  if (AMBIGUOUS.includes(sw)) {
    return {
      ...base,
      exit: 3,
      status: 'error',
      reason: 'invalid-input',
      ran: false,
      printed: /STAGING_E2E is set to a value that is neither on \(1, true\) nor off/,
    };
  }
  if (OFF.includes(sw)) {
    const why = sw === undefined ? 'is not set' : sw === '' ? 'is empty' : 'is switched off';
    return {
      ...base,
      exit: mode === 'required' ? 1 : 0,
      status: 'skipped',
      reason: mode === 'required' ? 'e2e-skipped' : '',
      ran: false,
      printed: new RegExp(`^e2e gate SKIPPED: the e2e gate did not run: STAGING_E2E ${why}`),
    };
  }
  if (MISSING[vars].length > 0) {
    return {
      ...base,
      exit: mode === 'required' ? 1 : 0,
      status: 'skipped',
      reason: mode === 'required' ? 'e2e-skipped' : '',
      ran: false,
      printed: new RegExp(
        `did not run: STAGING_E2E is on, but \\d required variables? (is|are) missing or empty: ${MISSING[vars].join(', ')}\\.`,
      ),
    };
  }
  return cmdExit === 0
    ? {
        ...base,
        exit: 0,
        status: 'passed',
        reason: '',
        ran: true,
        printed: /^e2e gate PASSED: the e2e command \(.*\) exited 0/,
      }
    : {
        ...base,
        exit: 1,
        status: 'failed',
        reason: 'e2e-failed',
        ran: true,
        printed: new RegExp(`^e2e gate FAILED: the e2e command \\(.*\\) exited ${cmdExit}`),
      };
}

const MATRIX: Case[] = [];
for (const sw of [...OFF, ...ON, ...AMBIGUOUS]) {
  for (const vars of Object.keys(VARS) as Vars[]) {
    for (const mode of ['optional', 'required'] as const) {
      for (const cmdExit of ON.includes(sw) && vars === 'all-set' ? [0, 7] : [0])
        MATRIX.push(expected(sw, vars, mode, cmdExit));
    }
  }
}

describe('e2e-gate: switch × variables × mode, through the command', () => {
  it.each(
    MATRIX.map(
      (c) => [`switch=${JSON.stringify(c.sw)} vars=${c.vars} mode=${c.mode} cmd exits ${c.cmdExit}`, c] as const,
    ),
  )('%s', async (_name, c) => {
    const env = { ...VARS[c.vars], ...(c.sw === undefined ? {} : { STAGING_E2E: c.sw }) };
    const r = await runGate(env, { require: ['E2E_TOKEN', 'E2E_URL'], mode: c.mode, command: cmd(c.cmdExit) });
    expect(r.result.exitCode).toBe(c.exit);
    expect(r.result.outputs.status).toBe(c.status);
    expect((r.result.json as { status: string }).status).toBe(c.status);
    expect(r.result.outputs['failure-reason']).toBe(c.reason);
    expect(r.result.text).toMatch(c.printed);
    expect(r.raw.includes('E2E-COMMAND-RAN')).toBe(c.ran);
    // missing is computed from names whatever the switch says (names only, never values)
    const missing = MISSING[c.vars];
    expect(JSON.parse(r.result.outputs.missing!)).toEqual(missing);
    expect((r.result.json as { missing: string[] }).missing).toEqual(missing);
    // no value is ever printed, summarised, annotated or output
    const all = everythingPrinted(r);
    for (const v of [SECRET, SECRET2, ODD_SWITCH]) expect(all).not.toContain(v);
    // ...and the values that exist are registered so the output layers mask them
    for (const v of Object.values(VARS[c.vars]).filter((x) => x.trim() !== '')) expect(r.secrets).toContain(v);
    if (c.sw === ODD_SWITCH) expect(r.secrets).toContain(ODD_SWITCH);
    // the gate decides from the environment alone: it never touches docker
    expect(r.runtime.calls).toEqual([]);
  });

  it('skipping loudly: a notice annotation (optional) or an error annotation (required), and a summary line saying why', async () => {
    const off = await runGate({}, { command: cmd(0) });
    expect(off.result.annotations).toEqual([
      expect.objectContaining({
        level: 'notice',
        message: expect.stringMatching(
          /^the e2e gate did not run: STAGING_E2E is not set; set STAGING_E2E=1 \(or true\) to run it\./,
        ),
      }),
    ]);
    expect(off.result.summary).toMatch(
      /^### stateguard e2e-gate: skipped\n\nthe e2e gate did not run: STAGING_E2E is not set/,
    );
    const req = await runGate({}, { command: cmd(0), mode: 'required' });
    expect(req.result.annotations?.[0]?.level).toBe('error');
    expect(req.result.text).toContain('mode is required, so a skip fails the gate');
    expect(req.result.summary).toContain('skipped (required: failing)');
  });

  it('lists every missing name, in the order given, each once', async () => {
    const r = await runGate({ STAGING_E2E: '1', B: 'x' }, { require: ['C', 'A', 'B', 'C', 'D'], command: cmd(0) });
    expect(JSON.parse(r.result.outputs.missing!)).toEqual(['C', 'A', 'D']);
    expect(r.result.text).toContain('3 required variables are missing or empty: C, A, D.');
  });

  it('a custom switch name is read instead of STAGING_E2E', async () => {
    const r = await runGate({ STAGING_E2E: '1' }, { switch: 'RUN_NIGHTLY_E2E', command: cmd(0) });
    expect(r.result.outputs.status).toBe('skipped');
    expect(r.result.text).toContain('RUN_NIGHTLY_E2E is not set');
    const on = await runGate({ RUN_NIGHTLY_E2E: 'true' }, { switch: 'RUN_NIGHTLY_E2E', command: cmd(0) });
    expect(on.result.outputs.status).toBe('passed');
  });

  it('true/false/null values are not registered as secrets (masking them would corrupt the JSON document)', async () => {
    const r = await runGate(
      { STAGING_E2E: 'true', FLAG: 'true', OTHER: 'null' },
      { require: ['FLAG', 'OTHER'], command: cmd(0) },
    );
    expect(r.secrets).toEqual([]);
    expect(r.result.outputs.status).toBe('passed');
  });

  it('the command gets the environment and its arguments verbatim (no shell, empty and multi-line arguments kept)', async () => {
    const script =
      "console.log(JSON.stringify({ args: process.argv.slice(1), token: process.env.E2E_TOKEN === 's3cr3t-VALUE-xyz' }))";
    const r = await runGate(
      { STAGING_E2E: '1', E2E_TOKEN: SECRET },
      { require: 'E2E_TOKEN', command: [NODE, '-e', script, '', 'a b', '$HOME', 'x\ny'] },
    );
    expect(r.result.exitCode).toBe(0);
    expect(JSON.parse(r.raw.trim())).toEqual({ args: ['', 'a b', '$HOME', 'x\ny'], token: true });
  });

  it('the action `run` string is split into words and run without a shell', async () => {
    const run = `${NODE} -e 'console.log(JSON.stringify(process.argv.slice(1)))' "two words" '$(id)'`;
    const r = await runGate({ STAGING_E2E: '1' }, { run }, true);
    expect(r.result.exitCode).toBe(0);
    expect(JSON.parse(r.raw.trim())).toEqual(['two words', '$(id)']);
  });
});

describe('e2e-gate refuses a misconfigured gate before deciding anything', () => {
  it.each([
    [{ switch: 'STAGING-E2E' }, /--switch "STAGING-E2E" is not an environment variable name/],
    [{ switch: '1ABC' }, /--switch "1ABC" is not an environment variable name/],
    [{ require: ['OK', 'BAD NAME'] }, /--require "BAD NAME" is not an environment variable name/],
    [{ require: ['A=B'] }, /--require "A=B" is not an environment variable name/],
    [{ require: ['$(id)'] }, /--require "\$\(id\)" is not an environment variable name/],
  ])('%j', async (raw, msg) => {
    // even with the switch off: a broken gate is found the day it is written
    const r = await runGate({}, { ...raw, command: cmd(0) });
    expect(r.result.exitCode).toBe(3);
    expect(r.result.outputs['failure-reason']).toBe('invalid-input');
    expect(r.result.outputs.status).toBe('error');
    expect(r.result.text).toMatch(msg);
  });

  it.each([
    ['npm test && echo done', /"&" unquoted/],
    ["bash -c 'unclosed", /unbalanced single quote/],
    ['echo $E2E_TOKEN', /"\$" unquoted/],
  ])('action run %j is a user error naming the input', async (run, msg) => {
    const r = await runGate({ STAGING_E2E: '1' }, { run }, true);
    expect(r.result.exitCode).toBe(3);
    expect(r.result.text).toMatch(/input 'run': /);
    expect(r.result.text).toMatch(msg);
    expect(r.raw).toBe('');
  });

  it('nothing to run is an error, not a pass', async () => {
    const r = await runGate({ STAGING_E2E: '1' }, {});
    expect(r.result.exitCode).toBe(3);
    expect(r.result.text).toContain('nothing to run');
    const blank = await runGate({ STAGING_E2E: '1' }, { run: '   ' }, true);
    expect(blank.result.exitCode).toBe(3);
  });

  it.each([
    [['no-such-program-e2e-xyz'], /program "no-such-program-e2e-xyz" was not found on PATH/],
    [['./no/such/script.sh'], /program "\.\/no\/such\/script\.sh" was not found or is not executable/],
    [['BASE_URL=x', 'npm', 'test'], /looks like a shell variable assignment/],
    [['cd', 'e2e'], /'cd' is a shell builtin/],
  ])('a program that cannot start is "could not run", never a verdict: %j', async (command, msg) => {
    const r = await runGate({ STAGING_E2E: '1' }, { command });
    expect(r.result.exitCode).toBe(3);
    expect(r.result.outputs.status).toBe('error');
    expect(r.result.text).toMatch(msg);
  });

  it('an unknown probe module is refused even with the switch off', async () => {
    const r = await runGate({}, { 'persistence-probe': 'nope', root: 'examples/platform', command: cmd(0) });
    // A name that is not a module is a usage error: exit 3 (could not run), not 1 (a "no").
    expect(r.result.exitCode).toBe(3);
    expect(r.result.outputs['failure-reason']).toBe('module-not-found');
    expect(r.result.text).toContain('--persistence-probe "nope" is not a module');
  });

  it('a probe module without declared paths is refused', async () => {
    const r = await runGate({}, { 'persistence-probe': 'web', root: 'examples/platform', command: cmd(0) });
    expect(r.result.exitCode).toBe(3);
    expect(r.result.text).toContain('declares no data.volumes and no data.ephemeral_paths');
  });
});

describe('gate decision (pure)', () => {
  it.each([
    [undefined, { kind: 'off', why: 'unset' }],
    ['', { kind: 'off', why: 'empty' }],
    ['0', { kind: 'off', why: 'off-value' }],
    ['false', { kind: 'off', why: 'off-value' }],
    ['1', { kind: 'on' }],
    ['true', { kind: 'on' }],
    ['FALSE', { kind: 'ambiguous' }],
    [' ', { kind: 'ambiguous' }],
    ['0 ', { kind: 'ambiguous' }],
    ['no', { kind: 'ambiguous' }],
  ])('switch %j reads %j', (v, want) => {
    expect(readSwitch(v === undefined ? {} : { S: v }, 'S')).toEqual(want);
  });

  it('blank values are missing', () => {
    expect(missingVariables({ A: ' \t', B: 'x', C: '' }, ['A', 'B', 'C', 'D'])).toEqual(['A', 'C', 'D']);
  });

  it('an ambiguous switch is refused whatever the variables and mode', () => {
    for (const mode of ['optional', 'required'] as const) {
      expect(decideGate({ switchName: 'S', switchState: { kind: 'ambiguous' }, missing: [], mode }).action).toBe(
        'refuse',
      );
    }
  });
});

describe('live output forwarding', () => {
  it('forwards whole lines, flushes a final partial line, bounds a huge line', () => {
    const out: string[] = [];
    const f = lineForwarder((l) => out.push(l));
    f.push('a');
    f.push('b\nc');
    f.push('\n');
    f.push('tail');
    expect(out).toEqual(['ab\n', 'c\n']);
    f.flush();
    expect(out).toEqual(['ab\n', 'c\n', 'tail\n']);
    f.push('x'.repeat(70000));
    expect(out).toHaveLength(4);
  });
});

describe('the gate run (src/probe/e2e-gate.ts) starts the command only through its process runner', () => {
  function gateDeps(code: number): {
    deps: E2eGateDeps;
    spawned: { program: string; args: readonly string[]; opts: ExecOptions | undefined }[];
    raw: string[];
    secrets: string[];
  } {
    const spawned: { program: string; args: readonly string[]; opts: ExecOptions | undefined }[] = [];
    const raw: string[] = [];
    const secrets: string[] = [];
    const deps: E2eGateDeps = {
      runtime: () => new FakeRuntime(),
      log: { info: () => {}, warn: () => {}, error: () => {}, notice: () => {}, raw: (c) => raw.push(c) },
      now: () => new Date('2026-03-01T12:00:00Z'),
      verifyBackup: () => Promise.reject(new Error('no backup in this test')),
      addSecret: (v) => secrets.push(v),
      spawn: (program, args, opts) => {
        spawned.push({ program, args, opts });
        opts?.stdoutSink?.write(Buffer.from('out line\npartial'));
        opts?.onStderr?.('err line\n');
        return Promise.resolve({ code, stdout: '', stderr: '' });
      },
    };
    return { deps, spawned, raw, secrets };
  }
  const request = (env: Record<string, string | undefined>): E2eGateRequest => ({
    switchName: 'STAGING_E2E',
    required: ['E2E_TOKEN'],
    mode: 'optional',
    argv: [NODE, '--version'],
    probeModule: undefined,
    drill: undefined,
    cwd: process.cwd(),
    env,
  });

  it('a switch that is off never reaches the runner', async () => {
    const { deps, spawned } = gateDeps(0);
    const o = await runE2eGate(request({ E2E_TOKEN: SECRET }), deps);
    expect(o).toMatchObject({ status: 'skipped', missing: [], command: null });
    expect(o.failureReason).toBeUndefined();
    expect(spawned).toEqual([]);
  });

  it('on and configured: the runner gets the program, its arguments, the cwd and the env; its output is forwarded in whole lines; its exit code is the verdict', async () => {
    const { deps, spawned, raw, secrets } = gateDeps(4);
    const env = { STAGING_E2E: '1', E2E_TOKEN: SECRET };
    const o = await runE2eGate(request(env), deps);
    expect(o).toMatchObject({
      status: 'failed',
      failureReason: 'e2e-failed',
      command: { program: NODE, arguments: 1, exit_code: 4 },
    });
    expect(o.reason).toBe(`the e2e command (${NODE}) exited 4.`);
    expect(spawned).toHaveLength(1);
    expect(spawned[0]).toMatchObject({ program: NODE, args: ['--version'], opts: { cwd: process.cwd(), env } });
    expect(raw.sort()).toEqual(['err line\n', 'out line\n', 'partial\n']);
    expect(secrets).toEqual([SECRET]);
  });
});

describe('e2e-gate through the CLI', () => {
  // The real CLI layer (test/support/commands.ts) with PATH, so the e2e command can be found.
  const cli = (argv: string[], env: Record<string, string>) =>
    cliRun(argv, new FakeRuntime(), { env: { PATH: process.env.PATH ?? '', ...env }, cwd: process.cwd() });

  it.each([
    [{}, 'optional', 0, 'skipped', /e2e gate SKIPPED: the e2e gate did not run: STAGING_E2E is not set/],
    [{}, 'required', 1, 'skipped', /mode is required/],
    [{ STAGING_E2E: ODD_SWITCH }, 'optional', 3, 'error', /neither on \(1, true\) nor off/],
    [{ STAGING_E2E: '1' }, 'optional', 0, 'skipped', /missing or empty: E2E_TOKEN\./],
    [{ STAGING_E2E: '1' }, 'required', 1, 'skipped', /missing or empty: E2E_TOKEN\./],
    [{ STAGING_E2E: '1', E2E_TOKEN: SECRET }, 'optional', 0, 'passed', /e2e gate PASSED/],
  ])('env %j mode %s → exit %i, %s (text on stdout)', async (env, mode, exit, status, printed) => {
    const r = await cli(
      ['e2e-gate', '--require', 'E2E_TOKEN', '--mode', mode, '--', NODE, '-e', 'console.log(process.env.E2E_TOKEN)'],
      env,
    );
    expect(r.code).toBe(exit);
    expect(exit === 3 ? r.stderr : r.stdout).toMatch(printed);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(r.stdout + r.stderr).not.toContain(ODD_SWITCH);
    if (status === 'passed') expect(r.stderr).toContain('***'); // the command printed the value: masked
  });

  it('--json prints one document { status, missing, reason, probe } and keeps human text on stderr', async () => {
    const r = await cli(
      ['e2e-gate', '--json', '--require', 'E2E_TOKEN', '--require', 'E2E_URL', '--', NODE, '-e', '0'],
      { STAGING_E2E: 'true', E2E_TOKEN: SECRET },
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ status: 'skipped', missing: ['E2E_URL'], probe: null, failure_reason: '' });
    expect(doc.reason).toContain('E2E_URL');
    expect(r.stderr).toContain('e2e gate SKIPPED');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('a failing command is exit 1 with its exit code in the JSON, and the value it prints is masked', async () => {
    const r = await cli(
      [
        'e2e-gate',
        '--json',
        '--require',
        'E2E_TOKEN',
        '--',
        NODE,
        '-e',
        'console.error("token=" + process.env.E2E_TOKEN); process.exit(4)',
      ],
      {
        STAGING_E2E: '1',
        E2E_TOKEN: SECRET,
      },
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      status: 'failed',
      failure_reason: 'e2e-failed',
      command: { exit_code: 4, arguments: 2 },
    });
    expect(r.stderr).toContain('token=***');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('an error still yields one JSON document with status error', async () => {
    const r = await cli(['e2e-gate', '--json', '--switch', 'bad-name', '--', NODE], {});
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({
      status: 'error',
      failure_reason: 'invalid-input',
      probe: null,
      missing: [],
    });
  });
});
