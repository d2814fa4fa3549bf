/**
 * Data mounts (docs/architecture.md §12, "Data mounts"), without an engine: the one overlap rule
 * (src/model/mount-overlap.ts) used by validate and every preflight, the other-writers rule
 * (src/ops/volume-users.ts), the reserved name in verify-backup, and the preflights of snapshot,
 * restore and upgrade refusing before anything stops.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspectArchive } from '../../src/backup/archive.js';
import { isReservedName, WORK_AREA } from '../../src/backup/reserved.js';
import { SnapshotError, takeSnapshot } from '../../src/backup/snapshot.js';
import { mountOverlaps, normalizePath, pathRelation, type MountRef } from '../../src/model/mount-overlap.js';
import { EnvironmentError } from '../../src/errors.js';
import { validateModules } from '../../src/model/validate.js';
import { fileRenderer } from '../support/file-renderer.js';
import { otherUsers } from '../../src/ops/volume-users.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import type { ContainerInfo, Mount } from '../../src/runtime/types.js';
import { dir, file, gz, moduleDecl, tar } from '../support/archives.js';
import { container, FakeRuntime } from '../support/fake-runtime.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { ok, scripted } from '../support/scripted-runner.js';

describe('pathRelation: by whole segments, normalised', () => {
  it.each<[string, string, ReturnType<typeof pathRelation>]>([
    ['/data', '/data', 'same'],
    ['/data/', '/data', 'same'],
    ['/data//', '//data', 'same'],
    ['/data/./x/..', '/data', 'same'],
    ['/data/sub', '/data', 'a-inside-b'],
    ['/data', '/data/sub/deeper', 'b-inside-a'],
    ['/srv/a', '/srv/ab', null],
    ['/srv/ab', '/srv/a', null],
    ['/srv/a/../b', '/srv/b/c', 'b-inside-a'],
    ['/', '/anything', 'b-inside-a'],
    ['/data', '/uploads', null],
    ['./h', './h/sub', 'b-inside-a'],
    ['h', './h', 'same'],
    ['/h', 'h', null],
  ])('%s vs %s → %s', (a, b, want) => {
    expect(pathRelation(a, b)).toBe(want);
  });

  it('normalizePath keeps the root and drops trailing slashes', () => {
    expect(normalizePath('/')).toBe('/');
    expect(normalizePath('/a/b/')).toBe('/a/b');
    expect(normalizePath('/a/../../b')).toBe('/b');
  });
});

describe('mountOverlaps: the one rule of validate and every preflight', () => {
  const bind = (volume: string, p: string, hostPath: string): MountRef => ({ volume, path: p, kind: 'bind', hostPath });
  const vol = (volume: string, p: string, name: string, hostPath?: string): MountRef => ({
    volume,
    path: p,
    kind: 'volume',
    name,
    ...(hostPath ? { hostPath } : {}),
  });
  it.each<[string, MountRef[], Array<[string, string, string]>]>([
    [
      'nested bind sources',
      [bind('data', '/data', '/srv/h'), bind('uploads', '/uploads', '/srv/h/sub')],
      [['data', 'uploads', 'host']],
    ],
    [
      'nested container paths',
      [vol('data', '/data', 'p_data'), vol('sub', '/data/sub', 'p_sub')],
      [['data', 'sub', 'container']],
    ],
    ['the same container path twice', [vol('a', '/data/', 'p_a'), vol('b', '/data', 'p_b')], [['a', 'b', 'container']]],
    ['the same named volume twice', [vol('a', '/a', 'p_x'), vol('b', '/b', 'p_x')], [['a', 'b', 'volume']]],
    ['the same bind directory twice', [bind('a', '/a', '/srv/h/'), bind('b', '/b', '/srv/./h')], [['a', 'b', 'host']]],
    [
      "a bind inside a named volume's mountpoint",
      [
        vol('a', '/a', 'p_a', '/var/lib/docker/volumes/p_a/_data'),
        bind('b', '/b', '/var/lib/docker/volumes/p_a/_data/x'),
      ],
      [['a', 'b', 'host']],
    ],
    ['sibling directories with a common prefix', [bind('a', '/a', '/srv/a'), bind('b', '/b', '/srv/ab')], []],
    [
      'two named volumes',
      [
        vol('a', '/a', 'p_a', '/var/lib/docker/volumes/p_a/_data'),
        vol('b', '/b', 'p_b', '/var/lib/docker/volumes/p_b/_data'),
      ],
      [],
    ],
    [
      'a bind whose source is unknown (compared by container path only)',
      [bind('a', '/a', '/srv'), { volume: 'b', path: '/b', kind: 'bind' }],
      [],
    ],
    [
      'three mounts, two pairs',
      [bind('a', '/a', '/srv'), bind('b', '/b', '/srv/x'), bind('c', '/a/c', '/elsewhere')],
      [
        ['a', 'b', 'host'],
        ['a', 'c', 'container'],
      ],
    ],
  ])('%s', (_name, mounts, want) => {
    expect(mountOverlaps(mounts).map((o) => [o.a.volume, o.b.volume, o.where])).toEqual(want);
  });
});

describe('validate refuses overlapping data mounts, naming both and the fix', () => {
  const compose = (volumes: string): string =>
    `services:\n  app:\n    image: stateguard/busybox:1.0.0\n    volumes:\n${volumes}volumes:\n  data: {}\n  other: {}\n`;
  const mod = (vols: Array<[string, string]>): string =>
    moduleYaml(
      'app',
      `  class: stateful\n  compose: { file: ../../compose.yaml, project: p, service: app }\n  backup: { ref_modules: [app], max_age_hours: 24 }\n  data:\n    volumes:\n${vols
        .map(([v, p]) => `      - { volume: ${v}, path: ${p} }\n`)
        .join('')}`,
    );
  it.each<[string, string, Array<[string, string]>, RegExp | null]>([
    [
      'relative binds, one inside the other',
      '      - ./h:/data\n      - ./h/sub:/uploads\n',
      [
        ['data', '/data'],
        ['uploads', '/uploads'],
      ],
      /data volumes 'data' \(\/data, bind \.\/h\) and 'uploads' \(\/uploads, bind \.\/h\/sub\) overlap: the host directory of 'uploads' is inside that of 'data'.*mount the parent once and declare it as one data volume, or use separate directories/,
    ],
    [
      'a relative and an absolute spelling of nested directories',
      '      - ./h/../h:/data\n      - type: bind\n        source: ./h/x\n        target: /x\n',
      [
        ['data', '/data'],
        ['x', '/x'],
      ],
      /'data' .* and 'x' .* overlap/,
    ],
    [
      'nested container paths of two named volumes',
      '      - data:/data\n      - other:/data/sub\n',
      [
        ['data', '/data'],
        ['other', '/data/sub'],
      ],
      /\/data\/sub is inside \/data in the container/,
    ],
    [
      'siblings with a common prefix are fine',
      '      - ./srv/a:/a\n      - ./srv/ab:/ab\n',
      [
        ['a', '/a'],
        ['ab', '/ab'],
      ],
      null,
    ],
    [
      'separate directories are fine',
      '      - ./h:/data\n      - ./u:/uploads\n',
      [
        ['data', '/data'],
        ['uploads', '/uploads'],
      ],
      null,
    ],
  ])('%s', async (_name, volumes, vols, want) => {
    try {
      const root = tempRepo({ 'compose.yaml': compose(volumes), 'modules/app/module.yaml': mod(vols) });
      const { problems } = await validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
      const overlap = problems.filter((p) => /overlap/.test(p.message));
      if (want) {
        expect(overlap).toHaveLength(1);
        expect(overlap[0]!.message).toMatch(want);
      } else expect(problems).toEqual([]);
    } finally {
      cleanupTempRepos();
    }
  });
});

describe('otherUsers: any running container on the data, by name or by host directory', () => {
  const DATA: Mount = {
    type: 'volume',
    name: 'p_data',
    source: '/var/lib/docker/volumes/p_data/_data',
    destination: '/data',
  };
  const BLOBS: Mount = { type: 'bind', source: '/srv/app/blobs', destination: '/blobs' };
  const own = container({ id: 'own', project: 'p', service: 'db', mounts: [DATA, BLOBS] });
  const other = (mounts: Mount[], over: Partial<ContainerInfo> = {}): ContainerInfo =>
    container({ id: 'x', name: 'agent', project: 'q', service: 'agent', mounts, ...over });
  it.each<[string, Mount[], string[]]>([
    [
      'the same named volume (another project)',
      [{ type: 'volume', name: 'p_data', source: '/var/lib/docker/volumes/p_data/_data', destination: '/logs' }],
      ['data volume p_data at /logs'],
    ],
    [
      'the parent of the data bind directory',
      [{ type: 'bind', source: '/srv/app', destination: '/host' }],
      ['blobs bind /srv/app at /host'],
    ],
    [
      'the data bind directory itself, spelled with a trailing slash',
      [{ type: 'bind', source: '/srv/app/blobs/', destination: '/b' }],
      ['blobs bind /srv/app/blobs/ at /b'],
    ],
    [
      'a child of the data bind directory',
      [{ type: 'bind', source: '/srv/app/blobs/2024', destination: '/y' }],
      ['blobs bind /srv/app/blobs/2024 at /y'],
    ],
    [
      "a file inside the named volume's mountpoint",
      [{ type: 'bind', source: '/var/lib/docker/volumes/p_data/_data/conf.yml', destination: '/c' }],
      ['data bind /var/lib/docker/volumes/p_data/_data/conf.yml at /c'],
    ],
    ['a sibling with a common prefix', [{ type: 'bind', source: '/srv/app/blobs2', destination: '/z' }], []],
    [
      'another named volume',
      [{ type: 'volume', name: 'p_other', source: '/var/lib/docker/volumes/p_other/_data', destination: '/o' }],
      [],
    ],
    ['a tmpfs', [{ type: 'tmpfs', source: '', destination: '/srv/app' }], []],
    ['no mounts', [], []],
  ])('%s', (_name, mounts, want) => {
    const users = otherUsers(
      [
        { volume: 'data', mount: DATA },
        { volume: 'blobs', mount: BLOBS },
      ],
      [own, other(mounts)],
      new Set(['own']),
    );
    expect(users.map((u) => `${u.volume} ${u.how}`)).toEqual(want);
  });

  it("the module's own containers never count", () => {
    expect(
      otherUsers([{ volume: 'data', mount: DATA }], [own, { ...own, id: 'own2' }], new Set(['own', 'own2'])),
    ).toEqual([]);
  });
});

describe('verify-backup: the reserved work-area name never verifies', () => {
  const layout = { module: 'store', volumes: ['store-data'] };
  const check = async (archive: Buffer) =>
    (
      await inspectArchive(
        (async function* () {
          yield archive;
        })(),
        { maxUncompressedBytes: 1e9, maxEntries: 1000 },
        { layout },
      )
    ).problems;
  it.each([
    ['the work-area directory', [dir(`store-data/${WORK_AREA}/`), file(`store-data/${WORK_AREA}/x`)]],
    ['a file under it, without its directory entry', [file(`./store-data/${WORK_AREA}/new/evil`)]],
    ['a file named like it', [file(`store-data/${WORK_AREA}`)]],
    ['another case (a case-insensitive filesystem)', [file('store-data/.StateGuard-Restore/x')]],
  ])('%s → reserved-name', async (_n, entries) => {
    const problems = await check(gz(tar(dir('store-data/'), file('store-data/a', 'a'), ...entries)));
    expect(problems.filter((p) => p.code === 'reserved-name')).toHaveLength(1);
  });

  it('deeper down the name is ordinary data', async () => {
    expect(await check(gz(tar(dir('store-data/'), file(`store-data/sub/${WORK_AREA}/x`, 'x'))))).toEqual([]);
  });

  it('isReservedName compares as a case-insensitive filesystem would', () => {
    expect(
      [WORK_AREA, '.STATEGUARD-RESTORE', '.stateguard-restorex', 'stateguard-restore'].map(isReservedName),
    ).toEqual([true, true, false, false]);
  });
});

describe('snapshot refuses before anything stops', () => {
  const BACKUP = { refModules: ['store'], maxAgeHours: 24 };
  const STORE = moduleDecl('store', BACKUP, [{ volume: 'store-data', path: '/data' }], 'platform');
  const MOUNT: Mount = {
    type: 'volume',
    name: 'platform_store-data',
    source: '/var/lib/docker/volumes/platform_store-data/_data',
    destination: '/data',
  };
  const quiet = {
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    notice: () => undefined,
    raw: () => undefined,
  };
  function setup(): FakeRuntime {
    const rt = new FakeRuntime();
    rt.containers = [
      container({ id: 'store1', name: 'platform_store_1', project: 'platform', service: 'store', mounts: [MOUNT] }),
    ];
    return rt;
  }
  const snap = async (rt: FakeRuntime, mod = STORE): Promise<unknown> => {
    const out = mkdtempSync(path.join(tmpdir(), 'sg-dm-'));
    try {
      return await takeSnapshot({
        module: mod,
        runtime: rt,
        outDir: out,
        now: new Date('2026-03-01T12:00:00Z'),
        log: quiet,
      }).catch((e: unknown) => e);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };

  it('a plain container mounting the parent of the data directory: volume-in-use, naming it', async () => {
    const rt = setup();
    rt.containers.push(
      container({
        id: 'agent1',
        name: 'agent',
        project: '',
        service: '',
        mounts: [{ type: 'bind', source: '/var/lib/docker/volumes', destination: '/vols' }],
      }),
    );
    const err = await snap(rt);
    expect(err).toBeInstanceOf(SnapshotError);
    expect(err).toMatchObject({ reason: 'volume-in-use' });
    expect((err as Error).message).toMatch(
      /agent \(bind \/var\/lib\/docker\/volumes at \/vols, data volume store-data\)/,
    );
    expect(rt.callsTo('stop')).toEqual([]);
  });

  it('the reserved work-area name in a volume: refused, naming recover', async () => {
    const rt = setup();
    rt.existing.store1 = [`/data/${WORK_AREA}`];
    const err = await snap(rt);
    expect(err).toMatchObject({ reason: 'snapshot-failed' });
    expect((err as Error).message).toMatch(
      /\/data\/\.stateguard-restore exists: that name is reserved.*stateguard recover --module store/,
    );
    expect(rt.callsTo('existingPaths')).toEqual([
      { method: 'existingPaths', args: ['store1', [`/data/${WORK_AREA}`]] },
    ]);
    expect(rt.callsTo('stop')).toEqual([]);
  });

  it('the reserved name cannot be checked: refused (never a pass)', async () => {
    const rt = setup();
    rt.existingPaths = async () => {
      throw new Error('engine said no');
    };
    const err = await snap(rt);
    expect((err as Error).message).toMatch(/could not check whether the data volumes .* engine said no/);
    expect(rt.callsTo('stop')).toEqual([]);
  });

  it('a case variant of the reserved name, which the live check does not see, is refused while copying', async () => {
    const rt = setup();
    rt.served['/data'] = tar(
      dir('data/'),
      file('data/a', 'a'),
      dir('data/.Stateguard-Restore/'),
      file('data/.Stateguard-Restore/x', 'x'),
    );
    const err = await snap(rt);
    expect((err as Error).message).toMatch(/\/data\/\.Stateguard-Restore exists: that name is reserved/);
    // it was stopped for the copy and started again
    expect(rt.callsTo('start')).toHaveLength(1);
  });

  it('nested data mounts: refused, naming both', async () => {
    const rt = setup();
    const mod = moduleDecl(
      'store',
      BACKUP,
      [
        { volume: 'store-data', path: '/data' },
        { volume: 'uploads', path: '/data/uploads' },
      ],
      'platform',
    );
    rt.containers[0]!.mounts = [MOUNT, { type: 'bind', source: '/srv/up', destination: '/data/uploads' }];
    const err = await snap(rt, mod);
    expect((err as Error).message).toMatch(
      /'store-data' \(\/data, volume platform_store-data\) and 'uploads' \(\/data\/uploads, bind \/srv\/up\) overlap/,
    );
    expect(rt.callsTo('stop')).toEqual([]);
    expect(rt.callsTo('copyFrom')).toEqual([]);
  });
});

describe('DockerCli: the engine side of the data-mount checks (scripted, no engine)', () => {
  it('listRunningContainers: one ps of every running container (no project filter) and one inspect', async () => {
    const inspect = [
      {
        Id: 'a',
        Name: '/a',
        Config: { Labels: {} },
        State: { Status: 'running' },
        Mounts: [{ Type: 'bind', Source: '/srv', Destination: '/h' }],
      },
      { Id: 'b', Name: '/b', Config: { Labels: {} }, State: { Status: 'exited' }, Mounts: [] },
      { Id: 'c', Name: '/c', Config: { Labels: {} }, State: { Status: 'paused' }, Mounts: [] },
    ];
    const s = scripted([
      [/^docker ps -q --no-trunc$/, ok('a\nb\nc\n')],
      [/^docker inspect --type container a b c$/, ok(JSON.stringify(inspect))],
    ]);
    const got = await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).listRunningContainers();
    expect(got.map((c) => [c.id, c.mounts.map((m) => m.source)])).toEqual([
      ['a', ['/srv']],
      ['c', []],
    ]);
    expect(s.calls).toHaveLength(2);
  });

  it('existingPaths: docker cp per path; an existing path is cut off at its first bytes, a missing one is absent, anything else fails', async () => {
    const s = scripted([
      [
        /^docker cp c1:\/a\/\.stateguard-restore -$/,
        (_a, opts) => {
          // what spawnProcess does: the first bytes reach the sink, the gate rejects, the child is killed (125)
          opts?.stdoutSink?.write(Buffer.from('tar header'));
          return { code: 125, stdout: '', stderr: '(input aborted: the path exists)' };
        },
      ],
      [
        /^docker cp c1:\/b\/\.stateguard-restore -$/,
        { code: 1, stdout: '', stderr: 'Error: Could not find the file /b/.stateguard-restore in container c1' },
      ],
      [/^docker cp c1:\/c -$/, ok('')],
      [/^docker cp c2:/, { code: 1, stdout: '', stderr: 'Error: No such container: c2' }],
    ]);
    const cli = new DockerCli({ runner: s.runner, compose: 'v1', env: {} });
    expect(await cli.existingPaths('c1', ['/a/.stateguard-restore', '/b/.stateguard-restore', '/c'])).toEqual([
      '/a/.stateguard-restore',
      '/c',
    ]);
    expect(s.calls.every((c) => typeof c.opts?.feed === 'function' && c.opts.timeoutMs === 120_000)).toBe(true);
    await expect(cli.existingPaths('c2', ['/a'])).rejects.toBeInstanceOf(EnvironmentError);
  });
});
