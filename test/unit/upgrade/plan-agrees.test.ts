/**
 * plan predicts exactly what upgrade decides (docs/architecture.md §13): on the same simulated engine
 * state, plan's pending upgrade and upgrade's rule give the same `from`, bump and hold — for a fresh
 * module, after a successful upgrade, after a rollback (the service runs the pinned tag) and for a
 * same-image re-declare. The states are made by running real upgrades on the simulated engine.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyBackup } from '../../../src/backup/verify.js';
import { planModules } from '../../../src/plan/plan.js';
import type { ModuleDecl } from '../../../src/model/module.js';
import { loadModules } from '../../../src/model/module.js';
import { evaluateUpgrade } from '../../../src/upgrade/evaluate.js';
import type { UpgradeOutcome, UpgradeRequest } from '../../../src/upgrade/types.js';
import { upgradeModule } from '../../../src/upgrade/upgrade.js';
import { dir, file, tar } from '../../support/archives.js';
import { examplePlatform, type FakeRuntime } from '../../support/fake-runtime.js';
import { REPO } from '../../support/runner.js';
import { upgradeRequest } from '../../support/upgrade-request.js';

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  raw: () => undefined,
};
const T0 = Date.parse('2026-03-01T12:00:00Z');
const VOLUME = 'platform_store-data';
const REPO_APP = 'stateguard/busybox';
/** image IDs of the local versions; 1.2.0 and 1.3.0 are broken (unhealthy) */
const IMAGES: Record<string, string> = {
  '1.0.0': 'sha256:v100',
  '1.0.1': 'sha256:v101',
  '1.1.0': 'sha256:v110',
  '1.1.1': 'sha256:v111',
  '1.2.0': 'sha256:v120',
  '2.0.0': 'sha256:v200',
  stable: 'sha256:v100',
};
const BROKEN = new Set(['sha256:v120']);

interface World {
  rt: FakeRuntime;
  work: string;
  mods: ModuleDecl[];
  store: ModuleDecl;
  clock: () => Date;
}

function world(): World {
  const rt = examplePlatform({ image: `${REPO_APP}:1.0.0` });
  for (const [tag, id] of Object.entries(IMAGES)) rt.images[`${REPO_APP}:${tag}`] = id;
  const c = rt.containers.find((x) => x.id === 'store-1')!;
  c.mounts = [{ type: 'volume', name: VOLUME, source: '/x', destination: '/data' }];
  c.imageRef = `${REPO_APP}:1.0.0`;
  c.imageId = IMAGES['1.0.0']!;
  rt.bench.volume(VOLUME).live = new Map([['db', Buffer.from('rows')]]);
  rt.served['/data'] = tar(dir('data/'), file('data/db', 'rows'));
  // compose's recreate: the service runs the declared image (or the override), healthy unless broken
  rt.onRecreate = (_t, _s, override) => {
    // the service's container now: a rollback replaces store-1 with one recreated from its definition
    const c = rt.containers.find((x) => x.service === 'store')!;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc reads the image as optional here
    const ref = override ?? (rt.projects.platform!.services.store!.image as string);
    c.imageRef = ref;
    c.imageId = rt.images[ref]!;
    c.state = 'running';
    c.health = BROKEN.has(c.imageId) ? 'unhealthy' : 'healthy';
  };
  const root = path.join(REPO, 'examples/platform');
  const loaded = loadModules(root, 'modules/*/module.yaml', root);
  let tick = 0;
  return {
    rt,
    work: mkdtempSync(path.join(tmpdir(), 'sg-plan-agrees-')),
    mods: loaded.modules,
    store: loaded.modules.find((m) => m.name === 'store')!,
    clock: () => new Date(T0 + 60_000 * tick++),
  };
}

function declare(w: World, tag: string): void {
  w.rt.projects.platform!.services.store!.image = `${REPO_APP}:${tag}`;
}

function request(w: World): UpgradeRequest {
  return upgradeRequest({ mods: w.mods, module: w.store, work: w.work, now: w.clock() });
}

function deps(w: World) {
  return {
    runtime: w.rt,
    planModules,
    verifyBackup,
    log: quiet,
    now: w.clock,
    sleep: async () => undefined,
    pollMs: 1,
    readFile: () => null,
  };
}

async function upgradeTo(w: World, tag: string): Promise<UpgradeOutcome> {
  declare(w, tag);
  return upgradeModule(request(w), deps(w));
}

