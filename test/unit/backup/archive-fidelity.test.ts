/**
 * What the archive says is what gets restored (docs/architecture.md §5, §12): for each shape real
 * writers produce — PAX uid/gid/mtime overriding the header, GNU base-256 numbers, fractional and
 * negative times, parent directories without entries, setuid files — verify-backup accepts it, our
 * walker's effective owner, time and mode equal Python tarfile's and GNU tar's, and the re-packer
 * writes exactly those values (read back by our walker) and counts what it writes. Names no
 * filesystem takes are refused in verify, as extraction would fail. Spawns tar/python3; no docker.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { inspectArchive } from '../../../src/backup/archive.js';
import { TarWalker, type WalkedEntry } from '../../../src/backup/tar-walker.js';
import { WORK_AREA, repackForStaging } from '../../../src/backup/repack.js';
import { dir, file, gz, pax, tar } from '../../support/archives.js';

const LAYOUT = { module: 'store', volumes: ['store-data'] };
const LIMITS = { maxUncompressedBytes: 64 * 1024 * 1024, maxEntries: 10_000 };

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** [name, uid, gid, mtime seconds (fraction included), permission bits] */
type Meta = [string, number, number, number, number];

async function ours(archive: Buffer): Promise<{ metas: Meta[]; problems: string[]; warnings: string[] }> {
  const metas: Meta[] = [];
  const r = await inspectArchive(once(archive), LIMITS, {
    layout: LAYOUT,
    onEntry: (e) => metas.push(meta(e)),
  });
  return { metas, problems: r.problems.map((p) => p.code), warnings: r.warnings.map((w) => `${w.code} ${w.entry}`) };
}

function meta(e: WalkedEntry): Meta {
  return [e.path.replace(/\/$/, ''), e.uid, e.gid, e.mtime + (e.mtimeNsec ?? 0) / 1e9, e.mode & 0o7777];
}

const PY_LIST = `
import io, json, sys, tarfile
out = []
with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()), mode='r:*') as t:
    for m in t:
        out.append([m.name, m.uid, m.gid, float(m.mtime), m.mode & 0o7777])
sys.stdout.write(json.dumps(out))
`;
function pythonMetas(archive: Buffer): Meta[] {
  const r = spawnSync('python3', ['-c', PY_LIST], { input: archive });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return (JSON.parse(r.stdout.toString()) as Meta[]).map(([n, ...rest]) => [n.replace(/\/$/, ''), ...rest]);
}

/** GNU tar's numeric owner and full time: `-rwsr-xr-x 3000000/3000001 3 1960-01-01 00:00:00[.frac] name`. */
function gnuTarMetas(archive: Buffer): [string, number, number, number][] {
  const r = spawnSync('tar', ['--numeric-owner', '--full-time', '--quoting-style=literal', '-tvzf', '-'], {
    input: archive,
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' },
  });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^\S+\s+(\d+)\/(\d+)\s+\d+\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?\s+(.*)$/.exec(line);
      if (!m) throw new Error(`unparsed: ${line}`);
      const whole = Date.parse(`${m[3]}T${m[4]}Z`) / 1000;
      return [m[6]!.replace(/\/$/, ''), Number(m[1]), Number(m[2]), whole + Number(m[5] ?? 0)];
    });
}

