/**
 * Property-based tests of the archive verifier (fast-check):
 * - random mutations of a good archive (of the gzip bytes and of the tar bytes under a valid gzip)
 *   never crash or hang it, and whenever it still says "verified", GNU tar — an independent
 *   reader — lists only regular files and directories with clean relative names;
 * - random archives built from hostile parts are never verified when any part is forbidden, and
 *   always verified when every part is a clean file or directory.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { inspectArchive } from '../../../src/backup/archive.js';
import { dir, entry, file, gnuLong, gz, pax, tar } from '../../support/archives.js';

const LIMITS = { maxUncompressedBytes: 16 * 1024 * 1024, maxEntries: 10_000 };

async function* once(buf: Buffer, chunk = 4096): AsyncGenerator<Buffer> {
  for (let off = 0; off < buf.length; off += chunk) yield buf.subarray(off, off + chunk);
}

/** Inspect with a hard deadline: a hang is a failure, not a stuck test run. */
async function inspectBounded(buf: Buffer) {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('verifier did not finish within 10 s (hang)')), 10_000);
  });
  try {
    return await Promise.race([inspectArchive(once(buf), LIMITS), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** GNU tar's own listing of a plain tar: [type char, name] per entry, or null if it refuses it. */
function gnuList(plainTar: Buffer): Array<[string, string]> | null {
  const r = spawnSync('tar', ['--numeric-owner', '-tvf', '-'], { input: plainTar, encoding: 'latin1', timeout: 20_000 });
  if (r.status !== 0) return null;
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      // drwxr-xr-x 0/0  0 2023-11-14 22:13 name
      const m = /^(\S)\S*\s+\S+\s+\S+\s+\S+\s+\S+\s(.*)$/.exec(line);
      return [m?.[1] ?? '?', m?.[2] ?? line] as [string, string];
    });
}

const BASE_TAR = tar(
  dir('store-data/'),
  file('store-data/a.txt', 'hello world\n'),
  pax({ path: `store-data/${'long/'.repeat(30)}f` }),
  file('placeholder', 'x'.repeat(700)),
  gnuLong(`store-data/${'gnu/'.repeat(40)}g`),
  file('short', 'gnu long name body'),
  file('store-data/empty', ''),
);
const BASE_GZ = gz(BASE_TAR);

type Mutation = { at: number; kind: 'flip' | 'set' | 'cut' | 'insert'; value: number };
const mutation = (size: number) =>
  fc.record({
    at: fc.nat({ max: size - 1 }),
    kind: fc.constantFrom<Mutation['kind']>('flip', 'set', 'cut', 'insert'),
    value: fc.nat({ max: 255 }),
  });

function mutate(buf: Buffer, ms: Mutation[]): Buffer {
  let out = Buffer.from(buf);
  for (const m of ms) {
    const at = Math.min(m.at, Math.max(0, out.length - 1));
    if (m.kind === 'flip') out[at] = (out[at] ?? 0) ^ (1 << (m.value % 8));
    else if (m.kind === 'set') out[at] = m.value;
    else if (m.kind === 'cut') out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), Buffer.from([m.value]), out.subarray(at)]);
  }
  return out;
}

function cleanName(name: string): boolean {
  return !name.startsWith('/') && !name.split('/').includes('..');
}

describe('verify-backup properties', () => {
  it('the base archive is accepted (so mutations start from a good one)', async () => {
    const r = await inspectBounded(BASE_GZ);
    expect(r.problems).toEqual([]);
    expect(r.entries).toBe(5);
  });

  it('mutations of the gzip bytes never crash or hang, and never pass unless still sound', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation(BASE_GZ.length), { minLength: 1, maxLength: 4 }), async (ms) => {
        const data = mutate(BASE_GZ, ms);
        const r = await inspectBounded(data);
        if (r.problems.length === 0) {
          // Only a mutation zlib cannot see (e.g. in the gzip header's mtime) may pass; the tar
          // inside must then still be exactly the good one.
          const { gunzipSync } = await import('node:zlib');
          expect(gunzipSync(data).equals(BASE_TAR)).toBe(true);
        }
      }),
      { numRuns: Number(process.env.SG_PROP_RUNS ?? 300) },
    );
  });

  it('mutations of the tar bytes under a valid gzip never crash or hang, and what passes GNU tar agrees is safe', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation(BASE_TAR.length), { minLength: 1, maxLength: 6 }), async (ms) => {
        const plain = mutate(BASE_TAR, ms);
        const r = await inspectBounded(gz(plain));
        expect(Array.isArray(r.problems)).toBe(true);
        if (r.problems.length === 0) {
          expect(r.entries).toBeGreaterThan(0);
          const listed = gnuList(plain);
          if (listed) {
            for (const [type, name] of listed) {
              expect(['-', 'd']).toContain(type);
              expect(cleanName(name)).toBe(true);
            }
          }
        }
      }),
      { numRuns: Number(process.env.SG_PROP_RUNS ?? 400) },
    );
  });

  // Parts of an archive: [bytes, is it acceptable?]
  const part = fc.oneof(
    fc.constantFrom<[Buffer, boolean]>(
      [file('ok/file', 'x'), true],
      [dir('ok/dir/'), true],
      [file('./dot/file', ''), true],
      [entry({ name: 'old', type: '' }, 'x'), true],
      [Buffer.concat([pax({ path: `ok/${'p'.repeat(200)}` }), file('x')]), true],
      [Buffer.concat([gnuLong(`ok/${'g'.repeat(200)}`), file('x')]), true],
      [file('../escape'), false],
      [file('/abs'), false],
      [file('a/../../b'), false],
      [Buffer.concat([pax({ path: '../p' }), file('x')]), false],
      [Buffer.concat([gnuLong('../../g'), file('x')]), false],
      [entry({ name: 's', type: '2', linkname: '/etc' }), false],
      [entry({ name: 'h', type: '1', linkname: 'ok/file' }), false],
      [entry({ name: 'c', type: '3' }), false],
      [entry({ name: 'b', type: '4' }), false],
      [entry({ name: 'f', type: '6' }), false],
      [entry({ name: 'sp', type: 'S', format: 'gnu' }, 'x'), false],
      [Buffer.concat([pax({ 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' }), file('GNUSparseFile.0/x', 'x')]), false],
      [file('a\\..\\b'), false],
      [file('x', 'y', { badChecksum: true }), false],
    ),
    fc
      .string({ minLength: 1, maxLength: 40 })
      // a trailing slash turns a file into a directory (whose body then reads as a bad header)
      .filter((name) => !name.endsWith('/'))
      .map((name): [Buffer, boolean] => {
        const ok =
          !name.startsWith('/') &&
          !/^[A-Za-z]:/.test(name) &&
          !name.includes('\\') &&
          // eslint-disable-next-line no-control-regex
          !/[\x00-\x1f\x7f]/.test(name) &&
          !name.split('/').includes('..');
        return [file(name, 'z'), ok];
      }),
  );

  it('generated archives: verified exactly when every part is acceptable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 8 }), async (parts) => {
        const r = await inspectBounded(gz(tar(...parts.map(([b]) => b))));
        const allOk = parts.every(([, ok]) => ok);
        if (allOk) expect(r.problems).toEqual([]);
        else expect(r.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: Number(process.env.SG_PROP_RUNS ?? 300) },
    );
  });
});
