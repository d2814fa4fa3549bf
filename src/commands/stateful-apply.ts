/**
 * actions/stateful-apply: a composite of three commands (verify-backup -> guard -> apply) for one
 * one-shot module, for a workflow_dispatch run (docs/architecture.md §11). It has no `run` of its
 * own and no inputs of its own: its inputs are the union of its steps' action inputs, each taken
 * from the one definition in src/commands/<name>.ts (docs/architecture.md §10), and every step
 * gets every input its command reads. scripts/generate.mjs turns this into
 * actions/stateful-apply/action.yml and its README table; test/unit/generated-docs.test.ts keeps
 * the committed file equal to that.
 */
import type { CommandName } from './index.js';

export interface CompositeStep {
  /** the step id (outputs are read as steps.<id>.outputs.<name>) */
  readonly id: string;
  readonly command: CommandName;
  /** the step's `if:`; none means the runner's default success(): every earlier step succeeded */
  readonly if?: string;
  /** why the step has its `if:` (written as a comment above it) */
  readonly comment?: string;
  /** an expression other than `${{ inputs.<name> }}` for one of the command's inputs */
  readonly env?: Readonly<Record<string, string>>;
}

export interface CompositeOutput {
  readonly name: string;
  /** the step ids whose output of the same name is taken, the first non-empty one wins */
  readonly from: readonly string[];
}

export interface CompositeSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** the file's leading comment: what the composite does and why it fails closed */
  readonly comment: string;
  readonly steps: readonly CompositeStep[];
  /**
   * Inputs the composite requires although a step's command does not: the composite exists for the
   * stateful path, which never passes without a backup root and a confirm (docs/architecture.md §4).
   */
  readonly required: readonly string[];
  /** what the composite itself does with an input (a step's `env` expression), after its description */
  readonly notes?: Readonly<Record<string, string>>;
  readonly outputs: readonly CompositeOutput[];
}

export const statefulApplyComposite: CompositeSpec = {
  name: 'stateful-apply',
  title: 'stateguard stateful-apply',
  description:
    'verify-backup -> guard -> apply: re-run a one-shot module bound to a stateful one, only with a verified ' +
    'backup, an explicit allow and the exact confirm token.',
  comment: [
    'verify-backup -> guard -> apply for one one-shot module, for a workflow_dispatch run (see',
    'workflows/stateful-apply.yml). Inputs and outputs come from src/commands (one definition);',
    'the steps from src/commands/stateful-apply.ts.',
    '',
    'Fail closed: apply runs only when verify-backup AND guard succeeded (the default `success()`),',
    'and apply re-plans and re-guards by itself anyway. The guard also runs after a rejected backup',
    '(`!cancelled()`) so the operator sees every failed condition in one run, not one per retry.',
    "apply is bound to the plan the guard just decided on (expected-plan-hash = the guard's",
    'plan-hash, unless the caller passes the hash of a plan a human reviewed).',
    '',
    'Inputs reach the bundles only as environment variables (never interpolated into a script);',
    "a hyphen in an input's variable name becomes `_` here, which the action layer also accepts.",
  ].join('\n'),
  steps: [
    { id: 'verify', command: 'verify-backup' },
    {
      id: 'guard',
      command: 'guard',
      if: '${{ !cancelled() }}',
      comment:
        'Also after a rejected backup, so every failed condition is reported at once; apply below\nstill needs both ' +
        'to have succeeded.',
    },
    {
      id: 'apply',
      command: 'apply',
      env: { 'expected-plan-hash': '${{ inputs.expected-plan-hash || steps.guard.outputs.plan-hash }}' },
    },
  ],
  required: ['backup-root', 'confirm'],
  notes: { 'expected-plan-hash': 'Empty binds apply to the plan the guard step decided on.' },
  outputs: [
    { name: 'verified', from: ['verify'] },
    { name: 'decision', from: ['guard'] },
    { name: 'reasons', from: ['guard'] },
    { name: 'status', from: ['apply'] },
    { name: 'exit-code', from: ['apply'] },
    { name: 'container-id', from: ['apply'] },
    { name: 'duration-ms', from: ['apply'] },
    { name: 'plan-hash', from: ['apply', 'guard'] },
    { name: 'failure-reason', from: ['apply', 'guard', 'verify'] },
  ],
};

/** Every composite action, by name (scripts/build.mjs writes actions/<name>/action.yml for each). */
export const COMPOSITES = { 'stateful-apply': statefulApplyComposite } as const satisfies Record<string, CompositeSpec>;
