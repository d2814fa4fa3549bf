/**
 * A recording fake of the Runtime for unit tests of pure logic: it serves canned containers,
 * rendered projects and image IDs, and records every call so a test can assert what would have
 * been done to the engine (e.g. "only store-init was recreated").
 */
import { posix } from 'node:path';
import { readTar, singleFileTar } from '../../src/probe/tar.js';
import type {
  ComposeInfo,
  ComposeTarget,
  ContainerDefinition,
  MountEntry,
  ContainerInfo,
  DataMount,
  EngineLock,
  HelperSpec,
  JournalMark,
  LastKnownGood,
  MountSpace,
  RootMeta,
  StagedCount,
  StagedTime,
  SwapResult,
  ThrowawaySpec,
  WorkAreaState,
  ExecResult,
  RenderedProject,
  RunRecord,
  Runtime,
  ServiceValues,
  WaitResult,
} from '../../src/runtime/types.js';

export interface FakeCall {
  method: string;
  args: unknown[];
}

export function container(partial: Partial<ContainerInfo> & { project: string; service: string }): ContainerInfo {
  return {
    id: partial.id ?? `${partial.service}-id-${Math.random().toString(16).slice(2, 10)}`,
    name: partial.name ?? `${partial.project}_${partial.service}_1`,
    imageRef: partial.imageRef ?? 'stateguard/busybox:1.0.0',
    imageId: partial.imageId ?? 'sha256:aaa',
    state: partial.state ?? 'running',
    exitCode: partial.exitCode ?? 0,
    health: partial.health ?? null,
    startedAt: partial.startedAt ?? '2026-01-01T00:00:00Z',
    finishedAt: partial.finishedAt ?? null,
    createdAt: partial.createdAt ?? '2026-01-01T00:00:00Z',
    labels: partial.labels ?? {},
    project: partial.project,
    service: partial.service,
    oneoff: partial.oneoff ?? false,
    configHash: partial.configHash ?? 'hash-current',
    env: partial.env ?? [],
    mounts: partial.mounts ?? [],
  };
}

