/**
 * A minimal tar writer for snapshot and restore's re-packer: regular files and directories only,
 * POSIX ustar headers written here byte by byte, with a PAX `x` header (as GNU tar, Python and Go
 * write one) when a value does not fit the ustar field: a path no name/prefix split holds, a uid or
 * gid over 2097151 (7 octal digits), an mtime before 1970, past 8^11-1 or with a fraction, a size
 * of 8 GiB or more. The ustar field then holds 0 (uid, gid, mtime, as GNU tar and Python write it)
 * or the same size in base-256 (every reader we accept reads both, and the walker requires a PAX
 * size to equal the header's). Writing our own headers (instead of copying docker's) means an
 * archive carries no xattrs, links, uname/gname or other records verify-backup would have to judge
 * (docs/architecture.md §5, §7, §12).
 */
import { pathProblems } from './entry-rules.js';

export interface WriterEntry {
  path: string;
  type: 'File' | 'Directory';
  size: number;
  /** permission bits (type bits are ignored) */
  mode: number;
  uid: number;
  gid: number;
  /** whole seconds since 1970 (negative: before), or a Date */
  mtime: number | Date;
  /** nanoseconds past `mtime` (a number mtime only), 0..999999999 */
  mtimeNsec?: number;
}

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

function octalField(block: Buffer, at: number, len: number, value: number): void {
  block.write(`${value.toString(8).padStart(len - 1, '0')}\0`, at, len, 'latin1');
}

/** GNU base-256 of a non-negative value (first byte 0x80, big-endian). */
function base256Field(block: Buffer, at: number, len: number, value: number): void {
  let v = BigInt(value);
  for (let i = at + len - 1; i > at; i--) {
    block[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[at] = 0x80;
}

/** A PAX record with its self-counting length. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(rest) + 1;
  while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
  return `${len}${rest}`;
}

/** `sec` and `nsec` (0 when sec < 0) as a PAX time: `[-]seconds[.fraction]`, trailing zeros dropped. */
function paxTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec);
  return `${sec}.${nsec.toString().padStart(9, '0').replace(/0+$/, '')}`;
}

/** name/prefix of a ustar header holding `p` exactly, or null when no split fits. */
function ustarName(p: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(p) <= 100) return { name: p, prefix: '' };
  // a directory's trailing '/' stays on the name part; split at a '/' before it
  const body = p.endsWith('/') ? p.slice(0, -1) : p;
  for (let i = body.indexOf('/'); i !== -1; i = body.indexOf('/', i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '' && prefix !== '') {
      return { name, prefix };
    }
  }
  return null;
}

interface UstarFields {
  name: string;
  prefix: string;
  type: '0' | '5' | 'x';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
}

function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(512);
  b.write(f.name, 0, 100, 'utf8');
  octalField(b, 100, 8, f.mode);
  octalField(b, 108, 8, f.uid);
  octalField(b, 116, 8, f.gid);
  if (f.size > MAX_OCTAL_11) base256Field(b, 124, 12, f.size);
  else octalField(b, 124, 12, f.size);
  octalField(b, 136, 12, f.mtime);
  b.write(f.type, 156, 1, 'latin1');
  b.write('ustar\u000000', 257, 8, 'latin1');
  octalField(b, 329, 8, 0);
  octalField(b, 337, 8, 0);
  if (f.prefix) b.write(f.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

/** The header block(s) for one entry: an optional PAX header, then the ustar header. */
export function headerBlocks(e: WriterEntry): Buffer {
  const isDir = e.type === 'Directory';
  const size = isDir ? 0 : e.size;
  const ms = e.mtime instanceof Date ? e.mtime.getTime() : null;
  const sec = ms === null ? (e.mtime as number) : Math.floor(ms / 1000);
  // Before 1970 only whole seconds (rounded down): readers disagree on a negative fraction (§5).
  const nsec = sec < 0 ? 0 : ms === null ? (e.mtimeNsec ?? 0) : (ms - sec * 1000) * 1_000_000;
  const path = isDir && !e.path.endsWith('/') ? `${e.path}/` : e.path;

  const records: string[] = [];
  let split = ustarName(path);
  if (split === null) {
    records.push(paxRecord('path', path));
    // Every reader we accept takes the name from the PAX path; the plain one need only be
    // harmless (verify-backup judges it too): the last segment, cut to 99 bytes.
    split = { name: lastSegment(path) + (isDir ? '/' : ''), prefix: '' };
  }
  const uidFits = e.uid <= MAX_OCTAL_7;
  const gidFits = e.gid <= MAX_OCTAL_7;
  const secFits = sec >= 0 && sec <= MAX_OCTAL_11;
  if (!uidFits) records.push(paxRecord('uid', String(e.uid)));
  if (!gidFits) records.push(paxRecord('gid', String(e.gid)));
  if (!secFits || nsec !== 0) records.push(paxRecord('mtime', paxTime(sec, nsec)));
  if (size > MAX_OCTAL_11) records.push(paxRecord('size', String(size)));

  const header = ustarBlock({
    ...split,
    type: isDir ? '5' : '0',
    mode: e.mode & 0o7777,
    uid: uidFits ? e.uid : 0,
    gid: gidFits ? e.gid : 0,
    size,
    mtime: secFits ? sec : 0,
  });
  if (records.length === 0) return header;
  const body = Buffer.from(records.join(''), 'utf8');
  const ext = ustarBlock({
    name: '././@PaxHeader',
    prefix: '',
    type: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
  });
  return Buffer.concat([ext, body, bodyPadding(body.length), header]);
}

/** The path's last segment, cut to at most 99 bytes on a character boundary. */
function lastSegment(p: string): string {
  const chars = [...(p.replace(/\/+$/, '').split('/').pop() ?? '')];
  while (Buffer.byteLength(chars.join('')) > 99) chars.pop();
  const s = chars.join('');
  return s === '' || s === '..' || s === '.' || pathProblems(s).length ? 'x' : s;
}

/** Zero padding after a body of `size` bytes, up to the next 512-byte block. */
export function bodyPadding(size: number): Buffer {
  const rem = size % 512;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(512 - rem);
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(1024);
