/**
 * The archive of a snapshot, written to a temporary file (docs/architecture.md §7, step 3 of
 * ./snapshot.ts): `docker cp container:path -` of each volume from the stopped container, re-packed
 * entry by entry under `<volume>/...` as regular files and directories only, gzipped, hashed as
 * written, then assembled behind the provenance manifest and fsynced.
 *
 * A volume holding a symlink, hard link, device or FIFO is REFUSED, naming the entry: the archive
 * verify-backup accepts may hold nothing else, and silently dropping or dereferencing such an entry
 * would make a backup that restores something different from what was there.
 */
import { randomBytes, createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import type { Logger, Runtime } from '../ports.js';
import { errorMessage } from '../errors.js';
import { describeReservedLive, isReservedName } from './reserved.js';
import { nameLengthProblems, pathProblems, printablePath } from './entry-rules.js';
import { MANIFEST_PATH, serializeManifest, type Manifest, type ManifestVolume } from './manifest.js';
import { END_OF_ARCHIVE, bodyPadding, headerBlocks } from './tar-writer.js';
import { withArticle } from '../report/words.js';
import { ProgressReporter, type ProgressSettings } from '../report/progress.js';
import { SnapshotError } from './snapshot-error.js';

/** One declared data volume to copy: its name (the archive's top-level directory) and its mount path. */
export interface Target {
  volume: string;
  path: string;
}

/** Streams one volume's `docker cp` tar into our writer, refusing anything but files and directories. */
async function captureVolume(
  runtime: Runtime,
  containerId: string,
  module: string,
  target: Target,
  out: { write(chunk: Buffer): Promise<void> },
  counters: { entries: number },
  tally: { entries: number; bytes: number },
  progress: ProgressReporter | null,
): Promise<void> {
  const parser = new Parser({ strict: true, zstd: false, brotli: false });
  let failure: string | null = null;
  let top: string | null = null;
  let chain = Promise.resolve();
  const fail = (message: string): void => {
    failure ??= message;
  };
  parser.on('error', (err: Error) => fail(`docker cp of ${target.path} produced an unreadable tar: ${err.message}`));
  parser.on('entry', (e: ReadEntry) => {
    const slash = e.path.indexOf('/');
    const first = slash === -1 ? e.path : e.path.slice(0, slash);
    const rest = slash === -1 ? '' : e.path.slice(slash + 1);
    top ??= first;
    const archivePath =
      rest === '' ? (e.type === 'Directory' ? `${target.volume}/` : target.volume) : `${target.volume}/${rest}`;
    const shown = printablePath(`${target.path}/${rest}`);
    if (failure) {
      e.resume();
      return;
    }
    if (first !== top) fail(`docker cp of ${target.path} returned an entry outside it: ${printablePath(e.path)}`);
    else if (e.type !== 'File' && e.type !== 'OldFile' && e.type !== 'Directory') {
      const what =
        e.type === 'SymbolicLink' ? 'a symbolic link' : e.type === 'Link' ? 'a hard link' : withArticle(e.type);
      fail(
        `volume ${target.volume} holds ${what} at ${shown}. A snapshot holds only regular files and directories ` +
          `(verify-backup refuses anything else), so this volume cannot be snapshotted as it is; replace the entry ` +
          `with ` +
          `a regular file or move it out of the volume.`,
      );
    } else {
      const why = [...pathProblems(archivePath), ...nameLengthProblems(archivePath)];
      if (why.length)
        fail(
          `volume ${target.volume} holds an entry whose name verify-backup would refuse (${why.join(', ')}): ${shown}`,
        );
      // The live check before the stop looks for the exact name; a case variant is caught here.
      else if (rest !== '' && isReservedName(rest.split('/')[0]!)) {
        const reserved = printablePath(`${target.path}/${rest.split('/')[0]}`);
        fail(`volume ${target.volume}: ${describeReservedLive([reserved], module)}`);
      }
    }
    if (failure) {
      e.resume();
      return;
    }
    counters.entries++;
    const type = e.type === 'Directory' ? 'Directory' : 'File';
    const size = type === 'Directory' ? 0 : e.size;
    tally.entries++;
    tally.bytes += size;
    // Headers and bodies go out strictly in order: each write waits for the previous one.
    const header = headerBlocks({
      path: archivePath,
      type,
      size,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(0),
    });
    chain = chain.then(() => out.write(header));
    if (type === 'Directory') {
      e.resume();
      return;
    }
    // 'end' first: adding a 'data' listener resumes the entry, which may end at once.
    e.on('end', () => {
      chain = chain.then(() => out.write(bodyPadding(size)));
    });
    e.on('data', (chunk: Buffer) => {
      // Hold the entry (and so the parser and docker cp) until the chunk is written: bounded memory.
      e.pause();
      chain = chain.then(() => out.write(chunk)).finally(() => e.resume());
    });
  });

  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, cb) {
      if (failure) return cb(); // keep draining docker cp so it can exit
      progress?.add(chunk.length);
      const ok = parser.write(chunk);
      if (ok) return cb();
      parser.once('drain', () => cb());
    },
  });
  const parserEnded = new Promise<void>((resolve) => parser.once('end', resolve));
  try {
    await runtime.copyFrom(containerId, target.path, sink);
  } catch (err) {
    fail(errorMessage(err));
  }
  await new Promise<void>((resolve) => sink.end(() => resolve()));
  if (!failure) {
    parser.end();
    // The parser ends synchronously on a complete stream; the timer only guards against a stall.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([parserEnded, new Promise<void>((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
  }
  await chain;
  if (failure) throw new SnapshotError(failure);
  if (top === null) throw new SnapshotError(`docker cp of ${target.path} returned no entries`);
}

