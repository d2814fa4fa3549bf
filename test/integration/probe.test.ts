/**
 * The persistence probe on the real engine and real compose: each test its own compose project,
 * removed afterwards (containers, volumes, networks).
 */
import { afterAll, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { runPersistenceProbe, type ProbeModule } from '../../src/probe/persistence.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { describeDocker, docker, IMAGE, NOSHELL_IMAGE, removeProject, uniqueProject } from '../support/docker.js';

afterAll(cleanupTempRepos);

/** SIGKILL on stop: `sleep` as PID 1 ignores SIGTERM, and each recreate would otherwise wait 10 s. */
function compose(opts: { image?: string; command: string[]; volume: boolean }): string {
  return [
    'version: "3.7"',
    'services:',
    '  db:',
    `    image: ${opts.image ?? IMAGE}`,
    `    command: ${JSON.stringify(opts.command)}`,
    '    stop_signal: SIGKILL',
    ...(opts.volume ? ['    volumes:', '      - db-data:/data'] : []),
    'volumes:',
    '  db-data: {}',
    '',
  ].join('\n');
}

const SLEEP_WITH_DATA_DIR = ['sh', '-c', 'mkdir -p /data && exec sleep 3600'];

function repo(project: string, composeText: string): { dir: string; mod: ProbeModule } {
  const dir = tempRepo({
    'compose.yaml': composeText,
    'modules/db/module.yaml': moduleYaml(
      'db',
      `  class: stateful
  compose: { file: ../../compose.yaml, project: ${project}, service: db }
  backup: { ref_modules: [db], max_age_hours: 24 }
  data:
    volumes:
      - { volume: db-data, path: /data }
    ephemeral_paths: [/tmp]
`,
    ),
  });
  return {
    dir,
    mod: {
      name: 'db',
      expectedState: 'running',
      compose: { path: path.join(dir, 'compose.yaml'), project, service: 'db' },
      volumes: [{ volume: 'db-data', path: '/data' }],
      ephemeralPaths: ['/tmp'],
      timeoutSeconds: 60,
    },
  };
}

async function up(runtime: DockerCli, mod: ProbeModule): Promise<void> {
  const r = await runtime.composeUp({ project: mod.compose.project, files: [mod.compose.path] });
  if (r.code !== 0) throw new Error(`compose up failed: ${r.stderr}`);
}

/** Names in a directory of the running service container, read with the image's own busybox. */
function listDir(project: string, dir: string): string[] {
  const id = docker([
    'ps',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    'label=com.docker.compose.service=db',
  ]).stdout.trim();
  const r = docker(['exec', id, '/bin/busybox', 'ls', '-a', dir]);
  if (r.status !== 0) throw new Error(`ls failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((n) => n && n !== '.' && n !== '..');
}

describeDocker('persistence probe on the real engine', () => {
  const runtime = new DockerCli();
  const now = () => new Date();

  it('a named volume keeps its sentinel and /tmp loses it: passes, new container ID, sentinels removed', async () => {
    const project = uniqueProject('sgprobe');
    try {
      const { mod } = repo(project, compose({ command: ['sleep', '3600'], volume: true }));
      await up(runtime, mod);
      docker(['exec', (await runtime.listProjectContainers(project))[0]!.id, 'sh', '-c', 'echo keep > /data/app.db']);
      const r = await runPersistenceProbe(mod, { runtime, now });
      expect(r.problems).toEqual([]);
      expect(r.passed).toBe(true);
      expect(r.old_container).toMatch(/^[0-9a-f]{64}$/);
      expect(r.new_container).toMatch(/^[0-9a-f]{64}$/);
      expect(r.new_container).not.toBe(r.old_container);
      expect(r.checks.map((c) => [c.kind, c.path, c.written, c.after_recreate, c.ok])).toEqual([
        ['durable', '/data', true, 'present', true],
        ['ephemeral', '/tmp', true, 'absent', true],
      ]);
      // cleaned up; the application's own data untouched
      expect(r.cleanup.left).toEqual([]);
      expect(listDir(project, '/data')).toEqual(['app.db']);
    } finally {
      removeProject(project);
    }
  });

  it('a container created before its compose file gained the volume loses its sentinel: DATA-VOLUME REGRESSION', async () => {
    const project = uniqueProject('sgprobe');
    try {
      const { dir, mod } = repo(project, compose({ command: SLEEP_WITH_DATA_DIR, volume: false }));
      await up(runtime, mod);
      // The repo now declares the volume, but the running container still keeps /data in its own layer.
      writeFileSync(path.join(dir, 'compose.yaml'), compose({ command: SLEEP_WITH_DATA_DIR, volume: true }));
      const r = await runPersistenceProbe(mod, { runtime, now });
      expect(r.passed).toBe(false);
      const oldId = r.old_container!.slice(0, 12);
      const newId = r.new_container!.slice(0, 12);
      expect(r.problems).toEqual([
        `DATA-VOLUME REGRESSION: db-data at /data lost its sentinel across recreate (${oldId} → ${newId})`,
      ]);
      expect(r.checks[1]).toMatchObject({ kind: 'ephemeral', ok: true });
    } finally {
      removeProject(project);
    }
  });

  it('an image without a shell works (docker cp in, /bin/busybox rm to clean up)', async () => {
    const project = uniqueProject('sgprobe');
    try {
      const { mod } = repo(
        project,
        compose({ image: NOSHELL_IMAGE, command: ['/bin/busybox', 'sleep', '3600'], volume: true }),
      );
      await up(runtime, mod);
      const r = await runPersistenceProbe(mod, { runtime, now });
      expect(r.problems).toEqual([]);
      expect(r.passed).toBe(true);
      expect(r.cleanup).toEqual({ removed: [`/data/${r.checks[0]!.sentinel}`], left: [], note: null });
      expect(listDir(project, '/data')).toEqual([]);
    } finally {
      removeProject(project);
    }
  });

  it('an ephemeral path that is really a volume is caught: declared ephemeral but persisted', async () => {
    const project = uniqueProject('sgprobe');
    try {
      const { mod } = repo(project, compose({ command: ['sleep', '3600'], volume: true }));
      await up(runtime, mod);
      const r = await runPersistenceProbe(mod, { runtime, now });
      expect(r.passed).toBe(true);
      // declare the volume's path as ephemeral as well: its sentinel survives, which must fail
      const wrong = await runPersistenceProbe({ ...mod, volumes: [], ephemeralPaths: ['/data'] }, { runtime, now });
      expect(wrong.passed).toBe(false);
      expect(wrong.problems[0]).toMatch(/^EPHEMERAL PATH PERSISTED: \/data is declared ephemeral but persisted/);
      expect(listDir(project, '/data')).toEqual([]);
    } finally {
      removeProject(project);
    }
  });

  it('a module without a running container is a clear failure, not a pass (and nothing is created)', async () => {
    const project = uniqueProject('sgprobe');
    try {
      const { mod } = repo(project, compose({ command: ['sleep', '3600'], volume: true }));
      const r = await runPersistenceProbe(mod, { runtime, now });
      expect(r.passed).toBe(false);
      expect(r.problems[0]).toMatch(
        new RegExp(
          `^no running container for module db \\(service db of compose project ${project}\\): no container exists for it`,
        ),
      );
      expect(await runtime.listProjectContainers(project)).toEqual([]);
    } finally {
      removeProject(project);
    }
  });

  it('through the CLI: e2e-gate --persistence-probe, then the command; exit code, JSON and text agree', async () => {
    const project = uniqueProject('sgprobe');
    try {
      const { dir, mod } = repo(project, compose({ command: SLEEP_WITH_DATA_DIR, volume: false }));
      await up(runtime, mod);
      let out = '';
      let err = '';
      const io = {
        stdout: (t: string) => (out += t),
        stderr: (t: string) => (err += t),
        env: { ...process.env, STAGING_E2E: '1', E2E_TOKEN: 's3cr3t-VALUE-xyz' } as Record<string, string>,
        cwd: dir,
      };
      const argv = [
        'e2e-gate',
        '--json',
        '--persistence-probe',
        'db',
        '--require',
        'E2E_TOKEN',
        '--',
        process.execPath,
        '-e',
        "console.log('E2E-RAN', process.env.E2E_TOKEN)",
      ];
      // The running container predates the volume that the compose file (and the module) now declare.
      writeFileSync(path.join(dir, 'compose.yaml'), compose({ command: SLEEP_WITH_DATA_DIR, volume: true }));
      const code0 = await runCli(argv, io);
      expect(JSON.parse(out)).toMatchObject({
        status: 'failed',
        failure_reason: 'probe-failed',
        probe: { passed: false },
      });
      expect(code0).toBe(1);
      expect(err).toMatch(
        /e2e gate FAILED: the persistence probe of module db failed; the e2e command was not run: DATA-VOLUME REGRESSION: db-data at \/data lost its sentinel across recreate \([0-9a-f]{12} → [0-9a-f]{12}\)/,
      );
      expect(err).not.toContain('E2E-RAN');
      // That recreate mounted the volume: the next gate run passes, then runs the command.
      out = '';
      err = '';
      const code1 = await runCli(argv, io);
      expect(JSON.parse(out)).toMatchObject({
        status: 'passed',
        failure_reason: '',
        probe: { passed: true },
        command: { exit_code: 0 },
      });
      expect(code1).toBe(0);
      expect(err).toContain('E2E-RAN ***');
      expect(out + err).not.toContain('s3cr3t-VALUE-xyz');
    } finally {
      removeProject(project);
    }
  });
});
