/**
 * prune-backups' retention over an in-memory listing: which archives are kept, which deleted, and
 * that nothing but `<module>-<stamp>.tar.gz` regular files (and their .sha256) is ever touched.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backupStamp, NoVerifiedBackupError, pruneBackups, type RetentionFs } from '../../../src/backup/retention.js';
import { handMadeStoreBackup } from '../../support/backups.js';
import { actionRun, cliRun } from '../../support/commands.js';
import { FakeRuntime } from '../../support/fake-runtime.js';
import { REPO } from '../../support/runner.js';

const ROOT_DIR = '/backups';
type Kind = 'file' | 'symlink' | 'dir';

function memFs(entries: Record<string, Kind>): RetentionFs & { files: Map<string, Kind>; unlinked: string[] } {
  const files = new Map(Object.entries(entries).map(([n, k]) => [path.join(ROOT_DIR, n), k]));
  const unlinked: string[] = [];
  const enoent = (f: string) => Object.assign(new Error(`ENOENT: ${f}`), { code: 'ENOENT' });
  return {
    files,
    unlinked,
    readdir: async (dir) => [...files.keys()].filter((f) => path.dirname(f) === dir).map((f) => path.basename(f)),
    lstat: async (f) => {
      const k = files.get(f);
      if (!k) throw enoent(f);
      return { isFile: () => k === 'file', isSymbolicLink: () => k === 'symlink' };
    },
    unlink: async (f) => {
      if (!files.has(f)) throw enoent(f);
      files.delete(f);
      unlinked.push(path.basename(f));
    },
  };
}

const S = (d: number) => `store-202601${String(d).padStart(2, '0')}T000000Z.tar.gz`;
const NOW = new Date('2026-01-31T00:00:00Z');

interface Case {
  name: string;
  entries: Record<string, Kind>;
  good: string[];
  keepLast: number;
  keepDays?: number;
  dryRun?: boolean;
  kept: string[];
  deleted: string[];
  newest: string | null;
  /** names left on disk afterwards */
  left?: string[];
}

const five: Record<string, Kind> = Object.fromEntries([1, 2, 3, 4, 5].map((d) => [S(d), 'file']));

const cases: Case[] = [
  {
    name: 'keep-last 2 of five, newest verifies',
    entries: { ...five, [`${S(1)}.sha256`]: 'file', [`${S(2)}.sha256`]: 'file', [`${S(5)}.sha256`]: 'file' },
    good: [S(5)],
    keepLast: 2,
    kept: [S(5), S(4)],
    deleted: [S(1), S(2), S(3)],
    newest: S(5),
    left: [S(4), S(5), `${S(5)}.sha256`],
  },
  {
    name: 'newest is corrupt: the newest verified (older) one is kept too',
    entries: five,
    good: [S(2), S(1)],
    keepLast: 1,
    kept: [S(5), S(2)],
    deleted: [S(1), S(3), S(4)],
    newest: S(2),
  },
  {
    name: 'keep-last 1 with the newest unverified keeps 2',
    entries: { [S(1)]: 'file', [S(2)]: 'file' },
    good: [S(1)],
    keepLast: 1,
    kept: [S(2), S(1)],
    deleted: [],
    newest: S(1),
  },
  {
    name: 'dry-run deletes nothing but says what it would',
    entries: five,
    good: [S(5)],
    keepLast: 1,
    dryRun: true,
    kept: [S(5)],
    deleted: [S(1), S(2), S(3), S(4)],
    newest: S(5),
    left: Object.keys(five),
  },
  {
    name: 'keep-days keeps the young ones beyond keep-last',
    entries: { ...five, 'store-20260130T120000Z.tar.gz': 'file' },
    good: ['store-20260130T120000Z.tar.gz'],
    keepLast: 1,
    keepDays: 27,
    kept: ['store-20260130T120000Z.tar.gz', S(5)],
    deleted: [S(1), S(2), S(3), S(4)],
    newest: 'store-20260130T120000Z.tar.gz',
  },
  {
    name: 'hostile and foreign names are never touched',
    entries: {
      ...five,
      [`${S(1)}.evil`]: 'file',
      'store-20260101T000000Z.tar.gz.sha256.bak': 'file',
      'store-init-20260101T000000Z.tar.gz': 'file',
      'web-20260101T000000Z.tar.gz': 'file',
      'store-20260230T000000Z.tar.gz': 'file',
      'store-20260101T000000Z.tgz': 'file',
      'Store-20260101T000000Z.tar.gz': 'file',
      '..': 'dir',
      '../store-20260101T000000Z.tar.gz': 'file',
      'store-20260106T000000Z.tar.gz': 'symlink',
      'store-20260107T000000Z.tar.gz': 'dir',
    },
    good: [S(5)],
    keepLast: 1,
    kept: [S(5)],
    deleted: [S(1), S(2), S(3), S(4)],
    newest: S(5),
  },
  {
    name: 'a .sha256 that is a symlink or directory is left alone',
    entries: {
      [S(1)]: 'file',
      [`${S(1)}.sha256`]: 'symlink',
      [S(2)]: 'file',
      [`${S(2)}.sha256`]: 'dir',
      [S(3)]: 'file',
    },
    good: [S(3)],
    keepLast: 1,
    kept: [S(3)],
    deleted: [S(1), S(2)],
    newest: S(3),
    left: [`${S(1)}.sha256`, `${S(2)}.sha256`, S(3)],
  },
];

