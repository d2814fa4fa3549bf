/**
 * The rules every archive entry must pass (DESIGN §5). The tar package lists entries without
 * sanitising their paths (only extraction does that), so these rules are ours. Pure functions.
 */
import type { BackupProblem } from './types.js';

/** Entry types an archive may contain. Everything else is refused, naming the type. */
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'Directory']);

/**
 * Why each refused type is refused. ContiguousFile ('7') is a regular file to GNU tar but
 * "reserved" to POSIX and unknown to some readers; no writer we accept (docker cp, GNU tar,
 * stateguard snapshot) emits it, so it is refused rather than guessed at.
 */
const TYPE_REASON: Record<string, string> = {
  SymbolicLink: 'a symbolic link (could point anywhere on restore)',
  Link: 'a hard link (could alias a file outside the restored tree)',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO (named pipe)',
  SparseFile: 'a GNU sparse file (old-style type S)',
  ContiguousFile: "a contiguous file (type '7'; readers disagree on it)",
  GNUDumpDir: 'a GNU incremental dump directory',
  ContinuationFile: 'a multi-volume continuation',
  TapeVolumeHeader: 'a tape volume header',
  SolarisACL: 'a Solaris ACL',
  Inode: 'an inode-only record',
  Unsupported: 'an unknown type',
};

export function checkEntryType(type: string, typeKey: string | undefined): string | null {
  if (ALLOWED_TYPES.has(type)) return null;
  const flag = typeKey !== undefined ? ` (type flag ${JSON.stringify(typeKey)})` : '';
  return `entry is ${TYPE_REASON[type] ?? `of type ${type}`}${flag}; only regular files and directories are accepted`;
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
  // eslint-disable-next-line no-control-regex
  else if (/[\x01-\x1f\x7f]/.test(p)) out.push('path contains a control character');
  if (p.startsWith('/')) out.push('absolute path');
  if (/^[A-Za-z]:/.test(p)) out.push('path starts with a drive letter');
  if (p.includes('\\')) out.push('path contains a backslash (a separator on Windows)');
  if (p.split('/').includes('..')) out.push("path has a '..' segment");
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) out.push(`path is longer than ${MAX_PATH_BYTES} bytes`);
  return out;
}

/** A path made safe to print in a message: control characters escaped, long ones shortened. */
export function printablePath(p: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = p.replace(/[\x00-\x1f\x7f\\]/g, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return escaped.length > 300 ? `${escaped.slice(0, 150)}…${escaped.slice(-100)}` : escaped;
}

export type PaxParse =
  | { kind: 'not-pax' }
  | { kind: 'pax'; records: Map<string, string> }
  | { kind: 'malformed'; reason: string };

/**
 * Parse PAX extended-header records strictly (`<len> <key>=<value>\n`, len counting the whole
 * record in bytes). The tar package silently drops a record whose length does not add up (a value
 * containing a newline, say) and falls back to the plain header's name, while other readers honour
 * or reject it: such a header could be read two ways, so we refuse it instead.
 *
 * The parser's `meta` event does not say whether the text came from a PAX header or a GNU long
 * name, so text is treated as PAX when it starts like a record (digits then a space).
 */
export function parsePaxStrict(text: string): PaxParse {
  if (!/^\d+ /.test(text)) return { kind: 'not-pax' };
  const buf = Buffer.from(text, 'utf8');
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < buf.length) {
    // Trailing NUL padding inside the body is tolerated by every reader.
    if (buf[pos] === 0 && buf.subarray(pos).every((b) => b === 0)) break;
    const space = buf.indexOf(0x20, pos);
    const digits = space === -1 ? '' : buf.toString('latin1', pos, space);
    if (!/^[1-9]\d{0,9}$/.test(digits)) return { kind: 'malformed', reason: `bad PAX record length at byte ${pos}` };
    const len = Number(digits);
    const end = pos + len;
    if (end > buf.length || buf[end - 1] !== 0x0a) {
      return { kind: 'malformed', reason: `PAX record at byte ${pos} does not end where its length says` };
    }
    const body = buf.toString('utf8', space + 1, end - 1);
    const eq = body.indexOf('=');
    if (eq <= 0) return { kind: 'malformed', reason: `PAX record at byte ${pos} has no key=value` };
    records.set(body.slice(0, eq), body.slice(eq + 1));
    pos = end;
  }
  return { kind: 'pax', records };
}

/** Problems a set of PAX records brings by itself (before it is applied to an entry). */
export function paxRecordProblems(records: Map<string, string>): BackupProblem[] {
  const out: BackupProblem[] = [];
  for (const [key, value] of records) {
    if (key.startsWith('GNU.sparse.')) {
      out.push({ code: 'forbidden-entry-type', message: `entry is a GNU sparse file (PAX record ${key}); only regular files and directories are accepted` });
      // one sparse finding per header is enough
      break;
    }
    if (key === 'size' && !/^\d+$/.test(value)) {
      out.push({ code: 'unsupported-header', message: `PAX size record ${JSON.stringify(value.slice(0, 40))} is not a number` });
    }
    if ((key === 'path' || key === 'linkpath') && value.includes('\0')) {
      out.push({ code: 'unsafe-path', message: `PAX ${key} record contains a NUL byte`, entry: printablePath(value) });
    }
  }
  return out;
}
