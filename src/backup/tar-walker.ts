/**
 * Our own strict tar header walker (issue 11): it reads the gunzipped stream block by block and
 * accepts only the subset of tar on which the readers that restore backups agree — GNU tar,
 * busybox tar, Go's archive/tar (what `docker cp` uses), Python's tarfile and node-tar. Anything
 * those readers could read two ways is a problem, never a guess:
 *
 * - a header is exactly POSIX ustar (`ustar\0` + `00`) or exactly GNU (`ustar  \0`); only POSIX
 *   headers may use the prefix field (GNU keeps other data there, Python joins it whatever the
 *   magic, Go ignores it outside POSIX), so a GNU header's prefix area must be all zero;
 * - numeric fields are plain octal: optional leading spaces, digits, then only spaces/NULs; an
 *   empty field only where every reader reads it as 0 and a writer we accept emits it (uid, gid,
 *   mtime). GNU's base-256 (first byte exactly 0x80, or 0xff for a negative mtime) is read the same
 *   by GNU tar, Python, Go and busybox in uid, gid, size and mtime, so it is accepted there, within
 *   the ranges below; signs, junk and other high-bit first bytes are read differently: refused;
 * - the header checksum is the unsigned sum (what every writer writes);
 * - entries are regular files ('0', NUL) and directories ('5'); a regular file whose name ends in
 *   '/' is a directory to node-tar and Python (which then read its body as headers) and a file to
 *   the others, and a directory's body is skipped by some readers and read as headers by others,
 *   so both are refused;
 * - extensions: one PAX 'x' header or one GNU 'L' long name per entry, with records we understand
 *   (a PAX size must equal the header's size); global PAX, 'K', sparse and the rest are refused.
 *   PAX uid, gid and mtime override the header's, as GNU tar, Python and Go (and the Docker
 *   daemon, which extracts restore's staged stream) apply them. A PAX `mode` is no POSIX keyword:
 *   GNU tar, Python and Go ignore it, node-tar applies it, so one is accepted only when it equals
 *   the header's permission bits (the effective mode is the header's, docs/architecture.md §5);
 * - the archive ends with two zero blocks and only zero bytes follow; a lone zero block is where
 *   restorers stop, so entries after it would be lost (or hidden from a reader that goes on);
 * - every header has a non-empty name field (busybox takes an empty one for the end marker);
 * - names are valid UTF-8 (decoded with a fatal decoder from the raw bytes, BOM kept), safe
 *   (./entry-rules.ts), no segment over 255 bytes nor a path over 4096 (`name-too-long`), unique
 *   after NFC and `./`, `//`, trailing `/` are normalised away, never both a file and a directory,
 *   never under a file;
 * - with a layout, the top level holds exactly the declared data volumes (see ./archive.ts), and
 *   the provenance manifest `.stateguard/manifest.json` as the first entry and nowhere else
 *   (docs/architecture.md §16): its body is kept (capped) and each volume's entries and bytes are
 *   counted, for verify-backup to cross-check.
 *
 * Streaming with bounded memory: bodies are skipped by arithmetic, only extension bodies (capped)
 * are buffered. The one structure that grows is the name index used for duplicates: one Map entry
 * per distinct path and parent directory, capped at twice --max-entries.
 */
import { WORK_AREA, isReservedName } from './reserved.js';
import { MANIFEST_DIR, MANIFEST_PATH, MAX_MANIFEST_BYTES } from './manifest.js';
import {
  MAX_ABS_MTIME,
  MAX_MTIME,
  MAX_OWNER_ID,
  checkTypeFlag,
  nameLengthProblems,
  parsePaxRecords,
  pathProblems,
  paxRecordProblems,
  printablePath,
} from './entry-rules.js';
import type { BackupProblem } from './types.js';

const BLOCK = 512;
/** A PAX body larger than this is not one any writer we accept emits (a 4 KiB path and a few times). */
export const MAX_PAX_BODY = 64 * 1024;
/** A GNU long name body: a path of at most 4096 bytes and its NUL, rounded up generously. */
export const MAX_LONGNAME_BODY = 8 * 1024;

const POSIX_MAGIC = Buffer.from('ustar\u000000', 'latin1');
const GNU_MAGIC = Buffer.from('ustar  \u0000', 'latin1');
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface WalkedEntry {
  /** the name restorers use (PAX path / GNU long name applied), as stored */
  path: string;
  /** 'file' | 'directory', or 'other:<type flag>' for a refused type */
  type: string;
  /** the size restorers use */
  size: number;
  /**
   * The values restorers apply: the header's mode (type bits included; a PAX `mode` may only repeat
   * it), the uid, gid and mtime of the PAX records where there are, else of the header (plain octal
   * or base-256). mtime is whole seconds, rounded down (negative: before 1970); `mtimeNsec` is the
   * fraction a PAX mtime carries, present only when not zero. A field that cannot be read is a
   * problem already; it reads as 0 here.
   */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  mtimeNsec?: number;
}