export interface Captured {
  tempPath: string;
  sha256: string;
  bytes: number;
  /** archive entries, the manifest included */
  entries: number;
  manifest: Manifest;
}

/** What the manifest records besides the volumes, known before the copy (docs/architecture.md §16). */
export type Provenance = Omit<Manifest, 'volumes'>;

/**
 * Copy every target out of a stopped container into a fsynced temporary archive in outDir whose
 * first entry is the provenance manifest (docs/architecture.md §16). The manifest holds each
 * volume's counts, known only once the volumes are read, so the data is written first as its own
 * gzip member, then the archive is assembled as [manifest member][data member] (a gzip file may
 * hold several members; every reader decodes them as one stream) by copying the compressed data,
 * never recompressing it.
 */
export async function captureToTemp(
  runtime: Runtime,
  sourceId: string,
  module: string,
  targets: readonly Target[],
  outDir: string,
  finalName: string,
  log: Logger,
  label: string,
  progress: ProgressSettings | undefined,
  provenance: Provenance,
): Promise<Captured> {
  const dataPath = path.join(outDir, `.${finalName}.${randomBytes(6).toString('hex')}.data.partial`);
  try {
    const data = await captureData(runtime, sourceId, module, targets, dataPath, log, label, progress);
    const manifest: Manifest = { ...provenance, volumes: data.volumes };
    return await assembleWithManifest(data, manifest, outDir, finalName);
  } finally {
    await rm(dataPath, { force: true });
  }
}

interface CapturedData {
  /** the temporary file holding the data member */
  path: string;
  sha256: string;
  bytes: number;
  entries: number;
  volumes: ManifestVolume[];
}

/**
 * Write `[gzip member: the manifest entry][the data file as written]` to a new temporary file,
 * hashing as it goes; the data part must hash as it did when it was written (the disk returned
 * what was given to it).
 */
