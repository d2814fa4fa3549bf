/**
 * The persistence probe's logic against a simulated engine: containers with a writable layer,
 * directories that are (or are not) backed by a volume that outlives a recreate, and an image that
 * may or may not have `rm`. The real engine is exercised in test/integration/probe.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { e2eGateCommand } from '../../src/commands/e2e-gate.js';
import { cliNames, parseInputs } from '../../src/commands/inputs.js';
import type { CommandContext, InputDef } from '../../src/commands/spec.js';
import { EnvironmentError, PathNotFoundError } from '../../src/errors.js';
import {
  isPathAbsentError,
  normalizeContainerPath,
  regressionMessage,
  runPersistenceProbe,
  SENTINEL_PREFIX,
  type ProbeModule,
} from '../../src/probe/persistence.js';
import { readTar, singleFileTar } from '../../src/probe/tar.js';
import { runCommand } from '../../src/run-command.js';
import type { ComposeTarget } from '../../src/runtime/types.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { container, FakeFiles, FakeRuntime } from '../support/fake-runtime.js';

const OLD = 'a'.repeat(12) + '0'.repeat(52);
const NEW = 'b'.repeat(12) + '1'.repeat(52);

/** The simulated engine with container filesystems, and a recreate that makes a new container. */
type SimEngine = FakeRuntime & {
  files: FakeFiles;
  /** the volume mounts the recreated container has (default: the same) */
  mountedAfterRecreate?: Set<string>;
  keepIdOnRecreate: boolean;
  stateAfterRecreate: 'running' | 'exited';
  nextId: string;
};

function simEngine(): SimEngine {
  const e = Object.assign(new FakeRuntime(), {
    files: new FakeFiles(),
    mountedAfterRecreate: undefined as Set<string> | undefined,
    keepIdOnRecreate: false,
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- widens the literal: tests set 'exited' later
    stateAfterRecreate: 'running' as 'running' | 'exited',
    nextId: NEW,
  });
  e.containers = [container({ project: 'p', service: 'db', id: OLD })];
  e.onRecreate = (_t: ComposeTarget, service: string) => {
    if (e.keepIdOnRecreate) return;
    e.containers = e.containers.filter((c) => !(c.service === service && !c.oneoff));
    e.containers.push(
      container({
        project: 'p',
        service,
        id: e.nextId,
        state: e.stateAfterRecreate,
        exitCode: e.stateAfterRecreate === 'exited' ? 1 : 0,
      }),
    );
    if (e.mountedAfterRecreate) e.files.mounted = e.mountedAfterRecreate;
  };
  return e;
}

const MOD: ProbeModule = {
  name: 'db',
  expectedState: 'running',
  compose: { path: '/repo/compose.yaml', project: 'p', service: 'db' },
  volumes: [{ volume: 'db-data', path: '/data' }],
  ephemeralPaths: ['/tmp'],
  timeoutSeconds: 5,
};

const probe = (engine: SimEngine, mod: ProbeModule = MOD) =>
  runPersistenceProbe(mod, {
    runtime: engine,
    now: () => new Date('2026-03-01T00:00:00Z'),
    sleep: async () => undefined,
    readyTimeoutMs: 0,
  });