export interface Layout {
  /** the module whose declared data volumes make the layout (for messages) */
  module: string;
  volumes: readonly string[];
}

export interface WalkerOptions {
  maxEntries: number;
  /** null: only the tar rules (tests of the tar layer alone); verify-backup always passes one */
  layout: Layout | null;
  report: (p: BackupProblem) => void;
  /** a cap was hit: the caller stops reading */
  onCap: () => void;
  /** every entry as restorers see it (tests compare this with GNU tar and Python's listing) */
  onEntry?: (e: WalkedEntry) => void;
  /**
   * The body of each entry whose type is 'file', in order, after its onEntry (not its padding, not
   * extension bodies), whatever problems the entry has: the caller judges those from `report`.
   * Chunks are views of the caller's buffers, never copied.
   */
  onBody?: (chunk: Buffer) => void;
}

/**
 * GNU base-256 (see the module comment), or null: first byte 0x80 (positive) or, when `signed`,
 * 0xff (two's complement, negative), then big-endian bytes; at most `max` in absolute value.
 */
function base256(b: Buffer, start: number, len: number, signed: boolean, max: number): number | null {
  const first = b[start];
  if (first !== 0x80 && !(signed && first === 0xff)) return null;
  let v = 0n;
  for (let i = start + 1; i < start + len; i++) v = (v << 8n) | BigInt(b[i]!);
  if (first === 0xff) v -= 1n << BigInt(8 * (len - 1));
  if (v > BigInt(max) || v < -BigInt(max)) return null;
  return Number(v);
}

