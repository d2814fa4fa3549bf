/**
 * The persistence probe (docs/architecture.md §8): proves, on the live engine, that a module's declared durable
 * paths survive a container recreate and its declared ephemeral paths do not.
 *
 * 1. Find the one running container of the service (compose labels, never names; one-offs ignored).
 *    None running is a failure, never a pass: there is nothing to prove anything with.
 * 2. Write a sentinel (random name, random content) into every `data.volumes[].path` and every
 *    `data.ephemeral_paths` path with `docker cp` (a tar on stdin: works in images without a shell),
 *    and read each back, so a write that silently did not happen fails the probe instead of passing it.
 * 3. Recreate only that service (`up -d --no-deps --force-recreate`) and require a new container ID.
 * 4. Every durable sentinel must be there byte for byte (else DATA-VOLUME REGRESSION), every
 *    ephemeral one gone (else the path is declared ephemeral but persisted). The new container must
 *    then come back running (and healthy, when it has a healthcheck).
 * 5. Remove the sentinels that are still there (see removeSentinels for images without `rm`).
 *
 * Only the Runtime adapter touches the engine; everything else here is plain data.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { errorMessage, PathNotFoundError } from '../errors.js';
import type { ContainerInfo, Runtime } from '../ports.js';
import { listServiceContainers } from '../drift/containers.js';
import { engineFrontEnd } from '../model/module.js';
import { readTar, singleFileTar } from './tar.js';
import { waiter } from '../clock.js';

/** What the probe needs to know about a module (a subset of ModuleDecl, so tests can build one inline). */
export interface ProbeModule {
  name: string;
  expectedState: 'running' | 'exited-success';
  compose: { path: string; project: string; service: string };
  volumes: { volume: string; path: string }[];
  ephemeralPaths: string[];
  timeoutSeconds: number;
  /** compose (the default when absent) or swarm: only the wording of messages depends on it */
  runtime?: 'compose' | 'swarm';
}

export type SentinelState = 'present' | 'absent' | 'changed';

export interface ProbeCheck {
  kind: 'durable' | 'ephemeral';
  /** the declared volume for durable paths, null for ephemeral ones */
  volume: string | null;
  path: string;
  /** the sentinel file's name inside `path` (random, not secret) */
  sentinel: string;
  /** written and read back in the running container */
  written: boolean;
  /** what the recreated container holds; null when the probe stopped before the recreate */
  after_recreate: SentinelState | null;
  ok: boolean;
  problem: string | null;
}

export interface ProbeReport {
  module: string;
  project: string;
  service: string;
  passed: boolean;
  old_container: string | null;
  new_container: string | null;
  checks: ProbeCheck[];
  /** every reason the probe failed, in order; empty when it passed */
  problems: string[];
  cleanup: { removed: string[]; left: string[]; note: string | null };
}

export interface ProbeDeps {
  runtime: Runtime;
  now: () => Date;
  log?: (message: string) => void;
  warn?: (message: string) => void;
  /** waits between readiness polls (tests pass a no-op) */
  sleep?: (ms: number) => Promise<void>;
  /** overrides the module's timeout_seconds for readiness after the recreate */
  readyTimeoutMs?: number;
  random?: (bytes: number) => Buffer;
}

export const SENTINEL_PREFIX = '.stateguard-probe-';

const short = (id: string): string => id.slice(0, 12);

export function regressionMessage(volume: string, at: string, oldId: string, newId: string): string {
  return (
    `DATA-VOLUME REGRESSION: ` +
    `${volume} at ${at} lost its sentinel across recreate (${short(oldId)} → ${short(newId)})`
  );
}

export function ephemeralPersistedMessage(at: string, oldId: string, newId: string): string {
  return (
    `EPHEMERAL PATH PERSISTED: ${at} is declared ephemeral but persisted: its sentinel survived the recreate ` +
    `(${short(oldId)} → ${short(newId)}), so a volume or bind mount backs it. Declare it under data.volumes, or ` +
    `remove the mount.`
  );
}

