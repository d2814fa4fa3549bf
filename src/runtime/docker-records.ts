/**
 * The record store of the docker adapter on a plain engine (docs/architecture.md §12, §13): the
 * module lock is a never-started container; run records, last-known-good records and journal marks
 * are empty named volumes whose labels hold them. DockerCli (./docker-cli.ts) hands its RecordStore
 * methods to this part; SwarmCli (./swarm-cli.ts) hands it all but the lock, which on Swarm is a
 * `docker config` (./swarm-lock.ts).
 */
import { EnvironmentError } from '../errors.js';
import type { DockerCommand } from './docker-command.js';
import {
  checkKey,
  firstLine,
  LKG_LABEL,
  outputLines,
  parseRunRecord,
  RUN_RECORD_LABEL,
  runRecordKey,
  runRecordLabels,
  WORKBENCH_LABEL,
} from './docker-parsers.js';
import type {
  EngineLock,
  EngineView,
  ExecOptions,
  ExecResult,
  JournalMark,
  LastKnownGood,
  RecordStore,
  RunRecord,
} from './types.js';

/** The command a lock container is created with; it is never started. */
const NEVER_STARTED = 'stateguard-never-started';

/**
 * What the records read through the adapter's view of the engine: the images a lock container may be
 * created from, and the lock container itself (the adapter's own methods, so each adapter's own listing
 * applies).
 */
export type RecordsView = Pick<EngineView, 'imageIds' | 'inspectContainers' | 'listProjectContainers'> & {
  localImageIds(limit: number): Promise<string[]>;
};

export class DockerRecords implements RecordStore {
  constructor(
    private readonly command: DockerCommand,
    private readonly view: RecordsView,
  ) {}

  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  /**
   * Records kept on the engine (run records, last-known-good, journal marks) are empty named volumes
   * whose labels hold them: creating one is atomic and durable, needs no image, and any runner that
   * reaches the engine can read it.
   */
  private async createLabelledVolume(name: string, labels: Record<string, string>): Promise<void> {
    const r = await this.docker([
      'volume',
      'create',
      ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      name,
    ]);
    if (r.code !== 0) throw new EnvironmentError(`docker volume create ${name} failed: ${firstLine(r.stderr)}`);
  }

  /** Write a record volume, then remove the older ones it supersedes (tidying, never required). */
  private async replaceRecord(name: string, labels: Record<string, string>, filter: string): Promise<void> {
    await this.createLabelledVolume(name, labels);
    const ls = await this.docker(['volume', 'ls', '-q', '--filter', `label=${filter}`]);
    const old = outputLines(ls.stdout).filter((n) => n !== name);
    if (old.length > 0) await this.docker(['volume', 'rm', ...old]);
  }

  /** The labels of every volume matching a label filter (`key=value`). */
  private async labelledVolumes(filter: string): Promise<Record<string, string>[]> {
    const ls = await this.docker(['volume', 'ls', '-q', '--filter', `label=${filter}`]);
    if (ls.code !== 0) throw new EnvironmentError(`docker volume ls failed: ${firstLine(ls.stderr)}`);
    const names = outputLines(ls.stdout);
    if (names.length === 0) return [];
    const r = await this.docker(['volume', 'inspect', ...names]);
    // a volume removed between ls and inspect: inspect still prints the others
    if (r.code !== 0 && !r.stdout.trim().startsWith('[')) {
      throw new EnvironmentError(`docker volume inspect failed: ${firstLine(r.stderr)}`);
    }
    return (JSON.parse(r.stdout || '[]') as Array<{ Labels?: Record<string, string> | null }>).map(
      (v) => v.Labels ?? {},
    );
  }

  // ---- the module lock: a never-started container, unique by name on the engine ----

