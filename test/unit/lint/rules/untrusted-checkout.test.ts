/**
 * SG203 untrusted-checkout (src/lint/rules/untrusted-checkout.ts, docs/rules.md SG203): a privileged
 * trigger checking out the pull request head with actions/checkout. The other forms (issue_comment,
 * the merge commit, a fetch in run:) are in pr-checkout.test.ts. Each case asserts the complete list
 * of problems (`#!SGnnn` markers on the expected lines).
 */
import { PERMS, SHA, table } from '../support.js';

table('SG203 untrusted-checkout', [
  {
    name: 'pull_request_target with the PR head sha',
    yaml: `on: pull_request_target\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.event.pull_request.head.sha }} #!SG203\n`,
  },
  {
    name: 'workflow_run with the head branch',
    yaml: `on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.event.workflow_run.head_sha }} #!SG203\n`,
  },
  {
    name: 'pull_request_target with head_ref',
    yaml: `on: [pull_request_target]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.head_ref }} #!SG203\n`,
  },
  {
    name: 'near-miss: pull_request_target checking out the base',
    yaml: `on: pull_request_target\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n`,
  },
  {
    name: 'near-miss: pull_request with the PR head',
    yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.event.pull_request.head.sha }}\n`,
  },
]);