export class FakeRuntime implements Runtime {
  calls: FakeCall[] = [];
  containers: ContainerInfo[] = [];
  projects: Record<string, RenderedProject> = {};
  images: Record<string, string | null> = {};
  reachable = true;
  flavor: 'v1' | 'v2' = 'v1';
  /** what wait() returns for a container ID (default exit 0) */
  waitResults: Record<string, WaitResult> = {};
  /** log text served by logs() per container ID */
  logText: Record<string, string> = {};
  locks = new Map<string, Record<string, string>>();
  /** called by recreateService: lets a test swap in the new container */
  onRecreate?: (target: ComposeTarget, service: string, imageOverride?: string) => void;
  /** the tar stream `docker cp <id>:<path> -` serves, per path (none: an empty stream) */
  served: Record<string, Buffer> = {};
  /** copyFrom fails as `docker cp` does for a missing container:path */
  cpFails = false;
  /** start() fails (recorded first, as the adapter would have tried it) */
  startFails = false;

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  callsTo(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** the simulated engine's ID (docs/architecture.md §16) */
  engineIdValue = 'FAKE:ENGINE:ID';
  async engineId(): Promise<string> {
    await this.ping();
    return this.engineIdValue;
  }

  async ping(): Promise<void> {
    this.record('ping');
    if (!this.reachable) {
      const { EnvironmentError } = await import('../../src/errors.js');
      throw new EnvironmentError(
        'Cannot reach the Docker engine via DOCKER_HOST=unix:///fake.sock: connection refused.',
      );
    }
  }
  composeVersion = '1.29.2';
  async composeFlavor(): Promise<'v1' | 'v2'> {
    return this.flavor;
  }
  async composeInfo(): Promise<ComposeInfo> {
    return {
      flavor: this.flavor,
      version: this.flavor === 'v2' && this.composeVersion.startsWith('1.') ? '2.26.1' : this.composeVersion,
    };
  }
  async listProjectContainers(project: string): Promise<ContainerInfo[]> {
    await this.ping();
    this.record('listProjectContainers', project);
    return this.containers.filter((c) => c.project === project);
  }
  async inspectContainers(ids: readonly string[]): Promise<ContainerInfo[]> {
    this.record('inspectContainers', [...ids]);
    return this.containers.filter((c) => ids.includes(c.id) || ids.includes(c.name));
  }
  /** lay a test's rendering over the file's (false: the test's rendering alone) */
  overlayFiles = true;
  async renderProject(target: ComposeTarget): Promise<RenderedProject> {
    this.record('renderProject', target);
    const p = this.projects[target.project];
    // The file as the simulated compose reads it (test/support/file-renderer.ts), with a test's
    // rendering laid over it (its services' keys and its hashes win).
    const { renderFile } = await import('./file-renderer.js');
    let file: RenderedProject | null = null;
    try {
      file = renderFile(target.files[0]!);
    } catch (err) {
      if (!p) throw err;
    }
    if (!p) return file!;
    if (!file || !this.overlayFiles) return p;
    const services = { ...file.services };
    for (const [name, svc] of Object.entries(p.services)) services[name] = { ...(file.services[name] ?? {}), ...svc };
    return { ...file, services, hashes: p.hashes };
  }
  async imageIds(refs: readonly string[]): Promise<Record<string, string | null>> {
    this.record('imageIds', [...refs]);
    return Object.fromEntries(refs.map((r) => [r, this.images[r] ?? null]));
  }
  /** image ID or reference -> the VOLUME paths it declares (absent: the image is not present) */
  imageVolumeMap: Record<string, string[]> = {};
  async imageVolumes(images: readonly string[]): Promise<Record<string, string[] | null>> {
    this.record('imageVolumes', [...images]);
    return Object.fromEntries(images.map((r) => [r, this.imageVolumeMap[r] ?? null]));
  }
  /** what compose's recreate returns (default: success) */
  recreateResult: ExecResult = { code: 0, stdout: '', stderr: '' };
  async recreateService(target: ComposeTarget, service: string, imageOverride?: string): Promise<ExecResult> {
    this.record('recreateService', target, service, ...(imageOverride !== undefined ? [imageOverride] : []));
    this.onRecreate?.(target, service, imageOverride);
    return this.recreateResult;
  }
  tags = new Map<string, string>();
  async tagImage(imageId: string, ref: string): Promise<void> {
    this.record('tagImage', imageId, ref);
    this.tags.set(ref, imageId);
    this.images[ref] = imageId;
  }
  // Pinned-image retention (docs/architecture.md §13): the tags tagImage made, and extra ones a test adds.
  /** removeImageTag fails for these references (as the engine refuses the last name of an image in use) */
  tagRemovalFails = new Set<string>();
  async listImageTags(repository: string): Promise<string[]> {
    this.record('listImageTags', repository);
    return [...this.tags.keys()].filter((t) => t.startsWith(`${repository}:`)).sort();
  }
  async removeImageTag(ref: string): Promise<void> {
    this.record('removeImageTag', ref);
    if (this.tagRemovalFails.has(ref)) {
      const { EnvironmentError } = await import('../../src/errors.js');
      throw new EnvironmentError(`docker image rm ${ref} failed: conflict: unable to remove repository reference`);
    }
    this.tags.delete(ref);
    delete this.images[ref];
  }
  lastKnownGood: LastKnownGood[] = [];
  async writeLastKnownGood(record: LastKnownGood): Promise<void> {
    this.record('writeLastKnownGood', record);
    this.lastKnownGood.push({ ...record });
  }
  async readLastKnownGood(project: string, service: string): Promise<LastKnownGood | null> {
    return [...this.lastKnownGood].reverse().find((r) => r.project === project && r.service === service) ?? null;
  }
  async composeUp(target: ComposeTarget, services: readonly string[] = []): Promise<ExecResult> {
    this.record('composeUp', target, [...services]);
    return { code: 0, stdout: '', stderr: '' };
  }
  async composeDown(target: ComposeTarget, removeVolumes: boolean): Promise<ExecResult> {
    this.record('composeDown', target, removeVolumes);
    return { code: 0, stdout: '', stderr: '' };
  }
  /** what resumeStopped answers (null: nothing recorded to resume, as on Compose) */
  resumable: { replicas: number; containerIds: string[] } | null = null;
  async resumeStopped(
    target: ComposeTarget,
    service: string,
  ): Promise<{ replicas: number; containerIds: string[] } | null> {
    this.record('resumeStopped', target, service);
    const r = this.resumable;
    this.resumable = null;
    return r;
  }
  async wait(id: string, timeoutMs: number): Promise<WaitResult> {
    this.record('wait', id, timeoutMs);
    return this.waitResults[id] ?? { exitCode: 0, timedOut: false };
  }
  async stop(ids: readonly string[], timeoutSeconds?: number): Promise<void> {
    this.record('stop', [...ids], timeoutSeconds);
    for (const c of this.containers) if (ids.includes(c.id)) c.state = 'exited';
  }
  async start(ids: readonly string[]): Promise<string[]> {
    this.record('start', [...ids]);
    if (this.startFails) {
      const { EnvironmentError } = await import('../../src/errors.js');
      throw new EnvironmentError('docker start failed: boom');
    }
    for (const c of this.containers) if (ids.includes(c.id)) c.state = 'running';
    return [...ids];
  }
  async logs(id: string, onChunk: (chunk: string) => void, follow: boolean): Promise<void> {
    this.record('logs', id, follow);
    const text = this.logText[id];
    if (text) onChunk(text);
  }
  async copyFrom(id: string, path: string, sink: NodeJS.WritableStream): Promise<void> {
    this.record('copyFrom', id, path);
    if (this.cpFails) {
      const { PathNotFoundError } = await import('../../src/errors.js');
      throw new PathNotFoundError(`docker cp from ${id}:${path} failed: No such container:path`);
    }
    if (this.files) {
      const body = this.files.store(id, posix.dirname(path)).get(path);
      if (!body) {
        const { PathNotFoundError } = await import('../../src/errors.js');
        throw new PathNotFoundError(`docker cp from ${id.slice(0, 12)}:${path} failed: Error: No such container:path`);
      }
      sink.write(singleFileTar(posix.basename(path), body, new Date(0)));
      return;
    }
    const data = this.served[path] ?? Buffer.alloc(0);
    // Small odd-sized writes with backpressure, like a pipe from the docker CLI.
    for (let off = 0; off < data.length; off += 7777) {
      if (!sink.write(data.subarray(off, off + 7777))) await new Promise((r) => sink.once('drain', r));
    }
  }
  async copyTo(id: string, dir: string, tarArchive: Buffer): Promise<void> {
    this.record('copyTo', id, dir, tarArchive.length);
    if (!this.files) return;
    if (!this.files.dirs.has(dir)) {
      const { PathNotFoundError } = await import('../../src/errors.js');
      throw new PathNotFoundError(`docker cp to ${id.slice(0, 12)}:${dir} failed: Error: No such container:path`);
    }
    if (this.files.dropWrites) return;
    for (const e of readTar(tarArchive)) this.files.store(id, dir).set(posix.join(dir, e.path), e.body);
  }
  /** lock names whose creation fails (an engine error, not "taken") */
  lockFails = new Set<string>();
  async createLock(
    name: string,
    labels: Record<string, string>,
    hint: { images: string[]; project: string },
  ): Promise<boolean> {
    this.record('createLock', name, labels, hint);
    if (this.lockFails.has(name)) {
      const { EnvironmentError } = await import('../../src/errors.js');
      throw new EnvironmentError(`cannot take the lock ${name}: fake engine error`);
    }
    if (this.locks.has(name) || this.containers.some((c) => c.name === name)) return false;
    this.locks.set(name, labels);
    // As on the compose engine: a created, never-started container that can be read back.
    this.containers.push({
      ...container({ project: '', service: '', id: `lock-${this.calls.length}`, name, labels, state: 'created' }),
      project: undefined,
      service: undefined,
      configHash: undefined,
    });
    return true;
  }
  async readLock(name: string): Promise<EngineLock | null> {
    this.record('readLock', name);
    const c = this.containers.find((x) => x.name === name);
    return c ? { id: c.id, name: c.name, labels: c.labels, createdAt: c.createdAt } : null;
  }
  async removeLock(id: string): Promise<void> {
    this.record('removeLock', id);
    const gone = this.containers.filter((c) => c.id === id);
    for (const c of gone) this.locks.delete(c.name);
    this.containers = this.containers.filter((c) => !gone.includes(c));
  }
  /** run records on the fake engine (newest per service is what readRunRecords returns) */
  runRecords: RunRecord[] = [];
  async readRunRecords(project: string): Promise<RunRecord[]> {
    this.record('readRunRecords', project);
    const newest = new Map<string, RunRecord>();
    for (const r of this.runRecords.filter((x) => x.project === project)) {
      const prev = newest.get(r.service);
      if (!prev || prev.recorded_at <= r.recorded_at) newest.set(r.service, r);
    }
    return [...newest.values()];
  }
  async writeRunRecord(record: RunRecord): Promise<void> {
    this.record('writeRunRecord', record);
    this.runRecords = [
      ...this.runRecords.filter((r) => r.project !== record.project || r.service !== record.service),
      record,
    ];
  }
  /** local image IDs served by localImageIds (default: the IDs in `images`) */
  localImages?: string[];
  async localImageIds(limit: number): Promise<string[]> {
    this.record('localImageIds', limit);
    return (this.localImages ?? [...new Set(Object.values(this.images).filter((x): x is string => !!x))]).slice(
      0,
      limit,
    );
  }
  bench = new FakeWorkbench();

  async helperImageProblem(image: string): Promise<string | null> {
    this.record('helperImageProblem', image);
    return this.bench.helperProblems[image] ?? null;
  }

  async mountSpace(helper: HelperSpec): Promise<MountSpace[]> {
    this.record('mountSpace', helper);
    this.bench.check('mountSpace');
    return helper.mounts.map((m) => ({
      volume: m.volume,
      filesystem: '/dev/fake',
      availableBytes: this.bench.freeBytes,
    }));
  }

  async prepareWorkArea(helper: HelperSpec): Promise<void> {
    this.record('prepareWorkArea', helper);
    this.bench.check('prepareWorkArea');
    for (const m of helper.mounts)
      if (this.bench.volume(m.source).work) throw new Error(`work area exists in ${m.source}`);
    for (const m of helper.mounts) {
      const v = this.bench.volume(m.source);
      v.work = { next: new Map(), old: null, in: false, root: { ...v.root } };
    }
  }

  async stage(helper: HelperSpec, produce: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    this.record('stage', helper);
    const chunks: Buffer[] = [];
    await produce(async (c) => void chunks.push(Buffer.from(c)));
    this.bench.check('stage');
    for (const e of readTar(Buffer.concat(chunks))) {
      const m = /^(\d+)\/\.stateguard-restore\/new\/(.+?)\/?$/.exec(e.path);
      if (!m) throw new Error(`unexpected staged path ${e.path}`);
      const mount: DataMount | undefined = helper.mounts[Number(m[1])];
      const work = mount && this.bench.volume(mount.source).work;
      if (!work) throw new Error(`no work area for ${e.path}`);
      work.next.set(m[2]!, e.type === 'Directory' ? null : e.body);
    }
  }

  // ---- archive fidelity: the simulated engine keeps every time as staged; the calls are recorded ----
  async setStagedTimes(helper: HelperSpec, times: readonly StagedTime[]): Promise<void> {
    this.record('setStagedTimes', helper, times.length);
    this.bench.check('setStagedTimes');
  }

  async countStaged(helper: HelperSpec): Promise<StagedCount[]> {
    this.record('countStaged', helper);
    this.bench.check('countStaged');
    return helper.mounts.map((m) => {
      const next = this.bench.volume(m.source).work?.next ?? new Map<string, Buffer | null>();
      const files = [...next.values()].filter((b): b is Buffer => b !== null);
      return {
        volume: m.volume,
        entries: next.size,
        files: files.length,
        bytes: files.reduce((n, b) => n + b.length, 0),
      };
    });
  }

  async swap(
    helper: HelperSpec,
    direction: 'forward' | 'revert',
    roots: readonly (RootMeta | null)[],
  ): Promise<SwapResult[]> {
    this.record('swap', direction, helper);
    this.bench.check(`swap-${direction}`);
    return helper.mounts.map((m, i): SwapResult => {
      const v = this.bench.volume(m.source);
      const w = v.work;
      if (!w) return { volume: m.volume, outcome: 'no-work-area' }; // as the helper script
      let outcome: SwapResult['outcome'];
      if (direction === 'forward') {
        outcome = 'already-new';
        if (!w.in) {
          w.old = new Map([...(w.old ?? []), ...v.live]);
          v.live = new Map();
          w.in = true;
          outcome = 'forwarded';
        }
        v.live = new Map([...v.live, ...w.next]);
        w.next = new Map();
        const r = roots[i];
        if (r) v.root = { ...r };
      } else {
        outcome = 'already-old';
        if (w.in) {
          w.next = new Map([...w.next, ...v.live]);
          v.live = new Map();
          v.root = { ...w.root };
          w.in = false;
          outcome = 'reverted';
        }
        if (w.old) {
          v.live = new Map([...v.live, ...w.old]);
          w.old = null;
        }
      }
      return { volume: m.volume, outcome };
    });
  }

  async dropWorkArea(helper: HelperSpec): Promise<void> {
    this.record('dropWorkArea', helper);
    this.bench.check('dropWorkArea');
    for (const m of helper.mounts) this.bench.volume(m.source).work = null;
  }

  async workAreas(helper: HelperSpec): Promise<WorkAreaState[]> {
    this.record('workAreas', helper);
    this.bench.check('workAreas');
    return helper.mounts.map((m) => {
      const w = this.bench.volume(m.source).work;
      return { volume: m.volume, present: w !== null, swapped: w?.in === true };
    });
  }

  async removeHelpers(key: string): Promise<void> {
    this.record('removeHelpers', key);
    this.bench.removedHelpers.push(key);
  }

  async createScratchVolumes(key: string, count: number): Promise<string[]> {
    this.record('createScratchVolumes', key, count);
    this.bench.check('createScratchVolumes');
    const names = Array.from({ length: count }, (_, i) => `stateguard-drill-${key}-${i}`);
    for (const n of names) {
      this.bench.volume(n);
      this.bench.scratch.add(n);
    }
    return names;
  }

  async removeScratch(key: string): Promise<void> {
    this.record('removeScratch', key);
    this.containers = this.containers.filter((c) => c.labels['io.stateguard.drill'] !== key);
    for (const n of [...this.bench.scratch].filter((x) => x.startsWith(`stateguard-drill-${key}-`))) {
      this.bench.scratch.delete(n);
      this.bench.volumes.delete(n);
    }
  }

  async runThrowaway(spec: ThrowawaySpec): Promise<string> {
    this.record('runThrowaway', spec);
    this.bench.check('runThrowaway');
    const c = container({
      project: '',
      service: '',
      id: `drill-${spec.key}`,
      state: 'running',
      labels: { 'io.stateguard.drill': spec.key },
    });
    c.project = undefined;
    c.service = undefined;
    c.health = this.bench.throwawayHealth;
    this.containers.push(c);
    return c.id;
  }

  async writeJournalMark(key: string, mark: JournalMark): Promise<void> {
    this.record('writeJournalMark', key, mark.phase);
    this.bench.check(`mark-${mark.phase}`);
    const marks = this.bench.journals.get(key) ?? [];
    if (marks.some((m) => m.seq === mark.seq)) throw new Error(`journal mark ${mark.seq} exists`);
    this.bench.journals.set(key, [...marks, structuredClone(mark)]);
  }

  async readJournal(key: string): Promise<JournalMark[]> {
    this.record('readJournal', key);
    return [...(this.bench.journals.get(key) ?? [])].sort((a, b) => a.seq - b.seq).map((m) => structuredClone(m));
  }

  async removeJournalMark(key: string, seq: number): Promise<void> {
    this.record('removeJournalMark', key, seq);
    const marks = (this.bench.journals.get(key) ?? []).filter((m) => m.seq !== seq);
    if (marks.length) this.bench.journals.set(key, marks);
    else this.bench.journals.delete(key);
  }

  async removeFilesInContainer(containerId: string, files: readonly string[]): Promise<boolean> {
    this.record('removeFilesInContainer', containerId, [...files]);
    if (!this.files) return true;
    // the adapter tries `rm`, then `/bin/busybox rm` (test/unit/docker-cli.test.ts)
    if (!this.files.hasRm && !this.files.hasBusybox) return false;
    for (const f of files) this.files.store(containerId, posix.dirname(f)).delete(f);
    return true;
  }
  /** opt-in container filesystems (docker cp in and out, rm), for the persistence probe */
  files?: FakeFiles;

  // ---- data mounts: other writers, reserved names ----
  /** paths existingPaths reports as present, per container ID (absent: none) */
  existing: Record<string, string[]> = {};
  async listRunningContainers(): Promise<ContainerInfo[]> {
    this.record('listRunningContainers');
    return this.containers.filter((c) => c.state === 'running' || c.state === 'restarting' || c.state === 'paused');
  }
  async existingPaths(containerId: string, paths: readonly string[]): Promise<string[]> {
    this.record('existingPaths', containerId, [...paths]);
    return paths.filter((p) => (this.existing[containerId] ?? []).includes(p));
  }

  // ---- an upgrade's exact rollback (docs/architecture.md §13) ----
  /** container ID -> why its definition cannot be recreated (absent: it can) */
  definitionProblems: Record<string, string> = {};
  /** called after recreateFromDefinition put the new container in place (a test sets its health) */
  onRecreateFromDefinition?: (def: ContainerDefinition, created: ContainerInfo) => void;
  async readContainerDefinition(
    containerId: string,
  ): Promise<{ definition: ContainerDefinition } | { problem: string }> {
    this.record('readContainerDefinition', containerId);
    const problem = this.definitionProblems[containerId];
    if (problem) return { problem };
    const c = this.containers.find((x) => x.id === containerId);
    if (!c) throw new Error(`fake: no container ${containerId}`);
    return {
      definition: {
        id: c.id,
        name: c.name,
        image_id: c.imageId,
        // the simulated engine keeps what it needs to rebuild the ContainerInfo in the opaque fields
        config: {
          Image: c.imageRef,
          Env: [...c.env],
          Labels: { ...c.labels },
          fake: { project: c.project, service: c.service, configHash: c.configHash },
        },
        host_config: { fakeMounts: c.mounts.map((m) => ({ ...m })) },
        networks: [],
        anonymous_volumes: [],
      },
    };
  }
  async recreateFromDefinition(def: ContainerDefinition, replace: readonly string[]): Promise<string> {
    this.record('recreateFromDefinition', def.id, [...replace]);
    this.bench.check('recreateFromDefinition');
    this.containers = this.containers.filter((c) => !replace.includes(c.id));
    const meta = def.config.fake as { project: string; service: string; configHash: string | undefined };
    const created: ContainerInfo = {
      ...container({
        project: meta.project,
        service: meta.service,
        id: `${def.id}-again-${this.calls.length}`,
        name: def.name,
      }),
      imageRef: def.image_id,
      imageId: def.image_id,
      env: [...(def.config.Env as string[])],
      labels: { ...(def.config.Labels as Record<string, string>) },
      configHash: meta.configHash,
      mounts: (def.host_config.fakeMounts as ContainerInfo['mounts']).map((m) => ({ ...m })),
      health: 'healthy',
    };
    this.containers.push(created);
    this.onRecreateFromDefinition?.(def, created);
    return created.id;
  }
  /** image -> the config hash compose would render with it (absent: cannot tell, null) */
  hashWithImage: Record<string, string> = {};
  async configHashWithImage(target: ComposeTarget, service: string, image: string): Promise<string | null> {
    this.record('configHashWithImage', target, service, image);
    return this.hashWithImage[image] ?? null;
  }
  // ---- the drift allowlist's proof (docs/architecture.md §3, "Drift allowlist") ----
  /** (service, values) -> the config hash compose would render with them (default: cannot tell, null) */
  hashWithValues: (service: string, values: ServiceValues) => string | null = () => null;
  async configHashWithValues(target: ComposeTarget, service: string, values: ServiceValues): Promise<string | null> {
    this.record('configHashWithValues', target, service, values);
    return this.hashWithValues(service, values);
  }
  async listMountEntries(helper: HelperSpec): Promise<{ volume: string; entries: MountEntry[] }[]> {
    this.record('listMountEntries', helper);
    this.bench.check('listMountEntries');
    return helper.mounts.map((m) => ({
      volume: m.volume,
      entries: [...this.bench.volume(m.source).live].map(([path, body]) => ({
        path,
        type: body === null ? ('directory' as const) : ('file' as const),
      })),
    }));
  }
}

/** One simulated data volume: its live files and, during a restore, its work area. */
export interface FakeVolume {
  /** relative path -> file body (null for a directory) */
  live: Map<string, Buffer | null>;
  root: RootMeta;
  work: {
    next: Map<string, Buffer | null>;
    old: Map<string, Buffer | null> | null;
    in: boolean;
    root: RootMeta;
  } | null;
}

/**
 * Restore's workbench on the simulated engine (Runtime.prepareWorkArea … readJournal), with the
 * same rename semantics as src/runtime/helper-scripts.ts at the granularity of a whole step.
 */
export class FakeWorkbench {
  volumes = new Map<string, FakeVolume>();
  journals = new Map<string, JournalMark[]>();
  /** helper image -> why it cannot be used (absent: usable) */
  helperProblems: Record<string, string> = {};
  freeBytes = 1024 ** 4;
  /** workbench methods that throw (as an engine failure would) */
  fails = new Set<string>();
  removedHelpers: string[] = [];
  /** scratch volumes of restore drills that exist */
  scratch = new Set<string>();
  /** the health the drill's throwaway container reports */
  throwawayHealth: ContainerInfo['health'] = null;

