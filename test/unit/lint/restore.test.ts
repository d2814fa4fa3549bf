/**
 * restore and recover in workflows (docs/architecture.md §12, docs/rules.md). Both stop and change a
 * stateful module, so the apply rules hold for them: dispatch only (SG101), operator-typed consent
 * (SG102), a concurrency group never cancelled (SG104). recover takes no confirm and no backup: no
 * rule may ask it for one. Each case asserts the complete list of problems (`#!SGnnn` markers).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO } from '../../support/runner.js';
import { PERMS, SAFE_RESTORE, SHA, found, lint, table } from './support.js';

/** A dispatch-only recover done right: module only, no consent inputs. */
const SAFE_RECOVER = `on:
  workflow_dispatch:
    inputs:
      module: { type: string, required: true }
${PERMS}jobs:
  recover:
    runs-on: x
    concurrency: { group: 'stateful-apply-\${{ inputs.module }}', cancel-in-progress: false }
    steps:
      - uses: ./actions/recover
        with:
          module: \${{ inputs.module }}
          break-stale-lock: false
`;

/** A workflow on `on` whose one serialised job runs `steps`: only the trigger can be wrong. */
function on(trigger: string, steps: string): string {
  return `on: ${trigger}\n${PERMS}concurrency: stateful-apply\njobs:\n  j:\n    runs-on: x\n    steps:\n${steps}`;
}

/** CLI consent passed from inputs through env:, so only the trigger is at issue. */
const CLI_ENV = `        env:\n          B: \${{ inputs.backup_ref }}\n          C: \${{ inputs.restore_confirm }}\n`;

it('the safe restore and recover workflows have no problem at all', async () => {
  expect(await lint(SAFE_RESTORE)).toEqual([]);
  expect(await lint(SAFE_RECOVER)).toEqual([]);
});

table('SG101: restore and recover only on workflow_dispatch', [
  {
    name: 'local ./actions/restore on push',
    yaml: on('[push, workflow_dispatch]', `      - uses: ./actions/restore #!SG101\n`),
  },
  {
    name: 'remote restore action on pull_request',
    yaml: on('pull_request', `      - uses: acme/stateguard/actions/restore@${SHA} #!SG101\n`),
  },
  {
    name: 'root action with command: restore on schedule',
    yaml: on(
      `\n  schedule:\n    - cron: '0 3 * * *'`,
      `      - uses: acme/stateguard@${SHA} #!SG101\n        with:\n          command: restore\n`,
    ),
  },
  {
    name: 'local root action ./ with command: restore via workflow_call',
    yaml: on(
      '\n  workflow_call:\n  workflow_dispatch:',
      `      - uses: ./ #!SG101\n        with:\n          command: Restore\n`,
    ),
  },
  {
    name: 'stateguard restore and npx stateguard restore in run: on push',
    yaml: on(
      'push',
      `      - run: stateguard restore --module store --backup-ref "$B" --confirm "$C" #!SG101\n${CLI_ENV}` +
        `      - run: |\n          echo restoring\n          npx stateguard restore --module store --backup-ref "$B" --confirm "$C" #!SG101\n${CLI_ENV}`,
    ),
  },
  {
    name: 'restore from run: via workflow_call',
    yaml: on('workflow_call', `      - run: npx --yes stateguard@1 restore --module store #!SG101\n`),
  },
  {
    name: 'recover on schedule: it stops and starts the service, unlike a snapshot it is no routine backup',
    yaml: on(
      `\n  schedule:\n    - cron: '0 3 * * *'`,
      `      - uses: ./actions/recover #!SG101\n      - run: npx stateguard recover --module store #!SG101\n`,
    ),
  },
  {
    name: 'recover on push',
    yaml: on(
      'push',
      `      - uses: acme/stateguard/actions/recover@${SHA} #!SG101\n        with:\n          module: store\n`,
    ),
  },
  {
    name: 'near-miss: restore and recover, every spelling, on workflow_dispatch only',
    yaml: on(
      'workflow_dispatch',
      `      - uses: ./actions/recover\n      - run: npx stateguard recover --module store --break-stale-lock\n` +
        `      - run: stateguard restore --module store --backup-ref "$B" --confirm "$C"\n${CLI_ENV}`,
    ),
  },
]);

