/**
 * The rules every archive entry must pass (docs/architecture.md §5). The tar package lists entries without
 * sanitising their paths (only extraction does that), so these rules are ours. Pure functions.
 */
import type { BackupProblem } from './types.js';

/**
 * Why each refused type flag is refused. Only '0', NUL (regular file) and '5' (directory) are
 * accepted. ContiguousFile ('7') is a regular file to GNU tar but "reserved" to POSIX and unknown
 * to some readers; no writer we accept (docker cp, GNU tar, stateguard snapshot) emits it, so it is
 * refused rather than guessed at.
 */
const TYPE_REASON: Record<string, string> = {
  '1': 'a hard link (could alias a file outside the restored tree)',
  '2': 'a symbolic link (could point anywhere on restore)',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO (named pipe)',
  '7': "a contiguous file (type '7'; readers disagree on it)",
  S: 'a GNU sparse file (old-style type S)',
  D: 'a GNU incremental dump directory',
  M: 'a multi-volume continuation',
  V: 'a tape volume header',
  N: 'an old GNU long-name record',
  A: 'a Solaris ACL',
  I: 'an inode-only record',
  X: 'a Solaris extended header',
};

/** Why an entry's type flag is refused, or null for a regular file or directory. */
export function checkTypeFlag(flag: string): string | null {
  if (flag === '0' || flag === '\0' || flag === '5') return null;
  const shown = JSON.stringify(flag);
  return (
    `entry is ${TYPE_REASON[flag] ?? 'of an unknown type'} (type flag ` +
    `${shown}); only regular files and directories are accepted`
  );
}

const MAX_PATH_BYTES = 4096;

/**
 * Every reason a path (after PAX/GNU long names are applied) is unsafe, or [] when it is a clean
 * relative path. `.` segments and a trailing `/` are allowed (GNU tar writes `./x`, directories
 * end in `/`).
 */
export function pathProblems(p: string): string[] {
  const out: string[] = [];
  if (p === '') return ['empty path'];
  if (p.includes('\0')) out.push('path contains a NUL byte');
  else if (/[\x01-\x1f\x7f]/.test(p)) out.push('path contains a control character');
  if (p.startsWith('/')) out.push('absolute path');
  if (/^[A-Za-z]:/.test(p)) out.push('path starts with a drive letter');
  if (p.includes('\\')) out.push('path contains a backslash (a separator on Windows)');
  if (p.split('/').includes('..')) out.push("path has a '..' segment");
  return out;
}

/** NAME_MAX of every Linux filesystem a volume lives on. */
export const MAX_SEGMENT_BYTES = 255;

/**
 * Why a path cannot be created on a filesystem (`name-too-long`), or []: a segment over NAME_MAX
 * (255 bytes) or the whole path over PATH_MAX (4096 bytes). Every reader lists such an entry and
 * the extraction fails with ENAMETOOLONG, so verify-backup refuses it (docs/architecture.md §5).
 */
export function nameLengthProblems(p: string): string[] {
  const out: string[] = [];
  const long = p.split('/').find((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES);
  if (long !== undefined) {
    out.push(
      `a name segment is ${Buffer.byteLength(long)} bytes (${printablePath(long.slice(0, 40))}…); filesystems take ` +
        `at most ${MAX_SEGMENT_BYTES}, so it cannot be restored`,
    );
  }
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) {
    out.push(`path is longer than ${MAX_PATH_BYTES} bytes (PATH_MAX), so it cannot be restored`);
  }
  return out;
}

