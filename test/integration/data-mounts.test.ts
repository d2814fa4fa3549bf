/**
 * Data mounts on the real engine (docs/architecture.md §12, "Data mounts"): what snapshot, restore
 * and validate refuse before anything stops, and that such a refusal changes nothing.
 *
 * - Nested data mounts (`./h:/data` and `./h/sub:/uploads`, both declared) are refused by validate,
 *   and by the snapshot and restore preflights themselves (called directly, past validate), naming
 *   both mounts: no stop, no lock left, no journal, the data unchanged.
 * - Another running container that mounts the parent of a data bind directory (a plain `docker
 *   run`), or the module's named volume (another compose project), refuses snapshot and restore
 *   with `volume-in-use`, naming it.
 * - A live volume holding restore's reserved work-area name refuses snapshot and restore before the
 *   module is stopped (same container, same start time), naming `stateguard recover`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { archiveName } from '../../src/backup/names.js';
import { takeSnapshot } from '../../src/backup/snapshot.js';
import { verifyBackup } from '../../src/backup/verify.js';
import { runCli } from '../../src/cli.js';
import { planModules } from '../../src/plan/plan.js';
import { loadModules } from '../../src/model/module.js';
import { operationKey } from '../../src/ops/journal.js';
import { restoreModule } from '../../src/restore/restore.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { dir, file, gz, tar } from '../support/archives.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { IMAGE, compose, describeDocker, docker, removeProject, uniqueProject } from '../support/docker.js';
import { addManifestToFile } from '../support/manifests.js';

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  raw: () => undefined,
};
const LOOP = `["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1; done"]`;

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

/** `id startedAt state` of a container: a refusal before the stop leaves all three as they were. */
function startState(id: string): string {
  return docker(['inspect', '-f', '{{.Id}} {{.State.StartedAt}} {{.State.Status}}', id]).stdout.trim();
}

/** Every file under the given mounts: path, owner, mode and checksum, sorted. */
function fingerprintOf(mounts: string[]): string {
  const r = docker([
    'run',
    '--rm',
    '--network',
    'none',
    ...mounts.flatMap((m) => ['--mount', m]),
    IMAGE,
    'sh',
    '-c',
    'cd /m && find . -mindepth 1 | sort | while read -r f; do if [ -f "$f" ]; then echo "$f $(stat -c %u:%g:%a "$f") $(md5sum < "$f")"; else echo "$f/ $(stat -c %u:%g:%a "$f")"; fi; done',
  ]);
  if (r.status !== 0) throw new Error(`fingerprint failed: ${r.stderr}`);
  return r.stdout;
}