  volume(source: string): FakeVolume {
    let v = this.volumes.get(source);
    if (!v) this.volumes.set(source, (v = { live: new Map(), root: { mode: 0o755, uid: 0, gid: 0 }, work: null }));
    return v;
  }

  /** The live files of a volume as `{ path: text }` (directories as null), for assertions. */
  files(source: string): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const [k, b] of [...this.volume(source).live].sort(([a], [b2]) => a.localeCompare(b2))) {
      out[k] = b === null ? null : b.toString();
    }
    return out;
  }

  check(method: string): void {
    if (this.fails.has(method)) throw new Error(`simulated engine failure in ${method}`);
  }
}

/**
 * Container filesystems for the simulated engine: directories that exist in every container of a
 * service, the ones backed by a volume (content survives a recreate), and each container's own
 * layer (lost on recreate).
 */
export class FakeFiles {
  dirs = new Set(['/data', '/tmp', '/cache']);
  mounted = new Set(['/data']);
  volumeFiles = new Map<string, Buffer>();
  layerFiles = new Map<string, Map<string, Buffer>>();
  /** the image has `rm` on PATH / `/bin/busybox` */
  hasRm = true;
  hasBusybox = true;
  /** docker cp "succeeds" but writes nothing (the case a read-back must catch) */
  dropWrites = false;

