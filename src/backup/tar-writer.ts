/**
 * A minimal tar writer for snapshot: regular files and directories only, headers encoded by the
 * tar package's own Header/Pax classes (ustar, with a PAX header when a path or number does not fit).
 * Writing our own headers (instead of copying docker's) means a snapshot carries no xattrs, links,
 * uname/gname or other records verify-backup would have to judge.
 */
import { Header, Pax } from 'tar';
import { pathProblems } from './entry-rules.js';

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
  let block = Buffer.alloc(512);
  const needPax = header.encode(block, 0);
  if (!needPax) return block;
  if (!plainNameOk(block, e.type)) {
    // node-tar cuts a name that fits no prefix/name split at 99 characters wherever that falls, so a
    // regular file's plain name can end in '/' (node-tar and Python then read a directory) or in
    // '..': verify-backup refuses both (docs/architecture.md §5). Every reader we accept takes the
    // name from the PAX path; the plain one need only be harmless, so it becomes the last segment.
    block = Buffer.alloc(512);
    new Header({ ...fields, path: lastSegment(e.path) }).encode(block, 0);
  }
  const paxBlocks = new Pax({ ...fields, atime: undefined, ctime: undefined } as ConstructorParameters<
    typeof Pax
  >[0]).encode();
  return Buffer.concat([paxBlocks, block]);
}

/** The ustar name (prefix joined) a reader that skips the PAX header would use is one verify-backup accepts. */
function plainNameOk(block: Buffer, type: WriterEntry['type']): boolean {
  const field = (at: number, len: number): string => {
    const b = block.subarray(at, at + len);
    const nul = b.indexOf(0);
    return (nul === -1 ? b : b.subarray(0, nul)).toString('utf8');
  };
  const name = field(0, 100);
  const prefix = field(345, 155);
  const plain = prefix ? `${prefix}/${name}` : name;
  return pathProblems(plain).length === 0 && !(type === 'File' && plain.endsWith('/'));
}

/** The path's last segment, cut to at most 99 bytes on a character boundary. */
function lastSegment(p: string): string {
  const chars = [...(p.replace(/\/+$/, '').split('/').pop() ?? '')];
  while (Buffer.byteLength(chars.join('')) > 99) chars.pop();
  return chars.join('') || 'x';
}

/** Zero padding after a body of `size` bytes, up to the next 512-byte block. */
export function bodyPadding(size: number): Buffer {
  const rem = size % 512;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(512 - rem);
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);
