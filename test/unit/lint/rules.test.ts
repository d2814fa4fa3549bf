/**
 * Workflows that trigger a lint-workflows rule (rule, severity and line asserted through `#!SGnnn`
 * markers on the expected lines) and near-misses that must not. Each case asserts the complete list
 * of problems, so a rule firing where it should not fails too. Each rule of src/lint/rules/ has its
 * cases beside it, in rules/<slug>.test.ts; here: the safe apply, SG000 and positions.
 */
import { expect, it } from '@jest/globals';
import { job, PERMS, SAFE_APPLY, lint, table } from './support.js';

it('the safe apply workflow has no problem at all', async () => {
  expect(await lint(SAFE_APPLY)).toEqual([]);
});

table('SG000 workflow-schema (GitHub parser)', [
  { name: 'unknown step key', yaml: job(`      - run: echo hi\n        bogus: 1 #!SG000\n`) },
  {
    name: 'unknown named-value in an expression',
    yaml: job(`      - run: echo hi\n        if: \${{ foo.bar }} #!SG000\n`),
  },
  {
    name: 'a job that needs an unknown job',
    yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  a: #!SG000\n    runs-on: x\n    needs: [zz]\n    steps:\n      - run: echo\n`,
  },
  {
    name: 'near-miss: a valid workflow',
    yaml: job(`      - run: echo hi\n        if: \${{ github.event_name == 'push' }}\n`),
  },
]);

it('positions are 1-based line and column of the value', async () => {
  const problems = await lint(
    SAFE_APPLY.replace('allow-stateful: ${{ inputs.allow_stateful }}', 'allow-stateful: true'),
  );
  expect(problems).toEqual([
    {
      file: 'w.yml',
      line: 30,
      column: 27,
      rule: 'SG102',
      severity: 'error',
      message: expect.stringContaining("'allow-stateful' of step 2 of job 'apply'"),
    },
  ]);
});
