/**
 * The simulated examples/platform for restore and recover unit tests: store's volume mounted with
 * live data, a real (manifested) backup file on disk, and the request and deps a restore takes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyBackup } from '../../src/backup/verify.js';
import type { DriftKey, ModulePlan, Plan } from '../../src/drift/types.js';
import type { ModuleDecl } from '../../src/model/module.js';
import { loadModules } from '../../src/model/module.js';
import { operationKey } from '../../src/ops/journal.js';
import type { RestoreDeps, RestoreRequest } from '../../src/restore/types.js';
import { dir, file, gz, tar } from './archives.js';
import { examplePlatform, type FakeRuntime } from './fake-runtime.js';
import { planOf, withPlanHash } from './plans.js';
import { REPO } from './runner.js';
import { addManifestToFile } from './manifests.js';

export interface RestoreSetup {
  rt: FakeRuntime;
  work: string;
  backup: string;
  mods: ModuleDecl[];
  store: ModuleDecl;
}

export const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  raw: () => undefined,
};
export const T0 = new Date('2026-03-01T12:00:00Z');
export const VOLUME = 'platform_store-data';

export function modules(): ModuleDecl[] {
  const root = path.join(REPO, 'examples/platform');
  const loaded = loadModules(root, 'modules/*/module.yaml', root);
  return loaded.modules;
}

export function planner(drift: DriftKey[] = []) {
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
            observed: { container_id: 'x', state: 'running', exit_code: null, image: 'i', health: null },
            drift: drift.map((key) => ({ key, declared: 'a', observed: 'b' })),
            in_sync: drift.length === 0,
          }),
        ),
    );
}

/** The simulated platform with store's volume mounted, live data, and a real backup file on disk. */
export function setup(): RestoreSetup {
  const rt = examplePlatform();
  const store = rt.containers.find((c) => c.id === 'store-1')!;
  // compose recreates the service: running (and healthy) again
  rt.onRecreate = () => Object.assign(store, { state: 'running', health: 'healthy' });
  store.mounts = [
    { type: 'volume', name: VOLUME, source: `/var/lib/docker/volumes/${VOLUME}/_data`, destination: '/data' },
  ];
  rt.bench.volume(VOLUME).live = new Map([
    ['old-only', Buffer.from('old')],
    ['shared', Buffer.from('old shared')],
  ]);
  // what `docker cp store-1:/data -` serves for the pre-restore snapshot: the live data
  rt.served['/data'] = tar(dir('data/'), file('data/old-only', 'old'), file('data/shared', 'old shared'));
  const work = mkdtempSync(path.join(tmpdir(), 'sg-restore-unit-'));
  const backup = path.join(work, 'store-20260301T110000Z.tar.gz');
  writeFileSync(
    backup,
    gz(
      tar(
        dir('store-data/', { uid: 999, gid: 999, mode: 0o700 }),
        file('store-data/new-only', 'new'),
        file('store-data/shared', 'new shared'),
      ),
    ),
  );
  addManifestToFile(backup, { project: 'platform', service: 'store' });
  const mods = modules();
  return { rt, work, backup, mods, store: mods.find((m) => m.name === 'store')! };
}

export function request(s: RestoreSetup, over: Partial<RestoreRequest> = {}): RestoreRequest {
  return restoreRequest({ mods: s.mods, module: s.store, work: s.work, backup: s.backup }, over);
}

/** A restore request for the unit tests over the simulated engine: consent given for `backup`, small bounds. */
export function restoreRequest(
  s: { mods: ModuleDecl[]; module: ModuleDecl; work: string; backup: string },
  over: Partial<RestoreRequest> = {},
): RestoreRequest {
  return {
    modules: s.mods,
    module: s.module,
    allowStateful: true,
    confirm: path.basename(s.backup),
    backupRef: s.backup,
    backupRoots: [s.work],
    cwd: s.work,
    now: T0,
    maxUncompressedBytes: 1e9,
    maxEntries: 1000,
    expectedPlanHash: undefined,
    breakStaleLock: false,
    staleAfterMs: 3600_000,
    holder: 'host unit, pid 1',
    helperImage: undefined,
    outDir: path.join(s.work, 'pre'),
    readyTimeoutSeconds: 1,
    ...over,
  };
}

export function deps(s: RestoreSetup, drift: DriftKey[] = []): RestoreDeps {
  return {
    runtime: s.rt,
    planModules: planner(drift),
    verifyBackup,
    log: quiet,
    now: () => T0,
    sleep: async () => undefined,
  };
}

export const journalOf = (rt: FakeRuntime) => rt.bench.journals.get(operationKey('platform', 'store')) ?? [];