/** Plain octal (see the module comment), or null. Values are below 8^12, exact in a double. */
function plainOctal(b: Buffer, start: number, len: number, allowEmpty = false): number | null {
  let i = start;
  const end = start + len;
  while (i < end && b[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x37) {
    value = value * 8 + (b[i]! - 0x30);
    digits++;
    i++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return null;
  if (digits === 0) return allowEmpty ? 0 : null;
  return value;
}

interface NumericField {
  name: string;
  at: number;
  len: number;
  /** may be empty (all NUL/space) */
  emptyOk: boolean;
  /** base-256 accepted: the largest absolute value, and whether it may be negative */
  base256?: { max: number; signed: boolean };
}

/**
 * The header's numeric fields, each checked to be plain octal. An empty uid/gid/mtime is read as 0
 * by GNU tar, busybox, Go and Python alike, and node-tar's portable mode writes them so; an empty
 * size or mode no writer emits, so it is refused. devmajor/devminor: only Python parses them for
 * every entry (and fails on junk).
 */
const NUMERIC_FIELDS: readonly NumericField[] = [
  { name: 'mode', at: 100, len: 8, emptyOk: false },
  { name: 'uid', at: 108, len: 8, emptyOk: true, base256: { max: MAX_OWNER_ID, signed: false } },
  { name: 'gid', at: 116, len: 8, emptyOk: true, base256: { max: MAX_OWNER_ID, signed: false } },
  { name: 'size', at: 124, len: 12, emptyOk: false, base256: { max: Number.MAX_SAFE_INTEGER, signed: false } },
  { name: 'mtime', at: 136, len: 12, emptyOk: true, base256: { max: MAX_ABS_MTIME, signed: true } },
  { name: 'devmajor', at: 329, len: 8, emptyOk: true },
  { name: 'devminor', at: 337, len: 8, emptyOk: true },
];

/** A numeric field's value (plain octal, or base-256 where the field takes it), or null. */
function numeric(b: Buffer, f: NumericField): number | null {
  const octal = plainOctal(b, f.at, f.len, f.emptyOk);
  if (octal !== null || !f.base256) return octal;
  const v = base256(b, f.at, f.len, f.base256.signed, f.base256.max);
  // a later mtime is one restore cannot set (./entry-rules.ts MAX_MTIME); octal cannot reach it
  return f.name === 'mtime' && v !== null && v > MAX_MTIME ? null : v;
}

const FIELD = Object.fromEntries(NUMERIC_FIELDS.map((f) => [f.name, f])) as Record<string, NumericField>;

/** `[-]seconds[.fraction]` (shape checked by ./entry-rules.ts) as whole seconds rounded down and nanoseconds. */
export function paxTime(value: string): { sec: number; nsec: number } {
  const negative = value.startsWith('-');
  const [whole, frac = ''] = value.replace(/^-/, '').split('.');
  const abs = Number(whole);
  const nsec = Number(frac.padEnd(9, '0').slice(0, 9));
  if (!negative) return { sec: abs, nsec };
  return nsec === 0 ? { sec: abs === 0 ? 0 : -abs, nsec: 0 } : { sec: -abs - 1, nsec: 1_000_000_000 - nsec };
}

/** Bytes of a NUL-terminated field (up to the first NUL, as every reader cuts it). */
function cString(b: Buffer, start: number, len: number): Buffer {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

const ZEROS = Buffer.alloc(64 * 1024);
/** True when every byte is zero (compared 64 KiB at a time: the tail after the marker may be long). */
function allZero(b: Buffer): boolean {
  for (let off = 0; off < b.length; off += ZEROS.length) {
    const part = b.subarray(off, off + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/** Strict UTF-8, or null. */
function decode(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** A lossy rendering of raw name bytes, for messages only. */
function shownBytes(bytes: Buffer): string {
  return printablePath(bytes.toString('latin1').replace(/[\x80-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`));
}

interface PendingExtension {
  /** how many extension headers precede the entry (more than one is refused) */
  count: number;
  path?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: { sec: number; nsec: number };
  /** a PAX `mode` record (permission bits), which must equal the header's */
  mode?: number;
  /** the extension could not be read: the entry's name or size is unknown */
  broken: boolean;
}

type Mode =
  | { kind: 'header' }
  /** `body`: how many of the first `remaining` bytes are a regular file's body (for onBody) */
  | { kind: 'skip'; remaining: number; body?: number }
  | { kind: 'ext'; type: 'x' | 'L'; size: number; body: Buffer | null; got: number; padding: number }
  | { kind: 'end' }
  | { kind: 'dead' };

const KIND_IMPLICIT_DIR = 0;
const KIND_DIR = 1;
const KIND_FILE = 2;

/**
 * Names seen so far, as a trie of normalised segments: key `<parent id>\0<segment>`, value
 * id * 4 + kind. Detects duplicates and file/directory conflicts in either order.
 */
class NameIndex {
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

/** What the walker saw of one data volume: the entries under `<volume>/` (itself included) and their file bytes. */
export interface VolumeTally {
  entries: number;
  bytes: number;
}

export class TarWalker {
  entries = 0;
  /**
   * The first entry, when it is the manifest (with a layout only): its size and the first
   * MAX_MANIFEST_BYTES + 1 bytes of its body.
   */
  manifest: { size: number; body: Buffer } | null = null;
  /** Per declared data volume (with a layout only), what the archive holds under it. */
  readonly tally = new Map<string, VolumeTally>();
  /** the body being skipped is the manifest's: keep it */
  private inManifest = false;
  /** the manifest's body has been read to its end */
  manifestDone = false;
  private manifestChunks: Buffer[] = [];
  private manifestKept = 0;
  /** bytes of tar seen (for messages and "no tar at all") */
  bytes = 0;
  /** the end-of-archive marker (two zero blocks) was seen */
  sawEnd = false;
  private mode: Mode = { kind: 'header' };
  private partial: Buffer | null = null;
  private partialLen = 0;
  private zeroPending = false;
  private pending: PendingExtension | null = null;
  private sawFile = false;
  private capped = false;
  private readonly index: NameIndex;
  private readonly volumesSeen = new Set<string>();
  private readonly outsideReported = new Set<string>();
  /** top-level directories whose reserved work-area entry was reported (once each) */
  private readonly reservedReported = new Set<string>();

  constructor(private readonly opts: WalkerOptions) {
    this.index = new NameIndex(Math.min(Number.MAX_SAFE_INTEGER, opts.maxEntries * 2 + 1024));
  }

  private problem(p: BackupProblem): void {
    this.opts.report(p);
  }

  /** Stop walking (the rest of the stream is still hashed and gunzipped by the caller). */
  private die(): void {
    this.mode = { kind: 'dead' };
    this.pending = null;
  }

  write(chunk: Buffer): void {
    let pos = 0;
    this.bytes += chunk.length;
    while (pos < chunk.length) {
      const mode = this.mode;
      switch (mode.kind) {
        case 'dead':
          return;
        case 'skip': {
          const n = Math.min(mode.remaining, chunk.length - pos);
          if (mode.body) {
            const b = Math.min(n, mode.body);
            mode.body -= b;
            if (this.inManifest) this.keepManifest(chunk.subarray(pos, pos + b));
            this.opts.onBody?.(chunk.subarray(pos, pos + b));
          }
          mode.remaining -= n;
          pos += n;
          if (mode.remaining === 0) {
            this.mode = { kind: 'header' };
            this.closeManifest();
          }
          break;
        }
        case 'end': {
          // Only zero padding may follow the end-of-archive marker: data hidden there is extracted by `tar -i`.
          if (!allZero(chunk.subarray(pos))) {
            this.problem({
              code: 'tar-corrupt',
              message: 'data follows the end-of-archive marker (only zero padding may follow)',
            });
            this.die();
          }
          return;
        }
        case 'ext': {
          const want = mode.size - mode.got;
          if (want > 0) {
            const n = Math.min(want, chunk.length - pos);
            mode.body?.set(chunk.subarray(pos, pos + n), mode.got);
            mode.got += n;
            pos += n;
            if (mode.got < mode.size) break;
            this.extensionDone(mode);
          }
          this.mode = mode.padding > 0 ? { kind: 'skip', remaining: mode.padding } : { kind: 'header' };
          break;
        }
        case 'header': {
          let block: Buffer;
          if (this.partialLen === 0 && chunk.length - pos >= BLOCK) {
            block = chunk.subarray(pos, pos + BLOCK);
            pos += BLOCK;
          } else {
            this.partial ??= Buffer.alloc(BLOCK);
            const n = Math.min(BLOCK - this.partialLen, chunk.length - pos);
            chunk.copy(this.partial, this.partialLen, pos, pos + n);
            this.partialLen += n;
            pos += n;
            if (this.partialLen < BLOCK) break;
            this.partialLen = 0;
            block = this.partial;
          }
          this.header(block, this.bytes - (chunk.length - pos) - BLOCK);
          break;
        }
      }
    }
  }

  /** One 512-byte header block; `offset` is where it starts in the tar stream (for messages). */
  private header(h: Buffer, offset: number): void {
    if (h.equals(ZERO_BLOCK)) {
      if (this.zeroPending) {
        this.zeroPending = false;
        this.sawEnd = true;
        if (this.pending) {
          this.problem({
            code: 'unsupported-header',
            message: 'an extension header is followed by the end of the archive, not by an entry',
          });
          this.pending = null;
        }
        this.mode = { kind: 'end' };
      } else {
        this.zeroPending = true;
      }
      return;
    }
    if (this.zeroPending) {
      this.zeroPending = false;
      this.problem({
        code: 'lone-zero-block',
        message:
          `a single zero block at byte ` +
          `${offset - BLOCK} is followed by more entries: restorers stop at it, so what follows would be lost on ` +
          `restore (or read by some readers only)`,
      });
    }

    // ---- checksum: if it does not add up nothing in the header can be trusted ----
    const stored = plainOctal(h, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (stored === null) {
      const rendered = JSON.stringify(h.subarray(148, 156).toString('latin1'));
      this.problem({
        code: 'ambiguous-header',
        message:
          `header checksum field ` + `${rendered} is not plain octal; readers disagree on it. Stopped reading the tar.`,
      });
      this.die();
      return;
    }
    if (stored !== sum) {
      this.problem({
        code: 'tar-corrupt',
        message:
          `tar header checksum failure at byte ` +
          `${offset} (stored ${stored.toString(8)}, computed ${sum.toString(8)}). Stopped reading the tar.`,
      });
      this.die();
      return;
    }

    const nameBytes = cString(h, 0, 100);
    const shownHeader = shownBytes(nameBytes);
    const flag = String.fromCharCode(h[156]!);
    const magic = h.subarray(257, 265);
    const posix = magic.equals(POSIX_MAGIC);
    const gnu = !posix && magic.equals(GNU_MAGIC);
    if (!posix && !gnu) {
      this.problem({
        code: 'ambiguous-header',
        message:
          `header magic/version ` +
          `${JSON.stringify(magic.toString('latin1'))} is neither POSIX ustar ("ustar\\u000000") nor GNU ("ustar  ` +
          `\\u0000"); readers disagree on whether the prefix field is part of the name`,
        entry: shownHeader,
      });
    }
    let prefixBytes: Buffer = Buffer.alloc(0);
    if (posix) prefixBytes = cString(h, 345, 155);
    else if (!h.subarray(345, 500).every((x) => x === 0)) {
      this.problem({
        code: 'ambiguous-header',
        message:
          `a ${gnu ? 'GNU' : 'non-POSIX'} header has bytes in the prefix field ` +
          `(${shownBytes(cString(h, 345, 155))}); Python joins them to the name, other readers do not`,
        entry: shownHeader,
      });
    }

    if (h[0] === 0 && (!posix || h[345] === 0)) {
      // busybox tar takes a header whose name (and prefix) is empty for the end-of-archive marker
      this.problem({
        code: 'ambiguous-header',
        message:
          'a header with an empty name field: busybox tar reads it as the end of the archive, other readers go on',
      });
    }

    // A file or directory has no link target; busybox lists a set linkname as `name -> target` and
    // others ignore it: readers disagree, so it is refused (only extension headers may carry junk
    // there, and they never do in practice: refused too).
    if (h[157] !== 0) {
      this.problem({
        code: 'ambiguous-header',
        message:
          `the linkname field is set ` +
          `(${shownBytes(cString(h, 157, 100))}) on an entry that cannot be a link; readers disagree on it`,
        entry: shownHeader,
      });
    }

    // ---- numeric fields ----
    const size = numeric(h, FIELD.size!);
    const badFields = NUMERIC_FIELDS.filter((f) => numeric(h, f) === null);
    if (badFields.length) {
      const show = (f: NumericField): string =>
        `${f.name} ${JSON.stringify(h.subarray(f.at, f.at + f.len).toString('latin1'))}`;
      this.problem({
        code: 'ambiguous-header',
        message:
          `numeric field${badFields.length > 1 ? 's' : ''} not plain octal nor base-256 within range (a sign, junk, ` +
          `another high-bit byte, an overflow or empty; readers disagree): ${badFields.map(show).join(', ')}`,
        entry: shownHeader,
      });
    }
    if (size === null) {
      this.problem({
        code: 'ambiguous-header',
        message: 'the size field cannot be read, so where the next header starts is unknown. Stopped reading the tar.',
        entry: shownHeader,
      });
      this.die();
      return;
    }
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;

    // ---- extension headers ----
    if (flag === 'x' || flag === 'L') {
      this.extensionHeader(flag, gnu, size, padding, shownHeader);
      return;
    }
    if (flag === 'g' || flag === 'K') {
      this.problem({
        code: 'unsupported-header',
        message:
          flag === 'g'
            ? 'a global PAX header (type g) changes every later entry; readers disagree on it'
            : 'a GNU long link name (type K): only regular files and directories are accepted, which have no link ' +
              'target',
      });
      this.notePending('broken');
      this.mode = size + padding > 0 ? { kind: 'skip', remaining: size + padding } : { kind: 'header' };
      return;
    }
    const meta = {
      mode: plainOctal(h, 100, 8) ?? 0,
      uid: numeric(h, FIELD.uid!) ?? 0,
      gid: numeric(h, FIELD.gid!) ?? 0,
      mtime: numeric(h, FIELD.mtime!) ?? 0,
    };
    this.entry(flag, size, nameBytes, prefixBytes, meta);
  }

  /** Record one more extension header before the next entry. */
  private notePending(what: 'ok' | 'broken'): PendingExtension {
    if (this.pending) {
      this.pending.count++;
      this.pending.broken = true;
      this.problem({
        code: 'unsupported-header',
        message: 'two extension headers (PAX, GNU long name) for one entry: readers differ in which one wins',
      });
    } else {
      this.pending = { count: 1, broken: what === 'broken' };
    }
    if (what === 'broken') this.pending.broken = true;
    return this.pending;
  }

  private extensionHeader(flag: 'x' | 'L', gnu: boolean, size: number, padding: number, shown: string): void {
    const cap = flag === 'x' ? MAX_PAX_BODY : MAX_LONGNAME_BODY;
    let ok = true;
    if (flag === 'L' && !gnu) {
      this.problem({
        code: 'unsupported-header',
        message: 'a GNU long name (type L) in a header without GNU magic; readers disagree on it',
        entry: shown,
      });
      ok = false;
    }
    if (size > cap) {
      this.problem({
        code: 'unsupported-header',
        message:
          `${flag === 'x' ? 'PAX extended header' : 'GNU long name'} of ${size} bytes is larger than ` +
          `${cap}; the entry after it could be read two ways`,
      });
      ok = false;
    }
    if (size === 0) {
      this.problem({
        code: 'unsupported-header',
        message: `an empty ${flag === 'x' ? 'PAX extended header' : 'GNU long name'}`,
        entry: shown,
      });
      ok = false;
    }
    this.notePending(ok ? 'ok' : 'broken');
    this.mode =
      size === 0
        ? { kind: 'header' }
        : { kind: 'ext', type: flag, size, body: ok ? Buffer.alloc(size) : null, got: 0, padding };
  }

  private extensionDone(mode: Extract<Mode, { kind: 'ext' }>): void {
    const pending = this.pending;
    if (!mode.body || !pending) return;
    if (mode.type === 'L') {
      const nul = mode.body.indexOf(0);
      if (nul === -1 || !mode.body.subarray(nul).every((x) => x === 0)) {
        this.problem({
          code: 'unsupported-header',
          message:
            nul === -1
              ? 'a GNU long name without its terminating NUL'
              : 'a GNU long name with bytes after its terminating NUL; readers disagree on it',
        });
        pending.broken = true;
        return;
      }
      const name = decode(mode.body.subarray(0, nul));
      if (name === null) {
        this.problem({
          code: 'bad-encoding',
          message: 'the GNU long name is not valid UTF-8',
          entry: shownBytes(mode.body.subarray(0, nul)),
        });
        pending.broken = true;
        return;
      }
      pending.path = name;
      return;
    }
    const parsed = parsePaxRecords(mode.body);
    if (parsed.kind === 'malformed') {
      this.problem({
        code: parsed.code,
        message: `malformed PAX extended header: ${parsed.reason}`,
        ...(parsed.entry ? { entry: parsed.entry } : {}),
      });
      pending.broken = true;
      return;
    }
    const problems = paxRecordProblems(parsed.records);
    for (const p of problems) this.problem(p);
    if (problems.length) pending.broken = true;
    const path = parsed.records.get('path');
    if (path !== undefined) pending.path = path;
    const size = parsed.records.get('size');
    if (size !== undefined && /^\d+$/.test(size)) pending.size = Number(size);
    if (problems.length) return;
    // Shapes and ranges were checked above (paxRecordProblems): these apply as GNU tar, Python and Go apply them.
    const uid = parsed.records.get('uid');
    if (uid !== undefined) pending.uid = Number(uid);
    const gid = parsed.records.get('gid');
    if (gid !== undefined) pending.gid = Number(gid);
    const mtime = parsed.records.get('mtime');
    if (mtime !== undefined) pending.mtime = paxTime(mtime);
    const paxMode = parsed.records.get('mode');
    if (paxMode !== undefined) pending.mode = parseInt(paxMode, 8) & 0o7777;
  }

  private entry(
    flag: string,
    headerSize: number,
    nameBytes: Buffer,
    prefixBytes: Buffer,
    meta: Pick<WalkedEntry, 'mode' | 'uid' | 'gid' | 'mtime'>,
  ): void {
    const pending = this.pending;
    this.pending = null;
    this.entries++;
    if (this.entries > this.opts.maxEntries) {
      this.problem({
        code: 'too-many-entries',
        message: `more than ${this.opts.maxEntries} entries (--max-entries); stopped reading`,
      });
      this.capped = true;
      this.die();
      this.opts.onCap();
      return;
    }

    // ---- names: the plain header's, and the one restorers use ----
    const rawName = decode(nameBytes);
    const rawPrefix = decode(prefixBytes);
    const headerShown = shownBytes(
      prefixBytes.length ? Buffer.concat([prefixBytes, Buffer.from('/'), nameBytes]) : nameBytes,
    );
    let encodingOk = true;
    if (rawName === null || rawPrefix === null) {
      this.problem({
        code: 'bad-encoding',
        message:
          `the ${rawName === null ? 'name' : 'prefix'} field is not valid UTF-8 (overlong, surrogate or stray ` +
          `bytes); readers and filesystems disagree on it`,
        entry: headerShown,
      });
      encodingOk = false;
    }
    const headerName = rawName === null || rawPrefix === null ? null : rawPrefix ? `${rawPrefix}/${rawName}` : rawName;
    // a PAX header without a path record leaves the plain name as the name
    const effective = pending?.path ?? headerName;
    if (pending?.broken) encodingOk = false; // the name restorers use is unknown; reported at the extension
    const shown = effective !== null ? printablePath(effective) : headerShown;

    // ---- size: PAX size must agree with the header ----
    let size = headerSize;
    if (pending?.size !== undefined && pending.size !== headerSize) {
      this.problem({
        code: 'ambiguous-header',
        message:
          `the PAX size record ` +
          `(${pending.size}) disagrees with the header's size field ` +
          `(${headerSize}); readers that apply one or the other find the next header in different places`,
        entry: shown,
      });
      size = pending.size; // what every restorer we name applies
    }
    const skip = size + ((BLOCK - (size % BLOCK)) % BLOCK);

    // ---- owner, time, mode: the PAX records where there are (docs/architecture.md §5) ----
    if (pending?.mode !== undefined && pending.mode !== (meta.mode & 0o7777)) {
      this.problem({
        code: 'ambiguous-header',
        message:
          `the PAX mode record (${pending.mode.toString(8)}) disagrees with the header's mode ` +
          `(${(meta.mode & 0o7777).toString(8)}); node-tar applies it, GNU tar, Python and Go ignore it`,
        entry: shown,
      });
    }
    const effectiveMeta: Omit<WalkedEntry, 'path' | 'type' | 'size'> = {
      mode: meta.mode,
      uid: pending?.uid ?? meta.uid,
      gid: pending?.gid ?? meta.gid,
      mtime: pending?.mtime?.sec ?? meta.mtime,
    };
    if (pending?.mtime?.nsec) effectiveMeta.mtimeNsec = pending.mtime.nsec;

    // ---- type ----
    const isFile = flag === '0' || flag === '\0';
    const isDir = flag === '5';
    let typeOk = true;
    const typeIssue = checkTypeFlag(flag);
    if (typeIssue) {
      this.problem({ code: 'forbidden-entry-type', message: typeIssue, entry: shown });
      typeOk = false;
    }
    const names = [effective, headerName].filter((n): n is string => n !== null);
    if (isFile && names.some((n) => n.endsWith('/'))) {
      this.problem({
        code: 'ambiguous-header',
        message:
          "a regular file whose name ends in '/': node-tar and Python make it a directory and read its body as " +
          'headers, other readers skip the body',
        entry: shown,
      });
      typeOk = false;
    }
    if (!isFile && size !== 0 && (isDir || '123467'.includes(flag))) {
      this.problem({
        code: 'ambiguous-header',
        message:
          `a ${isDir ? 'directory' : 'header-only entry'} with a size of ` +
          `${size}: some readers skip that many bytes, others read them as the next header`,
        entry: shown,
      });
      typeOk = false;
    }

    // ---- paths: the one restorers use, and the plain one a reader skipping the extension uses ----
    let pathOk = effective !== null;
    if (effective !== null) {
      for (const why of pathProblems(effective)) {
        this.problem({ code: 'unsafe-path', message: why, entry: shown });
        pathOk = false;
      }
      for (const why of nameLengthProblems(effective)) {
        this.problem({ code: 'name-too-long', message: why, entry: shown });
        pathOk = false;
      }
    }
    if (headerName !== null && effective !== headerName) {
      for (const why of pathProblems(headerName)) {
        this.problem({
          code: 'unsafe-path',
          message: `${why} (in the plain header name, which readers that skip the extension header use)`,
          entry: printablePath(headerName),
        });
      }
    }

    this.opts.onEntry?.({
      path: effective ?? headerShown,
      type: isFile ? 'file' : isDir ? 'directory' : `other:${flag}`,
      size,
      ...effectiveMeta,
    });

    let isManifest = false;
    if (typeOk && pathOk && encodingOk && effective !== null && (isFile || isDir)) {
      const segments = effective
        .split('/')
        .filter((s) => s !== '' && s !== '.')
        .map((s) => s.normalize('NFC'));
      if (segments.length === 0 && isFile) {
        this.problem({ code: 'unsafe-path', message: "a regular file named '.' (the archive root)", entry: shown });
      } else {
        const clash = this.index.add(segments, isDir);
        if (clash) this.problem({ code: clash[0], message: clash[1], entry: shown });
        if (this.index.full && !this.capped) {
          this.problem({
            code: 'too-many-entries',
            message:
              `more than ${this.opts.maxEntries * 2 + 1024} distinct names and parent directories; stopped ` +
              `reading`,
          });
          this.capped = true;
          this.die();
          this.opts.onCap();
          return;
        }
        isManifest = this.checkLayout(segments, isDir, size, effective, shown);
      }
    }
    // The manifest is no data: an archive holding only it has nothing to restore.
    if (isFile && typeOk && !isManifest) this.sawFile = true;
    if (isManifest) {
      this.manifest = { size, body: Buffer.alloc(0) };
      this.inManifest = true;
      this.manifestChunks = [];
      this.manifestKept = 0;
      if (size === 0) this.closeManifest();
    }
    this.mode = skip > 0 ? { kind: 'skip', remaining: skip, body: isFile ? size : 0 } : { kind: 'header' };
  }

  /** Keep the manifest's body up to one byte past the cap (enough to know it is too large). */
  private keepManifest(part: Buffer): void {
    const room = MAX_MANIFEST_BYTES + 1 - this.manifestKept;
    if (room <= 0 || part.length === 0) return;
    const kept = Buffer.from(part.subarray(0, room));
    this.manifestChunks.push(kept);
    this.manifestKept += kept.length;
  }

  private closeManifest(): void {
    if (!this.inManifest) return;
    this.inManifest = false;
    this.manifestDone = true;
    if (this.manifest) this.manifest.body = Buffer.concat(this.manifestChunks);
    this.manifestChunks = [];
  }

  /**
   * The layout rules for one entry; true when it is the manifest (the first entry, exactly
   * `.stateguard/manifest.json`, a regular file). Any other entry under `.stateguard` (in any case) is
   * refused: nothing but the manifest may sit beside the volumes, and a second one could be read
   * instead of the first.
   */
  private checkLayout(
    segments: readonly string[],
    isDir: boolean,
    size: number,
    effective: string,
    shown: string,
  ): boolean {
    const layout = this.opts.layout;
    if (!layout || segments.length === 0) return false;
    const top = segments[0]!;
    if (top.toLowerCase() === MANIFEST_DIR) {
      if (this.entries === 1 && !isDir && effective === MANIFEST_PATH) return true;
      this.problem({
        code: 'manifest-invalid',
        message:
          effective === MANIFEST_PATH && !isDir
            ? `${MANIFEST_PATH} must be the archive's first entry; this one is entry ${this.entries}`
            : `${printablePath(effective)}: the only entry allowed under ${MANIFEST_DIR}/ is the regular file ` +
              `${MANIFEST_PATH}, as the archive's first entry`,
        entry: shown,
      });
      return false;
    }
    const declared = layout.volumes.includes(top);
    const list = layout.volumes.join(', ');
    // One rule for the reserved name (docs/architecture.md §12, "Data mounts"): restore could not put
    // this volume back, so the archive never verifies.
    if (declared && segments.length >= 2 && isReservedName(segments[1]!) && !this.reservedReported.has(top)) {
      this.reservedReported.add(top);
      this.problem({
        code: 'reserved-name',
        message:
          `${printablePath(`${top}/${segments[1]}`)} is reserved for restore's work area (${WORK_AREA} at the top ` +
          `of each volume); a backup holding it could not be restored`,
        entry: shown,
      });
    }
    if (segments.length === 1 && !isDir) {
      this.problem({
        code: 'layout-mismatch',
        message:
          `${printablePath(top)} is a regular file at the top level; the top level of a backup of ` +
          `'${layout.module}' holds only its data volumes (${list}) as directories`,
        entry: shown,
      });
      return false;
    }
    if (declared) {
      this.volumesSeen.add(top);
      const t = this.tally.get(top) ?? { entries: 0, bytes: 0 };
      t.entries++;
      if (!isDir) t.bytes += size;
      this.tally.set(top, t);
      return false;
    }
    if (this.outsideReported.has(top)) return false;
    if (this.outsideReported.size < 100) this.outsideReported.add(top);
    this.problem({
      code: 'layout-mismatch',
      message:
        `top-level directory ` +
        `${printablePath(top)} is not a declared data volume of ` +
        `'${layout.module}' (${list}); a backup holds one directory per declared volume`,
      entry: shown,
    });
    return false;
  }

  /** The stream ended: judge what can only be judged at the end. */
  end(): void {
    if (this.capped) return;
    const mode = this.mode;
    if (mode.kind !== 'dead' && !this.sawEnd && this.bytes > 0) {
      const inside = mode.kind === 'skip' || mode.kind === 'ext' || this.partialLen > 0;
      this.problem({
        code: 'truncated',
        message: inside
          ? 'the tar archive ends inside an entry: it was cut short'
          : this.zeroPending
            ? 'the tar archive ends after a single zero block (the end-of-archive marker is two): it was cut short'
            : 'the tar archive has no end-of-archive marker (two zero blocks): it was cut short',
      });
    }
    if (mode.kind === 'dead' && !this.sawEnd) return;
    // The manifest is no data (docs/architecture.md §16): an archive holding only it holds nothing.
    if (this.entries - (this.manifest ? 1 : 0) > 0 && !this.sawFile) {
      this.problem({
        code: 'no-files',
        message: "the archive holds no regular file (only directories, or only '.'): there is nothing to restore",
      });
    }
    const layout = this.opts.layout;
    if (layout && this.entries > 0) {
      const missing = layout.volumes.filter((v) => !this.volumesSeen.has(v));
      if (missing.length) {
        this.problem({
          code: 'layout-mismatch',
          message:
            `declared data ` +
            `volume${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of '${layout.module}' ` +
            `${missing.length > 1 ? 'are' : 'is'} missing from the archive (expected one top-level directory per ` +
            `volume: ${layout.volumes.join(', ')})`,
        });
      }
    }
  }
}
