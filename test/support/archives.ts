/**
 * Hostile (and good) tar/gzip archives built by test code, byte by byte, so no binary blob is
 * committed and every case says exactly what it contains. Headers are written by hand (not by a
 * tar library) so tests can produce what no well-behaved writer would: `..` paths, bad checksums,
 * devices, sparse markers, PAX/GNU tricks.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ModuleDecl } from '../../src/model/module.js';

/** A ModuleDecl for backup tests (no module.yaml on disk needed). */
export function moduleDecl(
  name: string,
  backup?: { refModules: string[]; maxAgeHours: number },
  volumes: { volume: string; path: string }[] = [],
  project = 'p',
): ModuleDecl {
  return {
    name,
    class: backup ? 'stateful' : 'stateless',
    runtime: 'compose',
    compose: { file: 'compose.yaml', path: '/x/compose.yaml', display: 'compose.yaml', project, service: name },
    expectedState: 'running',
    timeoutSeconds: 300,
    backup,
    volumes,
    ephemeralPaths: [],
    dependsOnHealthy: [],
    file: `modules/${name}/module.yaml`,
    absFile: `/x/modules/${name}/module.yaml`,
  } as unknown as ModuleDecl;
}

export interface HeaderSpec {
  name: string;
  /** type flag character: '0' file, '' old file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' FIFO, '7' contiguous, 'S' sparse, 'x' PAX, 'g' global PAX, 'L' GNU long name, 'K' GNU long link */
  type?: string;
  size?: number;
  mode?: number;
  linkname?: string;
  /** ustar prefix field (155 bytes) */
  prefix?: string;
  mtime?: number;
  uid?: number;
  gid?: number;
  /** 'ustar' (POSIX, default), 'gnu' (GNU magic), 'v7' (no magic) */
  format?: 'ustar' | 'gnu' | 'v7';
  /** corrupt the stored checksum */
  badChecksum?: boolean;
  devmajor?: number;
  devminor?: number;
  /** raw bytes of the name field (overrides `name` in the header; `name` still names the case) */
  nameBytes?: Buffer;
  /** raw bytes of the prefix field (bytes 345..500), written whatever the format */
  prefixBytes?: Buffer;
  /** raw 8 bytes of magic + version (bytes 257..265), overriding `format`'s */
  magic?: Buffer | string;
  /** raw content of numeric fields, NUL-padded to the field's width (e.g. a sign, junk, base-256) */
  raw?: Partial<Record<NumericField, Buffer | string>>;
  /** the checksum field's 8 bytes, written from the correct sum in a format of the test's choosing */
  rawChecksum?: (sum: number) => string;
}

export type NumericField = 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'devmajor' | 'devminor';
const FIELD_AT: Record<NumericField, [number, number]> = {
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  devmajor: [329, 8],
  devminor: [337, 8],
};

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte header block. */
export function tarHeader(h: HeaderSpec): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  b.write(octal(h.mode ?? (h.type === '5' ? 0o755 : 0o644), 8), 100, 'ascii');
  b.write(octal(h.uid ?? 0, 8), 108, 'ascii');
  b.write(octal(h.gid ?? 0, 8), 116, 'ascii');
  b.write(octal(h.size ?? 0, 12), 124, 'ascii');
  b.write(octal(h.mtime ?? 1_700_000_000, 12), 136, 'ascii');
  b.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  const format = h.format ?? 'ustar';
  if (format === 'ustar') b.write('ustar\u000000', 257, 'latin1');
  if (format === 'gnu') b.write('ustar  \u0000', 257, 'latin1');
  if (format !== 'v7') {
    b.write('root', 265, 'ascii');
    b.write('root', 297, 'ascii');
    b.write(octal(h.devmajor ?? 0, 8), 329, 'ascii');
    b.write(octal(h.devminor ?? 0, 8), 337, 'ascii');
    if (h.prefix) b.write(h.prefix, 345, 155, 'utf8');
  }
  if (h.nameBytes) {
    b.fill(0, 0, 100);
    h.nameBytes.copy(b, 0, 0, 100);
  }
  if (h.prefixBytes) {
    b.fill(0, 345, 500);
    h.prefixBytes.copy(b, 345, 0, 155);
  }
  if (h.magic !== undefined) {
    b.fill(0, 257, 265);
    (typeof h.magic === 'string' ? Buffer.from(h.magic, 'latin1') : h.magic).copy(b, 257, 0, 8);
  }
  for (const [field, value] of Object.entries(h.raw ?? {}) as [NumericField, Buffer | string][]) {
    const [at, width] = FIELD_AT[field];
    b.fill(0, at, at + width);
    (typeof value === 'string' ? Buffer.from(value, 'latin1') : value).copy(b, at, 0, width);
  }
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  if (h.badChecksum) sum += 1;
  if (h.rawChecksum !== undefined) {
    b.fill(0, 148, 156);
    Buffer.from(h.rawChecksum(sum), 'latin1').copy(b, 148, 0, 8);
  } else {
    b.write(octal(sum, 7) + ' ', 148, 'ascii');
  }
  return b;
}

function pad(body: Buffer): Buffer {
  const rem = body.length % 512;
  return rem === 0 ? body : Buffer.concat([body, Buffer.alloc(512 - rem)]);
}

