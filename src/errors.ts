/**
 * Error classes and exit codes shared by the CLI and the actions (docs/architecture.md §10).
 *
 * A UserError is something the operator can fix: its message names the input, the bad value,
 * what was expected and how to fix it. Anything else that escapes a command is a bug or an
 * environment failure and is reported as "could not run" (exit 3) — never as success.
 */
export const ExitCode = {
  ok: 0,
  no: 1,
  drift: 2,
  couldNotRun: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The closed set of failure reasons a workflow can branch on (docs/architecture.md §4). */
export const FAILURE_REASONS = {
  'invalid-input': 'An input was missing or malformed (the message names it).',
  'invalid-modules': 'module.yaml files failed schema or cross-file validation.',
  'module-not-found': 'The named module does not exist under --root/--modules.',
  'not-allowed': 'allow-stateful is not true for a stateful or sidecar module with drift.',
  'confirm-mismatch': 'confirm does not equal the confirm token exactly.',
  'backup-rejected': 'backup-ref did not pass verify-backup.',
  'no-manifest':
    'verify-backup: the archive has no provenance manifest (not written by this stateguard); nothing else was wrong. ' +
    'Take a fresh snapshot, or pass allow-legacy-archive if you know where it came from.',
  'backup-shrank':
    "verify-backup: the backup's data fell by more than max-shrink-percent against the newest earlier backup; " +
    'nothing else was wrong. Check the data; pass allow-shrink if the shrink is real.',
  'drift-not-allowed': 'The drift includes keys that the stateful path never applies, or the module is not a one-shot.',
  'plan-changed': 'The fresh plan hash differs from --expected-plan-hash.',
  locked: 'Another stateguard operation on the module (apply, snapshot, restore, upgrade or recover) holds its lock.',
  'still-running': 'The one-shot is still running; a second run is refused.',
  'one-shot-failed': 'The one-shot exited with a non-zero code.',
  timeout: 'The one-shot did not exit within timeout_seconds and was stopped.',
  'dependency-disturbed': 'A depends_on_healthy module was stopped, unhealthy or recreated during apply.',
  'image-not-present': 'The declared image is not on the engine; apply never pulls or builds.',
  'interrupted-operation':
    'An interrupted restore or upgrade left a journal on the engine; every mutating command refuses the module until ' +
    '`stateguard recover` has run.',
  'archive-mismatch': "The backup's layout does not match the module's declared data volumes (all or nothing).",
  'not-restorable':
    'restore (and upgrade) act only on a stateful module that declares data volumes and has a container to read ' +
    "its mounts from; data mounts that overlap, or a volume holding restore's reserved work-area name, are refused.",
  'volume-in-use':
    "Another running container (any project, not the module's) mounts a data volume, or a host directory that is " +
    'a data directory, its parent or its child: snapshot, restore and upgrade refuse before anything stops.',
  'helper-unavailable':
    "No local image can run restore's helper steps (a shell with mv, find, df, …); pass helper-image.",
  'insufficient-space':
    'The filesystem of a volume has too little free space for the staged data next to the live data.',
  'restore-failed': 'The restore did not complete; the message says which data is live (old or new) and what to run.',
  'held-major':
    'upgrade held before anything was touched: a major or unknown version bump (pass allow-major to take it).',
  'held-manual-migration':
    "upgrade held before anything was touched: the target's release notes flag a manual migration " +
    "(do it by hand, then pass ack-migration with exactly the target's tag).",
  'rolled-back':
    'The upgrade failed its health gate (or deploy); the snapshot was restored and the previous image runs again.',
  'rollback-failed':
    'The upgrade failed AND the rollback did not come up healthy; the message names the snapshot to restore.',
  'unsupported-runtime':
    "The command is not built for the module's runtime yet (restore, upgrade and the restore drill on Swarm).",
  'docker-unavailable': 'The Docker engine could not be reached.',
  'compose-error': "compose could not render or run the module's compose file.",
  'snapshot-failed': 'The snapshot could not be taken or the containers did not come back.',
  'e2e-failed': 'The e2e command exited non-zero.',
  'e2e-skipped': 'The e2e gate was skipped in required mode (switch off or variables missing).',
  'probe-failed': 'The persistence probe found a durable path that lost data or an ephemeral path that kept it.',
  'lint-errors': 'lint-workflows found errors.',
  internal: 'An unexpected error; stateguard failed closed.',
} as const;
export type FailureReason = keyof typeof FAILURE_REASONS;

/** An error the user can fix. `input` names the flag/input; `reason` feeds the failure-reason output. */
export class UserError extends Error {
  readonly input: string | undefined;
  readonly reason: FailureReason;
  readonly exitCode: ExitCode;
  constructor(message: string, opts: { input?: string; reason?: FailureReason; exitCode?: ExitCode } = {}) {
    super(message);
    this.name = 'UserError';
    this.input = opts.input;
    this.reason = opts.reason ?? 'invalid-input';
    this.exitCode = opts.exitCode ?? ExitCode.couldNotRun;
  }
}

/** The engine or another external dependency cannot be reached: "could not run" (exit 3). */
export class EnvironmentError extends Error {
  readonly reason: FailureReason;
  constructor(message: string, reason: FailureReason = 'docker-unavailable') {
    super(message);
    this.name = 'EnvironmentError';
    this.reason = reason;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The engine says a path does not exist in a container (raised by the adapter, decided on by type). */
export class PathNotFoundError extends EnvironmentError {
  constructor(message: string) {
    super(message);
    this.name = 'PathNotFoundError';
  }
}