  async createLock(
    name: string,
    labels: Record<string, string>,
    hint: { images: string[]; project: string },
  ): Promise<boolean> {
    const images = await this.lockImages(hint);
    const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const errors: string[] = [];
    for (const image of images) {
      // An explicit command: an image with neither CMD nor ENTRYPOINT (one made by `docker import`)
      // cannot be created without one ("No command specified"). The container is never started,
      // so the command need not exist in the image.
      const r = await this.docker(['create', '--name', name, '--network', 'none', ...labelArgs, image, NEVER_STARTED]);
      if (r.code === 0) return true;
      if (/already in use|conflict/i.test(r.stderr)) return false;
      errors.push(`${image.slice(0, 19)}: ${firstLine(r.stderr) || `exit ${r.code}`}`);
    }
    throw new EnvironmentError(
      images.length === 0
        ? `cannot take the lock ${name}: there is no local image to create the lock container from ` +
            `(pull the module's image first, e.g. with 'docker compose pull SERVICE')`
        : `cannot take the lock ${name}: ${errors.join('; ')}`,
    );
  }

  /** Local image IDs a lock container may use, by ID so nothing is pulled (see createLock). */
  private async lockImages(hint: { images: string[]; project: string }): Promise<string[]> {
    const out: string[] = [];
    const add = (id: string | null | undefined): void => {
      if (id && !out.includes(id)) out.push(id);
    };
    if (hint.images.length > 0) {
      const ids = await this.view.imageIds(hint.images);
      for (const ref of hint.images) add(ids[ref]);
    }
    const containers = await this.view.listProjectContainers(hint.project);
    for (const c of containers.filter((x) => x.state === 'running')) add(c.imageId);
    for (const c of containers) add(c.imageId);
    if (out.length === 0) for (const id of await this.view.localImageIds(5)) add(id);
    return out;
  }

  async readRunRecords(project: string): Promise<RunRecord[]> {
    const newest = new Map<string, RunRecord>();
    for (const labels of await this.labelledVolumes(`${RUN_RECORD_LABEL.project}=${project}`)) {
      const rec = parseRunRecord(labels);
      if (!rec || rec.project !== project) continue;
      const prev = newest.get(rec.service);
      if (!prev || prev.recorded_at < rec.recorded_at) newest.set(rec.service, rec);
    }
    return [...newest.values()];
  }

  async writeRunRecord(record: RunRecord): Promise<void> {
    // `docker container prune` (which removes the one-shot's container) leaves a record volume.
    const key = runRecordKey(record.project, record.service);
    const name = `stateguard-run-${key}-${Date.parse(record.recorded_at) || Date.now()}`;
    await this.replaceRecord(name, runRecordLabels(record), `${RUN_RECORD_LABEL.key}=${key}`);
  }

  async readLock(name: string): Promise<EngineLock | null> {
    const [c] = await this.view.inspectContainers([name]);
    return c ? { id: c.id, name: c.name, labels: c.labels, createdAt: c.createdAt } : null;
  }

