/**
 * The two tiny tar archives the persistence probe needs, in memory: one regular file to feed
 * `docker cp - container:dir` (which is how a sentinel gets into an image without a shell), and
 * reading the archive `docker cp container:path -` returns. Pure: no I/O.
 */
import { Parser } from 'tar';
import { bodyPadding, END_OF_ARCHIVE, headerBlocks } from '../backup/tar-writer.js';

/**
 * A ustar archive holding exactly one regular file `name` (no directories, so no mode/owner
 * changes to the target dir).
 */
export function singleFileTar(name: string, content: Buffer, mtime: Date): Buffer {
  if (name === '' || name.includes('/') || name === '.' || name === '..' || Buffer.byteLength(name) > 100) {
    throw new Error(`sentinel name must be a plain file name of at most 100 bytes, got ${JSON.stringify(name)}`);
  }
  const header = headerBlocks({ path: name, type: 'File', size: content.length, mode: 0o644, uid: 0, gid: 0, mtime });
  return Buffer.concat([header, content, bodyPadding(content.length), END_OF_ARCHIVE]);
}

export interface TarEntry {
  path: string;
  type: string;
  body: Buffer;
}

/** Every entry of an archive with its body. Any parser warning is an error: this is a proof, not a guess. */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const problems: string[] = [];
  const parser = new Parser({ strict: true });
  parser.on('entry', (entry) => {
    const chunks: Buffer[] = [];
    entry.on('data', (c: Buffer) => chunks.push(c));
    entry.on('end', () => entries.push({ path: entry.path, type: entry.type, body: Buffer.concat(chunks) }));
  });
  parser.on('warn', (code: string, message: string | Error) => problems.push(`${code}: ${String(message)}`));
  parser.on('error', (err: Error) => problems.push(err.message));
  // The parser works synchronously on a Buffer: every entry has been seen when end() returns.
  parser.end(archive);
  if (problems.length > 0) throw new Error(`unreadable tar from docker cp: ${problems.join('; ')}`);
  return entries;
}
