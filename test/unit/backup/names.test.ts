/**
 * Archive names (docs/architecture.md §5, §7): one parser for backups and safety copies; the name rules
 * (module, stamp, max age) apply to the module and stamp inside a safety copy's name; hostile names are
 * refused with the usual reasons; no backup pattern of any module matches a safety copy.
 */
import { describe, expect, it } from '@jest/globals';
import { archiveName, checkArchiveName, parseArchiveName } from '../../../src/backup/names.js';
import { backupStamp, safetyCopyStamp } from '../../../src/backup/retention.js';

const NOW = new Date('2026-12-03T10:10:10Z');
const STAMP = '20261203T101010Z';

describe('parseArchiveName', () => {
  it.each([
    [`db-${STAMP}.tar.gz`, { module: 'db', stamp: STAMP, kind: 'backup' }],
    [`db.pre-restore.${STAMP}.tar.gz`, { module: 'db', stamp: STAMP, kind: 'pre-restore' }],
    [`db.pre-upgrade.${STAMP}.tar.gz`, { module: 'db', stamp: STAMP, kind: 'pre-upgrade' }],
    [`store-init.pre-restore.${STAMP}.tar.gz`, { module: 'store-init', stamp: STAMP, kind: 'pre-restore' }],
    [`store-init-${STAMP}.tar.gz`, { module: 'store-init', stamp: STAMP, kind: 'backup' }],
    // the shape only: whether the stamp is a real date is parseStamp's question
    ['db.pre-restore.20260230T000000Z.tar.gz', { module: 'db', stamp: '20260230T000000Z', kind: 'pre-restore' }],
  ])('%s', (name, parsed) => {
    expect(parseArchiveName(name)).toEqual(parsed);
  });

  it.each([
    'db.pre-restore.X.tar.gz',
    `db.pre-other.${STAMP}.tar.gz`,
    `db.PRE-RESTORE.${STAMP}.tar.gz`,
    `db.pre-restore.${STAMP}.tgz`,
    `db.pre-restore.${STAMP}.tar.gz.sha256`,
    `.db.pre-restore.${STAMP}.tar.gz`,
    `../db.pre-restore.${STAMP}.tar.gz`,
    `db/../db.pre-restore.${STAMP}.tar.gz`,
    `d.b.pre-restore.${STAMP}.tar.gz`,
    `db..pre-restore.${STAMP}.tar.gz`,
    `db.pre-restore..${STAMP}.tar.gz`,
    `db.pre-restore-${STAMP}.tar.gz`,
    `db-pre-restore.${STAMP}.tar.gz`,
    `Db.pre-restore.${STAMP}.tar.gz`,
    `-db.pre-restore.${STAMP}.tar.gz`,
    `db-.pre-restore.${STAMP}.tar.gz`,
    `db.pre-restore.${STAMP}.tar.gz\n`,
    ` db.pre-restore.${STAMP}.tar.gz`,
    `${'a'.repeat(64)}.pre-restore.${STAMP}.tar.gz`,
    `db.pre-restore.${STAMP.toLowerCase()}.tar.gz`,
  ])('%j is no archive name of ours', (name) => {
    expect(parseArchiveName(name)).toBeNull();
  });

  it('archiveName writes what the parser reads, for every kind', () => {
    const at = new Date('2026-12-03T10:10:10.999Z');
    expect(archiveName('db', at)).toBe(`db-${STAMP}.tar.gz`);
    expect(archiveName('db', at, 'pre-restore')).toBe(`db.pre-restore.${STAMP}.tar.gz`);
    expect(archiveName('db', at, 'pre-upgrade')).toBe(`db.pre-upgrade.${STAMP}.tar.gz`);
    for (const kind of ['backup', 'pre-restore', 'pre-upgrade'] as const) {
      expect(parseArchiveName(archiveName('store-init', at, kind))).toEqual({
        module: 'store-init',
        stamp: STAMP,
        kind,
      });
    }
  });

  it('no backup pattern of any module matches a safety copy; `db*` shows it beside the backups', () => {
    const names = [`db.pre-restore.${STAMP}.tar.gz`, `db.pre-upgrade.${STAMP}.tar.gz`];
    // a shell glob `<module>-*.tar.gz` as a regular expression, for the module and one whose name starts like it
    const glob = (m: string) => new RegExp(`^${m}-.*\\.tar\\.gz$`);
    for (const n of names) {
      for (const m of ['db', 'd', 'db-pre', 'db-pre-restore']) {
        expect([m, n, glob(m).test(n)]).toEqual([m, n, false]);
        expect(backupStamp(m, n)).toBeNull();
      }
      expect(n.startsWith('db')).toBe(true);
      expect(safetyCopyStamp('db', n)).not.toBeNull();
      expect(safetyCopyStamp('d', n)).toBeNull();
    }
    expect(safetyCopyStamp('db', `db-${STAMP}.tar.gz`)).toBeNull();
  });
});

