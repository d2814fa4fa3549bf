/**
 * The write-ahead journal of a restore (docs/architecture.md §12), kept on the engine so that any
 * runner that reaches the engine can recover, not only the one that crashed.
 *
 * A journal is a sequence of marks; each mark is one atomic engine object carrying the whole
 * record, and the furthest phase present is the journal's phase. Marks are only ever added while
 * the operation runs, and removed lowest first once it has ended, so an interrupted removal still
 * leaves the furthest phase (`done`/`reverted`: nothing left to do but tidy).
 */
import { createHash } from 'node:crypto';
import type { ModuleDecl } from '../model/module.js';
import type {
  ContainerDefinition,
  ContainerInfo,
  DataMount,
  HelperSpec,
  JournalMark,
  RootMeta,
  RecordStore,
} from '../ports.js';

/**
 * In the order an operation passes them; a later phase overrides an earlier one. restore: begun →
 * snapshotted → staged → swapping → committed (→ reverting) → done | reverted. upgrade (§13):
 * begun → snapshotted → deploying (→ rolling-back) → done | rolled-back.
 */
export const PHASES = [
  'begun',
  'snapshotted',
  'deploying',
  'staged',
  'swapping',
  'committed',
  'reverting',
  'rolling-back',
  'done',
  'reverted',
  'rolled-back',
] as const;
export type Phase = (typeof PHASES)[number];

/** What every journal records, restore's or upgrade's. */
export interface JournalCommon {
  module: string;
  project: string;
  service: string;
  /** the backup being restored (real path) and its sha256 as verified */
  backup: string;
  backup_sha256: string;
  /** the helper image (local ID) every step uses */
  helper_image: string;
  mounts: DataMount[];
  /** top directory owner/mode from the archive, per mount (null: leave as is) */
  roots: (RootMeta | null)[];
  /** the containers the operation stopped (started again when it is reverted before commit) */
  stopped: string[];
  /** compose files of the module (absolute), to recreate the service */
  compose_files: string[];
  /** the verified pre-restore snapshot, once written */
  pre_restore_snapshot: string | null;
  holder: string;
  started_at: string;
}

export interface RestoreJournalRecord extends JournalCommon {
  operation: 'restore';
}

export interface UpgradeJournalRecord extends JournalCommon {
  operation: 'upgrade';
  /** the previous image, pinned under a stateguard tag (what a rollback runs again) */
  pinned_image: string | null;
  /** the snapshot's sha256 as written and verified (a rollback re-checks it) */
  snapshot_sha256: string | null;
  /** the image being deployed */
  target_image: string | null;
  /**
   * the service's container as it was before the deploy, which a rollback recreates exactly
   * (docs/architecture.md §13). Holds environment values: lives only on the engine, never printed.
   * Absent in journals written by an older stateguard (then the rollback says it used today's file).
   */
  previous_container?: ContainerDefinition[] | null;
}

/** A journal's record: which operation it belongs to decides what else it holds. */
export type JournalRecord = RestoreJournalRecord | UpgradeJournalRecord;

/**
 * The fields every journal starts with, from the preflight's findings: the module's service and
 * compose files, the helper and the mounts it works on, the containers the operation stops.
 */
export function journalCommon(a: {
  module: ModuleDecl;
  helper: HelperSpec;
  stopped: readonly ContainerInfo[];
  holder: string;
  startedAt: Date;
  backup?: { path: string; sha256: string };
}): JournalCommon {
  const m = a.module;
  return {
    module: m.name,
    project: m.compose.project,
    service: m.compose.service,
    backup: a.backup?.path ?? '',
    backup_sha256: a.backup?.sha256 ?? '',
    helper_image: a.helper.image,
    mounts: [...a.helper.mounts],
    roots: a.helper.mounts.map(() => null),
    stopped: a.stopped.map((c) => c.id),
    compose_files: [m.compose.path],
    pre_restore_snapshot: null,
    holder: a.holder,
    started_at: a.startedAt.toISOString(),
  };
}

/** What recovery must do at a phase. */
export function directionOf(phase: Phase): 'revert' | 'forward' | 'tidy' {
  if (phase === 'done' || phase === 'reverted' || phase === 'rolled-back') return 'tidy';
  if (phase === 'committed') return 'forward';
  return 'revert';
}

