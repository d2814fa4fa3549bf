/**
 * Our own strict tar walker (issue 11): it reads the gunzipped stream block by block and accepts
 * only the subset of tar on which the readers that restore backups agree — GNU tar, busybox tar,
 * Go's archive/tar (what `docker cp` uses), Python's tarfile and node-tar. Anything those readers
 * could read two ways is a problem, never a guess. Each header block is read by ./tar-header.ts
 * (magic, prefix, numeric fields, checksum, empty name); the walk judges the rest:
 *
 * - entries are regular files ('0', NUL) and directories ('5'); a regular file whose name ends in
 *   '/' is a directory to node-tar and Python (which then read its body as headers) and a file to
 *   the others, and a directory's body is skipped by some readers and read as headers by others,
 *   so both are refused;
 * - extensions (read by ./tar-extension.ts): a PAX size must equal the header's size; PAX uid, gid
 *   and mtime override the header's. A PAX `mode` is no POSIX keyword: GNU tar, Python and Go
 *   ignore it, node-tar applies it, so one is accepted only when it equals the header's permission
 *   bits (the effective mode is the header's, docs/architecture.md §5);
 * - the archive ends with two zero blocks and only zero bytes follow; a lone zero block is where
 *   restorers stop, so entries after it would be lost (or hidden from a reader that goes on);
 * - names are valid UTF-8 (decoded with a fatal decoder from the raw bytes, BOM kept), safe
 *   (./entry-rules.ts), no segment over 255 bytes nor a path over 4096 (`name-too-long`), unique
 *   after NFC and `./`, `//`, trailing `/` are normalised away, never both a file and a directory,
 *   never under a file (./name-index.ts);
 * - with a layout (./tar-layout.ts), the top level holds exactly the declared data volumes and the
 *   provenance manifest as the first entry, whose body is kept here (capped).
 *
 * Streaming with bounded memory: bodies are skipped by arithmetic, only extension bodies (capped)
 * are buffered. The one structure that grows is the name index used for duplicates: one Map entry
 * per distinct path and parent directory, capped at twice --max-entries.
 */
import { MAX_MANIFEST_BYTES } from './manifest.js';
import { checkTypeFlag, nameLengthProblems, pathProblems, printablePath } from './entry-rules.js';
import type { BackupProblem } from './types.js';
import { BLOCK, decode, parseHeader, shownBytes, type HeaderMeta } from './tar-header.js';
import { extensionHeaderOk, readExtension, type PendingExtension } from './tar-extension.js';
import { NameIndex } from './name-index.js';
import { LayoutRules, type Layout, type VolumeTally } from './tar-layout.js';

export type { Layout, VolumeTally };

const ZERO_BLOCK = Buffer.alloc(BLOCK);

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

const ZEROS = Buffer.alloc(64 * 1024);
/** True when every byte is zero (compared 64 KiB at a time: the tail after the marker may be long). */
function allZero(b: Buffer): boolean {
  for (let off = 0; off < b.length; off += ZEROS.length) {
    const part = b.subarray(off, off + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

type Mode =
  | { kind: 'header' }
  /** `body`: how many of the first `remaining` bytes are a regular file's body (for onBody) */
  | { kind: 'skip'; remaining: number; body?: number }
  | { kind: 'ext'; type: 'x' | 'L'; size: number; body: Buffer | null; got: number; padding: number }
  | { kind: 'end' }
  | { kind: 'dead' };

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
  private readonly layout: LayoutRules | null;

  constructor(private readonly opts: WalkerOptions) {
    this.index = new NameIndex(Math.min(Number.MAX_SAFE_INTEGER, opts.maxEntries * 2 + 1024));
    this.layout = opts.layout ? new LayoutRules(opts.layout, this.tally, (p) => this.problem(p)) : null;
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

    const parsed = parseHeader(h, offset, (p) => this.problem(p));
    if (!parsed) {
      this.die();
      return;
    }
    const { flag, gnu, size, shown: shownHeader } = parsed;
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
    this.entry(flag, size, parsed.nameBytes, parsed.prefixBytes, parsed.meta);
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
    const ok = extensionHeaderOk(flag, gnu, size, shown, (p) => this.problem(p));
    this.notePending(ok ? 'ok' : 'broken');
    this.mode =
      size === 0
        ? { kind: 'header' }
        : { kind: 'ext', type: flag, size, body: ok ? Buffer.alloc(size) : null, got: 0, padding };
  }

  private extensionDone(mode: Extract<Mode, { kind: 'ext' }>): void {
    const pending = this.pending;
    if (!mode.body || !pending) return;
    readExtension(mode.type, mode.body, pending, (p) => this.problem(p));
  }

  private entry(flag: string, headerSize: number, nameBytes: Buffer, prefixBytes: Buffer, meta: HeaderMeta): void {
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
        isManifest = this.layout?.entry(segments, isDir, size, effective, shown, this.entries) ?? false;
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
    if (this.entries > 0) this.layout?.end();
  }
}
