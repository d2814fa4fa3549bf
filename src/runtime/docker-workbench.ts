/**
 * Restore's workbench on a plain engine (docs/architecture.md §12): helper containers on a module's
 * data mounts (local image only, no network, labelled with the operation's key) that measure, stage,
 * swap, list and drop work areas; and the restore drill's scratch volumes and throwaway container.
 * DockerCli (./docker-cli.ts) and SwarmCli (./swarm-cli.ts) hand their Workbench methods to this part
 * (on Swarm, listMountEntries is refused and restore and upgrade never get here).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WORK_AREA } from '../backup/reserved.js';
import { EnvironmentError } from '../errors.js';
import type { DockerCommand } from './docker-command.js';
import {
  checkKey,
  firstLine,
  healthArgs,
  mountArg,
  outputLines,
  parseMountListing,
  parseSwapOutput,
  WORKBENCH_LABEL,
} from './docker-parsers.js';
import {
  COUNT_SCRIPT,
  DROP_SCRIPT,
  HELPER_TOOLS,
  PREPARE_SCRIPT,
  PROBE_SCRIPT,
  SPACE_SCRIPT,
  LIST_SCRIPT,
  SWAP_SCRIPT,
  TIMES_SCRIPT,
  WORK_AREA_SCRIPT,
} from './helper-scripts.js';
import type {
  DataMount,
  ExecOptions,
  ExecResult,
  HelperSpec,
  MountEntry,
  MountSpace,
  RootMeta,
  StagedCount,
  StagedTime,
  SwapResult,
  ThrowawaySpec,
  Workbench,
  WorkAreaState,
} from './types.js';

/** The mount paths inside a helper for these mounts (`/v/0`, `/v/1`, …). */
function mountPaths(mounts: readonly DataMount[]): string[] {
  return mounts.map((_, i) => `/v/${i}`);
}

export class DockerWorkbench implements Workbench {
  constructor(private readonly command: DockerCommand) {}

  private docker(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.command.docker(args, opts);
  }

  /** `docker run` options shared by every helper: local image only, no network, root, labelled. */
  private helperArgs(helper: HelperSpec, asRoot = true, readOnly = false): string[] {
    return [
      '--pull',
      'never',
      '--network',
      'none',
      ...(asRoot ? ['--user', '0:0'] : []),
      '--label',
      `${WORKBENCH_LABEL.helper}=${checkKey(helper.key)}`,
      '--entrypoint',
      '/bin/sh',
      ...helper.mounts.flatMap((m, i) => ['--mount', readOnly ? `${mountArg(m, i)},readonly` : mountArg(m, i)]),
    ];
  }

  /** Run one helper program to completion; a non-zero exit is an error naming what it said. */
  private async runHelper(
    helper: HelperSpec,
    what: string,
    script: string,
    args: readonly string[],
    readOnly = false,
  ): Promise<string> {
    const r = await this.docker([
      'run',
      '--rm',
      ...this.helperArgs(helper, true, readOnly),
      helper.image,
      '-c',
      script,
      'sh',
      ...args,
    ]);
    if (r.code !== 0) {
      throw new EnvironmentError(
        `restore helper (${what}) failed with exit ${r.code}: ${firstLine(r.stderr) || firstLine(r.stdout)}`,
      );
    }
    return r.stdout;
  }

  async helperImageProblem(image: string): Promise<string | null> {
    const r = await this.docker([
      'run',
      '--rm',
      '--pull',
      'never',
      '--network',
      'none',
      '--entrypoint',
      '/bin/sh',
      image,
      '-c',
      PROBE_SCRIPT,
      'sh',
      ...HELPER_TOOLS,
    ]);
    if (r.code === 0) return null;
    const missing = r.stdout
      .split('\n')
      .map((l) => /^missing (\S+)$/.exec(l.trim())?.[1])
      .filter((x): x is string => !!x);
    if (missing.length) return `it lacks ${missing.join(', ')}`;
    if (/no such image|not found|pull access|unable to find/i.test(r.stderr)) return 'it is not on the engine';
    if (/executable file not found|no such file or directory/i.test(r.stderr)) return 'it has no /bin/sh';
    return firstLine(r.stderr) || `the probe exited ${r.code}`;
  }

  async mountSpace(helper: HelperSpec): Promise<MountSpace[]> {
    // read-only: df writes nothing, and a dry run runs this check too (docs/architecture.md §12, "Dry runs")
    const out = await this.runHelper(helper, 'free space', SPACE_SCRIPT, mountPaths(helper.mounts), true);
    const byPath = new Map<string, { fs: string; kib: number }>();
    for (const line of out.split('\n')) {
      const [p, fs, kib] = line.trim().split(/\s+/);
      if (p && fs && kib && /^\d+$/.test(kib)) byPath.set(p, { fs, kib: Number(kib) });
    }
    return helper.mounts.map((m, i) => {
      const got = byPath.get(`/v/${i}`);
      if (!got) throw new EnvironmentError(`could not read the free space of volume ${m.volume} (df printed nothing)`);
      return { volume: m.volume, filesystem: got.fs, availableBytes: got.kib * 1024 };
    });
  }

