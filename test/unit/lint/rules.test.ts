/**
 * Every lint-workflows rule: workflows that trigger it (rule, severity and line asserted through
 * `#!SGnnn` markers on the expected lines) and near-misses that must not. Each case asserts the
 * complete list of problems, so a rule firing where it should not fails too.
 */
import { expect, it } from '@jest/globals';
import { job, PERMS, SAFE_APPLY, SHA, found, lint, table } from './support.js';

it('the safe apply workflow has no problem at all', async () => {
  expect(await lint(SAFE_APPLY)).toEqual([]);
});

table('SG000 workflow-schema (GitHub parser)', [
  { name: 'unknown step key', yaml: job(`      - run: echo hi\n        bogus: 1 #!SG000\n`) },
  { name: 'unknown named-value in an expression', yaml: job(`      - run: echo hi\n        if: \${{ foo.bar }} #!SG000\n`) },
  { name: 'a job that needs an unknown job', yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  a: #!SG000\n    runs-on: x\n    needs: [zz]\n    steps:\n      - run: echo\n` },
  { name: 'near-miss: a valid workflow', yaml: job(`      - run: echo hi\n        if: \${{ github.event_name == 'push' }}\n`) },
]);

table('SG101 apply-automatic-trigger', [
  { name: 'stateful-apply on push + dispatch', yaml: SAFE_APPLY.replace('on:\n', 'on:\n  push:\n').replace(`      - uses: acme/stateguard/actions/stateful-apply@${SHA} # v1`, `      - uses: acme/stateguard/actions/stateful-apply@${SHA} #!SG101`) },
  { name: 'local ./actions/apply on pull_request', yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    concurrency: apply\n    steps:\n      - uses: ./actions/apply #!SG101\n` },
  { name: 'root action with command: apply on schedule', yaml: `on:\n  schedule:\n    - cron: '0 3 * * *'\n${PERMS}concurrency: apply\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: Other-Org/StateGuard@${SHA} #!SG101\n        with:\n          command: apply\n` },
  { name: 'local root action ./ with command: apply reachable via workflow_call', yaml: `on:\n  workflow_call:\n  workflow_dispatch:\n${PERMS}concurrency: apply\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: ./ #!SG101\n        with:\n          command: apply\n` },
  { name: 'root action whose command is an expression counts as apply', yaml: `on: push\n${PERMS}concurrency: c\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: acme/stateguard@${SHA} #!SG101\n        with:\n          command: \${{ vars.COMMAND }}\n` },
  { name: 'near-miss: plan on pull_request', yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: acme/stateguard/actions/plan@${SHA}\n      - uses: acme/stateguard@${SHA}\n        with:\n          command: plan\n` },
  { name: 'near-miss: an apply action of a repository not called stateguard', yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: acme/stateguard-tools/actions/apply@${SHA}\n      - uses: ./tools/actions/apply\n` },
]);

table('SG102 apply-input-hardcoded', [
  {
    name: 'allow-stateful true, confirm and backup-ref literals',
    yaml: SAFE_APPLY.replace('allow-stateful: ${{ inputs.allow_stateful }}', 'allow-stateful: true #!SG102')
      .replace('confirm: ${{ inputs.stateful_confirm }}', 'confirm: apply-store-1234 #!SG102')
      .replace('backup-ref: ${{ inputs.backup_ref }}', 'backup-ref: "backups/store/2026-01-01.tar.gz" #!SG102'),
  },
  { name: 'a mixed value is still hard-coded', yaml: SAFE_APPLY.replace('confirm: ${{ inputs.stateful_confirm }}', 'confirm: apply-${{ inputs.stateful_confirm }} #!SG102') },
  { name: 'a secret is not a dispatch input', yaml: SAFE_APPLY.replace('backup-ref: ${{ inputs.backup_ref }}', 'backup-ref: ${{ secrets.BACKUP }} #!SG102') },
  { name: 'near-miss: github.event.inputs and bracket forms', yaml: SAFE_APPLY.replace('${{ inputs.allow_stateful }}', "${{ github.event.inputs.allow_stateful }}").replace('${{ inputs.backup_ref }}', "${{ inputs['backup_ref'] }}") },
  { name: 'near-miss: literal values on a guard-less plan step', yaml: job(`      - uses: acme/stateguard/actions/plan@${SHA}\n        with:\n          confirm: literal\n`) },
]);

table('SG103 dispatch-input-unsafe', [
  { name: 'allow_stateful as a string defaulting to true', yaml: SAFE_APPLY.replace('      allow_stateful:\n        type: boolean\n        default: false', "      allow_stateful:\n        type: string #!SG103\n        default: 'false' #!SG103") },
  { name: 'allow_stateful defaulting to true', yaml: SAFE_APPLY.replace('        type: boolean\n        default: false', '        type: boolean\n        default: true #!SG103') },
  { name: 'allow_stateful without a default', yaml: SAFE_APPLY.replace('      allow_stateful: #', '').replace('      allow_stateful:\n        type: boolean\n        default: false', '      allow_stateful: #!SG103\n        type: boolean') },
  { name: 'stateful_confirm with a default', yaml: SAFE_APPLY.replace('      stateful_confirm:\n        type: string\n        required: true', "      stateful_confirm:\n        type: string\n        required: true\n        default: '' #!SG103") },
  { name: 'backup_ref not required', yaml: SAFE_APPLY.replace('      backup_ref:\n        type: string\n        required: true', '      backup_ref:\n        type: string\n        required: false #!SG103') },
  { name: 'backup_ref with no required key', yaml: SAFE_APPLY.replace('      backup_ref:\n        type: string\n        required: true', '      backup_ref: #!SG103\n        type: string') },
  { name: 'near-miss: other inputs may have defaults', yaml: SAFE_APPLY.replace('      module:\n        type: string\n        required: true', '      module:\n        type: string\n        default: store') },
]);

table('SG104 apply-concurrency', [
  { name: 'no concurrency at all', yaml: SAFE_APPLY.replace('  apply:\n', '  apply: #!SG104\n').replace(/ {4}concurrency:\n.*\n.*\n/, '') },
  { name: 'cancel-in-progress: true', yaml: SAFE_APPLY.replace('cancel-in-progress: false', 'cancel-in-progress: true #!SG104') },
  { name: 'cancel-in-progress from an expression', yaml: SAFE_APPLY.replace('cancel-in-progress: false', 'cancel-in-progress: ${{ github.ref != \'x\' }} #!SG104') },
  { name: 'workflow-level cancel-in-progress: true', yaml: SAFE_APPLY.replace('jobs:\n', 'concurrency:\n  group: all\n  cancel-in-progress: true #!SG104\njobs:\n') },
  { name: 'near-miss: workflow-level group suffices', yaml: SAFE_APPLY.replace(/ {4}concurrency:\n.*\n.*\n/, '').replace('jobs:\n', 'concurrency: stateful-apply\njobs:\n') },
  { name: 'near-miss: a plan job needs no concurrency', yaml: job(`      - uses: acme/stateguard/actions/plan@${SHA}\n`) },
]);

table('SG105 gate-continue-on-error', [
  { name: 'guard step', yaml: job(`      - uses: acme/stateguard/actions/guard@${SHA}\n        continue-on-error: true #!SG105\n`) },
  { name: 'verify-backup and e2e-gate steps', yaml: job(`      - uses: ./actions/verify-backup\n        continue-on-error: true #!SG105\n      - uses: acme/stateguard/actions/e2e-gate@${SHA}\n        continue-on-error: \${{ vars.SOFT }} #!SG105\n`) },
  { name: 'apply step via the root action', yaml: SAFE_APPLY.replace(`stateful-apply@${SHA} # v1\n`, `stateful-apply@${SHA} # v1\n        continue-on-error: true #!SG105\n`) },
  { name: 'the job holding a guard', yaml: job(`      - uses: acme/stateguard/actions/guard@${SHA}\n`, '    continue-on-error: true #!SG105\n') },
  // (snapshot stops the module, so its job needs a concurrency group: SG104)
  { name: 'near-miss: plan and snapshot may continue on error; guard with false', yaml: job(`      - uses: acme/stateguard/actions/plan@${SHA}\n        continue-on-error: true\n      - uses: ./actions/snapshot\n        continue-on-error: true\n      - uses: acme/stateguard/actions/guard@${SHA}\n        continue-on-error: false\n`, '    concurrency: snapshot\n') },
]);

table('SG106 compose-volume-removal', [
  {
    name: 'down -v, -V, -y and --volumes next to a guard, on their exact lines',
    yaml: job(
      `      - uses: acme/stateguard/actions/guard@${SHA}\n      - run: |\n          echo start\n          docker compose -p platform down -v #!SG106\n          docker-compose -f c.yml up -d -V #!SG106\n          docker compose up -y store #!SG106\n          docker compose down --volumes #!SG106\n`,
    ),
  },
  { name: 'a workflow with an allow_stateful input touches stateful modules', yaml: `on:\n  workflow_dispatch:\n    inputs:\n      allow_stateful:\n        type: boolean\n        default: false\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: docker compose down -fv #!SG106\n` },
  // Every workflow since issue 12: volumes are what stateguard protects, with or without a stateguard step.
  { name: 'the same commands in a workflow that touches no stateful module', yaml: job(`      - uses: acme/stateguard/actions/plan@${SHA}\n      - run: |\n          docker compose down -v #!SG106\n          docker compose up -V #!SG106\n`) },
  { name: 'near-miss: safe compose commands next to a guard', yaml: job(`      - uses: acme/stateguard/actions/guard@${SHA}\n      - run: |\n          docker compose down\n          docker compose run -v /tmp:/tmp store ls\n          docker compose run store apt-get install -y curl\n          docker compose -p yes up -d # -y in a comment\n          docker volume ls -v\n`) },
]);

table('SG201 script-injection', [
  {
    name: 'github.event, head_ref and inputs in a run block, on the exact lines',
    yaml: job(`      - run: |\n          echo "safe"\n          echo "\${{ github.event.pull_request.title }}" #!SG201\n          git checkout \${{ github.head_ref }} #!SG201\n          ./deploy \${{ inputs.module }} #!SG201\n`),
  },
  { name: 'a one-line run', yaml: job(`      - run: echo \${{ github.event.issue.body }} #!SG201\n`) },
  { name: 'github.event.inputs and bracket syntax', yaml: job(`      - run: echo \${{ github.event.inputs.x }} \${{ github['head_ref'] }} #!SG201 #!SG201\n`) },
  { name: 'actions/github-script script', yaml: job(`      - uses: actions/github-script@${SHA}\n        with:\n          script: |\n            const t = "\${{ github.event.comment.body }}"; #!SG201\n`) },
  {
    name: 'near-miss: values passed through env, and safe contexts',
    yaml: job(`      - run: |\n          echo "$TITLE" \${{ github.event_name }} \${{ github.sha }} \${{ steps.s.outputs.inputs }}\n        env:\n          TITLE: \${{ github.event.pull_request.title }}\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ inputs.ref }}\n`),
  },
]);

table('SG202 permissions', [
  { name: 'no top-level permissions', yaml: '#!SG202\non: workflow_dispatch\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo\n' },
  { name: 'write-all at the top', yaml: 'on: workflow_dispatch\npermissions: write-all #!SG202\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo\n' },
  { name: 'write-all on a job', yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  j:\n    runs-on: x\n    permissions: write-all #!SG202\n    steps:\n      - run: echo\n` },
  { name: 'near-miss: read-all and empty permissions', yaml: 'on: workflow_dispatch\npermissions: read-all\njobs:\n  j:\n    runs-on: x\n    permissions: {}\n    steps:\n      - run: echo\n' },
]);

table('SG203 untrusted-checkout', [
  { name: 'pull_request_target with the PR head sha', yaml: `on: pull_request_target\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.event.pull_request.head.sha }} #!SG203\n` },
  { name: 'workflow_run with the head branch', yaml: `on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.event.workflow_run.head_sha }} #!SG203\n` },
  { name: 'pull_request_target with head_ref', yaml: `on: [pull_request_target]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.head_ref }} #!SG203\n` },
  { name: 'near-miss: pull_request_target checking out the base', yaml: `on: pull_request_target\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n` },
  { name: 'near-miss: pull_request with the PR head', yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ github.event.pull_request.head.sha }}\n` },
]);

table('SG301 action-not-pinned', [
  { name: 'tag, branch, short sha, docker tag and a reusable workflow', yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  r:\n    uses: acme/wf/.github/workflows/x.yml@main #!SG301\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4 #!SG301\n      - uses: actions/setup-node@main #!SG301\n      - uses: acme/x@0123456 #!SG301\n      - uses: docker://alpine:3.20 #!SG301\n` },
  { name: 'near-miss: full sha, local action, docker digest', yaml: `on: workflow_dispatch\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@${SHA}\n      - uses: ./.github/actions/local\n      - uses: docker://alpine@sha256:${'a'.repeat(64)}\n` },
]);

it('SG301 is a warning, every other rule an error', async () => {
  const problems = await lint(job('      - uses: actions/checkout@v4\n'));
  expect(problems).toEqual([expect.objectContaining({ rule: 'SG301', severity: 'warning', line: 8, column: 15 })]);
});

it('positions are 1-based line and column of the value', async () => {
  const problems = await lint(SAFE_APPLY.replace('allow-stateful: ${{ inputs.allow_stateful }}', 'allow-stateful: true'));
  expect(problems).toEqual([
    { file: 'w.yml', line: 30, column: 27, rule: 'SG102', severity: 'error', message: expect.stringContaining("'allow-stateful' of step 2 of job 'apply'") },
  ]);
});

it('SG106 reports a command continued over lines on the line where it starts', async () => {
  const yaml = job(`      - uses: ./actions/guard\n      - run: |\n          echo start\n          docker compose up -d \\\n            --renew-anon-volumes\n`);
  expect(yaml.split('\n')[10]).toBe('          docker compose up -d \\');
  expect(found(await lint(yaml))).toEqual(['SG106@11']);
});
