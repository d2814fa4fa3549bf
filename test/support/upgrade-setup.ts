/**
 * The simulated examples/platform for upgrade unit tests: store running 1.0.0 with data, a newer
 * image to upgrade to, and the request, deps and recreate behaviour an upgrade takes.
 */
import { expect } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyBackup } from '../../src/backup/verify.js';
import type { DriftKey, Plan } from '../../src/drift/types.js';
import type { ModuleDecl } from '../../src/model/module.js';
import type { UpgradeRequest } from '../../src/upgrade/types.js';
import { dir, file, tar } from './archives.js';
import { examplePlatform, type FakeRuntime } from './fake-runtime.js';
import { planOf, withPlanHash } from './plans.js';
import { modules, quiet, T0, VOLUME } from './restore-setup.js';
import { upgradeRequest } from './upgrade-request.js';

export type UpgradeSetup = ReturnType<typeof setup>;

// the same simulated examples/platform as restore's: one logger, clock, volume and module set
export { modules, quiet, T0, VOLUME };

/** store declared at `to`, running `from`. */
export function planner(from: string, to: string, drift: DriftKey[] = ['container.image']) {
  return async (mods: ModuleDecl[], _rt: unknown, opts: { only?: string[] } = {}): Promise<Plan> =>
    planOf(
      mods
        .filter((m) => !opts.only || opts.only.includes(m.name))
        .map((m) =>
          withPlanHash({
            name: m.name,
            class: m.class,
            expected_state: m.expectedState,
            compose: { project: m.compose.project, service: m.compose.service, file: m.compose.display },
            ...(m.name === 'store' ? { declared: { image: to, config_hash: 'h-store' } } : {}),
            observed: { container_id: 'store-1', state: 'running', exit_code: null, image: from, health: 'healthy' },
            drift: m.name === 'store' ? drift.map((key) => ({ key, declared: to, observed: from })) : [],
            in_sync: m.name !== 'store' || drift.length === 0,
          }),
        ),
    );
}

export function setup(to = 'stateguard/busybox:1.1.0') {
  const rt = examplePlatform();
  const store = rt.containers.find((c) => c.id === 'store-1')!;
  store.mounts = [{ type: 'volume', name: VOLUME, source: '/x', destination: '/data' }];
  store.imageId = 'sha256:old';
  rt.images[to] = 'sha256:new';
  rt.bench.volume(VOLUME).live = new Map([['db', Buffer.from('rows')]]);
  rt.served['/data'] = tar(dir('data/'), file('data/db', 'rows'));
  const work = mkdtempSync(path.join(tmpdir(), 'sg-upgrade-unit-'));
  const mods = modules();
  return { rt, work, store, mods, module: mods.find((m) => m.name === 'store')!, to };
}

export function request(s: UpgradeSetup, over: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return upgradeRequest({ mods: s.mods, module: s.module, work: s.work, now: T0 }, over);
}

export function deps(s: UpgradeSetup, from = 'stateguard/busybox:1.0.0') {
  return {
    runtime: s.rt,
    planModules: planner(from, s.to),
    verifyBackup,
    log: quiet,
    now: () => T0,
    sleep: async () => undefined,
    pollMs: 1,
    readFile: () => null,
  };
}

/**
 * compose's recreate on the simulated engine: the service comes back on the image it was given (the
 * deploy: the new one, with the declared environment); a rollback recreates the recorded definition
 * (healthy unless `previousHealthy` says otherwise).
 */
export function recreateAs(
  rt: FakeRuntime,
  healthyOn: (imageOverride: string | undefined) => boolean,
  opts: { previousHealthy?: boolean; newEnv?: string[] } = {},
): void {
  rt.onRecreate = (_t, _s, imageOverride) => {
    const c = rt.containers.find((x) => x.service === 'store')!;
    c.state = 'running';
    c.health = healthyOn(imageOverride) ? 'healthy' : 'unhealthy';
    c.imageId = imageOverride ? 'sha256:old' : 'sha256:new';
    c.configHash = imageOverride ? 'h-override' : 'h-new';
    if (opts.newEnv) c.env = [...opts.newEnv];
    // the new version migrates the data as it starts
    if (!imageOverride) rt.bench.volume(VOLUME).live.set('migrated', Buffer.from('v2 schema'));
  };
  rt.onRecreateFromDefinition = (_def, created) => {
    created.health = opts.previousHealthy === false ? 'unhealthy' : 'healthy';
  };
}

export function storeNow(rt: FakeRuntime) {
  const all = rt.containers.filter((c) => c.service === 'store');
  expect(all).toHaveLength(1);
  return all[0]!;
}