  async prepareWorkArea(helper: HelperSpec): Promise<void> {
    await this.runHelper(helper, 'prepare the work area', PREPARE_SCRIPT, mountPaths(helper.mounts));
  }

  async stage(helper: HelperSpec, produce: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    // A created (never started) container is enough for `docker cp`; `-a` keeps the owners. No
    // --user: with `-a` the engine resolves the container's user in the image's passwd file, which
    // an image may lack; the engine extracts as root either way.
    const created = await this.docker(['create', ...this.helperArgs(helper, false), helper.image, '-c', 'exit 0']);
    if (created.code !== 0) {
      throw new EnvironmentError(`could not create the staging helper: ${firstLine(created.stderr)}`);
    }
    const id = created.stdout.trim();
    let produceError: unknown = null;
    try {
      const r = await this.docker(['cp', '-a', '-', `${id}:/v`], {
        feed: (write) =>
          produce(write).catch((err: unknown) => {
            produceError = err;
            throw err;
          }),
      });
      if (produceError) throw produceError instanceof Error ? produceError : new Error('the archive stream failed');
      if (r.code !== 0) throw new EnvironmentError(`docker cp into the staging helper failed: ${firstLine(r.stderr)}`);
    } finally {
      await this.docker(['rm', '-f', id]);
    }
  }

  // ---- archive fidelity (docs/architecture.md §12) ----
  async setStagedTimes(helper: HelperSpec, times: readonly StagedTime[]): Promise<void> {
    // in batches well below ARG_MAX; every value is a positional argument
    let batch: string[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (batch.length) await this.runHelper(helper, 'set the staged times', TIMES_SCRIPT, batch);
      batch = [];
      size = 0;
    };
    for (const t of times) {
      const p = `/v/${t.index}/${WORK_AREA}/new/${t.path}`;
      batch.push(String(t.mtime), p);
      size += Buffer.byteLength(p) + 32;
      if (size > 256 * 1024) await flush();
    }
    await flush();
  }

  async countStaged(helper: HelperSpec): Promise<StagedCount[]> {
    const out = await this.runHelper(helper, 'count the staged files', COUNT_SCRIPT, mountPaths(helper.mounts));
    const byPath = new Map<string, number[]>();
    for (const line of out.split('\n')) {
      const parts = line.trim().split(/\s+/);
      if (parts.length === 4 && parts.slice(1).every((x) => /^\d+$/.test(x))) {
        byPath.set(parts[0]!, parts.slice(1).map(Number));
      }
    }
    return helper.mounts.map((m, i) => {
      const got = byPath.get(`/v/${i}`);
      if (!got) throw new EnvironmentError(`could not count the staged files of volume ${m.volume}`);
      return { volume: m.volume, entries: got[0]!, files: got[1]!, bytes: got[2]! };
    });
  }

  async swap(
    helper: HelperSpec,
    direction: 'forward' | 'revert',
    roots: readonly (RootMeta | null)[],
  ): Promise<SwapResult[]> {
    const args = helper.mounts.flatMap((_, i) => {
      const r = roots[i] ?? null;
      return [`/v/${i}`, r ? `${r.uid}:${r.gid}:${(r.mode & 0o7777).toString(8)}` : '-'];
    });
    const out = await this.runHelper(helper, `swap ${direction}`, SWAP_SCRIPT, [direction, ...args]);
    return parseSwapOutput(out, helper.mounts, direction);
  }

  async dropWorkArea(helper: HelperSpec): Promise<void> {
    await this.runHelper(helper, 'drop the work area', DROP_SCRIPT, mountPaths(helper.mounts));
  }

  async workAreas(helper: HelperSpec): Promise<WorkAreaState[]> {
    const out = await this.runHelper(helper, 'look for work areas', WORK_AREA_SCRIPT, mountPaths(helper.mounts));
    const byPath = new Map<string, string>();
    for (const line of outputLines(out)) {
      const m = /^(\/v\/\d+) (absent|present in|present out)$/.exec(line);
      if (m) byPath.set(m[1]!, m[2]!);
    }
    return helper.mounts.map((mt, i) => {
      const got = byPath.get(`/v/${i}`);
      if (!got) throw new EnvironmentError(`could not tell whether volume ${mt.volume} holds a work area`);
      return { volume: mt.volume, present: got !== 'absent', swapped: got === 'present in' };
    });
  }

