/**
 * SG104 apply-concurrency (src/lint/rules/apply-concurrency.ts, docs/rules.md SG104): a job running a
 * mutating command is serialised by a concurrency group and never cancelled. Each case asserts the
 * complete list of problems (`#!SGnnn` markers on the expected lines).
 */
import { job, SAFE_APPLY, SHA, table } from '../support.js';

table('SG104 apply-concurrency', [
  {
    name: 'no concurrency at all',
    yaml: SAFE_APPLY.replace('  apply:\n', '  apply: #!SG104\n').replace(/ {4}concurrency:\n.*\n.*\n/, ''),
  },
  {
    name: 'cancel-in-progress: true',
    yaml: SAFE_APPLY.replace('cancel-in-progress: false', 'cancel-in-progress: true #!SG104'),
  },
  {
    name: 'cancel-in-progress from an expression',
    yaml: SAFE_APPLY.replace('cancel-in-progress: false', "cancel-in-progress: ${{ github.ref != 'x' }} #!SG104"),
  },
  {
    name: 'workflow-level cancel-in-progress: true',
    yaml: SAFE_APPLY.replace('jobs:\n', 'concurrency:\n  group: all\n  cancel-in-progress: true #!SG104\njobs:\n'),
  },
  {
    name: 'near-miss: workflow-level group suffices',
    yaml: SAFE_APPLY.replace(/ {4}concurrency:\n.*\n.*\n/, '').replace(
      'jobs:\n',
      'concurrency: stateful-apply\njobs:\n',
    ),
  },
  {
    name: 'near-miss: a plan job needs no concurrency',
    yaml: job(`      - uses: acme/stateguard/actions/plan@${SHA}\n`),
  },
]);