table('SG102: restore consent typed by the operator, never written into the workflow', [
  {
    name: 'hard-coded confirm, backup-ref and allow-stateful of ./actions/restore',
    yaml: SAFE_RESTORE.replace(
      'confirm: ${{ inputs.restore_confirm }}',
      'confirm: store-20261129T120000Z.tar.gz #!SG102',
    )
      .replace(
        'backup-ref: ${{ inputs.backup_ref }}',
        'backup-ref: /var/backups/stateguard/store-20261129T120000Z.tar.gz #!SG102',
      )
      .replace('allow-stateful: ${{ inputs.allow_stateful }}', 'allow-stateful: true #!SG102'),
  },
  {
    name: 'hard-coded confirm of the root action with command: restore',
    yaml: SAFE_RESTORE.replace('- uses: ./actions/restore', `- uses: acme/stateguard@${SHA}`)
      .replace('        with:\n', '        with:\n          command: restore\n')
      .replace('confirm: ${{ inputs.restore_confirm }}', "confirm: 'store-20261129T120000Z.tar.gz' #!SG102"),
  },
  {
    name: 'hard-coded --confirm and --backup-ref of the CLI',
    yaml: SAFE_RESTORE.replace(
      / {6}- uses: \.\/actions\/restore[\s\S]*$/,
      `      - run: npx stateguard restore --module store --allow-stateful="$OK" --backup-ref /b/store-20261129T120000Z.tar.gz --confirm store-20261129T120000Z.tar.gz #!SG102 #!SG102\n        env:\n          OK: \${{ inputs.allow_stateful }}\n`,
    ),
  },
  {
    name: 'a secret or a repository variable is not the operator typing it',
    yaml: SAFE_RESTORE.replace('${{ inputs.restore_confirm }}', '${{ vars.RESTORE_CONFIRM }} #!SG102'),
  },
]);

table('SG103: the restore inputs, whatever they are called', [
  {
    name: 'restore_confirm with a default, backup_ref not required, allow_stateful defaulting to true',
    yaml: SAFE_RESTORE.replace(
      '      restore_confirm:\n        type: string\n        required: true',
      '      restore_confirm:\n        type: string\n        required: true\n        default: store-20261129T120000Z.tar.gz #!SG103',
    )
      .replace(
        '      backup_ref:\n        type: string\n        required: true',
        '      backup_ref:\n        type: string\n        required: false #!SG103',
      )
      .replace('        type: boolean\n        default: false', '        type: boolean\n        default: true #!SG103'),
  },
]);

table('SG104: a restore or recover job is serialised and never cancelled', [
  {
    name: 'restore job without concurrency',
    yaml: SAFE_RESTORE.replace('  restore:\n', '  restore: #!SG104\n').replace(/ {4}concurrency:\n.*\n.*\n/, ''),
  },
  {
    name: 'restore job with cancel-in-progress: true',
    yaml: SAFE_RESTORE.replace('cancel-in-progress: false', 'cancel-in-progress: true #!SG104'),
  },
  {
    name: 'restore in a concurrency group unique per run',
    yaml: SAFE_RESTORE.replace(
      'group: stateful-apply-${{ inputs.module }}',
      'group: restore-${{ github.run_id }} #!SG104',
    ),
  },
  {
    name: 'recover job without concurrency',
    yaml: SAFE_RECOVER.replace('  recover:\n', '  recover: #!SG104\n').replace(/ {4}concurrency:.*\n/, ''),
  },
  {
    name: 'recover with workflow-level cancel-in-progress: true',
    yaml: SAFE_RECOVER.replace(/ {4}concurrency:.*\n/, '').replace(
      'jobs:\n',
      'concurrency:\n  group: recover\n  cancel-in-progress: true #!SG104\njobs:\n',
    ),
  },
]);

