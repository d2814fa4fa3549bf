/**
 * Issue 12: "no unsafe workflow passes with 0 errors". Each table is one class of bypass found by
 * trying adversarially; every bad workflow names the rule and the line it must be reported on
 * (`#!SGnnn` markers), and the near-misses next to them must stay clean. Rules: docs/rules.md.
 */
import { describe, expect, it } from '@jest/globals';
import { splitShellScript } from '../../../src/probe/shell-words.js';
import { lintWorkflowText } from '../../../src/lint/lint.js';
import { job, PERMS, SAFE_APPLY, SHA, found, lint, markers, table } from './support.js';

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
  { name: 'a local path escaping the workspace with ..: assumed to be what its tail says', yaml: onPush(`      - uses: ./../stateguard/actions/apply #!SG101\n      - uses: ./../actions/upgrade #!SG101\n`) },
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
    name: 'near-miss: plan/validate/lint from run: on push, a command only mentioned, another tool\'s dist/cli.js',
    yaml: `on: [push, pull_request]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          npx stateguard plan --module store\n          node dist/cli.js lint-workflows\n          echo "npx stateguard apply is run by hand"\n          # stateguard apply --module store\n          node tools/build.js apply\n      - uses: ./tools/actions/apply\n`,
  },
]);

// B: consent inputs of any name, wherever they flow; a per-run concurrency group.
table('B: consent defeated by renaming (SG102, SG103, SG104)', [
  {
    name: 'renamed dispatch inputs feeding with: of an apply step',
    yaml: `on:\n  workflow_dispatch:\n    inputs:\n      module: {type: string, required: true}\n      go: {type: boolean, default: true} #!SG103\n      token: {type: string, required: true, default: BACKUP_DONE} #!SG103\n      backup: {type: string, required: true, default: /var/backups/store.tar.gz} #!SG103\n${PERMS}jobs:\n  apply:\n    runs-on: x\n    concurrency: {group: 'apply-\${{ inputs.module }}', cancel-in-progress: false}\n    steps:\n      - uses: acme/stateguard/actions/stateful-apply@${SHA}\n        with:\n          module: \${{ inputs.module }}\n          allow-stateful: \${{ INPUTS.go }}\n          backup-ref: \${{ inputs.backup }}\n          confirm: \${{ github.event.inputs.token }}\n`,
  },
  {
    name: 'a confirm input defaulting to the step\'s own confirm-token; a string allow input',
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
  { name: 'job concurrency group unique per run', yaml: SAFE_APPLY.replace('group: stateful-apply-${{ inputs.module }}', 'group: stateful-apply-${{ github.run_id }} #!SG104') },
  {
    name: 'workflow concurrency unique per run (case-insensitive), no job group',
    yaml: SAFE_APPLY.replace(/ {4}concurrency:\n.*\n.*\n/, '').replace('jobs:\n', 'concurrency: apply-${{ GITHUB.RUN_NUMBER }}-${{ github.run_attempt }} #!SG104\njobs:\n'),
  },
  { name: 'near-miss: a concurrency group keyed by inputs.module, renamed inputs declared safely', yaml: SAFE_APPLY.replace(/allow_stateful/g, 'yes_really').replace(/stateful_confirm/g, 'typed').replace(/backup_ref/g, 'bk') },
  {
    name: 'near-miss: CLI consent from safe dispatch inputs through env',
    yaml: SAFE_APPLY.replace(
      / {6}- uses: acme\/stateguard\/actions\/stateful-apply[\s\S]*$/,
      `      - run: npx stateguard apply --module "$M" --allow-stateful="$OK" --confirm "$C" --backup-ref "$B"\n        env:\n          M: \${{ inputs.module }}\n          OK: \${{ inputs.allow_stateful }}\n          C: \${{ inputs.stateful_confirm }}\n          B: \${{ inputs.backup_ref }}\n`,
    ),
  },
]);

// C: template injection the regex missed.
table('C: template injection (SG201)', [
  {
    name: 'case-insensitive contexts, toJSON of whole contexts, env tainted at every level',
    yaml: `on: pull_request\n${PERMS}env:\n  WFT: \${{ github.event.pull_request.body }}\njobs:\n  j:\n    runs-on: x\n    env:\n      JOBT: \${{ github.head_ref }}\n    steps:\n      - run: |\n          echo "\${{ Inputs.module }}" #!SG201\n          echo "\${{ GITHUB.EVENT.pull_request.title }}" #!SG201\n          echo '\${{ toJSON(github.event) }}' #!SG201\n          echo '\${{ toJSON(inputs) }}' #!SG201\n          echo '\${{ tojson(github) }}' #!SG201\n          echo "\${{ env.TITLE }}" #!SG201\n          echo "\${{ env.jobt }}" #!SG201\n          echo "\${{ env.WFT }}" #!SG201\n          echo "\${{ env.CHAIN }}" #!SG201\n          echo "\${{ format('{0}', env.TITLE) }}" #!SG201\n        env:\n          TITLE: \${{ github.event.issue.title }}\n          CHAIN: prefix-\${{ env.WFT }}\n`,
  },
  {
    name: 'github-script with env taint',
    yaml: `on: issue_comment\n${PERMS}jobs:\n  j:\n    runs-on: x\n    env:\n      BODY: \${{ github.event.comment.body }}\n    steps:\n      - uses: actions/github-script@${SHA}\n        with:\n          script: |\n            const b = \`\${{ env.BODY }}\`; #!SG201\n`,
  },
  {
    name: 'near-miss: env set from literals or trusted contexts, a step overriding a tainted job env, "$VAR" in the shell',
    yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    env:\n      SAFE: \${{ github.head_ref }}\n    steps:\n      - run: |\n          echo "\${{ env.SAFE }} \${{ env.SHA }} \${{ env.LIT }}" "$TITLE" \${{ github.event_name }} \${{ format('{0}', github.sha) }}\n        env:\n          SAFE: fixed\n          SHA: \${{ github.sha }}\n          LIT: literal\n          TITLE: \${{ github.event.pull_request.title }}\n`,
  },
]);

// D: volume destruction, by tokenising the shell instead of matching regexes; every workflow.
table('D: volume destruction (SG106)', [
  {
    name: 'docker global options, quoted program, =1/=true, docker-compose, volume rm/prune, system prune, rm -v, -V',
    yaml: job(
      [
        `      - uses: acme/stateguard/actions/guard@${SHA}`,
        `      - run: |`,
        `          docker --context prod compose -p platform down -v #!SG106`,
        `          docker -H ssh://deploy@host compose down --volumes #!SG106`,
        `          "docker" compose down -v #!SG106`,
        `          docker compose down --volumes=1 #!SG106`,
        `          docker compose --file a.yml down --volumes=true #!SG106`,
        `          docker-compose down -v #!SG106`,
        `          docker volume rm store_data #!SG106`,
        `          docker volume prune -f #!SG106`,
        `          docker system prune --volumes -f #!SG106`,
        `          docker compose rm -v #!SG106`,
        `          docker compose rm --volumes store #!SG106`,
        `          docker compose up -d -V #!SG106`,
        `          docker --log-level debug --config /c compose --project-name p down -v #!SG106`,
      ].join('\n') + '\n',
    ),
  },
  { name: 'a variable holding the command', yaml: job(`      - run: |\n          DC="docker compose"\n          $DC -p platform down -v #!SG106\n          \${DC} down --volumes #!SG106\n`) },
  { name: 'the command from env:', yaml: job(`      - run: $COMPOSE down -v #!SG106\n        env:\n          COMPOSE: docker compose -f prod.yml\n`) },
  { name: 'through sh -c, after && and inside $( )', yaml: job(`      - run: |\n          bash -c 'docker compose down -v' #!SG106\n          cd platform && sudo docker compose down -v #!SG106\n          echo "$(docker volume prune -af)" #!SG106\n`) },
  { name: 'any workflow, not only one with a stateguard step', yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: docker compose down -v #!SG106\n` },
  {
    name: 'near-miss: down without -v, --volumes=false, mounts, listing, quoted text, comments, other programs',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          docker compose down\n          docker compose down --volumes=false\n          docker compose run -v /tmp:/tmp store ls\n          docker run -v data:/data alpine true\n          docker volume ls\n          docker volume inspect store_data\n          docker compose exec store rm -v /tmp/x\n          echo "docker compose down -v"\n          # docker compose down -v\n          docker compose logs -f store # then down -v\n          my-docker compose down -v\n`,
  },
]);

