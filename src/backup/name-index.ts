/**
 * The tar walker's name index (./tar-walker.ts): names are unique after NFC and `./`, `//`, trailing
 * `/` are normalised away (the caller passes the normalised segments), never both a file and a
 * directory, never under a file. It is the one structure of the walk that grows: one Map entry per
 * distinct path and parent directory, and it says when it holds more than `maxNodes`.
 */
const KIND_IMPLICIT_DIR = 0;
const KIND_DIR = 1;
const KIND_FILE = 2;

/**
 * Names seen so far, as a trie of normalised segments: key `<parent id>\0<segment>`, value
 * id * 4 + kind. Detects duplicates and file/directory conflicts in either order.
 */
export class NameIndex {
  private readonly map = new Map<string, number>();
  private nextId = 1;
  private rootSeen = false;
  constructor(private readonly maxNodes: number) {}

  get full(): boolean {
    return this.map.size > this.maxNodes;
  }

  /** null when fine, else [code, why]. */
  add(segments: readonly string[], isDir: boolean): ['duplicate-entry' | 'path-conflict', string] | null {
    if (segments.length === 0) {
      if (this.rootSeen) return ['duplicate-entry', "the archive root '.' appears twice"];
      this.rootSeen = true;
      return null;
    }
    let parent = 0;
    for (let i = 0; i < segments.length - 1; i++) {
      const key = `${parent}\0${segments[i]}`;
      const v = this.map.get(key);
      if (v === undefined) {
        const id = this.nextId++;
        this.map.set(key, id * 4 + KIND_IMPLICIT_DIR);
        parent = id;
      } else if (v % 4 === KIND_FILE) {
        return [
          'path-conflict',
          `its parent ${segments.slice(0, i + 1).join('/')} is a regular file earlier in the archive`,
        ];
      } else {
        parent = Math.floor(v / 4);
      }
    }
    const key = `${parent}\0${segments[segments.length - 1]}`;
    const v = this.map.get(key);
    const kind = isDir ? KIND_DIR : KIND_FILE;
    if (v === undefined) {
      this.map.set(key, this.nextId++ * 4 + kind);
      return null;
    }
    const old = v % 4;
    if (old === KIND_IMPLICIT_DIR) {
      if (isDir) {
        this.map.set(key, Math.floor(v / 4) * 4 + KIND_DIR);
        return null;
      }
      return ['path-conflict', 'a regular file where earlier entries put a directory (entries under this path)'];
    }
    if (old === kind)
      return [
        'duplicate-entry',
        'the same name appears twice (after NFC and ./, //, trailing / are normalised); restorers keep one of them',
      ];
    return [
      'path-conflict',
      `a ${isDir ? 'directory' : 'regular file'} where an earlier entry is a ` +
        `${isDir ? 'regular file' : 'directory'} of the same name`,
    ];
  }
}
