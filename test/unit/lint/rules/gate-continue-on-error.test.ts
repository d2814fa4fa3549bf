/**
 * SG105 gate-continue-on-error (src/lint/rules/gate-continue-on-error.ts, docs/rules.md SG105): a gate
 * (or the job holding it) never continues on error. Each case asserts the complete list of problems
 * (`#!SGnnn` markers on the expected lines).
 */
import { job, SAFE_APPLY, SHA, table } from '../support.js';

table('SG105 gate-continue-on-error', [
  {
    name: 'guard step',
    yaml: job(`      - uses: acme/stateguard/actions/guard@${SHA}\n        continue-on-error: true #!SG105\n`),
  },
  {
    name: 'verify-backup and e2e-gate steps',
    yaml: job(
      `      - uses: ./actions/verify-backup\n        continue-on-error: true #!SG105\n      - uses: acme/stateguard/actions/e2e-gate@${SHA}\n        continue-on-error: \${{ vars.SOFT }} #!SG105\n`,
    ),
  },
  {
    name: 'apply step via the root action',
    yaml: SAFE_APPLY.replace(
      `stateful-apply@${SHA} # v1\n`,
      `stateful-apply@${SHA} # v1\n        continue-on-error: true #!SG105\n`,
    ),
  },
  {
    name: 'the job holding a guard',
    yaml: job(`      - uses: acme/stateguard/actions/guard@${SHA}\n`, '    continue-on-error: true #!SG105\n'),
  },
  // (snapshot stops the module, so its job needs a concurrency group: SG104)
  {
    name: 'near-miss: plan and snapshot may continue on error; guard with false',
    yaml: job(
      `      - uses: acme/stateguard/actions/plan@${SHA}\n        continue-on-error: true\n      - uses: ./actions/snapshot\n        continue-on-error: true\n      - uses: acme/stateguard/actions/guard@${SHA}\n        continue-on-error: false\n`,
      '    concurrency: snapshot\n',
    ),
  },
]);
