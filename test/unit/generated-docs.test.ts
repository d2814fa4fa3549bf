/**
 * Input names and defaults live once, in each command's definition. These tests fail when a
 * committed action.yml, the README's tables or schema/module.schema.md drift from that definition,
 * and when any code other than the action layer reads action inputs.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { COMMANDS } from '../../src/commands/index.js';
import { FAILURE_REASONS } from '../../src/errors.js';
import { actionInputs, commandActionYaml, readmeWithTables, rootActionYaml, schemaMarkdown } from '../../scripts/generate.mjs';
import { REPO } from '../support/runner.js';

const read = (rel: string): string => readFileSync(path.join(REPO, rel), 'utf8');

describe('generated files match the one input definition', () => {
  it.each(Object.keys(COMMANDS))('actions/%s/action.yml', (name) => {
    const spec = COMMANDS[name as keyof typeof COMMANDS];
    expect(read(`actions/${name}/action.yml`)).toBe(commandActionYaml(name, spec as never));
    const yml = parse(read(`actions/${name}/action.yml`)) as { inputs: Record<string, { default?: string; required: boolean }>; runs: { using: string } };
    expect(yml.runs.using).toBe('node24');
    // Every declared input is one the command's parser reads, and every input it reads is declared.
    expect(Object.keys(yml.inputs).sort()).toEqual(actionInputs(spec as never).map((d) => d.name).sort());
  });

  it('root action.yml', () => {
    expect(read('action.yml')).toBe(rootActionYaml(COMMANDS as never));
  });

  it('README input/output tables', () => {
    const readme = read('README.md');
    expect(readme).toBe(readmeWithTables(readme, COMMANDS as never, FAILURE_REASONS));
    expect(readme).toContain('<!-- generated:failure-reasons -->\n| failure-reason |');
    for (const name of Object.keys(COMMANDS)) expect(readme).toContain(`<!-- generated:${name} -->\n| input |`);
  });

  it('schema/module.schema.md', () => {
    expect(read('schema/module.schema.md')).toBe(schemaMarkdown(JSON.parse(read('schema/module.schema.json'))));
  });
});

describe('every declared input is read by its command', () => {
  // A static read of each command file: an input counts as read when the command uses
  // `opts.<camelName>` (or destructures it); handing `opts` to loadValidModules reads root and
  // modules; `json` is read by the CLI layer itself. A declared input nobody reads fails here.
  const camel = (n: string): string => n.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  const cases = Object.entries(COMMANDS).flatMap(([name, spec]) => spec.inputs.map((d) => [name, d.name] as const));
  it.each(cases)('%s reads %s', (name, input) => {
    let source = read(`src/commands/${name}.ts`).replace(/inputs:\s*\[[\s\S]*?\]\s*as const/, '');
    // apply hands its options to guard's guardRequest(), which reads the guard's inputs.
    if (/guardRequest\(opts\b/.test(source) && name !== 'guard') source += read('src/commands/guard.ts');
    if (input === 'json') return expect(read('src/cli.ts')).toContain("'--json'");
    if ((input === 'root' || input === 'modules') && /loadValidModules\(opts\b/.test(source)) return;
    expect(source).toMatch(new RegExp(`\\.${camel(input)}\\b|[{,]\\s*${camel(input)}\\s*[,}:]`));
  });
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
  it.each(files.filter((f) => f !== 'src/action.ts'))('%s', (file) => {
    const text = read(file);
    expect(text).not.toMatch(/getInput|getBooleanInput|getMultilineInput/);
    expect(text).not.toMatch(/env(\.|\[\s*['"`])INPUT_/);
  });
});
