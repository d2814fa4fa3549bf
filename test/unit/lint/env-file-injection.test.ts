/**
 * SG204 env-file-injection (issue 29, miss 2): attacker data written to $GITHUB_ENV, $GITHUB_OUTPUT
 * or $GITHUB_PATH in a workflow with a privileged trigger. Workflows written for stateguard's tests.
 */
import { expect, it } from '@jest/globals';
import { lint, PERMS, table } from './support.js';

const wf = (on: string, script: string[], env = ''): string =>
  `on:\n  ${on}:\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - ${env}run: |\n${script.map((l) => `          ${l}\n`).join('')}`;
const STEP_ENV = (name: string, value: string): string => `env:\n          ${name}: \${{ ${value} }}\n        `;

table('SG204 env-file-injection', [
  {
    name: 'pull_request_target: a tainted env var into GITHUB_ENV',
    yaml: wf(
      'pull_request_target',
      ['echo checking', 'echo "BRANCH=$HEAD" >> "$GITHUB_ENV" #!SG204'],
      STEP_ENV('HEAD', 'github.event.pull_request.head.ref'),
    ),
  },
  {
    name: 'issue_comment: a shell variable assigned from attacker data into GITHUB_OUTPUT and GITHUB_PATH',
    yaml: wf(
      'issue_comment',
      [
        'ARG="${BODY#/deploy }"',
        'echo "arg=$ARG" >> $GITHUB_OUTPUT #!SG204',
        'echo "$ARG/bin" | tee -a "${GITHUB_PATH}" #!SG204',
      ],
      STEP_ENV('BODY', 'github.event.comment.body'),
    ),
  },
  {
    name: "workflow_run: the triggering run's branch, read from the event file, into GITHUB_ENV through a heredoc",
    yaml: wf('workflow_run:\n    workflows: [ci]\n    types: [completed]\n  #', [
      '{',
      '  echo "REF<<EOF"',
      '  jq -r .workflow_run.head_branch "$GITHUB_EVENT_PATH"',
      '  echo EOF',
      '} >> "$GITHUB_ENV" #!SG204',
    ]),
  },
  {
    name: 'an expression written straight into GITHUB_ENV (also SG201)',
    yaml: wf('pull_request_target', ['echo "T=${{ github.event.pull_request.title }}" >> $GITHUB_ENV #!SG201 #!SG204']),
  },
  {
    name: 'a tainted step output into GITHUB_ENV of a later step',
    yaml:
      `on: issue_comment\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - id: c\n        env:\n          B: \${{ github.event.comment.body }}\n        run: echo "b=$B" >> "$GITHUB_OUTPUT" #!SG204\n` +
      `      - env:\n          V: \${{ steps.c.outputs.b }}\n        run: echo "V=$V" >> "$GITHUB_ENV" #!SG204\n`,
  },
  {
    name: 'near-miss: the same writes under pull_request and push are not privileged',
    yaml: wf(
      'pull_request',
      ['echo "BRANCH=$HEAD" >> "$GITHUB_ENV"'],
      STEP_ENV('HEAD', 'github.event.pull_request.head.ref'),
    ),
  },
  {
    name: 'near-miss: fixed values, payload-free values and a tainted variable not written',
    yaml: wf(
      'pull_request_target',
      [
        'echo "MODE=ci" >> "$GITHUB_ENV"',
        'echo "pr=$PR" >> "$GITHUB_OUTPUT"',
        'echo "${{ github.event.pull_request.number }}" >> $GITHUB_ENV',
        'echo "$PWD/bin" >> "$GITHUB_PATH"',
      ],
      `env:\n          PR: \${{ github.event.pull_request.number }}\n          T: \${{ github.event.pull_request.title }}\n        `,
    ),
  },
]);

it('the message names the file, the trigger, the fix and the docs anchor, on one line', async () => {
  const [p] = await lint(
    wf('pull_request_target', ['echo "B=$HEAD" >> "$GITHUB_ENV"'], STEP_ENV('HEAD', 'github.head_ref')),
  );
  expect(p!.rule).toBe('SG204');
  expect(p!.message).toContain('GITHUB_ENV');
  expect(p!.message).toContain('pull_request_target');
  expect(p!.message).toContain('github.head_ref');
  expect(p!.message).toContain('docs/rules.md#sg204-env-file-injection');
  expect(p!.message).not.toMatch(/\n/);
});
