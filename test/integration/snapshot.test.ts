/**
 * snapshot on the real engine and real compose: volume data round-trips through the archive, the
 * module runs again (same container), only the .tar.gz and .sha256 remain in out-dir, verify-backup
 * accepts the snapshot for the module and for its sidecar, and an injected crash between write and
 * rename leaves nothing under the final name.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { takeSnapshot } from '../../src/backup/snapshot.js';
import { runCli } from '../../src/cli.js';
import type { Logger } from '../../src/commands/spec.js';
import { loadModules } from '../../src/model/module.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { IMAGE, describeDocker, docker, removeProject, uniqueProject } from '../support/docker.js';

const COMPOSE = `version: "3.7"
services:
  store:
    image: ${IMAGE}
    command: ["sh", "-c", "mkdir -p /data && trap 'exit 0' TERM INT; while true; do sleep 1; done"]
    restart: unless-stopped
    volumes:
      - store-data:/data
  store-init:
    image: ${IMAGE}
    command: ["sh", "-c", "mkdir -p /data/buckets/main"]
    restart: "no"
    volumes:
      - store-data:/data
volumes:
  store-data: {}
`;

const quiet: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  raw: () => undefined,
};

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: process.env,
    cwd,
  });
  return { code, stdout, stderr };
}

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

describeDocker('snapshot on the real engine', () => {
  const project = uniqueProject('sgsnap');
  let repo = '';
  let work = '';
  let storeId = '';
  const runtime = new DockerCli();

  beforeAll(async () => {
    repo = tempRepo({
      'compose.yaml': COMPOSE,
      'modules/store/module.yaml': moduleYaml(
        'store',
        `  class: stateful
  compose: { file: ../../compose.yaml, project: ${project}, service: store }
  backup: { ref_modules: [store], max_age_hours: 24 }
  data:
    volumes:
      - { volume: store-data, path: /data }
`,
      ),
      'modules/store-init/module.yaml': moduleYaml(
        'store-init',
        `  class: sidecar
  compose: { file: ../../compose.yaml, project: ${project}, service: store-init }
  runtime: { expected_state: exited-success }
  backup: { ref_modules: [store], max_age_hours: 24 }
  depends_on_healthy: [store]
`,
      ),
    });
    work = mkdtempSync(path.join(tmpdir(), 'sg-snapint-'));
    const target = { project, files: [path.join(repo, 'compose.yaml')] };
    const up = await runtime.composeUp(target, ['store']);
    expect(up.code).toBe(0);
    const [store] = (await runtime.listProjectContainers(project)).filter((c) => c.service === 'store');
    storeId = store!.id;
    // Data in the volume: nested dirs, an empty file, a binary blob, a name with spaces, odd modes.
    const seed = docker([
      'exec',
      storeId,
      'sh',
      '-c',
      'mkdir -p /data/buckets/main/deep/er && echo hello > /data/buckets/main/obj && : > /data/empty && ' +
        'dd if=/dev/urandom of=/data/blob bs=1024 count=600 2>/dev/null && echo x > "/data/with space" && chmod 600 /data/blob',
    ]);
    expect(seed.status).toBe(0);
  }, 180_000);

  afterAll(() => {
    removeProject(project);
    cleanupTempRepos();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('round-trips the volume data, restarts the same container, leaves only the archive and its checksum', async () => {
    const out = path.join(work, 'backups');
    const r = await cli(['snapshot', '--root', repo, '--module', 'store', '--out-dir', out, '--json'], repo);
    expect(r.stderr).not.toMatch(/NOT RUNNING/);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as {
      path: string;
      sha256: string;
      bytes: number;
      entries: number;
      volumes: string[];
      taken_at: string;
      downtime_ms: unknown;
    };
    expect(result.volumes).toEqual(['store-data']);
    // downtime and the lines that say it (docs/architecture.md §7, "Downtime and progress")
    expect(Number.isInteger(result.downtime_ms) && (result.downtime_ms as number) > 0).toBe(true);
    expect(r.stderr).toMatch(/stopped \S+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    expect(r.stderr).toMatch(
      /started \S+ again at \S+Z \(running, and healthy where it has a healthcheck\); down for /,
    );
    expect(path.dirname(result.path)).toBe(out);
    expect(path.basename(result.path)).toMatch(/^store-\d{8}T\d{6}Z\.tar\.gz$/);
    expect(readdirSync(out).sort()).toEqual([path.basename(result.path), `${path.basename(result.path)}.sha256`]);
    expect(statSync(result.path).size).toBe(result.bytes);
    expect(sha(readFileSync(result.path))).toBe(result.sha256);

    // The module runs again: same container, running.
    const [after] = await runtime.inspectContainers([storeId]);
    expect(after!.state).toBe('running');

    // Contents: extract with GNU tar and compare every file with the live volume.
    const extracted = path.join(work, 'extracted');
    spawnSync('mkdir', ['-p', extracted]);
    const x = spawnSync('tar', ['-xzf', result.path, '-C', extracted], { encoding: 'utf8' });
    expect(x.status).toBe(0);
    const live = docker(['exec', storeId, 'sh', '-c', 'cd /data && find . -type f -exec sha256sum {} + | sort -k2']);
    expect(live.status).toBe(0);
    const liveSums = live.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/\s+\.\//, '  ./'));
    const local = spawnSync('sh', ['-c', 'cd store-data && find . -type f -exec sha256sum {} + | sort -k2'], {
      cwd: extracted,
      encoding: 'utf8',
    });
    expect(
      local.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/\s+\.\//, '  ./')),
    ).toEqual(liveSums);
    expect(liveSums.some((l) => l.endsWith('./blob'))).toBe(true);
    expect(statSync(path.join(extracted, 'store-data', 'blob')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(extracted, 'store-data', 'buckets', 'main', 'deep', 'er')).isDirectory()).toBe(true);

    // verify-backup accepts it for the module and for the sidecar naming it in ref_modules.
    for (const mod of ['store', 'store-init']) {
      const v = await cli(
        ['verify-backup', '--root', repo, '--module', mod, '--backup-ref', result.path, '--backup-root', out, '--json'],
        repo,
      );
      expect(v.code).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({
        verified: true,
        sha256: result.sha256,
        matched_module: 'store',
        problems: [],
      });
    }
  }, 180_000);

  it('a copy of tens of MB prints progress lines (bytes, rate, elapsed) with a small STATEGUARD_PROGRESS_INTERVAL_MS', async () => {
    const big = docker([
      'exec',
      storeId,
      'sh',
      '-c',
      'dd if=/dev/urandom of=/data/big bs=1048576 count=32 2>/dev/null',
    ]);
    expect(big.status).toBe(0);
    try {
      let stdout = '';
      let stderr = '';
      const env = { ...process.env, STATEGUARD_PROGRESS_INTERVAL_MS: '1' };
      const out = path.join(work, 'progress');
      const code = await runCli(['snapshot', '--root', repo, '--module', 'store', '--out-dir', out, '--json'], {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stderr += t),
        env,
        cwd: repo,
      });
      expect(code).toBe(0);
      const lines = stderr
        .split('\n')
        .filter((l) => l.startsWith('snapshot store: copying /data (volume store-data): '));
      // no timing asserted: at least one line, each with bytes, rate and elapsed time
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const l of lines) expect(l).toMatch(/: [\d.]+ (B|KiB|MiB) copied, [\d.]+ (B|KiB|MiB|GiB)\/s, .+ elapsed$/);
      const j = JSON.parse(stdout) as { downtime_ms: unknown; path: string };
      expect(Number.isInteger(j.downtime_ms) && (j.downtime_ms as number) > 0).toBe(true);
      rmSync(out, { recursive: true, force: true });
    } finally {
      docker(['exec', storeId, 'rm', '-f', '/data/big']);
    }
  }, 180_000);

  it('a crash injected between write and rename leaves nothing under the final name; the module runs again', async () => {
    const out = path.join(work, 'crash');
    const { modules } = loadModules(repo, 'modules/*/module.yaml');
    const store = modules.find((m) => m.name === 'store')!;
    const now = new Date();
    const err = await takeSnapshot({
      module: store,
      runtime,
      outDir: out,
      now,
      log: quiet,
      hooks: {
        publish: async (from, to) => {
          // the finished temporary file exists, the final name does not
          expect(statSync(from).size).toBeGreaterThan(0);
          expect(() => statSync(to)).toThrow();
          throw new Error('injected crash between write and rename');
        },
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/injected crash/);
    expect(readdirSync(out)).toEqual([]);
    const [after] = await runtime.inspectContainers([storeId]);
    expect(after!.state).toBe('running');
  }, 180_000);

  it('a volume holding a symlink is refused naming it, and the module runs again', async () => {
    expect(docker(['exec', storeId, 'ln', '-s', '/etc/passwd', '/data/evil-link']).status).toBe(0);
    try {
      const out = path.join(work, 'refused');
      const r = await cli(['snapshot', '--root', repo, '--module', 'store', '--out-dir', out, '--json'], repo);
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout) as { error: string; failure_reason: string };
      expect(j.failure_reason).toBe('snapshot-failed');
      expect(j.error).toMatch(/volume store-data holds a symbolic link at \/data\/evil-link/);
      expect(readdirSync(out)).toEqual([]);
      const [after] = await runtime.inspectContainers([storeId]);
      expect(after!.state).toBe('running');
    } finally {
      docker(['exec', storeId, 'rm', '-f', '/data/evil-link']);
    }
  }, 180_000);

  // Last: the restore at its end recreates the store container.
  it('a file owned by 3000000:3000001 and dated 1960 is snapshotted, verifies, and restores with exactly those values', async () => {
    const seed = docker([
      'exec',
      storeId,
      'sh',
      '-c',
      'echo old > /data/old && chown 3000000:3000001 /data/old && touch -d "1960-01-01 00:00:00" /data/old',
    ]);
    expect(seed.status).toBe(0);
    const out = path.join(work, 'fidelity');
    const r = await cli(['snapshot', '--root', repo, '--module', 'store', '--out-dir', out, '--json'], repo);
    if (r.code !== 0) throw new Error(`snapshot failed: ${r.stdout}${r.stderr}`);
    const snap = (JSON.parse(r.stdout) as { path: string }).path;
    const v = await cli(
      ['verify-backup', '--root', repo, '--module', 'store', '--backup-ref', snap, '--backup-root', out, '--json'],
      repo,
    );
    expect(JSON.parse(v.stdout)).toMatchObject({ verified: true, problems: [], warnings: [] });
    // change the file, then restore the snapshot: the owner and the 1960 time come back
    expect(docker(['exec', storeId, 'sh', '-c', 'chown 0:0 /data/old && touch /data/old']).status).toBe(0);
    const rr = await cli(
      [
        'restore',
        '--root',
        repo,
        '--module',
        'store',
        '--backup-ref',
        snap,
        '--backup-root',
        out,
        '--allow-stateful',
        '--confirm',
        path.basename(snap),
        '--out-dir',
        path.join(work, 'fidelity-pre'),
        '--json',
      ],
      repo,
    );
    if (rr.code !== 0) throw new Error(`restore failed: ${rr.stdout}${rr.stderr}`);
    const st = docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      `type=volume,src=${project}_store-data,dst=/m`,
      IMAGE,
      'stat',
      '-c',
      '%u %g %Y',
      '/m/old',
    ]);
    expect(st.stdout.trim()).toBe('3000000 3000001 -315619200');
  }, 240_000);

  it('a module without data volumes is refused with the reason', async () => {
    const r = await cli(
      ['snapshot', '--root', repo, '--module', 'store-init', '--out-dir', path.join(work, 'none'), '--json'],
      repo,
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ failure_reason: 'snapshot-failed' });
    expect(r.stdout).toMatch(/declares no data volumes/);
  }, 60_000);
});