describe('persistence probe (simulated engine)', () => {
  it('passes when the volume keeps its sentinel and /tmp loses it; recreates only that service; cleans up', async () => {
    const e = simEngine();
    const r = await probe(e);
    expect(r.problems).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r).toMatchObject({ old_container: OLD, new_container: NEW });
    expect(r.checks.map((c) => [c.kind, c.path, c.written, c.after_recreate, c.ok])).toEqual([
      ['durable', '/data', true, 'present', true],
      ['ephemeral', '/tmp', true, 'absent', true],
    ]);
    expect(e.callsTo('recreateService').map((c) => c.args)).toEqual([
      [{ project: 'p', files: ['/repo/compose.yaml'] }, 'db'],
    ]);
    // written into the old container, read back there, then read in the new one
    expect(e.callsTo('copyTo').map((c) => [c.args[0], c.args[1]])).toEqual([
      [OLD, '/data'],
      [OLD, '/tmp'],
    ]);
    // the durable sentinel was removed from the volume and the removal verified
    expect([...e.files.volumeFiles.keys()]).toEqual([]);
    expect(r.cleanup).toEqual({ removed: [path.posix.join('/data', r.checks[0]!.sentinel)], left: [], note: null });
  });

  it('sentinels have unique random names with the documented prefix and random content', async () => {
    const e = simEngine();
    e.files.hasRm = false;
    e.files.hasBusybox = false;
    const a = await probe(e);
    const contents = [...e.files.volumeFiles.values()].map((b) => b.toString());
    const e2 = simEngine();
    e2.files.hasRm = false;
    e2.files.hasBusybox = false;
    const b = await probe(e2);
    const names = [...a.checks, ...b.checks].map((c) => c.sentinel);
    expect(new Set(names).size).toBe(4);
    for (const n of names) expect(n).toMatch(new RegExp(`^${SENTINEL_PREFIX.replace('.', '\\.')}[0-9a-f]{16}$`));
    expect(contents[0]).not.toEqual([...e2.files.volumeFiles.values()][0]!.toString());
  });

  it('a container created before its compose file gained the volume: DATA-VOLUME REGRESSION, exact wording', async () => {
    const e = simEngine();
    e.files.mounted = new Set(); // the running container keeps /data in its own layer...
    e.mountedAfterRecreate = new Set(['/data']); // ...the recreated one mounts the (empty) volume there
    const r = await probe(e);
    expect(r.passed).toBe(false);
    expect(r.problems).toEqual([
      `DATA-VOLUME REGRESSION: db-data at /data lost its sentinel across recreate (aaaaaaaaaaaa → bbbbbbbbbbbb)`,
    ]);
    expect(r.checks[0]).toMatchObject({ ok: false, after_recreate: 'absent' });
  });

  it('an ephemeral path backed by a volume fails: declared ephemeral but persisted (and its sentinel is removed)', async () => {
    const e = simEngine();
    e.files.mounted = new Set(['/data', '/tmp']);
    const r = await probe(e);
    expect(r.passed).toBe(false);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(
      /^EPHEMERAL PATH PERSISTED: \/tmp is declared ephemeral but persisted: its sentinel survived the recreate \(aaaaaaaaaaaa → bbbbbbbbbbbb\)/,
    );
    expect(e.files.volumeFiles.size).toBe(0);
  });

  it('a write that silently did not happen fails the probe before anything is recreated', async () => {
    const e = simEngine();
    e.files.dropWrites = true;
    const r = await probe(e);
    expect(r.passed).toBe(false);
    expect(r.problems[0]).toMatch(
      /the sentinel written into \/data of container aaaaaaaaaaaa reads back absent: the write did not take effect/,
    );
    expect(e.callsTo('recreateService')).toEqual([]);
  });

  it('a declared path missing in the container fails before the recreate, naming the path', async () => {
    const e = simEngine();
    const r = await probe(e, { ...MOD, ephemeralPaths: ['/tmp/work'] });
    expect(r.passed).toBe(false);
    expect(r.problems[0]).toMatch(
      /could not write a sentinel into \/tmp\/work of container aaaaaaaaaaaa \(does the directory exist there\?\)/,
    );
    expect(e.callsTo('recreateService')).toEqual([]);
    // the sentinel already planted in /data was taken out again
    expect(e.files.volumeFiles.size).toBe(0);
  });

  it.each([
    [
      'no container at all',
      [],
      /no running container for module db \(service db of compose project p\): no container exists for it\. Start it first/,
    ],
    ['only an exited container', [{ state: 'exited' as const }], /its container is aaaaaaaaaaaa exited/],
    ['only a one-off `compose run` container', [{ oneoff: true }], /no container exists for it/],
    ['a container of another service', [{ service: 'web' }], /no container exists for it/],
  ])('%s: a clear failure, never a pass, and nothing is touched', async (_n, partials, msg) => {
    const e = simEngine();
    e.containers = partials.map((p) => container({ project: 'p', service: 'db', id: OLD, ...p }));
    const r = await probe(e);
    expect(r.passed).toBe(false);
    expect(r.problems[0]).toMatch(msg);
    expect(e.callsTo('copyTo')).toEqual([]);
    expect(e.callsTo('recreateService')).toEqual([]);
  });

  it('a one-shot module is told to probe its long-running owner instead', async () => {
    const e = simEngine();
    e.containers = [container({ project: 'p', service: 'db', id: OLD, state: 'exited' })];
    const r = await probe(e, { ...MOD, expectedState: 'exited-success' });
    expect(r.problems[0]).toMatch(/is a one-shot \(expected_state: exited-success\): probe the long-running module/);
  });

  it('two running containers (scaled): refused', async () => {
    const e = simEngine();
    e.containers.push(container({ project: 'p', service: 'db', id: 'c'.repeat(64) }));
    const r = await probe(e);
    expect(r.problems[0]).toMatch(/2 containers of service db of compose project p are running/);
    expect(e.callsTo('copyTo')).toEqual([]);
  });

  it('a recreate that keeps the container ID proves nothing: fails', async () => {
    const e = simEngine();
    e.keepIdOnRecreate = true;
    const r = await probe(e);
    expect(r.passed).toBe(false);
    expect(r.problems).toEqual([
      'the container ID did not change across the recreate (aaaaaaaaaaaa): the recreate did not happen, so nothing was proven.',
    ]);
    expect(e.files.volumeFiles.size).toBe(0); // cleaned from the old container
  });

  it("compose failing to recreate fails the probe with compose's last stderr line", async () => {
    const e = simEngine();
    e.recreateResult = { code: 1, stdout: '', stderr: 'ERROR: pull access denied\n' };
    e.keepIdOnRecreate = true;
    const r = await probe(e);
    expect(r.problems).toEqual(['compose could not recreate service db: ERROR: pull access denied']);
  });

  it('a recreated container that does not come back fails the probe even if the data survived', async () => {
    const e = simEngine();
    e.stateAfterRecreate = 'exited';
    const r = await probe(e);
    expect(r.passed).toBe(false);
    expect(r.checks.every((c) => c.ok)).toBe(true);
    expect(r.problems).toEqual(['the recreated container bbbbbbbbbbbb did not come back: it is exited, exit code 1.']);
  });

  it('an image without rm on PATH is cleaned with /bin/busybox rm', async () => {
    const e = simEngine();
    e.files.hasRm = false;
    const r = await probe(e);
    expect(r.passed).toBe(true);
    expect(e.callsTo('removeFilesInContainer')).toHaveLength(1);
    expect(e.files.volumeFiles.size).toBe(0);
    expect(r.cleanup.left).toEqual([]);
  });

  it('an image with neither: the sentinel is left, named, and the probe verdict is unchanged', async () => {
    const e = simEngine();
    e.files.hasRm = false;
    e.files.hasBusybox = false;
    const warnings: string[] = [];
    const r = await runPersistenceProbe(MOD, {
      runtime: e,
      now: () => new Date(),
      sleep: async () => undefined,
      readyTimeoutMs: 0,
      warn: (m) => warnings.push(m),
    });
    expect(r.passed).toBe(true);
    expect(r.cleanup.left).toEqual([path.posix.join('/data', r.checks[0]!.sentinel)]);
    expect(r.cleanup.note).toMatch(
      /left 1 probe sentinel file in container bbbbbbbbbbbb: \/data\/\.stateguard-probe-[0-9a-f]{16}\. The image has neither 'rm' nor '\/bin\/busybox rm'/,
    );
    expect(warnings).toEqual([r.cleanup.note]);
  });

  it('hostile paths: sentinels go exactly where declared, normalised, never above', async () => {
    const e = simEngine();
    const r = await probe(e, {
      ...MOD,
      volumes: [{ volume: 'db-data', path: '/data/./' }],
      ephemeralPaths: ['/cache/../tmp'],
    });
    expect(r.passed).toBe(true);
    expect(e.callsTo('copyTo').map((c) => c.args[1])).toEqual(['/data', '/tmp']);
  });

  it('an engine error while reading is a failure with the reason, not a pass', async () => {
    const e = simEngine();
    const orig = e.copyFrom.bind(e);
    let n = 0;
    e.copyFrom = async (id, file, sink) => {
      if (++n === 3) throw new EnvironmentError('docker cp from x failed: Cannot connect to the Docker daemon');
      return orig(id, file, sink);
    };
    const r = await probe(e);
    expect(r.passed).toBe(false);
    expect(r.problems[0]).toMatch(/could not read \/data in the recreated container bbbbbbbbbbbb: .*Cannot connect/);
  });
});

