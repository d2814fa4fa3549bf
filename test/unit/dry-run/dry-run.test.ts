/**
 * Dry runs of restore and upgrade (docs/architecture.md §12, §13 "Dry runs") on the simulated engine:
 * every check the real run makes before touching anything runs (the lock is read, never taken), the
 * steps are said with "would", nothing that changes the engine or the disk is called, and a dry run
 * that must refuse refuses with the real run's reason and exit code. The real engine proves the same
 * in test/integration/dry-run.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyBackup } from '../../../src/backup/verify.js';
import { restoreExitCode } from '../../../src/commands/restore.js';
import { upgradeExitCode } from '../../../src/commands/upgrade.js';
import type { DriftKey, ModulePlan, Plan } from '../../../src/drift/types.js';
import type { ModuleDecl } from '../../../src/model/module.js';
import { loadModules } from '../../../src/model/module.js';
import { lockName } from '../../../src/ops/lock.js';
import { operationKey } from '../../../src/ops/journal.js';
import { restoreModule } from '../../../src/restore/restore.js';
import type { RestoreDeps, RestoreRequest } from '../../../src/restore/types.js';
import type { UpgradeRequest } from '../../../src/upgrade/types.js';
import { upgradeModule } from '../../../src/upgrade/upgrade.js';
import { dir, file, gz, tar } from '../../support/archives.js';
import { examplePlatform, type FakeRuntime } from '../../support/fake-runtime.js';
import { planOf, withPlanHash } from '../../support/plans.js';
import { REPO } from '../../support/runner.js';
import { addManifestToFile } from '../../support/manifests.js';
import { restoreRequest } from '../../support/restore-setup.js';
import { upgradeRequest } from '../../support/upgrade-request.js';

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  raw: () => undefined,
};
const T0 = new Date('2026-03-01T12:00:00Z');
const VOLUME = 'platform_store-data';

/** Every Runtime method that changes the engine (or runs something on the data): a dry run calls none. */
const MUTATING = [
  'createLock',
  'removeLock',
  'stop',
  'start',
  'tagImage',
  'writeJournalMark',
  'removeJournalMark',
  'prepareWorkArea',
  'stage',
  'swap',
  'dropWorkArea',
  'recreateService',
  'recreateFromDefinition',
  'writeLastKnownGood',
  'removeImageTag',
  'removeHelpers',
  'copyTo',
  'copyFrom',
  'setStagedTimes',
  'writeRunRecord',
  'composeUp',
  'composeDown',
  'removeFilesInContainer',
  'createScratchVolumes',
  'runThrowaway',
  'resumeStopped',
  'removeScratch',
];

function touched(rt: FakeRuntime): string[] {
  return rt.calls.map((c) => c.method).filter((m) => MUTATING.includes(m));
}

function modules(): ModuleDecl[] {
  const root = path.join(REPO, 'examples/platform');
  return loadModules(root, 'modules/*/module.yaml', root).modules;
}

function planner(drift: DriftKey[], declared?: string, observed?: string) {
  return async (mods: ModuleDecl[], _rt: unknown, opts: { only?: string[] } = {}): Promise<Plan> =>
    planOf(
      mods
        .filter((m) => !opts.only || opts.only.includes(m.name))
        .map((m): ModulePlan =>
          withPlanHash({
            name: m.name,
            class: m.class,
            expected_state: m.expectedState,
            compose: { project: m.compose.project, service: m.compose.service, file: m.compose.display },
            ...(m.name === 'store' && declared ? { declared: { image: declared, config_hash: 'h-store' } } : {}),
            observed: {
              container_id: 'store-1',
              state: 'running',
              exit_code: null,
              image: observed ?? 'i',
              health: 'healthy',
            },
            drift:
              m.name === 'store'
                ? drift.map((key) => ({ key, declared: declared ?? 'a', observed: observed ?? 'b' }))
                : [],
            in_sync: m.name !== 'store' || drift.length === 0,
          }),
        ),
    );
}

function platform() {
  const rt = examplePlatform();
  const store = rt.containers.find((c) => c.id === 'store-1')!;
  store.mounts = [
    { type: 'volume', name: VOLUME, source: `/var/lib/docker/volumes/${VOLUME}/_data`, destination: '/data' },
  ];
  store.imageId = 'sha256:old';
  rt.bench.volume(VOLUME).live = new Map([['db', Buffer.from('rows')]]);
  rt.served['/data'] = tar(dir('data/'), file('data/db', 'rows'));
  const work = mkdtempSync(path.join(tmpdir(), 'sg-dryrun-unit-'));
  const mods = modules();
  return { rt, work, mods, module: mods.find((m) => m.name === 'store')! };
}

function holdLock(rt: FakeRuntime, since = T0.toISOString()): void {
  void rt.createLock(
    lockName('platform', 'store'),
    {
      'io.stateguard.lock': '1',
      'io.stateguard.lock.holder': 'host elsewhere, pid 9',
      'io.stateguard.lock.since': since,
      'io.stateguard.lock.operation': 'restore',
    },
    { images: [], project: 'platform' },
  );
}