/** A header plus its body (padded to 512). `size` defaults to the body length. */
export function entry(h: HeaderSpec, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([tarHeader({ size: data.length, ...h }), pad(data)]);
}

export const file = (name: string, body: Buffer | string = 'data\n', extra: Partial<HeaderSpec> = {}): Buffer =>
  entry({ name, type: '0', ...extra }, body);
export const dir = (name: string, extra: Partial<HeaderSpec> = {}): Buffer => entry({ name, type: '5', ...extra });

/** One PAX record, with its self-counting length. */
export function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(rest) + 1;
  while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
  return `${len}${rest}`;
}

/** One PAX record from raw value bytes (e.g. not valid UTF-8), with its self-counting length. */
export function paxRecordBytes(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

/** A PAX extended header ('x', or 'g' when global) from records or raw body text/bytes. */
export function pax(records: Record<string, string> | string | Buffer, global = false): Buffer {
  const body =
    typeof records === 'string' || Buffer.isBuffer(records)
      ? records
      : Object.entries(records)
          .map(([k, v]) => paxRecord(k, v))
          .join('');
  return entry({ name: global ? 'pax_global_header' : 'PaxHeaders/x', type: global ? 'g' : 'x' }, body);
}

/** A GNU long name ('L') or long link ('K') header carrying `longName` (a string, or raw bytes). */
export function gnuLong(longName: string | Buffer, kind: 'L' | 'K' = 'L'): Buffer {
  const body = Buffer.isBuffer(longName) ? Buffer.concat([longName, Buffer.alloc(1)]) : `${longName}\0`;
  return entry({ name: '././@LongLink', type: kind, format: 'gnu' }, body);
}

/**
 * The node-tar/restorer split of issue 11: a regular-file header whose name ends in `/`, with a
 * body that holds a header of its own. A reader that turns the entry into a directory reads the
 * body as the next header (`decoy`, sized to swallow what follows); a reader that skips the body
 * sees `after` instead.
 */
export function fileWithSlashHidingHeader(name: string, after: Buffer, type: '0' | '' | '5' = '0'): Buffer {
  const decoy = tarHeader({ name: 'store-data/decoy', type: '0', size: 1024 });
  const body = Buffer.concat([decoy, Buffer.alloc(512)]);
  return Buffer.concat([tarHeader({ name, type, size: body.length }), body, after]);
}

export const END = Buffer.alloc(1024);

/** Concatenate entries and the end-of-archive marker, padded to a 10 KiB record like GNU tar. */
export function tar(...entries: Buffer[]): Buffer {
  const body = Buffer.concat([...entries, END]);
  const rem = body.length % 10240;
  return rem === 0 ? body : Buffer.concat([body, Buffer.alloc(10240 - rem)]);
}

export function gz(data: Buffer): Buffer {
  return zlib.gzipSync(data);
}

/** Flip the gzip CRC32 in the trailer (the 8 bytes at the end are CRC32 then ISIZE). */
export function badCrc(gzipped: Buffer): Buffer {
  const out = Buffer.from(gzipped);
  out[out.length - 8] = (out[out.length - 8] ?? 0) ^ 0xff;
  return out;
}

/**
 * A decompression bomb: one tar entry `big` claiming `total` bytes of zeros, gzipped, without ever
 * holding `total` bytes in memory. gzip members concatenate into one valid stream, so one
 * compressed 1 MiB member of zeros (~1 KiB) is repeated.
 */
export function zerosBomb(total: number): Buffer {
  const chunk = Buffer.alloc(1024 * 1024);
  const member = zlib.gzipSync(chunk, { level: 9 });
  const parts: Buffer[] = [zlib.gzipSync(tarHeader({ name: 'store-data/big', type: '0', size: total }))];
  for (let done = 0; done < total; done += chunk.length) parts.push(member);
  return Buffer.concat(parts);
}

/**
 * Many empty files: a tiny archive with a huge entry count. Names are distinct and inside the
 * `store-data` volume, so the entry cap is the only rule they break.
 */
export function entryCountBomb(count: number): Buffer {
  const headers = Array.from({ length: count }, (_, i) => tarHeader({ name: `store-data/${i}`, type: '0', size: 0 }));
  return zlib.gzipSync(Buffer.concat(headers), { level: 9 });
}

/** Build a directory of files under a temp dir and archive it with GNU tar in `format`. */
export function gnuTarArchive(
  files: Record<string, string | Buffer | null>,
  format: 'pax' | 'gnu' | 'ustar' | 'v7',
  topDir = 'store-data',
): Buffer {
  const work = mkdtempSync(path.join(tmpdir(), 'sg-gnutar-'));
  try {
    const root = path.join(work, topDir);
    mkdirSync(root, { recursive: true });
    for (const [rel, content] of Object.entries(files)) {
      const p = path.join(root, rel);
      if (content === null) mkdirSync(p, { recursive: true });
      else {
        mkdirSync(path.dirname(p), { recursive: true });
        writeFileSync(p, content);
      }
    }
    const out = path.join(work, 'out.tar.gz');
    const r = spawnSync('tar', [`--format=${format}`, '-czf', out, '-C', work, topDir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