// E: an automatic trigger dispatching the apply workflow with consent already filled in.
table('E: dispatch with consent pre-filled from an automatic trigger (SG107)', [
  { name: 'gh workflow run -f', yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: gh workflow run stateful-apply.yml -f module=store -f allow_stateful=true -f stateful_confirm=BACKUP_DONE #!SG107\n` },
  { name: 'gh workflow run --field / -F / --raw-field', yaml: `on:\n  schedule:\n    - cron: '0 3 * * *'\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          gh workflow run apply.yml --field allow_stateful=true #!SG107\n          gh workflow run apply.yml -F allow_stateful=true --raw-field stateful_confirm=x #!SG107\n` },
  { name: 'gh api .../dispatches', yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: gh api -X POST repos/o/r/actions/workflows/apply.yml/dispatches -f ref=main -f 'inputs[allow_stateful]=true' #!SG107\n` },
  { name: 'curl .../dispatches with a JSON body', yaml: `on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          curl -X POST -H "Authorization: Bearer $T" https://api.github.com/repos/o/r/actions/workflows/apply.yml/dispatches -d '{"ref":"main","inputs":{"allow_stateful":"true","stateful_confirm":"BACKUP_DONE"}}' #!SG107\n` },
  {
    name: 'actions/github-script createWorkflowDispatch',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/github-script@${SHA}\n        with:\n          script: |\n            await github.rest.actions.createWorkflowDispatch({\n              owner: 'o', repo: 'r', workflow_id: 'apply.yml', ref: 'main',\n              inputs: { module: 'store', allow_stateful: 'true' }, #!SG107\n            });\n`,
  },
  {
    name: 'near-miss: dispatches without consent, consent false, only mentioned',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          gh workflow run plan.yml -f module=store\n          gh workflow run apply.yml -f allow_stateful=false\n          echo "gh workflow run apply.yml -f allow_stateful=true"\n          gh workflow list\n`,
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
    { name: 'no reason: an error, and the problem stays', yaml: `${DOWN}      - uses: acme/x@v1 # stateguard-lint: ignore SG301 #!SG002 #!SG301\n` },
    { name: 'an unknown rule id', yaml: `${DOWN}      # stateguard-lint: ignore SG999 -- typo #!SG002\n      - run: echo\n` },
    { name: 'not an ignore directive', yaml: `${DOWN}      # stateguard-lint: disable-all #!SG002\n      - run: echo\n` },
    { name: 'SG002 itself cannot be suppressed', yaml: `${DOWN}      # stateguard-lint: ignore SG002 -- nope #!SG002\n      - run: echo\n` },
    { name: 'a suppression two lines above does not reach', yaml: `${DOWN}      # stateguard-lint: ignore SG301 -- too far\n      - run: echo\n      - uses: acme/x@v1 #!SG301\n` },
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
    expect(cmds.map((c) => c.words.map((w) => w.text))).toEqual([['docker', 'compose', 'down', '-v'], ['echo', 'x;y'], ['tee', 'f'], ['ls'], ['q']]);
    expect(cmds[0]!.assignments.map((a) => a.name)).toEqual(['A']);
    expect(cmds[0]!.words[1]!.start).toBe(12);
  });
});

it('markers helper sanity: every table above asserts at least one line or is a near-miss', () => {
  expect(markers('a #!SG101\nb\n')).toEqual(['SG101@1']);
  expect(found([])).toEqual([]);
});
