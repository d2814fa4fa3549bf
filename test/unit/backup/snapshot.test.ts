/**
 * snapshot against the recording fake runtime (test/support/fake-runtime.ts), its `docker cp`
 * serving hand-built tar streams (rt.served): what
 * is stopped and started, what lands in out-dir, what is refused, and that verify-backup accepts
 * every snapshot (for the module and for a sidecar naming it in ref_modules).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { list as tarList } from 'tar';
import { SnapshotError, takeSnapshot } from '../../../src/backup/snapshot.js';
import { verifyBackup } from '../../../src/backup/verify.js';
import type { Logger } from '../../../src/commands/spec.js';
import { container, FakeRuntime } from '../../support/fake-runtime.js';
import { dir, entry, file, gnuLong, moduleDecl, pax, tar } from '../../support/archives.js';
import { VERSION } from '../../../src/version.js';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const outDir = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'sg-snap-'));
  made.push(d);
  return d;
};

const NOW = new Date('2026-03-10T12:00:00Z');
const STORE = moduleDecl(
  'store',
  { refModules: ['store'], maxAgeHours: 24 },
  [{ volume: 'store-data', path: '/data' }],
  'platform',
);
const STORE_INIT = moduleDecl('store-init', { refModules: ['store'], maxAgeHours: 24 }, [], 'platform');

function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
    notice: (m) => lines.push(`notice ${m}`),
    raw: () => undefined,
  };
}

const DATA_MOUNT = [
  {
    type: 'volume',
    name: 'platform_store-data',
    source: '/var/lib/docker/volumes/platform_store-data/_data',
    destination: '/data',
  },
];

function setup(served: Buffer) {
  const rt = new FakeRuntime(); // serves `docker cp` from rt.served; cpFails/startFails per test
  rt.containers = [
    container({
      id: 'store1',
      name: 'platform_store_1',
      project: 'platform',
      service: 'store',
      state: 'running',
      mounts: DATA_MOUNT,
    }),
    container({ id: 'web1', name: 'platform_web_1', project: 'platform', service: 'web', state: 'running' }),
    container({
      id: 'init1',
      name: 'platform_store-init_1',
      project: 'platform',
      service: 'store-init',
      state: 'exited',
      mounts: DATA_MOUNT,
    }),
  ];
  rt.served['/data'] = served;
  return rt;
}

const DOCKER_CP_TAR = tar(
  dir('data/'),
  file('data/a.txt', 'alpha\n', { mode: 0o640 }),
  dir('data/buckets/'),
  dir('data/buckets/main/'),
  file('data/buckets/main/empty', ''),
  pax({ path: `data/${'deep/'.repeat(40)}obj`, 'SCHILY.xattr.user.x': 'y' }),
  file('placeholder', Buffer.alloc(70_000, 7)),
  gnuLong(`data/${'gnu/'.repeat(40)}obj`),
  file('short', 'gnu'),
);

describe('snapshot (fake engine)', () => {
  it('stops only the module, writes the archive and .sha256, starts it again; verify-backup accepts it', async () => {
    const rt = setup(DOCKER_CP_TAR);
    const dirOut = outDir();
    const log = logger();
    const r = await takeSnapshot({ module: STORE, runtime: rt, outDir: dirOut, now: NOW, log });
    expect(r).toMatchObject({
      path: path.join(dirOut, 'store-20260310T120000Z.tar.gz'),
      entries: 9 - 2 + 1, // the provenance manifest first
      volumes: ['store-data'],
      taken_at: '2026-03-10T12:00:00.000Z',
    });
    expect(rt.callsTo('stop').map((c) => c.args[0])).toEqual([['store1']]);
    expect(rt.callsTo('start').map((c) => c.args[0])).toEqual([['store1']]);
    expect(rt.callsTo('copyFrom').map((c) => c.args)).toEqual([['store1', '/data']]);
    // only the archive and its checksum remain
    expect(readdirSync(dirOut).sort()).toEqual([
      'store-20260310T120000Z.tar.gz',
      'store-20260310T120000Z.tar.gz.sha256',
    ]);
    expect(readFileSync(`${r.path}.sha256`, 'utf8')).toBe(`${r.sha256}  store-20260310T120000Z.tar.gz\n`);
    expect(readFileSync(r.path).length).toBe(r.bytes);

    const listed: Array<[string, string, number]> = [];
    await tarList({ file: r.path, onReadEntry: (e) => listed.push([e.type, e.path, e.size]) });
    expect(listed[0]?.slice(0, 2)).toEqual(['File', '.stateguard/manifest.json']);
    expect(listed.slice(1)).toEqual([
      ['Directory', 'store-data/', 0],
      ['File', 'store-data/a.txt', 6],
      ['Directory', 'store-data/buckets/', 0],
      ['Directory', 'store-data/buckets/main/', 0],
      ['File', 'store-data/buckets/main/empty', 0],
      ['File', `store-data/${'deep/'.repeat(40)}obj`, 70_000],
      ['File', `store-data/${'gnu/'.repeat(40)}obj`, 3],
    ]);

    for (const mod of [STORE, STORE_INIT]) {
      const v = await verifyBackup({
        backupRef: r.path,
        cwd: dirOut,
        module: mod,
        modules: [STORE, STORE_INIT],
        backupRoots: [dirOut],
        now: NOW,
        maxEntries: 1000,
        maxUncompressedBytes: 1e9,
      });
      expect(v.problems).toEqual([]);
      expect(v).toMatchObject({ verified: true, sha256: r.sha256, entries: 8, matched_module: 'store' });
      // What the snapshot recorded (docs/architecture.md §16): counted while copying, checked by the walk.
      expect(v.manifest).toEqual({
        format: 1,
        kind: 'backup',
        module: 'store',
        runtime: 'compose',
        project: STORE.compose.project,
        service: STORE.compose.service,
        stamp: '20260310T120000Z',
        created_at: '2026-03-10T12:00:00.000Z',
        volumes: [{ name: 'store-data', path: '/data', entries: 7, bytes: 6 + 70_000 + 3 }],
        image: { ref: rt.containers[0]!.imageRef, id: rt.containers[0]!.imageId },
        engine_id: 'FAKE:ENGINE:ID',
        stateguard_version: VERSION,
      });
    }
  });

  it.each([
    [
      'a symlink',
      entry({ name: 'data/link', type: '2', linkname: '/etc/passwd' }),
      /holds a symbolic link at \/data\/link/,
    ],
    [
      'a hard link',
      entry({ name: 'data/hard', type: '1', linkname: 'data/a.txt' }),
      /holds a hard link at \/data\/hard/,
    ],
    ['a FIFO', entry({ name: 'data/fifo', type: '6' }), /holds a FIFO at \/data\/fifo/],
    ['a name with a backslash', file('data/a\\b'), /verify-backup would refuse \(path contains a backslash/],
  ])(
    'a volume holding %s is refused, naming the entry; the module is started again and nothing is left',
    async (_, bad, message) => {
      const rt = setup(tar(dir('data/'), file('data/a.txt', 'alpha\n'), bad, file('data/z', 'z')));
      const dirOut = outDir();
      const err = await takeSnapshot({ module: STORE, runtime: rt, outDir: dirOut, now: NOW, log: logger() }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SnapshotError);
      expect((err as SnapshotError).reason).toBe('snapshot-failed');
      expect((err as Error).message).toMatch(message);
      expect(rt.callsTo('start').map((c) => c.args[0])).toEqual([['store1']]);
      expect(readdirSync(dirOut)).toEqual([]);
    },
  );

  it('a module with no declared data volumes is refused before anything is stopped', async () => {
    const rt = setup(DOCKER_CP_TAR);
    const err = await takeSnapshot({
      module: STORE_INIT,
      runtime: rt,
      outDir: outDir(),
      now: NOW,
      log: logger(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as Error).message).toMatch(/declares no data volumes \(spec\.data\.volumes\)/);
    expect(rt.callsTo('stop')).toEqual([]);
  });

  it('a declared path that is not a mount is refused before anything is stopped', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.containers[0]!.mounts = [];
    const err = await takeSnapshot({ module: STORE, runtime: rt, outDir: outDir(), now: NOW, log: logger() }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/\/data \(volume store-data\) is not a mount in container platform_store_1/);
    expect(rt.callsTo('stop')).toEqual([]);
  });

  it('no container of the service: refused', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.containers = rt.containers.filter((c) => c.service !== 'store');
    const err = await takeSnapshot({ module: STORE, runtime: rt, outDir: outDir(), now: NOW, log: logger() }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/no container of service 'store'/);
  });

  it('another running container writing the same volume: refused, nothing stopped', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.containers[2]!.state = 'running';
    const err = await takeSnapshot({ module: STORE, runtime: rt, outDir: outDir(), now: NOW, log: logger() }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ reason: 'volume-in-use' });
    expect((err as Error).message).toMatch(
      /other running containers use the module's data: platform_store-init_1 \(volume platform_store-data at \/data, data volume store-data\)/,
    );
    expect((err as Error).message).toMatch(/Nothing was changed/);
    // one listing of the engine's running containers, whatever their number
    expect(rt.callsTo('listRunningContainers')).toHaveLength(1);
    expect(rt.callsTo('stop')).toEqual([]);
  });

  it('a crash injected between write and rename leaves nothing under the final name, and the module runs again', async () => {
    const rt = setup(DOCKER_CP_TAR);
    const dirOut = outDir();
    const err = await takeSnapshot({
      module: STORE,
      runtime: rt,
      outDir: dirOut,
      now: NOW,
      log: logger(),
      hooks: {
        publish: async () => {
          throw new Error('injected crash before rename');
        },
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/injected crash before rename/);
    expect(readdirSync(dirOut)).toEqual([]);
    expect(rt.containers[0]!.state).toBe('running');
  });

  it('docker cp failing: the module is started again and the error is reported', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.cpFails = true;
    const dirOut = outDir();
    const err = await takeSnapshot({ module: STORE, runtime: rt, outDir: dirOut, now: NOW, log: logger() }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/docker cp from store1:\/data failed/);
    expect(rt.callsTo('start')).toHaveLength(1);
    expect(readdirSync(dirOut)).toEqual([]);
  });

  it('containers that do not come back: the archive is kept, but the command fails loudly', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.startFails = true;
    const dirOut = outDir();
    const log = logger();
    const err = await takeSnapshot({ module: STORE, runtime: rt, outDir: dirOut, now: NOW, log }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as Error).message).toMatch(
      /the snapshot was written .*store-20260310T120000Z\.tar\.gz.*starting platform_store_1 again failed.*the module is DOWN/,
    );
    expect(log.lines.some((l) => l.startsWith('error SNAPSHOT: CONTAINERS OF STORE ARE NOT RUNNING'))).toBe(true);
    expect(readdirSync(dirOut).sort()).toEqual([
      'store-20260310T120000Z.tar.gz',
      'store-20260310T120000Z.tar.gz.sha256',
    ]);
  });

  // The demo's flake: snapshot returned while the parent was still `health: starting`, so the
  // apply right after it was refused as dependency-disturbed. Back means healthy, bounded.
  it('waits until a restarted container with a healthcheck is healthy, then returns', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.containers[0]!.health = 'healthy';
    let polls = 0;
    rt.start = async (ids) => {
      rt.calls.push({ method: 'start', args: [[...ids]] });
      for (const c of rt.containers) if (ids.includes(c.id)) Object.assign(c, { state: 'running', health: 'starting' });
      return [...ids];
    };
    const inner = rt.inspectContainers.bind(rt);
    rt.inspectContainers = async (ids) => {
      if (rt.callsTo('start').length > 0 && ++polls === 3) rt.containers[0]!.health = 'healthy';
      return inner(ids);
    };
    const r = await takeSnapshot({
      module: STORE,
      runtime: rt,
      outDir: outDir(),
      now: NOW,
      log: logger(),
      hooks: { sleep: async () => undefined },
    });
    expect(r.path).toMatch(/store-20260310T120000Z\.tar\.gz$/);
    expect(polls).toBeGreaterThanOrEqual(3);
  });

  it('a restarted container that stays unhealthy past the bound: snapshot-failed, the module named, the archive kept', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.start = async (ids) => {
      rt.calls.push({ method: 'start', args: [[...ids]] });
      for (const c of rt.containers)
        if (ids.includes(c.id)) Object.assign(c, { state: 'running', health: 'unhealthy' });
      return [...ids];
    };
    const dirOut = outDir();
    const err = await takeSnapshot({
      module: STORE,
      runtime: rt,
      outDir: dirOut,
      now: NOW,
      log: logger(),
      readyTimeoutSeconds: 0.05,
      hooks: { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))) },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as SnapshotError).reason).toBe('snapshot-failed');
    expect((err as Error).message).toMatch(/platform_store_1 is unhealthy .*healthy where it has a healthcheck/);
    expect(readdirSync(dirOut).sort()).toEqual([
      'store-20260310T120000Z.tar.gz',
      'store-20260310T120000Z.tar.gz.sha256',
    ]);
  });

  it('a restarted container that exits at once is not waited for: snapshot-failed straight away', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.start = async (ids) => {
      rt.calls.push({ method: 'start', args: [[...ids]] });
      for (const c of rt.containers) if (ids.includes(c.id)) Object.assign(c, { state: 'exited', exitCode: 1 });
      return [...ids];
    };
    const err = await takeSnapshot({
      module: STORE,
      runtime: rt,
      outDir: outDir(),
      now: NOW,
      log: logger(),
      readyTimeoutSeconds: 3600,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/platform_store_1 is exited/);
  });

  it('never overwrites an existing snapshot of the same second', async () => {
    const rt = setup(DOCKER_CP_TAR);
    const dirOut = outDir();
    await takeSnapshot({ module: STORE, runtime: rt, outDir: dirOut, now: NOW, log: logger() });
    const err = await takeSnapshot({ module: STORE, runtime: rt, outDir: dirOut, now: NOW, log: logger() }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/already exists; refusing to overwrite/);
  });

  it('a stopped module is snapshotted and left stopped', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.containers[0]!.state = 'exited';
    await takeSnapshot({ module: STORE, runtime: rt, outDir: outDir(), now: NOW, log: logger() });
    expect(rt.callsTo('start')).toEqual([]);
    expect(rt.containers[0]!.state).toBe('exited');
  });

  it('takes the module lock (shared with apply, restore and upgrade) and releases it; a held lock refuses with nothing stopped', async () => {
    const { lockName } = await import('../../../src/ops/lock.js');
    const rt = setup(DOCKER_CP_TAR);
    await takeSnapshot({
      module: STORE,
      runtime: rt,
      outDir: outDir(),
      now: NOW,
      log: logger(),
      holder: 'host t, pid 1',
    });
    expect(rt.callsTo('createLock').map((c) => c.args[0])).toEqual([lockName('platform', 'store')]);
    expect(rt.locks.size).toBe(0);

    const held = setup(DOCKER_CP_TAR);
    await held.createLock(
      lockName('platform', 'store'),
      {
        'io.stateguard.lock': '1',
        'io.stateguard.lock.holder': 'an apply',
        'io.stateguard.lock.since': NOW.toISOString(),
      },
      { images: [], project: 'platform' },
    );
    const err = await takeSnapshot({ module: STORE, runtime: held, outDir: outDir(), now: NOW, log: logger() }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ reason: 'locked', exitCode: 1 });
    expect((err as Error).message).toMatch(/an apply/);
    expect(held.callsTo('stop')).toEqual([]);
  });
});

describe('snapshot: downtime and progress (fake clock, docs/architecture.md §7)', () => {
  /** A clock the simulated engine advances: stop 1 s, every chunk `docker cp` writes 1 s, start 0.5 s. */
  function clocked(rt: FakeRuntime): { t: number } {
    const clock = { t: NOW.getTime() };
    const stop = rt.stop.bind(rt);
    const start = rt.start.bind(rt);
    const copyFrom = rt.copyFrom.bind(rt);
    rt.stop = async (ids, s) => {
      await stop(ids, s);
      clock.t += 1000;
    };
    rt.start = async (ids) => {
      const back = await start(ids);
      clock.t += 500;
      return back;
    };
    rt.copyFrom = async (id, p, sink) => {
      const write = sink.write.bind(sink) as (chunk: Buffer) => boolean;
      (sink as { write: (chunk: Buffer) => boolean }).write = (chunk: Buffer) => {
        clock.t += 1000;
        return write(chunk);
      };
      return copyFrom(id, p, sink);
    };
    return clock;
  }

  it('downtime_ms runs from the stop being issued to the module running again; stopped/started lines with the time', async () => {
    const rt = setup(DOCKER_CP_TAR);
    const clock = clocked(rt);
    const log = logger();
    const chunks = Math.ceil(DOCKER_CP_TAR.length / 7777); // the simulated docker cp writes 7777-byte chunks
    const r = await takeSnapshot({
      module: STORE,
      runtime: rt,
      outDir: outDir(),
      now: NOW,
      log,
      clock: () => new Date(clock.t),
      progressIntervalMs: 3000,
    });
    expect(r.downtime_ms).toBe(1000 + chunks * 1000 + 500);
    expect(Number.isInteger(r.downtime_ms)).toBe(true);
    expect(log.lines).toContain('info snapshot store: stopped platform_store_1 at 2026-03-10T12:00:00Z');
    expect(log.lines.find((l) => l.includes('started platform_store_1 again'))).toMatch(
      /^info snapshot store: started platform_store_1 again at 2026-03-10T12:00:\d\dZ \(running, and healthy where it has a healthcheck\); down for \d+(\.\d)? s$/,
    );
    // progress: at most one line per 3 s of the fake clock (when a chunk is counted depends on the
    // stream's buffering, so only the bounds are asserted)
    const progress = log.lines.filter((l) => l.includes('copied,'));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(Math.floor(chunks / 3));
    expect(progress[0]).toMatch(
      /^info snapshot store: copying \/data \(volume store-data\): [\d.]+ KiB copied, [\d.]+ KiB\/s, \d+ s elapsed$/,
    );
  });

  it('a stopped module: nothing stopped, downtime_ms null, no stopped/started line', async () => {
    const rt = setup(DOCKER_CP_TAR);
    rt.containers.find((c) => c.id === 'store1')!.state = 'exited';
    const log = logger();
    const r = await takeSnapshot({ module: STORE, runtime: rt, outDir: outDir(), now: NOW, log });
    expect(r.downtime_ms).toBeNull();
    expect(log.lines.some((l) => / stopped .* at |started .* again/.test(l))).toBe(false);
  });
});