/** Python's tarfile as a writer: a file owned by 3000000:3000001 from 1960, in GNU (base-256) or PAX form. */
const PY_WRITE = `
import io, sys, tarfile
fmt = {'pax': tarfile.PAX_FORMAT, 'gnu': tarfile.GNU_FORMAT}[sys.argv[1]]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w:gz', format=fmt) as t:
    d = tarfile.TarInfo('store-data'); d.type = tarfile.DIRTYPE; d.mode = 0o750; d.uid = 3000000; d.gid = 3000001
    d.mtime = 1700000000; t.addfile(d)
    f = tarfile.TarInfo('store-data/db/t'); f.size = 3; f.uid = 3000000; f.gid = 3000001; f.mtime = -315619200
    f.mode = 0o640; t.addfile(f, io.BytesIO(b'hi\\n'))
    g = tarfile.TarInfo('store-data/late'); g.size = 1; g.uid = 4294967294; g.gid = 2097152; g.mtime = 8 ** 11
    t.addfile(g, io.BytesIO(b'x'))
sys.stdout.buffer.write(buf.getvalue())
`;
function pythonArchive(format: 'pax' | 'gnu'): Buffer {
  const r = spawnSync('python3', ['-c', PY_WRITE, format]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

/** `tar -czf x.tgz store-data/db/t`: GNU tar names only the file, no directory entries. */
function gnuTarFileOnly(): Buffer {
  const work = mkdtempSync(path.join(tmpdir(), 'sg-fidelity-'));
  try {
    mkdirSync(path.join(work, 'store-data', 'db'), { recursive: true });
    writeFileSync(path.join(work, 'store-data', 'db', 't'), 'table\n');
    const r = spawnSync('tar', ['-czf', 'x.tgz', 'store-data/db/t'], { cwd: work });
    if (r.status !== 0) throw new Error(r.stderr.toString());
    return readFileSync(path.join(work, 'x.tgz'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const b256 = (len: number, value: bigint): Buffer => {
  const out = Buffer.alloc(len);
  let v = value < 0n ? (1n << BigInt(8 * len)) + value : value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0] = value < 0n ? 0xff : 0x80;
  return out;
};

const SHAPES: Array<[string, () => Buffer]> = [
  ['Python tarfile GNU format (base-256 uid, gid, mtime)', () => pythonArchive('gnu')],
  ['Python tarfile PAX format (PAX uid, gid, mtime; header fields 0)', () => pythonArchive('pax')],
  [
    'hand-built: PAX uid/gid/mtime over other header values, a fractional and a negative fractional mtime',
    () =>
      gz(
        tar(
          dir('store-data/'),
          pax({ uid: '3000000', gid: '3000001', mtime: '-315619200' }),
          file('store-data/owned', 'x', { uid: 5, gid: 6, mtime: 7 }),
          pax({ mtime: '1700000000.5' }),
          file('store-data/half', 'h', { mtime: 1_700_000_000 }),
          pax({ mtime: '-1' }),
          file('store-data/before', 'b', { mtime: 0 }),
          pax({ mode: '640' }),
          file('store-data/same-mode', 'm', { mode: 0o640 }),
        ),
      ),
  ],
  [
    'hand-built: base-256 uid, gid, size and negative mtime in POSIX and GNU headers',
    () =>
      gz(
        tar(
          dir('store-data/'),
          file('store-data/b256', 'data\n', {
            raw: {
              uid: b256(8, 3000000n),
              gid: b256(8, 4294967294n),
              size: b256(12, 5n),
              mtime: b256(12, -315619200n),
            },
          }),
          file('store-data/gnu', 'g', { format: 'gnu', raw: { uid: b256(8, 2097152n), mtime: b256(12, 8n ** 11n) } }),
        ),
      ),
  ],
];

describe('effective owner, time and mode: ours = Python tarfile = GNU tar, and verify accepts', () => {
  it.each(SHAPES)('%s', async (_, make) => {
    const archive = make();
    const mine = await ours(archive);
    expect(mine.problems).toEqual([]);
    expect(mine.metas).toEqual(pythonMetas(archive));
    expect(mine.metas.map(([n, u, g, t]) => [n, u, g, t])).toEqual(gnuTarMetas(archive));
    // what the archive says, not the header fields
    expect(mine.metas.some(([, u]) => u >= 3_000_000)).toBe(true);
  });

  it('the values are exact: uid 3000000, gid 3000001, mtime 1960 from the Python GNU archive', async () => {
    const { metas } = await ours(pythonArchive('gnu'));
    expect(metas).toContainEqual(['store-data/db/t', 3000000, 3000001, -315619200, 0o640]);
    expect(metas).toContainEqual(['store-data/late', 4294967294, 2097152, 8 ** 11, 0o644]);
  });
});

/** The staged tar as our walker reads it: [path, type, uid, gid, mtime(+frac), mode]. */
function stagedEntries(staged: Buffer): [string, string, number, number, number, number][] {
  const out: [string, string, number, number, number, number][] = [];
  const problems: unknown[] = [];
  const w = new TarWalker({
    maxEntries: 1000,
    layout: null,
    report: (p) => problems.push(p),
    onCap: () => undefined,
    onEntry: (e) => out.push([e.path.replace(/\/$/, ''), e.type, ...meta(e).slice(1)] as never),
  });
  w.write(staged);
  w.end();
  expect(problems).toEqual([]);
  return out;
}

async function repack(
  archive: Buffer,
): Promise<{ staged: Buffer; result: Awaited<ReturnType<typeof repackForStaging>> }> {
  const parts: Buffer[] = [];
  const result = await repackForStaging(once(archive), {
    layout: LAYOUT,
    limits: LIMITS,
    prefixFor: (i) => `${i}/${WORK_AREA}/new`,
    out: async (c) => {
      parts.push(Buffer.from(c));
    },
  });
  return { staged: Buffer.concat(parts), result };
}

const P = `0/${WORK_AREA}/new`;

describe('the re-packer writes what the archive says, and counts what it writes', () => {
  it('PAX and base-256 owners and times reach the staged headers (written back as PAX where ustar cannot hold them)', async () => {
    for (const [, make] of SHAPES) {
      const archive = make();
      const want = (await ours(archive)).metas.filter(([n]) => n !== 'store-data');
      const { staged, result } = await repack(archive);
      expect(result.problems).toEqual([]);
      const got = stagedEntries(staged).map(([n, , ...rest]) => [n.replace(P, 'store-data'), ...rest]);
      // the Python archives imply store-data/db (no entry): written as 0755 0:0
      expect(got.filter(([n]) => n !== 'store-data/db')).toEqual(want);
    }
  });

  it('GNU tar without parent entries (tar -czf x.tgz store-data/db/t): verified, parents written 0755 0:0 and counted', async () => {
    const archive = gnuTarFileOnly();
    const mine = await ours(archive);
    expect(mine.problems).toEqual([]);
    expect(mine.metas.map(([n]) => n)).toEqual(['store-data/db/t']);
    const { staged, result } = await repack(archive);
    expect(result.problems).toEqual([]);
    const got = stagedEntries(staged);
    expect(got.map(([n, t, u, g, , m]) => [n, t, u, g, m])).toEqual([
      [`${P}/db`, 'directory', 0, 0, 0o755],
      [`${P}/db/t`, 'file', ...mine.metas[0]!.slice(1, 3), mine.metas[0]![4]],
    ]);
    // the parent takes the mtime of the entry that implied it (the same tree on every restore)
    expect(got[0]![4]).toBe(got[1]![4]);
    expect(result.volumes).toEqual([{ volume: 'store-data', entries: 2, files: 1, bytes: 6, root: null }]);
    // GNU tar extracts the same tree: one directory, one file
    const work = mkdtempSync(path.join(tmpdir(), 'sg-fidelity-x-'));
    try {
      expect(spawnSync('tar', ['-xzf', '-', '-C', work], { input: archive }).status).toBe(0);
      const found = spawnSync('find', ['store-data', '-mindepth', '1'], { cwd: work, encoding: 'utf8' });
      expect(found.stdout.trim().split('\n').sort()).toEqual(['store-data/db', 'store-data/db/t']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('entries dated before 1970 (which the engine extracts as 1970) are listed for restore to set after staging', async () => {
    const { result } = await repack(pythonArchive('pax'));
    expect(result.times).toEqual([
      { index: 0, path: 'db', mtime: -315619200 },
      { index: 0, path: 'db/t', mtime: -315619200 },
    ]);
  });

  it('a directory entry after its implied creation sets its metadata and is not counted twice', async () => {
    const archive = gz(
      tar(file('store-data/a/b/f', 'f'), dir('store-data/a/', { mode: 0o700, uid: 7, gid: 8, mtime: 9 })),
    );
    const { staged, result } = await repack(archive);
    expect(result.problems).toEqual([]);
    // (our walker would call the second header of a/ a duplicate: read the plain headers)
    const headers: [string, string, number, number, number][] = [];
    for (let off = 0; off + 512 <= staged.length; off += 512) {
      const h = staged.subarray(off, off + 512);
      if (h.subarray(257, 263).toString('latin1') !== 'ustar\0') continue;
      const field = (at: number, len: number): string => h.toString('latin1', at, at + len).replace(/\0.*$/s, '');
      const num = (at: number, len: number): number => parseInt(field(at, len), 8);
      headers.push([
        field(0, 100).replace(/\/$/, ''),
        field(156, 1) === '5' ? 'directory' : 'file',
        num(108, 8),
        num(116, 8),
        num(100, 8),
      ]);
    }
    expect(headers).toEqual([
      [`${P}/a`, 'directory', 0, 0, 0o755],
      [`${P}/a/b`, 'directory', 0, 0, 0o755],
      [`${P}/a/b/f`, 'file', 0, 0, 0o644],
      [`${P}/a`, 'directory', 7, 8, 0o700],
    ]);
    expect(result.volumes[0]).toMatchObject({ entries: 3, files: 1 });
  });

  it('a file directly at the top level is still refused (the layout), implicit parents or not', async () => {
    const { result } = await repack(gz(tar(file('store-data/db/t', 't'), file('loose', 'x'))));
    expect(result.problems.map((p) => p.code)).toContain('layout-mismatch');
  });

  it('a setuid/setgid root file verifies with a warning and is written without those bits; directories keep theirs', async () => {
    const archive = gz(
      tar(
        dir('store-data/'),
        dir('store-data/shared/', { mode: 0o2775 }),
        dir('store-data/tmp/', { mode: 0o1777 }),
        file('store-data/shared/su', '#!/bin/sh\n', { mode: 0o4755, uid: 0, gid: 0 }),
        file('store-data/sg', 'x', { mode: 0o2711 }),
        file('store-data/plain', 'x', { mode: 0o755 }),
      ),
    );
    const mine = await ours(archive);
    expect(mine.problems).toEqual([]);
    expect(mine.warnings).toEqual(['setid-stripped store-data/shared/su', 'setid-stripped store-data/sg']);
    const { staged, result } = await repack(archive);
    expect(result.warnings.map((w) => w.entry)).toEqual(['store-data/shared/su', 'store-data/sg']);
    expect(stagedEntries(staged).map(([n, , , , , m]) => [n, m])).toEqual([
      [`${P}/shared`, 0o2775],
      [`${P}/tmp`, 0o1777],
      [`${P}/shared/su`, 0o755],
      [`${P}/sg`, 0o711],
      [`${P}/plain`, 0o755],
    ]);
  });
});

describe('names no filesystem takes are refused by verify, as extraction would fail', () => {
  it('a 300-byte name segment: GNU tar lists it and fails to extract it; verify refuses it (name-too-long)', async () => {
    const archive = gz(
      tar(dir('store-data/'), pax({ path: `store-data/${'n'.repeat(300)}` }), file('placeholder', 'x')),
    );
    expect((await ours(archive)).problems).toEqual(['name-too-long']);
    expect(gnuTarMetas(archive).map(([n]) => n.length)).toEqual([10, 311]);
    const work = mkdtempSync(path.join(tmpdir(), 'sg-fidelity-n-'));
    try {
      const x = spawnSync('tar', ['-xzf', '-', '-C', work], { input: archive, encoding: 'utf8' });
      expect(x.status).not.toBe(0);
      expect(x.stderr).toMatch(/File name too long/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    // and the re-packer never emits it
    const { staged, result } = await repack(archive);
    expect(result.problems.map((p) => p.code)).toContain('name-too-long');
    expect(staged.includes(Buffer.from('n'.repeat(300)))).toBe(false);
  });

  it('a 255-byte segment is fine', async () => {
    const archive = gz(
      tar(dir('store-data/'), pax({ path: `store-data/${'n'.repeat(255)}` }), file('placeholder', 'x')),
    );
    expect((await ours(archive)).problems).toEqual([]);
  });

  it('the writer puts uid 3000000 and a 1960 mtime in PAX records, the ustar fields 0 (as GNU tar does)', async () => {
    const { staged } = await repack(pythonArchive('gnu'));
    const plain = gunzipSync(gz(staged));
    const text = plain.toString('latin1');
    expect(text).toContain(' uid=3000000\n');
    expect(text).toContain(' gid=3000001\n');
    expect(text).toContain(' mtime=-315619200\n');
    // no base-256 anywhere in a header the re-packer wrote: the first byte of uid/gid/mtime is a digit
    for (let off = 0; off + 512 <= plain.length; off += 512) {
      const h = plain.subarray(off, off + 512);
      if (h.subarray(257, 263).toString('latin1') !== 'ustar\0') continue;
      for (const at of [108, 116, 136]) expect(h[at]).toBeLessThan(0x80);
    }
  });
});