describe('pruneBackups', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const fs = memFs(c.entries);
    const verified: string[] = [];
    const r = await pruneBackups({
      module: 'store',
      backupRoot: ROOT_DIR,
      keepLast: c.keepLast,
      keepDays: c.keepDays ?? 0,
      dryRun: c.dryRun ?? false,
      now: NOW,
      fs,
      verify: async (f) => {
        verified.push(path.basename(f));
        const ok = c.good.includes(path.basename(f));
        return { verified: ok, problems: ok ? [] : [{ code: 'gzip-corrupt', message: 'bad' }] };
      },
    });
    const full = (n: string) => path.join(ROOT_DIR, n);
    expect(r.kept.map((k) => k.path)).toEqual(c.kept.map(full));
    expect([...r.deleted].sort()).toEqual(c.deleted.map(full).sort());
    expect(r.newest_verified).toBe(c.newest === null ? null : full(c.newest));
    expect(r.dry_run).toBe(c.dryRun ?? false);
    // Verified newest first, stopping at the first that verifies.
    expect(verified.at(-1)).toBe(c.newest);
    const keptNewest = r.kept.find((k) => k.path === r.newest_verified);
    expect(keptNewest?.verified).toBe(true);
    // Exactly the deleted archives and their regular-file .sha256 are gone; everything else is still there.
    for (const [n, kind] of Object.entries(c.entries)) {
      const gone = !c.dryRun && kind === 'file' && c.deleted.some((d) => n === d || n === `${d}.sha256`);
      expect([n, fs.files.has(full(n))]).toEqual([n, !gone]);
    }
    if (c.left) {
      const ours = [...fs.files.keys()].map((f) => path.basename(f)).filter((n) => n.startsWith('store-202601'));
      expect(ours.filter((n) => backupStamp('store', n) || /\.tar\.gz\.sha256$/.test(n)).sort()).toEqual(
        [...c.left].sort(),
      );
    }
    if (c.dryRun) expect(fs.unlinked).toEqual([]);
    for (const n of fs.unlinked) expect(n.startsWith('store-2026')).toBe(true);
  });

  it('no archive verifies: deletes nothing and refuses', async () => {
    const fs = memFs(five);
    const p = pruneBackups({
      module: 'store',
      backupRoot: ROOT_DIR,
      keepLast: 1,
      keepDays: 0,
      dryRun: false,
      now: NOW,
      fs,
      verify: async () => ({ verified: false, problems: [{ code: 'tar-corrupt', message: 'x' }] }),
    });
    await expect(p).rejects.toThrow(NoVerifiedBackupError);
    await expect(p).rejects.toThrow('no verified backup of store; refusing to prune');
    expect(fs.unlinked).toEqual([]);
  });

  it('a file that vanished between listing and deletion is not an error', async () => {
    const fs = memFs(five);
    const realUnlink = fs.unlink.bind(fs);
    fs.unlink = async (f) => {
      if (path.basename(f) === S(1)) fs.files.delete(f);
      return realUnlink(f);
    };
    const r = await pruneBackups({
      module: 'store',
      backupRoot: ROOT_DIR,
      keepLast: 1,
      keepDays: 0,
      dryRun: false,
      now: NOW,
      fs,
      verify: async () => ({ verified: true, problems: [] }),
    });
    expect(r.deleted).toHaveLength(4);
  });

  it.each([0, -1, 1.5])('keep-last %p is refused', async (n) => {
    await expect(
      pruneBackups({
        module: 'store',
        backupRoot: ROOT_DIR,
        keepLast: n,
        keepDays: 0,
        dryRun: false,
        now: NOW,
        fs: memFs({}),
        verify: async () => ({ verified: true, problems: [] }),
      }),
    ).rejects.toThrow(RangeError);
  });
});

