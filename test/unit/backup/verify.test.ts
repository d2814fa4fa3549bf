/**
 * verify-backup against a hostile corpus built by test code (test/support/archives.ts), plus the
 * good archives it must accept. Every case asserts the verdict AND the stable problem code.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { create as tarCreate } from 'tar';
import { verifyBackup } from '../../../src/backup/verify.js';
import { inspectArchive } from '../../../src/backup/archive.js';
import type { BackupProblemCode } from '../../../src/backup/types.js';
import type { ModuleDecl } from '../../../src/model/module.js';
import { renderBackupReport } from '../../../src/commands/verify-backup.js';
import {
  END,
  badCrc,
  dir,
  entry,
  entryCountBomb,
  file,
  gnuLong,
  gnuTarArchive,
  fileWithSlashHidingHeader,
  gz,
  moduleDecl,
  pax,
  paxRecord,
  paxRecordBytes,
  tar,
  tarHeader,
  zerosBomb,
} from '../../support/archives.js';
import { gunzipSync } from 'node:zlib';
import { addManifestToFile, hasManifest, withManifest } from '../../support/manifests.js';
import { parseArchiveName } from '../../../src/backup/names.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix = 'sg-backup-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

const NOW = new Date('2026-03-10T12:00:00Z');
const STAMP = '20260310T110000Z'; // one hour before NOW
const STORE = moduleDecl('store', { refModules: ['store'], maxAgeHours: 24 }, [
  { volume: 'store-data', path: '/data' },
]);
/** a sidecar: its backups are the store's (ref_modules), and it declares no data volumes itself */
const STORE_INIT = moduleDecl('store-init', { refModules: ['store'], maxAgeHours: 24 });
const MODULES = [STORE, STORE_INIT];
const LIMITS = { maxUncompressedBytes: 64 * 1024 ** 3, maxEntries: 1_000_000 };

/** A good, small archive: a volume dir with two files. */
const GOOD = gz(tar(dir('store-data/'), file('store-data/a.txt', 'hello\n'), file('store-data/empty', '')));
/** GOOD as the file `store-<STAMP>.tar.gz` holds it: its manifest first (docs/architecture.md §16) */
const GOOD_FILE = (): Buffer => manifested(GOOD, `store-${STAMP}.tar.gz`);

async function verify(
  content: Buffer | null,
  opts: {
    name?: string;
    module?: ModuleDecl;
    modules?: ModuleDecl[];
    sha256File?: string;
    limits?: Partial<typeof LIMITS>;
    roots?: string[];
    /** write the archive as given: no provenance manifest is prepended (docs/architecture.md §16) */
    raw?: boolean;
  } = {},
) {
  const root = tempDir();
  const name = opts.name ?? `store-${STAMP}.tar.gz`;
  if (content) writeFileSync(path.join(root, name), opts.raw ? content : manifested(content, name));
  if (opts.sha256File !== undefined) writeFileSync(path.join(root, `${name}.sha256`), opts.sha256File);
  return verifyBackup({
    backupRef: path.join(root, name),
    cwd: root,
    module: opts.module ?? STORE,
    modules: opts.modules ?? MODULES,
    backupRoots: opts.roots ?? [root],
    now: NOW,
    ...LIMITS,
    ...opts.limits,
  });
}

/** `content` as snapshot would write it: the manifest first, module and stamp from the name. */
function manifested(content: Buffer, name: string): Buffer {
  const parsed = parseArchiveName(name);
  if (!parsed || content.length < 2 || content[0] !== 0x1f || content[1] !== 0x8b || hasManifest(content))
    return content;
  // a gzip that does not decode, or holds another gzip: the case is about that, not about provenance
  let inner: Buffer;
  try {
    inner = gunzipSync(content);
  } catch {
    return content;
  }
  if (inner.length < 512 || (inner[0] === 0x1f && inner[1] === 0x8b)) return content;
  return withManifest(content, { module: parsed.module, stamp: parsed.stamp, kind: parsed.kind });
}

function codes(r: { problems: { code: BackupProblemCode }[] }): BackupProblemCode[] {
  return [...new Set(r.problems.map((p) => p.code))].sort();
}

interface HostileCase {
  name: string;
  archive: () => Buffer;
  code: BackupProblemCode;
}

