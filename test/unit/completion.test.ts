import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { COMMANDS } from '../../src/commands/index.js';
import type { CommandSpec, InputDef } from '../../src/commands/spec.js';
import { completionModel, completionScript } from '../../src/completion.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
    cwd: os.tmpdir(),
  });
  return { code, stdout, stderr };
}

/** Every CLI flag of every command, from the one definition (action-only inputs are no flags). */
const SPECS = Object.values(COMMANDS) as unknown as CommandSpec<readonly InputDef[]>[];
const FLAGS = SPECS.map(
  (c) => [c.name, c.inputs.filter((d) => !d.actionOnly && !d.positional && !d.rest).map((d) => d.name)] as const,
);
const CHOICES = SPECS.flatMap((c) =>
  c.inputs.filter((d) => d.kind === 'choice').map((d) => [c.name, d.name, d.choices ?? []] as const),
);

function hasShell(shell: string): boolean {
  return spawnSync(shell, ['-c', 'exit 0']).status === 0;
}

/** Syntax-check a script with the shell's own parser (`-n`: read, never run). */
function syntaxCheck(shell: string, script: string): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-completion-'));
  try {
    const file = path.join(dir, `stateguard.${shell}`);
    writeFileSync(file, script);
    execFileSync(shell, ['-n', file], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('stateguard completion bash|zsh|fish, generated from the command definitions', () => {
  it('bash: passes bash -n and names every command and every flag of each command', async () => {
    const { code, stdout, stderr } = await cli(['completion', 'bash']);
    expect([code, stderr]).toEqual([0, '']);
    syntaxCheck('bash', stdout);
    for (const name of [...Object.keys(COMMANDS), 'completion'])
      expect(stdout).toMatch(new RegExp(`^    ${name}\\) `, 'm'));
    for (const [command, flags] of FLAGS) {
      const line = stdout.split('\n').find((l) => l.startsWith(`    ${command}) flags=`))!;
      expect(line).toBeDefined();
      for (const f of [...flags, 'help']) expect(line.split(/[' ]/)).toContain(`--${f}`);
    }
    // enum values the definition knows are completed after their flag
    for (const [command, flag, choices] of CHOICES)
      expect(stdout).toContain(`'${command} --${flag}') COMPREPLY=($(compgen -W '${choices.join(' ')}'`);
    expect(stdout).toContain(`'plan --json') COMPREPLY=($(compgen -W 'true false'`);
    expect(stdout).toContain('complete -o default -F _stateguard stateguard');
  });

  it('bash: completes commands, flags and choices when run by bash', () => {
    const script = completionScript('bash');
    const complete = (...words: string[]): string =>
      execFileSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _stateguard; printf '%s\\n' "\${COMPREPLY[@]}"`,
          'x',
          ...words,
        ],
        { encoding: 'utf8' },
      );
    expect(complete('stateguard', 'pru').trim()).toBe('prune-backups');
    expect(complete('stateguard', 'lint-workflows', '--format', '').trim().split('\n')).toEqual([
      'text',
      'json',
      'sarif',
    ]);
    expect(complete('stateguard', 'completion', '').trim().split('\n')).toEqual(['bash', 'zsh', 'fish']);
    expect(complete('stateguard', 'validate', '--mo').trim()).toBe('--modules');
  });

  it.each(['zsh', 'fish'] as const)('%s: names every command and every flag', async (shell) => {
    const { code, stdout, stderr } = await cli(['completion', shell]);
    expect([code, stderr]).toEqual([0, '']);
    for (const name of [...Object.keys(COMMANDS), 'completion']) {
      expect(stdout).toMatch(shell === 'zsh' ? new RegExp(`^    '${name}:`, 'm') : new RegExp(` -a ${name} -d `));
    }
    for (const [, flags] of FLAGS)
      for (const f of flags) expect(stdout).toContain(shell === 'zsh' ? `--${f}[` : ` -l ${f}`);
    if (hasShell(shell)) syntaxCheck(shell, stdout);
  });

  it.each([
    [['completion'], 'no shell was given'],
    [['completion', 'powershell'], 'unknown shell "powershell"'],
    [['completion', 'bash', 'zsh'], '2 arguments were given'],
    [['completion', '--json'], 'unknown shell "--json"'],
  ])('%j is a usage error (exit 3) naming bash, zsh and fish', async (args, why) => {
    const { code, stdout, stderr } = await cli(args);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toContain(why);
    expect(stderr).toContain('name one of bash, zsh, fish');
  });

  it('is listed in the usage, and is no action (no command definition, so no action.yml or inputs table)', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/^ {2}completion {7}Print a shell completion script/m);
    expect(Object.keys(COMMANDS)).not.toContain('completion');
    expect((await cli(['completion', '--help'])).stdout).toContain('usage: stateguard completion bash|zsh|fish');
  });

  it('refuses a definition word that is not a plain word, rather than writing it into a shell script', () => {
    const hostile = { x: { ...COMMANDS.validate, name: 'x;rm -rf ~' } };
    expect(() => completionModel(hostile as never)).toThrow(/not a plain word/);
    const quote = { v: { ...COMMANDS.validate, description: "it's $(touch /tmp/pwned) `x` [a]: b" } };
    const script = completionScript('bash', completionModel(quote));
    syntaxCheck('bash', script);
    expect(completionScript('zsh', completionModel(quote as never))).toContain(
      "'validate:it'\\''s $(touch /tmp/pwned) `x` (a)\\: b'",
    );
  });
});
