/**
 * SG203 untrusted-checkout beyond `pull_request_target` + `head` (issue 29): `issue_comment` with a
 * `refs/pull/<n>/head|merge` checkout, `pull_request_target` with the merge commit, and the pull
 * request's code fetched in a `run:` (`gh pr checkout`, `git fetch … pull/<n>/head`).
 */
import { table, PERMS, SHA } from './support.js';

const wf = (on: string, steps: string): string =>
  `on:\n${on}${PERMS}jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`;
const COMMENT = '  issue_comment:\n    types: [created]\n';
const TARGET = '  pull_request_target:\n';
const checkout = (ref: string, marker = ''): string =>
  `      - uses: actions/checkout@${SHA}\n        with:\n          ref: ${ref}${marker}\n`;
const run = (script: string): string =>
  `      - env:\n          PR: \${{ github.event.issue.number }}\n        run: |\n          echo building\n${script}`;

table('SG203 untrusted-checkout: issue_comment, merge commit, fetched in run:', [
  {
    name: 'issue_comment checking out refs/pull/<n>/head',
    yaml: wf(COMMENT, checkout('refs/pull/${{ github.event.issue.number }}/head', ' #!SG203')),
  },
  {
    name: 'issue_comment checking out refs/pull/<n>/merge',
    yaml: wf(COMMENT, checkout("'refs/pull/${{ github.event.issue.number }}/merge'", ' #!SG203')),
  },
  {
    name: 'pull_request_target checking out merge_commit_sha',
    yaml: wf(TARGET, checkout('${{ github.event.pull_request.merge_commit_sha }}', ' #!SG203')),
  },
  {
    name: 'issue_comment running gh pr checkout',
    yaml: wf(COMMENT, run('          gh pr checkout "$PR" #!SG203\n          make test\n')),
  },
  {
    name: 'pull_request_target running gh pr checkout with a flag first',
    yaml: wf(TARGET, `      - run: gh --repo o/r pr checkout 12 #!SG203\n`),
  },
  {
    name: 'issue_comment fetching pull/<n>/head with git',
    yaml: wf(COMMENT, run('          git fetch origin "pull/$PR/head:pr" #!SG203\n          git checkout pr\n')),
  },
  {
    name: 'workflow_run fetching refs/pull/<n>/merge after git -C',
    yaml: wf(
      '  workflow_run:\n    workflows: [ci]\n    types: [completed]\n',
      `      - env:\n          N: "1"\n        run: git -C src fetch origin refs/pull/$N/merge #!SG203\n`,
    ),
  },
  { name: 'inside bash -c', yaml: wf(COMMENT, run(`          bash -c 'gh pr checkout "$PR"' #!SG203\n`)) },
  {
    name: 'near-miss: pull_request may check out and fetch its own code',
    yaml: wf(
      '  pull_request:\n',
      `      - run: gh pr checkout 12 && git fetch origin pull/12/head\n${checkout('${{ github.event.pull_request.merge_commit_sha }}')}`,
    ),
  },
  {
    name: 'near-miss: issue_comment checking out the default branch',
    yaml: wf(COMMENT, `      - uses: actions/checkout@${SHA}\n`),
  },
  {
    name: 'near-miss: pull_request_target fetching the base branch and viewing the PR',
    yaml: wf(
      TARGET,
      `      - run: |\n          git fetch origin main\n          gh pr view 12\n          echo pull/1/head\n`,
    ),
  },
]);