function leftovers(project: string, service: string): { locks: string; journal: string; helpers: string } {
  const key = operationKey(project, service);
  return {
    locks: docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${project}`]).stdout.trim(),
    journal: docker(['volume', 'ls', '-q', '--filter', `label=io.stateguard.journal=${key}`]).stdout.trim(),
    helpers: docker(['ps', '-aq', '--filter', `label=io.stateguard.helper=${key}`]).stdout.trim(),
  };
}

const NOTHING_LEFT = { locks: '', journal: '', helpers: '' };

describeDocker('data mounts on the real engine: overlap, other writers, reserved names', () => {
  const project = uniqueProject('sgmnt');
  const nestedProject = uniqueProject('sgmntn');
  const otherProject = uniqueProject('sgmnto');
  const agent = `${uniqueProject('sgmnta')}-agent`;
  let work = '';
  /** the parent directory of the db module's bind-mounted data directory */
  let hostDir = '';
  let blobs = '';
  let repo = '';
  let nestedRepo = '';
  let backups = '';
  let backupA = '';
  let dbId = '';
  let nestedId = '';

  const dbFingerprint = (): string =>
    fingerprintOf([`type=volume,src=${project}_data,dst=/m/data`, `type=bind,src=${blobs},dst=/m/blobs`]);
  const nestedFingerprint = (): string => fingerprintOf([`type=bind,src=${path.join(nestedRepo, 'h')},dst=/m/h`]);

  const restoreArgs = (root: string, module: string, ref: string): string[] => [
    'restore',
    '--root',
    root,
    '--module',
    module,
    '--backup-ref',
    ref,
    '--backup-root',
    path.dirname(ref),
    '--allow-stateful',
    '--confirm',
    path.basename(ref),
    '--out-dir',
    path.join(work, 'pre'),
    '--ready-timeout-seconds',
    '30',
    '--json',
  ];

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'sg-mounts-'));
    hostDir = path.join(work, 'host');
    blobs = path.join(hostDir, 'blobs');
    backups = path.join(work, 'backups');
    mkdirSync(blobs, { recursive: true });
    mkdirSync(backups);
    repo = tempRepo({
      'compose.yaml': `version: "3.7"
services:
  db:
    image: ${IMAGE}
    command: ${LOOP}
    volumes:
      - data:/data
      - ${blobs}:/blobs
volumes:
  data: {}
`,
      'modules/db/module.yaml': moduleYaml(
        'db',
        `  class: stateful
  compose: { file: ../../compose.yaml, project: ${project}, service: db }
  backup: { ref_modules: [db], max_age_hours: 24 }
  data:
    volumes:
      - { volume: data, path: /data }
      - { volume: blobs, path: /blobs }
`,
      ),
    });
    nestedRepo = tempRepo({
      'compose.yaml': `version: "3.7"
services:
  app:
    image: ${IMAGE}
    command: ${LOOP}
    volumes:
      - ./h:/data
      - ./h/sub:/uploads
`,
      'h/top': 'top\n',
      'h/sub/upload': 'upload\n',
      'modules/app/module.yaml': moduleYaml(
        'app',
        `  class: stateful
  compose: { file: ../../compose.yaml, project: ${nestedProject}, service: app }
  backup: { ref_modules: [app], max_age_hours: 24 }
  data:
    volumes:
      - { volume: data, path: /data }
      - { volume: uploads, path: /uploads }
`,
      ),
    });
    for (const [root, p] of [
      [repo, project],
      [nestedRepo, nestedProject],
    ] as const) {
      const up = compose([path.join(root, 'compose.yaml')], p, ['up', '-d']);
      if (up.status !== 0) throw new Error(`compose up failed: ${up.stderr}`);
    }
    dbId = docker(['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`]).stdout.trim();
    nestedId = docker([
      'ps',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${nestedProject}`,
    ]).stdout.trim();
    const seed = docker(['exec', dbId, 'sh', '-c', 'mkdir -p /data/t && echo A > /data/t/a && echo blob > /blobs/b']);
    if (seed.status !== 0) throw new Error(`seeding failed: ${seed.stderr}`);
    const snap = await cli(['snapshot', '--root', repo, '--module', 'db', '--out-dir', backups, '--json'], repo);
    if (snap.code !== 0) throw new Error(`snapshot failed: ${snap.stdout}${snap.stderr}`);
    backupA = (JSON.parse(snap.stdout) as { path: string }).path;
    dbId = docker(['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`]).stdout.trim();
  }, 240_000);

  afterAll(() => {
    docker(['rm', '-f', agent]);
    removeProject(otherProject);
    for (const p of [project, nestedProject]) {
      removeProject(p);
      const key = operationKey(p, p === project ? 'db' : 'app');
      const marks = docker(['volume', 'ls', '-q', '--filter', `label=io.stateguard.journal=${key}`])
        .stdout.split('\n')
        .filter(Boolean);
      if (marks.length) docker(['volume', 'rm', '-f', ...marks]);
      const locks = docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${p}`])
        .stdout.split('\n')
        .filter(Boolean);
      if (locks.length) docker(['rm', '-f', ...locks]);
    }
    cleanupTempRepos();
    // files written by containers belong to root
    if (work) spawnSync('rm', ['-rf', work]);
  });

  describe('nested data mounts are refused before anything moves', () => {
    it('validate names both mounts and the fix', async () => {
      const v = await cli(['validate', '--root', nestedRepo, '--json'], nestedRepo);
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(
        /data volumes 'data' \(\/data, bind \.\/h\) and 'uploads' \(\/uploads, bind \.\/h\/sub\) overlap/,
      );
      expect(v.stdout).toMatch(/mount the parent once and declare it as one data volume/);
      // every command that loads the modules refuses them the same way
      const s = await cli(
        ['snapshot', '--root', nestedRepo, '--module', 'app', '--out-dir', path.join(work, 'x'), '--json'],
        nestedRepo,
      );
      expect(s.code).toBe(1);
      expect(JSON.parse(s.stdout)).toMatchObject({ failure_reason: 'invalid-modules' });
    }, 120_000);

    it('the snapshot and restore preflights refuse it themselves (past validate): nothing stopped, locked or journaled', async () => {
      const before = nestedFingerprint();
      const started = startState(nestedId);
      const { modules } = loadModules(nestedRepo, 'modules/*/module.yaml', nestedRepo);
      const app = modules.find((m) => m.name === 'app')!;
      const runtime = new DockerCli();
      const err = await takeSnapshot({
        module: app,
        runtime,
        outDir: path.join(work, 'nested-out'),
        now: new Date(),
        log: quiet,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        /'data' \(\/data, bind \S+\/h\) and 'uploads' \(\/uploads, bind \S+\/h\/sub\) overlap/,
      );

      const backup = path.join(work, 'nested-backups', archiveName('app', new Date(Date.now() - 60_000)));
      mkdirSync(path.dirname(backup), { recursive: true });
      writeFileSync(
        backup,
        gz(tar(dir('data/'), file('data/top', 'new\n'), dir('uploads/'), file('uploads/upload', 'new\n'))),
      );
      addManifestToFile(backup, { project: app.compose.project, service: app.compose.service });
      const o = await restoreModule(
        {
          modules,
          module: app,
          allowStateful: true,
          confirm: path.basename(backup),
          backupRef: backup,
          backupRoots: [path.dirname(backup)],
          cwd: nestedRepo,
          now: new Date(),
          maxUncompressedBytes: 1e9,
          maxEntries: 1000,
          expectedPlanHash: undefined,
          breakStaleLock: false,
          staleAfterMs: 3600_000,
          holder: `test pid ${process.pid}`,
          helperImage: undefined,
          outDir: path.join(work, 'pre'),
          readyTimeoutSeconds: 30,
        },
        { runtime, planModules, verifyBackup, log: quiet, now: () => new Date() },
      );
      expect(o).toMatchObject({ decision: 'blocked', status: 'refused', failure_reason: 'not-restorable' });
      expect(o.verdict).toMatch(/'data' \(\/data, bind \S+\/h\) and 'uploads' \(\/uploads, bind \S+\/h\/sub\) overlap/);
      expect(o.verdict).toMatch(/Nothing was changed/);

      expect(startState(nestedId)).toBe(started);
      expect(nestedFingerprint()).toBe(before);
      expect(leftovers(nestedProject, 'app')).toEqual(NOTHING_LEFT);
    }, 120_000);
  });

  describe('another running container on the data refuses snapshot and restore (volume-in-use)', () => {
    it('a plain container mounting the parent directory of the bind-mounted data', async () => {
      const run = docker([
        'run',
        '-d',
        '--name',
        agent,
        '--network',
        'none',
        '--mount',
        `type=bind,src=${hostDir},dst=/host`,
        IMAGE,
        'sh',
        '-c',
        'trap "exit 0" TERM; while true; do sleep 1; done',
      ]);
      expect(run.status).toBe(0);
      try {
        const before = dbFingerprint();
        const started = startState(dbId);
        const s = await cli(
          ['snapshot', '--root', repo, '--module', 'db', '--out-dir', path.join(work, 'x'), '--json'],
          repo,
        );
        expect(s.code).toBe(1);
        const sj = JSON.parse(s.stdout) as { failure_reason: string; error: string };
        expect(sj.failure_reason).toBe('volume-in-use');
        expect(sj.error).toContain(agent);
        expect(sj.error).toContain(hostDir);
        const r = await cli(restoreArgs(repo, 'db', backupA), repo);
        expect(r.code).toBe(1);
        const rj = JSON.parse(r.stdout) as { failure_reason: string; verdict: string; status: string };
        expect(rj).toMatchObject({ status: 'refused', failure_reason: 'volume-in-use' });
        expect(rj.verdict).toContain(agent);
        expect(rj.verdict).toMatch(/Nothing was changed/);
        expect(startState(dbId)).toBe(started);
        expect(dbFingerprint()).toBe(before);
        expect(leftovers(project, 'db')).toEqual(NOTHING_LEFT);
      } finally {
        docker(['rm', '-f', agent]);
      }
    }, 180_000);

    it("another compose project's container mounting the module's named volume", async () => {
      const otherRepo = tempRepo({
        'compose.yaml': `version: "3.7"
services:
  shipper:
    image: ${IMAGE}
    command: ${LOOP}
    volumes:
      - shared:/logs
volumes:
  shared:
    external: true
    name: ${project}_data
`,
      });
      const up = compose([path.join(otherRepo, 'compose.yaml')], otherProject, ['up', '-d']);
      expect(up.status).toBe(0);
      try {
        const shipper = docker([
          'ps',
          '--format',
          '{{.Names}}',
          '--filter',
          `label=com.docker.compose.project=${otherProject}`,
        ]).stdout.trim();
        expect(shipper).not.toBe('');
        const before = dbFingerprint();
        const started = startState(dbId);
        const s = await cli(
          ['snapshot', '--root', repo, '--module', 'db', '--out-dir', path.join(work, 'x'), '--json'],
          repo,
        );
        expect(s.code).toBe(1);
        const sj = JSON.parse(s.stdout) as { failure_reason: string; error: string };
        expect(sj.failure_reason).toBe('volume-in-use');
        expect(sj.error).toContain(shipper);
        const r = await cli(restoreArgs(repo, 'db', backupA), repo);
        expect(r.code).toBe(1);
        const rj = JSON.parse(r.stdout) as { failure_reason: string; verdict: string };
        expect(rj.failure_reason).toBe('volume-in-use');
        expect(rj.verdict).toContain(shipper);
        expect(startState(dbId)).toBe(started);
        expect(dbFingerprint()).toBe(before);
        expect(leftovers(project, 'db')).toEqual(NOTHING_LEFT);
      } finally {
        compose([path.join(otherRepo, 'compose.yaml')], otherProject, ['down']);
        removeProject(otherProject);
      }
    }, 180_000);
  });

  it("a live volume holding restore's reserved work-area name refuses snapshot and restore before the stop", async () => {
    const put = docker([
      'exec',
      dbId,
      'sh',
      '-c',
      'mkdir -p /data/.stateguard-restore && echo x > /data/.stateguard-restore/x',
    ]);
    expect(put.status).toBe(0);
    try {
      const before = dbFingerprint();
      const started = startState(dbId);
      const s = await cli(
        ['snapshot', '--root', repo, '--module', 'db', '--out-dir', path.join(work, 'x'), '--json'],
        repo,
      );
      expect(s.code).toBe(1);
      const sj = JSON.parse(s.stdout) as { failure_reason: string; error: string };
      expect(sj.error).toMatch(/\/data\/\.stateguard-restore/);
      expect(sj.error).toMatch(/stateguard recover --module db/);
      expect(startState(dbId)).toBe(started);
      const r = await cli(restoreArgs(repo, 'db', backupA), repo);
      expect(r.code).toBe(1);
      const rj = JSON.parse(r.stdout) as { failure_reason: string; verdict: string; status: string };
      expect(rj).toMatchObject({ status: 'refused', failure_reason: 'not-restorable' });
      expect(rj.verdict).toMatch(/\/data\/\.stateguard-restore/);
      expect(rj.verdict).toMatch(/stateguard recover --module db/);
      expect(startState(dbId)).toBe(started);
      expect(dbFingerprint()).toBe(before);
      expect(leftovers(project, 'db')).toEqual(NOTHING_LEFT);
    } finally {
      docker(['exec', dbId, 'rm', '-rf', '/data/.stateguard-restore']);
    }
  }, 180_000);
});
