/**
 * Backup provenance on the real engine and real compose (docs/architecture.md §16): snapshot writes
 * the manifest, verify-backup accepts that archive and refuses a renamed one, another project's, one
 * with an entry appended by GNU tar, one without a manifest (accepted with --allow-legacy-archive),
 * and a backup 95% smaller than the one before it (accepted with --allow-shrink).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { archiveName } from '../../src/backup/names.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { IMAGE, describeDocker, docker, removeProject, uniqueProject } from '../support/docker.js';

const COMPOSE = `version: "3.7"
services:
  store:
    image: ${IMAGE}
    command: ["sh", "-c", "mkdir -p /data && trap 'exit 0' TERM INT; while true; do sleep 1; done"]
    volumes:
      - store-data:/data
volumes:
  store-data: {}
`;

function repoFor(project: string): string {
  return tempRepo({
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
  });
}

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

function sh(args: string[], cwd?: string): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', cwd });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

interface Report {
  verified: boolean;
  problems: { code: string; message: string }[];
  warnings: { code: string; message: string }[];
  manifest: null | {
    module: string;
    project: string;
    kind: string;
    volumes: { name: string; entries: number; bytes: number }[];
    image: { ref: string; id: string };
    engine_id: string;
  };
}

describeDocker('backup provenance on the real engine', () => {
  const projectA = uniqueProject('sgprova');
  const projectB = uniqueProject('sgprovb');
  let repoA = '';
  let repoB = '';
  let work = '';
  let backups = '';
  /** A's snapshot with 100 files of 1 KiB in its volume */
  let full = '';
  const runtime = new DockerCli();

  const snapshot = async (repo: string, out: string): Promise<string> => {
    const r = await cli(['snapshot', '--root', repo, '--module', 'store', '--out-dir', out, '--json'], repo);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    return (JSON.parse(r.stdout) as { path: string }).path;
  };
  const verify = async (
    file: string,
    ...extra: string[]
  ): Promise<{ code: number; report: Report; stderr: string }> => {
    const r = await cli(
      [
        'verify-backup',
        '--root',
        repoA,
        '--module',
        'store',
        '--backup-ref',
        file,
        '--backup-root',
        path.dirname(file),
        '--json',
        ...extra,
      ],
      repoA,
    );
    return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
  };
  const codes = (r: Report): string[] => [...new Set(r.problems.map((p) => p.code))].sort();
  /** A name of A's module, `minutesAgo` old (a stamp no snapshot of this run has). */
  const nameAgo = (minutesAgo: number): string => archiveName('store', new Date(Date.now() - minutesAgo * 60_000));

  beforeAll(async () => {
    repoA = repoFor(projectA);
    repoB = repoFor(projectB);
    work = mkdtempSync(path.join(tmpdir(), 'sg-provint-'));
    backups = path.join(work, 'backups');
    mkdirSync(backups);
    for (const [project, repo] of [
      [projectA, repoA],
      [projectB, repoB],
    ] as const) {
      const up = await runtime.composeUp({ project, files: [path.join(repo, 'compose.yaml')] }, ['store']);
      expect(up.code).toBe(0);
    }
    const [storeA] = await runtime.listProjectContainers(projectA);
    const seed = docker([
      'exec',
      storeA!.id,
      'sh',
      '-c',
      'for i in $(seq 1 100); do head -c 1024 /dev/urandom > /data/f$i; done',
    ]);
    expect(seed.status).toBe(0);
    const [storeB] = await runtime.listProjectContainers(projectB);
    expect(docker(['exec', storeB!.id, 'sh', '-c', 'echo b > /data/b']).status).toBe(0);
    full = await snapshot(repoA, path.join(work, 'a-full'));
  }, 180_000);

  afterAll(() => {
    removeProject(projectA);
    removeProject(projectB);
    cleanupTempRepos();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("snapshot's archive carries the manifest: module, project, counts, the container's image and the engine", async () => {
    const { code, report } = await verify(full);
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    const [storeA] = await runtime.listProjectContainers(projectA);
    expect(report.manifest).toMatchObject({
      module: 'store',
      project: projectA,
      kind: 'backup',
      volumes: [{ name: 'store-data', entries: 101, bytes: 100 * 1024 }],
      image: { ref: storeA!.imageRef, id: storeA!.imageId },
      engine_id: docker(['info', '--format', '{{.ID}}']).stdout.trim(),
    });
  });

  it('a renamed backup (a newer stamp on an older archive) is refused: manifest-mismatch', async () => {
    const renamed = path.join(backups, nameAgo(-1));
    copyFileSync(full, renamed);
    const { code, report } = await verify(renamed);
    expect(code).toBe(1);
    expect(codes(report)).toEqual(['manifest-mismatch']);
  });

  it("another project's backup of a module of the same name is refused: manifest-wrong-project", async () => {
    const other = await snapshot(repoB, path.join(work, 'b'));
    const dir = path.join(work, 'mixed');
    mkdirSync(dir);
    const planted = path.join(dir, path.basename(other));
    copyFileSync(other, planted);
    const { code, report } = await verify(planted);
    expect(code).toBe(1);
    expect(codes(report)).toEqual(['manifest-wrong-project']);
    expect(report.problems[0]!.message).toContain(projectB);
  }, 120_000);

  it('an entry appended with GNU tar after writing is refused: manifest-counts', async () => {
    const dir = path.join(work, 'appended');
    mkdirSync(path.join(dir, 'src', 'store-data'), { recursive: true });
    writeFileSync(path.join(dir, 'src', 'store-data', 'planted'), 'not from the snapshot\n');
    const plain = path.join(dir, 'x.tar');
    sh(['sh', '-c', `gzip -dc "${full}" > "${plain}"`]);
    sh(['tar', '-rf', plain, '-C', path.join(dir, 'src'), 'store-data/planted']);
    const target = path.join(dir, path.basename(full));
    sh(['sh', '-c', `gzip -c "${plain}" > "${target}"`]);
    const { code, report } = await verify(target);
    expect(code).toBe(1);
    expect(codes(report)).toEqual(['manifest-counts']);
  });

  it('an archive without a manifest is refused (no-manifest), then accepted with --allow-legacy-archive and a warning', async () => {
    const dir = path.join(work, 'legacy');
    mkdirSync(path.join(dir, 'x'), { recursive: true });
    sh(['tar', '-xzf', full, '-C', path.join(dir, 'x')]);
    const legacy = path.join(dir, path.basename(full));
    sh(['tar', '-czf', legacy, '-C', path.join(dir, 'x'), 'store-data']);
    const refused = await verify(legacy);
    expect(refused.code).toBe(1);
    expect(codes(refused.report)).toEqual(['no-manifest']);
    const accepted = await verify(legacy, '--allow-legacy-archive');
    expect(accepted.code).toBe(0);
    expect(accepted.report.manifest).toBeNull();
    expect(accepted.report.warnings.map((w) => w.code)).toEqual(['legacy-archive']);
    expect(accepted.stderr).toMatch(/NOT checked/);
  });

  it('a backup 95% smaller than the one before it is held (backup-shrank), then accepted with --allow-shrink', async () => {
    const dir = path.join(work, 'shrink');
    mkdirSync(dir);
    copyFileSync(full, path.join(dir, path.basename(full)));
    const [storeA] = await runtime.listProjectContainers(projectA);
    expect(docker(['exec', storeA!.id, 'sh', '-c', 'for i in $(seq 6 100); do rm /data/f$i; done']).status).toBe(0);
    // a second apart, so the new snapshot has a later stamp than the full one
    await new Promise((r) => setTimeout(r, 1100));
    const small = await snapshot(repoA, dir);
    const held = await verify(small);
    expect(held.code).toBe(1);
    expect(codes(held.report)).toEqual(['backup-shrank']);
    expect(held.report.problems[0]!.message).toMatch(/102400 → 5120 bytes \(-95\.0%\) and 101 → 6 entries/);
    const accepted = await verify(small, '--allow-shrink');
    expect(accepted.code).toBe(0);
    expect(accepted.report.warnings.map((w) => w.code)).toEqual(['shrink-allowed']);
  }, 120_000);
});
