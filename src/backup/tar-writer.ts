/**
 * A minimal tar writer for snapshot: regular files and directories only, headers encoded by the
 * tar package's own Header/Pax classes (ustar, with a PAX header when a path or number does not fit).
 * Writing our own headers (instead of copying docker's) means a snapshot carries no xattrs, links,
 * uname/gname or other records verify-backup would have to judge.
 */
import { Header, Pax } from 'tar';

export interface WriterEntry {
  path: string;
  type: 'File' | 'Directory';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** The header block(s) for one entry: an optional PAX header, then the ustar header. */
export function headerBlocks(e: WriterEntry): Buffer {
  const fields = {
    path: e.path,
    type: e.type,
    size: e.type === 'Directory' ? 0 : e.size,
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
  };
  const header = new Header(fields);
  const block = Buffer.alloc(512);
  const needPax = header.encode(block, 0);
  if (!needPax) return block;
  const paxBlocks = new Pax({ ...fields, atime: undefined, ctime: undefined } as ConstructorParameters<
    typeof Pax
  >[0]).encode();
  return Buffer.concat([paxBlocks, block]);
}

/** Zero padding after a body of `size` bytes, up to the next 512-byte block. */
export function bodyPadding(size: number): Buffer {
  const rem = size % 512;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(512 - rem);
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);