/** A path made safe to print in a message: control characters escaped, long ones shortened. */
export function printablePath(p: string): string {
  const escaped = p.replace(/[\x00-\x1f\x7f\\]/g, (c) =>
    c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return escaped.length > 300 ? `${escaped.slice(0, 150)}…${escaped.slice(-100)}` : escaped;
}

export type PaxParse =
  | { kind: 'pax'; records: Map<string, string> }
  | { kind: 'malformed'; code: 'unsupported-header' | 'bad-encoding'; reason: string; entry?: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parse a PAX extended header body strictly (`<len> <key>=<value>\n`, len counting the whole
 * record in bytes) from its raw bytes. A record whose length does not add up (a value containing a
 * newline, say) is dropped by some readers and honoured by others, a key given twice is resolved
 * differently, and keys and values must be UTF-8 (hdrcharset is refused): such a header could be
 * read two ways, so it is malformed here, and so are bytes after the last record (busybox refuses
 * them where GNU tar and Python skip them).
 */
export function parsePaxRecords(buf: Buffer): PaxParse {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) {
      // Found by the differential test: busybox tar refuses a PAX body whose size covers NUL bytes
      // after the last record (GNU tar and Python skip them). No writer emits that: refused.
      return {
        kind: 'malformed',
        code: 'unsupported-header',
        reason: `the PAX header's size covers ${buf.length - pos} bytes after its last record; readers disagree on it`,
      };
    }
    const space = buf.indexOf(0x20, pos);
    const digits = space === -1 ? '' : buf.toString('latin1', pos, space);
    if (!/^[1-9]\d{0,9}$/.test(digits))
      return { kind: 'malformed', code: 'unsupported-header', reason: `bad PAX record length at byte ${pos}` };
    const end = pos + Number(digits);
    if (end > buf.length || buf[end - 1] !== 0x0a) {
      return {
        kind: 'malformed',
        code: 'unsupported-header',
        reason: `PAX record at byte ${pos} does not end where its length says`,
      };
    }
    const eq = buf.indexOf(0x3d, space + 1);
    if (eq === -1 || eq >= end - 1 || eq === space + 1) {
      return { kind: 'malformed', code: 'unsupported-header', reason: `PAX record at byte ${pos} has no key=value` };
    }
    let key: string;
    let value: string;
    try {
      key = utf8.decode(buf.subarray(space + 1, eq));
      value = utf8.decode(buf.subarray(eq + 1, end - 1));
    } catch {
      const rawKey = buf.toString('latin1', space + 1, eq);
      return {
        kind: 'malformed',
        code: 'bad-encoding',
        reason: `PAX record ${JSON.stringify(printablePath(rawKey))} is not valid UTF-8`,
        entry: printablePath(
          buf.toString('latin1', eq + 1, end - 1).replace(/[\x80-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`),
        ),
      };
    }
    if (records.has(key)) {
      return {
        kind: 'malformed',
        code: 'unsupported-header',
        reason: `PAX record ${JSON.stringify(printablePath(key))} appears twice; readers differ in which one wins`,
      };
    }
    records.set(key, value);
    pos = end;
  }
  return { kind: 'pax', records };
}

/**
 * PAX records we understand: the name, the size (which must equal the header's) and metadata that
 * changes no path. Anything else is refused — linkpath (no links are accepted), hdrcharset (changes
 * how names are decoded), xattrs (a capability or ACL set on restore), GNU.sparse.* (a sparse file)
 * and keys we do not know, since readers differ in what they do with them.
 */
const PAX_KEYS: Record<string, RegExp> = {
  path: /^[^]+$/,
  size: /^\d{1,15}$/,
  mtime: /^-?\d{1,20}(\.\d{1,9})?$/,
  atime: /^-?\d{1,20}(\.\d{1,9})?$/,
  ctime: /^-?\d{1,20}(\.\d{1,9})?$/,
  uid: /^\d{1,15}$/,
  gid: /^\d{1,15}$/,
  uname: /^[^]*$/,
  gname: /^[^]*$/,
  // Not a POSIX keyword; GNU tar, Python and Go ignore it, node-tar applies it: the walker accepts
  // one only when it says what the header says (./tar-walker.ts, docs/architecture.md §5).
  mode: /^[0-7]{1,7}$/,
};

/** The largest uid/gid restored as given: uid_t is 32 bits and 2^32-1 is chown's "leave as is". */
export const MAX_OWNER_ID = 2 ** 32 - 2;
/** The largest |mtime| in seconds kept exactly (a double's integer range). */
export const MAX_ABS_MTIME = Number.MAX_SAFE_INTEGER;
/**
 * The latest mtime restore can set (2262-04-11, Go's time limit): the Docker daemon's extraction
 * writes a later one as 1970, and no helper sets it back reliably (docs/architecture.md §12).
 */
export const MAX_MTIME = 9_223_372_036;

/** Why a well-formed PAX uid/gid/mtime is not one every reader restores alike, or null. */
function paxRangeProblem(key: string, value: string): BackupProblem | null {
  if ((key === 'uid' || key === 'gid') && Number(value) > MAX_OWNER_ID) {
    return {
      code: 'unsupported-header',
      message:
        `PAX ${key} record ${value} is past ${MAX_OWNER_ID} ` +
        `(uid_t is 32 bits; readers and kernels disagree on it)`,
    };
  }
  if (key === 'mtime' && Math.abs(Number(value.split('.')[0])) > MAX_ABS_MTIME) {
    return {
      code: 'unsupported-header',
      message: `PAX mtime record ${JSON.stringify(value.slice(0, 40))} is out of range (readers overflow differently)`,
    };
  }
  if (key === 'mtime' && Number(value.split('.')[0]) > MAX_MTIME) {
    return {
      code: 'unsupported-header',
      message: `PAX mtime record ${JSON.stringify(value.slice(0, 40))} is after 2262-04-11, which restore cannot set`,
    };
  }
  if (key === 'mtime' && /^-\d+\.\d*[1-9]/.test(value)) {
    // Found by the fidelity test: GNU tar reads -1.25 as -0.75, Python and Go as -1.25.
    return {
      code: 'ambiguous-header',
      message:
        `PAX mtime record ${JSON.stringify(value.slice(0, 40))} is negative with a fraction; ` +
        `readers disagree on it`,
    };
  }
  return null;
}

/** Problems a set of PAX records brings by itself (before it is applied to an entry). */
export function paxRecordProblems(records: Map<string, string>): BackupProblem[] {
  const out: BackupProblem[] = [];
  let sparse = false;
  for (const [key, value] of records) {
    if (key.startsWith('GNU.sparse.')) {
      // one sparse finding per header is enough
      if (!sparse)
        out.push({
          code: 'forbidden-entry-type',
          message: `entry is a GNU sparse file (PAX record ${key}); only regular files and directories are accepted`,
        });
      sparse = true;
      continue;
    }
    const shape = Object.hasOwn(PAX_KEYS, key) ? PAX_KEYS[key] : undefined;
    if (!shape) {
      out.push({
        code: 'unsupported-header',
        message:
          `PAX record ${JSON.stringify(printablePath(key))} is not one stateguard accepts (only ` +
          `${Object.keys(PAX_KEYS).join(', ')}); readers differ in what they do with it`,
      });
    } else if (value === '' && (key === 'path' || key === 'size')) {
      out.push({
        code: 'unsupported-header',
        message: `an empty PAX ${key} record (readers differ: "unset" or an empty value)`,
      });
    } else if (key === 'size' && !shape.test(value)) {
      out.push({
        code: 'unsupported-header',
        message: `PAX size record ${JSON.stringify(value.slice(0, 40))} is not a number`,
      });
    } else if (key === 'path' && value.includes('\0')) {
      out.push({ code: 'unsafe-path', message: 'PAX path record contains a NUL byte', entry: printablePath(value) });
    } else if (!shape.test(value)) {
      out.push({
        code: 'unsupported-header',
        message: `PAX ${key} record ${JSON.stringify(printablePath(value.slice(0, 40)))} is not well-formed`,
      });
    } else {
      const range = paxRangeProblem(key, value);
      if (range) out.push(range);
    }
  }
  return out;
}
