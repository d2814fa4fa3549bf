/**
 * Extension headers (issue 11; the walk that holds them is ./tar-walker.ts): one PAX 'x' header or
 * one GNU 'L' long name per entry, with records we understand (a PAX size must equal the header's
 * size); global PAX, 'K', sparse and the rest are refused. PAX uid, gid and mtime override the
 * header's, as GNU tar, Python and Go (and the Docker daemon, which extracts restore's staged
 * stream) apply them. A PAX `mode` must equal the header's permission bits (checked by the walk at
 * the entry, with the size).
 */
import { paxRecordProblems, parsePaxRecords } from './entry-rules.js';
import { decode, shownBytes } from './tar-header.js';
import type { BackupProblem } from './types.js';

/** A PAX body larger than this is not one any writer we accept emits (a 4 KiB path and a few times). */
export const MAX_PAX_BODY = 64 * 1024;
/** A GNU long name body: a path of at most 4096 bytes and its NUL, rounded up generously. */
export const MAX_LONGNAME_BODY = 8 * 1024;

export interface PendingExtension {
  /** how many extension headers precede the entry (more than one is refused) */
  count: number;
  path?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: { sec: number; nsec: number };
  /** a PAX `mode` record (permission bits), which must equal the header's */
  mode?: number;
  /** the extension could not be read: the entry's name or size is unknown */
  broken: boolean;
}

/** `[-]seconds[.fraction]` (shape checked by ./entry-rules.ts) as whole seconds rounded down and nanoseconds. */
export function paxTime(value: string): { sec: number; nsec: number } {
  const negative = value.startsWith('-');
  const [whole, frac = ''] = value.replace(/^-/, '').split('.');
  const abs = Number(whole);
  const nsec = Number(frac.padEnd(9, '0').slice(0, 9));
  if (!negative) return { sec: abs, nsec };
  return nsec === 0 ? { sec: abs === 0 ? 0 : -abs, nsec: 0 } : { sec: -abs - 1, nsec: 1_000_000_000 - nsec };
}

/**
 * The checks of an extension header itself (type L only with GNU magic, a body within its cap and
 * not empty); true when its body can be read.
 */
export function extensionHeaderOk(
  flag: 'x' | 'L',
  gnu: boolean,
  size: number,
  shown: string,
  report: (p: BackupProblem) => void,
): boolean {
  const cap = flag === 'x' ? MAX_PAX_BODY : MAX_LONGNAME_BODY;
  let ok = true;
  if (flag === 'L' && !gnu) {
    report({
      code: 'unsupported-header',
      message: 'a GNU long name (type L) in a header without GNU magic; readers disagree on it',
      entry: shown,
    });
    ok = false;
  }
  if (size > cap) {
    report({
      code: 'unsupported-header',
      message:
        `${flag === 'x' ? 'PAX extended header' : 'GNU long name'} of ${size} bytes is larger than ` +
        `${cap}; the entry after it could be read two ways`,
    });
    ok = false;
  }
  if (size === 0) {
    report({
      code: 'unsupported-header',
      message: `an empty ${flag === 'x' ? 'PAX extended header' : 'GNU long name'}`,
      entry: shown,
    });
    ok = false;
  }
  return ok;
}

/** Read one extension's body (a GNU long name, or PAX records) into `pending`; what cannot be read marks it broken. */
export function readExtension(
  type: 'x' | 'L',
  body: Buffer,
  pending: PendingExtension,
  report: (p: BackupProblem) => void,
): void {
  if (type === 'L') {
    const nul = body.indexOf(0);
    if (nul === -1 || !body.subarray(nul).every((x) => x === 0)) {
      report({
        code: 'unsupported-header',
        message:
          nul === -1
            ? 'a GNU long name without its terminating NUL'
            : 'a GNU long name with bytes after its terminating NUL; readers disagree on it',
      });
      pending.broken = true;
      return;
    }
    const name = decode(body.subarray(0, nul));
    if (name === null) {
      report({
        code: 'bad-encoding',
        message: 'the GNU long name is not valid UTF-8',
        entry: shownBytes(body.subarray(0, nul)),
      });
      pending.broken = true;
      return;
    }
    pending.path = name;
    return;
  }
  const parsed = parsePaxRecords(body);
  if (parsed.kind === 'malformed') {
    report({
      code: parsed.code,
      message: `malformed PAX extended header: ${parsed.reason}`,
      ...(parsed.entry ? { entry: parsed.entry } : {}),
    });
    pending.broken = true;
    return;
  }
  const problems = paxRecordProblems(parsed.records);
  for (const p of problems) report(p);
  if (problems.length) pending.broken = true;
  const path = parsed.records.get('path');
  if (path !== undefined) pending.path = path;
  const size = parsed.records.get('size');
  if (size !== undefined && /^\d+$/.test(size)) pending.size = Number(size);
  if (problems.length) return;
  // Shapes and ranges were checked above (paxRecordProblems): these apply as GNU tar, Python and Go apply them.
  const uid = parsed.records.get('uid');
  if (uid !== undefined) pending.uid = Number(uid);
  const gid = parsed.records.get('gid');
  if (gid !== undefined) pending.gid = Number(gid);
  const mtime = parsed.records.get('mtime');
  if (mtime !== undefined) pending.mtime = paxTime(mtime);
  const paxMode = parsed.records.get('mode');
  if (paxMode !== undefined) pending.mode = parseInt(paxMode, 8) & 0o7777;
}