describe('restore --dry-run', () => {
  function setup() {
    const p = platform();
    const backup = path.join(p.work, 'store-20260301T110000Z.tar.gz');
    writeFileSync(backup, gz(tar(dir('store-data/'), file('store-data/new', 'new'))));
    addManifestToFile(backup, { project: 'platform', service: 'store' });
    return { ...p, backup };
  }
  function request(s: ReturnType<typeof setup>, over: Partial<RestoreRequest> = {}): RestoreRequest {
    return restoreRequest(s, { readyTimeoutSeconds: 7, dryRun: true, ...over });
  }
  const deps = (s: ReturnType<typeof setup>, drift: DriftKey[] = []): RestoreDeps => ({
    runtime: s.rt,
    planModules: planner(drift),
    verifyBackup,
    log: quiet,
    now: () => T0,
    sleep: async () => undefined,
  });

  it('runs every check, says each step with "would", and touches nothing', async () => {
    const s = setup();
    try {
      const before = readdirSync(s.work);
      const o = await restoreModule(request(s), deps(s));
      expect(o).toMatchObject({
        status: 'would-restore',
        decision: 'would-restore',
        failure_reason: '',
        dry_run: true,
        lock: null,
      });
      expect(restoreExitCode(o)).toBe(0);
      // the checks ran: the lock read, the backup verified, the helper probed, the free space read
      for (const m of ['readLock', 'readJournal', 'helperImageProblem', 'mountSpace', 'listRunningContainers']) {
        expect(s.rt.callsTo(m).length).toBeGreaterThan(0);
      }
      expect(o.backup?.verified).toBe(true);
      expect(touched(s.rt)).toEqual([]);
      expect(s.rt.locks.size).toBe(0);
      expect(s.rt.bench.journals.get(operationKey('platform', 'store')) ?? []).toEqual([]);
      expect(s.rt.bench.files(VOLUME)).toEqual({ db: 'rows' });
      expect(readdirSync(s.work)).toEqual(before);
      expect(existsSync(path.join(s.work, 'pre'))).toBe(false);
      expect(o.steps!.map((x) => x.step)).toEqual([
        'lock',
        'journal',
        'stop',
        'snapshot',
        'stage',
        'swap',
        'recreate',
        'health',
        'drop',
        'release',
      ]);
      for (const st of o.steps!) expect(st.would).toMatch(/^would /);
      expect(o.steps!.find((x) => x.step === 'snapshot')!.would).toContain(
        path.join(s.work, 'pre', 'store.pre-restore.20260301T120000Z.tar.gz'),
      );
      expect(o.steps!.find((x) => x.step === 'health')!.would).toContain('7 s');
      // words never claim something was done
      for (const msg of [...o.messages, o.verdict])
        expect(msg).not.toMatch(/\b(took|released|written and verified|staged|restored ')|(?<!nothing )stopped/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each<[string, (s: ReturnType<typeof setup>) => void, Partial<RestoreRequest>, DriftKey[], string, number]>([
    ['the lock is held by a running restore', (s) => holdLock(s.rt), {}, [], 'locked', 1],
    [
      'an interrupted restore left a journal',
      (s) =>
        void s.rt.bench.journals.set(operationKey('platform', 'store'), [
          { seq: 1, phase: 'staged', at: 'x', data: { record: '{}' } },
        ]),
      {},
      [],
      'interrupted-operation',
      1,
    ],
    ['the backup does not verify', (s) => writeFileSync(s.backup, 'not a gzip'), {}, [], 'backup-rejected', 1],
    ['confirm is not the file name', () => undefined, { confirm: 'BACKUP_DONE' }, [], 'confirm-mismatch', 1],
    ['too little free space', (s) => (s.rt.bench.freeBytes = 1000), {}, [], 'insufficient-space', 1],
    [
      'no helper image',
      (s) => (s.rt.bench.helperProblems['sha256:old'] = 'it has no /bin/sh'),
      {},
      [],
      'helper-unavailable',
      1,
    ],
    ['image drift', () => undefined, {}, ['container.image'], 'drift-not-allowed', 1],
  ])('%s: the dry run refuses as the real run does (%s)', async (_n, arrange, over, drift, reason, exit) => {
    const real = setup();
    const dry = setup();
    try {
      arrange(real);
      arrange(dry);
      const r = await restoreModule(request(real, { ...over, dryRun: false }), deps(real, drift));
      dry.rt.calls = [];
      const d = await restoreModule(request(dry, over), deps(dry, drift));
      expect(r.failure_reason).toBe(reason);
      expect(d).toMatchObject({
        failure_reason: reason,
        status: r.status,
        decision: r.decision,
        dry_run: true,
        steps: [],
      });
      expect(restoreExitCode(d)).toBe(restoreExitCode(r));
      expect(restoreExitCode(d)).toBe(exit);
      expect(touched(dry.rt)).toEqual([]);
    } finally {
      rmSync(real.work, { recursive: true, force: true });
      rmSync(dry.work, { recursive: true, force: true });
    }
  });

  it('a stale lock with break-stale-lock: not broken, a warning says a real run would break it', async () => {
    const s = setup();
    try {
      holdLock(s.rt, '2026-02-01T00:00:00Z');
      s.rt.calls = [];
      const o = await restoreModule(request(s, { breakStaleLock: true }), deps(s));
      expect(o.status).toBe('would-restore');
      expect(o.warnings.join('\n')).toMatch(/stale: a real run would break it/);
      expect(s.rt.locks.size).toBe(1);
      expect(touched(s.rt)).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('an out-dir that cannot be written is a warning, and nothing is created', async () => {
    const s = setup();
    try {
      const blocker = path.join(s.work, 'a-file');
      writeFileSync(blocker, 'x');
      const o = await restoreModule(request(s, { outDir: path.join(blocker, 'pre') }), deps(s));
      expect(o.status).toBe('would-restore');
      expect(o.warnings.join('\n')).toMatch(/not a directory; a real run would fail there/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('upgrade --dry-run', () => {
  const TO = 'stateguard/busybox:1.1.0';
  function setup() {
    const p = platform();
    p.rt.images[TO] = 'sha256:new';
    return p;
  }
  function request(s: ReturnType<typeof setup>, over: Partial<UpgradeRequest> = {}): UpgradeRequest {
    return upgradeRequest(
      { mods: s.mods, module: s.module, work: s.work, now: T0 },
      { healthTimeoutSeconds: 30, settleSeconds: 4, dryRun: true, ...over },
    );
  }
  const deps = (s: ReturnType<typeof setup>, to = TO) => ({
    runtime: s.rt,
    planModules: planner(['container.image'], to, 'stateguard/busybox:1.0.0'),
    verifyBackup,
    log: quiet,
    now: () => T0,
    sleep: async () => undefined,
    pollMs: 1,
    readFile: () => null,
  });

  it('runs every check and the gate, says each step with "would", and touches nothing', async () => {
    const s = setup();
    try {
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({
        status: 'would-upgrade',
        decision: 'would-upgrade',
        failure_reason: '',
        dry_run: true,
        bump: 'minor',
        pinned_image: null,
        snapshot: null,
      });
      expect(upgradeExitCode(o)).toBe(0);
      for (const m of ['readLock', 'readJournal', 'helperImageProblem', 'readContainerDefinition', 'imageIds']) {
        expect(s.rt.callsTo(m).length).toBeGreaterThan(0);
      }
      expect(touched(s.rt)).toEqual([]);
      expect(s.rt.locks.size).toBe(0);
      expect(existsSync(path.join(s.work, 'snap'))).toBe(false);
      const steps = o.steps!.map((x) => x.step);
      expect(steps).toEqual([
        'lock',
        'last-known-good',
        'pin',
        'journal',
        'stop',
        'snapshot',
        'deploy',
        'health',
        'others',
        'last-known-good',
        'retention',
        'release',
      ]);
      for (const st of o.steps!) expect(st.would).toMatch(/^would /);
      expect(o.steps!.find((x) => x.step === 'health')!.would).toMatch(/up to 30 s .* settle 4 s/);
      expect(o.steps!.find((x) => x.step === 'deploy')!.would).toContain(TO);
      // the name the real run would write: a safety copy, never a backup-looking name
      expect(o.steps!.find((x) => x.step === 'snapshot')!.would).toMatch(/\.pre-upgrade\.\d{8}T\d{6}Z\.tar\.gz/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each<[string, (s: ReturnType<typeof setup>) => void, Partial<UpgradeRequest>, string, string]>([
    ['a major bump', () => undefined, {}, 'held-major', 'stateguard/busybox:2.0.0'],
    ['the lock is held', (s) => holdLock(s.rt), {}, 'locked', TO],
    ['the target image is not on the engine', (s) => (s.rt.images[TO] = null), {}, 'image-not-present', TO],
    ['confirm differs', () => undefined, { confirm: 'backup_done' }, 'confirm-mismatch', TO],
  ])('%s: the dry run refuses as the real run does (%s)', async (_n, arrange, over, reason, to) => {
    const real = setup();
    const dry = setup();
    try {
      for (const s of [real, dry]) {
        s.rt.images[to] ??= 'sha256:new2';
        arrange(s);
      }
      const r = await upgradeModule(request(real, { ...over, dryRun: false }), deps(real, to));
      dry.rt.calls = [];
      const d = await upgradeModule(request(dry, over), deps(dry, to));
      expect(r.failure_reason).toBe(reason);
      expect(d).toMatchObject({
        failure_reason: reason,
        status: r.status,
        decision: r.decision,
        dry_run: true,
        steps: [],
      });
      expect(upgradeExitCode(d)).toBe(upgradeExitCode(r));
      expect(touched(dry.rt)).toEqual([]);
    } finally {
      rmSync(real.work, { recursive: true, force: true });
      rmSync(dry.work, { recursive: true, force: true });
    }
  });
});