  async removeHelpers(key: string): Promise<void> {
    const ps = await this.docker(['ps', '-aq', '--filter', `label=${WORKBENCH_LABEL.helper}=${checkKey(key)}`]);
    if (ps.code !== 0) throw new EnvironmentError(`docker ps failed: ${firstLine(ps.stderr)}`);
    const ids = outputLines(ps.stdout);
    if (ids.length === 0) return;
    const r = await this.docker(['rm', '-f', ...ids]);
    if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
      throw new EnvironmentError(`could not remove restore helpers: ${firstLine(r.stderr)}`);
    }
  }

  // ---- restore drill: scratch volumes and a throwaway container, found again by label ----

  async createScratchVolumes(key: string, count: number): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      const name = `stateguard-drill-${checkKey(key)}-${i}`;
      const r = await this.docker(['volume', 'create', '--label', `${WORKBENCH_LABEL.drill}=${key}`, name]);
      if (r.code !== 0) throw new EnvironmentError(`could not create scratch volume ${name}: ${firstLine(r.stderr)}`);
      names.push(name);
    }
    return names;
  }

  async removeScratch(key: string): Promise<void> {
    const filter = `label=${WORKBENCH_LABEL.drill}=${checkKey(key)}`;
    const ps = await this.docker(['ps', '-aq', '--filter', filter]);
    if (ps.code !== 0) throw new EnvironmentError(`docker ps failed: ${firstLine(ps.stderr)}`);
    const ids = outputLines(ps.stdout);
    if (ids.length) {
      const r = await this.docker(['rm', '-f', '-v', ...ids]);
      if (r.code !== 0 && !/no such container/i.test(r.stderr)) {
        throw new EnvironmentError(`could not remove drill containers: ${firstLine(r.stderr)}`);
      }
    }
    const vs = await this.docker(['volume', 'ls', '-q', '--filter', filter]);
    if (vs.code !== 0) throw new EnvironmentError(`docker volume ls failed: ${firstLine(vs.stderr)}`);
    const names = outputLines(vs.stdout);
    if (names.length) {
      const r = await this.docker(['volume', 'rm', '-f', ...names]);
      if (r.code !== 0) throw new EnvironmentError(`could not remove drill volumes: ${firstLine(r.stderr)}`);
    }
  }

  async runThrowaway(spec: ThrowawaySpec): Promise<string> {
    // The environment goes in as an env file readable by this user only, deleted as soon as the
    // engine has it: never in argv (ps) or a log line. (/dev/stdin cannot be used: the child's
    // stdin is a socket, which the CLI cannot open by path.)
    for (const e of spec.env) {
      if (/[\n\r]/.test(e) || !/^[^=\s]+=/.test(e)) {
        throw new EnvironmentError(
          `an environment entry of the module's container (${e.split('=')[0]!.slice(0, 60)}) cannot be handed to ` +
            `the drill container (a line break or no name)`,
        );
      }
    }
    const [first, ...restEntry] = spec.entrypoint ?? [];
    const key = checkKey(spec.key);
    const mounts = spec.mounts.flatMap((m, i) => {
      if (/[,"\n\r]/.test(m.destination)) throw new EnvironmentError(`cannot mount at ${m.destination}`);
      const arg = mountArg({ volume: `#${i}`, kind: 'volume', source: m.source }, i);
      return ['--mount', arg.replace(/dst=\/v\/\d+$/, `dst=${m.destination}`)];
    });
    const tmp = await mkdtemp(path.join(tmpdir(), 'stateguard-drill-'));
    const envFile = path.join(tmp, 'env');
    const args = [
      'run',
      '-d',
      '--pull',
      'never',
      '--network',
      'none',
      '--name',
      `stateguard-drill-${key}`,
      '--label',
      `${WORKBENCH_LABEL.drill}=${key}`,
      '--env-file',
      envFile,
      ...(spec.user ? ['--user', spec.user] : []),
      ...healthArgs(spec.healthcheck),
      ...mounts,
      ...(first !== undefined ? ['--entrypoint', first] : []),
      spec.image,
      ...restEntry,
      ...(spec.cmd ?? []),
    ];
    let r: ExecResult;
    try {
      await writeFile(envFile, spec.env.map((e) => e + '\n').join(''), { mode: 0o600, flag: 'wx' });
      r = await this.docker(args);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    if (r.code !== 0) throw new EnvironmentError(`could not start the drill container: ${firstLine(r.stderr)}`);
    return r.stdout.trim();
  }

  async listMountEntries(helper: HelperSpec): Promise<{ volume: string; entries: MountEntry[] }[]> {
    // the helper's usual arguments (helperArgs), its mounts read-only: the listing never writes
    const r = await this.docker([
      'run',
      '--rm',
      ...this.helperArgs(helper, true, true),
      helper.image,
      '-c',
      LIST_SCRIPT,
      'sh',
      ...mountPaths(helper.mounts),
    ]);
    if (r.code !== 0) {
      throw new EnvironmentError(`listing the data volumes failed with exit ${r.code}: ${firstLine(r.stderr)}`);
    }
    return parseMountListing(r.stdout, helper.mounts);
  }
}