const hostileArchives: HostileCase[] = [
  { name: '../x', archive: () => gz(tar(file('../x'))), code: 'unsafe-path' },
  { name: 'a/../../x', archive: () => gz(tar(file('a/../../x'))), code: 'unsafe-path' },
  { name: 'a directory named ..', archive: () => gz(tar(dir('store-data/../'))), code: 'unsafe-path' },
  { name: 'absolute path', archive: () => gz(tar(file('/etc/cron.d/evil'))), code: 'unsafe-path' },
  {
    name: 'absolute path via the ustar prefix',
    archive: () => gz(tar(file('x', 'd', { prefix: '/etc' }))),
    code: 'unsafe-path',
  },
  {
    name: '.. via the ustar prefix',
    archive: () => gz(tar(file('x', 'd', { prefix: 'a/../..' }))),
    code: 'unsafe-path',
  },
  {
    name: 'PAX path override to ../x',
    archive: () => gz(tar(pax({ path: '../x' }), file('innocent.txt'))),
    code: 'unsafe-path',
  },
  {
    name: 'PAX path override to an absolute path',
    archive: () => gz(tar(pax({ path: '/root/.ssh/authorized_keys' }), file('ok'))),
    code: 'unsafe-path',
  },
  {
    name: 'GNU long name with ../',
    archive: () =>
      gz(
        tar(
          gnuLong(
            `${'a/'.repeat(60)}../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../x`,
          ),
          file('short'),
        ),
      ),
    code: 'unsafe-path',
  },
  {
    name: 'GNU long name, absolute',
    archive: () => gz(tar(gnuLong(`/${'b'.repeat(150)}`), file('short'))),
    code: 'unsafe-path',
  },
  { name: 'backslash separator tricks', archive: () => gz(tar(file('..\\..\\windows\\x'))), code: 'unsafe-path' },
  { name: 'drive letter', archive: () => gz(tar(file('C:/Windows/x'))), code: 'unsafe-path' },
  { name: 'control character (newline) in a name', archive: () => gz(tar(file('a\nb'))), code: 'unsafe-path' },
  {
    name: 'NUL inside a PAX path',
    archive: () => gz(tar(pax({ path: 'ok\0/../../x' }), file('ok'))),
    code: 'unsafe-path',
  },
  {
    name: 'symlink (absolute target)',
    archive: () => gz(tar(entry({ name: 'link', type: '2', linkname: '/etc/passwd' }))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'symlink (relative target)',
    archive: () => gz(tar(entry({ name: 'link', type: '2', linkname: '../../etc' }))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'hard link',
    archive: () => gz(tar(file('a'), entry({ name: 'b', type: '1', linkname: 'a' }))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'character device',
    archive: () => gz(tar(entry({ name: 'null', type: '3', devmajor: 1, devminor: 3 }))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'block device',
    archive: () => gz(tar(entry({ name: 'sda', type: '4', devmajor: 8, devminor: 0 }))),
    code: 'forbidden-entry-type',
  },
  { name: 'FIFO', archive: () => gz(tar(entry({ name: 'pipe', type: '6' }))), code: 'forbidden-entry-type' },
  {
    name: 'contiguous file (type 7)',
    archive: () => gz(tar(entry({ name: 'c', type: '7' }, 'x'))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'unknown type flag',
    archive: () => gz(tar(entry({ name: 'q', type: 'Q' }, 'x'))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'GNU sparse (old type S)',
    archive: () => gz(tar(entry({ name: 'sparse', type: 'S', format: 'gnu' }, 'x'))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'GNU sparse 1.0 (PAX GNU.sparse.* records)',
    archive: () =>
      gz(
        tar(
          pax({
            'GNU.sparse.major': '1',
            'GNU.sparse.minor': '0',
            'GNU.sparse.name': 'db',
            'GNU.sparse.realsize': '1048576',
          }),
          file('GNUSparseFile.0/db', '1\n0\n512\n'),
        ),
      ),
    code: 'forbidden-entry-type',
  },
  {
    name: 'GNU sparse 0.1 (PAX GNU.sparse.map)',
    archive: () =>
      gz(
        tar(
          pax({ 'GNU.sparse.size': '1048576', 'GNU.sparse.numblocks': '1', 'GNU.sparse.map': '0,512' }),
          file('db', 'x'),
        ),
      ),
    code: 'forbidden-entry-type',
  },
  {
    name: 'GNU long link on a regular file',
    archive: () => gz(tar(gnuLong('target', 'K'), file('f'))),
    code: 'unsupported-header',
  },
  {
    name: 'truncated gzip',
    archive: () => gz(tar(file('a', randomBytes(20000)))).subarray(0, 5000),
    code: 'truncated',
  },
  { name: 'bad gzip CRC', archive: () => badCrc(gz(tar(file('a', 'payload')))), code: 'gzip-corrupt' },
  {
    name: 'bad tar header checksum',
    archive: () => gz(tar(file('a', 'x', { badChecksum: true }))),
    code: 'tar-corrupt',
  },
  { name: 'a plain tar named .tar.gz', archive: () => tar(file('a')), code: 'gzip-corrupt' },
  { name: 'random bytes', archive: () => randomBytes(4096), code: 'gzip-corrupt' },
  {
    name: 'random bytes after a gzip magic',
    archive: () => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(4096)]),
    code: 'gzip-corrupt',
  },
  { name: 'an empty tar', archive: () => gz(END), code: 'no-entries' },
  { name: 'an empty gzip', archive: () => gz(Buffer.alloc(0)), code: 'tar-corrupt' },
  {
    name: 'tar cut inside a body, in a valid gzip',
    archive: () => gz(file('a', randomBytes(5000)).subarray(0, 2048)),
    code: 'truncated',
  },
  {
    name: 'tar cut at an entry boundary (no end marker), in a valid gzip',
    archive: () => gz(Buffer.concat([file('a'), file('b')])),
    code: 'truncated',
  },
  {
    name: 'tar cut inside a header, in a valid gzip',
    archive: () => gz(Buffer.concat([file('a'), tarHeader({ name: 'b' }).subarray(0, 300)])),
    code: 'truncated',
  },
  { name: 'a gzip inside the gzip', archive: () => gz(gz(tar(file('a')))), code: 'tar-corrupt' },
  {
    name: 'bytes after the gzip trailer',
    archive: () => Buffer.concat([gz(tar(file('a'))), Buffer.alloc(64)]),
    code: 'gzip-corrupt',
  },
  {
    name: 'data hidden after the end-of-archive marker',
    archive: () => gz(Buffer.concat([tar(file('a')), file('hidden/../../x')])),
    code: 'tar-corrupt',
  },
  {
    name: 'malformed PAX record (length does not add up)',
    archive: () => gz(tar(pax('99 path=../x\n'), file('ok'))),
    code: 'unsupported-header',
  },
  {
    name: 'PAX path with a newline (read two ways)',
    archive: () => gz(tar(pax(paxRecord('path', 'a\n12 path=b')), file('ok'))),
    code: 'unsafe-path',
  },
  {
    name: 'global PAX header overriding size',
    archive: () => gz(tar(pax({ size: '0' }, true), file('a', 'data'))),
    code: 'unsupported-header',
  },
  {
    name: 'PAX size that is not a number',
    archive: () => gz(tar(pax({ size: 'lots' }), file('a'))),
    code: 'unsupported-header',
  },
];

describe('verify-backup: hostile archives are rejected with a stable code', () => {
  it.each(hostileArchives)('$name -> $code', async ({ archive, code }) => {
    const r = await verify(archive());
    expect(r.verified).toBe(false);
    expect(codes(r)).toContain(code);
  });

  it('reports every problem, not only the first', async () => {
    const r = await verify(
      gz(
        tar(
          file('../a'),
          entry({ name: 'l', type: '2', linkname: '/' }),
          file('/abs'),
          entry({ name: 'p', type: '6' }),
        ),
      ),
    );
    expect(r.verified).toBe(false);
    expect(r.problems.filter((p) => p.code === 'unsafe-path').map((p) => p.entry)).toEqual(['../a', '/abs']);
    expect(r.problems.filter((p) => p.code === 'forbidden-entry-type').map((p) => p.entry)).toEqual(['l', 'p']);
    expect(r.entries).toBe(5); // the manifest and four entries
  });

  it('prints hostile names escaped, never raw control characters', async () => {
    const r = await verify(gz(tar(file('x\x1b[31mred'))));
    expect(r.problems.find((p) => p.code === 'unsafe-path')?.entry).toBe('x\\x1b[31mred');
  });

  it('a zero-byte file', async () => {
    const r = await verify(Buffer.alloc(0));
    expect(r).toMatchObject({ verified: false, bytes: 0 });
    expect(codes(r)).toEqual(['empty-file']);
  });

  it('a 2 GiB-of-zeros bomb stops near the cap without reading the file to its end', async () => {
    const bomb = zerosBomb(2 * 1024 ** 3);
    const cap = 8 * 1024 * 1024;
    // raw: prepending a manifest would gunzip the whole 2 GiB first (20 s) only to fail and leave
    // the bomb as it is; the walk stops at the cap before a manifest is looked for.
    const r = await verify(bomb, { limits: { maxUncompressedBytes: cap }, raw: true });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['too-large']);
    expect(r.sha256).toBeNull(); // never read to the end
    expect(r.uncompressed_bytes).toBeLessThanOrEqual(cap + 512 * 1024);

    // Count the compressed bytes actually pulled from the file, 64 KiB at a time.
    const chunk = 64 * 1024;
    let pulled = 0;
    async function* source() {
      for (let off = 0; off < bomb.length; off += chunk) {
        pulled += Math.min(chunk, bomb.length - off);
        yield bomb.subarray(off, off + chunk);
      }
    }
    const inspection = await inspectArchive(
      source(),
      { maxUncompressedBytes: cap, maxEntries: 10 },
      { layout: { module: 'store', volumes: ['store-data'] } },
    );
    expect(inspection.problems.map((p) => p.code)).toEqual(['too-large']);
    expect(inspection.readToEnd).toBe(false);
    // 8 MiB of zeros is ~8 KiB of gzip; allow a few read chunks of slack, far below the 2 MiB file.
    expect(pulled).toBeLessThanOrEqual(4 * chunk);
    expect(bomb.length).toBeGreaterThan(2 * 1024 * 1024);
  });

  it('an entry-count bomb stops at --max-entries', async () => {
    const r = await verify(entryCountBomb(50_000), { limits: { maxEntries: 1000 } });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['too-many-entries']);
    expect(r.entries).toBe(1001);
  });

  it('keeps at most 100 problems and counts the rest', async () => {
    const many = Array.from({ length: 150 }, (_, i) => file(`../${i}`));
    const r = await verify(gz(tar(...many)));
    // the archive also lacks the declared volume store-data: that finding comes last, and is counted
    expect(r.problems).toHaveLength(102);
    expect(r.problems[100]).toMatchObject({ code: 'unsafe-path', message: '50 more problems of this kind not listed' });
    expect(r.problems[101]).toMatchObject({
      code: 'layout-mismatch',
      message: '1 more problem of this kind not listed',
    });
  });
});

describe('verify-backup: where the file is, what it is called, its checksum', () => {
  it('wrong module name', async () => {
    const r = await verify(GOOD, { name: `web-${STAMP}.tar.gz` });
    expect(codes(r)).toEqual(['wrong-module']);
    expect(r.verified).toBe(false);
  });

  it('a module named like a prefix of another is still the wrong module', async () => {
    const r = await verify(GOOD, { name: `store-init-${STAMP}.tar.gz` });
    expect(codes(r)).toEqual(['wrong-module']);
  });

  it.each([
    ['a future stamp (10 minutes ahead)', '20260310T121000Z', 'stamp-in-future'],
    ['an expired stamp (25 hours old)', '20260309T110000Z', 'too-old'],
    ['an impossible date', '20260230T110000Z', 'bad-stamp'],
    ['an impossible time', '20260310T250000Z', 'bad-stamp'],
  ] as const)('%s', async (_, stamp, code) => {
    const r = await verify(GOOD, { name: `store-${stamp}.tar.gz` });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual([code]);
  });

  it('4 minutes of clock skew is tolerated', async () => {
    const r = await verify(GOOD, { name: 'store-20260310T120400Z.tar.gz' });
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
  });

  it.each([
    ['store-2026-03-10.tar.gz', 'bad-stamp'],
    ['store-20260310T110000.tar.gz', 'bad-stamp'],
    ['store-20260310t110000z.tar.gz', 'bad-stamp'],
    ['store.tar.gz', 'bad-name'],
    [`store-${STAMP}.tgz`, 'bad-name'],
    [`store-${STAMP}.tar`, 'bad-name'],
    [`Store-${STAMP}.tar.gz`, 'bad-name'],
  ] as const)('bad name %s -> %s', async (name, code) => {
    const r = await verify(GOOD, { name });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual([code]);
  });

  it('sha256 mismatch', async () => {
    const r = await verify(GOOD, { sha256File: `${'0'.repeat(64)}  store-${STAMP}.tar.gz\n` });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['checksum-mismatch']);
    expect(r.sha256).toBe(createHash('sha256').update(GOOD_FILE()).digest('hex'));
  });

  it.each([
    ['sha256sum format', (h: string) => `${h}  store-${STAMP}.tar.gz\n`],
    ['binary-mode sha256sum format', (h: string) => `${h} *store-${STAMP}.tar.gz\n`],
    ['bare hex, upper case', (h: string) => `${h.toUpperCase()}\n`],
  ])('a matching .sha256 (%s) is accepted', async (_, fmt) => {
    const r = await verify(GOOD, { sha256File: fmt(createHash('sha256').update(GOOD_FILE()).digest('hex')) });
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
  });

  it('a .sha256 naming another file is refused', async () => {
    const h = createHash('sha256').update(GOOD_FILE()).digest('hex');
    const r = await verify(GOOD, { sha256File: `${h}  other.tar.gz\n` });
    expect(codes(r)).toEqual(['checksum-mismatch']);
  });

  it('a garbled .sha256 is refused', async () => {
    const r = await verify(GOOD, { sha256File: 'not a checksum\n' });
    expect(codes(r)).toEqual(['checksum-unreadable']);
  });

  it('a symlinked ref that escapes the root', async () => {
    const root = tempDir();
    const outside = tempDir();
    const target = path.join(outside, `store-${STAMP}.tar.gz`);
    writeFileSync(target, GOOD);
    symlinkSync(target, path.join(root, `store-${STAMP}.tar.gz`));
    const r = await verifyBackup({
      backupRef: path.join(root, `store-${STAMP}.tar.gz`),
      cwd: root,
      module: STORE,
      modules: MODULES,
      backupRoots: [root],
      now: NOW,
      ...LIMITS,
    });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['outside-backup-root']);
    expect(r.path).toBe(target);
    expect(r.sha256).toBeNull(); // never opened
  });

  it('a symlink inside the root pointing at a file inside the root is fine (names judged on the real file)', async () => {
    const root = tempDir();
    writeFileSync(path.join(root, `store-${STAMP}.tar.gz`), GOOD_FILE());
    symlinkSync(`store-${STAMP}.tar.gz`, path.join(root, 'latest.tar.gz'));
    const r = await verifyBackup({
      backupRef: 'latest.tar.gz',
      cwd: root,
      module: STORE,
      modules: MODULES,
      backupRoots: ['.'],
      now: NOW,
      ...LIMITS,
    });
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
  });

  it('a symlinked backup root is resolved too', async () => {
    const real = tempDir();
    const linkParent = tempDir();
    writeFileSync(path.join(real, `store-${STAMP}.tar.gz`), GOOD_FILE());
    symlinkSync(real, path.join(linkParent, 'backups'));
    const r = await verifyBackup({
      backupRef: path.join(linkParent, 'backups', `store-${STAMP}.tar.gz`),
      cwd: '/',
      module: STORE,
      modules: MODULES,
      backupRoots: [path.join(linkParent, 'backups')],
      now: NOW,
      ...LIMITS,
    });
    expect(r.verified).toBe(true);
  });

  it('a .. ref that escapes the root', async () => {
    const parent = tempDir();
    const root = path.join(parent, 'backups');
    mkdirSync(root);
    writeFileSync(path.join(parent, `store-${STAMP}.tar.gz`), GOOD_FILE());
    const r = await verifyBackup({
      backupRef: `backups/../store-${STAMP}.tar.gz`,
      cwd: parent,
      module: STORE,
      modules: MODULES,
      backupRoots: ['backups'],
      now: NOW,
      ...LIMITS,
    });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['outside-backup-root']);
  });

  it('the root itself is not a backup', async () => {
    const root = tempDir();
    const r = await verifyBackup({
      backupRef: root,
      cwd: root,
      module: STORE,
      modules: MODULES,
      backupRoots: [root],
      now: NOW,
      ...LIMITS,
    });
    expect(codes(r)).toContain('outside-backup-root');
  });

  it('a directory', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, `store-${STAMP}.tar.gz`));
    const r = await verifyBackup({
      backupRef: `store-${STAMP}.tar.gz`,
      cwd: root,
      module: STORE,
      modules: MODULES,
      backupRoots: [root],
      now: NOW,
      ...LIMITS,
    });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['not-a-regular-file']);
  });

  it('a FIFO is refused without hanging', async () => {
    const root = tempDir();
    execFileSync('mkfifo', [path.join(root, `store-${STAMP}.tar.gz`)]);
    const r = await verifyBackup({
      backupRef: `store-${STAMP}.tar.gz`,
      cwd: root,
      module: STORE,
      modules: MODULES,
      backupRoots: [root],
      now: NOW,
      ...LIMITS,
    });
    expect(codes(r)).toEqual(['not-a-regular-file']);
  });

  it('a missing file', async () => {
    const root = tempDir();
    const r = await verifyBackup({
      backupRef: `store-${STAMP}.tar.gz`,
      cwd: root,
      module: STORE,
      modules: MODULES,
      backupRoots: [root],
      now: NOW,
      ...LIMITS,
    });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['not-found']);
  });

  it('no backup root configured: refuse, and never open the file', async () => {
    const r = await verify(GOOD, { roots: [] });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['no-backup-root']);
    expect(r.sha256).toBeNull();
  });

  it('a configured root that does not exist cannot contain anything', async () => {
    const r = await verify(GOOD, { roots: ['/nonexistent-sg-root'] });
    expect(codes(r)).toEqual(['outside-backup-root']);
    expect(r.problems[0]!.message).toContain('/nonexistent-sg-root');
  });

  it('a module without a backup section is refused', async () => {
    const r = await verify(GOOD, { module: moduleDecl('web'), name: `web-${STAMP}.tar.gz` });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['no-backup-config']);
  });

  it('an empty backup-ref', async () => {
    const r = await verifyBackup({
      backupRef: '',
      cwd: '/',
      module: STORE,
      modules: MODULES,
      backupRoots: ['/'],
      now: NOW,
      ...LIMITS,
    });
    expect(codes(r)).toEqual(['not-found']);
  });
});

