/**
 * One 512-byte tar header block, read strictly (issue 11; the walk around it is ./tar-walker.ts).
 * Anything the readers that restore backups could read two ways is a problem, never a guess:
 *
 * - a header is exactly POSIX ustar (`ustar\0` + `00`) or exactly GNU (`ustar  \0`); only POSIX
 *   headers may use the prefix field (GNU keeps other data there, Python joins it whatever the
 *   magic, Go ignores it outside POSIX), so a GNU header's prefix area must be all zero;
 * - numeric fields are plain octal: optional leading spaces, digits, then only spaces/NULs; an
 *   empty field only where every reader reads it as 0 and a writer we accept emits it (uid, gid,
 *   mtime). GNU's base-256 (first byte exactly 0x80, or 0xff for a negative mtime) is read the same
 *   by GNU tar, Python, Go and busybox in uid, gid, size and mtime, so it is accepted there, within
 *   the ranges below; signs, junk and other high-bit first bytes are read differently: refused;
 * - the header checksum is the unsigned sum (what every writer writes);
 * - every header has a non-empty name field (busybox takes an empty one for the end marker).
 */
import { MAX_ABS_MTIME, MAX_MTIME, MAX_OWNER_ID, printablePath } from './entry-rules.js';
import type { BackupProblem } from './types.js';

export const BLOCK = 512;

