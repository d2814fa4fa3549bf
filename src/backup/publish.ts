/**
 * Publishing a finished archive (docs/architecture.md §7): the checked temporary file goes under its
 * final name atomically and never over an existing file, its `.sha256` is written the same way
 * (fsynced temporary file, atomic publish), then the directory is fsynced. A crash at any point
 * leaves nothing under the final name but a complete, checked archive.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, lstat, open, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CHECKSUM_SUFFIX } from './names.js';
import { SnapshotError } from './snapshot-error.js';

/** Moves a finished temporary file to its final name (injectable for crash tests). */
export type Publish = (tempPath: string, finalPath: string) => Promise<void>;

/** Atomic publish that refuses to replace an existing file (link + unlink); rename where links are unsupported. */
export async function publishNoClobber(tempPath: string, finalPath: string): Promise<void> {
  try {
    await link(tempPath, finalPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new SnapshotError(`${finalPath} already exists; refusing to overwrite a backup`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    const exists = await lstat(finalPath).then(
      () => true,
      () => false,
    );
    if (exists) throw new SnapshotError(`${finalPath} already exists; refusing to overwrite a backup`);
    await rename(tempPath, finalPath);
    return;
  }
  await unlink(tempPath);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } catch {
    // some filesystems refuse fsync on a directory; the file itself was fsynced
  } finally {
    await fh.close();
  }
}

/** Write `content` to `finalPath` through a fsynced temporary file and an atomic publish. */
async function writeFileAtomic(finalPath: string, content: string, publish: Publish | undefined): Promise<void> {
  const temp = path.join(
    path.dirname(finalPath),
    `.${path.basename(finalPath)}.${randomBytes(6).toString('hex')}.partial`,
  );
  const fh = await open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await (publish ?? publishNoClobber)(temp, finalPath);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Publish the fsynced temporary archive `tempPath` as `finalPath` (with `publish`, default
 * publishNoClobber), then its `.sha256` the same way, then fsync the directory.
 */
export async function publishArchive(
  tempPath: string,
  finalPath: string,
  sha256: string,
  publish: Publish | undefined,
): Promise<void> {
  await (publish ?? publishNoClobber)(tempPath, finalPath);
  await writeFileAtomic(`${finalPath}${CHECKSUM_SUFFIX}`, `${sha256}  ${path.basename(finalPath)}\n`, publish);
  await fsyncDir(path.dirname(finalPath));
}
