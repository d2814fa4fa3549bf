/**
 * upgrade (docs/architecture.md §13) on the simulated engine: a hold touches nothing (no lock, no
 * pin, no stop, no snapshot); a healthy upgrade pins the previous image, snapshots, deploys only
 * the service and advances last-known-good; an unhealthy one is rolled back with the snapshot's
 * data on the pinned image; recover rolls back an upgrade interrupted after the deploy. The real
 * engine runs the same proofs in test/integration/upgrade.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { DriftKey, Plan } from '../../../src/drift/types.js';
import type { ModuleDecl } from '../../../src/model/module.js';
import { operationKey } from '../../../src/ops/journal.js';
import { recoverModule } from '../../../src/ops/recover.js';
import { recoverRegistry } from '../../../src/commands/recover.js';
import type { UpgradeRequest } from '../../../src/upgrade/types.js';
import { upgradeModule } from '../../../src/upgrade/upgrade.js';
import { container, type FakeRuntime } from '../../support/fake-runtime.js';
import { planOf, withPlanHash } from '../../support/plans.js';
import { deps, planner, quiet, recreateAs, request, setup, storeNow, T0, VOLUME } from '../../support/upgrade-setup.js';

describe('upgrade', () => {
  it.each([
    ['a major bump', 'stateguard/busybox:2.0.0', 'held-major'],
    ['an unclassifiable tag', 'stateguard/busybox:latest', 'held-major'],
  ])('%s is held before anything is touched', async (_n, to, reason) => {
    const s = setup(to);
    try {
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'held', status: 'held', failure_reason: reason });
      for (const m of [
        'createLock',
        'tagImage',
        'stop',
        'copyFrom',
        'recreateService',
        'writeJournalMark',
        'writeLastKnownGood',
        'removeImageTag',
      ])
        expect(s.rt.callsTo(m)).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('allow-major takes a major bump', async () => {
    const s = setup('stateguard/busybox:2.0.0');
    try {
      recreateAs(s.rt, () => true);
      const o = await upgradeModule(request(s, { allowMajor: true }), deps(s));
      expect(o).toMatchObject({ decision: 'upgraded', bump: 'major' });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a healthy upgrade pins the previous image, snapshots first, deploys only the service, advances last-known-good', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      const o = await upgradeModule(request(s), deps(s));
      expect(o.verdict).toMatch(/upgraded 'store'/);
      expect(o).toMatchObject({ decision: 'upgraded', failure_reason: '', bump: 'minor' });
      const order = s.rt.calls
        .map((c) => (c.method === 'writeJournalMark' ? `mark:${c.args[1] as string}` : c.method))
        .filter((m) => /^(tagImage|stop|copyFrom|recreateService|writeLastKnownGood|mark:)/.test(m));
      // the running version is recorded first (what the pinned image stands for), then the pin
      expect(order).toEqual([
        'writeLastKnownGood',
        'tagImage',
        'mark:begun',
        'stop',
        'copyFrom',
        'mark:snapshotted',
        'mark:deploying',
        'recreateService',
        'writeLastKnownGood',
        'mark:done',
      ]);
      // the definition is read before anything is touched
      expect(s.rt.calls.findIndex((c) => c.method === 'readContainerDefinition')).toBeLessThan(
        s.rt.calls.findIndex((c) => c.method === 'tagImage'),
      );
      expect(s.rt.callsTo('tagImage')[0]!.args[0]).toBe('sha256:old');
      expect(s.rt.callsTo('recreateService')).toHaveLength(1);
      expect(s.rt.lastKnownGood).toEqual([
        expect.objectContaining({ image_ref: 'stateguard/busybox:1.0.0', image_id: 'sha256:old', snapshot: '' }),
        expect.objectContaining({ image_ref: s.to, image_id: 'sha256:new', snapshot: o.snapshot }),
      ]);
      // a safety copy apart from store's backups (docs/architecture.md §7)
      expect(path.basename(o.snapshot!)).toMatch(/^store\.pre-upgrade\.\d{8}T\d{6}Z\.tar\.gz$/);
      expect(s.rt.bench.journals.get(operationKey('platform', 'store'))).toBeUndefined();
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('an unhealthy new version is rolled back: the snapshot data back, the previous container recreated from its definition', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, (override) => override !== undefined);
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'rolled-back', status: 'rolled-back', failure_reason: 'rolled-back' });
      expect(o.verdict).toMatch(/previous container as recorded before the deploy/);
      expect(o.verdict).toMatch(/all 1 paths of the snapshot are present/);
      expect(s.rt.bench.files(VOLUME)).toEqual({ db: 'rows' });
      expect(s.rt.callsTo('recreateService')).toHaveLength(1);
      expect(s.rt.callsTo('recreateFromDefinition').map((c) => c.args)).toEqual([['store-1', ['store-1']]]);
      expect(storeNow(s.rt)).toMatchObject({ imageId: 'sha256:old', configHash: 'h-store', health: 'healthy' });
      // checked after the health gate, with the helper's read-only listing
      expect(s.rt.calls.map((c) => c.method).filter((m) => m === 'listMountEntries')).toHaveLength(1);
      // last-known-good names the version that runs again (recorded before the pin), not the failed one
      expect(s.rt.lastKnownGood).toEqual([
        expect.objectContaining({ image_ref: 'stateguard/busybox:1.0.0', image_id: 'sha256:old', snapshot: '' }),
      ]);
      expect(s.rt.callsTo('removeImageTag')).toEqual([]);
      expect(s.rt.bench.journals.get(operationKey('platform', 'store'))).toBeUndefined();
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a rollback that is not healthy either is rollback-failed, naming the snapshot', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => false, { previousHealthy: false });
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'failed', failure_reason: 'rollback-failed' });
      expect(o.verdict).toContain(o.snapshot!);
      expect(s.rt.bench.files(VOLUME)).toEqual({ db: 'rows' });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each<[string, Partial<UpgradeRequest>, DriftKey[], string]>([
    ['allow-stateful not true', { allowStateful: false }, ['container.image'], 'not-allowed'],
    ['a wrong confirm', { confirm: 'nope' }, ['container.image'], 'confirm-mismatch'],
    ['an unhealthy module before the upgrade', {}, ['container.image', 'container.health'], 'drift-not-allowed'],
  ])('%s is blocked with nothing touched', async (_n, over, drift, reason) => {
    const s = setup();
    try {
      const d = { ...deps(s), planModules: planner('stateguard/busybox:1.0.0', s.to, drift) };
      const o = await upgradeModule(request(s, over), d);
      expect(o).toMatchObject({ decision: 'blocked', failure_reason: reason });
      expect(s.rt.callsTo('stop')).toEqual([]);
      expect(s.rt.callsTo('tagImage')).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('recover rolls back an upgrade interrupted after the deploy', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      const crashAt = 'after-deploy';
      const d = {
        ...deps(s),
        crash: (b: string) => {
          if (b === crashAt) throw Object.assign(new Error('SIGKILL'), { crash: true });
        },
      };
      // a crash that stops the process: simulated by abandoning the run at the boundary (journal stays)
      s.rt.bench.fails.add('mark-rolling-back');
      await upgradeModule(request(s), d);
      s.rt.bench.fails.delete('mark-rolling-back');
      expect(s.rt.bench.journals.get(operationKey('platform', 'store'))?.map((m) => m.phase)).toContain('deploying');
      expect(s.rt.bench.files(VOLUME)).toEqual({ db: 'rows', migrated: 'v2 schema' });
      const o = await recoverModule(
        {
          module: s.module,
          holder: 'host unit, pid 2',
          host: 'unit',
          pidAlive: () => false,
          breakStaleLock: true,
          readyTimeoutSeconds: 1,
        },
        { runtime: s.rt, log: quiet, now: () => T0, sleep: async () => undefined, operations: recoverRegistry() },
      );
      expect(o).toMatchObject({ decision: 'recovered', direction: 'reverted', phase: 'deploying' });
      expect(s.rt.bench.files(VOLUME)).toEqual({ db: 'rows' });
      expect(s.rt.callsTo('recreateService')).toHaveLength(1);
      expect(s.rt.callsTo('recreateFromDefinition')).toHaveLength(1);
      expect(storeNow(s.rt)).toMatchObject({ imageId: 'sha256:old', configHash: 'h-store' });
      expect(o.verdict).toMatch(/previous container as recorded before the deploy/);
      expect(s.rt.bench.journals.get(operationKey('platform', 'store'))).toBeUndefined();
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('upgrade: the data-mount checks refuse before anything is touched (docs/architecture.md §12, "Data mounts")', () => {
  it.each<[string, (s: ReturnType<typeof setup>) => void, string]>([
    [
      'another running container mounts the named volume',
      (s) =>
        void s.rt.containers.push(
          container({
            id: 'ship-1',
            name: 'q_shipper_1',
            project: 'q',
            service: 'shipper',
            mounts: [{ type: 'volume', name: VOLUME, source: '/x', destination: '/logs' }],
          }),
        ),
      'volume-in-use',
    ],
    [
      "the volume holds restore's reserved work-area name",
      (s) => void (s.rt.existing['store-1'] = ['/data/.stateguard-restore']),
      'not-restorable',
    ],
  ])('%s → refused (%s)', async (_n, arrange, reason) => {
    const s = setup();
    try {
      arrange(s);
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ status: 'refused', failure_reason: reason });
      expect(o.verdict).toMatch(/Nothing was changed/);
      for (const m of ['tagImage', 'stop', 'copyFrom', 'recreateService', 'writeJournalMark'])
        expect(s.rt.callsTo(m)).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('a rollback restores the previous definition, not only the previous image (docs/architecture.md §13)', () => {
  const SECRET = 'DB_PASSWORD=s3cr3t-value-never-printed';

  it("the new version's environment does not ride along: the recorded definition runs again, and it never reaches the outcome", async () => {
    const s = setup();
    try {
      s.store.env = ['MODE=prod', SECRET];
      recreateAs(s.rt, (override) => override !== undefined, {
        newEnv: ['MODE=prod', SECRET, 'WIPE_CACHE_ON_START=1'],
      });
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'rolled-back', failure_reason: 'rolled-back' });
      expect(storeNow(s.rt).env).toEqual(['MODE=prod', SECRET]);
      expect(JSON.stringify(o)).not.toContain('s3cr3t');
      expect(JSON.stringify(o)).not.toContain('MODE=prod');
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('the definition is in the journal for recover, and neither the refusal naming recover nor recover prints it', async () => {
    const s = setup();
    try {
      s.store.env = [SECRET];
      recreateAs(s.rt, () => true, { newEnv: [SECRET, 'WIPE_CACHE_ON_START=1'] });
      const d = {
        ...deps(s),
        crash: (b: string) => {
          if (b === 'after-deploy') throw Object.assign(new Error('SIGKILL'), { crash: true });
        },
      };
      s.rt.bench.fails.add('mark-rolling-back');
      await upgradeModule(request(s), d);
      s.rt.bench.fails.delete('mark-rolling-back');
      const marks = s.rt.bench.journals.get(operationKey('platform', 'store'))!;
      const record = JSON.parse(marks.at(-1)!.data.record!) as {
        previous_container: { id: string; image_id: string }[];
      };
      expect(record.previous_container).toEqual([expect.objectContaining({ id: 'store-1', image_id: 'sha256:old' })]);
      const refused = await upgradeModule(request(s), deps(s));
      expect(refused.failure_reason).toBe('interrupted-operation');
      expect(JSON.stringify(refused)).not.toContain('s3cr3t');
      const o = await recoverModule(
        {
          module: s.module,
          holder: 'host unit, pid 2',
          host: 'unit',
          pidAlive: () => false,
          breakStaleLock: true,
          readyTimeoutSeconds: 1,
        },
        { runtime: s.rt, log: quiet, now: () => T0, sleep: async () => undefined, operations: recoverRegistry() },
      );
      expect(o).toMatchObject({ decision: 'recovered', direction: 'reverted' });
      expect(JSON.stringify(o)).not.toContain('s3cr3t');
      expect(storeNow(s.rt).env).toEqual([SECRET]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a journal without a definition (an older stateguard) falls back to the pinned image and says so', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      const d = {
        ...deps(s),
        crash: (b: string) => {
          if (b === 'after-deploy') throw Object.assign(new Error('SIGKILL'), { crash: true });
        },
      };
      s.rt.bench.fails.add('mark-rolling-back');
      await upgradeModule(request(s), d);
      s.rt.bench.fails.delete('mark-rolling-back');
      for (const m of s.rt.bench.journals.get(operationKey('platform', 'store'))!) {
        const r = JSON.parse(m.data.record!) as Record<string, unknown>;
        delete r.previous_container;
        m.data.record = JSON.stringify(r);
      }
      const o = await recoverModule(
        {
          module: s.module,
          holder: 'host unit, pid 2',
          host: 'unit',
          pidAlive: () => false,
          breakStaleLock: true,
          readyTimeoutSeconds: 1,
        },
        { runtime: s.rt, log: quiet, now: () => T0, sleep: async () => undefined, operations: recoverRegistry() },
      );
      expect(o).toMatchObject({ decision: 'recovered', direction: 'reverted' });
      expect(o.verdict).toMatch(/TODAY's compose definition \(the journal recorded no previous container definition\)/);
      expect(s.rt.callsTo('recreateService').at(-1)!.args[2]).toMatch(/^stateguard\/pinned-/);
      expect(s.rt.callsTo('recreateFromDefinition')).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'a path of the snapshot wiped as the previous version starts',
      (rt: FakeRuntime) => rt.bench.volume(VOLUME).live.delete('db'),
      /1 of the snapshot's 1 paths are missing from the live volumes after the settle window: store-data\/db/,
    ],
    [
      'a file of the snapshot replaced by a directory',
      (rt: FakeRuntime) => rt.bench.volume(VOLUME).live.set('db', null),
      /store-data\/db \(a file in the snapshot, now a directory\)/,
    ],
  ])('%s is rollback-failed, loud, naming the path and the snapshot', async (_n, wipe, message) => {
    const s = setup();
    try {
      recreateAs(s.rt, (override) => override !== undefined);
      s.rt.onRecreateFromDefinition = () => wipe(s.rt);
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'failed', failure_reason: 'rollback-failed' });
      expect(o.verdict).toMatch(
        /^ROLLBACK FAILED: .*the previous version runs healthy, but the data does not match the snapshot/,
      );
      expect(o.verdict).toMatch(message);
      expect(o.verdict).toContain(o.snapshot!);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('additions and changed contents after the settle window are allowed (a database writes on start)', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, (override) => override !== undefined);
      s.rt.onRecreateFromDefinition = () => {
        s.rt.bench.volume(VOLUME).live.set('db', Buffer.from('rows and a new row'));
        s.rt.bench.volume(VOLUME).live.set('wal', Buffer.from('log'));
      };
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'rolled-back', failure_reason: 'rolled-back' });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('config drift without expected-plan-hash is refused before anything is touched, naming the fields and the hash', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      const planModules = async (mods: ModuleDecl[], rt: unknown, opts: { only?: string[] } = {}): Promise<Plan> => {
        const p = await planner('stateguard/busybox:1.0.0', s.to, ['container.image', 'container.config'])(
          mods,
          rt,
          opts,
        );
        for (const m of p.modules)
          for (const d of m.drift)
            if (d.key === 'container.config') d.fields = ['environment WIPE_CACHE_ON_START (absent → 5e6f7a8b)'];
        // the hash binds the fields too, as the real plan's does
        return planOf(p.modules.map((m) => withPlanHash({ ...m })));
      };
      const d = { ...deps(s), planModules };
      const o = await upgradeModule(request(s), d);
      expect(o).toMatchObject({ decision: 'blocked', failure_reason: 'drift-not-allowed' });
      expect(o.verdict).toContain('environment WIPE_CACHE_ON_START (absent → 5e6f7a8b)');
      expect(o.verdict).toContain(`Review the plan and pass ${o.plan_hash} as --expected-plan-hash`);
      for (const m of ['tagImage', 'stop', 'copyFrom', 'recreateService', 'writeJournalMark'])
        expect(s.rt.callsTo(m)).toEqual([]);
      // bound to the reviewed plan, the same upgrade runs
      const bound = await upgradeModule(request(s, { expectedPlanHash: o.plan_hash! }), d);
      expect(bound).toMatchObject({ decision: 'upgraded' });
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each<[string, string | undefined, string]>([
    ['the declared service with the running image renders the running hash: image-only', 'h-store', 'upgraded'],
    ['another hash: more than the image changed', 'h-other', 'blocked'],
    ['compose cannot tell', undefined, 'blocked'],
  ])('config drift the image explains needs no plan hash (%s)', async (_n, hash, decision) => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      if (hash) s.rt.hashWithImage['stateguard/busybox:1.0.0'] = hash;
      const d = {
        ...deps(s),
        planModules: planner('stateguard/busybox:1.0.0', s.to, ['container.image', 'container.config']),
      };
      const o = await upgradeModule(request(s), d);
      expect(o.decision).toBe(decision);
      if (decision === 'blocked') expect(o.failure_reason).toBe('drift-not-allowed');
      expect(s.rt.callsTo('configHashWithImage').at(-1)!.args.slice(1)).toEqual(['store', 'stateguard/busybox:1.0.0']);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('an image-only upgrade needs no plan hash', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      expect(await upgradeModule(request(s), deps(s))).toMatchObject({ decision: 'upgraded' });
      expect(s.rt.callsTo('configHashWithImage')).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'a definition the adapter cannot reproduce',
      (s: ReturnType<typeof setup>) =>
        void (s.rt.definitionProblems['store-1'] = 'its NetworkMode names container abc, which is gone'),
      /could not recreate .* exactly as it is: its NetworkMode names container abc, which is gone/,
    ],
    [
      'a service with two containers',
      (s: ReturnType<typeof setup>) =>
        void s.rt.containers.push({ ...s.store, id: 'store-2', name: 'platform_store_2' }),
      /has 2 containers; upgrade rolls back exactly one/,
    ],
  ])('%s is refused before anything is stopped', async (_n, arrange, message) => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      arrange(s);
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'blocked', status: 'refused', failure_reason: 'not-restorable' });
      expect(o.verdict).toMatch(message);
      for (const m of ['tagImage', 'stop', 'copyFrom', 'recreateService', 'writeJournalMark'])
        expect(s.rt.callsTo(m)).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('pinned-image retention after a successful upgrade', () => {
  const key = operationKey('platform', 'store');
  const own = (stamp: string): string => `stateguard/pinned-${key}:${stamp}`;
  const foreign = [
    'stateguard/pinned-0123456789abcdef01234567:20200101000000',
    `stateguard/pinned-${key}-x:20200101000000`,
    `stateguard/pinned-${key}:latest`,
  ];
  function withOldPins(s: ReturnType<typeof setup>): void {
    for (const t of [own('20260101000000'), own('20260201000000'), own('20260215000000'), ...foreign])
      s.rt.tags.set(t, 'sha256:older');
  }

  it('keeps the one just pinned and the one before; removes only older tags of this module, by tag, and says so', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      withOldPins(s);
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'upgraded', pinned_image: own('20260301120000') });
      expect(o.removed_pinned_images).toEqual([own('20260101000000'), own('20260201000000')]);
      expect(s.rt.callsTo('removeImageTag').map((c) => c.args[0])).toEqual(o.removed_pinned_images);
      expect([...s.rt.tags.keys()].sort()).toEqual([own('20260215000000'), own('20260301120000'), ...foreign].sort());
      expect(o.messages).toContain(
        `removed 2 older pinned image tag(s) of this module: ${own('20260101000000')}, ${own('20260201000000')}`,
      );
      expect(o.verdict).toContain(`removed ${own('20260101000000')}, ${own('20260201000000')}`);
      // retention runs after the upgrade is done: the journal is gone, last-known-good advanced
      const order = s.rt.calls
        .map((c) => (c.method === 'writeJournalMark' ? `mark:${c.args[1] as string}` : c.method))
        .filter((m) => /^(removeImageTag|mark:done)/.test(m));
      expect(order[0]).toBe('mark:done');
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a tag the engine will not remove is a warning, never a failed upgrade', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      withOldPins(s);
      s.rt.tagRemovalFails.add(own('20260101000000'));
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'upgraded', failure_reason: '' });
      expect(o.removed_pinned_images).toEqual([own('20260201000000')]);
      expect(o.warnings.join('\n')).toContain(`could not remove the older pinned image ${own('20260101000000')}`);
      expect(s.rt.tags.has(own('20260101000000'))).toBe(true);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a listing the engine refuses is a warning: upgraded, nothing removed', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      withOldPins(s);
      s.rt.listImageTags = async () => {
        throw new Error('docker image ls failed: boom');
      };
      const o = await upgradeModule(request(s), deps(s));
      expect(o).toMatchObject({ decision: 'upgraded', failure_reason: '', removed_pinned_images: [] });
      expect(o.warnings.join('\n')).toContain(
        'could not list the older pinned images of this module: docker image ls failed: boom; none removed',
      );
      expect(s.rt.callsTo('removeImageTag')).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a rolled-back upgrade removes no pinned image', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, (override) => override !== undefined);
      withOldPins(s);
      const o = await upgradeModule(request(s), deps(s));
      expect(o.decision).toBe('rolled-back');
      expect(o.removed_pinned_images).toEqual([]);
      expect(s.rt.callsTo('removeImageTag')).toEqual([]);
      expect(s.rt.callsTo('listImageTags')).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('upgrade: downtime, progress and the settle window in words (fake clock, docs/architecture.md §7)', () => {
  /** The simulated engine advances the clock: stop 1 s, each copied or staged chunk 1 s, a recreate 0.5 s. */
  function clocked(s: ReturnType<typeof setup>) {
    const clock = { t: T0.getTime() };
    const rt = s.rt;
    const stop = rt.stop.bind(rt);
    const stage = rt.stage.bind(rt);
    const copyFrom = rt.copyFrom.bind(rt);
    const recreate = rt.recreateService.bind(rt);
    rt.stop = async (ids, t) => {
      await stop(ids, t);
      clock.t += 1000;
    };
    rt.copyFrom = async (id, p, sink) => {
      const write = sink.write.bind(sink) as (chunk: Buffer) => boolean;
      (sink as { write: (chunk: Buffer) => boolean }).write = (chunk: Buffer) => {
        clock.t += 1000;
        return write(chunk);
      };
      return copyFrom(id, p, sink);
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

  it('a healthy upgrade: downtime_ms from the stop to the new version healthy, the settle window announced before it waits', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => true);
      const { clock, lines, d } = clocked(s);
      const o = await upgradeModule(request(s, { progressIntervalMs: 1, settleSeconds: 0 }), d);
      expect(o.decision).toBe('upgraded');
      expect(o.downtime_ms).toBe(clock.t - T0.getTime());
      expect(o.downtime_ms).toBeGreaterThanOrEqual(2500);
      const stopped = o.messages.indexOf('stopped platform_store_1 at 2026-03-01T12:00:00Z');
      const waiting = o.messages.indexOf(
        'waiting up to 1 s for store to be running (and healthy where it has a healthcheck)',
      );
      const started = o.messages.findIndex((m) =>
        /^started store again at 2026-03-01T12:00:\d\dZ; down for [\d.]+ s$/.test(m),
      );
      const settle = o.messages.indexOf('waiting 0 s for store to stay healthy (settle window)');
      expect([stopped, waiting, started, settle].every((i) => i >= 0)).toBe(true);
      expect(stopped < waiting && waiting < started && started < settle).toBe(true);
      expect(
        lines.some((l) =>
          /^snapshot store: copying \/data \(volume store-data\): [\d.]+ (B|KiB) copied, .*\/s, [\d.]+ s elapsed$/.test(
            l,
          ),
        ),
      ).toBe(true);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('rolled back: the downtime runs until the previous version is healthy again; the rollback staging reports progress', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, (override) => override !== undefined);
      const { clock, lines, d } = clocked(s);
      const o = await upgradeModule(request(s, { progressIntervalMs: 1 }), d);
      expect(o.decision).toBe('rolled-back');
      expect(o.downtime_ms).toBe(clock.t - T0.getTime());
      expect(o.messages.filter((m) => m.startsWith('started store again at'))).toHaveLength(1);
      expect(
        lines.some((l) => /^rollback store: staging store\.pre-upgrade\.\d{8}T\d{6}Z\.tar\.gz: .* copied, /.test(l)),
      ).toBe(true);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a rollback that does not come up either: the downtime runs to the end (still down)', async () => {
    const s = setup();
    try {
      recreateAs(s.rt, () => false, { previousHealthy: false });
      const { clock, d } = clocked(s);
      const o = await upgradeModule(request(s), d);
      expect(o.failure_reason).toBe('rollback-failed');
      expect(o.downtime_ms).toBe(clock.t - T0.getTime());
      expect(o.messages.some((m) => m.startsWith('started store again'))).toBe(false);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('held: nothing stopped, downtime_ms null', async () => {
    const s = setup('stateguard/busybox:2.0.0');
    try {
      const o = await upgradeModule(request(s), deps(s));
      expect(o.decision).toBe('held');
      expect(o.downtime_ms).toBeNull();
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});