const POSIX_MAGIC = Buffer.from('ustar\u000000', 'latin1');
const GNU_MAGIC = Buffer.from('ustar  \u0000', 'latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * GNU base-256 (see the module comment), or null: first byte 0x80 (positive) or, when `signed`,
 * 0xff (two's complement, negative), then big-endian bytes; at most `max` in absolute value.
 */
function base256(b: Buffer, start: number, len: number, signed: boolean, max: number): number | null {
  const first = b[start];
  if (first !== 0x80 && !(signed && first === 0xff)) return null;
  let v = 0n;
  for (let i = start + 1; i < start + len; i++) v = (v << 8n) | BigInt(b[i]!);
  if (first === 0xff) v -= 1n << BigInt(8 * (len - 1));
  if (v > BigInt(max) || v < -BigInt(max)) return null;
  return Number(v);
}

/** Plain octal (see the module comment), or null. Values are below 8^12, exact in a double. */
function plainOctal(b: Buffer, start: number, len: number, allowEmpty = false): number | null {
  let i = start;
  const end = start + len;
  while (i < end && b[i] === 0x20) i++;
  let value = 0;
  let digits = 0;
  while (i < end && b[i]! >= 0x30 && b[i]! <= 0x37) {
    value = value * 8 + (b[i]! - 0x30);
    digits++;
    i++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) return null;
  if (digits === 0) return allowEmpty ? 0 : null;
  return value;
}

interface NumericField {
  name: string;
  at: number;
  len: number;
  /** may be empty (all NUL/space) */
  emptyOk: boolean;
  /** base-256 accepted: the largest absolute value, and whether it may be negative */
  base256?: { max: number; signed: boolean };
}

/**
 * The header's numeric fields, each checked to be plain octal. An empty uid/gid/mtime is read as 0
 * by GNU tar, busybox, Go and Python alike, and node-tar's portable mode writes them so; an empty
 * size or mode no writer emits, so it is refused. devmajor/devminor: only Python parses them for
 * every entry (and fails on junk).
 */
const NUMERIC_FIELDS: readonly NumericField[] = [
  { name: 'mode', at: 100, len: 8, emptyOk: false },
  { name: 'uid', at: 108, len: 8, emptyOk: true, base256: { max: MAX_OWNER_ID, signed: false } },
  { name: 'gid', at: 116, len: 8, emptyOk: true, base256: { max: MAX_OWNER_ID, signed: false } },
  { name: 'size', at: 124, len: 12, emptyOk: false, base256: { max: Number.MAX_SAFE_INTEGER, signed: false } },
  { name: 'mtime', at: 136, len: 12, emptyOk: true, base256: { max: MAX_ABS_MTIME, signed: true } },
  { name: 'devmajor', at: 329, len: 8, emptyOk: true },
  { name: 'devminor', at: 337, len: 8, emptyOk: true },
];

/** A numeric field's value (plain octal, or base-256 where the field takes it), or null. */
function numeric(b: Buffer, f: NumericField): number | null {
  const octal = plainOctal(b, f.at, f.len, f.emptyOk);
  if (octal !== null || !f.base256) return octal;
  const v = base256(b, f.at, f.len, f.base256.signed, f.base256.max);
  // a later mtime is one restore cannot set (./entry-rules.ts MAX_MTIME); octal cannot reach it
  return f.name === 'mtime' && v !== null && v > MAX_MTIME ? null : v;
}

const FIELD = Object.fromEntries(NUMERIC_FIELDS.map((f) => [f.name, f])) as Record<string, NumericField>;

/** Bytes of a NUL-terminated field (up to the first NUL, as every reader cuts it). */
function cString(b: Buffer, start: number, len: number): Buffer {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

/** Strict UTF-8, or null. */
export function decode(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** A lossy rendering of raw name bytes, for messages only. */
export function shownBytes(bytes: Buffer): string {
  return printablePath(bytes.toString('latin1').replace(/[\x80-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`));
}

/** The header's own mode, uid, gid and mtime (before any PAX record applies). */
export interface HeaderMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/** What the walk needs of one header block that could be read. */
export interface TarHeader {
  /** the type flag, one character */
  flag: string;
  /** the name field's bytes, up to the first NUL */
  nameBytes: Buffer;
  /** the prefix field's bytes (POSIX headers only; empty otherwise) */
  prefixBytes: Buffer;
  /** the name field, for messages */
  shown: string;
  /** exactly GNU magic */
  gnu: boolean;
  /** the size field: how many body bytes follow (before padding) */
  size: number;
  /** the header's own values; a field that cannot be read is a problem already and reads as 0 */
  meta: HeaderMeta;
}

/**
 * Read one 512-byte header block that is not a zero block; `offset` is where it starts in the tar
 * stream (for messages). Every problem goes to `report`; null when the walk must stop: the checksum
 * does not add up (nothing in the header can be trusted) or the size cannot be read (where the next
 * header starts is unknown).
 */
export function parseHeader(h: Buffer, offset: number, report: (p: BackupProblem) => void): TarHeader | null {
  // ---- checksum: if it does not add up nothing in the header can be trusted ----
  const stored = plainOctal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (stored === null) {
    const rendered = JSON.stringify(h.subarray(148, 156).toString('latin1'));
    report({
      code: 'ambiguous-header',
      message:
        `header checksum field ` + `${rendered} is not plain octal; readers disagree on it. Stopped reading the tar.`,
    });
    return null;
  }
  if (stored !== sum) {
    report({
      code: 'tar-corrupt',
      message:
        `tar header checksum failure at byte ` +
        `${offset} (stored ${stored.toString(8)}, computed ${sum.toString(8)}). Stopped reading the tar.`,
    });
    return null;
  }

  const nameBytes = cString(h, 0, 100);
  const shownHeader = shownBytes(nameBytes);
  const flag = String.fromCharCode(h[156]!);
  const magic = h.subarray(257, 265);
  const posix = magic.equals(POSIX_MAGIC);
  const gnu = !posix && magic.equals(GNU_MAGIC);
  if (!posix && !gnu) {
    report({
      code: 'ambiguous-header',
      message:
        `header magic/version ` +
        `${JSON.stringify(magic.toString('latin1'))} is neither POSIX ustar ("ustar\\u000000") nor GNU ("ustar  ` +
        `\\u0000"); readers disagree on whether the prefix field is part of the name`,
      entry: shownHeader,
    });
  }
  let prefixBytes: Buffer = Buffer.alloc(0);
  if (posix) prefixBytes = cString(h, 345, 155);
  else if (!h.subarray(345, 500).every((x) => x === 0)) {
    report({
      code: 'ambiguous-header',
      message:
        `a ${gnu ? 'GNU' : 'non-POSIX'} header has bytes in the prefix field ` +
        `(${shownBytes(cString(h, 345, 155))}); Python joins them to the name, other readers do not`,
      entry: shownHeader,
    });
  }

  if (h[0] === 0 && (!posix || h[345] === 0)) {
    // busybox tar takes a header whose name (and prefix) is empty for the end-of-archive marker
    report({
      code: 'ambiguous-header',
      message: 'a header with an empty name field: busybox tar reads it as the end of the archive, other readers go on',
    });
  }

  // A file or directory has no link target; busybox lists a set linkname as `name -> target` and
  // others ignore it: readers disagree, so it is refused (only extension headers may carry junk
  // there, and they never do in practice: refused too).
  if (h[157] !== 0) {
    report({
      code: 'ambiguous-header',
      message:
        `the linkname field is set ` +
        `(${shownBytes(cString(h, 157, 100))}) on an entry that cannot be a link; readers disagree on it`,
      entry: shownHeader,
    });
  }

  // ---- numeric fields ----
  const size = numeric(h, FIELD.size!);
  const badFields = NUMERIC_FIELDS.filter((f) => numeric(h, f) === null);
  if (badFields.length) {
    const show = (f: NumericField): string =>
      `${f.name} ${JSON.stringify(h.subarray(f.at, f.at + f.len).toString('latin1'))}`;
    report({
      code: 'ambiguous-header',
      message:
        `numeric field${badFields.length > 1 ? 's' : ''} not plain octal nor base-256 within range (a sign, junk, ` +
        `another high-bit byte, an overflow or empty; readers disagree): ${badFields.map(show).join(', ')}`,
      entry: shownHeader,
    });
  }
  if (size === null) {
    report({
      code: 'ambiguous-header',
      message: 'the size field cannot be read, so where the next header starts is unknown. Stopped reading the tar.',
      entry: shownHeader,
    });
    return null;
  }
  return {
    flag,
    nameBytes,
    prefixBytes,
    shown: shownHeader,
    gnu,
    size,
    meta: {
      mode: plainOctal(h, 100, 8) ?? 0,
      uid: numeric(h, FIELD.uid!) ?? 0,
      gid: numeric(h, FIELD.gid!) ?? 0,
      mtime: numeric(h, FIELD.mtime!) ?? 0,
    },
  };
}
