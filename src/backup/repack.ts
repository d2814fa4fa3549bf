/**
 * restore's re-packer (docs/architecture.md §12, "stage on the live filesystem"). The verified
 * archive is still untrusted input to whatever extracts it: a tool that follows links or absolute
 * paths could be steered outside the volume by an archive verify-backup never saw (a swapped file)
 * or one a reader reads differently. So the archive is never handed to such a tool. It is walked
 * again by the verify-backup pass itself (inspectArchive: the same gzip layer, strict walker, caps
 * and layout, docs/architecture.md §5), and each entry is written out anew as it passes: our own
 * headers (./../backup/tar-writer.ts: regular files and directories only, permission bits, uid,
 * gid, mtime), the body streamed through, under the staging prefix the caller names per volume.
 *
 * - The volume's own top-level directory is not an entry of the staged tree (the staging area
 *   already exists); its mode/uid/gid are returned as `root` for the swap to apply.
 * - Owner, mtime and mode are the values restorers apply (PAX uid/gid/mtime over the header's,
 *   base-256 read; ../backup/tar-walker.ts, ../backup/tar-header.ts), written back as PAX records
 *   where the ustar fields cannot hold them, so the Docker daemon that extracts the staged stream
 *   sets exactly those.
 * - A parent directory the archive has no entry for (`tar -czf x.tgz store-data/db/t`) is written
 *   as an entry of its own before its first child, as GNU tar and the Docker daemon create one:
 *   mode 0755, owner 0:0 (and, so that restoring the same archive twice gives the same tree, the
 *   mtime of the entry that implied it). It counts like any entry, so the count the engine takes
 *   of what was staged agrees; a later entry for that directory sets its metadata and is not
 *   counted twice. A file directly at the top level is still refused (the layout).
 * - The setuid and setgid bits of regular files are not written (verify-backup warns about each,
 *   `setid-stripped`); directories keep theirs (docs/architecture.md §12).
 * - `<volume>/.stateguard-restore` is where restore stages and keeps the old data during the swap;
 *   an archive entry there would land inside restore's own work area, so it is refused (the walker's
 *   `reserved-name`, the rule verify-backup applies: ../backup/reserved.ts).
 * - The provenance manifest, the first entry (docs/architecture.md §16), is not staged.
 * - At the first problem nothing more is emitted, and the end-of-archive marker only ever follows a
 *   pass without problems: a staged tar without it is incomplete, and the caller discards it. The
 *   pass still reads on, so every problem is returned, as verify-backup reports them.
 * - Memory is bounded: gunzip is paused while the output of one gunzipped chunk is handed to `out`
 *   (ArchiveOptions.pace), and bodies are passed as views of that chunk, never buffered whole.
 */
import { SETID_BITS, inspectArchive, type ArchiveLimits } from './archive.js';
import { pathProblems, printablePath } from './entry-rules.js';
import { WORK_AREA, isReservedName } from './reserved.js';
import { MANIFEST_PATH } from './manifest.js';
import type { Layout, WalkedEntry } from './tar-walker.js';
import { END_OF_ARCHIVE, bodyPadding, headerBlocks } from './tar-writer.js';
import type { BackupProblem, BackupWarning } from './types.js';
import type { StagedTime } from '../ports.js';

/** reserved name at the top of every volume during a restore (the one definition: ../backup/reserved.ts) */
export { WORK_AREA };

export interface RootMeta {
  mode: number;
  uid: number;
  gid: number;
}

export interface RepackVolume {
  volume: string;
  /** entries inside the volume (directories included, its own top-level directory not) */
  entries: number;
  files: number;
  /** regular-file body bytes */
  bytes: number;
  /** the volume's top-level directory entry, or null when the archive has none */
  root: RootMeta | null;
}

export interface RepackResult {
  problems: BackupProblem[];
  sha256: string;
  bytesRead: number;
  volumes: RepackVolume[];
  readToEnd: boolean;
  /** what was written differently from the archive: regular files whose setuid/setgid bits were dropped */
  warnings: BackupWarning[];
  /**
   * Entries dated before 1970, which the Docker daemon's extraction sets to 1970: restore sets them
   * after staging (Runtime.setStagedTimes). At most MAX_STAGED_TIMES (more: a problem).
   */
  times: StagedTime[];
}