// A database that needs longer than docker's default 10 s to shut down declares stop_grace_period; a
// snapshot that stops it with a shorter timeout kills it mid-shutdown and copies a crash-consistent
// volume at best. The snapshot's stop must give each container its own stop timeout (docs/architecture.md §7).
describeDocker('snapshot honours stop_grace_period', () => {
  const project = uniqueProject('sggrace');
  let repo = '';
  let work = '';

  beforeAll(() => {
    repo = tempRepo({
      'compose.yaml': `version: "3.7"
services:
  slow:
    image: ${IMAGE}
    # shuts down in about 12 s (longer than docker's default 10 s) and says so in its volume
    command: ["sh", "-c", "mkdir -p /data && echo seed > /data/seed && rm -f /data/shutdown && trap 'sleep 12; echo clean > /data/shutdown; exit 0' TERM; while true; do sleep 1; done"]
    stop_grace_period: 25s
    restart: unless-stopped
    volumes:
      - slow-data:/data
volumes:
  slow-data: {}
`,
      'modules/slow/module.yaml': moduleYaml(
        'slow',
        `  class: stateful
  compose: { file: ../../compose.yaml, project: ${project}, service: slow }
  backup: { ref_modules: [slow], max_age_hours: 24 }
  data:
    volumes:
      - { volume: slow-data, path: /data }
`,
      ),
    });
    work = mkdtempSync(path.join(tmpdir(), 'sg-grace-'));
  });

  afterAll(() => {
    removeProject(project);
    docker(['volume', 'rm', '-f', `${project}_slow-data`]);
    cleanupTempRepos();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the service finishes its own shutdown before the copy: the archive holds what it wrote on the way down', async () => {
    const runtime = new DockerCli();
    const up = await runtime.composeUp({ project, files: [path.join(repo, 'compose.yaml')] }, ['slow']);
    expect(up.code).toBe(0);
    const r = await cli(['snapshot', '--root', repo, '--module', 'slow', '--out-dir', work, '--json'], repo);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const archive = (JSON.parse(r.stdout) as { path: string }).path;
    const listing = spawnSync('tar', ['-tzf', archive], { encoding: 'utf8' });
    const entry = listing.stdout.split('\n').find((l) => l.endsWith('/shutdown') || l === 'shutdown');
    // Killed at 10 s, the trap never wrote it; given its 25 s, it did, before the copy.
    expect(entry).toBeDefined();
    const content = spawnSync('tar', ['-xzOf', archive, entry!], { encoding: 'utf8' });
    expect(content.stdout.trim()).toBe('clean');
  }, 120_000);
});
