/**
 * restore's helper image on the real engine (docs/architecture.md §12): the probe accepts an image
 * with a shell and the tools, names why another cannot be used, and never pulls; a module whose own
 * image has no shell is refused (`helper-unavailable`, nothing stopped) until `--helper-image`
 * names a local one, and then restores.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../../src/cli.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import {
  IMAGE,
  NOSHELL_IMAGE,
  compose,
  describeDocker,
  docker,
  removeProject,
  uniqueProject,
} from '../support/docker.js';

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

describeDocker('restore helper image on the real engine', () => {
  const runtime = new DockerCli();
  const project = uniqueProject('sghelp');
  let repo = '';
  let work = '';

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'sg-helper-'));
    mkdirSync(path.join(work, 'backups'));
    repo = tempRepo({
      'compose.yaml': `version: "3.7"
services:
  vault:
    image: ${NOSHELL_IMAGE}
    volumes:
      - vault-data:/data
volumes:
  vault-data: {}
`,
      'modules/vault/module.yaml': moduleYaml(
        'vault',
        `  class: stateful
  compose: { file: ../../compose.yaml, project: ${project}, service: vault }
  backup: { ref_modules: [vault], max_age_hours: 24 }
  data:
    volumes:
      - { volume: vault-data, path: /data }
`,
      ),
    });
    const up = compose([path.join(repo, 'compose.yaml')], project, ['up', '-d']);
    if (up.status !== 0) throw new Error(`compose up failed: ${up.stderr}`);
    const seed = compose([path.join(repo, 'compose.yaml')], project, [
      'exec',
      '-T',
      'vault',
      '/bin/busybox',
      'sh',
      '-c',
      'echo one > /data/secret',
    ]);
    if (seed.status !== 0) throw new Error(`seeding failed: ${seed.stderr}`);
  }, 120_000);

  afterAll(() => {
    removeProject(project);
    const locks = docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${project}`])
      .stdout.split('\n')
      .filter(Boolean);
    if (locks.length) docker(['rm', '-f', ...locks]);
    cleanupTempRepos();
    if (work) spawnSync('rm', ['-rf', work]);
  });

  it.each([
    [IMAGE, null],
    [NOSHELL_IMAGE, /no \/bin\/sh|lacks/],
    ['stateguard/not-here:0.0.1', /not on the engine/],
  ])(
    'helperImageProblem(%s)',
    async (image, expected) => {
      const problem = await runtime.helperImageProblem(image);
      if (expected === null) expect(problem).toBeNull();
      else expect(problem).toMatch(expected);
      // never pulled
      expect(docker(['image', 'inspect', 'stateguard/not-here:0.0.1']).status).not.toBe(0);
    },
    60_000,
  );

  it('a module whose image has no shell is refused naming helper-image, then restores with it', async () => {
    const backups = path.join(work, 'backups');
    const snap = await cli(['snapshot', '--root', repo, '--module', 'vault', '--out-dir', backups, '--json'], repo);
    if (snap.code !== 0) throw new Error(`snapshot failed: ${snap.stdout}${snap.stderr}`);
    const ref = (JSON.parse(snap.stdout) as { path: string }).path;
    const changed = compose([path.join(repo, 'compose.yaml')], project, [
      'exec',
      '-T',
      'vault',
      '/bin/busybox',
      'sh',
      '-c',
      'echo two > /data/secret',
    ]);
    expect(changed.status).toBe(0);
    const [before] = (await runtime.listProjectContainers(project)).filter((c) => c.service === 'vault');
    const args = [
      'restore',
      '--root',
      repo,
      '--module',
      'vault',
      '--backup-ref',
      ref,
      '--backup-root',
      backups,
      '--allow-stateful',
      '--confirm',
      path.basename(ref),
      '--json',
    ];
    const refused = await cli(args, repo);
    expect(refused.code).toBe(1);
    const j = JSON.parse(refused.stdout) as { failure_reason: string; verdict: string };
    expect(j.failure_reason).toBe('helper-unavailable');
    expect(j.verdict).toMatch(/helper-image/);
    // nothing was stopped
    const [still] = await runtime.inspectContainers([before!.id]);
    expect(still!.state).toBe('running');

    const ok = await cli([...args, '--helper-image', IMAGE], repo);
    if (ok.code !== 0) throw new Error(`restore failed: ${ok.stdout}${ok.stderr}`);
    const read = compose([path.join(repo, 'compose.yaml')], project, [
      'exec',
      '-T',
      'vault',
      '/bin/busybox',
      'cat',
      '/data/secret',
    ]);
    expect(read.stdout.trim()).toBe('one');
  }, 180_000);
});