describe('checkArchiveName: the backup rules apply inside a safety copy name', () => {
  const check = (name: string, allowed = ['db'], maxAgeHours = 24) => checkArchiveName(name, allowed, maxAgeHours, NOW);

  it.each([
    [`db-${STAMP}.tar.gz`, 'backup'],
    [`db.pre-restore.${STAMP}.tar.gz`, 'pre-restore'],
    [`db.pre-upgrade.${STAMP}.tar.gz`, 'pre-upgrade'],
  ] as const)('%s is accepted as a %s', (name, kind) => {
    const v = check(name);
    expect(v).toMatchObject({ matchedModule: 'db', kind, problems: [] });
    expect(v.createdAt?.toISOString()).toBe('2026-12-03T10:10:10.000Z');
  });

  it.each([
    ['a stamp that is no stamp', 'db.pre-restore.X.tar.gz', 'bad-stamp'],
    ['an impossible date', 'db.pre-restore.20261232T101010Z.tar.gz', 'bad-stamp'],
    ['an unknown kind', `db.pre-other.${STAMP}.tar.gz`, 'bad-name'],
    ['a kind in capitals', `db.PRE-UPGRADE.${STAMP}.tar.gz`, 'bad-name'],
    ['a dot-module', `.db.pre-restore.${STAMP}.tar.gz`, 'bad-name'],
    ['a path', `../db.pre-restore.${STAMP}.tar.gz`, 'bad-name'],
    ['another module', `store.pre-restore.${STAMP}.tar.gz`, 'wrong-module'],
    ['a module that starts like this one', `db-x.pre-upgrade.${STAMP}.tar.gz`, 'wrong-module'],
    ['too old for max_age_hours', 'db.pre-upgrade.20261201T101010Z.tar.gz', 'too-old'],
    ['from the future', 'db.pre-restore.20261203T111010Z.tar.gz', 'stamp-in-future'],
  ])('%s (%s) -> %s', (_what, name, code) => {
    const v = check(name);
    expect(v.problems.map((p) => p.code)).toEqual([code]);
  });

  it('a bad stamp in a safety copy name says the safety name it expected', () => {
    expect(check('db.pre-restore.X.tar.gz').problems[0]!.message).toContain(
      'expected db.pre-restore.YYYYMMDDTHHMMSSZ.tar.gz',
    );
    expect(check(`db.pre-other.${STAMP}.tar.gz`).problems[0]!.message).toContain(
      'db.pre-restore.YYYYMMDDTHHMMSSZ.tar.gz or db.pre-upgrade.YYYYMMDDTHHMMSSZ.tar.gz (a safety copy)',
    );
  });

  it('a ref_modules parent covers its safety copies as it covers its backups', () => {
    expect(check(`store.pre-restore.${STAMP}.tar.gz`, ['store-init', 'store'])).toMatchObject({
      matchedModule: 'store',
      kind: 'pre-restore',
      problems: [],
    });
  });
});
