/**
 * restore and recover (docs/architecture.md §12) on the simulated engine: the rule's refusals, the
 * order of steps, every failure before the commit reverting to exactly the old data, an unhealthy
 * restored service reverted, recover's direction per journal phase, and every mutating command
 * refusing a module with an interrupted operation. The real engine runs the same paths, with real
 * SIGKILLs, in test/integration/restore.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { applyOneShot } from '../../../src/apply/apply.js';
import { takeSnapshot } from '../../../src/backup/snapshot.js';
import { verifyBackup } from '../../../src/backup/verify.js';
import type { BackupReport } from '../../../src/backup/types.js';
import type { DriftKey } from '../../../src/drift/types.js';
import { lockName } from '../../../src/ops/lock.js';
import { operationKey, type JournalRecord, type Phase } from '../../../src/ops/journal.js';
import { holderIsGone, recoverModule } from '../../../src/ops/recover.js';
import { recoverRegistry } from '../../../src/commands/recover.js';
import { restoreModule } from '../../../src/restore/restore.js';
import type { RestoreDeps, RestoreRequest } from '../../../src/restore/types.js';
import { dir, file, gz, tar } from '../../support/archives.js';
import { container, type FakeRuntime } from '../../support/fake-runtime.js';
import { addManifestToFile } from '../../support/manifests.js';

import { deps, journalOf, planner, quiet, request, setup, T0, VOLUME } from '../../support/restore-setup.js';

describe('restore: the rule refuses before anything is touched', () => {
  it.each<[string, (s: ReturnType<typeof setup>) => Partial<RestoreRequest>, DriftKey[], string]>([
    ['allow-stateful not true', () => ({ allowStateful: false }), [], 'not-allowed'],
    ['confirm is the apply token, not the file name', () => ({ confirm: 'BACKUP_DONE' }), [], 'confirm-mismatch'],
    ['confirm differs by case', (s) => ({ confirm: path.basename(s.backup).toUpperCase() }), [], 'confirm-mismatch'],
    ['no backup-ref', () => ({ backupRef: undefined }), [], 'backup-rejected'],
    ['backup outside the roots', () => ({ backupRoots: ['/nonexistent-root'] }), [], 'backup-rejected'],
    ['the module has image drift', () => ({}), ['container.image'], 'drift-not-allowed'],
    ['a sidecar module', (s) => ({ module: s.mods.find((m) => m.name === 'store-init')! }), [], 'not-restorable'],
  ])('%s → blocked (%s)', async (_n, over, drift, reason) => {
    const s = setup();
    try {
      const o = await restoreModule(request(s, over(s)), deps(s, drift));
      expect(o).toMatchObject({ decision: 'blocked', failure_reason: reason });
      expect(s.rt.callsTo('stop')).toEqual([]);
      expect(s.rt.callsTo('prepareWorkArea')).toEqual([]);
      expect(journalOf(s.rt)).toEqual([]);
      expect(s.rt.bench.files(VOLUME)).toEqual({ 'old-only': 'old', shared: 'old shared' });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each<[string, (s: ReturnType<typeof setup>) => void, string]>([
    [
      'no local image can run the helper',
      (s) => (s.rt.bench.helperProblems['sha256:aaa'] = 'it has no /bin/sh'),
      'helper-unavailable',
    ],
    ['too little free space', (s) => (s.rt.bench.freeBytes = 1000), 'insufficient-space'],
    [
      'another apply or restore holds the module lock',
      (s) =>
        void s.rt.createLock(
          lockName('platform', 'store'),
          {
            'io.stateguard.lock': '1',
            'io.stateguard.lock.holder': 'host x, pid 9',
            'io.stateguard.lock.since': T0.toISOString(),
          },
          { images: [], project: 'platform' },
        ),
      'locked',
    ],
    [
      'an interrupted restore left a journal',
      (s) =>
        void s.rt.bench.journals.set(operationKey('platform', 'store'), [
          { seq: 1, phase: 'staged', at: 'x', data: { record: '{}' } },
        ]),
      'interrupted-operation',
    ],
    // data mounts (docs/architecture.md §12, "Data mounts")
    [
      'a plain container mounts the parent of the volume',
      (s) =>
        void s.rt.containers.push(
          container({
            id: 'agent-1',
            name: 'agent',
            project: '',
            service: '',
            mounts: [{ type: 'bind', source: '/var/lib/docker', destination: '/d' }],
          }),
        ),
      'volume-in-use',
    ],
    [
      'another project mounts the named volume',
      (s) =>
        void s.rt.containers.push(
          container({
            id: 'ship-1',
            name: 'q_shipper_1',
            project: 'q',
            service: 'shipper',
            mounts: [{ type: 'volume', name: VOLUME, source: '/elsewhere', destination: '/logs' }],
          }),
        ),
      'volume-in-use',
    ],
    [
      "the volume holds restore's reserved work-area name",
      (s) => void (s.rt.existing['store-1'] = ['/data/.stateguard-restore']),
      'not-restorable',
    ],
  ])('%s → refused (%s), nothing stopped', async (_n, arrange, reason) => {
    const s = setup();
    try {
      arrange(s);
      const o = await restoreModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'blocked', status: 'refused', failure_reason: reason });
      expect(s.rt.callsTo('stop')).toEqual([]);
      expect(s.rt.bench.files(VOLUME)).toEqual({ 'old-only': 'old', shared: 'old shared' });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('restore: the steps', () => {
  it.each([
    ['the image the module runs', true],
    ['another image', false],
  ])(
    "the outcome names the image the backup's data was written by (docs/architecture.md §16): %s",
    async (_label, same) => {
      const s = setup();
      try {
        const store = s.rt.containers.find((c) => c.id === 'store-1')!;
        const image = same
          ? { ref: store.imageRef, id: store.imageId }
          : { ref: 'store:0.9', id: `sha256:${'9'.repeat(64)}` };
        writeFileSync(s.backup, gz(tar(dir('store-data/'), file('store-data/new-only', 'new'))));
        addManifestToFile(s.backup, { project: 'platform', service: 'store', image });
        const d = deps(s);
        const warned: string[] = [];
        d.log = { ...d.log, warn: (m: string) => void warned.push(m) };
        const o = await restoreModule(request(s), d);
        expect(o.decision).toBe('restored');
        expect(o.backup_image).toEqual({ ...image, differs_from_running: !same });
        expect(warned.filter((w) => /written by image/.test(w))).toHaveLength(same ? 0 : 1);
      } finally {
        rmSync(s.work, { recursive: true, force: true });
      }
    },
  );

  it('replaces the volume with exactly the archive, pre-restore snapshot first, journal gone after', async () => {
    const s = setup();
    try {
      const o = await restoreModule(request(s), deps(s));
      expect(o.verdict).toMatch(/restored 'store'/);
      expect(o).toMatchObject({
        decision: 'restored',
        failure_reason: '',
        reverted: false,
        volumes: [{ volume: 'store-data', entries: 2 }],
      });
      expect(s.rt.bench.files(VOLUME)).toEqual({ 'new-only': 'new', shared: 'new shared' });
      expect(s.rt.bench.volume(VOLUME).root).toEqual({ mode: 0o700, uid: 999, gid: 999 });
      expect(s.rt.bench.volume(VOLUME).work).toBeNull();
      expect(journalOf(s.rt)).toEqual([]);
      const order = s.rt.calls
        .map((c) => (c.method === 'writeJournalMark' ? `mark:${c.args[1] as string}` : c.method))
        .filter((m) => /^(stop|mark:|prepareWorkArea|stage|swap|recreateService|dropWorkArea|copyFrom)/.test(m));
      expect(order).toEqual([
        'mark:begun',
        'stop',
        'copyFrom',
        'mark:snapshotted',
        'prepareWorkArea',
        'stage',
        'mark:staged',
        'mark:swapping',
        'swap',
        'mark:committed',
        'swap',
        'recreateService',
        'dropWorkArea',
        'mark:done',
      ]);
      const pre = await verifyBackup({
        backupRef: o.pre_restore_snapshot!,
        cwd: s.work,
        module: s.store,
        modules: s.mods,
        backupRoots: [s.work],
        now: T0,
        maxUncompressedBytes: 1e9,
        maxEntries: 100,
      });
      expect(pre.verified).toBe(true);
      // a safety copy apart from the backups (docs/architecture.md §7): no `store-*.tar.gz` pattern matches it
      expect(path.basename(o.pre_restore_snapshot!)).toMatch(/^store\.pre-restore\.\d{8}T\d{6}Z\.tar\.gz$/);
      expect(pre.kind).toBe('pre-restore');
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each(['stage', 'countStaged', 'swap-forward', 'mark-staged', 'mark-committed'])(
    'an engine failure in %s before the commit reverts to exactly the old data and starts the service again',
    async (failing) => {
      const s = setup();
      try {
        s.rt.bench.fails.add(failing);
        const o = await restoreModule(request(s), deps(s));
        expect(o).toMatchObject({ decision: 'failed', failure_reason: 'restore-failed', reverted: true });
        expect(o.verdict).toMatch(/failed and was reverted/);
        expect(s.rt.bench.files(VOLUME)).toEqual({ 'old-only': 'old', shared: 'old shared' });
        expect(s.rt.bench.volume(VOLUME).work).toBeNull();
        expect(journalOf(s.rt)).toEqual([]);
        expect(s.rt.callsTo('start').map((c) => c.args[0])).toContainEqual(['store-1']);
      } finally {
        rmSync(s.work, { recursive: true, force: true });
      }
    },
  );

  it('a backup changed since it was verified is refused while staging, and reverted', async () => {
    const s = setup();
    try {
      const d = deps(s);
      const verify = d.verifyBackup;
      d.verifyBackup = async (input) => {
        const r: BackupReport = await verify(input);
        writeFileSync(s.backup, gz(tar(dir('store-data/'), file('store-data/swapped', 'evil'))));
        return r;
      };
      const o = await restoreModule(request(s), d);
      expect(o).toMatchObject({ decision: 'failed', reverted: true });
      expect(o.verdict).toMatch(/changed since it was verified/);
      expect(s.rt.bench.files(VOLUME)).toEqual({ 'old-only': 'old', shared: 'old shared' });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a service that is not healthy on the restored data is reverted to the old data', async () => {
    const s = setup();
    try {
      s.rt.onRecreate = () => {
        const c = s.rt.containers.find((x) => x.id === 'store-1')!;
        // unhealthy while the new data is live, healthy again on the old data
        c.state = 'running';
        c.health = s.rt.bench.volume(VOLUME).live.has('new-only') ? 'unhealthy' : 'healthy';
      };
      const o = await restoreModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'failed', failure_reason: 'restore-failed', reverted: true });
      expect(o.verdict).toMatch(/did not come up healthy.*old data was put back/);
      expect(s.rt.bench.files(VOLUME)).toEqual({ 'old-only': 'old', shared: 'old shared' });
      expect(journalOf(s.rt)).toEqual([]);
      expect(s.rt.callsTo('writeJournalMark').map((c) => c.args[1])).toEqual([
        'begun',
        'snapshotted',
        'staged',
        'swapping',
        'committed',
        'reverting',
        'reverted',
      ]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('recover: the direction follows the journal phase', () => {
  function interrupted(s: ReturnType<typeof setup>, phase: Phase, swapped: boolean): void {
    const v = s.rt.bench.volume(VOLUME);
    const old = new Map(v.live);
    const staged = new Map<string, Buffer | null>([['new-only', Buffer.from('new')]]);
    v.work = { next: swapped ? new Map() : staged, old: swapped ? old : null, in: swapped, root: { ...v.root } };
    if (swapped) v.live = staged;
    const record: JournalRecord = {
      operation: 'restore',
      module: 'store',
      project: 'platform',
      service: 'store',
      backup: s.backup,
      backup_sha256: 'x',
      helper_image: 'sha256:aaa',
      mounts: [{ volume: 'store-data', kind: 'volume', source: VOLUME }],
      roots: [null],
      stopped: ['store-1'],
      compose_files: [s.store.compose.path],
      pre_restore_snapshot: '/pre/x.tar.gz',
      holder: 'host gone, pid 1',
      started_at: 'x',
    };
    s.rt.bench.journals.set(operationKey('platform', 'store'), [
      { seq: 1, phase, at: 't', data: { record: JSON.stringify(record) } },
    ]);
  }

  it.each<[Phase, boolean, 'reverted' | 'completed', Record<string, string>]>([
    ['begun', false, 'reverted', { 'old-only': 'old', shared: 'old shared' }],
    ['staged', false, 'reverted', { 'old-only': 'old', shared: 'old shared' }],
    ['swapping', true, 'reverted', { 'old-only': 'old', shared: 'old shared' }],
    ['committed', true, 'completed', { 'new-only': 'new' }],
    ['reverting', true, 'reverted', { 'old-only': 'old', shared: 'old shared' }],
  ])('phase %s (swapped: %s) → %s', async (phase, swapped, direction, files) => {
    const s = setup();
    try {
      interrupted(s, phase, swapped);
      const o = await recoverModule(
        {
          module: s.store,
          holder: 'host unit, pid 2',
          host: 'unit',
          pidAlive: () => false,
          breakStaleLock: false,
          readyTimeoutSeconds: 1,
        },
        { runtime: s.rt, log: quiet, now: () => T0, sleep: async () => undefined, operations: recoverRegistry() },
      );
      expect(o).toMatchObject({ decision: 'recovered', direction, phase });
      expect(s.rt.bench.files(VOLUME)).toEqual(files);
      expect(s.rt.bench.volume(VOLUME).work).toBeNull();
      expect(journalOf(s.rt)).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('refuses while a live holder (or one on another host) holds the lock, unless break-stale-lock', async () => {
    const s = setup();
    try {
      interrupted(s, 'staged', false);
      await s.rt.createLock(
        lockName('platform', 'store'),
        {
          'io.stateguard.lock': '1',
          'io.stateguard.lock.holder': 'host other, pid 7',
          'io.stateguard.lock.since': T0.toISOString(),
        },
        { images: [], project: 'platform' },
      );
      const req = {
        module: s.store,
        holder: 'host unit, pid 2',
        host: 'unit',
        pidAlive: () => false,
        breakStaleLock: false,
        readyTimeoutSeconds: 1,
      };
      const d = {
        runtime: s.rt,
        log: quiet,
        now: () => T0,
        sleep: async () => undefined,
        operations: recoverRegistry(),
      };
      expect(await recoverModule(req, d)).toMatchObject({ decision: 'refused', failure_reason: 'locked' });
      expect(journalOf(s.rt)).toHaveLength(1);
      expect(await recoverModule({ ...req, breakStaleLock: true }, d)).toMatchObject({
        decision: 'recovered',
        direction: 'reverted',
      });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each([
    ['repo o/r, host a, pid 5', 'a', false, true],
    ['repo o/r, host a, pid 5', 'a', true, false],
    ['repo o/r, host b, pid 5', 'a', false, false],
    ['garbage', 'a', false, false],
  ])('holderIsGone(%s) on host %s (pid alive: %s) → %s', (holder, host, alive, gone) => {
    expect(holderIsGone(holder, host, () => alive)).toBe(gone);
  });
});

describe('every mutating command refuses a module with an interrupted operation, naming recover', () => {
  const journal = (rt: FakeRuntime): void =>
    void rt.bench.journals.set(operationKey('platform', 'store'), [
      { seq: 1, phase: 'swapping', at: 't', data: { record: '{}' } },
    ]);

  it('snapshot', async () => {
    const s = setup();
    try {
      journal(s.rt);
      const err = await takeSnapshot({ module: s.store, runtime: s.rt, outDir: s.work, now: T0, log: quiet }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ reason: 'interrupted-operation' });
      expect((err as Error).message).toMatch(/stateguard recover --module store/);
      expect(s.rt.callsTo('stop')).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('apply of a sidecar whose parent has an interrupted restore', async () => {
    const s = setup();
    try {
      journal(s.rt);
      const o = await applyOneShot(
        {
          ...request(s),
          module: s.mods.find((m) => m.name === 'store-init')!,
          confirm: 'BACKUP_DONE',
          confirmToken: 'BACKUP_DONE',
        },
        {
          runtime: s.rt,
          planModules: planner(['container.state.exited_success']),
          verifyBackup,
          log: quiet,
          addSecret: () => undefined,
          now: () => T0,
        },
      );
      expect(o).toMatchObject({ status: 'refused', failure_reason: 'interrupted-operation' });
      expect(o.verdict).toMatch(/stateguard recover --module store/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('restore: downtime and progress (fake clock, docs/architecture.md §7)', () => {
  /** The simulated engine advances the clock: stop 1 s, each staged chunk 1 s, a recreate 0.5 s. */
  function clocked(s: ReturnType<typeof setup>): { clock: { t: number }; lines: string[]; d: RestoreDeps } {
    const clock = { t: T0.getTime() };
    const rt = s.rt;
    const stop = rt.stop.bind(rt);
    const stage = rt.stage.bind(rt);
    const recreate = rt.recreateService.bind(rt);
    rt.stop = async (ids, t) => {
      await stop(ids, t);
      clock.t += 1000;
    };
    rt.stage = async (h, produce) =>
      stage(h, async (write) =>
        produce(async (chunk) => {
          clock.t += 1000;
          await write(chunk);
        }),
      );
    rt.recreateService = async (target, service, image) => {
      const r = await recreate(target, service, image);
      clock.t += 500;
      return r;
    };
    const lines: string[] = [];
    const log = { ...quiet, info: (m: string) => void lines.push(m) };
    return { clock, lines, d: { ...deps(s), log, now: () => new Date(clock.t) } };
  }

  it('downtime_ms is from the stop to the service running again; stopped/started and waiting lines; staging progress with the total', async () => {
    const s = setup();
    try {
      const { clock, lines, d } = clocked(s);
      const o = await restoreModule(request(s, { progressIntervalMs: 1 }), d);
      expect(o.decision).toBe('restored');
      expect(o.downtime_ms).toBe(clock.t - T0.getTime());
      expect(Number.isInteger(o.downtime_ms)).toBe(true);
      expect(o.downtime_ms).toBeGreaterThan(1500);
      expect(o.messages).toContain('stopped platform_store_1 at 2026-03-01T12:00:00Z');
      expect(o.messages).toContain(
        'waiting up to 1 s for store to be running (and healthy where it has a healthcheck)',
      );
      expect(o.messages.find((m) => m.startsWith('started store again at'))).toMatch(/; down for \d+(\.\d)? s$/);
      const staging = lines.filter((l) => l.startsWith('restore store: staging store-20260301T110000Z.tar.gz: '));
      expect(staging.length).toBeGreaterThanOrEqual(1);
      expect(staging[0]).toMatch(/: [\d.]+ (B|KiB) of [\d.]+ KiB \(\d+%\), [\d.]+ (B|KiB)\/s, [\d.]+ s elapsed$/);
      // progress lines go to the log only, never into the result's messages
      expect(o.messages.some((m) => m.includes('elapsed'))).toBe(false);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('reverted after an unhealthy start: the downtime runs until the old data is up again', async () => {
    const s = setup();
    try {
      const { clock, d } = clocked(s);
      s.rt.onRecreate = () => {
        const c = s.rt.containers.find((x) => x.id === 'store-1')!;
        c.state = 'running';
        c.health = s.rt.bench.volume(VOLUME).live.has('new-only') ? 'unhealthy' : 'healthy';
      };
      const o = await restoreModule(request(s), d);
      expect(o).toMatchObject({ decision: 'failed', reverted: true, data: 'old' });
      expect(o.downtime_ms).toBe(clock.t - T0.getTime());
      expect(o.messages.filter((m) => m.startsWith('started store again at'))).toHaveLength(1);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('refused before anything stopped: downtime_ms null', async () => {
    const s = setup();
    try {
      const o = await restoreModule(request(s, { allowStateful: false }), deps(s));
      expect(o.decision).toBe('blocked');
      expect(o.downtime_ms).toBeNull();
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});
