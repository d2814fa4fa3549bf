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
