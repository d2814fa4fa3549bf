/**
 * One streaming pass over an untrusted `.tar.gz`: sha256 of the file, gunzip, and a walk of every
 * tar entry — constant memory whatever the size, nothing extracted, nothing written.
 *
 * Layering, and why:
 * - gzip is decoded here with node's zlib (not by the tar parser's own sniffing), so a plain tar
 *   named `.tar.gz` is refused, a gzip inside the gzip is refused, bytes after the gzip trailer are
 *   noticed (zlib skips them silently) and the uncompressed-bytes cap is ours to enforce.
 * - tar is walked by `tar.Parser` in strict mode: every parser warning arrives as an `error` event
 *   and becomes a problem; no `filter` is used, and ignored entries (unknown or unsupported types)
 *   are listened for and refused, so nothing is skipped silently.
 * - every entry then passes our own rules (./entry-rules.ts).
 * - after the end-of-archive marker only zero padding may follow: the parser would otherwise keep
 *   buffering trailing bytes in memory, and data hidden there is extracted by `tar -i`.
 *
 * Every problem is recorded (up to MAX_PROBLEMS, then counted), never only the first.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { checkEntryType, parsePaxStrict, pathProblems, paxRecordProblems, printablePath } from './entry-rules.js';
import type { BackupProblem, BackupProblemCode } from './types.js';

export interface ArchiveLimits {
  /** stop and reject once the gunzipped stream exceeds this many bytes */
  maxUncompressedBytes: number;
  /** stop and reject once the tar holds more entries than this */
  maxEntries: number;
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
}

/** Problems kept in full; beyond this they are counted in one closing problem. */
export const MAX_PROBLEMS = 100;
/** zlib output chunk: large enough that per-chunk overhead vanishes, small enough to stop a bomb promptly. */
const GUNZIP_CHUNK = 256 * 1024;

class ProblemList {
  readonly items: BackupProblem[] = [];
  private dropped = new Map<BackupProblemCode, number>();
  add(p: BackupProblem): void {
    if (this.items.length < MAX_PROBLEMS) this.items.push(p);
    else this.dropped.set(p.code, (this.dropped.get(p.code) ?? 0) + 1);
  }
  has(code: BackupProblemCode): boolean {
    return this.items.some((p) => p.code === code);
  }
  finish(): BackupProblem[] {
    for (const [code, n] of this.dropped) {
      this.items.push({ code, message: `${n} more problem${n === 1 ? '' : 's'} of this kind not listed` });
    }
    return this.items;
  }
}

/** Map a tar parser warning to a stable code. */
function parserProblem(code: string | undefined, message: string, entry?: string): BackupProblem {
  let c: BackupProblemCode = 'parser-warning';
  if (/checksum failure/.test(message)) c = 'tar-corrupt';
  else if (/Truncated input/.test(message)) c = 'truncated';
  else if (/Unrecognized archive format/.test(message)) c = 'tar-corrupt';
  else if (/linkpath/.test(message)) c = 'forbidden-entry-type';
  return { code: c, message: `tar: ${code ? `${code}: ` : ''}${message.replace(/^TAR_[A-Z_]+: /, '')}`, ...(entry ? { entry } : {}) };
}

function gzipProblem(err: NodeJS.ErrnoException): BackupProblem {
  if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)) {
    return { code: 'truncated', message: `gzip stream ends early (${err.message}): the file is truncated` };
  }
  return { code: 'gzip-corrupt', message: `gzip: ${err.message}${err.code ? ` (${err.code})` : ''}` };
}

/**
 * Inspect an archive given as a stream of its raw bytes. Never throws for anything in the data:
 * every finding is a problem. (A failing source stream — an I/O error — is also a problem.)
 */
