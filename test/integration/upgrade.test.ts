/**
 * upgrade on the real engine and real compose (docs/architecture.md §13), every proof of the field
 * report: a healthy update advances last-known-good; a broken latest (exits after writing a migration
 * marker) is rolled back with the marker gone and the data intact, on the previous image; an
 * unhealthy latest is rolled back; major and manual-migration targets are held with nothing touched
 * and no snapshot written; a SIGKILL after the deploy is rolled back by recover.
 *
 * Versions are local images made here (`docker tag` / `docker commit` of the busybox image; nothing
 * is pulled); a version's behaviour comes from an environment variable baked into its image.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { operationKey } from '../../src/ops/journal.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { IMAGE, compose, describeDocker, docker, itOnce, removeProject, uniqueProject } from '../support/docker.js';
import { childCli } from '../support/runner.js';

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

/** One local image per version (`docker commit` of the busybox image, APP_VERSION and APP_MODE baked in). */
function makeVersions(appRepo: string, versions: Record<string, '' | 'broken' | 'unhealthy'>): void {
  for (const [v, mode] of Object.entries(versions)) {
    const tmp = `${appRepo.replace(/\W/g, '-')}-mk-${v}`;
    expect(docker(['create', '--name', tmp, IMAGE, 'true']).status).toBe(0);
    const changes = ['--change', `ENV APP_VERSION=${v}`, ...(mode ? ['--change', `ENV APP_MODE=${mode}`] : [])];
    expect(docker(['commit', ...changes, tmp, `${appRepo}:${v}`]).status).toBe(0);
    docker(['rm', '-f', tmp]);
  }
}

/** This project's version tags and the pinned tags of its `app` service only (never another test's). */
function removeTags(project: string): void {
  const pinned = `stateguard/pinned-${operationKey(project, 'app')}:`;
  const tags = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
    .stdout.split('\n')
    .filter((t) => t.startsWith(`${project}/`) || t.startsWith(pinned));
  for (const t of tags) docker(['rmi', t]);
}