describe('probe helpers', () => {
  // The engine's wording is the adapter's to read (test/unit/docker-cli.test.ts); the probe decides
  // by the error's type only, so a message that merely mentions the words changes nothing.
  it.each([
    [new PathNotFoundError('docker cp from abc:/data/x failed'), true],
    [new EnvironmentError('docker cp from abc failed: Error: No such container:path: abc:/data/x'), false],
    [new Error('Cannot connect to the Docker daemon'), false],
  ])('%s absent=%s', (err, want) => expect(isPathAbsentError(err)).toBe(want));

  it.each([
    ['/data/', '/data'],
    ['/data//x/', '/data/x'],
    ['/', '/'],
    ['/a/../b', '/b'],
  ])('normalise %j → %j', (p, want) => expect(normalizeContainerPath(p)).toBe(want));

  it('the regression message uses 12-character IDs', () => {
    expect(regressionMessage('v', '/p', OLD, NEW)).toBe(
      'DATA-VOLUME REGRESSION: v at /p lost its sentinel across recreate (aaaaaaaaaaaa → bbbbbbbbbbbb)',
    );
  });

  it('one-file tar round-trips and refuses names that are not plain file names', () => {
    const body = Buffer.from('x'.repeat(700));
    const t = singleFileTar('.stateguard-probe-0011', body, new Date(0));
    expect(t.length % 512).toBe(0);
    expect(readTar(t)).toEqual([{ path: '.stateguard-probe-0011', type: 'File', body }]);
    for (const bad of ['', '../x', 'a/b', '.', '..', 'x'.repeat(101)])
      expect(() => singleFileTar(bad, body, new Date(0))).toThrow(/plain file name/);
  });

  it('a corrupt archive from docker cp is an error, not an empty read', () => {
    const t = singleFileTar('f', Buffer.from('abc'), new Date(0));
    t[100] = t[100]! ^ 0xff; // break the header checksum
    expect(() => readTar(t)).toThrow(/unreadable tar/);
  });
});

