/**
 * The restore drill (src/restore/drill.ts, e2e-gate --restore-drill) on the simulated engine: the
 * backup lands in scratch volumes, never the live ones; every failure removes the scratch; a bad
 * backup creates none; a change to the live containers fails the drill.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { archiveName } from '../../../src/backup/names.js';
import { verifyBackup } from '../../../src/backup/verify.js';
import { e2eGateCommand } from '../../../src/commands/e2e-gate.js';
import { parseInputs, cliNames } from '../../../src/commands/inputs.js';
import type { CommandContext, InputDef } from '../../../src/commands/spec.js';
import { runRestoreDrill, type DrillRequest } from '../../../src/restore/drill.js';
import { runCommand } from '../../../src/run-command.js';
import { dir, file, gz, moduleDecl, tar } from '../../support/archives.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../../support/fixtures.js';
import { container, FakeRuntime } from '../../support/fake-runtime.js';
import { addManifestToFile } from '../../support/manifests.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const work = mkdtempSync(path.join(tmpdir(), 'sg-drill-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  cleanupTempRepos();
});

const db = moduleDecl('db', { refModules: ['db'], maxAgeHours: 24 }, [{ volume: 'db-data', path: '/data' }]);

function backup(name = archiveName('db', new Date(NOW.getTime() - 3600_000)), content = 'from-backup\n'): string {
  const p = path.join(work, name);
  writeFileSync(
    p,
    gz(tar(dir('db-data/'), file('db-data/x', content), dir('db-data/sub/'), file('db-data/sub/y', 'y'))),
  );
  addManifestToFile(p);
  return p;
}

function engine(): FakeRuntime {
  const rt = new FakeRuntime();
  rt.containers.push(
    container({
      project: 'p',
      service: 'db',
      id: 'live-1',
      imageId: 'sha256:img',
      env: ['SECRET_TOKEN=hunter2'],
      mounts: [
        { type: 'volume', name: 'p_db-data', source: '/var/lib/docker/volumes/p_db-data/_data', destination: '/data' },
      ],
    }),
  );
  rt.containers[0]!.config = {
    cmd: ['sleep', '1000'],
    entrypoint: null,
    user: '',
    restartPolicy: 'no',
    healthcheck: null,
    ports: [],
  };
  rt.bench.volume('p_db-data').live.set('x', Buffer.from('live-new\n'));
  return rt;
}

function request(ref: string, over: Partial<DrillRequest> = {}): DrillRequest {
  return {
    module: db,
    modules: [db],
    backupRef: ref,
    backupRoots: [work],
    cwd: work,
    now: NOW,
    helperImage: undefined,
    readyTimeoutMs: 50,
    maxUncompressedBytes: 1024 ** 3,
    maxEntries: 1000,
    ...over,
  };
}

const deps = (rt: FakeRuntime) => ({
  runtime: rt,
  verifyBackup,
  say: () => undefined,
  clock: () => NOW,
  sleep: async () => undefined,
});

describe('restore drill', () => {
  it('restores into scratch volumes, runs the check on a throwaway container, removes the scratch; the live volume is untouched', async () => {
    const rt = engine();
    const seen: Record<string, unknown> = {};
    const out = await runRestoreDrill(request(backup()), deps(rt), async (id) => {
      seen.id = id;
      seen.scratch = [...rt.bench.scratch].map((v) => rt.bench.files(v));
      return 0;
    });
    expect(out.ok).toBe(true);
    expect(out.report).toMatchObject({ module: 'db', verified: true, container_ready: true, at: NOW.toISOString() });
    expect(out.report.volumes).toEqual([{ volume: 'db-data', entries: 3, bytes: 'from-backup\n'.length + 1 }]);
    expect(seen.scratch).toEqual([{ sub: null, 'sub/y': 'y', x: 'from-backup\n' }]);
    expect(rt.bench.files('p_db-data')).toEqual({ x: 'live-new\n' });
    const spec = rt.callsTo('runThrowaway')[0]!.args[0] as {
      image: string;
      mounts: unknown[];
      cmd: string[];
      env: string[];
    };
    expect(spec).toMatchObject({ image: 'sha256:img', cmd: ['sleep', '1000'], env: ['SECRET_TOKEN=hunter2'] });
    expect(spec.mounts).toEqual([
      { source: expect.stringMatching(/^stateguard-drill-[0-9a-f]+-0$/), destination: '/data' },
    ]);
    expect(seen.id).toMatch(/^drill-/);
    // nothing of the drill is left; the live container is as it was
    expect(rt.bench.scratch.size).toBe(0);
    expect(rt.containers.map((c) => c.id)).toEqual(['live-1']);
    expect(rt.callsTo('stop').length + rt.callsTo('start').length + rt.callsTo('recreateService').length).toBe(0);
  });

  it('a backup that does not verify creates no scratch', async () => {
    const rt = engine();
    const out = await runRestoreDrill(
      request(backup(), { backupRoots: [path.join(work, 'nowhere')] }),
      deps(rt),
      async () => 0,
    );
    expect(out).toMatchObject({ ok: false, reason: 'backup-rejected' });
    expect(out.report.verified).toBe(false);
    expect(rt.callsTo('createScratchVolumes')).toEqual([]);
    expect(rt.callsTo('runThrowaway')).toEqual([]);
  });

  it("another module's backup is an archive-mismatch, before anything is created", async () => {
    const rt = engine();
    const other = moduleDecl('cache', { refModules: ['cache'], maxAgeHours: 24 }, [
      { volume: 'db-data', path: '/data' },
    ]);
    const ref = backup(archiveName('cache', new Date(NOW.getTime() - 3600_000)));
    const out = await runRestoreDrill(request(ref, { modules: [db, other] }), deps(rt), async () => 0);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(['archive-mismatch', 'backup-rejected']).toContain(out.reason);
    expect(rt.callsTo('createScratchVolumes')).toEqual([]);
  });

  it.each(['stage', 'countStaged', 'runThrowaway'])(
    'a failure in %s removes the scratch and never runs the check',
    async (step) => {
      const rt = engine();
      rt.bench.fails.add(step);
      let ran = false;
      const out = await runRestoreDrill(request(backup()), deps(rt), async () => {
        ran = true;
        return 0;
      });
      expect(out).toMatchObject({ ok: false, reason: 'restore-failed' });
      expect(ran).toBe(false);
      expect(rt.callsTo('removeScratch')).toHaveLength(1);
      expect(rt.bench.scratch.size).toBe(0);
      expect(rt.bench.files('p_db-data')).toEqual({ x: 'live-new\n' });
    },
  );

  it('a throwaway container that never gets healthy fails the drill and is removed', async () => {
    const rt = engine();
    rt.bench.throwawayHealth = 'unhealthy';
    const out = await runRestoreDrill(request(backup()), deps(rt), async () => 0);
    expect(out).toMatchObject({ ok: false, reason: 'restore-failed' });
    expect(out.report.container_ready).toBe(false);
    expect(rt.containers.map((c) => c.id)).toEqual(['live-1']);
    expect(rt.bench.scratch.size).toBe(0);
  });

  it('no usable helper image: helper-unavailable, nothing created', async () => {
    const rt = engine();
    rt.bench.helperProblems['sha256:img'] = 'it has no /bin/sh';
    const out = await runRestoreDrill(request(backup()), deps(rt), async () => 0);
    expect(out).toMatchObject({ ok: false, reason: 'helper-unavailable' });
    expect(rt.callsTo('createScratchVolumes')).toEqual([]);
  });

  it('a live container that changed during the drill fails it', async () => {
    const rt = engine();
    const out = await runRestoreDrill(request(backup()), deps(rt), async () => {
      rt.containers[0]!.startedAt = '2026-03-01T12:00:01Z';
      return 0;
    });
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.problem).toMatch(/live containers of 'db' changed/);
    expect(rt.bench.scratch.size).toBe(0);
  });
});

describe('e2e-gate --restore-drill', () => {
  const repo = tempRepo({
    'compose.yaml':
      'services:\n  db:\n    image: stateguard/busybox:1.0.0\n    volumes: [db-data:/data]\nvolumes:\n  db-data: {}\n',
    'modules/db/module.yaml': moduleYaml(
      'db',
      `  class: stateful
  compose: { file: ../../compose.yaml, project: p, service: db }
  backup: { ref_modules: [db], max_age_hours: 24 }
  data:
    volumes:
      - { volume: db-data, path: /data }
`,
    ),
  });

  async function gate(raw: Record<string, string | string[]>, rt: FakeRuntime) {
    let out = '';
    const ctx: CommandContext = {
      cwd: repo,
      env: { PATH: process.env.PATH, STAGING_E2E: '1' },
      log: {
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
        notice: () => undefined,
        raw: (c) => (out += c),
      },
      now: () => NOW,
      runtime: () => rt,
      inAction: false,
      addSecret: () => undefined,
    };
    const defs = (e2eGateCommand.inputs as readonly InputDef[]).filter((d) => !d.actionOnly);
    const result = await runCommand(e2eGateCommand, parseInputs(defs, { root: repo, ...raw }, cliNames), ctx);
    return { result, out };
  }

  it('passes, reports the evidence, and the command sees STATEGUARD_DRILL_CONTAINER', async () => {
    const rt = engine();
    const ref = backup();
    const script = "console.log('drill=' + process.env.STATEGUARD_DRILL_CONTAINER)";
    const { result, out } = await gate(
      { 'restore-drill': 'db', 'backup-ref': ref, 'backup-root': [work], command: [process.execPath, '-e', script] },
      rt,
    );
    expect(result.exitCode).toBe(0);
    expect(out).toMatch(/^drill=drill-[0-9a-f]+$/m);
    const j = result.json as { status: string; restore_drill: Record<string, unknown> };
    expect(j.status).toBe('passed');
    expect(j.restore_drill).toMatchObject({
      module: 'db',
      backup: ref,
      verified: true,
      container_ready: true,
      at: NOW.toISOString(),
    });
    expect(result.text).toContain(`last verified restore: ${ref} at ${NOW.toISOString()}`);
    expect(result.summary).toContain('last verified restore:');
    expect(JSON.stringify([result.text, result.json, result.summary])).not.toContain('hunter2');
  });

  it('a failing e2e command fails the gate (e2e-failed) and the drill is not reported as verified', async () => {
    const rt = engine();
    const { result } = await gate(
      {
        'restore-drill': 'db',
        'backup-ref': backup(),
        'backup-root': [work],
        command: [process.execPath, '-e', 'process.exit(3)'],
      },
      rt,
    );
    expect(result.exitCode).toBe(1);
    expect(result.failureReason).toBe('e2e-failed');
    expect((result.json as { restore_drill: { verified: boolean } }).restore_drill.verified).toBe(false);
    expect(result.text).not.toContain('last verified restore');
  });

  it('a rejected backup fails the gate with backup-rejected', async () => {
    const rt = engine();
    const { result } = await gate(
      { 'restore-drill': 'db', 'backup-ref': backup(), 'backup-root': [path.join(work, 'no')] },
      rt,
    );
    expect(result.exitCode).toBe(1);
    expect(result.failureReason).toBe('backup-rejected');
    expect(rt.callsTo('createScratchVolumes')).toEqual([]);
  });

  it('--restore-drill without --backup-ref, and --backup-ref without --restore-drill, are input errors', async () => {
    const rt = engine();
    expect((await gate({ 'restore-drill': 'db' }, rt)).result.failureReason).toBe('invalid-input');
    expect((await gate({ 'backup-ref': 'x.tar.gz', command: ['true'] }, rt)).result.failureReason).toBe(
      'invalid-input',
    );
  });
});