describe('verify-backup: good archives are accepted', () => {
  const longDir = `${'deep-directory-name/'.repeat(8)}`; // 160 chars: needs prefix, PAX or GNU long names
  const files = {
    'a.txt': 'hello\n',
    'empty-file': '',
    'sub/': null,
    [`${longDir}file-with-a-rather-long-name-${'x'.repeat(120)}.bin`]: randomBytes(3000),
    'unicode-ßü.txt': 'ü\n',
  };

  it.each(['pax', 'gnu', 'ustar'] as const)('GNU tar --format=%s with long paths and empty files', async (format) => {
    const filesFor = format === 'ustar' ? { ...files, [`${longDir}ok.bin`]: 'x' } : files;
    if (format === 'ustar')
      delete (filesFor as Record<string, unknown>)[`${longDir}file-with-a-rather-long-name-${'x'.repeat(120)}.bin`];
    const archive = gnuTarArchive(filesFor, format);
    const r = await verify(archive);
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({
      verified: true,
      matched_module: 'store',
      created_at: '2026-03-10T11:00:00.000Z',
      sha256: createHash('sha256')
        .update(manifested(archive, `store-${STAMP}.tar.gz`))
        .digest('hex'),
      bytes: manifested(archive, `store-${STAMP}.tar.gz`).length,
    });
    expect(r.entries).toBeGreaterThanOrEqual(Object.keys(filesFor).length);
  });

  it('an archive written by the tar package (portable)', async () => {
    const work = tempDir();
    mkdirSync(path.join(work, 'store-data', 'x'), { recursive: true });
    writeFileSync(path.join(work, 'store-data', 'x', 'f'), 'f');
    const out = path.join(work, 'a.tar.gz');
    await tarCreate({ gzip: true, file: out, cwd: work, portable: true }, ['store-data']);
    const root = tempDir();
    const ref = path.join(root, `store-${STAMP}.tar.gz`);
    execFileSync('cp', [out, ref]);
    addManifestToFile(ref);
    const r = await verifyBackup({
      backupRef: ref,
      cwd: root,
      module: STORE,
      modules: MODULES,
      backupRoots: [root],
      now: NOW,
      ...LIMITS,
    });
    expect(r.problems).toEqual([]);
    expect(r.entries).toBe(4); // the manifest and three entries
  });

  it('hand-built: PAX long path, ./ prefix, old-style file type, empty file', async () => {
    // every name inside the declared volume store-data (the layout rule)
    const archive = gz(
      tar(
        dir('./'),
        pax({ path: `./store-data/${'p/'.repeat(100)}f` }),
        file('short'),
        entry({ name: 'store-data/old', type: '' }, 'x'),
        file('./store-data/e', ''),
      ),
    );
    const r = await verify(archive);
    expect(r.problems).toEqual([]);
    expect(r.entries).toBe(5); // the manifest and four entries
  });

  it('a sidecar accepts its parent module’s backup (ref_modules)', async () => {
    const r = await verify(GOOD, { module: STORE_INIT, name: `store-${STAMP}.tar.gz` });
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ verified: true, matched_module: 'store', entries: 4 });
  });

  it('a stateful module without ref_modules accepts its own backup (its own always count)', async () => {
    const r = await verify(GOOD, {
      module: moduleDecl('store', { refModules: [], maxAgeHours: 24 }, [{ volume: 'store-data', path: '/data' }]),
      name: `store-${STAMP}.tar.gz`,
    });
    expect(r).toMatchObject({ verified: true, matched_module: 'store' });
  });

  it('the sidecar’s own name matches, but a module without data volumes accepts no archive', async () => {
    // Before the layout rule this verified: an archive named for store-init was accepted whatever
    // it held. store-init declares no data volumes, so no archive has its layout.
    const r = await verify(GOOD, { module: STORE_INIT, name: `store-init-${STAMP}.tar.gz` });
    expect(r.verified).toBe(false);
    expect(r.matched_module).toBe('store-init');
    expect(codes(r)).toEqual(['no-data-volumes']);
  });

  it('a relative ref and root resolve against cwd', async () => {
    const cwd = tempDir();
    mkdirSync(path.join(cwd, 'backups'));
    writeFileSync(path.join(cwd, 'backups', `store-${STAMP}.tar.gz`), GOOD_FILE());
    const r = await verifyBackup({
      backupRef: `backups/store-${STAMP}.tar.gz`,
      cwd,
      module: STORE,
      modules: MODULES,
      backupRoots: ['backups'],
      now: NOW,
      ...LIMITS,
    });
    expect(r.verified).toBe(true);
    expect(r.path).toBe(path.join(cwd, 'backups', `store-${STAMP}.tar.gz`));
    expect(r.uncompressed_bytes).toBe(10240 + 1536); // the manifest: header, body, padding;
  });
});

