/**
 * SG108 restore-confirm-derived (src/lint/rules/restore-confirm-derived.ts, docs/rules.md SG108): the
 * confirm of a restore computed from the backup it restores. Each case asserts the complete list of
 * problems (`#!SGnnn` markers on the expected lines).
 */
import { expect, it } from '@jest/globals';
import { SAFE_RESTORE, SHA, lint, table } from '../support.js';

/** SAFE_RESTORE with its restore step replaced by `steps` (job env: `jobEnv`). */
function restoreSteps(steps: string, jobEnv = ''): string {
  return SAFE_RESTORE.replace(/ {4}steps:\n[\s\S]*$/, `${jobEnv}    steps:\n${steps}`);
}

const CONFIRM = 'confirm: ${{ inputs.restore_confirm }}';

table('SG108 restore-confirm-derived', [
  {
    name: 'the same input feeds backup-ref and confirm',
    yaml: SAFE_RESTORE.replace(CONFIRM, 'confirm: ${{ inputs.backup_ref }} #!SG108'),
  },
  {
    name: 'the same renamed input, once through github.event.inputs',
    yaml: SAFE_RESTORE.replace(/backup_ref/g, 'which').replace(
      CONFIRM,
      'confirm: ${{ github.event.inputs.which }} #!SG108',
    ),
  },
  {
    name: 'format() around the backup input',
    yaml: SAFE_RESTORE.replace(CONFIRM, "confirm: ${{ format('{0}', inputs.backup_ref) }} #!SG108"),
  },
  {
    name: 'the backup input or the typed one',
    yaml: SAFE_RESTORE.replace(CONFIRM, 'confirm: ${{ inputs.restore_confirm || inputs.backup_ref }} #!SG108'),
  },
  {
    name: 'every input at once (toJSON(inputs))',
    yaml: SAFE_RESTORE.replace(CONFIRM, 'confirm: ${{ toJSON(inputs) }} #!SG108'),
  },
  {
    name: 'an env: variable (step or job level) set from the backup input',
    yaml: restoreSteps(
      `      - uses: ./actions/restore\n        env:\n          NAME: \${{ env.BK }}\n        with:\n          backup-ref: \${{ inputs.backup_ref }}\n          confirm: \${{ env.NAME }} #!SG108\n`,
      '    env:\n      BK: ${{ inputs.backup_ref }}\n',
    ),
  },
  {
    name: 'the root action with command: restore',
    yaml: SAFE_RESTORE.replace('- uses: ./actions/restore', `- uses: acme/stateguard@${SHA}`)
      .replace('        with:\n', '        with:\n          command: restore\n')
      .replace(CONFIRM, 'confirm: ${{ inputs.backup_ref }} #!SG108'),
  },
  {
    name: 'a command given by an expression may be restore',
    yaml: SAFE_RESTORE.replace('- uses: ./actions/restore', `- uses: acme/stateguard@${SHA}`)
      .replace('        with:\n', '        with:\n          command: ${{ vars.COMMAND }}\n')
      .replace(CONFIRM, 'confirm: ${{ inputs.backup_ref }} #!SG108'),
  },
  {
    name: 'the output of a step that computes the file name from the backup input',
    yaml: restoreSteps(
      `      - id: pick\n        run: echo "name=$(basename "$B")" >> "$GITHUB_OUTPUT"\n        env:\n          B: \${{ inputs.backup_ref }}\n` +
        `      - uses: ./actions/restore\n        with:\n          backup-ref: \${{ inputs.backup_ref }}\n          confirm: \${{ steps.pick.outputs.name }} #!SG108\n`,
    ),
  },
  {
    name: 'CLI: --confirm "$(basename "$BACKUP_REF")", --confirm "$BACKUP_REF" and --confirm=${BACKUP_REF}',
    yaml: restoreSteps(
      [
        `      - run: |`,
        `          npx stateguard restore --module store --backup-ref "$BACKUP_REF" --confirm "$(basename "$BACKUP_REF")" #!SG108`,
        `          stateguard restore --module store --backup-ref "$BACKUP_REF" --confirm "$BACKUP_REF" #!SG108`,
        `          stateguard restore --module store --backup-ref "$BACKUP_REF" --confirm=\${BACKUP_REF} #!SG108`,
        `        env:`,
        `          BACKUP_REF: \${{ inputs.backup_ref }}`,
      ].join('\n') + '\n',
    ),
  },
  {
    name: 'CLI: a script variable (assigned, exported, inside bash -c) computed from the backup',
    yaml: restoreSteps(
      [
        `      - run: |`,
        `          NAME=$(basename "$B")`,
        `          export SHORT="\${B##*/}"`,
        `          npx stateguard restore --module store --backup-ref "$B" --confirm "$NAME" #!SG108`,
        `          npx stateguard restore --module store --backup-ref "$B" --confirm "$SHORT" #!SG108`,
        `          bash -c 'N=$(basename "$B"); npx stateguard restore --backup-ref "$B" --confirm "$N"' #!SG108`,
        `        env:`,
        `          B: \${{ inputs.backup_ref }}`,
      ].join('\n') + '\n',
    ),
  },
  {
    name: 'CLI: a backup picked by the script (hard-coded, SG102) and a confirm computed from it',
    yaml: restoreSteps(
      `      - run: |\n          B=$(ls -t /var/backups/stateguard/store-* | head -n 1)\n          npx stateguard restore --module store --backup-ref "$B" --confirm "$(basename "$B")" #!SG102 #!SG108\n`,
    ),
  },
  { name: 'near-miss: confirm from its own required input with no default', yaml: SAFE_RESTORE },
  {
    name: "near-miss: CLI consent from separate inputs through env (job and step level), the runner's own variables",
    yaml: restoreSteps(
      `      - run: npx stateguard restore --module store --out-dir "$RUNNER_TEMP" --backup-ref "$B" --confirm "$C"\n        env:\n          C: \${{ inputs.restore_confirm }}\n`,
      '    env:\n      B: ${{ inputs.backup_ref }}\n',
    ),
  },
  {
    name: 'near-miss for SG108: a confirm from a step that reads only the typed input is not from the backup (SG102: not typed as is)',
    yaml: restoreSteps(
      `      - id: t\n        run: echo "c=$(echo "$C" | tr -d ' ')" >> "$GITHUB_OUTPUT"\n        env:\n          C: \${{ inputs.restore_confirm }}\n` +
        `      - uses: ./actions/restore\n        with:\n          backup-ref: \${{ inputs.backup_ref }}\n          confirm: \${{ steps.t.outputs.c }} #!SG102\n`,
    ),
  },
  {
    name: "near-miss: an apply's confirm is a fixed token, not the backup's name: SG108 is about restore",
    yaml: SAFE_RESTORE.replace('./actions/restore', './actions/stateful-apply').replace(
      CONFIRM,
      'confirm: ${{ inputs.backup_ref }}',
    ),
  },
]);

it('SG108 names what the confirm and the backup share and replaces SG102 on that value', async () => {
  const problems = await lint(SAFE_RESTORE.replace(CONFIRM, "confirm: ${{ format('{0}', inputs.backup_ref) }}"));
  expect(problems).toEqual([
    expect.objectContaining({
      rule: 'SG108',
      severity: 'error',
      line: 32,
      column: 20,
      message: expect.stringContaining("both read input 'backup_ref'"),
    }),
  ]);
  expect(problems[0]!.message).toContain('${{ inputs.restore_confirm }}');
});
