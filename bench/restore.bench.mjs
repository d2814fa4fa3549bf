// restore of a ~384 MiB .tar.gz snapshot into a real compose service's named volume, side by side with
// GNU `tar -xzf` of the same archive into a plain directory in the same run (the reference), and the
// peak RSS of each via `/usr/bin/time -f %M`.
//
// Set-up (not timed against tar): a temp project (unique name) with one service on a named volume, the
// volume filled via `docker exec` with ~384 MiB of /dev/urandom data (4 x 64 MiB + 8 x 8 MiB files,
// 512 x 64 KiB and 2048 x 16 KiB files in nested dirs), then `stateguard snapshot` of it: that file is
// the archive both sides read. Random data barely compresses, so inflating and writing it is real work.
//
// What the restore figure includes (the ratio compares it all to a bare extraction): the backup's
// verification, the stop of the service, a full pre-restore snapshot of the live volume (reading and
// gzipping ~384 MiB again), staging the archive into the volume through helper containers, the swap,
// and the recreate of the service. Peak RSS is the CLI process (and the largest child it waited for,
// e.g. the docker CLI); the helper containers' memory is not in it.
//
// Everything is removed afterwards (compose project and volumes, stateguard journal/lock/helper
// objects of the project, temp dirs), also when a step fails. SG_BENCH_RUNS (default 1) restores that
// many times (restoring the same archive again); SG_BENCH_CLI points at another built dist/cli.js.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.resolve(process.env.SG_BENCH_CLI ?? path.join(repo, 'dist', 'cli.js'));
const IMAGE = 'stateguard/busybox:1.0.0';
const TIME = '/usr/bin/time';

