/**
 * Listings of a tar archive by independent readers — GNU tar, Python's tarfile and (when
 * installed) busybox tar — and by our walker, in one shape, so tests can require that whatever
 * verify-backup accepts, every reader sees exactly the same entries (names, types, sizes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { inspectArchive, type ArchiveInspection, type Layout } from '../../src/backup/archive.js';

/** [name without trailing '/', 'file' | 'directory' | 'other:<flag>', size] */
export type Listed = [string, string, number];

const TIMEOUT = 20_000;

/** Names compare without a trailing '/': Python strips it from directories, GNU tar keeps it as stored. */
function norm(name: string): string {
  return name.replace(/\/+$/, '');
}

function typeOf(modeChar: string): string {
  if (modeChar === '-') return 'file';
  if (modeChar === 'd') return 'directory';
  return `other:${modeChar}`;
}

/** `tar -tv` style lines (GNU tar and busybox): `drwxr-xr-x 0/0  0 2023-11-14 22:13[:ss] name`. */
function parseVerbose(stdout: string): Listed[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S)\S*\s+\S+\s+(\d+)\s+\d{4}-\d\d-\d\d\s+\d\d:\d\d(?::\d\d)?\s(.*)$/.exec(line);
      if (!m) return [`<unparsed: ${line}>`, '?', -1];
      return [norm(m[3]!), typeOf(m[1]!), Number(m[2])];
    });
}

/** GNU tar's listing of a tar or tar.gz, or null when it refuses the archive (non-zero exit). */
export function gnuTarList(archive: Buffer): Listed[] | null {
  const gzipped = archive[0] === 0x1f && archive[1] === 0x8b;
  const r = spawnSync('tar', ['--numeric-owner', '--quoting-style=literal', gzipped ? '-tvzf' : '-tvf', '-'], {
    input: archive,
    env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' },
    timeout: TIMEOUT,
  });
  if (r.status !== 0) return null;
  return parseVerbose(r.stdout.toString('utf8'));
}

/** busybox tar's listing, or null when it refuses the archive; undefined when busybox is not installed. */
export function busyboxList(archive: Buffer): Listed[] | null | undefined {
  if (!existsSync('/usr/bin/busybox') && !existsSync('/bin/busybox')) return undefined;
  const gzipped = archive[0] === 0x1f && archive[1] === 0x8b;
  const r = spawnSync('busybox', ['tar', gzipped ? '-tvzf' : '-tvf', '-'], {
    input: archive,
    env: { ...process.env, TZ: 'UTC' },
    timeout: TIMEOUT,
  });
  if (r.status !== 0 || r.stderr.length > 0) return null;
  return parseVerbose(r.stdout.toString('utf8'));
}

const PY = `
import io, json, sys, tarfile
data = sys.stdin.buffer.read()
out = []
with tarfile.open(fileobj=io.BytesIO(data), mode='r:*') as t:
    for m in t:
        kind = 'file' if m.isfile() else 'directory' if m.isdir() else 'other:' + m.type.decode('latin1')
        out.append([m.name, kind, m.size])
sys.stdout.write(json.dumps(out))
`;

/** Python tarfile's listing, or null when it refuses the archive. */
export function pythonList(archive: Buffer): Listed[] | null {
  const r = spawnSync('python3', ['-c', PY], { input: archive, timeout: TIMEOUT });
  if (r.status !== 0) return null;
  return (JSON.parse(r.stdout.toString('utf8')) as Listed[]).map(([n, t, s]) => [norm(n), t, s]);
}

/** Our verdict and our walker's listing of a .tar.gz. */
export async function ourList(
  gzipped: Buffer,
  layout: Layout | null,
): Promise<{ inspection: ArchiveInspection; listed: Listed[] }> {
  const listed: Listed[] = [];
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let off = 0; off < gzipped.length; off += 4096) yield gzipped.subarray(off, off + 4096);
  }
  const inspection = await inspectArchive(
    chunks(),
    { maxUncompressedBytes: 64 * 1024 * 1024, maxEntries: 100_000 },
    {
      layout,
      onEntry: (e) => listed.push([norm(e.path), e.type, e.size]),
    },
  );
  return { inspection, listed };
}

/** Every independent reader's listing of an archive, by reader name (busybox only when installed). */
export function readerListings(archive: Buffer): Record<string, Listed[] | null> {
  const out: Record<string, Listed[] | null> = {
    'GNU tar': gnuTarList(archive),
    'Python tarfile': pythonList(archive),
  };
  const bb = busyboxList(archive);
  if (bb !== undefined) out['busybox tar'] = bb;
  return out;
}
