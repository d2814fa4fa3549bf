/**
 * Issue 12: "no unsafe workflow passes with 0 errors". Each table is one class of bypass found by
 * trying adversarially; every bad workflow names the rule and the line it must be reported on
 * (`#!SGnnn` markers), and the near-misses next to them must stay clean. Rules: docs/rules.md.
 * A table about one rule is beside that rule's other cases: A in rules/apply-automatic-trigger.test.ts,
 * C in rules/script-injection.test.ts, D in rules/compose-volume-removal.test.ts, E in
 * rules/dispatch-consent-prefilled.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { splitShellScript } from '../../../src/probe/shell-words.js';
import { lintWorkflowText } from '../../../src/lint/lint.js';
import { job, PERMS, SAFE_APPLY, SHA, found, lint, markers, table } from './support.js';

// B: consent inputs of any name, wherever they flow; a per-run concurrency group.
table('B: consent defeated by renaming (SG102, SG103, SG104)', [
  {
    name: 'renamed dispatch inputs feeding with: of an apply step',
    yaml: `on:\n  workflow_dispatch:\n    inputs:\n      module: {type: string, required: true}\n      go: {type: boolean, default: true} #!SG103\n      token: {type: string, required: true, default: BACKUP_DONE} #!SG103\n      backup: {type: string, required: true, default: /var/backups/store.tar.gz} #!SG103\n${PERMS}jobs:\n  apply:\n    runs-on: x\n    concurrency: {group: 'apply-\${{ inputs.module }}', cancel-in-progress: false}\n    steps:\n      - uses: acme/stateguard/actions/stateful-apply@${SHA}\n        with:\n          module: \${{ inputs.module }}\n          allow-stateful: \${{ INPUTS.go }}\n          backup-ref: \${{ inputs.backup }}\n          confirm: \${{ github.event.inputs.token }}\n`,
  },
  {
    name: "a confirm input defaulting to the step's own confirm-token; a string allow input",
    yaml: `on:\n  workflow_dispatch:\n    inputs:\n      ok:\n        type: string #!SG103\n        default: 'false' #!SG103\n      c:\n        type: string\n        required: true\n        default: LETMEIN #!SG103\n${PERMS}jobs:\n  apply:\n    runs-on: x\n    concurrency: apply\n    steps:\n      - uses: ./actions/apply\n        with:\n          allow-stateful: \${{ inputs.ok }}\n          confirm: \${{ inputs.c }}\n          confirm-token: LETMEIN\n`,
  },
  {
    name: 'renamed inputs reaching CLI flags through env (step, job and workflow level)',
    yaml: `on:\n  workflow_dispatch:\n    inputs:\n      go: {type: boolean, default: true} #!SG103\n      token: {type: string, default: BACKUP_DONE} #!SG103 #!SG103\n      backup: {type: string, required: true}\n${PERMS}env:\n  B: \${{ inputs.backup }}\njobs:\n  apply:\n    runs-on: x\n    concurrency: apply\n    env:\n      C: \${{ inputs.token }}\n    steps:\n      - run: npx stateguard apply --module store --allow-stateful="$OK" --confirm "$C" --backup-ref "\${B}"\n        env:\n          OK: \${{ inputs.go }}\n`,
  },
  {
    name: 'workflow_call inputs count too (and workflow_call is automatic)',
    yaml: `on:\n  workflow_call:\n    inputs:\n      go: {type: boolean, default: true} #!SG103\n${PERMS}concurrency: apply\njobs:\n  apply:\n    runs-on: x\n    steps:\n      - uses: acme/stateguard/actions/apply@${SHA} #!SG101\n        with:\n          allow-stateful: \${{ inputs.go }}\n`,
  },
  {
    name: 'a CLI flag taking its value from an env var nobody set is not consent from a dispatch input',
    yaml: `on: workflow_dispatch\n${PERMS}concurrency: apply\njobs:\n  apply:\n    runs-on: x\n    steps:\n      - run: npx stateguard apply --module store --confirm "$FROM_RUNNER" #!SG102\n`,
  },
  {
    name: 'job concurrency group unique per run',
    yaml: SAFE_APPLY.replace(
      'group: stateful-apply-${{ inputs.module }}',
      'group: stateful-apply-${{ github.run_id }} #!SG104',
    ),
  },
  {
    name: 'workflow concurrency unique per run (case-insensitive), no job group',
    yaml: SAFE_APPLY.replace(/ {4}concurrency:\n.*\n.*\n/, '').replace(
      'jobs:\n',
      'concurrency: apply-${{ GITHUB.RUN_NUMBER }}-${{ github.run_attempt }} #!SG104\njobs:\n',
    ),
  },
  {
    name: 'near-miss: a concurrency group keyed by inputs.module, renamed inputs declared safely',
    yaml: SAFE_APPLY.replace(/allow_stateful/g, 'yes_really')
      .replace(/stateful_confirm/g, 'typed')
      .replace(/backup_ref/g, 'bk'),
  },
  {
    name: 'near-miss: CLI consent from safe dispatch inputs through env',
    yaml: SAFE_APPLY.replace(
      / {6}- uses: acme\/stateguard\/actions\/stateful-apply[\s\S]*$/,
      `      - run: npx stateguard apply --module "$M" --allow-stateful="$OK" --confirm "$C" --backup-ref "$B"\n        env:\n          M: \${{ inputs.module }}\n          OK: \${{ inputs.allow_stateful }}\n          C: \${{ inputs.stateful_confirm }}\n          B: \${{ inputs.backup_ref }}\n`,
    ),
  },
]);

// Inline suppression: a deliberate exception, with its reason, listed as suppressed.
describe('inline suppression (SG002)', () => {
  const DOWN = `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n`;

  it('a comment on the line above or on the line itself suppresses that rule there, with its reason', async () => {
    const yaml = `${DOWN}      # stateguard-lint: ignore SG301 -- internal action; the tag is protected\n      - uses: acme/x@v1\n      - uses: acme/y@v1 # stateguard-lint: ignore SG301, SG106 -- same\n      - run: |\n          # stateguard-lint: ignore SG106 -- throw-away test stack, recreated every run\n          docker compose down -v\n`;
    const r = await lintWorkflowText(Buffer.from(yaml), 'w.yml');
    expect(r.problems).toEqual([]);
    expect(r.suppressed.map((s) => [s.rule, s.line, s.reason])).toEqual([
      ['SG301', 9, 'internal action; the tag is protected'],
      ['SG301', 10, 'same'],
      ['SG106', 13, 'throw-away test stack, recreated every run'],
    ]);
  });

  it('an empty reason is an error on the comment line, and the problem stays', async () => {
    // (a table case cannot carry its marker here: the marker would be the reason)
    const problems = await lint(`${DOWN}      # stateguard-lint: ignore SG301 --   \n      - uses: acme/x@v1\n`);
    expect(found(problems)).toEqual(['SG002@8', 'SG301@9']);
  });

  table('SG002 lint-suppression', [
    {
      name: 'no reason: an error, and the problem stays',
      yaml: `${DOWN}      - uses: acme/x@v1 # stateguard-lint: ignore SG301 #!SG002 #!SG301\n`,
    },
    {
      name: 'an unknown rule id',
      yaml: `${DOWN}      # stateguard-lint: ignore SG999 -- typo #!SG002\n      - run: echo\n`,
    },
    {
      name: 'not an ignore directive',
      yaml: `${DOWN}      # stateguard-lint: disable-all #!SG002\n      - run: echo\n`,
    },
    {
      name: 'SG002 itself cannot be suppressed',
      yaml: `${DOWN}      # stateguard-lint: ignore SG002 -- nope #!SG002\n      - run: echo\n`,
    },
    {
      name: 'a suppression two lines above does not reach',
      yaml: `${DOWN}      # stateguard-lint: ignore SG301 -- too far\n      - run: echo\n      - uses: acme/x@v1 #!SG301\n`,
    },
  ]);
});

describe('hostile shell in run: never crashes, hangs or hides a command', () => {
  it.each([
    ['an unterminated quote', `docker compose down -v "unterminated`, 1],
    ['a trailing backslash', `docker compose down -v \\`, 1],
    ['unbalanced $( )', `docker compose down -v $(((((`, 1],
    ['deep nesting', `${'$('.repeat(5000)}docker compose down -v${')'.repeat(5000)}`, -1],
    ['a very long line', `echo ${'x'.repeat(200_000)}; docker compose down -v`, 1],
  ])('%s', async (_n, script, hits) => {
    const yaml = job(`      - run: ${JSON.stringify(script)}\n`);
    const t0 = Date.now();
    const problems = await lint(yaml);
    expect(Date.now() - t0).toBeLessThan(5000);
    const sg106 = problems.filter((p) => p.rule === 'SG106');
    if (hits >= 0) expect(sg106).toHaveLength(hits);
    else expect(sg106.length).toBeGreaterThanOrEqual(1);
  });

  it('the script reader keeps offsets, splits on operators and never throws', () => {
    const cmds = splitShellScript(`A=1 docker  compose down -v && echo "x;y" | tee f; ls # c\n'q`);
    expect(cmds.map((c) => c.words.map((w) => w.text))).toEqual([
      ['docker', 'compose', 'down', '-v'],
      ['echo', 'x;y'],
      ['tee', 'f'],
      ['ls'],
      ['q'],
    ]);
    expect(cmds[0]!.assignments.map((a) => a.name)).toEqual(['A']);
    expect(cmds[0]!.words[1]!.start).toBe(12);
  });
});

it('markers helper sanity: every table above asserts at least one line or is a near-miss', () => {
  expect(markers('a #!SG101\nb\n')).toEqual(['SG101@1']);
  expect(found([])).toEqual([]);
});