if (!existsSync(TIME)) {
  console.error(`${TIME} is missing: install the Debian 'time' package (apt-get install -y time).`);
  process.exit(1);
}
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run npm run build first (or set SG_BENCH_CLI).`);
  process.exit(1);
}
if (
  spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 20_000 }).status !== 0
) {
  console.error('docker is not reachable: run scripts/setup-docker.sh first.');
  process.exit(1);
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.stderr}${r.stdout}`.slice(0, 4000));
  return r.stdout;
}
const docker = (args, what) => run('docker', args, what);
const flavor = spawnSync('docker', ['compose', 'version', '--short'], { stdio: 'ignore' }).status === 0 ? 'v2' : 'v1';
function compose(file, project, args, what) {
  const base = ['-f', file, '-p', project, ...args];
  return flavor === 'v2' ? run('docker', ['compose', ...base], what) : run('docker-compose', base, what);
}
function timed(cmd, args) {
  const r = spawnSync(TIME, ['-f', '%e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, kib] = last.split(' ').map(Number);
  return { status: r.status, secs, mib: kib / 1024, stdout: r.stdout, stderr: r.stderr };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ids = (out) => out.split('\n').filter(Boolean);

const project = `sgbenchrest${randomBytes(4).toString('hex')}`;
const work = mkdtempSync(path.join(tmpdir(), 'sg-bench-restore-'));
const root = path.join(work, 'repo');
const backups = path.join(work, 'backups');
const pre = path.join(work, 'pre');
const composeFile = path.join(root, 'compose.yaml');

function cleanup() {
  const label = `label=com.docker.compose.project=${project}`;
  const q = (args) => ids(spawnSync('docker', args, { encoding: 'utf8' }).stdout ?? '');
  const rm = (args, list) => list.length && spawnSync('docker', [...args, ...list], { stdio: 'ignore' });
  if (existsSync(composeFile)) {
    const down = ['-f', composeFile, '-p', project, 'down', '-v', '--remove-orphans'];
    spawnSync(flavor === 'v2' ? 'docker' : 'docker-compose', flavor === 'v2' ? ['compose', ...down] : down, {
      stdio: 'ignore',
    });
  }
  rm(['rm', '-f'], q(['ps', '-aq', '--filter', label]));
  rm(['rm', '-f'], q(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${project}`]));
  // helper containers and journal volumes of this project only (others may belong to a parallel run)
  for (const c of q(['ps', '-aq', '--filter', 'label=io.stateguard.helper'])) {
    if ((spawnSync('docker', ['inspect', c], { encoding: 'utf8' }).stdout ?? '').includes(project))
      rm(['rm', '-f'], [c]);
  }
  for (const v of q(['volume', 'ls', '-q', '--filter', 'label=io.stateguard.journal'])) {
    if ((spawnSync('docker', ['volume', 'inspect', v], { encoding: 'utf8' }).stdout ?? '').includes(project)) {
      rm(['volume', 'rm', '-f'], [v]);
    }
  }
  rm(['volume', 'rm', '-f'], q(['volume', 'ls', '-q', '--filter', label]));
  rm(
    ['volume', 'rm', '-f'],
    q(['volume', 'ls', '-q', '--filter', `label=io.stateguard.run-record.project=${project}`]),
  );
  rm(['network', 'rm'], q(['network', 'ls', '-q', '--filter', label]));
  // extracted files may belong to other uids
  spawnSync('rm', ['-rf', work]);
}

try {
  for (const d of [path.join(root, 'modules', 'store'), backups, pre]) mkdirSync(d, { recursive: true });
  writeFileSync(
    composeFile,
    `services:
  store:
    image: ${IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1; done"]
    volumes:
      - data:/data
volumes:
  data: {}
`,
  );
  writeFileSync(
    path.join(root, 'modules', 'store', 'module.yaml'),
    `apiVersion: stateguard/v1
kind: Module
metadata:
  name: store
spec:
  class: stateful
  compose: { file: ../../compose.yaml, project: ${project}, service: store }
  backup: { ref_modules: [store], max_age_hours: 24 }
  data:
    volumes:
      - { volume: data, path: /data }
`,
  );
  compose(composeFile, project, ['up', '-d'], 'compose up');
  const container = ids(
    docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`], 'docker ps'),
  )[0];
  console.log(`filling the volume of ${project} with ~384 MiB of random data ...`);
  const fill = [
    'set -e; cd /data; mkdir -p big medium',
    'for i in 1 2 3 4; do dd if=/dev/urandom of=big/blob-$i bs=1048576 count=64 2>/dev/null; done',
    'for i in 1 2 3 4 5 6 7 8; do dd if=/dev/urandom of=medium/seg-$i bs=1048576 count=8 2>/dev/null; done',
    // 512 x 64 KiB in 4 dirs, 2048 x 16 KiB in 8 dirs of 2 levels
    'for d in 1 2 3 4; do mkdir -p pages/$d; i=0; while [ $i -lt 128 ]; do ' +
      'dd if=/dev/urandom of=pages/$d/p-$i bs=65536 count=1 2>/dev/null; i=$((i+1)); done; done',
    'for d in 1 2 3 4 5 6 7 8; do mkdir -p small/$((d % 2))/$d; i=0; while [ $i -lt 256 ]; do ' +
      'dd if=/dev/urandom of=small/$((d % 2))/$d/s-$i bs=16384 count=1 2>/dev/null; i=$((i+1)); done; done',
    'sync',
  ].join('; ');
  docker(['exec', container, 'sh', '-c', fill], 'filling the volume');
  const du = docker(['exec', container, 'sh', '-c', 'du -sk /data; find /data -type f | wc -l'], 'du').split(/\s+/);
  const dataMib = Number(du[0]) / 1024;
  const files = Number(du[2]);

  const snap = timed(process.execPath, [
    cli,
    'snapshot',
    '--root',
    root,
    '--module',
    'store',
    '--out-dir',
    backups,
    '--json',
  ]);
  if (snap.status !== 0) throw new Error(`snapshot failed (exit ${snap.status}): ${snap.stdout}${snap.stderr}`);
  const archive = JSON.parse(snap.stdout).path;
  const size = statSync(archive).size;

  const restoreArgs = [
    cli,
    'restore',
    '--root',
    root,
    '--module',
    'store',
    '--backup-ref',
    archive,
    '--backup-root',
    backups,
    '--allow-stateful',
    '--confirm',
    path.basename(archive),
    '--out-dir',
    pre,
    '--json',
  ];
  // Warm the page cache so both readers see the same (cached) file.
  spawnSync('cat', [archive], { stdio: ['ignore', 'ignore', 'ignore'] });

  const RUNS = Number(process.env.SG_BENCH_RUNS ?? 1);
  const ours = [];
  const tars = [];
  let oursRss = 0;
  let tarRss = 0;
  for (let i = 0; i < RUNS; i++) {
    const into = path.join(work, `tar-out-${i}`);
    mkdirSync(into);
    const t = timed('tar', ['-xzf', archive, '-C', into]);
    if (t.status !== 0) throw new Error(`tar -xzf failed: ${t.stderr}`);
    tars.push(t.secs);
    tarRss = Math.max(tarRss, t.mib);
    rmSync(into, { recursive: true, force: true });
    const r = timed(process.execPath, restoreArgs);
    const j = r.status === 0 ? JSON.parse(r.stdout) : undefined;
    if (j?.decision !== 'restored')
      throw new Error(`restore failed (exit ${r.status}): ${r.stdout.slice(0, 2000)}${r.stderr}`);
    ours.push(r.secs);
    oursRss = Math.max(oursRss, r.mib);
    // the pre-restore snapshots are not needed; keep the disk use flat over runs
    rmSync(pre, { recursive: true, force: true });
    mkdirSync(pre);
  }
  const startup = timed(process.execPath, [cli, '--version']);

  const oursT = median(ours);
  const tarT = median(tars);
  const data = `${dataMib.toFixed(1)} MiB in ${files} files`;
  console.log(`archive:                       ${(size / 1048576).toFixed(1)} MiB (${size} bytes) of ${data}`);
  console.log(`stateguard snapshot (set-up):  ${snap.secs.toFixed(2)} s, peak RSS ${snap.mib.toFixed(1)} MiB`);
  console.log(
    `GNU tar -xzf (reference):      ${tarT.toFixed(2)} s (median of ${RUNS}), peak RSS ${tarRss.toFixed(1)} MiB`,
  );
  console.log(
    `stateguard restore:            ${oursT.toFixed(2)} s (median of ${RUNS}), peak RSS ${oursRss.toFixed(1)} MiB`,
  );
  console.log(
    `  of which CLI start-up:       ${startup.secs.toFixed(2)} s, ${startup.mib.toFixed(1)} MiB (cli.js --version)`,
  );
  console.log(
    `ratio restore / tar:           ${(oursT / tarT).toFixed(2)}x   (restore includes verify, stop, ` +
      'pre-restore snapshot, staging, swap, recreate)',
  );
  console.log(
    `peak RSS restore:              ${oursRss.toFixed(1)} MiB   (CLI process; helper containers not included)`,
  );
} finally {
  cleanup();
}
