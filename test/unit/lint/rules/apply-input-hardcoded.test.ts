/**
 * SG102 apply-input-hardcoded (src/lint/rules/apply-input-hardcoded.ts, docs/rules.md SG102): consent
 * values of a mutating call hard-coded instead of taken from a workflow input. Each case asserts the
 * complete list of problems (`#!SGnnn` markers on the expected lines).
 */
import { job, SAFE_APPLY, SHA, table } from '../support.js';

table('SG102 apply-input-hardcoded', [
  {
    name: 'allow-stateful true, confirm and backup-ref literals',
    yaml: SAFE_APPLY.replace('allow-stateful: ${{ inputs.allow_stateful }}', 'allow-stateful: true #!SG102')
      .replace('confirm: ${{ inputs.stateful_confirm }}', 'confirm: apply-store-1234 #!SG102')
      .replace('backup-ref: ${{ inputs.backup_ref }}', 'backup-ref: "backups/store/2026-01-01.tar.gz" #!SG102'),
  },
  {
    name: 'a mixed value is still hard-coded',
    yaml: SAFE_APPLY.replace(
      'confirm: ${{ inputs.stateful_confirm }}',
      'confirm: apply-${{ inputs.stateful_confirm }} #!SG102',
    ),
  },
  {
    name: 'a secret is not a dispatch input',
    yaml: SAFE_APPLY.replace('backup-ref: ${{ inputs.backup_ref }}', 'backup-ref: ${{ secrets.BACKUP }} #!SG102'),
  },
  {
    name: 'near-miss: github.event.inputs and bracket forms',
    yaml: SAFE_APPLY.replace('${{ inputs.allow_stateful }}', '${{ github.event.inputs.allow_stateful }}').replace(
      '${{ inputs.backup_ref }}',
      "${{ inputs['backup_ref'] }}",
    ),
  },
  {
    name: 'near-miss: literal values on a guard-less plan step',
    yaml: job(`      - uses: acme/stateguard/actions/plan@${SHA}\n        with:\n          confirm: literal\n`),
  },
]);