const P = (kind: 'pre-restore' | 'pre-upgrade', stamp: string) => `store.${kind}.${stamp}.tar.gz`;

describe('pruneBackups: safety copies apart (docs/architecture.md §7)', () => {
  interface SafetyCase {
    name: string;
    entries: Record<string, Kind>;
    good: string[];
    keepLast?: number;
    keepSafetyDays?: number;
    dryRun?: boolean;
    kept: string[];
    deleted: string[];
    newest: string;
    safety: [string, 'keep' | 'delete', RegExp][];
  }
  const cases: SafetyCase[] = [
    {
      name: 'a pre-restore copy newer than every backup is not the newest verified; the newest backup is kept',
      entries: { ...five, [P('pre-restore', '20260130T000000Z')]: 'file' },
      // everything would verify, the damaged data included
      good: [...Object.keys(five), P('pre-restore', '20260130T000000Z')],
      keepLast: 1,
      kept: [S(5)],
      deleted: [S(1), S(2), S(3), S(4)],
      newest: S(5),
      safety: [[P('pre-restore', '20260130T000000Z'), 'keep', /the newest pre-restore copy/]],
    },
    {
      name: 'keep-safety-days (default 30): the newest of each kind always, the young ones, the rest deleted with their .sha256',
      entries: {
        [S(5)]: 'file',
        [P('pre-restore', '20260130T000000Z')]: 'file',
        [P('pre-restore', '20260110T000000Z')]: 'file',
        [P('pre-restore', '20251215T000000Z')]: 'file',
        [`${P('pre-restore', '20251215T000000Z')}.sha256`]: 'file',
        [P('pre-upgrade', '20251101T000000Z')]: 'file',
        [P('pre-upgrade', '20251001T000000Z')]: 'file',
        [`${P('pre-upgrade', '20251001T000000Z')}.sha256`]: 'file',
      },
      good: [S(5)],
      kept: [S(5)],
      deleted: [],
      newest: S(5),
      safety: [
        [P('pre-restore', '20260130T000000Z'), 'keep', /^the newest pre-restore copy \(always kept\)$/],
        [P('pre-restore', '20260110T000000Z'), 'keep', /^younger than 30 days \(keep-safety-days\)$/],
        [
          P('pre-restore', '20251215T000000Z'),
          'delete',
          /^older than 30 days \(keep-safety-days\) and not the newest pre-restore copy$/,
        ],
        [P('pre-upgrade', '20251101T000000Z'), 'keep', /^the newest pre-upgrade copy/],
        [P('pre-upgrade', '20251001T000000Z'), 'delete', /not the newest pre-upgrade copy/],
      ],
    },
    {
      name: 'the dry run lists the safety copies with their rule and deletes nothing',
      entries: {
        [S(5)]: 'file',
        [P('pre-restore', '20260130T000000Z')]: 'file',
        [P('pre-restore', '20251215T000000Z')]: 'file',
      },
      good: [S(5)],
      dryRun: true,
      kept: [S(5)],
      deleted: [],
      newest: S(5),
      safety: [
        [P('pre-restore', '20260130T000000Z'), 'keep', /newest/],
        [P('pre-restore', '20251215T000000Z'), 'delete', /older than 30 days/],
      ],
    },
    {
      name: 'keep-safety-days 0 keeps only the newest of each kind',
      entries: {
        [S(5)]: 'file',
        [P('pre-upgrade', '20260130T120000Z')]: 'file',
        [P('pre-upgrade', '20260130T000000Z')]: 'file',
      },
      good: [S(5)],
      keepSafetyDays: 0,
      kept: [S(5)],
      deleted: [],
      newest: S(5),
      safety: [
        [P('pre-upgrade', '20260130T120000Z'), 'keep', /newest/],
        [P('pre-upgrade', '20260130T000000Z'), 'delete', /^not the newest pre-upgrade copy \(keep-safety-days 0\)$/],
      ],
    },
    {
      name: 'names that only look like safety copies, symlinks and directories are never touched',
      entries: {
        [S(5)]: 'file',
        [P('pre-restore', '20250101T000000Z')]: 'symlink',
        [P('pre-upgrade', '20250101T000000Z')]: 'dir',
        'store.pre-other.20250101T000000Z.tar.gz': 'file',
        'store.pre-restore.X.tar.gz': 'file',
        'store.pre-restore.20250230T000000Z.tar.gz': 'file',
        '.store.pre-restore.20250101T000000Z.tar.gz': 'file',
        'store-init.pre-restore.20250101T000000Z.tar.gz': 'file',
        'web.pre-upgrade.20250101T000000Z.tar.gz': 'file',
        'Store.pre-restore.20250101T000000Z.tar.gz': 'file',
        [`${P('pre-restore', '20250101T000000Z')}.evil`]: 'file',
      },
      good: [S(5)],
      keepSafetyDays: 0,
      kept: [S(5)],
      deleted: [],
      newest: S(5),
      safety: [],
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const fs = memFs(c.entries);
    const verified: string[] = [];
    const r = await pruneBackups({
      module: 'store',
      backupRoot: ROOT_DIR,
      keepLast: c.keepLast ?? 1,
      keepDays: 0,
      ...(c.keepSafetyDays === undefined ? {} : { keepSafetyDays: c.keepSafetyDays }),
      dryRun: c.dryRun ?? false,
      now: NOW,
      fs,
      verify: async (f) => {
        verified.push(path.basename(f));
        const ok = c.good.includes(path.basename(f));
        return { verified: ok, problems: ok ? [] : [{ code: 'gzip-corrupt', message: 'bad' }] };
      },
    });
    const full = (n: string) => path.join(ROOT_DIR, n);
    expect(r.newest_verified).toBe(full(c.newest));
    expect(r.kept.map((k) => k.path)).toEqual(c.kept.map(full));
    expect([...r.deleted].sort()).toEqual(c.deleted.map(full).sort());
    // a safety copy is never verified as a backup candidate
    expect(verified.filter((n) => !n.startsWith('store-'))).toEqual([]);
    expect(r.safety_copies.map((x) => [path.basename(x.path), x.action])).toEqual(c.safety.map(([n, a]) => [n, a]));
    r.safety_copies.forEach((x, i) => expect(x.rule).toMatch(c.safety[i]![2]));
    // on disk: exactly the deleted safety copies (and their regular .sha256) are gone, unless a dry run
    const doomed = [...c.deleted, ...c.safety.filter(([, a]) => a === 'delete').map(([n]) => n)];
    for (const [n, kind] of Object.entries(c.entries)) {
      const gone = !c.dryRun && kind === 'file' && doomed.some((d) => n === d || n === `${d}.sha256`);
      expect([n, fs.files.has(full(n))]).toEqual([n, !gone]);
    }
    if (c.dryRun) expect(fs.unlinked).toEqual([]);
  });

  it('safety copies alone never satisfy "at least one verified backup": nothing is deleted, each says why', async () => {
    const fs = memFs({
      [P('pre-restore', '20260130T000000Z')]: 'file',
      [P('pre-restore', '20250101T000000Z')]: 'file',
    });
    const p = pruneBackups({
      module: 'store',
      backupRoot: ROOT_DIR,
      keepLast: 1,
      keepDays: 0,
      keepSafetyDays: 0,
      dryRun: false,
      now: NOW,
      fs,
      verify: async () => ({ verified: true, problems: [] }),
    });
    await expect(p).rejects.toThrow(NoVerifiedBackupError);
    const err = (await p.catch((e: unknown) => e)) as NoVerifiedBackupError;
    expect(err.result.newest_verified).toBeNull();
    expect(err.result.safety_copies.map((x) => [x.action, x.rule])).toEqual([
      ['keep', 'no backup verifies, so nothing is deleted'],
      ['keep', 'no backup verifies, so nothing is deleted'],
    ]);
    expect(fs.unlinked).toEqual([]);
  });

  it.each([-1, 1.5])('keep-safety-days %p is refused', async (n) => {
    await expect(
      pruneBackups({
        module: 'store',
        backupRoot: ROOT_DIR,
        keepLast: 1,
        keepDays: 0,
        keepSafetyDays: n,
        dryRun: false,
        now: NOW,
        fs: memFs({}),
        verify: async () => ({ verified: true, problems: [] }),
      }),
    ).rejects.toThrow(RangeError);
  });
});

