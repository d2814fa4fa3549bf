/**
 * One streaming pass over an untrusted `.tar.gz`: sha256 of the file, gunzip, and a walk of every
 * tar header — constant memory whatever the size (bar the name index, see ./name-index.ts),
 * nothing extracted, nothing written.
 *
 * Layering, and why:
 * - gzip is decoded here with node's zlib (not by a tar parser's own sniffing), so a plain tar
 *   named `.tar.gz` is refused, a gzip inside the gzip is refused, bytes after the gzip trailer are
 *   noticed (zlib skips them silently) and the uncompressed-bytes cap is ours to enforce.
 * - tar is walked by our own strict walker (./tar-walker.ts), not node-tar's Parser: node-tar reads
 *   some headers differently from the readers that restore backups (GNU tar, busybox, Go's
 *   archive/tar, Python's tarfile), so an archive it finds harmless could restore a symlink to
 *   /etc (issue 11). The walker accepts only the subset on which they agree.
 * - every entry passes our own rules (./entry-rules.ts) and, when given, the layout.
 *
 * Every problem is recorded (up to MAX_PROBLEMS, then counted), never only the first.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { printablePath } from './entry-rules.js';
import { TarWalker, type Layout, type VolumeTally, type WalkedEntry } from './tar-walker.js';
import type { BackupProblem, BackupProblemCode, BackupWarning } from './types.js';

export type { Layout, VolumeTally, WalkedEntry };

export interface ArchiveLimits {
  /** stop and reject once the gunzipped stream exceeds this many bytes */
  maxUncompressedBytes: number;
  /** stop and reject once the tar holds more entries than this */
  maxEntries: number;
}

export interface ArchiveOptions {
  /**
   * The top level must be exactly these data volumes. verify-backup and snapshot always pass one;
   * null (only the tar rules) exists for tests of the tar layer alone.
   */
  layout: Layout | null;
  /** every entry as restorers see it, in order (tests compare with other readers; restore re-packs) */
  onEntry?: (e: WalkedEntry) => void;
  /** each regular file's body after its onEntry (see WalkerOptions.onBody) */
  onBody?: (chunk: Buffer) => void;
  /**
   * Each problem as it is found (before the MAX_PROBLEMS cut), so a consumer of onEntry/onBody
   * knows at once that the archive is refused. A walker problem about an entry comes during the same
   * gunzipped chunk as its onEntry, before `pace` is called for that chunk.
   */
  onProblem?: (p: BackupProblem) => void;
  /**
   * Called after each gunzipped chunk has been walked. A returned promise pauses gunzip (and so the
   * reading of the source) until it settles, which bounds what a consumer of onEntry/onBody holds to
   * about one chunk. A rejection stops the pass, and inspectArchive rejects with it: it is the
   * consumer's failure, not a finding about the data.
   */
  pace?: () => Promise<void> | undefined;
}

export interface ArchiveInspection {
  sha256: string;
  /** bytes of the file read (all of it, unless a cap or a fatal error stopped the pass early) */
  bytesRead: number;
  uncompressedBytes: number;
  entries: number;
  /** true when the pass read the file to its end (false when a cap or fatal error stopped it) */
  readToEnd: boolean;
  problems: BackupProblem[];
  /** what restore changes in what the archive says (see setidWarnings) */
  warnings: BackupWarning[];
  /**
   * The provenance manifest's raw bytes (at most MAX_MANIFEST_BYTES + 1) and declared size, when the
   * first entry is one (with a layout only; docs/architecture.md §16). Judged by ./provenance.ts.
   */
  manifest: { size: number; body: Buffer } | null;
  /** per declared data volume (with a layout only): the entries and file bytes the walk saw */
  volumes: Record<string, VolumeTally>;
}

/** Problems kept in full; beyond this they are counted in one closing problem. */
export const MAX_PROBLEMS = 100;
/** zlib output chunk: large enough that per-chunk overhead vanishes, small enough to stop a bomb promptly. */
const GUNZIP_CHUNK = 256 * 1024;