async function assembleWithManifest(
  data: CapturedData,
  manifest: Manifest,
  outDir: string,
  finalName: string,
): Promise<Captured> {
  const tempPath = path.join(outDir, `.${finalName}.${randomBytes(6).toString('hex')}.partial`);
  const body = serializeManifest(manifest);
  const head = zlib.gzipSync(
    Buffer.concat([
      headerBlocks({
        path: MANIFEST_PATH,
        type: 'File',
        size: body.length,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: new Date(manifest.created_at),
      }),
      body,
      bodyPadding(body.length),
    ]),
    { level: 6 },
  );
  const hash = createHash('sha256').update(head);
  const dataHash = createHash('sha256');
  let dataBytes = 0;
  const out = await open(tempPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    await out.write(head);
    const src = await open(data.path, fsc.O_RDONLY);
    try {
      for await (const chunk of src.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false })) {
        const b = chunk as Buffer;
        hash.update(b);
        dataHash.update(b);
        dataBytes += b.length;
        await out.write(b);
      }
    } finally {
      await src.close();
    }
    if (dataBytes !== data.bytes || dataHash.digest('hex') !== data.sha256) {
      throw new SnapshotError(
        `the archive's data read back from disk differs from what was written; nothing published`,
      );
    }
    await out.sync();
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(tempPath, { force: true });
    throw err;
  }
  await out.close();
  return {
    tempPath,
    sha256: hash.digest('hex'),
    bytes: head.length + dataBytes,
    entries: data.entries + 1,
    manifest,
  };
}

/** The volumes as one gzip member (the data tar, its end marker included) in `tempPath`, fsynced. */
async function captureData(
  runtime: Runtime,
  sourceId: string,
  module: string,
  targets: readonly Target[],
  tempPath: string,
  log: Logger,
  label: string,
  progress: ProgressSettings | undefined,
): Promise<CapturedData> {
  const hash = createHash('sha256');
  let bytes = 0;
  const counters = { entries: 0 };
  const volumes: ManifestVolume[] = [];
  let fh: FileHandle | undefined;
  let gzip: zlib.Gzip | undefined;
  let fileWrites: Promise<void> = Promise.resolve();
  try {
    fh = await open(tempPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    const file = fh;
    const gz = zlib.createGzip({ level: 6, chunkSize: 256 * 1024 });
    gzip = gz;
    let gzipError: Error | null = null;
    gz.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      fileWrites = fileWrites.then(async () => {
        await file.write(chunk);
      });
    });
    gz.on('error', (err) => (gzipError = err));
    const gzipEnded = new Promise<void>((resolve) => {
      gz.once('end', resolve);
      gz.once('error', () => resolve());
    });
    const out = {
      write: async (chunk: Buffer): Promise<void> => {
        if (chunk.length === 0) return;
        if (!gz.write(chunk)) await new Promise<void>((r) => gz.once('drain', r));
        // keep the file writes from falling far behind: bounded memory
        await fileWrites;
      },
    };
    for (const t of targets) {
      const what = `${label}: copying ${t.path} (volume ${t.volume})`;
      log.info(what);
      // The volume's size is not known before it is read: bytes, rate and elapsed time (§7).
      const reporter = progress
        ? new ProgressReporter({
            label: what,
            say: (l) => log.info(l),
            now: progress.now,
            intervalMs: progress.intervalMs,
          })
        : null;
      const tally = { entries: 0, bytes: 0 };
      await captureVolume(runtime, sourceId, module, t, out, counters, tally, reporter);
      volumes.push({ name: t.volume, path: t.path, ...tally });
    }
    await out.write(END_OF_ARCHIVE);
    gz.end();
    await gzipEnded;
    await fileWrites;
    // set by the stream's error handler, which the compiler does not follow
    const gzipFailed = gzipError as Error | null;
    if (gzipFailed) throw gzipFailed;
    await file.sync();
  } catch (err) {
    gzip?.destroy();
    // Pending writes may fail once the file is closed; the capture has failed already.
    await fileWrites.catch(() => undefined);
    await fh?.close().catch(() => undefined);
    fh = undefined;
    await rm(tempPath, { force: true });
    throw err;
  } finally {
    await fh?.close().catch(() => undefined);
  }
  return { path: tempPath, sha256: hash.digest('hex'), bytes, entries: counters.entries, volumes };
}