/** A short name-safe key per compose service (the journal's and the helpers' label). */
export function operationKey(project: string, service: string): string {
  return createHash('sha256').update(`restore\0${project}\0${service}`).digest('hex').slice(0, 24);
}

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

/** The record and furthest phase of a journal read from the engine; throws JournalError when unreadable. */
export function readState(marks: readonly JournalMark[]): { phase: Phase; record: JournalRecord; since: string } {
  let best: JournalMark | null = null;
  for (const m of marks) {
    if (!PHASES.includes(m.phase as Phase))
      throw new JournalError(`journal mark ${m.seq} has unknown phase ${m.phase}`);
    if (!best || PHASES.indexOf(m.phase as Phase) > PHASES.indexOf(best.phase as Phase)) best = m;
  }
  if (!best) throw new JournalError('the journal has no marks');
  let record: JournalRecord;
  try {
    record = JSON.parse(best.data.record ?? '') as JournalRecord;
  } catch {
    throw new JournalError(`journal mark ${best.seq} carries no readable record`);
  }
  if (
    (record?.operation !== 'restore' && record?.operation !== 'upgrade') ||
    !Array.isArray(record.mounts) ||
    !Array.isArray(record.stopped) ||
    typeof record.helper_image !== 'string'
  ) {
    throw new JournalError(`journal mark ${best.seq} carries an incomplete record`);
  }
  return { phase: best.phase as Phase, record, since: marks[0]?.at ?? best.at };
}

/** The journal of one running operation: appends marks, removes them at the end. */
export class Journal<R extends JournalRecord = JournalRecord> {
  private seq: number;
  constructor(
    private readonly runtime: RecordStore,
    readonly key: string,
    public record: R,
    private readonly now: () => Date,
    existing: readonly JournalMark[] = [],
  ) {
    this.seq = existing.reduce((n, m) => Math.max(n, m.seq), 0);
  }

  async mark(phase: Phase): Promise<void> {
    this.seq++;
    // Held by a keeper container of the helper image (local, already probed), so a volume prune
    // cannot remove the mark while the operation is open (docs/architecture.md §12).
    await this.runtime.writeJournalMark(
      this.key,
      { seq: this.seq, phase, at: this.now().toISOString(), data: { record: JSON.stringify(this.record) } },
      { image: this.record.helper_image },
    );
  }

  /** Remove every mark, lowest first (see the module comment). */
  async remove(): Promise<void> {
    const marks = await this.runtime.readJournal(this.key);
    for (const m of marks) await this.runtime.removeJournalMark(this.key, m.seq);
  }
}

interface Named {
  name: string;
  compose: { project: string; service: string };
}

/**
 * The first interrupted operation among modules (a module and the ones whose data it shares: its
 * `backup.ref_modules` and `depends_on_healthy`), or null. An apply of a sidecar must not run on a
 * parent whose restore was interrupted half-way.
 */
export async function interruptedOperationAmong(
  runtime: RecordStore,
  modules: readonly Named[],
): Promise<{ reason: 'interrupted-operation'; message: string } | null> {
  for (const m of modules) {
    const found = await interruptedOperation(runtime, m);
    if (found) return found;
  }
  return null;
}

/**
 * An interrupted operation on the module, as every mutating command checks it before it acts:
 * null when there is none, else the refusal naming `recover`.
 */
export async function interruptedOperation(
  runtime: RecordStore,
  module: Named,
): Promise<{ reason: 'interrupted-operation'; message: string } | null> {
  const marks = await runtime.readJournal(operationKey(module.compose.project, module.compose.service));
  if (marks.length === 0) return null;
  let what: string;
  try {
    const s = readState(marks);
    what = `an interrupted ${s.record.operation} (phase ${s.phase}, begun ${s.since} by ${s.record.holder})`;
  } catch (err) {
    what = `an unreadable journal (${(err as Error).message})`;
  }
  return {
    reason: 'interrupted-operation',
    message:
      `module '${module.name}' has ${what} recorded on the engine; nothing was changed. ` +
      `Run \`stateguard recover --module ${module.name}\` first: it finishes or reverts that operation so that ` +
      `every volume holds either its old or its new data.`,
  };
}
