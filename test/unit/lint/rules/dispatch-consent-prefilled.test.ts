/**
 * SG107 dispatch-consent-prefilled (src/lint/rules/dispatch-consent-prefilled.ts, docs/rules.md
 * SG107): an automatic trigger dispatching a workflow with consent filled in (issue 12's bypass E).
 * Each case asserts the complete list of problems (`#!SGnnn` markers on the expected lines).
 */
import { PERMS, SHA, table } from '../support.js';

// E: an automatic trigger dispatching the apply workflow with consent already filled in.
table('E: dispatch with consent pre-filled from an automatic trigger (SG107)', [
  {
    name: 'gh workflow run -f',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: gh workflow run stateful-apply.yml -f module=store -f allow_stateful=true -f stateful_confirm=BACKUP_DONE #!SG107\n`,
  },
  {
    name: 'gh workflow run --field / -F / --raw-field',
    yaml: `on:\n  schedule:\n    - cron: '0 3 * * *'\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          gh workflow run apply.yml --field allow_stateful=true #!SG107\n          gh workflow run apply.yml -F allow_stateful=true --raw-field stateful_confirm=x #!SG107\n`,
  },
  {
    name: 'gh api .../dispatches',
    yaml: `on: pull_request\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: gh api -X POST repos/o/r/actions/workflows/apply.yml/dispatches -f ref=main -f 'inputs[allow_stateful]=true' #!SG107\n`,
  },
  {
    name: 'curl .../dispatches with a JSON body',
    yaml: `on:\n  workflow_run:\n    workflows: [ci]\n    types: [completed]\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          curl -X POST -H "Authorization: Bearer $T" https://api.github.com/repos/o/r/actions/workflows/apply.yml/dispatches -d '{"ref":"main","inputs":{"allow_stateful":"true","stateful_confirm":"BACKUP_DONE"}}' #!SG107\n`,
  },
  {
    name: 'actions/github-script createWorkflowDispatch',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/github-script@${SHA}\n        with:\n          script: |\n            await github.rest.actions.createWorkflowDispatch({\n              owner: 'o', repo: 'r', workflow_id: 'apply.yml', ref: 'main',\n              inputs: { module: 'store', allow_stateful: 'true' }, #!SG107\n            });\n`,
  },
  {
    name: 'near-miss: dispatches without consent, consent false, only mentioned',
    yaml: `on: push\n${PERMS}jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n          gh workflow run plan.yml -f module=store\n          gh workflow run apply.yml -f allow_stateful=false\n          echo "gh workflow run apply.yml -f allow_stateful=true"\n          gh workflow list\n`,
  },
]);
