/** An upgrade request for the unit tests over the simulated engine: consent given, small bounds. */
import path from 'node:path';
import type { ModuleDecl } from '../../src/model/module.js';
import type { UpgradeRequest } from '../../src/upgrade/types.js';

export function upgradeRequest(
  base: { mods: ModuleDecl[]; module: ModuleDecl; work: string; now: Date },
  over: Partial<UpgradeRequest> = {},
): UpgradeRequest {
  return {
    modules: base.mods,
    module: base.module,
    allowStateful: true,
    confirm: 'BACKUP_DONE',
    confirmToken: 'BACKUP_DONE',
    cwd: base.work,
    now: base.now,
    expectedPlanHash: undefined,
    breakStaleLock: false,
    staleAfterMs: 3600_000,
    holder: 'host unit, pid 1',
    allowMajor: false,
    outDir: path.join(base.work, 'snap'),
    helperImage: undefined,
    healthTimeoutSeconds: 1,
    settleSeconds: 0,
    ...over,
  };
}