/** The adapter raises PathNotFoundError when the engine says the path does not exist. */
export function isPathAbsentError(err: unknown): boolean {
  return err instanceof PathNotFoundError;
}

/** Declared paths as the probe addresses them: absolute, normalised, no trailing slash. */
export function normalizeContainerPath(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** Read one sentinel back: present with the exact content, absent, or something else under its name. */
export async function readSentinel(
  runtime: Runtime,
  containerId: string,
  dir: string,
  name: string,
  content: Buffer,
): Promise<SentinelState> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  try {
    await runtime.copyFrom(containerId, path.posix.join(dir, name), sink);
  } catch (err) {
    if (isPathAbsentError(err)) return 'absent';
    throw err;
  }
  const entry = readTar(Buffer.concat(chunks)).find((e) => e.path === name);
  return entry && entry.type === 'File' && entry.body.equals(content) ? 'present' : 'changed';
}

function describeStates(containers: ContainerInfo[]): string {
  if (containers.length === 0) return 'no container exists for it';
  return `its container${
    containers.length === 1 ? ' is' : 's ' + 'are'
  } ${containers.map((c) => `${short(c.id)} ${c.state}`).join(', ')}`;
}

interface Planted {
  check: ProbeCheck;
  content: Buffer;
}

/**
 * Remove sentinels from a container, best effort. `docker cp` can write but never delete, so this
 * needs a program in the image: `rm` on PATH, else `/bin/busybox rm` (images that ship busybox
 * without a shell). With neither, the file stays: it is one small file named `.stateguard-probe-*`,
 * and the report says where, so an operator can delete it; leaving it never changes the verdict.
 * Each removal is verified with `docker cp`, so "removed" is a fact, not a hope.
 */
export async function removeSentinels(
  runtime: Runtime,
  containerId: string,
  planted: readonly Planted[],
): Promise<{ removed: string[]; left: string[]; note: string | null }> {
  const files = planted.map((p) => path.posix.join(p.check.path, p.check.sentinel));
  if (files.length === 0) return { removed: [], left: [], note: null };
  await runtime.removeFilesInContainer(containerId, files);
  const removed: string[] = [];
  const left: string[] = [];
  for (const p of planted) {
    const file = path.posix.join(p.check.path, p.check.sentinel);
    let state: SentinelState | 'unknown';
    try {
      state = await readSentinel(runtime, containerId, p.check.path, p.check.sentinel, p.content);
    } catch {
      state = 'unknown';
    }
    (state === 'absent' ? removed : left).push(file);
  }
  const note =
    left.length === 0
      ? null
      : `left ${left.length} probe sentinel file${left.length === 1 ? '' : 's'} in container ${short(containerId)}: ` +
        `${left.join(', ')}. The image has neither 'rm' nor '/bin/busybox rm' (or the container is not running), and ` +
        `docker cp cannot delete. ` +
        `Each is one small file named ${SENTINEL_PREFIX}*; it is safe to delete by hand.`;
  return { removed, left, note };
}