describeDocker('upgrade on the real engine', () => {
  const project = uniqueProject('sgupg');
  const appRepo = `${project}/app`;
  const runtime = new DockerCli();
  let repo = '';
  let work = '';
  let out = '';

  // WIPE_CACHE_ON_START=1 in the environment makes any version wipe /data/db as it starts (issue 23 §2).
  const composeFile = (version: string, env: Record<string, string> = {}): string => `version: "3.7"
services:
  app:
    image: ${appRepo}:${version}
    command: ["sh", "-c", "[ \\"$$WIPE_CACHE_ON_START\\" = 1 ] && rm -rf /data/db; case \\"$$APP_MODE\\" in broken) echo migrated > /data/migration-marker; exit 1;; unhealthy) echo migrated > /data/migration-marker;; esac; trap 'exit 0' TERM INT; while true; do sleep 1; done"]${
      Object.keys(env).length
        ? `\n    environment:\n${Object.entries(env)
            .map(([k, v]) => `      ${k}: "${v}"\n`)
            .join('')
            .trimEnd()}`
        : ''
    }
    restart: unless-stopped
    healthcheck:
      test: ["CMD-SHELL", "test -f /data/healthy && [ \\"$$APP_MODE\\" != unhealthy ]"]
      interval: 1s
      timeout: 2s
      retries: 2
    volumes:
      - app-data:/data
  other:
    image: ${IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1; done"]
volumes:
  app-data: {}
`;

  function declare(version: string, env: Record<string, string> = {}): void {
    writeFileSync(path.join(repo, 'compose.yaml'), composeFile(version, env));
  }

  function appContainer(): { id: string; image: string } {
    const ids = docker([
      'ps',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'label=com.docker.compose.service=app',
    ])
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    expect(ids).toHaveLength(1);
    const image = docker(['inspect', '-f', '{{.Image}}', ids[0]!]).stdout.trim();
    return { id: ids[0]!, image };
  }

  function otherId(): string {
    return docker([
      'ps',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'label=com.docker.compose.service=other',
    ]).stdout.trim();
  }

  function data(): string {
    const r = docker([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${project}_app-data:/d`,
      IMAGE,
      'sh',
      '-c',
      'cd /d && find . -type f | sort | while read -r f; do echo "$f $(md5sum < "$f")"; done',
    ]);
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  }

  function imageId(ref: string): string {
    return docker(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout.trim();
  }

  async function waitHealthy(): Promise<void> {
    for (let i = 0; i < 60; i++) {
      if (
        docker([
          'ps',
          '-q',
          '--filter',
          `label=com.docker.compose.project=${project}`,
          '--filter',
          'label=com.docker.compose.service=app',
          '--filter',
          'health=healthy',
        ]).stdout.trim()
      )
        return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error('app did not become healthy');
  }

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
    '15',
    '--settle-seconds',
    '3',
    '--json',
    ...extra,
  ];

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'sg-upgrade-'));
    out = path.join(work, 'snapshots');
    mkdirSync(out);
    // versions: one image each (the image ID is what counts); the broken/unhealthy ones carry APP_MODE
    makeVersions(appRepo, {
      '1.0.0': '',
      '1.1.0': '',
      '2.0.0': '',
      '1.4.0': '',
      '1.2.0': 'broken',
      '1.5.0': 'unhealthy',
    });
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
      'modules/app/notes/1.1.0.md': '# 1.1.0\n\nFixes a bug. Nothing to do.\n',
      'modules/app/notes/1.2.0.md': '# 1.2.0\n\nFaster startup.\n',
      'modules/app/notes/2.0.0.md': '# 2.0.0\n\nNew storage engine.\n',
      'modules/app/notes/1.5.0.md': '# 1.5.0\n\nA cache that is wiped on start.\n',
      'modules/app/notes/1.4.0.md': '# 1.4.0\n\nManual migration required: run `app migrate --v4` before starting.\n',
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
  }, 240_000);

  afterAll(() => {
    removeProject(project);
    // a failed run may leave its journal (labelled with this project's operation key only)
    const marks = docker([
      'volume',
      'ls',
      '-q',
      '--filter',
      `label=io.stateguard.journal=${operationKey(project, 'app')}`,
    ])
      .stdout.split('\n')
      .filter(Boolean);
    if (marks.length) docker(['volume', 'rm', '-f', ...marks]);
    const locks = docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${project}`])
      .stdout.split('\n')
      .filter(Boolean);
    if (locks.length) docker(['rm', '-f', ...locks]);
    for (const v of docker(['volume', 'ls', '-q', '--filter', 'label=io.stateguard.lkg'])
      .stdout.split('\n')
      .filter(Boolean)) {
      if (docker(['volume', 'inspect', v]).stdout.includes(project)) docker(['volume', 'rm', '-f', v]);
    }
    removeTags(project);
    cleanupTempRepos();
    if (work) spawnSync('rm', ['-rf', work]);
  });

  beforeEach(() => {
    for (const f of readdirSync(out)) spawnSync('rm', ['-f', path.join(out, f)]);
  });

  it('a healthy update advances last-known-good; only the service was recreated; data intact', async () => {
    const before = data();
    const other = otherId();
    declare('1.1.0');
    // The plan's next step for this image bump leads through the upgrade gate (workflow and CLI line),
    // never "by hand with compose" (docs/architecture.md §4, "What allowed means").
    const p = await cli(['plan', '--root', repo, '--module', 'app'], repo);
    expect(p.stdout).toMatch(/an image bump \(\S+:1\.0\.0 → \S+:1\.1\.0, minor\) of a long-running stateful module/);
    expect(p.stdout).toContain('workflows/upgrade.yml');
    expect(p.stdout).toMatch(/stateguard upgrade --module app --allow-stateful/);
    expect(p.stdout).not.toMatch(/by hand with compose/);
    const r = await cli(upgradeArgs(), repo);
    if (r.code !== 0) throw new Error(`upgrade failed: ${r.stdout}\n${r.stderr}`);
    const j = JSON.parse(r.stdout) as { decision: string; bump: string; snapshot: string; downtime_ms: unknown };
    expect(j).toMatchObject({ decision: 'upgraded', bump: 'minor' });
    // downtime and the lines that say it (docs/architecture.md §7, "Downtime and progress")
    expect(Number.isInteger(j.downtime_ms) && (j.downtime_ms as number) > 0).toBe(true);
    expect(r.stderr).toMatch(/stopped \S+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    expect(r.stderr).toMatch(/started app again at \S+Z; down for /);
    expect(r.stderr).toMatch(/waiting 3 s for app to stay healthy \(settle window\)/);
    expect(appContainer().image).toBe(imageId(`${appRepo}:1.1.0`));
    expect(otherId()).toBe(other);
    expect(data()).toBe(before);
    const lkg = await runtime.readLastKnownGood(project, 'app');
    expect(lkg).toMatchObject({
      image_ref: `${appRepo}:1.1.0`,
      image_id: imageId(`${appRepo}:1.1.0`),
      snapshot: j.snapshot,
    });
    // the pre-upgrade snapshot is a safety copy apart (docs/architecture.md §7): no `app-*.tar.gz` pattern
    // picks it, and verify-backup says what it is when it is named explicitly
    expect(path.dirname(j.snapshot)).toBe(out);
    expect(path.basename(j.snapshot)).toMatch(/^app\.pre-upgrade\.\d{8}T\d{6}Z\.tar\.gz$/);
    expect(readdirSync(out).sort()).toEqual([path.basename(j.snapshot), `${path.basename(j.snapshot)}.sha256`]);
    expect(spawnSync('sh', ['-c', 'ls app-*.tar.gz'], { cwd: out, encoding: 'utf8' }).status).not.toBe(0);
    const v = await cli(
      ['verify-backup', '--root', repo, '--module', 'app', '--backup-ref', j.snapshot, '--backup-root', out, '--json'],
      repo,
    );
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ verified: true, kind: 'pre-upgrade', matched_module: 'app' });
  }, 240_000);

  it.each([
    // an unhealthy latest: the same-run rollback of 1.5.0 below (unhealthy, and a new environment)
    ['a broken latest (exits after writing a migration marker)', '1.2.0'],
  ])(
    '%s is rolled back: marker gone, data intact, previous image running',
    async (_name, version) => {
      await waitHealthy();
      const before = data();
      const previous = appContainer().image;
      const lkgBefore = await runtime.readLastKnownGood(project, 'app');
      declare(version);
      const r = await cli(upgradeArgs(), repo);
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout) as {
        decision: string;
        failure_reason: string;
        verdict: string;
        downtime_ms: unknown;
      };
      expect(j).toMatchObject({ decision: 'rolled-back', failure_reason: 'rolled-back' });
      expect(Number.isInteger(j.downtime_ms) && (j.downtime_ms as number) > 0).toBe(true);
      expect(data()).toBe(before);
      expect(data()).not.toMatch(/migration-marker/);
      expect(appContainer().image).toBe(previous);
      await waitHealthy();
      // last-known-good still names the version that runs again (the failed one never became it)
      const lkgAfter = await runtime.readLastKnownGood(project, 'app');
      expect(lkgAfter).toMatchObject({ image_id: previous });
      if (lkgBefore?.image_id === previous) expect(lkgAfter).toEqual(lkgBefore);
      declare('1.1.0');
    },
    240_000,
  );

  // a hold is decided before anything runs (no compose beyond the plan): v2 only
  itOnce.each([
    ['a major bump', '2.0.0', [], 'held-major'],
    ['release notes that flag a manual migration', '1.4.0', [], 'held-manual-migration'],
  ])(
    '%s is held: nothing touched, no snapshot written',
    async (_name, version, extra, reason) => {
      await waitHealthy();
      const c = appContainer();
      declare(version);
      const r = await cli(upgradeArgs(extra), repo);
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout) as {
        decision: string;
        failure_reason: string;
        release_notes: { excerpt: string } | null;
      };
      expect(j).toMatchObject({ decision: 'held', failure_reason: reason });
      if (reason === 'held-manual-migration') expect(j.release_notes?.excerpt).toMatch(/Manual migration required/);
      expect(appContainer()).toEqual(c);
      expect(readdirSync(out)).toEqual([]);
      expect(docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${project}`]).stdout.trim()).toBe('');
      declare('1.1.0');
    },
    120_000,
  );

  function appEnv(): string[] {
    return JSON.parse(docker(['inspect', '-f', '{{json .Config.Env}}', appContainer().id]).stdout) as string[];
  }

  async function modulePlan(): Promise<{ plan_hash: string; drift: { key: string; fields?: string[] }[] }> {
    const p = await cli(['plan', '--root', repo, '--module', 'app', '--json'], repo);
    const doc = JSON.parse(p.stdout) as {
      modules: { name: string; plan_hash: string; drift: { key: string; fields?: string[] }[] }[];
    };
    return doc.modules.find((m) => m.name === 'app')!;
  }

  /** The data a rollback must bring back, after the previous version has had time to run on it. */
  async function settledData(): Promise<string> {
    await waitHealthy();
    await new Promise((r) => setTimeout(r, 2000));
    return data();
  }

  /** Upgrade to 1.5.0 with a new environment; it fails its gate and is rolled back, in the run or by recover. */
  async function rollbackToPreviousDefinition(_name: string, killed: boolean): Promise<void> {
    await waitHealthy();
    const before = data();
    expect(before).toMatch(/db\/t/);
    const previous = appContainer().image;
    expect(appEnv().some((e) => e.startsWith('WIPE_CACHE_ON_START='))).toBe(false);
    declare('1.5.0', { WIPE_CACHE_ON_START: '1' });
    const reviewed = await modulePlan();
    expect(reviewed.drift.map((d) => d.key).sort()).toEqual(['container.config', 'container.image']);
    const args = upgradeArgs(['--expected-plan-hash', reviewed.plan_hash]);
    const lkgBefore = await runtime.readLastKnownGood(project, 'app');
    if (killed) {
      const r = await childCli(args, repo, { STATEGUARD_TEST_KILL_AT: 'after-deploy' });
      expect(r.signal).toBe('SIGKILL');
      // while interrupted, another upgrade refuses and names the open operation
      const refused = await cli(args, repo);
      expect(refused.stdout).toMatch(/interrupted-operation/);
      const rec = await cli(
        ['recover', '--root', repo, '--module', 'app', '--ready-timeout-seconds', '20', '--json'],
        repo,
      );
      if (rec.code !== 0) throw new Error(`recover failed: ${rec.stdout}\n${rec.stderr}`);
      expect(JSON.parse(rec.stdout)).toMatchObject({ decision: 'recovered', direction: 'reverted' });
      expect(rec.stdout).not.toContain('WIPE_CACHE_ON_START=');
    } else {
      const r = await cli(args, repo);
      const j = JSON.parse(r.stdout) as {
        decision: string;
        failure_reason: string;
        verdict: string;
        downtime_ms: unknown;
      };
      if (j.decision !== 'rolled-back') throw new Error(`not rolled back: ${r.stdout}\n${r.stderr}`);
      expect(r.code).toBe(1);
      expect(j).toMatchObject({ decision: 'rolled-back', failure_reason: 'rolled-back' });
      expect(Number.isInteger(j.downtime_ms) && (j.downtime_ms as number) > 0).toBe(true);
      expect(j.verdict).toMatch(/the previous container as recorded before the deploy/);
      expect(r.stdout).not.toContain('WIPE_CACHE_ON_START=');
    }
    expect(appEnv().some((e) => e.startsWith('WIPE_CACHE_ON_START='))).toBe(false);
    expect(appContainer().image).toBe(previous);
    const settled = await settledData();
    expect(settled).toBe(before);
    expect(settled).not.toMatch(/migration-marker/);
    // last-known-good still names the version that runs again (the failed one never became it)
    const lkgAfter = await runtime.readLastKnownGood(project, 'app');
    expect(lkgAfter).toMatchObject({ image_id: previous });
    if (lkgBefore?.image_id === previous) expect(lkgAfter).toEqual(lkgBefore);
    // The module drifted, truthfully: declared 1.5.0 with the new environment, running the previous definition.
    const after = await modulePlan();
    expect(after.drift.map((d) => d.key).sort()).toEqual(['container.config', 'container.image']);
    declare('1.1.0');
  }
  const ROLLBACK =
    'a rollback %s recreates the previous definition: the new environment does not ride along onto the old image';
  // the same rollback as the killed run's (a docker-level recreate of the recorded definition): v2 only
  itOnce.each([['in the same run', false] as const])(ROLLBACK, rollbackToPreviousDefinition, 240_000);
  it.each([['by recover after a SIGKILL right after the deploy', true] as const])(
    ROLLBACK,
    rollbackToPreviousDefinition,
    240_000,
  );
});

describeDocker('upgrade after a rollback, and the pinned images upgrades leave behind', () => {
  const project = uniqueProject('sgupr');
  const appRepo = `${project}/app`;
  const key = operationKey(project, 'app');
  /** a pinned tag of another module: never touched by this module's retention */
  const foreign = `stateguard/pinned-${operationKey(`${project}x`, 'app')}:20200101000000`;
  let repo = '';
  let work = '';
  let out = '';

  const composeFile = (version: string): string => `version: "3.7"
services:
  app:
    image: ${appRepo}:${version}
    command: ["sh", "-c", "case \\"$$APP_MODE\\" in broken) echo migrated > /data/migration-marker; exit 1;; esac; trap 'exit 0' TERM INT; while true; do sleep 1; done"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /data/healthy"]
      interval: 1s
      timeout: 2s
      retries: 2
    volumes:
      - app-data:/data
  other:
    image: ${IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1; done"]
volumes:
  app-data: {}
`;
  const declare = (version: string): void => writeFileSync(path.join(repo, 'compose.yaml'), composeFile(version));
  const ps = (service: string, extra: string[] = []): string[] =>
    docker([
      'ps',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
      ...extra,
    ])
      .stdout.split('\n')
      .filter(Boolean);
  const app = (): { id: string; imageId: string; ref: string } => {
    const [id] = ps('app');
    const [imageId, ref] = docker(['inspect', '-f', '{{.Image}} {{.Config.Image}}', id!]).stdout.trim().split(' ');
    return { id: id!, imageId: imageId!, ref: ref! };
  };
  const imageId = (ref: string): string => docker(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout.trim();
  const pinnedTags = (): string[] =>
    docker(['image', 'ls', '--filter', `reference=stateguard/pinned-${key}`, '--format', '{{.Repository}}:{{.Tag}}'])
      .stdout.split('\n')
      .filter(Boolean)
      .sort();
  const data = (): string => {
    const r = docker([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${project}_app-data:/d`,
      IMAGE,
      'sh',
      '-c',
      'cd /d && find . -type f | sort | while read -r f; do echo "$f $(md5sum < "$f")"; done',
    ]);
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  async function waitHealthy(): Promise<void> {
    for (let i = 0; i < 60; i++) {
      if (ps('app', ['--filter', 'health=healthy']).length) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error('app did not become healthy');
  }
  async function upgrade(): Promise<{
    code: number;
    j: {
      decision: string;
      bump: string;
      failure_reason: string;
      pinned_image: string;
      removed_pinned_images: string[];
      messages: string[];
    };
  }> {
    const r = await cli(
      [
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
        '15',
        '--settle-seconds',
        '2',
        '--json',
      ],
      repo,
    );
    return { code: r.code, j: JSON.parse(r.stdout) };
  }
  async function pending(): Promise<{ from: string; bump: string; would_hold: string } | undefined> {
    const r = await cli(['plan', '--root', repo, '--json'], repo);
    expect(r.code).toBe(0);
    return (
      JSON.parse(r.stdout) as { modules: Array<{ upgrade?: { from: string; bump: string; would_hold: string } }> }
    ).modules[0]!.upgrade;
  }

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'sg-upgrade-r-'));
    out = path.join(work, 'snapshots');
    mkdirSync(out);
    makeVersions(appRepo, { '1.0.0': '', '1.0.1': '', '1.0.2': '', '1.0.3': '', '1.0.4': '', '1.1.0': 'broken' });
    expect(docker(['tag', IMAGE, foreign]).status).toBe(0);
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
`,
      ),
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
  }, 240_000);

  afterAll(() => {
    removeProject(project);
    const locks = docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${project}`])
      .stdout.split('\n')
      .filter(Boolean);
    if (locks.length) docker(['rm', '-f', ...locks]);
    for (const v of docker(['volume', 'ls', '-q', '--filter', 'label=io.stateguard.lkg'])
      .stdout.split('\n')
      .filter(Boolean)) {
      if (docker(['volume', 'inspect', v]).stdout.includes(project)) docker(['volume', 'rm', '-f', v]);
    }
    removeTags(project);
    docker(['rmi', foreign]);
    cleanupTempRepos();
    if (work) spawnSync('rm', ['-rf', work]);
  });

  it('a rolled-back first upgrade: the running version declared again is no bump, a patch is a patch (plan and upgrade agree)', async () => {
    const before = data();
    declare('1.1.0');
    const broken = await upgrade();
    expect(broken.j).toMatchObject({ decision: 'rolled-back' });
    await waitHealthy();
    expect(app().imageId).toBe(imageId(`${appRepo}:1.0.0`));
    // recreated from the definition recorded before the deploy: by image ID, never a tag that may move
    expect(app().ref).toBe(imageId(`${appRepo}:1.0.0`));
    expect(data()).toBe(before);

    // a patch of the version that runs (last-known-good says that image stands for 1.0.0)
    declare('1.0.1');
    expect(await pending()).toMatchObject({ from: `${appRepo}:1.0.0`, bump: 'patch', would_hold: '' });

    // the version that runs, declared again: no bump, not held; recreated on the declared reference
    declare('1.0.0');
    expect(await pending()).toMatchObject({ from: `${appRepo}:1.0.0`, bump: 'none', would_hold: '' });
    const same = await upgrade();
    expect(same.code).toBe(0);
    expect(same.j).toMatchObject({ decision: 'upgraded', bump: 'none', failure_reason: '' });
    expect(app()).toMatchObject({ imageId: imageId(`${appRepo}:1.0.0`), ref: `${appRepo}:1.0.0` });
    expect(data()).toBe(before);

    declare('1.0.1');
    expect(await pending()).toMatchObject({ from: `${appRepo}:1.0.0`, bump: 'patch', would_hold: '' });
    const patch = await upgrade();
    expect(patch.j).toMatchObject({ decision: 'upgraded', bump: 'patch' });
    expect(app().imageId).toBe(imageId(`${appRepo}:1.0.1`));
  }, 240_000);

  // pinned-tag retention is image bookkeeping on the engine: v2 only
  itOnce(
    'three successive healthy upgrades: exactly the last two pinned tags of the module remain; the service runs on',
    async () => {
      const other = ps('other');
      const pins: string[] = [];
      let last: Awaited<ReturnType<typeof upgrade>> | undefined;
      for (const v of ['1.0.2', '1.0.3', '1.0.4']) {
        declare(v);
        last = await upgrade();
        expect(last.j).toMatchObject({ decision: 'upgraded', bump: 'patch' });
        pins.push(last.j.pinned_image);
        expect(pinnedTags().slice(-2)).toContain(last.j.pinned_image);
        expect(pinnedTags().length).toBeLessThanOrEqual(2);
      }
      expect(pinnedTags()).toEqual(pins.slice(-2).sort());
      expect(last!.j.removed_pinned_images).toEqual([pins[0]]);
      expect(last!.j.messages).toContain(`removed 1 older pinned image tag(s) of this module: ${pins[0]}`);
      // the pinned images still exist under their kept tags; another module's pin is untouched
      expect(imageId(pins[2]!)).toBe(imageId(`${appRepo}:1.0.3`));
      expect(imageId(foreign)).toBe(imageId(IMAGE));
      // the running container is unaffected: running, healthy, on 1.0.4; the other service untouched
      await waitHealthy();
      expect(app().imageId).toBe(imageId(`${appRepo}:1.0.4`));
      expect(ps('other')).toEqual(other);
    },
    300_000,
  );
});