/** What plan predicts and what upgrade's rule decides, for the version declared now. */
async function both(w: World, tag: string) {
  declare(w, tag);
  const plan = await planModules(w.mods, w.rt, { only: ['store'], readFile: () => null });
  const pending = plan.modules[0]!.upgrade;
  const out = {
    warnings: [] as string[],
    from: { image: null, image_id: null },
    to: { image: null, image_id: null },
    bump: null,
  } as unknown as UpgradeOutcome;
  const ev = await evaluateUpgrade(request(w), deps(w), out);
  const decided = { from: out.from.image, bump: out.bump, held: ev.gate?.failure_reason ?? null };
  const predicted = pending ? { from: pending.from, bump: pending.bump, held: pending.would_hold } : null;
  return { predicted, decided };
}

describe('plan predicts exactly what upgrade decides', () => {
  const cases: Array<{
    name: string;
    history: string[];
    declare: string;
    want: { from: string; bump: string; held: string };
  }> = [
    {
      name: 'fresh module, a patch',
      history: [],
      declare: '1.0.1',
      want: { from: `${REPO_APP}:1.0.0`, bump: 'patch', held: '' },
    },
    {
      name: 'fresh module, a major',
      history: [],
      declare: '2.0.0',
      want: { from: `${REPO_APP}:1.0.0`, bump: 'major', held: 'held-major' },
    },
    {
      name: 'fresh module, another tag of the running image (same ID)',
      history: [],
      declare: 'stable',
      want: { from: `${REPO_APP}:1.0.0`, bump: 'none', held: '' },
    },
    {
      name: 'after a successful upgrade, a patch',
      history: ['1.1.0'],
      declare: '1.1.1',
      want: { from: `${REPO_APP}:1.1.0`, bump: 'patch', held: '' },
    },
    {
      name: 'after a first upgrade rolled back, the running version declared again',
      history: ['1.2.0'],
      declare: '1.0.0',
      want: { from: `${REPO_APP}:1.0.0`, bump: 'none', held: '' },
    },
    {
      name: 'after a first upgrade rolled back, a patch of the running version',
      history: ['1.2.0'],
      declare: '1.0.1',
      want: { from: `${REPO_APP}:1.0.0`, bump: 'patch', held: '' },
    },
    {
      name: 'after a rollback that followed an upgrade, the running version declared again',
      history: ['1.1.0', '1.2.0'],
      declare: '1.1.0',
      want: { from: `${REPO_APP}:1.1.0`, bump: 'none', held: '' },
    },
    {
      name: 'after a rollback that followed an upgrade, a patch',
      history: ['1.1.0', '1.2.0'],
      declare: '1.1.1',
      want: { from: `${REPO_APP}:1.1.0`, bump: 'patch', held: '' },
    },
    {
      name: 'after a rollback, a major is still held',
      history: ['1.2.0'],
      declare: '2.0.0',
      want: { from: `${REPO_APP}:1.0.0`, bump: 'major', held: 'held-major' },
    },
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const w = world();
    try {
      for (const v of c.history) {
        const o = await upgradeTo(w, v);
        expect(o.decision).toBe(BROKEN.has(IMAGES[v]!) ? 'rolled-back' : 'upgraded');
      }
      const { predicted, decided } = await both(w, c.declare);
      expect(decided).toEqual(c.want);
      expect(predicted).toEqual(decided);
    } finally {
      rmSync(w.work, { recursive: true, force: true });
    }
  });

  it('a same-image re-declare after a rollback is upgraded through the normal path, recreated on the declared reference', async () => {
    const w = world();
    try {
      expect((await upgradeTo(w, '1.2.0')).decision).toBe('rolled-back');
      // the rollback recreated the previous container from its definition: by image ID, never a tag
      const store = () => w.rt.containers.find((x) => x.service === 'store')!;
      expect(store().imageRef).toBe(IMAGES['1.0.0']);
      const o = await upgradeTo(w, '1.0.0');
      expect(o).toMatchObject({ decision: 'upgraded', bump: 'none', failure_reason: '' });
      expect(o.snapshot).not.toBeNull();
      expect(store().imageRef).toBe(`${REPO_APP}:1.0.0`);
      const plan = await planModules(w.mods, w.rt, { only: ['store'] });
      expect(plan.modules[0]!.drift).toEqual([]);
    } finally {
      rmSync(w.work, { recursive: true, force: true });
    }
  });
});
