/**
 * e2e-gate --restore-drill on the real engine and real compose: a backup taken of state A is
 * restored into scratch volumes while the live module runs on state B; the e2e command reads the
 * drill container and sees A, the live volume still holds B, the live container is untouched, and
 * no drill volume or container is left. The CLI runs in-process (src/cli.ts), not dist/.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { IMAGE, compose, describeDocker, docker, removeProject, uniqueProject } from '../support/docker.js';

async function cli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { ...process.env, ...env },
    cwd,
  });
  return { code, stdout, stderr };
}

/** The check prints its drill's key (the drill container's label), so the test can look for what it left. */
const SAY_DRILL =
  'echo "drill key: $(docker inspect -f \'{{index .Config.Labels "io.stateguard.drill"}}\' "$STATEGUARD_DRILL_CONTAINER")"; ';

/**
 * What this test's drill left on the engine: containers and volumes labelled with its key (the
 * other flavor's drill may run at the same time on the same engine).
 */
function drillLeft(output: string): string {
  const key = /drill key: ([0-9a-f]{8,64})\b/.exec(output)?.[1];
  if (!key) throw new Error(`the check did not print its drill's key: ${output}`);
  const filter = `label=io.stateguard.drill=${key}`;
  return (
    docker(['ps', '-aq', '--filter', filter]).stdout.trim() +
    docker(['volume', 'ls', '-q', '--filter', filter]).stdout.trim()
  );
}

describeDocker('e2e-gate --restore-drill on the real engine', () => {
  const project = uniqueProject('sgdrill');
  let repo = '';
  let work = '';
  let backups = '';
  let backupA = '';
  let composeFile = '';

  function liveData(): string {
    const r = compose([composeFile], project, ['exec', '-T', 'db', 'cat', '/data/x']);
    if (r.status !== 0) throw new Error(`exec failed: ${r.stderr}`);
    return r.stdout;
  }
  const liveContainer = (): string =>
    docker([
      'ps',
      '-a',
      '--no-trunc',
      '--format',
      '{{.ID}} {{.Status}}',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    ]).stdout.replace(/\d+ seconds?|About a minute|\d+ minutes?/g, 'T');

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'sg-drill-'));
    backups = path.join(work, 'backups');
    mkdirSync(backups);
    repo = tempRepo({
      'compose.yaml': `version: "3.7"
services:
  db:
    image: ${IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 1; done"]
    environment:
      DRILL_SECRET: drill-s3cret-value
    healthcheck:
      test: ["CMD", "test", "-f", "/data/healthy"]
      interval: 1s
      timeout: 2s
      retries: 2
    volumes:
      - data:/data
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
`,
      ),
    });
    composeFile = path.join(repo, 'compose.yaml');
    const up = compose([composeFile], project, ['up', '-d']);
    if (up.status !== 0) throw new Error(`compose up failed: ${up.stderr}`);
    const exec = (s: string): void => {
      const r = compose([composeFile], project, ['exec', '-T', 'db', 'sh', '-c', s]);
      if (r.status !== 0) throw new Error(`exec failed: ${r.stderr}`);
    };
    exec('echo state-A > /data/x && : > /data/healthy');
    for (
      let i = 0;
      i < 60 &&
      docker([
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        'health=healthy',
      ]).stdout.trim() === '';
      i++
    ) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const snap = await cli(['snapshot', '--root', repo, '--module', 'db', '--out-dir', backups, '--json'], repo);
    if (snap.code !== 0) throw new Error(`snapshot failed: ${snap.stdout}${snap.stderr}`);
    backupA = (JSON.parse(snap.stdout) as { path: string }).path;
    for (
      let i = 0;
      i < 60 &&
      docker([
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        'health=healthy',
      ]).stdout.trim() === '';
      i++
    ) {
      await new Promise((r) => setTimeout(r, 500));
    }
    exec('echo state-B > /data/x');
  }, 240_000);

  afterAll(() => {
    removeProject(project);
    cleanupTempRepos();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const drillArgs = (...extra: string[]): string[] => [
    'e2e-gate',
    '--root',
    repo,
    '--restore-drill',
    'db',
    '--backup-ref',
    backupA,
    '--backup-root',
    backups,
    '--json',
    ...extra,
  ];

  it("the drill container holds the backup's data, the live volume keeps the new data, nothing is left", async () => {
    const before = liveContainer();
    const r = await cli(
      drillArgs(
        '--',
        'sh',
        '-c',
        SAY_DRILL +
          'echo "drill sees: $(docker exec "$STATEGUARD_DRILL_CONTAINER" cat /data/x)"; docker exec "$STATEGUARD_DRILL_CONTAINER" grep -qx state-A /data/x',
      ),
      repo,
      { STAGING_E2E: '1' },
    );
    if (r.code !== 0) throw new Error(`drill failed: ${r.stdout}\n${r.stderr}`);
    expect(r.stdout + r.stderr).toContain('drill sees: state-A');
    const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      status: string;
      restore_drill: Record<string, unknown>;
    };
    expect(j.status).toBe('passed');
    expect(j.restore_drill).toMatchObject({ module: 'db', backup: backupA, verified: true, container_ready: true });
    expect((j.restore_drill.volumes as { volume: string }[]).map((v) => v.volume)).toEqual(['data']);
    expect(liveData()).toBe('state-B\n');
    expect(liveContainer()).toBe(before);
    expect(drillLeft(r.stdout + r.stderr)).toBe('');
    expect(r.stdout + r.stderr).not.toContain('drill-s3cret-value');
  }, 240_000);

  it('a failing check fails the gate and still removes the scratch', async () => {
    const r = await cli(
      drillArgs('--', 'sh', '-c', SAY_DRILL + 'docker exec "$STATEGUARD_DRILL_CONTAINER" grep -qx state-B /data/x'),
      repo,
      { STAGING_E2E: '1' },
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))).toMatchObject({
      status: 'failed',
      failure_reason: 'e2e-failed',
    });
    expect(drillLeft(r.stdout + r.stderr)).toBe('');
    expect(liveData()).toBe('state-B\n');
  }, 240_000);
});