/** Entries dated before 1970 one restore sets after staging; more is refused (memory stays bounded). */
export const MAX_STAGED_TIMES = 100_000;

/** Mode, owner and mtime of a parent directory the archive implies but has no entry for. */
export const IMPLICIT_DIR = { mode: 0o755, uid: 0, gid: 0 } as const;

/** Small pieces (headers, padding, small bodies) are joined up to this size before `out` sees them. */
const BATCH = 64 * 1024;

export async function repackForStaging(
  source: AsyncIterable<Buffer>,
  opts: {
    layout: Layout; // from src/backup/tar-layout.ts: module + volumes (order = index)
    limits: ArchiveLimits; // caps as verify-backup
    /** where entries of volume i go in the output tar, e.g. `0/.stateguard-restore/new` */
    prefixFor: (volumeIndex: number) => string;
    /** receives the output tar in order; awaited (backpressure: input reading pauses while it runs) */
    out: (chunk: Buffer) => Promise<void>;
  },
): Promise<RepackResult> {
  const { layout } = opts;
  const volumes: RepackVolume[] = layout.volumes.map((volume) => ({
    volume,
    entries: 0,
    files: 0,
    bytes: 0,
    root: null,
  }));
  const prefixes = layout.volumes.map((_, i) => {
    const prefix = opts.prefixFor(i).replace(/\/+$/, '');
    // The caller's own value, but it lands in a header like any name: held to the same rules.
    const why = prefix === '' ? ['empty prefix'] : pathProblems(prefix);
    if (why.length) throw new TypeError(`staging prefix ${JSON.stringify(prefix)} for volume ${i}: ${why.join(', ')}`);
    return prefix;
  });

  /** problems only the re-packer can see (more pre-1970 times than it tracks) */
  const own: BackupProblem[] = [];
  /** per volume: directories inside it already written (raw segments below the volume, joined by '/') */
  const dirsWritten = layout.volumes.map(() => new Set<string>());
  const times: StagedTime[] = [];
  let tooManyTimes = false;
  /** an entry the engine's extraction dates 1970 instead */
  const noteTime = (index: number, path: string, mtime: number): void => {
    if (mtime >= 0) return;
    if (times.length < MAX_STAGED_TIMES) times.push({ index, path, mtime });
    else tooManyTimes = true;
  };
  /** an entry the re-packer would not emit; a problem of its own only if the pass found none */
  let selfRefusal: BackupProblem | null = null;
  /** a problem was found: nothing more is emitted */
  let refused = false;
  let queue: Buffer[] = [];
  /** the regular file whose body is being passed on (null: a body not emitted or counted) */
  let body: { volume: RepackVolume; left: number; size: number } | null = null;
  let flushing: Promise<void> = Promise.resolve();

  const refuse = (): void => {
    refused = true;
    queue = [];
  };

  let firstEntry = true;
  const onEntry = (e: WalkedEntry): void => {
    body = null;
    // The provenance manifest (docs/architecture.md §16) is no volume's data: never staged. The walker
    // refuses it anywhere but as the first entry.
    const first = firstEntry;
    firstEntry = false;
    if (first && e.path === MANIFEST_PATH && e.type === 'file') return;
    const segments = e.path.split('/').filter((s) => s !== '' && s !== '.');
    // The archive root '.' (GNU tar's `./`) holds no volume's data; the walker refuses it as a file.
    if (segments.length === 0 && e.type === 'directory') return;
    // The walker compares the top level after NFC; so does this.
    const index = segments.length ? layout.volumes.indexOf(segments[0]!.normalize('NFC')) : -1;
    const isFile = e.type === 'file';
    const isDir = e.type === 'directory';
    const unsafe = pathProblems(e.path);
    if (index === -1 || (!isFile && !isDir) || unsafe.length || (segments.length === 1 && !isDir)) {
      // The walker reports each of these; refusing here too means no reading of ours emits them.
      const [code, why] = unsafe.length
        ? (['unsafe-path', unsafe.join(', ')] as const)
        : !isFile && !isDir
          ? (['forbidden-entry-type', `an entry of type ${e.type}`] as const)
          : (['layout-mismatch', `not inside one of the data volumes (${layout.volumes.join(', ')})`] as const);
      selfRefusal ??= {
        code,
        message: `re-packing for restore refused this entry: ${why}`,
        entry: printablePath(e.path),
      };
      refuse();
      return;
    }
    const volume = volumes[index]!;
    if (segments.length === 1) {
      volume.root = { mode: e.mode & 0o7777, uid: e.uid, gid: e.gid };
      return;
    }
    // The walker reports it (`reserved-name`, the rule verify-backup applies); nothing more is emitted.
    if (isReservedName(segments[1]!)) {
      refuse();
      return;
    }
    const inner = segments.slice(1);
    const written = dirsWritten[index]!;
    for (let depth = 1; depth < inner.length; depth++) {
      const parent = inner.slice(0, depth).join('/');
      if (written.has(parent)) continue;
      written.add(parent);
      volume.entries++;
      noteTime(index, parent, e.mtime);
      if (!refused) {
        queue.push(
          headerBlocks({
            path: `${prefixes[index]}/${parent}/`,
            type: 'Directory',
            size: 0,
            ...IMPLICIT_DIR,
            mtime: e.mtime,
          }),
        );
      }
    }
    const rel = inner.join('/');
    noteTime(index, rel, e.mtime);
    if (isDir) {
      if (!written.has(rel)) volume.entries++;
      written.add(rel);
    } else {
      volume.entries++;
      volume.files++;
      if (e.size > 0) body = { volume, left: e.size, size: e.size };
    }
    if (refused) return;
    queue.push(
      headerBlocks({
        path: `${prefixes[index]}/${rel}${isDir ? '/' : ''}`,
        type: isDir ? 'Directory' : 'File',
        size: isFile ? e.size : 0,
        mode: isFile ? e.mode & ~SETID_BITS : e.mode,
        uid: e.uid,
        gid: e.gid,
        mtime: e.mtime,
        ...(e.mtimeNsec ? { mtimeNsec: e.mtimeNsec } : {}),
      }),
    );
  };

  const onBody = (chunk: Buffer): void => {
    if (!body) return;
    body.volume.bytes += chunk.length;
    body.left -= chunk.length;
    if (!refused) queue.push(chunk);
    if (body.left <= 0) {
      if (!refused) queue.push(bodyPadding(body.size));
      body = null;
    }
  };

  /** Hand what one gunzipped chunk produced to `out`, in order; gunzip waits for it. */
  const pace = (): Promise<void> | undefined => {
    if (refused || queue.length === 0) return undefined;
    const items = queue;
    queue = [];
    flushing = (async () => {
      let batch: Buffer[] = [];
      let size = 0;
      const send = async (): Promise<void> => {
        const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, size);
        batch = [];
        size = 0;
        if (!refused && data.length) await opts.out(data);
      };
      for (const item of items) {
        if (item.length >= BATCH) {
          if (batch.length) await send();
          batch = [item];
          size = item.length;
          await send();
          continue;
        }
        batch.push(item);
        size += item.length;
        if (size >= BATCH) await send();
      }
      if (batch.length) await send();
    })();
    return flushing;
  };

  const inspection = await inspectArchive(source, opts.limits, {
    layout,
    onEntry,
    onBody,
    onProblem: refuse,
    pace,
  });
  // Normally done before gunzip ended; not when a read error ended the pass while `out` ran.
  await flushing;

  if (tooManyTimes) {
    own.push({
      code: 'too-many-entries',
      message:
        `more than ${MAX_STAGED_TIMES} entries are dated before 1970; restore sets each of those times after ` +
        `extraction and takes at most ${MAX_STAGED_TIMES}`,
    });
  }
  const problems = [...inspection.problems, ...own];
  if (problems.length === 0 && selfRefusal) problems.push(selfRefusal);
  if (problems.length === 0 && !refused) {
    // pace ran after every gunzipped chunk, so nothing is queued; this only keeps that an invariant.
    if (queue.length) await pace();
    await opts.out(END_OF_ARCHIVE);
  }
  return {
    problems,
    sha256: inspection.sha256,
    bytesRead: inspection.bytesRead,
    volumes,
    readToEnd: inspection.readToEnd,
    warnings: inspection.warnings,
    times,
  };
}