  store(id: string, dir: string): Map<string, Buffer> {
    if (this.mounted.has(dir)) return this.volumeFiles;
    let m = this.layerFiles.get(id);
    if (!m) this.layerFiles.set(id, (m = new Map()));
    return m;
  }
}

/**
 * examples/platform on the simulated engine: `store` healthy, `web` running, and the one-shot
 * `store-init` exited with `initExit` (1: a failed run, so it drifted) or, with 'missing', no
 * container at all. Every rendered service runs `image`.
 */
export function examplePlatform(
  opts: { initExit?: number | 'missing'; initHash?: string; image?: string } = {},
): FakeRuntime {
  const image = opts.image ?? 'stateguard/busybox:1.0.0';
  const rt = new FakeRuntime();
  rt.projects.platform = {
    services: { store: { image }, 'store-init': { image }, web: { image } },
    hashes: { store: 'h-store', 'store-init': opts.initHash ?? 'h-init', web: 'h-web' },
  };
  rt.images[image] = 'sha256:aaa';
  rt.containers.push(
    container({ project: 'platform', service: 'store', id: 'store-1', health: 'healthy', configHash: 'h-store' }),
    container({ project: 'platform', service: 'web', id: 'web-1', configHash: 'h-web' }),
  );
  const initExit = opts.initExit ?? 1;
  if (initExit !== 'missing') {
    rt.containers.push(
      container({
        project: 'platform',
        service: 'store-init',
        id: 'init-1',
        state: 'exited',
        exitCode: initExit,
        configHash: 'h-init',
      }),
    );
  }
  return rt;
}
