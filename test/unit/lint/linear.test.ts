/**
 * Linear work on a large run: script (issue 29, speed): finding the line of the k-th expression
 * must not re-scan the script from its start for every finding. Asserted by counting the
 * expressions scanned, never by time.
 */
import { expect, it } from '@jest/globals';
import { checkWorkflow } from '../../../src/lint/checks.js';
import { loadWorkflow } from '../../../src/lint/workflow.js';
import { PERMS } from './support.js';

function scanned(n: number): { problems: number; scanned: number } {
  const lines = Array.from({ length: n }, (_, i) => `          echo ${i} \${{ github.event.issue.title }}\n`).join('');
  const text = `on: issues\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n${lines}`;
  const loaded = loadWorkflow(Buffer.from(text), 'w.yml');
  if (!loaded.ok) throw new Error('fixture does not load');
  const problems = checkWorkflow(loaded.workflow);
  return { problems: problems.length, scanned: loaded.workflow.scanned };
}

it('the expressions scanned to place findings grow linearly with the script', () => {
  const small = scanned(500);
  const large = scanned(2000);
  expect(small.problems).toBe(500);
  expect(large.problems).toBe(2000);
  // quadratic work would scan 16 times as much for 4 times the findings
  expect(large.scanned).toBeLessThanOrEqual(4 * small.scanned + 10);
  expect(large.scanned).toBeLessThanOrEqual(2 * 2000 + 10);
});

it('a parser error in a block literal with many expressions keeps its exact line and column', async () => {
  const { FLAT_FROM } = await import('../../../src/lint/github-parser.js');
  const { lint } = await import('./support.js');
  const at = async (n: number): Promise<string[]> => {
    const lines = Array.from({ length: n }, (_, i) =>
      i === 3 ? `          echo "\${{ foo.bar }}" x\n` : `          echo \${{ github.sha }} ${i}\n`,
    );
    const problems = await lint(
      `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n${lines.join('')}`,
    );
    return problems.map((p) => `${p.rule}@${p.line}:${p.column}`);
  };
  const few = await at(5);
  expect(few).toHaveLength(1);
  expect(few[0]).toMatch(/^SG000@12:/);
  expect(await at(FLAT_FROM * 3)).toEqual(few);
});