describe('stateguard prune-backups on real files', () => {
  const ROOT = path.join(REPO, 'examples/platform');
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const fresh = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'sg-prune-'));
    dirs.push(d);
    return d;
  };

  it('keeps the newest verified one when the newest is corrupt; leaves symlinks and strangers alone', async () => {
    const dir = fresh();
    const good = await handMadeStoreBackup(dir);
    const goodName = path.basename(good);
    const older = path.join(dir, 'store-20250101T000000Z.tar.gz');
    writeFileSync(older, 'old');
    writeFileSync(`${older}.sha256`, 'x');
    const newer = path.join(dir, 'store-29990101T000000Z.tar.gz'); // in the future: never verifies
    writeFileSync(newer, 'corrupt');
    const outside = fresh();
    writeFileSync(path.join(outside, 'victim'), 'keep me');
    symlinkSync(path.join(outside, 'victim'), path.join(dir, 'store-20240101T000000Z.tar.gz'));
    writeFileSync(path.join(dir, 'store-20240101T000000Z.tar.gz.evil'), 'x');
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'store-20240101T000000Z.tar.gz'), 'x');
    const r = await cliRun(
      ['prune-backups', '--root', ROOT, '--module', 'store', '--backup-root', dir, '--keep-last', '1', '--json'],
      new FakeRuntime(),
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { kept: { path: string; verified: boolean | null }[]; deleted: string[] };
    // each file with the rule that keeps or deletes it (docs/architecture.md §7, §16)
    expect(doc.kept).toEqual([
      { path: newer, verified: false, rule: 'one of the newest 1 (keep-last)' },
      { path: good, verified: true, rule: 'the newest backup that verifies: always kept' },
    ]);
    expect(doc.deleted).toEqual([older]);
    expect((doc as unknown as { deleted_rules: string[] }).deleted_rules).toEqual([
      'not among the newest 1 (keep-last), and a newer backup verifies',
    ]);
    expect(readdirSync(dir).sort()).toEqual(
      [
        goodName,
        path.basename(newer),
        'store-20240101T000000Z.tar.gz',
        'store-20240101T000000Z.tar.gz.evil',
        'sub',
      ].sort(),
    );
    expect(readdirSync(outside)).toEqual(['victim']);
  });

  it('nothing verifies: exit 1, backup-rejected, nothing deleted', async () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'store-20250101T000000Z.tar.gz'), 'x');
    writeFileSync(path.join(dir, 'store-20250102T000000Z.tar.gz'), 'y');
    const r = await cliRun(
      ['prune-backups', '--root', ROOT, '--module', 'store', '--backup-root', dir, '--keep-last', '1', '--json'],
      new FakeRuntime(),
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ newest_verified: null, deleted: [] });
    expect(r.stderr).toContain('no verified backup of store; refusing to prune');
    expect(readdirSync(dir)).toHaveLength(2);
    const a = await actionRun('prune-backups', { root: ROOT, module: 'store', 'backup-root': dir }, new FakeRuntime());
    expect(a.code).toBe(1);
    expect(a.outputs['failure-reason']).toBe('backup-rejected');
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it('a safety copy newer than the backup: the backup stays newest verified; the dry run names the copy and its rule', async () => {
    const dir = fresh();
    const good = await handMadeStoreBackup(dir);
    // the same bytes under a newer safety name: it would verify, and it must still not count
    const stamp = path.basename(good).slice('store-'.length, -'.tar.gz'.length);
    const pre = path.join(dir, `store.pre-restore.${stamp}.tar.gz`);
    copyFileSync(good, pre);
    const older = path.join(dir, 'store.pre-restore.20250101T000000Z.tar.gz');
    writeFileSync(older, 'old damaged data');
    const args = [
      'prune-backups',
      '--root',
      ROOT,
      '--module',
      'store',
      '--backup-root',
      dir,
      '--keep-last',
      '1',
      '--json',
    ];
    const dry = await cliRun([...args, '--dry-run'], new FakeRuntime());
    expect(dry.code).toBe(0);
    const doc = JSON.parse(dry.stdout) as {
      newest_verified: string;
      deleted: string[];
      safety_copies: { path: string; action: string; rule: string }[];
    };
    expect(doc.newest_verified).toBe(good);
    expect(doc.deleted).toEqual([]);
    expect(doc.safety_copies).toEqual([
      {
        path: pre,
        kind: 'pre-restore',
        taken_at: expect.any(String),
        action: 'keep',
        rule: 'the newest pre-restore copy (always kept)',
      },
      {
        path: older,
        kind: 'pre-restore',
        taken_at: '2025-01-01T00:00:00.000Z',
        action: 'delete',
        rule: 'older than 30 days (keep-safety-days) and not the newest pre-restore copy',
      },
    ]);
    const text = await cliRun(
      ['prune-backups', '--root', ROOT, '--module', 'store', '--backup-root', dir, '--keep-last', '1', '--dry-run'],
      new FakeRuntime(),
    );
    expect(text.stdout).toContain(
      `would delete ${older} (older than 30 days (keep-safety-days) and not the newest pre-restore copy)`,
    );
    expect(text.stdout).toContain(`keep   ${pre} (the newest pre-restore copy (always kept))`);
    expect(readdirSync(dir)).toHaveLength(3);
    const a = await actionRun(
      'prune-backups',
      { root: ROOT, module: 'store', 'backup-root': dir, 'keep-last': '1' },
      new FakeRuntime(),
    );
    expect(a.code).toBe(0);
    expect(a.outputs['newest-verified']).toBe(good);
    expect(JSON.parse(a.outputs['deleted-safety-copies']!)).toEqual([older]);
    expect(readdirSync(dir).sort()).toEqual([path.basename(good), path.basename(pre)].sort());
  });

  it('--keep-safety-days -1 is a usage error', async () => {
    const r = await cliRun(
      ['prune-backups', '--root', ROOT, '--module', 'store', '--backup-root', fresh(), '--keep-safety-days', '-1'],
      new FakeRuntime(),
    );
    expect(r.code).toBe(3);
  });

  it('--keep-last 0 is a usage error', async () => {
    const r = await cliRun(
      ['prune-backups', '--root', ROOT, '--module', 'store', '--backup-root', fresh(), '--keep-last', '0'],
      new FakeRuntime(),
    );
    expect(r.code).toBe(3);
  });
});