export async function inspectArchive(source: AsyncIterable<Buffer>, limits: ArchiveLimits): Promise<ArchiveInspection> {
  const hash = createHash('sha256');
  const problems = new ProblemList();
  let bytesRead = 0;
  let uncompressed = 0;
  let entries = 0;
  let stopped = false; // a cap or a fatal error: stop reading, the verdict is already "no"
  let readToEnd = false;

  // ---- tar layer -------------------------------------------------------------------------
  const parser = new Parser({ strict: true, zstd: false, brotli: false });
  let feedParser = true; // false once the data cannot be a tar we accept (nested gzip) or after EOF
  let head: Buffer | null = Buffer.alloc(0); // first bytes, to refuse a gzip inside the gzip
  let sawEof = false;
  let zeroTailChecked = false;
  let trailingGarbage = false;
  /** strict reading of the last PAX header, to compare with what the parser applied */
  let pendingPaxPath: string | undefined;

  const onEntry = (e: ReadEntry, ignored: boolean): void => {
    if (stopped) return;
    if (ignored && e.meta) {
      problems.add({
        code: 'unsupported-header',
        message: `extension header of ${e.size} bytes is larger than the parser accepts; the entry after it could be read two ways`,
      });
      return;
    }
    entries++;
    if (entries > limits.maxEntries) {
      problems.add({ code: 'too-many-entries', message: `more than ${limits.maxEntries} entries (--max-entries); stopped reading` });
      stop();
      return;
    }
    const shown = printablePath(e.path);
    const typeIssue = checkEntryType(e.type, (e.header as { typeKey?: string }).typeKey);
    if (typeIssue) {
      problems.add({ code: 'forbidden-entry-type', message: typeIssue, entry: shown });
    }
    for (const why of pathProblems(e.path)) {
      problems.add({ code: 'unsafe-path', message: why, entry: shown });
    }
    if (pendingPaxPath !== undefined && pendingPaxPath !== e.path) {
      problems.add({
        code: 'unsupported-header',
        message: 'the PAX path record and the path the parser applied differ; the entry could be read two ways',
        entry: shown,
      });
      // Another reader would use the PAX path: it must pass the rules as well.
      for (const why of pathProblems(pendingPaxPath)) {
        problems.add({ code: 'unsafe-path', message: `${why} (in the PAX path record)`, entry: printablePath(pendingPaxPath) });
      }
    }
    pendingPaxPath = undefined;
    if (!typeIssue && e.linkpath) {
      // A GNU long-link ('K') header before a file or directory: meaningless, and readers differ.
      problems.add({ code: 'unsupported-header', message: 'a regular file or directory carries a link target', entry: shown });
    }
    const g = e.globalExtended as { size?: unknown; path?: unknown; linkpath?: unknown } | undefined;
    if (g && (g.size !== undefined || g.path !== undefined || g.linkpath !== undefined)) {
      problems.add({
        code: 'unsupported-header',
        message: 'a global PAX header overrides size or path for every later entry; readers disagree on it',
        entry: shown,
      });
    }
  };
  parser.on('entry', (e: ReadEntry) => {
    onEntry(e, false);
    // Discard the body without buffering it: constant memory.
    e.resume();
  });
  parser.on('ignoredEntry', (e: ReadEntry) => onEntry(e, true));
  parser.on('meta', (text: string) => {
    const pax = parsePaxStrict(text);
    if (pax.kind === 'malformed') {
      problems.add({ code: 'unsupported-header', message: `malformed PAX extended header: ${pax.reason}` });
    } else if (pax.kind === 'pax') {
      for (const p of paxRecordProblems(pax.records)) problems.add(p);
      const path = pax.records.get('path');
      if (path !== undefined) pendingPaxPath = path;
    }
  });
  parser.on('eof', () => {
    sawEof = true;
  });
  const onParserWarning = (code: string | undefined, message: string, data?: { entry?: ReadEntry; header?: { path?: string } }): void => {
    const where = data?.entry?.path ?? data?.header?.path;
    problems.add(parserProblem(code, message, where ? printablePath(where) : undefined));
  };
  parser.on('warn', (code: string, message: string, data?: never) => onParserWarning(code, message, data));
  parser.on('error', (err: Error & { tarCode?: string; entry?: ReadEntry; header?: { path?: string } }) =>
    onParserWarning(err.tarCode, err.message, err),
  );
  const parserEnded = new Promise<void>((resolve) => {
    parser.once('end', resolve);
    parser.once('close', resolve);
  });
  // The parser keeps bytes that follow the end-of-archive marker in a private buffer; reading it is
  // the only way to check the tail of the chunk that contained the marker.
  const bufferKey = Object.getOwnPropertySymbols(parser).find((s) => s.description === 'buffer');

  const checkZeroTail = (chunk: Buffer | undefined): void => {
    if (!chunk || trailingGarbage) return;
    // The tail is padding to the tar record size (a few KiB); a plain scan is enough.
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0) {
        trailingGarbage = true;
        problems.add({ code: 'tar-corrupt', message: 'data follows the end-of-archive marker (only zero padding may follow)' });
        return;
      }
    }
  };

  const toTar = (chunk: Buffer): void => {
    if (head) {
      head = Buffer.concat([head, chunk.subarray(0, 2)]);
      if (head.length >= 2) {
        if (head[0] === 0x1f && head[1] === 0x8b) {
          problems.add({ code: 'tar-corrupt', message: 'the gzip stream contains another gzip stream, not a tar archive' });
          feedParser = false;
        }
        head = null;
      }
    }
    if (!feedParser) return;
    if (sawEof) {
      checkZeroTail(chunk);
      return;
    }
    try {
      parser.write(chunk);
    } catch (err) {
      problems.add({ code: 'tar-corrupt', message: `tar parser failed: ${(err as Error).message}` });
      feedParser = false;
      return;
    }
    if (sawEof && !zeroTailChecked) {
      zeroTailChecked = true;
      if (!bufferKey) {
        // A tar release without the private buffer: the tail cannot be checked, so say no.
        problems.add({ code: 'parser-warning', message: 'cannot check the bytes after the end-of-archive marker with this tar parser version' });
      } else {
        checkZeroTail((parser as unknown as Record<symbol, Buffer | undefined>)[bufferKey]);
      }
    }
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
        message: `uncompressed content exceeds ${limits.maxUncompressedBytes} bytes (--max-uncompressed-bytes); stopped reading`,
      });
      stop();
      return;
    }
    toTar(chunk);
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
          problems.add({ code: 'gzip-corrupt', message: 'not a gzip file (no gzip magic bytes); a plain tar or another format named .tar.gz?' });
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

  if (readToEnd && gzipEnded && !gzipFailed && !stopped) {
    if (gunzip.bytesWritten !== bytesRead) {
      problems.add({
        code: 'gzip-corrupt',
        message: `${bytesRead - gunzip.bytesWritten} bytes follow the end of the gzip stream`,
      });
    }
    if (head && feedParser) {
      // fewer than 2 bytes of tar in total
      problems.add({ code: 'tar-corrupt', message: 'the gzip stream holds no tar archive' });
    }
    if (feedParser) {
      parser.end();
      await Promise.race([parserEnded, new Promise<void>((r) => setImmediate(r))]);
      if (!sawEof) {
        problems.add({
          code: 'truncated',
          message: 'the tar archive has no end-of-archive marker (two zero blocks): it was cut short',
        });
      }
    }
    if (entries === 0 && !problems.has('too-many-entries')) {
      problems.add({ code: 'no-entries', message: 'the archive holds no entries' });
    }
  }
  const list = problems.finish();
  // "Unrecognized archive format" from the parser is how it says "no entries"; one finding is enough.
  const deduped =
    entries === 0 && sawEof ? list.filter((p) => !(p.code === 'tar-corrupt' && /Unrecognized archive format/.test(p.message))) : list;
  return {
    sha256: hash.digest('hex'),
    bytesRead,
    uncompressedBytes: uncompressed,
    entries,
    readToEnd,
    problems: deduped,
  };
}
