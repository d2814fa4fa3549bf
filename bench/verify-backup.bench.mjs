// verify-backup on a ~384 MiB .tar.gz, side by side with GNU `tar -tzf` of the same file in the same
// run (the reference), and the peak RSS of each via `/usr/bin/time -f %M`.
// Targets (issue 4): verify-backup <= 1.1x tar's time, <= 64 MiB peak RSS.
//
// The archive is generated once into $TMPDIR/sg-bench-verify-backup/ and reused (regenerate with
// SG_BENCH_REGENERATE=1). Its content is base64 text of random bytes: gzip shrinks it only ~25%,
// so inflating it is real work, not a stored-block copy. Each run gets a freshly stamped hard link
// so the name passes the max_age check.
//
// Also measured: the same verification as a bare script importing the built bundle's verifier only
// via the CLI entry, and `node dist/cli.js --version` (the CLI's fixed start-up cost), so the part
// that verify-backup itself adds is visible.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(tmpdir(), 'sg-bench-verify-backup');
const source = path.join(dir, 'source.tar.gz');
const TARGET_BYTES = 384 * 1024 * 1024;
const TIME = '/usr/bin/time';

if (!existsSync(TIME)) {
  console.error(`${TIME} is missing: install the Debian 'time' package (apt-get install -y time).`);
  process.exit(1);
}
if (!existsSync(path.join(repo, 'dist', 'cli.js'))) {
  console.error('dist/cli.js is missing: run npm run build first.');
  process.exit(1);
}

function octal(n, width) {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}
function header(name, size) {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write(octal(0o644, 8), 100);
  b.write(octal(0, 8), 108);
  b.write(octal(0, 8), 116);
  b.write(octal(size, 12), 124);
  b.write(octal(1_700_000_000, 12), 136);
  b.write('0', 156);
  b.write('ustar\u000000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(octal(sum, 7) + ' ', 148);
  return b;
}

/** Write a tar.gz of 4 MiB files of base64 noise until the compressed size reaches the target. */
async function generate() {
  mkdirSync(dir, { recursive: true });
  const tmp = `${source}.partial`;
  const out = createWriteStream(tmp);
  const gzip = zlib.createGzip({ level: 1 });
  gzip.pipe(out);
  const FILE = 4 * 1024 * 1024;
  const write = (buf) => (gzip.write(buf) ? Promise.resolve() : new Promise((r) => gzip.once('drain', r)));
  for (let i = 0; ; i++) {
    await write(header(`store-data/obj-${String(i).padStart(5, '0')}.b64`, FILE));
    await write(Buffer.from(randomBytes((FILE / 4) * 3).toString('base64')));
    if (out.bytesWritten >= TARGET_BYTES) break;
  }
  await write(Buffer.alloc(1024));
  gzip.end();
  await new Promise((r) => out.on('close', r));
  renameSync(tmp, source);
}

if (process.env.SG_BENCH_REGENERATE === '1' || !existsSync(source)) {
  console.log(`generating ${(TARGET_BYTES / 1048576).toFixed(0)} MiB archive in ${dir} (once) ...`);
  await generate();
}
// A fresh stamp every run (verify-backup refuses backups older than max_age_hours).
for (const f of readdirSync(dir)) if (f.startsWith('store-')) rmSync(path.join(dir, f));
const stamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
const archive = path.join(dir, `store-${stamp}.tar.gz`);
linkSync(source, archive);
const size = statSync(archive).size;

function timed(cmd, args) {
  const r = spawnSync(TIME, ['-f', '%e %M', cmd, ...args], { cwd: repo, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, kib] = last.split(' ').map(Number);
  return { status: r.status, secs, mib: kib / 1024, stdout: r.stdout, stderr: r.stderr };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const verifyArgs = [
  'dist/cli.js', 'verify-backup', '--root', 'examples/platform', '--module', 'store',
  '--backup-ref', archive, '--backup-root', dir, '--json',
];
// Warm the page cache so both readers see the same (cached) file.
spawnSync('cat', [archive], { stdio: ['ignore', 'ignore', 'ignore'] });

const RUNS = Number(process.env.SG_BENCH_RUNS ?? 3);
const ours = [];
const tars = [];
let oursRss = 0;
let tarRss = 0;
for (let i = 0; i < RUNS; i++) {
  const t = timed('tar', ['-tzf', archive]);
  if (t.status !== 0) throw new Error(`tar -tzf failed: ${t.stderr}`);
  tars.push(t.secs);
  tarRss = Math.max(tarRss, t.mib);
  const v = timed(process.execPath, verifyArgs);
  if (v.status !== 0) throw new Error(`verify-backup did not verify the archive (exit ${v.status}): ${v.stdout.slice(0, 2000)}`);
  ours.push(v.secs);
  oursRss = Math.max(oursRss, v.mib);
}
const startup = timed(process.execPath, ['dist/cli.js', '--version']);

const oursT = median(ours);
const tarT = median(tars);
console.log(`archive:                       ${(size / 1048576).toFixed(1)} MiB (${size} bytes) ${archive}`);
console.log(`GNU tar -tzf (reference):      ${tarT.toFixed(2)} s (median of ${RUNS}), peak RSS ${tarRss.toFixed(1)} MiB`);
console.log(`stateguard verify-backup:      ${oursT.toFixed(2)} s (median of ${RUNS}), peak RSS ${oursRss.toFixed(1)} MiB`);
console.log(`  of which CLI start-up:       ${startup.secs.toFixed(2)} s, ${startup.mib.toFixed(1)} MiB (node dist/cli.js --version)`);
console.log(`ratio verify-backup / tar:     ${(oursT / tarT).toFixed(2)}x   (target <= 1.10x)`);
console.log(`peak RSS verify-backup:        ${oursRss.toFixed(1)} MiB   (target <= 64 MiB)`);
rmSync(archive);
