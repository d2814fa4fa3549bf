/**
 * SG301 action-not-pinned (src/lint/rules/action-not-pinned.ts, docs/rules.md SG301): every action and
 * reusable workflow pinned to a commit SHA. Each case asserts the complete list of problems (`#!SGnnn`
 * markers on the expected lines).
 */
import { expect, it } from '@jest/globals';
import { job, PERMS, SHA, lint, table } from '../support.js';

table('SG301 action-not-pinned', [
  {
    name: 'tag, branch, short sha, docker tag and a reusable workflow',
    yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  r:\n    uses: acme/wf/.github/workflows/x.yml@main #!SG301\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4 #!SG301\n      - uses: actions/setup-node@main #!SG301\n      - uses: acme/x@0123456 #!SG301\n      - uses: docker://alpine:3.20 #!SG301\n`,
  },
  {
    name: 'near-miss: full sha, local action, docker digest',
    yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n      - uses: ./.github/actions/local\n      - uses: docker://alpine@sha256:${'a'.repeat(64)}\n`,
  },
]);

it('SG301 is a warning, every other rule an error', async () => {
  const problems = await lint(job('      - uses: actions/checkout@v4\n'));
  expect(problems).toEqual([expect.objectContaining({ rule: 'SG301', severity: 'warning', line: 8, column: 15 })]);
});
