/**
 * Reading the manifest of an archive on disk without reading the archive (docs/architecture.md §16):
 * the manifest is the first entry, in the archive's first gzip member, so only the first few
 * kilobytes are decompressed. Used where many archives are compared (the shrink hold, retention);
 * verify-backup itself reads the manifest during its full walk.
 */
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import zlib from 'node:zlib';
import { MAX_MANIFEST_BYTES, parseManifest, type Manifest } from './manifest.js';
import { TarWalker } from './tar-walker.js';

/** Stop decompressing past this: the manifest's header(s), body and padding fit well within it. */
const HEAD_LIMIT = MAX_MANIFEST_BYTES + 16 * 1024;

/**
 * The manifest of the archive at `file` (opened without following a link), or why there is none.
 * Never throws: an unreadable file, a first entry that is not a manifest, or a manifest that does
 * not parse is a `problem`.
 */
export async function readManifestOf(file: string): Promise<{ manifest: Manifest } | { problem: string }> {
  let fh;
  try {
    fh = await open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    return { problem: `cannot open: ${(err as Error).message}` };
  }
  try {
    if (!(await fh.stat()).isFile()) return { problem: 'not a regular file' };
    const walker = new TarWalker({
      maxEntries: 2,
      layout: { module: '', volumes: [] },
      report: () => undefined,
      onCap: () => undefined,
    });
    const gunzip = zlib.createGunzip();
    let out = 0;
    const done = (): boolean => walker.manifestDone || walker.entries > 1 || (walker.entries === 1 && !walker.manifest);
    const finished = new Promise<void>((resolve) => {
      gunzip.on('data', (chunk: Buffer) => {
        if (done() || out > HEAD_LIMIT) return;
        out += chunk.length;
        walker.write(chunk);
        if (done() || out > HEAD_LIMIT) resolve();
      });
      gunzip.on('end', resolve);
      gunzip.on('error', () => resolve());
    });
    const stream = fh.createReadStream({ highWaterMark: 16 * 1024, autoClose: false });
    let stop = false;
    void finished.then(() => (stop = true));
    for await (const chunk of stream) {
      if (stop) break;
      if (!gunzip.write(chunk as Buffer)) await Promise.race([new Promise((r) => gunzip.once('drain', r)), finished]);
      if (stop) break;
    }
    if (!stop) gunzip.end();
    await finished;
    stream.destroy();
    gunzip.destroy();
    if (!walker.manifest || !walker.manifestDone) return { problem: 'no manifest as the first entry' };
    const read = parseManifest(walker.manifest.body, walker.manifest.size);
    return read;
  } finally {
    await fh.close().catch(() => undefined);
  }
}