table('recover needs no consent inputs', [
  { name: 'near-miss: recover action with module only', yaml: SAFE_RECOVER },
  {
    name: 'near-miss: recover CLI with module and --break-stale-lock, no confirm or backup',
    yaml: SAFE_RECOVER.replace(
      / {6}- uses: \.\/actions\/recover[\s\S]*$/,
      '      - run: npx stateguard recover --module "$M" --break-stale-lock\n        env:\n          M: ${{ inputs.module }}\n',
    ),
  },
  {
    name: 'near-miss: no consent rule asks anything of recover, not even of keys it does not take',
    yaml: SAFE_RECOVER.replace(
      '      module: { type: string, required: true }',
      '      module: { type: string, required: true }\n      c: { type: string, default: x }',
    ).replace(
      'break-stale-lock: false',
      'break-stale-lock: false\n          confirm: ${{ inputs.c }}\n          backup-ref: latest',
    ),
  },
  {
    name: 'near-miss: root action with command: recover',
    yaml: SAFE_RECOVER.replace('- uses: ./actions/recover', `- uses: acme/stateguard@${SHA}`).replace(
      '        with:\n',
      '        with:\n          command: recover\n',
    ),
  },
]);

// SG108 restore-confirm-derived: rules/restore-confirm-derived.test.ts.