class ProblemList {
  readonly items: BackupProblem[] = [];
  private dropped = new Map<BackupProblemCode, number>();
  constructor(private readonly listener?: (p: BackupProblem) => void) {}
  add(p: BackupProblem): void {
    this.listener?.(p);
    if (this.items.length < MAX_PROBLEMS) this.items.push(p);
    else this.dropped.set(p.code, (this.dropped.get(p.code) ?? 0) + 1);
  }
  finish(): BackupProblem[] {
    for (const [code, n] of this.dropped) {
      this.items.push({ code, message: `${n} more problem${n === 1 ? '' : 's'} of this kind not listed` });
    }
    return this.items;
  }
}

/** The setuid and setgid bits, which restore strips from regular files (docs/architecture.md §12). */
export const SETID_BITS = 0o6000;

/**
 * Collects the `setid-stripped` warnings: every regular file with the setuid or setgid bit, which
 * restore's re-packer writes without them (a setuid-root program restored from a backup would run
 * as root for anyone who can start it). Directories keep theirs: setgid on a directory only makes
 * new files inherit its group, and the setuid bit means nothing on one under Linux.
 */
class SetidWarnings {
  private readonly items: BackupWarning[] = [];
  private more = 0;
  note(e: WalkedEntry): void {
    if (e.type !== 'file' || (e.mode & SETID_BITS) === 0) return;
    if (this.items.length >= MAX_PROBLEMS) {
      this.more++;
      return;
    }
    const bits = [e.mode & 0o4000 ? 'setuid' : '', e.mode & 0o2000 ? 'setgid' : ''].filter(Boolean).join(' and ');
    this.items.push({
      code: 'setid-stripped',
      message:
        `a regular file with the ${bits} bit (mode ${(e.mode & 0o7777).toString(8)}, owner ${e.uid}:${e.gid}); ` +
        `restore writes it without ${e.mode & 0o4000 && e.mode & 0o2000 ? 'them' : 'it'}`,
      entry: printablePath(e.path),
    });
  }
  finish(): BackupWarning[] {
    if (this.more) {
      this.items.push({
        code: 'setid-stripped',
        message: `${this.more} more regular file${this.more === 1 ? '' : 's'} with the setuid or setgid bit not listed`,
      });
    }
    return this.items;
  }
}

function gzipProblem(err: NodeJS.ErrnoException): BackupProblem {
  if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
    return { code: 'truncated', message: `gzip stream ends early (${err.message}): the file is truncated` };
  }
  return { code: 'gzip-corrupt', message: `gzip: ${err.message}${err.code ? ` (${err.code})` : ''}` };
}

/**
 * Inspect an archive given as a stream of its raw bytes. Never throws for anything in the data:
 * every finding is a problem. (A failing source stream — an I/O error — is also a problem.) Rejects
 * only with what `options.pace` rejected with.
 */