/**
 * Issue 11: archives node-tar reads one way and GNU tar / busybox / Go archive/tar (docker cp) /
 * Python tarfile read another. Each is built byte by byte and must be rejected; `fine` is a clean
 * entry so the archive is otherwise acceptable (the right layout, a regular file).
 */
const fine = (): Buffer => Buffer.concat([dir('store-data/'), file('store-data/ok', 'ok\n')]);
const SYMLINK_TO_ETC = entry({ name: 'store-data/etc', type: '2', linkname: '/etc' });
const ZERO_BLOCK = Buffer.alloc(512);
const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
const OVERLONG_DOTS = bytes('store-data/', [0xc0, 0xae, 0xc0, 0xae], '/x'); // "..", encoded overlong

const readersDisagree: HostileCase[] = [
  // a regular file whose name ends in '/': a directory to node-tar (body read as headers), a file to restorers
  {
    name: "type '0' named x/ whose body hides a header",
    archive: () => gz(tar(fine(), fileWithSlashHidingHeader('store-data/x/', SYMLINK_TO_ETC))),
    code: 'ambiguous-header',
  },
  {
    name: 'type NUL named x/ whose body hides a header',
    archive: () => gz(tar(fine(), fileWithSlashHidingHeader('store-data/x/', SYMLINK_TO_ETC, ''))),
    code: 'ambiguous-header',
  },
  {
    name: 'the symlink after such a body is seen',
    archive: () => gz(tar(fine(), fileWithSlashHidingHeader('store-data/x/', SYMLINK_TO_ETC))),
    code: 'forbidden-entry-type',
  },
  {
    name: 'a directory with a non-zero size whose body hides a header',
    archive: () => gz(tar(fine(), fileWithSlashHidingHeader('store-data/x/', SYMLINK_TO_ETC, '5'))),
    code: 'ambiguous-header',
  },
  {
    name: "type '0' named x/ with size 0",
    archive: () => gz(tar(fine(), entry({ name: 'store-data/x/', type: '0' }))),
    code: 'ambiguous-header',
  },
  // found by the differential test: busybox refuses NUL bytes after the last PAX record, others skip them
  {
    name: 'a PAX header whose size covers NUL bytes after its last record',
    archive: () =>
      gz(
        tar(
          fine(),
          pax(Buffer.concat([Buffer.from(paxRecord('path', 'store-data/p')), Buffer.alloc(16)])),
          file('store-data/p-body', 'x'),
        ),
      ),
    code: 'unsupported-header',
  },
  // found by the differential test: busybox lists a set linkname as `name -> target`, others ignore it
  {
    name: 'a directory with a linkname set',
    archive: () => gz(tar(fine(), dir('store-data/d/', { linkname: '\x01' }))),
    code: 'ambiguous-header',
  },
  {
    name: 'a regular file with a linkname set',
    archive: () => gz(tar(fine(), file('store-data/f2', 'x', { linkname: '/etc/passwd' }))),
    code: 'ambiguous-header',
  },
  // magic and version: which readers use the prefix field
  {
    name: "POSIX magic with version 'xx' and a prefix",
    archive: () => gz(tar(fine(), file('evil', 'x', { prefix: '../../../tmp', magic: 'ustar\0xx' }))),
    code: 'ambiguous-header',
  },
  {
    name: "GNU magic with version '00' and a prefix",
    archive: () => gz(tar(fine(), file('evil', 'x', { prefix: '../../../tmp', magic: 'ustar 00' }))),
    code: 'ambiguous-header',
  },
  {
    name: 'v7 (no magic) with bytes in the prefix field',
    archive: () => gz(tar(fine(), file('evil', 'x', { format: 'v7', prefixBytes: Buffer.from('../../../tmp') }))),
    code: 'ambiguous-header',
  },
  {
    name: 'GNU magic with bytes in the prefix area',
    archive: () => gz(tar(fine(), file('evil', 'x', { format: 'gnu', prefixBytes: Buffer.from('../../../tmp') }))),
    code: 'ambiguous-header',
  },
  {
    name: 'v7 (no magic) at all',
    archive: () => gz(tar(fine(), file('store-data/v7', 'x', { format: 'v7' }))),
    code: 'ambiguous-header',
  },
  {
    name: "magic 'ustaR'",
    archive: () => gz(tar(fine(), file('store-data/m', 'x', { magic: 'ustaR\x0000' }))),
    code: 'ambiguous-header',
  },
  // numeric fields that are not plain octal
  {
    name: "size with a '+' sign",
    archive: () => gz(tar(fine(), file('store-data/n', 'data\n', { raw: { size: '+0000000005' } }))),
    code: 'ambiguous-header',
  },
  {
    name: "size with a '-' sign",
    archive: () => gz(tar(fine(), file('store-data/n', '', { raw: { size: '-0000000000' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'size with junk after the digits',
    archive: () => gz(tar(fine(), file('store-data/n', 'data\n', { raw: { size: '00000000005x' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'size with junk after its NUL',
    archive: () => gz(tar(fine(), file('store-data/n', 'data\n', { raw: { size: '0000000005\0x' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'size with a space between digits',
    archive: () => gz(tar(fine(), file('store-data/n', 'data\n', { raw: { size: '0000 000005' } }))),
    code: 'ambiguous-header',
  },
  // base-256 (accepted as GNU tar, Python, Go and busybox read it) outside what they all read alike
  {
    name: 'size in base-256 past 2^53',
    archive: () =>
      gz(
        tar(
          fine(),
          file('store-data/n', 'data\n', { raw: { size: Buffer.from([0x80, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 5]) } }),
        ),
      ),
    code: 'ambiguous-header',
  },
  {
    name: 'size in base-256 with its top bytes all set (an overflow)',
    archive: () =>
      gz(
        tar(
          fine(),
          file('store-data/n', 'data\n', {
            raw: { size: Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) },
          }),
        ),
      ),
    code: 'ambiguous-header',
  },
  {
    name: 'a negative size in base-256',
    archive: () =>
      gz(
        tar(
          fine(),
          file('store-data/n', '', {
            raw: { size: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb]) },
          }),
        ),
      ),
    code: 'ambiguous-header',
  },
  {
    name: 'uid in base-256 with first byte 0x81 (Go reads it, GNU tar and Python do not)',
    archive: () =>
      gz(tar(fine(), file('store-data/n', 'x', { raw: { uid: Buffer.from([0x81, 0, 0, 0, 0, 0, 0, 1]) } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'uid in base-256 with first byte 0xbf',
    archive: () =>
      gz(tar(fine(), file('store-data/n', 'x', { raw: { uid: Buffer.from([0xbf, 0, 0, 0, 0, 0, 0, 1]) } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'a negative uid in base-256',
    archive: () =>
      gz(
        tar(
          fine(),
          file('store-data/n', 'x', { raw: { uid: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]) } }),
        ),
      ),
    code: 'ambiguous-header',
  },
  {
    name: 'gid in base-256 past 2^32-2 (chown would truncate it or leave the owner)',
    archive: () =>
      gz(
        tar(
          fine(),
          file('store-data/n', 'x', { raw: { gid: Buffer.from([0x80, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff]) } }),
        ),
      ),
    code: 'ambiguous-header',
  },
  {
    name: 'mtime in base-256 before -(2^53)',
    archive: () =>
      gz(
        tar(
          fine(),
          file('store-data/n', 'x', { raw: { mtime: Buffer.from([0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0]) } }),
        ),
      ),
    code: 'ambiguous-header',
  },
  {
    name: 'mode in base-256 (only plain octal is read alike)',
    archive: () =>
      gz(tar(fine(), file('store-data/n', 'x', { raw: { mode: Buffer.from([0x80, 0, 0, 0, 0, 0, 0x01, 0xa4]) } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'devmajor in base-256',
    archive: () =>
      gz(tar(fine(), file('store-data/n', 'x', { raw: { devmajor: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0]) } }))),
    code: 'ambiguous-header',
  },
  // PAX records against the header, or out of range
  {
    name: 'a PAX mode that disagrees with the header (node-tar applies it, the others do not)',
    archive: () => gz(tar(fine(), pax({ mode: '4755' }), file('store-data/m', 'x', { mode: 0o755 }))),
    code: 'ambiguous-header',
  },
  {
    name: 'a PAX mode that is not octal',
    archive: () => gz(tar(fine(), pax({ mode: '0x1ed' }), file('store-data/m', 'x'))),
    code: 'unsupported-header',
  },
  {
    name: 'a PAX uid past 2^32-2',
    archive: () => gz(tar(fine(), pax({ uid: '4294967295' }), file('store-data/u', 'x'))),
    code: 'unsupported-header',
  },
  {
    name: 'a negative PAX gid',
    archive: () => gz(tar(fine(), pax({ gid: '-1' }), file('store-data/u', 'x'))),
    code: 'unsupported-header',
  },
  {
    name: 'a negative fractional PAX mtime (GNU tar reads -1.25 as -0.75, Python and Go as -1.25)',
    archive: () => gz(tar(fine(), pax({ mtime: '-1.25' }), file('store-data/u', 'x'))),
    code: 'ambiguous-header',
  },
  {
    name: 'a PAX mtime after 2262-04-11 (the engine extracts it as 1970)',
    archive: () => gz(tar(fine(), pax({ mtime: '9223372037' }), file('store-data/u', 'x'))),
    code: 'unsupported-header',
  },
  {
    name: 'a base-256 mtime after 2262-04-11',
    archive: () =>
      gz(
        tar(
          fine(),
          file('store-data/n', 'x', { raw: { mtime: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0]) } }),
        ),
      ),
    code: 'ambiguous-header',
  },
  {
    name: 'a PAX mtime past 2^53 seconds',
    archive: () => gz(tar(fine(), pax({ mtime: '-99999999999999999999' }), file('store-data/u', 'x'))),
    code: 'unsupported-header',
  },
  {
    name: 'a PAX uid record whose length is one short',
    archive: () => gz(tar(fine(), pax('14 uid=3000000\n'), file('store-data/u', 'x'))),
    code: 'unsupported-header',
  },
  {
    name: 'a PAX mtime record whose length runs past the body',
    archive: () => gz(tar(fine(), pax('99 mtime=-315619200\n'), file('store-data/u', 'x'))),
    code: 'unsupported-header',
  },
  // names no filesystem takes
  {
    name: 'a 256-byte name segment',
    archive: () => gz(tar(fine(), pax({ path: `store-data/${'s'.repeat(256)}` }), file('store-data/short', 'x'))),
    code: 'name-too-long',
  },
  {
    name: 'a 300-byte name segment in a GNU long name',
    archive: () => gz(tar(fine(), gnuLong(`store-data/d/${'g'.repeat(300)}`), file('short', 'x', { format: 'gnu' }))),
    code: 'name-too-long',
  },
  {
    name: 'a path over 4096 bytes',
    archive: () =>
      gz(tar(fine(), pax({ path: `store-data/${'d'.repeat(200)}/`.repeat(21) + 'f' }), file('store-data/short', 'x'))),
    code: 'name-too-long',
  },
  {
    name: 'an empty size field',
    archive: () => gz(tar(fine(), file('store-data/n', '', { raw: { size: '' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'mode with junk',
    archive: () => gz(tar(fine(), file('store-data/n', 'x', { raw: { mode: '0000644x' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'a negative mtime',
    archive: () => gz(tar(fine(), file('store-data/n', 'x', { raw: { mtime: '-0000000001' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'uid with a space between digits',
    archive: () => gz(tar(fine(), file('store-data/n', 'x', { raw: { uid: '000 000' } }))),
    code: 'ambiguous-header',
  },
  {
    name: "gid with a '+' sign",
    archive: () => gz(tar(fine(), file('store-data/n', 'x', { raw: { gid: '+000000' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'devmajor with junk (Python refuses, GNU tar ignores it)',
    archive: () => gz(tar(fine(), file('store-data/n', 'x', { raw: { devmajor: 'zz' } }))),
    code: 'ambiguous-header',
  },
  {
    name: 'checksum field with junk after its NUL',
    archive: () =>
      gz(tar(fine(), file('store-data/n', 'x', { rawChecksum: (sum) => `${sum.toString(8).padStart(6, '0')}\0x` }))),
    code: 'ambiguous-header',
  },
  {
    name: "checksum field with a '+' sign",
    archive: () =>
      gz(tar(fine(), file('store-data/n', 'x', { rawChecksum: (sum) => `+${sum.toString(8).padStart(5, '0')}\0 ` }))),
    code: 'ambiguous-header',
  },
  // a lone zero block: restorers stop there
  {
    name: 'a lone zero block, then a symlink',
    archive: () => gz(Buffer.concat([fine(), ZERO_BLOCK, SYMLINK_TO_ETC, END])),
    code: 'lone-zero-block',
  },
  {
    name: 'a lone zero block, then a clean file',
    archive: () => gz(Buffer.concat([fine(), ZERO_BLOCK, file('store-data/later'), END])),
    code: 'lone-zero-block',
  },
  // PAX size against the header size
  {
    name: 'PAX size larger than the header size, swallowing a symlink header',
    archive: () => gz(tar(fine(), pax({ size: '512' }), file('store-data/b', ''), SYMLINK_TO_ETC)),
    code: 'ambiguous-header',
  },
  {
    name: 'PAX size smaller than the header size',
    archive: () => gz(tar(fine(), pax({ size: '0' }), file('store-data/b', 'data'))),
    code: 'ambiguous-header',
  },
  // extension headers we do not understand, or that could be combined two ways
  {
    name: 'a GNU long name and a PAX header for one entry',
    archive: () => gz(tar(fine(), gnuLong('store-data/l'), pax({ path: 'store-data/p' }), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'two PAX headers for one entry',
    archive: () => gz(tar(fine(), pax({ path: 'store-data/p' }), pax({ path: 'store-data/q' }), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'two GNU long names for one entry',
    archive: () => gz(tar(fine(), gnuLong('store-data/l'), gnuLong('store-data/m'), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'a PAX xattr record (a capability on restore)',
    archive: () => gz(tar(fine(), pax({ 'SCHILY.xattr.security.capability': 'x' }), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'a PAX linkpath on a file',
    archive: () => gz(tar(fine(), pax({ linkpath: '/etc' }), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'PAX hdrcharset=BINARY',
    archive: () => gz(tar(fine(), pax({ hdrcharset: 'BINARY', path: 'store-data/p' }), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'a PAX path given twice',
    archive: () =>
      gz(tar(fine(), pax(paxRecord('path', 'store-data/p') + paxRecord('path', 'store-data/q')), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'an empty PAX path',
    archive: () => gz(tar(fine(), pax({ path: '' }), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'an extension header with no entry after it',
    archive: () => gz(tar(fine(), pax({ path: 'store-data/p' }))),
    code: 'unsupported-header',
  },
  {
    name: 'a GNU long name in a header without GNU magic',
    archive: () => gz(tar(fine(), entry({ name: '././@LongLink', type: 'L' }, 'store-data/l\0'), file('store-data/f'))),
    code: 'unsupported-header',
  },
  {
    name: 'a GNU long name with bytes after its NUL',
    archive: () =>
      gz(
        tar(
          fine(),
          entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, 'store-data/l\0../x'),
          file('store-data/f'),
        ),
      ),
    code: 'unsupported-header',
  },
  {
    name: 'an extension header with an empty name field (busybox: end of archive)',
    archive: () =>
      gz(tar(fine(), entry({ name: '', type: 'x' }, paxRecord('path', 'store-data/p')), file('store-data/f'))),
    code: 'ambiguous-header',
  },
  {
    name: "a PAX mtime that is not a number (node-tar's writer emits a Date string)",
    archive: () =>
      gz(
        tar(
          fine(),
          pax({ mtime: 'Sun Nov 29 2026 14:29:27 GMT+0000', path: `store-data/${'n'.repeat(120)}` }),
          file('store-data/f'),
        ),
      ),
    code: 'unsupported-header',
  },
  // the plain ustar name is what a reader that skips the extension uses: it must be safe too
  {
    name: 'an unsafe ustar name under a PAX path',
    archive: () => gz(tar(fine(), pax({ path: 'store-data/p' }), file('../../evil'))),
    code: 'unsafe-path',
  },
  {
    name: 'an unsafe ustar name under a GNU long name',
    archive: () => gz(tar(fine(), gnuLong('store-data/l'), file('/etc/evil'))),
    code: 'unsafe-path',
  },
  // names that are not valid UTF-8 (decoded with a fatal decoder on the raw bytes)
  {
    name: 'overlong UTF-8 for ".." in the name field',
    archive: () => gz(tar(fine(), file('overlong', 'x', { nameBytes: OVERLONG_DOTS }))),
    code: 'bad-encoding',
  },
  {
    name: 'a 0xff byte in the name field',
    archive: () => gz(tar(fine(), file('ff', 'x', { nameBytes: bytes('store-data/', [0xff]) }))),
    code: 'bad-encoding',
  },
  {
    name: 'an encoded UTF-16 surrogate in the name field',
    archive: () => gz(tar(fine(), file('surrogate', 'x', { nameBytes: bytes('store-data/', [0xed, 0xa0, 0x80]) }))),
    code: 'bad-encoding',
  },
  {
    name: 'overlong UTF-8 in the prefix field',
    archive: () => gz(tar(fine(), file('x', 'x', { prefixBytes: OVERLONG_DOTS }))),
    code: 'bad-encoding',
  },
  {
    name: 'overlong UTF-8 in a PAX path',
    archive: () => gz(tar(fine(), pax(paxRecordBytes('path', OVERLONG_DOTS)), file('store-data/f'))),
    code: 'bad-encoding',
  },
  {
    name: 'overlong UTF-8 in a GNU long name',
    archive: () => gz(tar(fine(), gnuLong(OVERLONG_DOTS), file('store-data/f'))),
    code: 'bad-encoding',
  },
  // duplicates, and a path that is both a file and a directory
  {
    name: 'the same file twice',
    archive: () => gz(tar(fine(), file('store-data/a'), file('store-data/a', 'other'))),
    code: 'duplicate-entry',
  },
  {
    name: 'a file and its ./ twin',
    archive: () => gz(tar(fine(), file('store-data/a'), file('./store-data/a'))),
    code: 'duplicate-entry',
  },
  {
    name: 'a file and its /./ twin',
    archive: () => gz(tar(fine(), file('store-data/a'), file('store-data/./a'))),
    code: 'duplicate-entry',
  },
  {
    name: 'a file and its // twin',
    archive: () => gz(tar(fine(), file('store-data/a'), file('store-data//a'))),
    code: 'duplicate-entry',
  },
  {
    name: 'two names equal after NFC',
    archive: () => gz(tar(fine(), file('store-data/\u00e9'), file('store-data/e\u0301'))),
    code: 'duplicate-entry',
  },
  {
    name: 'a directory with and without its trailing slash',
    archive: () => gz(tar(fine(), dir('store-data/d/'), dir('store-data/d'))),
    code: 'duplicate-entry',
  },
  {
    name: 'a file, then a file under it',
    archive: () => gz(tar(fine(), file('store-data/a'), file('store-data/a/b'))),
    code: 'path-conflict',
  },
  {
    name: 'a file under a path, then a file at the path',
    archive: () => gz(tar(fine(), file('store-data/a/b'), file('store-data/a'))),
    code: 'path-conflict',
  },
  {
    name: 'a directory, then a file of the same name',
    archive: () => gz(tar(fine(), dir('store-data/a/'), file('store-data/a'))),
    code: 'path-conflict',
  },
  {
    name: 'a file, then a directory of the same name',
    archive: () => gz(tar(fine(), file('store-data/a'), dir('store-data/a/'))),
    code: 'path-conflict',
  },
  // content
  { name: 'directories only', archive: () => gz(tar(dir('store-data/'), dir('store-data/sub/'))), code: 'no-files' },
  { name: "only '.'", archive: () => gz(tar(dir('./'))), code: 'no-files' },
];

describe('verify-backup: archives readers could read two ways are rejected (issue 11)', () => {
  it.each(readersDisagree)('$name -> $code', async ({ archive, code }) => {
    const r = await verify(archive());
    expect(r.verified).toBe(false);
    expect(codes(r)).toContain(code);
  });

  it('the clean part of those archives verifies on its own (so each case fails for its own reason)', async () => {
    const r = await verify(gz(tar(fine())));
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
  });

  it('a name starting with a byte-order mark keeps it (the decoder must not swallow it)', async () => {
    const r = await verify(gz(tar(fine(), file('bom', 'x', { nameBytes: bytes([0xef, 0xbb, 0xbf], 'store-data') }))));
    // "\uFEFFstore-data" is not the volume "store-data": a top-level entry outside the layout
    expect(codes(r)).toContain('layout-mismatch');
  });
});

describe('verify-backup: the layout is the matched module’s declared data volumes', () => {
  const TWO = moduleDecl('cache', { refModules: ['cache'], maxAgeHours: 24 }, [
    { volume: 'cache-a', path: '/a' },
    { volume: 'cache-b', path: '/b' },
  ]);
  const TWO_INIT = moduleDecl('cache-init', { refModules: ['cache'], maxAgeHours: 24 });
  const ALL = [STORE, STORE_INIT, TWO, TWO_INIT];
  const twoVolumes = (): Buffer => gz(tar(dir('cache-a/'), file('cache-a/x'), dir('cache-b/'), file('cache-b/y')));

  it.each([
    ['volume directory entries and files', gz(tar(dir('store-data/'), file('store-data/x')))],
    ['./ prefixed names', gz(tar(dir('./store-data/'), file('./store-data/x')))],
    ["a '.' root entry first (tar -C dir .)", gz(tar(dir('./'), dir('./store-data/'), file('./store-data/x')))],
    ['files without a directory entry for the volume', gz(tar(file('store-data/x'), file('store-data/d/y')))],
  ])('good: %s', async (_, archive) => {
    const r = await verify(archive);
    expect(r.problems).toEqual([]);
  });

  it.each([
    [
      'an extra top-level directory',
      gz(tar(fine(), dir('other/'), file('other/x'))),
      /other.*not a declared data volume/,
    ],
    ['a top-level regular file', gz(tar(fine(), file('README'))), /README.*regular file at the top level/],
    ['the volume as a regular file', gz(tar(file('store-data'))), /store-data.*regular file at the top level/],
    [
      'a volume of another module',
      gz(tar(fine(), dir('cache-a/'), file('cache-a/x'))),
      /cache-a.*not a declared data volume/,
    ],
  ])('rejected: %s', async (_, archive, message) => {
    const r = await verify(archive, { modules: ALL });
    expect(r.verified).toBe(false);
    expect(codes(r)).toContain('layout-mismatch');
    expect(r.problems.find((p) => p.code === 'layout-mismatch')?.message).toMatch(message);
  });

  it('a declared volume missing from the archive', async () => {
    const r = await verify(gz(tar(dir('cache-a/'), file('cache-a/x'))), {
      module: TWO,
      modules: ALL,
      name: `cache-${STAMP}.tar.gz`,
    });
    expect(codes(r)).toEqual(['layout-mismatch']);
    expect(r.problems[0]!.message).toMatch(/cache-b.*missing/);
  });

  it('both volumes present: verified', async () => {
    const r = await verify(twoVolumes(), { module: TWO, modules: ALL, name: `cache-${STAMP}.tar.gz` });
    expect(r.problems).toEqual([]);
  });

  it("a sidecar's backup named for its ref_modules parent must have the parent's layout", async () => {
    const good = await verify(twoVolumes(), { module: TWO_INIT, modules: ALL, name: `cache-${STAMP}.tar.gz` });
    expect(good.problems).toEqual([]);
    expect(good).toMatchObject({ verified: true, matched_module: 'cache' });
    const wrong = await verify(GOOD, { module: TWO_INIT, modules: ALL, name: `cache-${STAMP}.tar.gz` });
    expect(codes(wrong)).toEqual(['layout-mismatch']);
  });

  it('a module that declares no data volumes accepts no archive', async () => {
    const r = await verify(GOOD, { module: STORE_INIT, name: `store-init-${STAMP}.tar.gz` });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['no-data-volumes']);
    expect(r.problems[0]!.message).toMatch(/store-init.*declares no data volumes/);
  });

  it('a matched module missing from the declarations accepts no archive', async () => {
    const r = await verify(GOOD, { module: STORE_INIT, modules: [STORE_INIT] });
    expect(r.verified).toBe(false);
    expect(codes(r)).toEqual(['layout-mismatch']);
  });
});

describe('verify-backup: whether a .sha256 was checked is reported', () => {
  const hex = createHash('sha256').update(GOOD_FILE()).digest('hex');

  it("a matching .sha256: checksum 'matched', said in the text", async () => {
    const r = await verify(GOOD, { sha256File: `${hex}  store-${STAMP}.tar.gz\n` });
    expect(r).toMatchObject({ verified: true, checksum: 'matched' });
    expect(JSON.parse(JSON.stringify(r))).toMatchObject({ checksum: 'matched' });
    expect(renderBackupReport(r).text).toContain('checksum: matched');
  });

  it("no .sha256: verified, checksum 'absent', and the text says integrity was not independently checked", async () => {
    const r = await verify(GOOD);
    expect(r).toMatchObject({ verified: true, checksum: 'absent' });
    expect(renderBackupReport(r).text).toContain('no .sha256 beside it — integrity not independently checked');
    expect(renderBackupReport(r).summary).toContain('no .sha256 beside it');
  });

  it('a mismatch is a rejection, and checksum is null', async () => {
    const r = await verify(GOOD, { sha256File: `${'0'.repeat(64)}  store-${STAMP}.tar.gz\n` });
    expect(r).toMatchObject({ verified: false, checksum: null });
  });

  it('not reached (outside the roots): checksum is null', async () => {
    const r = await verify(GOOD, { roots: ['/nonexistent-sg-root'], sha256File: `${hex}\n` });
    expect(r.checksum).toBeNull();
  });
});

describe('stateguard verify-backup (CLI): the checksum state in JSON, text and a warning', () => {
  /** GOOD as a snapshot of examples/platform's store (compose project platform) writes it */
  const PLATFORM_FILE = (): Buffer => withManifest(GOOD, { module: 'store', stamp: STAMP, project: 'platform' });
  async function cli(sha256File: string | null, json: boolean) {
    const { cliRun } = await import('../../support/commands.js');
    const { FakeRuntime } = await import('../../support/fake-runtime.js');
    const { REPO } = await import('../../support/runner.js');
    const root = tempDir();
    const name = `store-${STAMP}.tar.gz`;
    writeFileSync(path.join(root, name), PLATFORM_FILE());
    if (sha256File !== null) writeFileSync(path.join(root, `${name}.sha256`), sha256File);
    // verify-backup needs no engine: a fake that must stay untouched, and the test's clock
    const rt = new FakeRuntime();
    const r = await cliRun(
      [
        'verify-backup',
        '--root',
        path.join(REPO, 'examples/platform'),
        '--module',
        'store',
        '--backup-ref',
        path.join(root, name),
        '--backup-root',
        root,
        ...(json ? ['--json'] : []),
      ],
      rt,
      { cwd: root, now: () => NOW },
    );
    // validate renders the compose files through compose (no engine involved): nothing else may run
    if (rt.calls.some((c) => c.method !== 'renderProject')) throw new Error('no engine needed');
    return r;
  }

  it('absent: verified (exit 0), checksum "absent" in JSON, and a warning', async () => {
    const r = await cli(null, true);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: true, checksum: 'absent' });
    expect(r.stderr).toMatch(/no \.sha256 beside it/);
  });

  it('matched: checksum "matched" in the text, no warning', async () => {
    const r = await cli(
      `${createHash('sha256').update(PLATFORM_FILE()).digest('hex')}  store-${STAMP}.tar.gz\n`,
      false,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('checksum: matched');
    expect(r.stderr).not.toMatch(/no \.sha256/);
  });
});
