/**
 * Hostile shapes for the taint flow (src/lint/taint.ts): cycles of needs and outputs, malformed
 * outputs, matrices and steps, unparsable expressions. Never a crash; taint errs towards reporting.
 */
import { expect, it } from '@jest/globals';
import { found, lint, PERMS } from './support.js';

it('a needs cycle whose outputs read each other is an SG000 error, never a hang or a crash', async () => {
  const yaml =
    `on: issues\n${PERMS}jobs:\n  a:\n    needs: b\n    runs-on: x\n    outputs:\n      o: \${{ needs.b.outputs.o }}\n    steps:\n      - run: echo \${{ needs.b.outputs.o }}\n` +
    `  b:\n    needs: a\n    runs-on: x\n    outputs:\n      o: \${{ needs.a.outputs.o }}\n    steps:\n      - run: echo \${{ needs.a.outputs.o }}\n`;
  const problems = await lint(yaml);
  expect(problems.some((p) => p.rule === 'SG000')).toBe(true);
  expect(problems.filter((p) => p.rule === 'SG201')).toEqual([]);
});

it('malformed outputs, matrix, strategy, steps and env are skipped, not thrown on', async () => {
  const yaml = `on: issues\n${PERMS}jobs:\n  a:\n    runs-on: x\n    outputs: 7\n    strategy: [1]\n    env: [x]\n    steps: {a: 1}\n  b:\n    needs: a\n    runs-on: x\n    strategy:\n      matrix: 5\n    steps:\n      - 3\n      - id: [x]\n        run: echo \${{ needs.a.outputs.o }} \${{ matrix.m }}\n`;
  const problems = await lint(yaml);
  expect(problems.every((p) => p.rule === 'SG000')).toBe(true);
});

it('an unparsable expression reading a tainted step output is still reported (fail closed)', async () => {
  const yaml =
    `on: issues\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - id: t\n        env:\n          T: \${{ github.event.issue.title }}\n        run: echo "t=$T" >> "$GITHUB_OUTPUT"\n` +
    `      - run: echo \${{ steps.t.outputs.t ]] }}\n`;
  const problems = await lint(yaml);
  expect(found(problems)).toContain('SG201@12');
});

it('a title written to an output of a step with a hundred steps before it is followed to the last step', async () => {
  const filler = Array.from(
    { length: 100 },
    (_, i) =>
      `      - id: s${i}\n        run: echo "v=\${{ steps.s${Math.max(0, i - 1)}.outputs.v }}" >> "$GITHUB_OUTPUT"\n`,
  ).join('');
  const yaml = `on: issues\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - id: s\n        env:\n          T: \${{ github.event.issue.title }}\n        run: echo "v=$T" >> "$GITHUB_OUTPUT"\n${filler.replace('steps.s0.outputs.v', 'steps.s.outputs.v')}      - run: echo \${{ steps.s99.outputs.v }}\n`;
  const problems = (await lint(yaml)).filter((p) => p.rule === 'SG201');
  // every filler step interpolates the previous (tainted) output, and so does the last one
  expect(problems).toHaveLength(101);
});
