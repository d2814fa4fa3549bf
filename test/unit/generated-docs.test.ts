/**
 * Input names and defaults live once, in each command's definition. These tests fail when a
 * committed action.yml, the README's tables or schema/module.schema.md drift from that definition,
 * and when any code other than the action layer reads action inputs.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { COMMANDS } from '../../src/commands/index.js';
import { COMPOSITES, statefulApplyComposite, type CompositeSpec } from '../../src/commands/stateful-apply.js';
import { FAILURE_REASONS } from '../../src/errors.js';
import {
  actionInputs,
  commandActionYaml,
  compositeActionYaml,
  compositeInterface,
  readmeWithTables,
  rootActionYaml,
  schemaMarkdown,
} from '../../scripts/generate.mjs';
import { cliRun } from '../support/commands.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { REPO } from '../support/runner.js';

const read = (rel: string): string => readFileSync(path.join(REPO, rel), 'utf8');

describe('generated files match the one input definition', () => {
  it.each(Object.keys(COMMANDS))('actions/%s/action.yml', (name) => {
    const spec = COMMANDS[name as keyof typeof COMMANDS];
    expect(read(`actions/${name}/action.yml`)).toBe(commandActionYaml(name, spec));
    const yml = parse(read(`actions/${name}/action.yml`)) as {
      inputs: Record<string, { default?: string; required: boolean }>;
      runs: { using: string };
    };
    expect(yml.runs.using).toBe('node24');
    // Every declared input is one the command's parser reads, and every input it reads is declared.
    expect(Object.keys(yml.inputs).sort()).toEqual(
      actionInputs(spec as never)
        .map((d) => d.name)
        .sort(),
    );
  });

  it('root action.yml', () => {
    expect(read('action.yml')).toBe(rootActionYaml(COMMANDS));
  });

  // An input several commands share with different meanings says each meaning with its commands:
  // prune-backups' dry-run deletes nothing; restore's and upgrade's run every check and touch nothing.
  it('root action.yml: a shared input says what it means for each command', () => {
    const yml = parse(read('action.yml')) as { inputs: Record<string, { description: string }> };
    const text = yml.inputs['dry-run']!.description;
    expect(text).toMatch(/^prune-backups: Say what would be deleted/);
    expect(text).toMatch(/restore, upgrade: /);
    expect(text).not.toMatch(/\(prune-backups, restore, upgrade\)/);
  });

  // The composite's inputs, outputs and steps come from the command definitions (docs/architecture.md
  // §10): a hand edit of its inputs (a renamed input, another default, a copied description) fails here.
  it.each(Object.keys(COMPOSITES))('actions/%s/action.yml (composite)', (name) => {
    const composite = COMPOSITES[name as keyof typeof COMPOSITES];
    expect(read(`actions/${name}/action.yml`)).toBe(compositeActionYaml(composite, COMMANDS));
  });

  it('README input/output tables', () => {
    const readme = read('README.md');
    expect(readme).toBe(readmeWithTables(readme, COMMANDS, FAILURE_REASONS, COMPOSITES));
    expect(readme).toContain('<!-- generated:failure-reasons -->\n| failure-reason |');
    for (const name of [...Object.keys(COMMANDS), ...Object.keys(COMPOSITES)])
      expect(readme).toContain(`<!-- generated:${name} -->\n| input |`);
  });

  it('schema/module.schema.md', () => {
    expect(read('schema/module.schema.md')).toBe(schemaMarkdown(JSON.parse(read('schema/module.schema.json'))));
  });
});

interface CompositeYaml {
  inputs: Record<string, { required: boolean; default?: string }>;
  runs: { using: string; steps: Array<{ id: string; if?: string; run: string; env: Record<string, string> }> };
}

describe("actions/stateful-apply: every step gets exactly its command's inputs, only through env", () => {
  const yml = parse(read('actions/stateful-apply/action.yml')) as CompositeYaml;
  const envName = (n: string): string => `INPUT_${n.toUpperCase().replace(/-/g, '_')}`;
  it.each(statefulApplyComposite.steps.map((s) => [s.id, s.command] as const))('step %s (%s)', (id, command) => {
    const step = yml.runs.steps.find((s) => s.id === id)!;
    expect(Object.keys(step.env).sort()).toEqual(
      actionInputs(COMMANDS[command] as never)
        .map((d) => envName(d.name))
        .sort(),
    );
    // never interpolated into the script (an input could carry shell syntax)
    expect(step.run).toBe(`node "$GITHUB_ACTION_PATH/../../dist/actions/${command}.js"`);
  });

  it('keeps the fail-closed order: verify, guard (also after a rejected backup), apply only after both succeeded', () => {
    expect(yml.runs.using).toBe('composite');
    expect(yml.runs.steps.map((s) => [s.id, s.if])).toEqual([
      ['verify', undefined],
      ['guard', '${{ !cancelled() }}'],
      ['apply', undefined],
    ]);
    expect(yml.runs.steps[2]!.env.INPUT_EXPECTED_PLAN_HASH).toBe(
      '${{ inputs.expected-plan-hash || steps.guard.outputs.plan-hash }}',
    );
  });

  // What the composite requires and defaults to is what its commands declare (plus its own required
  // list): the one definition, not a copy.
  it.each(Object.entries(yml.inputs))('input %s', (name, input) => {
    const defs = statefulApplyComposite.steps.flatMap((s) =>
      actionInputs(COMMANDS[s.command] as never).filter((d) => d.name === name),
    );
    expect(defs.length).toBeGreaterThan(0);
    expect(input.default).toBe(defs[0]!.default);
    expect(input.required).toBe(
      defs.some((d) => d.required === true) || statefulApplyComposite.required.includes(name),
    );
  });
});

describe('the composite generator refuses a definition it cannot resolve (the build stops)', () => {
  const base = statefulApplyComposite;
  const cases: Array<[string, CompositeSpec, RegExp]> = [
    [
      'a step naming no command',
      { ...base, steps: [{ id: 'x', command: 'nope' as never }] },
      /step 'x' names no command 'nope'/,
    ],
    [
      'an env expression for an input the command does not read',
      { ...base, steps: [{ id: 'verify', command: 'verify-backup', env: { confirm: 'x' } }] },
      /does not read/,
    ],
    ['a required input no step reads', { ...base, required: ['nope'] }, /required input 'nope' is read by no step/],
    ['a note on an input no step reads', { ...base, notes: { nope: 'x' } }, /a note on input 'nope'/],
    [
      'an output from a step that does not exist',
      { ...base, outputs: [{ name: 'status', from: ['nope'] }] },
      /reads no step 'nope'/,
    ],
    [
      "an output the step's command does not have",
      { ...base, outputs: [{ name: 'decision', from: ['apply'] }] },
      /apply has no such output/,
    ],
  ];
  it.each(cases)('%s', (_name, composite, message) => {
    expect(() => compositeInterface(composite, COMMANDS as never)).toThrow(message);
  });

  it("steps that disagree on an input's default (one value reaches both)", () => {
    const guard = COMMANDS.guard;
    const other = {
      ...guard,
      inputs: guard.inputs.map((d) => (d.name === 'confirm-token' ? { ...d, default: 'OTHER' } : d)),
    };
    expect(() => compositeInterface(base, { ...COMMANDS, guard: other })).toThrow(
      /input 'confirm-token': guard defaults to "OTHER", apply to "BACKUP_DONE"/,
    );
  });
});

describe('every declared input is read by its command', () => {
  // A static read of each command file: an input counts as read when the command uses
  // `opts.<camelName>` (or destructures it); handing `opts` to loadValidModules reads root and
  // modules; `json` is read by the CLI layer itself. A declared input nobody reads fails here.
  const camel = (n: string): string => n.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  const cases = Object.entries(COMMANDS).flatMap(([name, spec]) => spec.inputs.map((d) => [name, d.name] as const));
  it.each(cases.filter(([, input]) => input !== 'json'))('%s reads %s', (name, input) => {
    let source = read(`src/commands/${name}.ts`).replace(/inputs:\s*\[[\s\S]*?\]\s*as const/, '');
    // apply hands its options to guard's guardRequest(), which reads the guard's inputs.
    if (/guardRequest\(opts\b/.test(source) && name !== 'guard') source += read('src/commands/guard.ts');
    // Handing `opts` to loadValidModules reads root and modules only if loadValidModules reads them:
    // its body is searched too (it used to count as read without looking).
    if (/loadValidModules\(opts\b/.test(source))
      source += /export async function loadValidModules[\s\S]*?\n}\n/.exec(read('src/commands/common.ts'))![0];
    // `opts.<name>`, or destructured from opts: the old pattern also counted `set.modules` and an
    // object key `modules:` (a write) as reading the input.
    expect(source).toMatch(
      new RegExp(`\\bopts\\.${camel(input)}\\b|\\{[^}]*\\b${camel(input)}\\b[^}]*\\}\\s*=\\s*opts\\b`),
    );
  });

  // `json` is a CLI-only input read by the CLI layer, so it is checked by behaviour: with --json every
  // command prints exactly one JSON document on stdout, with `--json false` none (docs/architecture.md §10).
  // A test that only looked for the string '--json' in src/cli.ts passed with JSON mode switched off.
  const jsonCommands = cases.filter(([, input]) => input === 'json').map(([name]) => name);
  const empty = mkdtempSync(path.join(tmpdir(), 'sg-json-'));
  afterAll(() => rmSync(empty, { recursive: true, force: true }));
  it.each(jsonCommands)(
    '%s reads json (the CLI prints one JSON document, and none with --json false)',
    async (name) => {
      const on = await cliRun([name, '--json'], new FakeRuntime(), { cwd: empty });
      expect(() => JSON.parse(on.stdout)).not.toThrow();
      const off = await cliRun([name, '--json', 'false'], new FakeRuntime(), { cwd: empty });
      expect(() => JSON.parse(off.stdout)).toThrow();
    },
  );
});

describe('nothing but the action layer reads inputs', () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts')) files.push(rel);
    }
  };
  walk('src');
  // Outside src/action.ts no code may name an INPUT_ variable or the action layer's readers, however
  // it is spelled: the old pattern (env.INPUT_ / env['INPUT_) missed `env?.INPUT_X`, a name built in a
  // variable, and `env[inputEnvName(n)]` — the way src/action.ts itself reads them. Comments may
  // mention INPUT_* (they explain the action layer).
  const code = (text: string): string =>
    text
      .split('\n')
      .filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l))
      .join('\n');
  it.each(files.filter((f) => f !== 'src/action.ts'))('%s', (file) => {
    expect(code(read(file))).not.toMatch(
      /getInput|getBooleanInput|getMultilineInput|INPUT_|inputEnvName|readActionInputs/,
    );
  });

  it('the pattern catches every spelling (and src/action.ts itself)', () => {
    const pattern = /getInput|getBooleanInput|getMultilineInput|INPUT_|inputEnvName|readActionInputs/;
    for (const spelling of [
      'ctx.env?.INPUT_MODULE',
      "const k = 'INPUT_' + n; env[k]",
      'env[inputEnvName(def.name)]',
      "process.env['INPUT_X']",
    ]) {
      expect(code(spelling)).toMatch(pattern);
    }
    expect(code(read('src/action.ts'))).toMatch(pattern);
  });
});