table('SG107: an automatic trigger dispatching restore.yml with its confirm filled in', [
  {
    name: 'gh workflow run -f restore_confirm=…, and in a github-script dispatch',
    yaml:
      `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n` +
      `      - run: gh workflow run restore.yml -f module=store -f backup_ref=/b/s.tar.gz -f restore_confirm=s.tar.gz #!SG107\n` +
      `      - uses: actions/github-script@${SHA}\n        with:\n          script: |\n` +
      `            await github.rest.actions.createWorkflowDispatch({ owner: 'o', repo: 'r', workflow_id: 'restore.yml',\n` +
      `              ref: 'main', inputs: { module: 'store', restore_confirm: 's.tar.gz' } }); #!SG107\n`,
  },
  {
    name: 'near-miss: dispatching restore.yml with only the module leaves the operator to decide',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: gh workflow run restore.yml -f module=store\n`,
  },
]);

/**
 * The shipped workflows: the shape the restore contract asks for, and proof that the linter sees
 * their steps (each is linted clean by repo-workflows.test.ts; a linter that did not recognise
 * the restore step would pass it too, so breaking each safeguard must be reported).
 */
describe('workflows/restore.yml and workflows/recover.yml', () => {
  const read = (f: string): string => readFileSync(path.join(REPO, 'workflows', f), 'utf8');
  interface Wf {
    on: Record<string, { inputs?: Record<string, Record<string, unknown>> }>;
    permissions: unknown;
    jobs: Record<
      string,
      { concurrency?: unknown; steps: { uses?: string; run?: string; if?: string; with?: Record<string, unknown> }[] }
    >;
  }
  const restore = parse(read('restore.yml')) as Wf;
  const recover = parse(read('recover.yml')) as Wf;
  const apply = parse(read('stateful-apply.yml')) as Wf;
  const only = (wf: Wf): Wf['jobs'][string] => Object.values(wf.jobs)[0]!;

  it("dispatch only, read-only token, the contract's inputs (backup and confirm required, no default)", () => {
    expect(Object.keys(restore.on)).toEqual(['workflow_dispatch']);
    expect(Object.keys(recover.on)).toEqual(['workflow_dispatch']);
    expect(restore.permissions).toEqual({ contents: 'read' });
    expect(recover.permissions).toEqual({ contents: 'read' });
    const inputs = restore.on.workflow_dispatch!.inputs!;
    expect(Object.keys(inputs)).toEqual([
      'module',
      'backup_ref',
      'restore_confirm',
      'allow_stateful',
      'dry_run',
      'allow_legacy_archive',
    ]);
    expect(inputs.module).toMatchObject({ type: 'string', required: true });
    for (const k of ['backup_ref', 'restore_confirm']) {
      expect(inputs[k]).toMatchObject({ type: 'string', required: true });
      expect(inputs[k]).not.toHaveProperty('default');
    }
    expect(inputs.restore_confirm!.description).toMatch(/file name exactly, e\.g\. store-20261129T120000Z\.tar\.gz/);
    expect(inputs.allow_stateful).toMatchObject({ type: 'boolean', default: false });
    expect(inputs.dry_run).toMatchObject({ type: 'boolean', default: false });
    // an archive from before provenance (docs/architecture.md §16) goes back only when ticked
    expect(inputs.allow_legacy_archive).toMatchObject({ type: 'boolean', default: false });
    expect(recover.on.workflow_dispatch!.inputs!.module).toMatchObject({ type: 'string', required: true });
  });

  it('one concurrency group per module shared with stateful-apply.yml, never cancelled in progress', () => {
    const group = only(apply).concurrency as { group: string };
    for (const wf of [restore, recover])
      expect(only(wf).concurrency).toEqual({ group: group.group, 'cancel-in-progress': false });
  });

  it('the restore step takes every value from inputs, and no run: interpolates an expression', () => {
    const step = only(restore).steps.find((s) => s.uses?.includes('/actions/restore@'))!;
    expect(step.with).toMatchObject({
      module: '${{ inputs.module }}',
      'allow-stateful': '${{ inputs.allow_stateful }}',
      'backup-ref': '${{ inputs.backup_ref }}',
      confirm: '${{ inputs.restore_confirm }}',
    });
    // Inputs of the restore and recover actions (the contract; their action.yml files come with the commands).
    const RESTORE = [
      'root',
      'modules',
      'module',
      'backup-ref',
      'backup-root',
      'allow-stateful',
      'confirm',
      'out-dir',
      'expected-plan-hash',
      'helper-image',
      'break-stale-lock',
      'lock-stale-after-minutes',
      'ready-timeout-seconds',
      'max-uncompressed-bytes',
      'max-entries',
      'allow-legacy-archive',
      'max-shrink-percent',
      'allow-shrink',
      'dry-run',
      'json',
    ];
    const RECOVER = ['root', 'modules', 'module', 'break-stale-lock', 'json'];
    for (const k of Object.keys(step.with!)) expect(RESTORE).toContain(k);
    const rec = only(recover).steps.find((s) => s.uses?.includes('/actions/recover@'))!;
    for (const k of Object.keys(rec.with!)) expect(RECOVER).toContain(k);
    for (const s of [...only(restore).steps, ...only(recover).steps]) {
      if (s.uses) expect(s.uses).toMatch(/@[0-9a-f]{40}(?: |$)/);
      if (s.run) expect(s.run).not.toContain('${{');
    }
    const after = only(restore).steps.at(-1)!;
    expect(after.if).toContain('failure()');
    expect(after.run).toContain('recover');
  });

  it.each([
    ['restore.yml', 'a push trigger', (y: string) => y.replace('on:\n', 'on:\n  push:\n'), ['SG101']],
    [
      'restore.yml',
      'the confirm taken from the backup input',
      (y: string) => y.replace('confirm: ${{ inputs.restore_confirm }}', 'confirm: ${{ inputs.backup_ref }}'),
      ['SG108'],
    ],
    [
      'restore.yml',
      'a hard-coded confirm',
      (y: string) => y.replace('confirm: ${{ inputs.restore_confirm }}', 'confirm: store-20261129T120000Z.tar.gz'),
      ['SG102'],
    ],
    [
      'restore.yml',
      'cancel-in-progress: true',
      (y: string) => y.replace('cancel-in-progress: false', 'cancel-in-progress: true'),
      ['SG104'],
    ],
    [
      'restore.yml',
      'a default confirm',
      (y: string) =>
        y.replace(
          'e.g. store-20261129T120000Z.tar.gz\n        required: true',
          'e.g. store-20261129T120000Z.tar.gz\n        required: true\n        default: x',
        ),
      ['SG103'],
    ],
    [
      'recover.yml',
      'a schedule',
      (y: string) => y.replace('on:\n', "on:\n  schedule:\n    - cron: '0 3 * * *'\n"),
      ['SG101'],
    ],
    [
      'recover.yml',
      'cancel-in-progress: true',
      (y: string) => y.replace('cancel-in-progress: false', 'cancel-in-progress: true'),
      ['SG104'],
    ],
  ])('%s with %s is reported', async (file, _what, mutate, rules) => {
    const yaml = read(file);
    expect(await lint(yaml)).toEqual([]);
    const changed = mutate(yaml);
    expect(changed).not.toBe(yaml);
    expect(found(await lint(changed)).map((f) => f.split('@')[0])).toEqual(rules);
  });
});
