/**
 * The docker/compose adapter interface: the only door to the engine.
 *
 * Pure domain code (drift, guard, archive rules) works on the plain data returned here; tests of
 * that logic use a recording fake (test/support/fake-runtime.ts); integration tests use the real
 * engine through DockerCli (./docker-cli.ts), which is the only code that spawns docker/compose.
 */

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** text written to the child's stdin */
  input?: string | Buffer;
  /** receives stdout/stderr chunks as they arrive (for live logs) */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** kill the child after this many ms (resolves with code 124) */
  timeoutMs?: number;
  cwd?: string;
  /** extra environment for the child (merged over the process env) */
  env?: Record<string, string | undefined>;
  /** stdout as raw bytes is written here instead of being buffered as text */
  stdoutSink?: NodeJS.WritableStream;
  /**
   * Streams the child's stdin: `write` resolves when the child can take more (bounded memory).
   * When feed rejects, the child is killed and the result's code is 125.
   */
  feed?: (write: (chunk: Buffer) => Promise<void>) => Promise<void>;
}

/** Spawns one process with an argument array (never a shell). */
export type ProcessRunner = (command: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface Mount {
  type: string;
  /** volume name for named volumes */
  name?: string;
  source: string;
  destination: string;
}

/** What the engine says about one container (from `docker inspect`). */
export interface ContainerInfo {
  id: string;
  name: string;
  /** the image reference the container was created from (Config.Image), e.g. `busybox:1.2.3` */
  imageRef: string;
  /** the image ID the container runs (Image), `sha256:…` */
  imageId: string;
  state: ContainerState;
  exitCode: number | null;
  /** null when the container has no healthcheck */
  health: 'starting' | 'healthy' | 'unhealthy' | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
  labels: Record<string, string>;
  /** compose labels, decoded */
  project: string | undefined;
  service: string | undefined;
  oneoff: boolean;
  configHash: string | undefined;
  /** raw `NAME=value` entries. Secret material: never print; use only to build scrubbers. */
  env: string[];
  mounts: Mount[];
  /** the run configuration compared field by field with the declared service (absent in old fakes) */
  config?: ContainerRunConfig;
  /** on Swarm: the task this container runs (the container may be on another node, or not exist yet) */
  swarm?: SwarmTask;
}

/**
 * The fields of a Swarm service that stateguard compares with the stack file, in one shape for both
 * sides (docs/architecture.md §14): what `docker stack deploy` would set, as the engine reports it.
 */
export interface SwarmSpecView {
  image: string;
  entrypoint: string[] | null;
  command: string[] | null;
  /** `NAME=value`, sorted: secret material, only ever hashed or fingerprinted */
  environment: string[];
  user: string;
  container_labels: string[];
  service_labels: string[];
  /** `type:source:target[:ro]`, sorted */
  mounts: string[];
  healthcheck: string[] | null;
  restart_condition: string;
  mode: string;
  replicas: number | null;
  ports: string[];
}

export interface SwarmTask {
  task_id: string;
  service_id: string;
  node_id: string;
  /** the task's own state (`running`, `complete`, `failed`, `pending`, …) */
  task_state: string;
  /** what the task ran: the service spec at the time the task was created */
  view: SwarmSpecView;
}

/** What a container runs with, as the engine reports it (for field-level config differences). */
export interface ContainerRunConfig {
  cmd: string[] | null;
  entrypoint: string[] | null;
  user: string;
  /** HostConfig.RestartPolicy.Name ('' or 'no' when none) */
  restartPolicy: string;
  /** Config.Healthcheck.Test, null when the container has none of its own */
  healthcheck: string[] | null;
  /** `published:target/proto`, sorted */
  ports: string[];
}

/** A compose project as stateguard addresses it: explicit files and project name. */
export interface ComposeTarget {
  project: string;
  /** absolute paths of the compose files */
  files: string[];
}

/** One service of `compose config`, as rendered; every other key compose renders is kept too. */
export interface RenderedService {
  [key: string]: unknown;
  image?: string;
  /** compose `scale` / `deploy` as rendered (a one-shot must run as exactly one container) */
  scale?: unknown;
  deploy?: unknown;
  restart?: string;
  volumes?: unknown[];
  healthcheck?: unknown;
}

export interface RenderOptions {
  /**
   * false: the model only, `hashes` left empty (validate: compose v1's `config --hash` asks the engine
   * for its version, and validate must run without one). Default true.
   */
  hashes?: boolean;
}

/**
 * `compose config` of a project, rendered by compose itself: the one reading of a compose file that
 * validate and plan use (docs/architecture.md §2, "Reading compose files"). Merge keys, `extends`,
 * `include`, interpolation and `env_file` are resolved by compose. Environment values may be inside:
 * never print.
 */
export interface RenderedProject {
  /** the services compose starts with the runner's COMPOSE_PROFILES */
  services: Record<string, RenderedService>;
  /** `compose config --hash '*'`: service -> config hash (what `up` writes as the container's label) */
  hashes: Record<string, string>;
  /** the keys of the top-level `volumes:` (absent from old fakes: read as none) */
  volumes?: string[];
  /** services compose leaves out because none of their profiles is enabled: service -> its profiles */
  inactive?: Record<string, string[]>;
}

/**
 * What stateguard last ran to success for a one-shot, kept on the engine (not in the runner's
 * working directory) so that removing the one-shot's container (`docker container prune`) cannot
 * erase the evidence of which image and config last ran against the data.
 */
export interface RunRecord {
  project: string;
  service: string;
  /** the container that exited 0 */
  container_id: string;
  /** the image ID it ran and the reference it was created from */
  image_id: string;
  image_ref: string;
  /** the declared config hash the apply was planned against (`config --hash`) */
  config_hash: string;
  /** the config-hash label compose wrote on that container (v2's `up --no-deps` writes another value) */
  label_hash: string;
  /** ISO time the record was written */
  recorded_at: string;
}

/** What an upgrade last proved healthy for a long-running module (docs/architecture.md §13). */
export interface LastKnownGood {
  project: string;
  service: string;
  image_id: string;
  image_ref: string;
  config_hash: string;
  /** the verified snapshot taken before that upgrade */
  snapshot: string;
  recorded_at: string;
}

/** A named lock object on the engine, as read back. */
export interface EngineLock {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
}

/**
 * Which engine front end rendered the declared side: compose v1/v2, or `swarm` (the stack file
 * rendered by `docker stack config`, with the engine's version).
 */
export interface ComposeInfo {
  flavor: 'v1' | 'v2' | 'swarm';
  version: string;
}

/**
 * Where one declared data volume lives on the engine, as a helper container mounts it for restore
 * (docs/architecture.md §12). Read from the module's own container, never from the archive.
 */
export interface DataMount {
  /** the declared `data.volumes[].volume` (the archive's top-level directory) */
  volume: string;
  kind: 'volume' | 'bind';
  /** the engine's volume name, or the bind source path on the engine's host */
  source: string;
}

/** Owner and permission bits of a volume's top directory. */
export interface RootMeta {
  mode: number;
  uid: number;
  gid: number;
}

/** A helper run: a local image (never pulled) with every data mount of the operation. */
export interface HelperSpec {
  /** local image ID or reference; the adapter never pulls it */
  image: string;
  mounts: readonly DataMount[];
  /** the operation's key (labels the helper containers so recover can find and remove them) */
  key: string;
}

/** Space on the filesystem that holds one data mount. */
export interface MountSpace {
  volume: string;
  /** identifies the filesystem: mounts on the same one share its free space */
  filesystem: string;
  availableBytes: number;
}

/** What the work area of one mount holds after staging. */
export interface StagedCount {
  volume: string;
  entries: number;
  files: number;
  bytes: number;
}

/** A staged entry whose mtime the engine's extraction cannot set (before 1970): set after staging. */
export interface StagedTime {
  /** the mount's index (`/v/<index>`) */
  index: number;
  /** the entry's path below the mount's `.stateguard-restore/new/` */
  path: string;
  /** whole seconds since 1970 (negative: before) */
  mtime: number;
}

// ---- what a swap did, per mount (docs/architecture.md §12): the words of every outcome come from it ----
/**
 * forward: `forwarded` (the old data moved aside, the staged data put live), `already-new` (an
 * earlier swap had put the new data live; finished); revert: `reverted` (the new data moved back
 * out, the old data put back), `already-old` (the old data was still live); either way
 * `no-work-area`: the mount holds no work area, nothing was moved.
 */
export type SwapOutcome = 'forwarded' | 'already-new' | 'reverted' | 'already-old' | 'no-work-area';

export interface SwapResult {
  volume: string;
  outcome: SwapOutcome;
}

/**
 * What the data side of one mount shows (docs/architecture.md §12): a work area means an operation
 * is open there, journal or not; `swapped` is the marker `in` (the new data is live, the old kept).
 */
export interface WorkAreaState {
  volume: string;
  present: boolean;
  swapped: boolean;
}

/** One mark of an operation's journal, kept on the engine (see src/ops/journal.ts). */
export interface JournalMark {
  seq: number;
  phase: string;
  /** ISO time the mark was written */
  at: string;
  /** the journal's record (every mark carries all of it) */
  data: Record<string, string>;
}

/**
 * A throwaway copy of a module's container for a restore drill (e2e-gate --restore-drill): the
 * container's own image and run configuration on scratch volumes, no network, labelled with the
 * drill's key and never with compose labels (plan and guard never see it).
 */
export interface ThrowawaySpec {
  key: string;
  /** the module container's image ID (local; never pulled) */
  image: string;
  mounts: { source: string; destination: string }[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  user: string;
  /** the container's healthcheck test (`CMD …` / `CMD-SHELL …`), null when none */
  healthcheck: string[] | null;
  /** raw `NAME=value` entries: secret material, handed to the engine without entering argv or logs */
  env: string[];
}

/**
 * A container's definition as the engine reported it, recorded before an upgrade's deploy so that a
 * rollback recreates exactly that container (docs/architecture.md §13). `config` holds environment
 * values: secret material, kept only on the engine (the journal), never printed or put in an outcome.
 */
export interface ContainerDefinition {
  /** the container it was read from */
  id: string;
  name: string;
  /** the image ID it ran: a rollback creates from this ID, never from a tag that may have moved */
  image_id: string;
  /** the Engine API `Config` and `HostConfig` as inspected */
  config: Record<string, unknown>;
  host_config: Record<string, unknown>;
  /** every network it was attached to, with its aliases and static IPAM config */
  networks: ContainerNetwork[];
  /** volumes it mounted that HostConfig does not name (image VOLUMEs, anonymous): re-attached by name */
  anonymous_volumes: { name: string; destination: string; read_only: boolean }[];
}

export interface ContainerNetwork {
  name: string;
  aliases: string[];
  /** `IPAMConfig` as inspected (static addresses), null when none */
  ipam: Record<string, unknown> | null;
  links: string[];
  driver_opts: Record<string, string> | null;
}

/** One entry under a data mount, as a helper lists it (path relative to the mount). */
export interface MountEntry {
  path: string;
  type: 'file' | 'directory' | 'other';
}

export type WaitResult = { exitCode: number; timedOut: false } | { exitCode: null; timedOut: true };

/** Which adapter a module's runtime needs: `spec.compose` or `spec.swarm` (docs/architecture.md §14). */
export type RuntimeKind = 'compose' | 'swarm';

/** Which engine and which compose stateguard talks to. */
export interface EngineInfo {
  /** Throws EnvironmentError naming DOCKER_HOST/context when the engine does not answer. */
  ping(): Promise<void>;
  /**
   * The engine's ID (`docker info` .ID): which host data came from, recorded in every archive's
   * provenance manifest (docs/architecture.md §16).
   */
  engineId(): Promise<string>;
  /** `v2` (`docker compose`) when it answers, else `v1` (`docker-compose`). */
  composeFlavor(): Promise<'v1' | 'v2'>;
  /** The flavor and its version (`2.26.1`, `1.29.2`); a plan names both. */
  composeInfo(): Promise<ComposeInfo>;
}

/** What runs and what is declared, read from the engine (never changed here). */
export interface EngineView {
  /** Every container with this compose project label (one `ps` + one `inspect`), one-offs included. */
  listProjectContainers(project: string): Promise<ContainerInfo[]>;
  /** Inspect containers by ID or name; missing ones are left out. */
  inspectContainers(idsOrNames: readonly string[]): Promise<ContainerInfo[]>;
  /**
   * Every running (or restarting, or paused) container on the engine, of any project, with its
   * mounts: one `ps` and one `inspect`, whatever the number of containers.
   */
  listRunningContainers(): Promise<ContainerInfo[]>;
  /** Render the project (`config`) and read every service's config hash (`config --hash '*'`). */
  renderProject(target: ComposeTarget, opts?: RenderOptions): Promise<RenderedProject>;
  /** Image IDs for references (one `docker image inspect`); references not present map to null. */
  imageIds(refs: readonly string[]): Promise<Record<string, string | null>>;
  /**
   * The `VOLUME` paths each local image declares (its Config.Volumes; one `docker image inspect`),
   * by image ID or reference; an image not present maps to null. For field-level config differences
   * (docs/architecture.md §3): an unnamed volume at such a path is the image's, not declared.
   */
  imageVolumes(images: readonly string[]): Promise<Record<string, string[] | null>>;
  // Pinned-image retention (docs/architecture.md §13).
  /** The `repository:tag` references of exactly this repository on the engine (no dangling `<none>`), sorted. */
  listImageTags(repository: string): Promise<string[]>;
  /**
   * Which of these paths exist in a container (running or stopped), read through the engine like
   * `docker cp` (no tool in the image needed); only the first bytes of an existing path are read.
   */
  existingPaths(containerId: string, paths: readonly string[]): Promise<string[]>;
  /**
   * The service's config hash as compose would render it with `image` instead of the declared image
   * (`config --hash` with an override file), or null when it cannot tell. Equal to a container's
   * config-hash label: the image is the only difference (an upgrade's image-only check).
   */
  configHashWithImage(target: ComposeTarget, service: string, image: string): Promise<string | null>;
  /**
   * The service's config hash as compose would render it with these environment values and labels in
   * place of the declared ones (an override file, private and removed at once: the values may be
   * secret), or null when it cannot tell. Equal to a container's config-hash label: those values are
   * the only difference between the declared service and what made the container.
   */
  configHashWithValues(target: ComposeTarget, service: string, values: ServiceValues): Promise<string | null>;
}

/** Starting, stopping, recreating and reading a service's containers, and the images they run. */
export interface Lifecycle {
  /**
   * `compose up -d --no-deps --force-recreate <service>` (only that service), never pulling. With
   * `imageOverride`, the service runs that local image instead of the declared one (an upgrade's
   * rollback to the pinned previous image).
   */
  recreateService(target: ComposeTarget, service: string, imageOverride?: string): Promise<ExecResult>;
  /**
   * Bring back a service that a killed stateguard step left stopped, where the engine recorded how:
   * on Swarm a service scaled to 0 by a snapshot carries its replica count in a label; it is scaled
   * back and its new task containers returned. null when there is nothing to resume (always on
   * Compose, whose stopped containers the plan shows and `docker start` brings back).
   */
  resumeStopped(target: ComposeTarget, service: string): Promise<{ replicas: number; containerIds: string[] } | null>;
  /** `docker wait` bounded by timeoutMs. */
  wait(containerId: string, timeoutMs: number): Promise<WaitResult>;
  /** without timeoutSeconds each container gets its own stop timeout (compose's stop_grace_period) */
  stop(containerIds: readonly string[], timeoutSeconds?: number): Promise<void>;
  /**
   * Start them again; resolves with the IDs of the containers that now stand for them: the same IDs
   * on Compose; on Swarm the service is scaled back and its new task containers are returned.
   */
  start(containerIds: readonly string[]): Promise<string[]>;
  /**
   * Stream `docker logs` (follow until the container exits when follow is true). `stream` says
   * which of the container's streams a chunk came from, so a consumer can reassemble lines per
   * stream (a secret split across two chunks must not be interleaved with the other stream).
   */
  logs(
    containerId: string,
    onChunk: (chunk: string, stream?: 'stdout' | 'stderr') => void,
    follow: boolean,
  ): Promise<void>;
  /** `docker cp container:path -` as a tar stream written to sink. */
  copyFrom(containerId: string, path: string, sink: NodeJS.WritableStream): Promise<void>;
  /** `docker cp - container:dir` from a tar archive (Buffer). */
  copyTo(containerId: string, dir: string, tarArchive: Buffer): Promise<void>;
  /**
   * Delete files inside a running container as root, with `rm` or else `/bin/busybox rm` (images
   * without a shell). true when a remover ran successfully; the caller verifies what is gone.
   */
  removeFilesInContainer(containerId: string, files: readonly string[]): Promise<boolean>;
  /**
   * The container's definition as inspected (see ContainerDefinition), or why this adapter could not
   * recreate it exactly (refused before anything is stopped).
   */
  readContainerDefinition(containerId: string): Promise<{ definition: ContainerDefinition } | { problem: string }>;
  /**
   * Stop and remove `replace` (never their volumes), then create a container from the definition (its
   * image ID, Config, HostConfig, networks and anonymous volumes) and start it. Returns its ID.
   */
  recreateFromDefinition(def: ContainerDefinition, replace: readonly string[]): Promise<string>;
  /** `docker tag <image ID> <ref>`: pin a local image under a name stateguard owns. */
  tagImage(imageId: string, ref: string): Promise<void>;
  /**
   * `docker image rm <repository:tag>`: removes the TAG (never by image ID, never forced); the engine refuses
   * when it is the last name of an image a container uses. Throws on any refusal.
   */
  removeImageTag(ref: string): Promise<void>;
}

/**
 * Labelled records kept on the engine: the module lock, one-shot run records, last-known-good and
 * journal marks.
 */
export interface RecordStore {
  /**
   * Take a named lock on the engine, atomically: false when the name is taken. The compose adapter
   * makes it a never-started container from a local image (`hint.images` first, then an image of
   * the project's containers, then any local image); nothing is pulled.
   */
  createLock(
    name: string,
    labels: Record<string, string>,
    hint: { images: string[]; project: string },
  ): Promise<boolean>;
  /** The lock object of that name (ID, labels, creation time), or null when there is none. */
  readLock(name: string): Promise<EngineLock | null>;
  /** Remove exactly that lock object (by ID); a lock already gone is not an error. */
  removeLock(id: string): Promise<void>;
  /** Every run record on the engine for a compose project (the newest per service). */
  readRunRecords(project: string): Promise<RunRecord[]>;
  /** Durably record a one-shot's successful run, replacing older records of that service. */
  writeRunRecord(record: RunRecord): Promise<void>;
  /** Durably record the last version of a long-running module that passed its health gate. */
  writeLastKnownGood(record: LastKnownGood): Promise<void>;
  /** The newest last-known-good record of a compose service, or null. */
  readLastKnownGood(project: string, service: string): Promise<LastKnownGood | null>;
  /**
   * Append a mark to the journal of `key` (atomic, durable on the engine). With `keeper`, the mark is
   * held by a never-started container of that local image, so `docker volume prune` cannot remove it
   * while the operation is open (docs/architecture.md §12); removing the mark removes its keeper.
   */
  writeJournalMark(key: string, mark: JournalMark, keeper?: { image: string }): Promise<void>;
  /** Every mark of the journal of `key`, by seq; [] when there is none. */
  readJournal(key: string): Promise<JournalMark[]>;
  /** Remove one mark (by seq); a mark already gone is not an error. */
  removeJournalMark(key: string, seq: number): Promise<void>;
}

/**
 * Helper containers on a module's data: restore's work areas, staging and swap, scratch volumes, the
 * drill's throwaways.
 */
export interface Workbench {
  /** null when this local image can run restore's helper steps; otherwise why not (never pulls). */
  helperImageProblem(image: string): Promise<string | null>;
  /** Free space of the filesystem under each mount. */
  mountSpace(helper: HelperSpec): Promise<MountSpace[]>;
  /**
   * Create the empty work area (`<mount>/.stateguard-restore/new`) in every mount and remember the
   * top directory's owner and mode there. Fails when a work area already exists.
   */
  prepareWorkArea(helper: HelperSpec): Promise<void>;
  /**
   * Extract a re-packed tar into the mounts. Entry paths are `<mount index>/.stateguard-restore/new/…`;
   * the tar holds only regular files and directories (src/backup/repack.ts); owners are kept.
   */
  stage(helper: HelperSpec, produce: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void>;
  /** What each mount's work area holds (entries, regular files, bytes). */
  countStaged(helper: HelperSpec): Promise<StagedCount[]>;
  /**
   * Set the mtime of each staged entry (the Docker daemon's extraction sets a time before 1970 to
   * 1970) and read it back; throws when one cannot be set exactly.
   */
  setStagedTimes(helper: HelperSpec, times: readonly StagedTime[]): Promise<void>;
  /**
   * Swap by renames inside each mount, idempotently, so that a swap killed at any instant can be
   * run again or reverted: forward puts the staged content live (and `roots[i]` on the top
   * directory when given); revert puts the old content back.
   */
  swap(helper: HelperSpec, direction: 'forward' | 'revert', roots: readonly (RootMeta | null)[]): Promise<SwapResult[]>;
  /** Delete every mount's work area (the old data after a forward swap, the staged data after a revert). */
  dropWorkArea(helper: HelperSpec): Promise<void>;
  /** Whether each mount holds a work area (read only; one helper run). */
  workAreas(helper: HelperSpec): Promise<WorkAreaState[]>;
  /** Every entry under each mount, through one helper run with read-only mounts and no network. */
  listMountEntries(helper: HelperSpec): Promise<{ volume: string; entries: MountEntry[] }[]>;
  /** Remove helper containers of an operation key (a killed stateguard may leave one running). */
  removeHelpers(key: string): Promise<void>;
  /** Create `count` empty volumes `stateguard-drill-<key>-<i>` labelled `io.stateguard.drill=<key>`. */
  createScratchVolumes(key: string, count: number): Promise<string[]>;
  /** Remove every container and volume labelled `io.stateguard.drill=<key>` (none left is not an error). */
  removeScratch(key: string): Promise<void>;
  /** Start the throwaway container (detached); returns its ID. */
  runThrowaway(spec: ThrowawaySpec): Promise<string>;
}

/**
 * The engine as the domain sees it, by role (docs/architecture.md §1): each role is a small interface a
 * function can ask for alone; an adapter offers them all.
 */
export interface Runtime extends EngineInfo, EngineView, Lifecycle, RecordStore, Workbench {}

/** Environment values and labels to put in place of a service's declared ones (configHashWithValues). */
export interface ServiceValues {
  environment: Record<string, string>;
  labels: Record<string, string>;
}
