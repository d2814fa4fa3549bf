/**
 * The one definition of every command's inputs and outputs.
 *
 * Each command declares its inputs once (name, kind, default, help). From that single definition:
 * - the CLI parses argv (`--name value`, repeatable flags, positionals, `--` rest);
 * - the action parses `INPUT_*` variables (see ../action.ts);
 * - scripts/build.mjs generates every `action.yml` and the README input tables.
 * Nothing else reads inputs.
 */
import type { AnnotationPlace, Logger, Runtime, RuntimeKind } from '../ports.js';

export type { AnnotationPlace, Logger };
import { UserError, type ExitCode, type FailureReason } from '../errors.js';

export type InputKind =
  /** free text; empty means "not given" */
  | 'string'
  /** strictly `true` or `false` (never coerced) */
  | 'boolean'
  /** repeatable flag in the CLI, one value per line in the action */
  | 'list'
  /** a byte size with optional K/M/G suffix */
  | 'size'
  /** a non-negative integer */
  | 'integer'
  /** one of `choices` */
  | 'choice';

export interface InputDef {
  /** kebab-case; the CLI flag is `--<name>`, the action input is `<name>` */
  readonly name: string;
  readonly kind: InputKind;
  readonly description: string;
  /** default as the action would write it (a string); also applied by the CLI */
  readonly default?: string;
  readonly required?: boolean;
  readonly choices?: readonly string[];
  /** CLI: values come from positional arguments instead of a flag */
  readonly positional?: boolean;
  /** CLI: values come from everything after `--` */
  readonly rest?: boolean;
  /** only in the action (e.g. github-token), not a CLI flag */
  readonly actionOnly?: boolean;
  /** only in the CLI (e.g. --json), not an action input */
  readonly cliOnly?: boolean;
  /** the value is a secret: never echoed in errors */
  readonly secret?: boolean;
}

export interface OutputDef {
  readonly name: string;
  readonly description: string;
}

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type ValueOf<I extends InputDef> = I['kind'] extends 'boolean'
  ? boolean
  : I['kind'] extends 'list'
    ? string[]
    : I['kind'] extends 'size' | 'integer'
      ? I extends { default: string }
        ? number
        : number | undefined
      : I extends { default: string }
        ? string
        : I extends { required: true }
          ? string
          : string | undefined;

/** The typed options object a command receives, derived from its input definitions. */
export type OptionsOf<T extends readonly InputDef[]> = {
  [I in T[number] as Camel<I['name']>]: ValueOf<I>;
};

export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export interface Annotation extends AnnotationPlace {
  level: 'error' | 'warning' | 'notice';
  message: string;
}

/** Everything a command may touch, passed in so tests can substitute each part. */
export interface CommandContext {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  now: () => Date;
  /** The engine adapter for a module's runtime (compose by default), created on first use. */
  runtime(kind?: RuntimeKind): Runtime;
  /** True when running as a GitHub/Forgejo action (annotations, summary, PR comment). */
  inAction: boolean;
  /** Register a value that must never be printed (the action also masks it in the runner). */
  addSecret(value: string): void;
}

export interface CommandResult {
  exitCode: ExitCode;
  /** the single JSON document printed by --json */
  json: unknown;
  /** human text (stdout by default, stderr in --json mode) */
  text: string;
  /** action outputs (kebab-case names) */
  outputs: Record<string, string>;
  /** markdown for the job summary */
  summary?: string;
  annotations?: Annotation[];
  failureReason?: FailureReason;
}

export interface CommandSpec<T extends readonly InputDef[] = readonly InputDef[]> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputs: T;
  readonly outputs: readonly OutputDef[];
  run(options: OptionsOf<T>, ctx: CommandContext): Promise<CommandResult>;
}

/** Helper so each command file gets its options typed from its own `inputs` literal. */
export function defineCommand<const T extends readonly InputDef[]>(spec: CommandSpec<T>): CommandSpec<T> {
  return spec;
}

/** Inputs shared by the commands that read modules. */
export const ROOT_INPUT = {
  name: 'root',
  kind: 'string',
  default: '.',
  description: 'Directory of the platform repo; modules are found under it.',
} as const satisfies InputDef;
export const MODULES_INPUT = {
  name: 'modules',
  kind: 'string',
  default: 'modules/*/module.yaml',
  description: 'Glob (relative to root) that finds the module.yaml files.',
} as const satisfies InputDef;
/** The module lock's two inputs, shared by every command that takes it (apply, restore, upgrade). */
export const LOCK_INPUTS = [
  {
    name: 'break-stale-lock',
    kind: 'boolean',
    default: 'false',
    description:
      "Exactly 'true' removes a stale lock (older than lock-stale-after-minutes) before taking it. Make sure no " +
      'apply, restore or upgrade of the module is running.',
  },
  {
    name: 'lock-stale-after-minutes',
    kind: 'integer',
    default: '120',
    description:
      "A lock older than this counts as stale (an apply's lock only once also older than timeout_seconds + 10 min).",
  },
] as const satisfies readonly InputDef[];

/**
 * Provenance checks of a backup (docs/architecture.md §16), shared by every command that verifies
 * one: verify-backup, guard, apply, stateful-apply, restore, the restore drill and prune-backups.
 */
export const PROVENANCE_INPUTS = [
  {
    name: 'allow-legacy-archive',
    kind: 'boolean',
    default: 'false',
    description:
      "Exactly 'true' accepts a backup without a provenance manifest (.stateguard/manifest.json: written before " +
      'stateguard recorded one, or by another tool), with a warning naming what could not be checked.',
  },
  {
    name: 'max-shrink-percent',
    kind: 'integer',
    default: '50',
    description:
      "Refuse a backup whose data bytes or entries fell by more than this percentage against the module's newest " +
      'earlier backup beside it (backup-shrank).',
  },
  {
    name: 'allow-shrink',
    kind: 'boolean',
    default: 'false',
    description: "Exactly 'true' accepts a backup that shrank past max-shrink-percent, with a warning.",
  },
] as const satisfies readonly InputDef[];

/** max-shrink-percent, checked: a percentage from 0 to 100 (docs/architecture.md §16). */
export function shrinkPercent(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    throw new UserError(
      `max-shrink-percent is ${value}; expected a whole percentage from 0 to 100 (default 50). Pass allow-shrink to ` +
        'accept one backup that shrank, rather than a limit that never holds.',
      { input: 'max-shrink-percent' },
    );
  }
  return value;
}

export const JSON_INPUT = {
  name: 'json',
  kind: 'boolean',
  default: 'false',
  cliOnly: true,
  description: 'Print exactly one JSON document on stdout (human text goes to stderr).',
} as const satisfies InputDef;
export const FAILURE_REASON_OUTPUT = {
  name: 'failure-reason',
  description: 'Empty on success; otherwise one of the documented failure reasons (see README).',
} as const satisfies OutputDef;

/**
 * snapshot, restore and upgrade: how long the module's service was down (docs/architecture.md §7,
 * "Downtime and progress"); the JSON's `downtime_ms`.
 */
export const DOWNTIME_OUTPUT = {
  name: 'downtime-ms',
  description:
    'Milliseconds from the stop being issued to the service running (and healthy) again; empty when nothing was ' +
    'stopped. When it did not come back, the time until stateguard gave up: it is still down (see status).',
} as const satisfies OutputDef;