export async function inspectArchive(
  source: AsyncIterable<Buffer>,
  limits: ArchiveLimits,
  options: ArchiveOptions,
): Promise<ArchiveInspection> {
  const hash = createHash('sha256');
  const problems = new ProblemList(options.onProblem);
  let paceFailed = false;
  let paceError: unknown;
  let bytesRead = 0;
  let uncompressed = 0;
  let stopped = false; // a cap or a fatal error: stop reading, the verdict is already "no"
  let readToEnd = false;

  // ---- tar layer -------------------------------------------------------------------------
  const setid = new SetidWarnings();
  const consumer = options.onEntry;
  const walker = new TarWalker({
    maxEntries: limits.maxEntries,
    layout: options.layout,
    report: (p) => problems.add(p),
    onCap: () => stop(),
    onEntry: (e) => {
      setid.note(e);
      consumer?.(e);
    },
    ...(options.onBody ? { onBody: options.onBody } : {}),
  });
  let feedWalker = true; // false once the data cannot be a tar we accept (nested gzip)
  let head: Buffer | null = Buffer.alloc(0); // first bytes, to refuse a gzip inside the gzip

  const toTar = (chunk: Buffer): void => {
    if (head) {
      head = Buffer.concat([head, chunk.subarray(0, 2)]);
      if (head.length >= 2) {
        if (head[0] === 0x1f && head[1] === 0x8b) {
          problems.add({
            code: 'tar-corrupt',
            message: 'the gzip stream contains another gzip stream, not a tar archive',
          });
          feedWalker = false;
        }
        head = null;
      }
    }
    if (feedWalker) walker.write(chunk);
  };

  // ---- gzip layer ------------------------------------------------------------------------
  const gunzip = zlib.createGunzip({ chunkSize: GUNZIP_CHUNK });
  let gzipFailed = false;
  let gzipEnded = false;
  const gzipDone = new Promise<void>((resolve) => {
    gunzip.on('end', () => {
      gzipEnded = true;
      resolve();
    });
    gunzip.on('close', () => resolve());
    gunzip.on('error', (err: NodeJS.ErrnoException) => {
      if (!stopped) problems.add(gzipProblem(err));
      gzipFailed = true;
      stop();
      resolve();
    });
  });
  gunzip.on('data', (chunk: Buffer) => {
    if (stopped) return;
    uncompressed += chunk.length;
    if (uncompressed > limits.maxUncompressedBytes) {
      problems.add({
        code: 'too-large',
        message:
          `uncompressed content exceeds ` +
          `${limits.maxUncompressedBytes} bytes (--max-uncompressed-bytes); stopped reading`,
      });
      stop();
      return;
    }
    toTar(chunk);
    const wait = stopped ? undefined : options.pace?.();
    if (wait) {
      gunzip.pause();
      wait.then(
        () => {
          if (!stopped) gunzip.resume();
        },
        (error: unknown) => {
          if (!paceFailed) paceError = error;
          paceFailed = true;
          stop();
        },
      );
    }
  });

  function stop(): void {
    if (stopped) return;
    stopped = true;
    gunzip.destroy();
  }

  // ---- file layer ------------------------------------------------------------------------
  let first = true;
  try {
    for await (const chunk of source) {
      if (stopped) break;
      if (first) {
        first = false;
        // Check the magic ourselves: zlib would say "incorrect header check" for a plain tar,
        // which hides the likely cause.
        if (chunk.length >= 2 && !(chunk[0] === 0x1f && chunk[1] === 0x8b)) {
          problems.add({
            code: 'gzip-corrupt',
            message: 'not a gzip file (no gzip magic bytes); a plain tar or another format named .tar.gz?',
          });
          stopped = true;
          gunzip.destroy();
        }
      }
      hash.update(chunk);
      bytesRead += chunk.length;
      if (stopped) break;
      if (!gunzip.write(chunk)) {
        await Promise.race([once(gunzip, 'drain'), gzipDone]);
      }
    }
    if (!stopped) {
      readToEnd = true;
      gunzip.end();
    }
  } catch (err) {
    problems.add({ code: 'unreadable', message: `reading the file failed: ${(err as Error).message}` });
    stop();
  }
  await gzipDone;
  if (paceFailed) throw paceError;

  if (readToEnd && gzipEnded && !gzipFailed && !stopped) {
    if (gunzip.bytesWritten !== bytesRead) {
      problems.add({
        code: 'gzip-corrupt',
        message: `${bytesRead - gunzip.bytesWritten} bytes follow the end of the gzip stream`,
      });
    }
    if (walker.bytes === 0) {
      problems.add({ code: 'tar-corrupt', message: 'the gzip stream holds no tar archive' });
    } else if (feedWalker) {
      walker.end();
      if (walker.entries - (walker.manifest ? 1 : 0) === 0 && walker.sawEnd) {
        problems.add({ code: 'no-entries', message: 'the archive holds no entries' });
      }
    }
  }
  return {
    sha256: hash.digest('hex'),
    bytesRead,
    uncompressedBytes: uncompressed,
    entries: walker.entries,
    readToEnd,
    problems: problems.finish(),
    warnings: setid.finish(),
    manifest: walker.manifest,
    volumes: Object.fromEntries(walker.tally),
  };
}