  async removeLock(id: string): Promise<void> {
    const r = await this.docker(['rm', '-f', id]);
    if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
      throw new EnvironmentError(`docker rm ${id} failed: ${firstLine(r.stderr)}`);
    }
  }

  // ---- last-known-good (docs/architecture.md §13) ----

  async writeLastKnownGood(record: LastKnownGood): Promise<void> {
    const key = runRecordKey(record.project, record.service);
    const name = `stateguard-lkg-${key}-${Date.parse(record.recorded_at) || Date.now()}`;
    const labels: Record<string, string> = { [LKG_LABEL]: key };
    for (const [k, v] of Object.entries(record)) labels[`${LKG_LABEL}.${k.replace(/_/g, '-')}`] = String(v);
    await this.replaceRecord(name, labels, `${LKG_LABEL}=${key}`);
  }

  async readLastKnownGood(project: string, service: string): Promise<LastKnownGood | null> {
    const key = runRecordKey(project, service);
    let best: LastKnownGood | null = null;
    for (const l of await this.labelledVolumes(`${LKG_LABEL}=${key}`)) {
      const get = (k: string): string => l[`${LKG_LABEL}.${k}`] ?? '';
      const rec: LastKnownGood = {
        project: get('project'),
        service: get('service'),
        image_id: get('image-id'),
        image_ref: get('image-ref'),
        config_hash: get('config-hash'),
        snapshot: get('snapshot'),
        recorded_at: get('recorded-at'),
      };
      if (rec.project !== project || rec.service !== service || !rec.image_id) continue;
      if (!best || best.recorded_at < rec.recorded_at) best = rec;
    }
    return best;
  }

  // ---- journal marks (docs/architecture.md §12) ----

  /**
   * A mark is an empty named volume whose labels carry it, held by a never-started keeper container
   * that mounts it: `docker volume prune` removes only volumes no container uses, so the mark
   * survives a prune while the operation is open (docs/architecture.md §12). The keeper is created
   * before the mark counts as written; a mark whose keeper is gone (a container prune) is still read.
   */
  async writeJournalMark(key: string, mark: JournalMark, keeper?: { image: string }): Promise<void> {
    const name = `stateguard-journal-${checkKey(key)}-${mark.seq}`;
    const labels: Record<string, string> = {
      [WORKBENCH_LABEL.journal]: key,
      [WORKBENCH_LABEL.seq]: String(mark.seq),
      [WORKBENCH_LABEL.phase]: mark.phase,
      [WORKBENCH_LABEL.at]: mark.at,
      ...(keeper ? { [WORKBENCH_LABEL.keeper]: name } : {}),
    };
    for (const [k, v] of Object.entries(mark.data)) labels[`${WORKBENCH_LABEL.dataPrefix}${k}`] = v;
    await this.createLabelledVolume(name, labels);
    if (keeper) {
      const r = await this.docker([
        'create',
        '--name',
        name,
        '--pull',
        'never',
        '--network',
        'none',
        '--label',
        `${WORKBENCH_LABEL.keeper}=${key}`,
        '--mount',
        `type=volume,src=${name},dst=/stateguard-journal-mark,readonly`,
        keeper.image,
        NEVER_STARTED,
      ]);
      if (r.code !== 0) {
        // The mark does not count without its keeper: remove it (an existing keeper is another mark's).
        if (!/already in use|conflict/i.test(r.stderr)) await this.docker(['volume', 'rm', name]);
        throw new EnvironmentError(`could not create the keeper of journal mark ${name}: ${firstLine(r.stderr)}`);
      }
    }
    // `volume create` of an existing name succeeds silently: read it back so a stale mark is never taken for ours.
    const back = (await this.readJournal(key)).find((m) => m.seq === mark.seq);
    if (!back || back.phase !== mark.phase || back.at !== mark.at) {
      throw new EnvironmentError(`journal mark ${name} exists with other contents; run stateguard recover first`);
    }
  }

  async readJournal(key: string): Promise<JournalMark[]> {
    const marks: JournalMark[] = [];
    for (const l of await this.labelledVolumes(`${WORKBENCH_LABEL.journal}=${checkKey(key)}`)) {
      if (l[WORKBENCH_LABEL.journal] !== key) continue;
      const data: Record<string, string> = {};
      for (const [k, val] of Object.entries(l)) {
        if (k.startsWith(WORKBENCH_LABEL.dataPrefix)) data[k.slice(WORKBENCH_LABEL.dataPrefix.length)] = val;
      }
      marks.push({
        seq: Number(l[WORKBENCH_LABEL.seq]),
        phase: l[WORKBENCH_LABEL.phase] ?? '',
        at: l[WORKBENCH_LABEL.at] ?? '',
        data,
      });
    }
    return marks.sort((a, b) => a.seq - b.seq);
  }

  async removeJournalMark(key: string, seq: number): Promise<void> {
    const name = `stateguard-journal-${checkKey(key)}-${seq}`;
    // The keeper first (a volume in use cannot be removed); only a keeper of this journal.
    const ps = await this.docker([
      'ps',
      '-aq',
      '--filter',
      `name=^/?${name}$`,
      '--filter',
      `label=${WORKBENCH_LABEL.keeper}=${key}`,
    ]);
    if (ps.code !== 0) throw new EnvironmentError(`docker ps failed: ${firstLine(ps.stderr)}`);
    const keepers = outputLines(ps.stdout);
    if (keepers.length > 0) {
      const k = await this.docker(['rm', '-f', ...keepers]);
      if (k.code !== 0 && !/no such container/i.test(k.stderr)) {
        throw new EnvironmentError(`could not remove the keeper of journal mark ${name}: ${firstLine(k.stderr)}`);
      }
    }
    const r = await this.docker(['volume', 'rm', name]);
    if (r.code !== 0 && !/no such volume/i.test(r.stderr)) {
      throw new EnvironmentError(`could not remove journal mark ${name}: ${firstLine(r.stderr)}`);
    }
  }
}
