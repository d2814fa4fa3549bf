/**
 * SG201 script-injection (src/lint/rules/script-injection.ts, docs/rules.md SG201): attacker data
 * interpolated into a run: script or an input that is code; with issue 12's bypass C. More SG201
 * cases: code-inputs, output-taint, payload-free and local-actions tests. Each case asserts the
 * complete list of problems (`#!SGnnn` markers on the expected lines).
 */
import { job, PERMS, SHA, table } from '../support.js';

table('SG201 script-injection', [
  {
    name: 'github.event, head_ref and inputs in a run block, on the exact lines',
    yaml: job(
      `      - run: |\n          echo "safe"\n          echo "\${{ github.event.pull_request.title }}" #!SG201\n          git checkout \${{ github.head_ref }} #!SG201\n          ./deploy \${{ inputs.module }} #!SG201\n`,
    ),
  },
  { name: 'a one-line run', yaml: job(`      - run: echo \${{ github.event.issue.body }} #!SG201\n`) },
  {
    name: 'github.event.inputs and bracket syntax',
    yaml: job(`      - run: echo \${{ github.event.inputs.x }} \${{ github['head_ref'] }} #!SG201 #!SG201\n`),
  },
  {
    name: 'actions/github-script script',
    yaml: job(
      `      - uses: actions/github-script@${SHA}\n        with:\n          script: |\n            const t = "\${{ github.event.comment.body }}"; #!SG201\n`,
    ),
  },
  {
    name: 'near-miss: values passed through env, and safe contexts',
    yaml: job(
      `      - run: |\n          echo "$TITLE" \${{ github.event_name }} \${{ github.sha }} \${{ steps.s.outputs.inputs }}\n        env:\n          TITLE: \${{ github.event.pull_request.title }}\n      - uses: actions/checkout@${SHA}\n        with:\n          ref: \${{ inputs.ref }}\n`,
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
