/** Hostile workflow files: each gives an SG001 problem with a position, never a crash or a hang. */
import { describe, expect, it } from '@jest/globals';
import { lint } from './support.js';

const cases: { name: string; bytes: () => Buffer; line?: number; message: RegExp }[] = [
  {
    name: 'YAML syntax error, with its position',
    bytes: () => Buffer.from('on: push\njobs: [\n  a: b\n'),
    line: 4,
    message: /YAML syntax error/,
  },
  {
    name: 'invalid UTF-8, at the bad byte',
    bytes: () => Buffer.concat([Buffer.from('on: push\nname: '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]),
    line: 2,
    message: /not valid UTF-8/,
  },
  {
    name: 'larger than 1 MiB',
    bytes: () => Buffer.from('on: push\n' + '# filler\n'.repeat(130_000)),
    line: 1,
    message: /limit is 1048576/,
  },
  {
    name: 'alias bomb',
    bytes: () => {
      const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 10; i++)
        lines.push(
          `a${i}: &a${i} [${Array(10)
            .fill(`*a${i - 1}`)
            .join(', ')}]`,
        );
      return Buffer.from(lines.join('\n') + '\non: push\n');
    },
    line: 1,
    message: /alias bomb/,
  },
  {
    name: 'a list instead of a mapping',
    bytes: () => Buffer.from('- on: push\n'),
    line: 1,
    message: /expected a YAML mapping/,
  },
  { name: 'a plain scalar', bytes: () => Buffer.from('just text\n'), line: 1, message: /expected a YAML mapping/ },
  { name: 'empty file', bytes: () => Buffer.from(''), line: 1, message: /empty/ },
  {
    name: 'two documents',
    bytes: () => Buffer.from('on: push\n---\non: push\n'),
    line: 2,
    message: /more than one YAML document/,
  },
  {
    name: "duplicate key (reported by GitHub's parser)",
    bytes: () => Buffer.from('on: push\non: pull_request\npermissions: {}\njobs: {}\n'),
    line: 2,
    message: /'on' is already defined/,
  },
  {
    name: 'deep nesting',
    bytes: () => Buffer.from('on: ' + '['.repeat(50_000) + ']'.repeat(50_000) + '\n'),
    message: /./,
  },
  {
    name: 'binary garbage',
    bytes: () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
    message: /./,
  },
];

describe('hostile workflow files', () => {
  it.each(cases)('$name', async ({ bytes, line, message }) => {
    const problems = await lint(bytes());
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.rule === 'SG001' || p.rule === 'SG000')).toBe(true);
    const first = problems[0]!;
    expect(first.severity).toBe('error');
    expect(first.message).toMatch(message);
    if (line !== undefined) expect(first.line).toBe(line);
  });

  it('a workflow that is a mapping but not a workflow gets schema errors, not a crash', async () => {
    const problems = await lint('foo: bar\n');
    expect(problems.map((p) => p.rule)).toContain('SG000');
    expect(problems.map((p) => p.rule)).toContain('SG202');
  });

  it('wrongly shaped values do not crash the rules', async () => {
    const problems = await lint(
      'on: 5\npermissions: 7\njobs:\n  a: 3\n  b:\n    steps: 4\n  c:\n    runs-on: x\n    steps: [1, null, {uses: 5}, {run: [1]}]\n',
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.rule === 'SG000')).toBe(true);
  });
});
