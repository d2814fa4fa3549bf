/**
 * SG101 apply-automatic-trigger (src/lint/rules/apply-automatic-trigger.ts, docs/rules.md SG101): a
 * stateguard command that changes or stops a stateful module, or deletes its backups, reachable from a
 * trigger other than workflow_dispatch; with issue 12's bypass A (a stateguard step spelled
 * differently, or the CLI called from run:). Each case asserts the complete list of problems
 * (`#!SGnnn` markers on the expected lines).
 */
import { PERMS, SAFE_APPLY, SHA, table } from '../support.js';

table('SG101 apply-automatic-trigger', [
  {
    name: 'stateful-apply on push + dispatch',
    yaml: SAFE_APPLY.replace('on:\n', 'on:\n  push:\n').replace(
      `      - uses: acme/stateguard/actions/stateful-apply@${SHA} # v1`,
      `      - uses: acme/stateguard/actions/stateful-apply@${SHA} #!SG101`,
    ),
  },
  {
    name: 'local ./actions/apply on pull_request',
    yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    concurrency: apply\n    steps:\n      - uses: ./actions/apply #!SG101\n`,
  },
  {
    name: 'root action with command: apply on schedule',
    yaml: `on:\n  schedule:\n    - cron: '0 3 * * *'\n${PERMS}concurrency: apply\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: Other-Org/StateGuard@${SHA} #!SG101\n        with:\n          command: apply\n`,
  },
  {
    name: 'local root action ./ with command: apply reachable via workflow_call',
    yaml: `on:\n  workflow_call:\n  workflow_dispatch:\n${PERMS}concurrency: apply\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: ./ #!SG101\n        with:\n          command: apply\n`,
  },
  {
    name: 'root action whose command is an expression counts as apply',
    yaml: `on: push\n${PERMS}concurrency: c\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: acme/stateguard@${SHA} #!SG101\n        with:\n          command: \${{ vars.COMMAND }}\n`,
  },
  {
    name: 'near-miss: plan on pull_request',
    yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: acme/stateguard/actions/plan@${SHA}\n      - uses: acme/stateguard@${SHA}\n        with:\n          command: plan\n`,
  },
  {
    name: 'near-miss: an apply action of a repository not called stateguard',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: acme/stateguard-tools/actions/apply@${SHA}\n      - uses: ./tools/actions/apply\n`,
  },
]);

/** A workflow on push (+ dispatch) whose jobs are serialised, so only SG101 is expected. */
function onPush(steps: string): string {
  return `on: [push, workflow_dispatch]\n${PERMS}concurrency: stateful-apply\njobs:\n  j:\n    runs-on: x\n    steps:\n${steps}`;
}

// A: a stateguard step must be recognised however its `uses:` path is spelled, and a `run:` that
// calls the CLI is a stateguard step with that command (docs/rules.md, "stateguard step").
table('A: stateguard steps spelled differently (SG101)', [
  {
    name: 'vendored, doubled slash, dot segment, trailing dot, remote doubled slash',
    yaml: onPush(
      [
        `      - uses: ./.github/actions/stateguard/actions/apply #!SG101`,
        `      - uses: ./actions//apply #!SG101`,
        `      - uses: ./actions/./apply #!SG101`,
        `      - uses: ./actions/../actions/stateful-apply #!SG101`,
        `      - uses: acme/stateguard/actions//apply@${SHA} #!SG101`,
        `      - uses: acme/stateguard/actions/apply/.@${SHA} #!SG101`,
        `      - uses: ./.github/actions/stateguard #!SG101`,
        `        with:`,
        `          command: apply`,
      ].join('\n') + '\n',
    ),
  },
  {
    name: 'a local path escaping the workspace with ..: assumed to be what its tail says',
    yaml: onPush(`      - uses: ./../stateguard/actions/apply #!SG101\n      - uses: ./../actions/upgrade #!SG101\n`),
  },
  {
    name: 'the CLI called from run: (npx, npm exec, node dist/cli.js, bare), also restore/upgrade/snapshot',
    yaml: onPush(
      [
        `      - run: npx stateguard apply --module store #!SG101`,
        `      - run: npx --yes stateguard@1 apply --module store #!SG101`,
        `      - run: node dist/cli.js apply --module store #!SG101`,
        `      - run: node ./node_modules/stateguard/dist/cli.js apply --module store #!SG101`,
        `      - run: stateguard apply --module store #!SG101`,
        `      - run: npm exec stateguard -- apply --module store #!SG101`,
        `      - run: |`,
        `          echo preparing`,
        `          cd deploy && npx stateguard restore --module store #!SG101`,
        `          ./node_modules/.bin/stateguard upgrade --module store; echo done #!SG101`,
        `      - run: npx stateguard snapshot --module store --out-dir /b #!SG101`,
        `      - run: npx stateguard prune-backups --module store --backup-root /b #!SG101`,
        `      - uses: acme/stateguard/actions/prune-backups@${SHA} #!SG101`,
        `        with:`,
        `          module: store`,
        `          backup-root: /b`,
      ].join('\n') + '\n',
    ),
  },
  {
    name: 'a scheduled snapshot is a backup, not a change: allowed on schedule (with its concurrency group), never on push',
    yaml: `on:\n  schedule: [{ cron: '0 3 * * *' }]\n  workflow_dispatch:\n${PERMS}jobs:\n  j:\n    runs-on: x\n    concurrency: backup-store\n    steps:\n      - run: npx stateguard snapshot --module store --out-dir /b\n      - run: npx stateguard prune-backups --module store --backup-root /b\n      - uses: acme/stateguard/actions/prune-backups@${SHA}\n        with:\n          module: store\n          backup-root: /b\n      - uses: ./actions/apply #!SG101\n        with:\n          module: store\n          allow-stateful: \${{ inputs.allow }}\n          confirm: \${{ inputs.c }}\n          backup-ref: \${{ inputs.b }}\n`,
  },
  {
    name: 'a CLI apply is subject to the other rules too: hard-coded consent, concurrency, continue-on-error',
    yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  j: #!SG104\n    runs-on: x\n    steps:\n      - run: npx stateguard apply --module store --allow-stateful --confirm BACKUP_DONE --backup-ref=/b/s.tar.gz #!SG102 #!SG102 #!SG102\n        continue-on-error: true #!SG105\n`,
  },
  {
    name: "near-miss: plan/validate/lint from run: on push, a command only mentioned, another tool's dist/cli.js",
    yaml: `on: [push, pull_request]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          npx stateguard plan --module store\n          node dist/cli.js lint-workflows\n          echo "npx stateguard apply is run by hand"\n          # stateguard apply --module store\n          node tools/build.js apply\n      - uses: ./tools/actions/apply\n`,
  },
]);
