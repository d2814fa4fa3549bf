/**
 * The snapshot/restore tar writer: every header it writes, long names included, is one the strict
 * walker accepts (docs/architecture.md §5) and names the entry it was given.
 */
import { describe, expect, it } from '@jest/globals';
import { TarWalker, type WalkedEntry } from '../../../src/backup/tar-walker.js';
import { END_OF_ARCHIVE, bodyPadding, headerBlocks, type WriterEntry } from '../../../src/backup/tar-writer.js';
import type { BackupProblem } from '../../../src/backup/types.js';

function walkOne(e: WriterEntry): { problems: BackupProblem[]; entries: WalkedEntry[] } {
  const problems: BackupProblem[] = [];
  const entries: WalkedEntry[] = [];
  const w = new TarWalker({
    maxEntries: 10,
    layout: null,
    report: (p) => problems.push(p),
    onCap: () => undefined,
    onEntry: (x) => entries.push(x),
  });
  const body = Buffer.alloc(e.type === 'File' ? e.size : 0, 1);
  w.write(Buffer.concat([headerBlocks(e), body, bodyPadding(body.length), END_OF_ARCHIVE]));
  w.end();
  return { problems, entries };
}

describe('headerBlocks', () => {
  // Paths of every length from short to long, in segments of several widths: some of them make
  // node-tar cut the plain name right after a '/' or inside a '..x' segment.
  const cases: [string, 'File' | 'Directory'][] = [];
  for (const seg of ['a', 'abc', 'abcdefgh', '..abcdef', 'ünï', 'x'.repeat(120)]) {
    for (let n = 1; n < 50 && n * (seg.length + 1) < 4000; n += 3) {
      cases.push([`v/${`${seg}/`.repeat(n)}file`, 'File']);
      cases.push([`v/${`${seg}/`.repeat(n)}`, 'Directory']);
    }
  }

  const table = cases.map(([path, type]) => ({ path, type, shown: `${path.slice(0, 24)}… (${path.length} chars)` }));
  it.each(table)('$shown $type is walked clean under its own name', ({ path, type }) => {
    const { problems, entries } = walkOne({
      path,
      type,
      size: 3,
      mode: 0o100644,
      uid: 1,
      gid: 2,
      mtime: new Date(5000),
    });
    // a lone directory is also 'no-files', which is not about its header
    expect(problems.filter((p) => p.code !== 'no-files')).toEqual([]);
    expect(entries.map((x) => ({ ...x, path: x.path.replace(/\/$/, '') }))).toEqual([
      {
        path: path.replace(/\/$/, ''),
        type: type === 'File' ? 'file' : 'directory',
        size: type === 'File' ? 3 : 0,
        mode: 0o644,
        uid: 1,
        gid: 2,
        mtime: 5,
      },
    ]);
  });
});

describe('headerBlocks: values a ustar field cannot hold go in PAX records (as GNU tar writes them)', () => {
  const base = { path: 'v/f', type: 'File' as const, size: 3, mode: 0o644, uid: 1, gid: 2, mtime: 5 };
  it.each([
    ['uid 3000000', { uid: 3000000 }, { uid: 3000000 }, ['uid=3000000']],
    ['gid 2^32-2', { gid: 4294967294 }, { gid: 4294967294 }, ['gid=4294967294']],
    ['the largest octal uid stays in the header', { uid: 0o7777777 }, { uid: 0o7777777 }, []],
    ['an mtime in 1960', { mtime: -315619200 }, { mtime: -315619200 }, ['mtime=-315619200']],
    ['an mtime past 8^11-1', { mtime: 8 ** 11 }, { mtime: 8 ** 11 }, [`mtime=${8 ** 11}`]],
    [
      'a fractional mtime',
      { mtime: 1_700_000_000, mtimeNsec: 500_000_000 },
      { mtime: 1_700_000_000, mtimeNsec: 500_000_000 },
      ['mtime=1700000000.5'],
    ],
    [
      'a Date with milliseconds',
      { mtime: new Date(1_700_000_000_250) },
      { mtime: 1_700_000_000, mtimeNsec: 250_000_000 },
      ['mtime=1700000000.25'],
    ],
    // readers disagree on a negative fraction (verify refuses one): whole seconds, rounded down
    ['a Date before 1970 with milliseconds', { mtime: new Date(-1500) }, { mtime: -2 }, ['mtime=-2']],
  ] as const)('%s', (_, given, walked, records) => {
    const blocks = headerBlocks({ ...base, ...given });
    const text = blocks.toString('latin1');
    for (const r of records) expect(text).toContain(` ${r}\n`);
    if (records.length === 0) expect(blocks.length).toBe(512);
    const { problems, entries } = walkOne({ ...base, ...given });
    expect(problems).toEqual([]);
    expect(entries).toEqual([{ path: 'v/f', type: 'file', size: 3, mode: 0o644, uid: 1, gid: 2, mtime: 5, ...walked }]);
    // the ustar fields a reader skipping the PAX header uses are never base-256
    const ustar = blocks.subarray(blocks.length - 512);
    for (const at of [108, 116, 136]) expect(ustar[at]).toBeLessThan(0x80);
  });
});