describe('e2e-gate with a persistence probe (simulated engine)', () => {
  const root = () =>
    tempRepo({
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
    ephemeral_paths: [/tmp]
`,
      ),
    });

  async function gate(e: SimEngine, env: Record<string, string>, extra: Record<string, string | string[]> = {}) {
    const dir = root();
    const logs: string[] = [];
    let raw = '';
    const ctx: CommandContext = {
      cwd: dir,
      env: { PATH: process.env.PATH, ...env },
      log: {
        info: (m) => logs.push(m),
        warn: (m) => logs.push(m),
        error: (m) => logs.push(m),
        notice: (m) => logs.push(m),
        raw: (c) => (raw += c),
      },
      now: () => new Date(),
      runtime: () => e,
      inAction: false,
      addSecret: () => undefined,
    };
    const opts = parseInputs(
      (e2eGateCommand.inputs as readonly InputDef[]).filter((d) => !d.actionOnly),
      { 'persistence-probe': 'db', ...extra },
      cliNames,
    );
    const result = await runCommand(e2eGateCommand, opts, ctx);
    return { result, raw, logs, dir };
  }

  it('switched off: the probe does not run (no engine call at all)', async () => {
    const e = simEngine();
    const r = await gate(e, {});
    expect(r.result.outputs.status).toBe('skipped');
    // validate renders the compose file through compose (no engine involved): nothing else ran
    expect(e.calls.filter((c) => c.method !== 'renderProject')).toEqual([]);
    cleanupTempRepos();
  });

  it('probe passes, then the command runs and decides; compose file resolved from the module', async () => {
    const e = simEngine();
    e.files.hasRm = false;
    e.files.hasBusybox = false;
    const r = await gate(e, { STAGING_E2E: '1' }, { command: [process.execPath, '-e', "console.log('E2E-RAN')"] });
    expect(r.result.exitCode).toBe(0);
    expect(r.result.outputs.status).toBe('passed');
    expect(r.raw).toContain('E2E-RAN');
    expect(e.callsTo('recreateService')[0]!.args[0]).toEqual({
      project: 'p',
      files: [path.join(r.dir, 'compose.yaml')],
    });
    const doc = r.result.json as { probe: { passed: boolean; checks: unknown[] } };
    expect(doc.probe.passed).toBe(true);
    expect(doc.probe.checks).toHaveLength(2);
    expect(r.result.summary).toContain('| /data | durable (db-data) | present | ok |');
    expect(r.result.text).toContain('note: left 1 probe sentinel file');
    cleanupTempRepos();
  });

  it('probe fails: the gate fails with probe-failed, the exact regression line, and the command is not run', async () => {
    const e = simEngine();
    e.files.mounted = new Set();
    e.mountedAfterRecreate = new Set(['/data']);
    const r = await gate(e, { STAGING_E2E: '1' }, { command: [process.execPath, '-e', "console.log('E2E-RAN')"] });
    expect(r.result.exitCode).toBe(1);
    expect(r.result.outputs).toEqual({ status: 'failed', missing: '[]', 'failure-reason': 'probe-failed' });
    expect(r.result.text).toContain(
      'DATA-VOLUME REGRESSION: db-data at /data lost its sentinel across recreate (aaaaaaaaaaaa → bbbbbbbbbbbb)',
    );
    expect(r.result.annotations?.[0]).toMatchObject({
      level: 'error',
      message: expect.stringContaining('DATA-VOLUME REGRESSION'),
    });
    expect(r.raw).not.toContain('E2E-RAN');
    cleanupTempRepos();
  });

  it('probe alone (no command) is allowed and decides the verdict', async () => {
    const e = simEngine();
    const r = await gate(e, { STAGING_E2E: 'true' });
    expect(r.result.outputs.status).toBe('passed');
    expect(r.result.text).toContain('no e2e command was given');
    cleanupTempRepos();
  });

  it('no running container: probe-failed, exit 1', async () => {
    const e = simEngine();
    e.containers = [];
    const r = await gate(e, { STAGING_E2E: '1' });
    expect(r.result.exitCode).toBe(1);
    expect(r.result.outputs['failure-reason']).toBe('probe-failed');
    expect(r.result.text).toContain('no running container for module db');
    cleanupTempRepos();
  });

  it('an unreachable engine is "could not run" (exit 3), never a pass', async () => {
    const e = simEngine();
    e.reachable = false;
    const r = await gate(e, { STAGING_E2E: '1' });
    expect(r.result.exitCode).toBe(3);
    expect(r.result.outputs).toMatchObject({ status: 'error', 'failure-reason': 'docker-unavailable' });
    cleanupTempRepos();
  });
});