export async function runPersistenceProbe(mod: ProbeModule, deps: ProbeDeps): Promise<ProbeReport> {
  const { runtime } = deps;
  const log = deps.log ?? (() => undefined);
  const random = deps.random ?? randomBytes;
  const target = { project: mod.compose.project, files: [mod.compose.path] };
  const report: ProbeReport = {
    module: mod.name,
    project: mod.compose.project,
    service: mod.compose.service,
    passed: false,
    old_container: null,
    new_container: null,
    checks: [],
    problems: [],
    cleanup: { removed: [], left: [], note: null },
  };
  const fail = (problem: string): ProbeReport => {
    report.problems.push(problem);
    report.passed = false;
    return report;
  };

  const planted: Planted[] = [
    ...mod.volumes.map((v) => ({ kind: 'durable' as const, volume: v.volume, path: normalizeContainerPath(v.path) })),
    ...mod.ephemeralPaths.map((p) => ({ kind: 'ephemeral' as const, volume: null, path: normalizeContainerPath(p) })),
  ].map((c) => ({
    check: {
      ...c,
      sentinel: `${SENTINEL_PREFIX}${random(8).toString('hex')}`,
      written: false,
      after_recreate: null,
      ok: false,
      problem: null,
    },
    content: Buffer.from(`stateguard persistence probe ${random(16).toString('hex')}\n`),
  }));
  report.checks = planted.map((p) => p.check);
  if (planted.length === 0) {
    return fail(
      `module ${mod.name} declares no data.volumes and no data.ephemeral_paths, so the probe has nothing to prove; ` +
        `declare the paths in its module.yaml (or drop persistence-probe).`,
    );
  }

  // 1. The one running container.
  const before = await listServiceContainers(runtime, mod.compose);
  const running = before.filter((c) => c.state === 'running');
  if (running.length !== 1) {
    const where = `service ${mod.compose.service} of compose project ${mod.compose.project}`;
    if (running.length > 1) {
      return fail(
        `${running.length} containers of ` +
          `${where} are running ` +
          `(${running.map((c) => short(c.id)).join(', ')}); the probe needs exactly one (scaled services are not ` +
          `supported).`,
      );
    }
    const oneShot =
      mod.expectedState === 'exited-success'
        ? ` Module ${mod.name} is a one-shot (expected_state: exited-success): probe the long-running module that ` +
          `owns the data instead.`
        : ` Start it first (e.g. compose up -d ` +
          `${mod.compose.service}); the probe never passes without a container to prove it on.`;
    return fail(`no running container for module ${mod.name} (${where}): ${describeStates(before)}.${oneShot}`);
  }
  const old = running[0]!;
  report.old_container = old.id;
  log(
    `persistence probe: module ` +
      `${mod.name}, container ${short(old.id)}, ${planted.length} path${planted.length === 1 ? '' : 's'}`,
  );

  // 2. Plant and read back.
  const written: Planted[] = [];
  for (const p of planted) {
    const { check } = p;
    try {
      await runtime.copyTo(old.id, check.path, singleFileTar(check.sentinel, p.content, deps.now()));
    } catch (err) {
      check.problem =
        `could not write a sentinel into ` +
        `${check.path} of container ${short(old.id)} (does the directory exist there?): ${errorMessage(err)}`;
      report.problems.push(check.problem);
      continue;
    }
    written.push(p);
    let state: SentinelState;
    try {
      state = await readSentinel(runtime, old.id, check.path, check.sentinel, p.content);
    } catch (err) {
      check.problem = `could not read back the sentinel written into ${check.path}: ${errorMessage(err)}`;
      report.problems.push(check.problem);
      continue;
    }
    if (state !== 'present') {
      check.problem =
        `the sentinel written into ` +
        `${check.path} of container ` +
        `${short(old.id)} reads back ${state}: the write did not take effect, so this path proves nothing`;
      report.problems.push(check.problem);
      continue;
    }
    check.written = true;
  }
  if (report.problems.length > 0) {
    // Do not disturb the service for a probe that has already failed.
    report.cleanup = await removeSentinels(runtime, old.id, written);
    return fail(
      'the probe stopped before recreating the container: not every sentinel could be written and read back.',
    );
  }

  // 3. Recreate only that service; require a new container.
  log(
    `persistence probe: recreating service ${mod.compose.service} ` +
      (mod.runtime === 'swarm'
        ? '(only it: a one-service stack deploy, its task forced)'
        : '(only it, --no-deps --force-recreate)'),
  );
  const up = await runtime.recreateService(target, mod.compose.service);
  const after = await listServiceContainers(runtime, mod.compose);
  const fresh = after.filter((c) => c.id !== old.id);
  const failBeforeVerify = async (problem: string): Promise<ProbeReport> => {
    // Whatever container holds the sentinels now, try to take them out again.
    const holder = fresh.length === 1 ? fresh[0]! : after.find((c) => c.id === old.id);
    if (holder) report.cleanup = await removeSentinels(runtime, holder.id, planted);
    return fail(problem);
  };
  if (up.code !== 0) {
    const last = up.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${up.code}`;
    return failBeforeVerify(`${engineFrontEnd(mod)} could not recreate service ${mod.compose.service}: ${last}`);
  }
  if (fresh.length === 0) {
    const still = after.some((c) => c.id === old.id);
    return failBeforeVerify(
      still
        ? `the container ID did not change across the recreate ` +
            `(${short(old.id)}): the recreate did not happen, so nothing was proven.`
        : `no container of service ${mod.compose.service} exists after the recreate.`,
    );
  }
  if (fresh.length > 1) {
    return failBeforeVerify(
      `${fresh.length} new containers of service ` +
        `${mod.compose.service} appeared after the recreate; the probe needs exactly one.`,
    );
  }
  const next = fresh[0]!;
  report.new_container = next.id;

  // 4. Verify (docker cp reads a container in any state, so data is checked before readiness).
  const stillThere: Planted[] = [];
  for (const p of planted) {
    const { check } = p;
    let state: SentinelState;
    try {
      state = await readSentinel(runtime, next.id, check.path, check.sentinel, p.content);
    } catch (err) {
      check.problem = `could not read ${check.path} in the recreated container ${short(next.id)}: ${errorMessage(err)}`;
      report.problems.push(check.problem);
      stillThere.push(p);
      continue;
    }
    check.after_recreate = state;
    if (state !== 'absent') stillThere.push(p);
    if (check.kind === 'durable') {
      check.ok = state === 'present';
      if (!check.ok) check.problem = regressionMessage(check.volume ?? check.path, check.path, old.id, next.id);
    } else {
      check.ok = state === 'absent';
      if (!check.ok) check.problem = ephemeralPersistedMessage(check.path, old.id, next.id);
    }
    if (check.problem) report.problems.push(check.problem);
  }

  const ready = await waitReady(runtime, next.id, deps.readyTimeoutMs ?? mod.timeoutSeconds * 1000, deps.sleep);
  if (ready) report.problems.push(ready);

  // 5. Clean up what is still there.
  report.cleanup = await removeSentinels(runtime, next.id, stillThere);
  if (report.cleanup.note) deps.warn?.(report.cleanup.note);
  report.passed = report.problems.length === 0;
  return report;
}

/** Null when the container runs (and is healthy where it has a healthcheck); else why not. */
async function waitReady(
  runtime: Runtime,
  id: string,
  timeoutMs: number,
  sleep: ((ms: number) => Promise<void>) | undefined,
): Promise<string | null> {
  const wait = waiter(sleep);
  for (;;) {
    const [c] = await runtime.inspectContainers([id]);
    if (!c) return `the recreated container ${short(id)} disappeared.`;
    if (c.state === 'running' && (c.health === null || c.health === 'healthy')) return null;
    if (c.state === 'exited' || c.state === 'dead' || c.health === 'unhealthy') {
      return (
        `the recreated container ` +
        `${short(id)} did not come back: it is ` +
        `${c.state}${c.health ? ` (${c.health})` : ''}${
          c.exitCode !== null && c.state !== 'running' ? `, exit code ` + `${c.exitCode}` : ''
        }.`
      );
    }
    if (wait.elapsed() >= timeoutMs) {
      return (
        `the recreated container ` +
        `${short(id)} is not ready after ` +
        `${Math.round(timeoutMs / 1000)} s (${c.state}${c.health ? `, ${c.health}` : ''}).`
      );
    }
    await wait.sleep(1000);
  }
}
