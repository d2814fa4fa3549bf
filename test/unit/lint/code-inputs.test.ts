/**
 * SG201 in inputs that are code (issue 29, miss 3): actions whose named input is a script, from the
 * table in src/lint/code-inputs.ts. Interpolating attacker data there is the same as in a run:.
 */
import { expect, it } from '@jest/globals';
import { CODE_INPUTS } from '../../../src/lint/code-inputs.js';
import { lint, PERMS, SHA, table } from './support.js';

const ON = `on:\n  issue_comment:\n${PERMS}`;
const step = (uses: string, input: string, value: string): string =>
  `      - uses: ${uses}@${SHA}\n        with:\n          ${input}: |\n            echo start\n            ${value}\n`;
const wf = (steps: string): string => `${ON}jobs:\n  j:\n    runs-on: x\n    steps:\n${steps}`;

table('SG201 in code-executing inputs', [
  {
    name: 'azure/cli inlineScript',
    yaml: wf(step('azure/cli', 'inlineScript', 'az group show -n ${{ github.event.comment.body }} #!SG201')),
  },
  {
    name: 'Azure/PowerShell inlineScript (owner and repo case-insensitive)',
    yaml: wf(step('Azure/PowerShell', 'inlineScript', 'Write-Host "${{ github.event.issue.title }}" #!SG201')),
  },
  {
    name: 'mikefarah/yq cmd',
    yaml: wf(step('mikefarah/yq', 'cmd', 'yq \'.name = "${{ github.event.comment.body }}"\' f.yml #!SG201')),
  },
  {
    name: 'Amadevus/pwsh-script script',
    yaml: wf(step('Amadevus/pwsh-script', 'script', '$x = "${{ github.event.comment.user.login }}" #!SG201')),
  },
  {
    name: 'actions/github-script script (as before)',
    yaml: wf(step('actions/github-script', 'script', 'core.info("${{ github.event.comment.body }}") #!SG201')),
  },
  {
    name: 'a tainted step output in appleboy/ssh-action script',
    yaml: wf(
      `      - id: c\n        env:\n          B: \${{ github.event.comment.body }}\n        run: echo "b=$B" >> "$GITHUB_OUTPUT" #!SG204\n` +
        step('appleboy/ssh-action', 'script', 'deploy ${{ steps.c.outputs.b }} #!SG201'),
    ),
  },
  {
    name: 'near-miss: other inputs of those actions, payload-free values in code, another action with a script input',
    yaml: wf(
      `      - uses: azure/cli@${SHA}\n        with:\n          azcliversion: \${{ github.event.comment.body }}\n          inlineScript: az group show -n \${{ github.event.issue.number }}\n` +
        step('acme/not-code', 'script', 'echo ${{ github.event.comment.body }}'),
    ),
  },
]);

it('the table is easy to extend: each entry names an action and an input', () => {
  expect(CODE_INPUTS.length).toBeGreaterThanOrEqual(6);
  for (const e of CODE_INPUTS) {
    expect(e.action).toMatch(/^[a-z0-9-]+\/[a-z0-9._-]+$/);
    expect(e.input).toMatch(/^[A-Za-z][\w-]*$/);
  }
});

it('the message names the action and its input', async () => {
  const [p] = await lint(wf(step('mikefarah/yq', 'cmd', 'yq ${{ github.event.comment.body }}')));
  expect(p!.message).toContain("'cmd' input of mikefarah/yq");
});
