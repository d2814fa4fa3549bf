/**
 * Dry runs and the migration acknowledgement on the real engine and real compose (docs/architecture.md
 * §12, §13): `restore --dry-run` and `upgrade --dry-run` touch nothing — the engine state is snapshotted
 * before and after (the project's containers with their state and StartedAt, its volumes and a checksum
 * of the data, stateguard's labelled records, journal marks and lock objects, pinned image tags, the files
 * in the backup root and the out-dir) and must be equal; a dry run that must refuse refuses with the real
 * run's reason and exit code; `--ack-migration` lifts a manual-migration hold only for the exact version.
 *
 * Versions are local images made here (`docker commit` of the busybox image; nothing is pulled).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { lockName } from '../../src/ops/lock.js';
import { operationKey } from '../../src/ops/journal.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { IMAGE, compose, describeDocker, docker, itOnce, removeProject, uniqueProject } from '../support/docker.js';

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

const lines = (s: string): string[] =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

describeDocker('dry runs and ack-migration on the real engine', () => {
  const project = uniqueProject('sgdry');
  const appRepo = `${project}/app`;
  const key = operationKey(project, 'app');
  let repo = '';
  let work = '';
  let backups = '';
  let out = '';
  let backup = '';

  const composeFile = (version: string): string => `version: "3.7"
services:
  app:
    image: ${appRepo}:${version}
    command: ["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1; done"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /data/healthy"]
      interval: 1s
      timeout: 2s
      retries: 2
    volumes:
      - app-data:/data
volumes:
  app-data: {}
`;
  const declare = (version: string): void => writeFileSync(path.join(repo, 'compose.yaml'), composeFile(version));

  async function waitHealthy(): Promise<void> {
    for (let i = 0; i < 60; i++) {
      const f = ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'health=healthy'];
      if (docker(f).stdout.trim()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error('app did not become healthy');
  }

  function files(dir: string): string[] {
    const outp: string[] = [];
    const walk = (d: string): void => {
      for (const f of readdirSync(d).sort()) {
        const p = path.join(d, f);
        const st = statSync(p);
        outp.push(`${path.relative(dir, p)} ${st.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
        if (st.isDirectory()) walk(p);
      }
    };
    walk(dir);
    return outp;
  }

  /** Everything a dry run must leave exactly as it was. */
  function engineState(): Record<string, unknown> {
    const containers = lines(
      docker(['ps', '-aq', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`]).stdout,
    )
      .concat(
        lines(docker(['ps', '-aq', '--no-trunc', '--filter', `label=io.stateguard.lock.project=${project}`]).stdout),
      )
      .concat(lines(docker(['ps', '-aq', '--no-trunc', '--filter', `label=io.stateguard.helper=${key}`]).stdout))
      .sort()
      .map((id) =>
        docker([
          'inspect',
          '-f',
          '{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.State.FinishedAt}} {{.RestartCount}} {{.Image}}',
          id,
        ]).stdout.trim(),
      );
    const volumes = [
      ...lines(docker(['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`]).stdout),
      ...lines(docker(['volume', 'ls', '-q', '--filter', `label=io.stateguard.journal=${key}`]).stdout),
      ...lines(docker(['volume', 'ls', '-q', '--filter', 'label=io.stateguard.lkg']).stdout).filter((v) =>
        docker(['volume', 'inspect', v]).stdout.includes(project),
      ),
      ...lines(docker(['volume', 'ls', '-q', '--filter', `label=io.stateguard.run-record.project=${project}`]).stdout),
    ].sort();
    const data = docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      `type=volume,src=${project}_app-data,dst=/d,readonly`,
      IMAGE,
      'sh',
      '-c',
      'cd /d && find . | sort | while read -r f; do if [ -f "$f" ]; then echo "$f $(stat -c %a:%Y "$f") $(md5sum < "$f")"; else echo "$f/ $(stat -c %a "$f")"; fi; done',
    ]);
    if (data.status !== 0) throw new Error(data.stderr);
    const images = lines(docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).stdout)
      .filter((t) => t.startsWith(`stateguard/pinned-${key}:`))
      .sort();
    return { containers, volumes, data: data.stdout, images, backups: files(backups), out: files(out) };
  }

  const restoreArgs = (ref: string, extra: string[] = []): string[] => [
    'restore',
    '--root',
    repo,
    '--module',
    'app',
    '--backup-ref',
    ref,
    '--backup-root',
    backups,
    '--allow-stateful',
    '--confirm',
    path.basename(ref),
    '--out-dir',
    out,
    '--ready-timeout-seconds',
    '30',
    '--json',
    ...extra,
  ];
  const upgradeArgs = (extra: string[] = []): string[] => [
    'upgrade',
    '--root',
    repo,
    '--module',
    'app',
    '--allow-stateful',
    '--confirm',
    'BACKUP_DONE',
    '--out-dir',
    out,
    '--health-timeout-seconds',
    '20',
    '--settle-seconds',
    '2',
    '--json',
    ...extra,
  ];

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'sg-dryrun-'));
    backups = path.join(work, 'backups');
    out = path.join(work, 'out');
    mkdirSync(backups);
    mkdirSync(out);
    for (const v of ['1.0.0', '1.1.0', '1.4.0']) {
      const tmp = `${project}-mk-${v.replace(/\./g, '-')}`;
      expect(docker(['create', '--name', tmp, IMAGE, 'true']).status).toBe(0);
      expect(docker(['commit', '--change', `ENV APP_VERSION=${v}`, tmp, `${appRepo}:${v}`]).status).toBe(0);
      docker(['rm', '-f', tmp]);
    }
    repo = tempRepo({
      'compose.yaml': composeFile('1.0.0'),
      'modules/app/module.yaml': moduleYaml(
        'app',
        `  class: stateful
  compose: { file: ../../compose.yaml, project: ${project}, service: app }
  backup: { ref_modules: [app], max_age_hours: 24 }
  data:
    volumes:
      - { volume: app-data, path: /data }
  upgrade:
    release_notes: notes/{version}.md
`,
      ),
      'modules/app/notes/1.1.0.md': '# 1.1.0\n\nBug fixes.\n',
      'modules/app/notes/1.4.0.md': '# 1.4.0\n\nManual migration required: run `app migrate` first.\n',
    });
    const up = compose([path.join(repo, 'compose.yaml')], project, ['up', '-d']);
    if (up.status !== 0) throw new Error(`compose up failed: ${up.stderr}`);
    const seed = compose([path.join(repo, 'compose.yaml')], project, [
      'exec',
      '-T',
      'app',
      'sh',
      '-c',
      'mkdir -p /data/db && echo rows > /data/db/t && : > /data/healthy',
    ]);
    if (seed.status !== 0) throw new Error(seed.stderr);
    await waitHealthy();
    const snap = await cli(['snapshot', '--root', repo, '--module', 'app', '--out-dir', backups, '--json'], repo);
    if (snap.code !== 0) throw new Error(`snapshot failed: ${snap.stdout}\n${snap.stderr}`);
    backup = (JSON.parse(snap.stdout) as { path: string }).path;
    await waitHealthy();
  }, 240_000);

  afterAll(() => {
    removeProject(project);
    const marks = lines(docker(['volume', 'ls', '-q', '--filter', `label=io.stateguard.journal=${key}`]).stdout);
    if (marks.length) docker(['volume', 'rm', '-f', ...marks]);
    const locks = lines(docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${project}`]).stdout);
    if (locks.length) docker(['rm', '-f', ...locks]);
    for (const v of lines(docker(['volume', 'ls', '-q', '--filter', 'label=io.stateguard.lkg']).stdout)) {
      if (docker(['volume', 'inspect', v]).stdout.includes(project)) docker(['volume', 'rm', '-f', v]);
    }
    const tags = lines(docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']).stdout).filter(
      (t) => t.startsWith(`${appRepo}:`) || t.startsWith(`stateguard/pinned-${key}:`),
    );
    for (const t of tags) docker(['rmi', t]);
    cleanupTempRepos();
    if (work) spawnSync('rm', ['-rf', work]);
  });

  describe('touching nothing', () => {
    it('restore --dry-run: every check passes, exit 0, the steps said with "would", the engine and the disk unchanged', async () => {
      await waitHealthy();
      const before = engineState();
      const r = await cli(restoreArgs(backup, ['--dry-run']), repo);
      const j = JSON.parse(r.stdout) as {
        status: string;
        dry_run: boolean;
        steps: { step: string; would: string }[];
        lock: unknown;
      };
      if (r.code !== 0) throw new Error(`dry run refused: ${r.stdout}\n${r.stderr}`);
      expect(j).toMatchObject({ status: 'would-restore', dry_run: true, lock: null });
      expect(j.steps.map((s) => s.step)).toEqual(
        expect.arrayContaining(['stop', 'snapshot', 'stage', 'swap', 'recreate', 'health']),
      );
      for (const s of j.steps) expect(s.would).toMatch(/^would /);
      expect(engineState()).toEqual(before);
    }, 180_000);

    it('upgrade --dry-run: the gate and every check pass, exit 0, nothing pinned, stopped, recorded or written', async () => {
      await waitHealthy();
      declare('1.1.0');
      try {
        const before = engineState();
        const r = await cli(upgradeArgs(['--dry-run']), repo);
        if (r.code !== 0) throw new Error(`dry run refused: ${r.stdout}\n${r.stderr}`);
        const j = JSON.parse(r.stdout) as {
          status: string;
          dry_run: boolean;
          bump: string;
          steps: { step: string; would: string }[];
          pinned_image: unknown;
          snapshot: unknown;
        };
        expect(j).toMatchObject({
          status: 'would-upgrade',
          dry_run: true,
          bump: 'minor',
          pinned_image: null,
          snapshot: null,
        });
        expect(j.steps.map((s) => s.step)).toEqual(
          expect.arrayContaining(['pin', 'stop', 'snapshot', 'deploy', 'health']),
        );
        expect(engineState()).toEqual(before);
      } finally {
        declare('1.0.0');
      }
    }, 180_000);
  });

  // refusals and the migration hold are decided before anything runs: v2 only (the dry runs that
  // render and check everything run on both flavors)
  describe("a dry run that must refuse refuses with the real run's reason", () => {
    itOnce(
      'the lock is held: restore and upgrade, dry and real, all refuse with locked (exit 1); nothing else changes',
      async () => {
        await waitHealthy();
        const rt = new DockerCli();
        const name = lockName(project, 'app');
        const labels = {
          'io.stateguard.lock': '1',
          'io.stateguard.lock.module': 'app',
          'io.stateguard.lock.project': project,
          'io.stateguard.lock.service': 'app',
          'io.stateguard.lock.holder': 'host elsewhere, pid 1',
          'io.stateguard.lock.since': new Date().toISOString(),
          'io.stateguard.lock.operation': 'restore',
        };
        expect(await rt.createLock(name, labels, { images: [IMAGE], project })).toBe(true);
        declare('1.1.0');
        try {
          const before = engineState();
          for (const args of [restoreArgs(backup), upgradeArgs()]) {
            const real = await cli(args, repo);
            const dry = await cli([...args, '--dry-run'], repo);
            expect(real.code).toBe(1);
            expect(dry.code).toBe(real.code);
            const rj = JSON.parse(real.stdout) as { failure_reason: string; status: string };
            const dj = JSON.parse(dry.stdout) as { failure_reason: string; status: string; dry_run: boolean };
            expect(rj.failure_reason).toBe('locked');
            expect(dj).toMatchObject({ failure_reason: 'locked', status: rj.status, dry_run: true });
          }
          expect(engineState()).toEqual(before);
        } finally {
          declare('1.0.0');
          docker(['rm', '-f', name]);
        }
      },
      180_000,
    );

    itOnce(
      'an unverifiable backup: restore --dry-run refuses with backup-rejected, as the real restore does',
      async () => {
        const bad = path.join(backups, 'app-20200101T000000Z.tar.gz');
        writeFileSync(bad, 'not a gzip archive');
        try {
          const before = engineState();
          const real = await cli(restoreArgs(bad), repo);
          const dry = await cli(restoreArgs(bad, ['--dry-run']), repo);
          expect(real.code).toBe(1);
          expect(dry.code).toBe(1);
          expect(JSON.parse(real.stdout)).toMatchObject({ failure_reason: 'backup-rejected' });
          expect(JSON.parse(dry.stdout)).toMatchObject({ failure_reason: 'backup-rejected', dry_run: true, steps: [] });
          expect(engineState()).toEqual(before);
        } finally {
          spawnSync('rm', ['-f', bad]);
        }
      },
      180_000,
    );
  });

  itOnce(
    'ack-migration: held without it, held with another version, upgraded with exactly the target version',
    async () => {
      await waitHealthy();
      declare('1.4.0');
      const image = (): string =>
        docker([
          'inspect',
          '-f',
          '{{.Config.Image}}',
          lines(docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`]).stdout)[0]!,
        ]).stdout.trim();
      const before = engineState();
      const none = await cli(upgradeArgs(), repo);
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout)).toMatchObject({
        decision: 'held',
        failure_reason: 'held-manual-migration',
        acknowledged_migration: null,
      });
      expect(none.stderr).toContain('pass 1.4.0 as --ack-migration');
      for (const wrong of ['1.4', '1.4.0 ', 'v1.4.0', '1.4.*']) {
        const w = await cli(upgradeArgs(['--ack-migration', wrong]), repo);
        expect(w.code).toBe(1);
        const j = JSON.parse(w.stdout) as { failure_reason: string; acknowledged_migration: unknown; verdict: string };
        expect(j).toMatchObject({ failure_reason: 'held-manual-migration', acknowledged_migration: null });
        expect(j.verdict).toContain('only exactly "1.4.0"');
      }
      expect(engineState()).toEqual(before);
      expect(image()).toBe(`${appRepo}:1.0.0`);
      const ok = await cli(upgradeArgs(['--ack-migration', '1.4.0']), repo);
      if (ok.code !== 0) throw new Error(`upgrade failed: ${ok.stdout}\n${ok.stderr}`);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        decision: 'upgraded',
        acknowledged_migration: '1.4.0',
        dry_run: false,
        steps: null,
      });
      expect(ok.stderr).toContain('manual migration acknowledged for 1.4.0 (--ack-migration)');
      expect(image()).toBe(`${appRepo}:1.4.0`);
    },
    240_000,
  );
});
