/**
 * Crash safety of upgrade and its rollback on the simulated engine (docs/architecture.md §13): the
 * process dies at every phase boundary and after every single engine call of a healthy upgrade and
 * of one that is rolled back, then `recover` runs. Whatever the instant, the module ends on exactly
 * one version with that version's data: the previous image on the pre-upgrade data, or (only once
 * the upgrade was proven healthy) the new image on the data it migrated — never one on the other's
 * data — and nothing of the operation is left.
 *
 * A death is simulated (test/support/simulated-death.ts): nothing after the dying call runs, as
 * after a SIGKILL. The real engine keeps a real SIGKILL after the deploy per compose flavor
 * (test/integration/upgrade.test.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { lockName } from '../../../src/ops/lock.js';
import { operationKey } from '../../../src/ops/journal.js';
import { recoverModule, type RecoverOutcome } from '../../../src/ops/recover.js';
import { recoverRegistry } from '../../../src/commands/recover.js';
import type { UpgradeOutcome } from '../../../src/upgrade/types.js';
import { upgradeModule } from '../../../src/upgrade/upgrade.js';
import { dying, expectKilled, wholeRun, type Dying } from '../../support/simulated-death.js';
import {
  deps,
  quiet,
  recreateAs,
  request,
  setup,
  storeNow,
  T0,
  VOLUME,
  type UpgradeSetup,
} from '../../support/upgrade-setup.js';

/** The previous version on the pre-upgrade data, or the new one on the data it migrated. */
const PREVIOUS: End = { image: 'sha256:old', files: { db: 'rows' } };
const UPGRADED: End = { image: 'sha256:new', files: { db: 'rows', migrated: 'v2 schema' } };
interface End {
  image: string;
  files: Record<string, string | null>;
}

/** healthy: the new version passes the gate; otherwise it is rolled back (the previous one is healthy). */
function versions(s: UpgradeSetup, newHealthy: boolean): void {
  recreateAs(s.rt, (override) => newHealthy || override !== undefined);
}

function upgradeAs(s: UpgradeSetup, d: Dying): Promise<UpgradeOutcome> {
  return upgradeModule(request(s, { holder: 'host unit, pid 1' }), {
    ...deps(s),
    // the gate polls a few times within its (simulated) second, not a thousand: every call is a kill instant
    pollMs: 250,
    runtime: d.runtime,
    crash: d.crash,
  });
}

function recoverAs(s: UpgradeSetup, d: Dying): Promise<RecoverOutcome> {
  return recoverModule(
    {
      module: s.module,
      holder: 'host unit, pid 2',
      host: 'unit',
      pidAlive: () => false,
      breakStaleLock: false,
      readyTimeoutSeconds: 1,
    },
    {
      runtime: d.runtime,
      log: quiet,
      now: () => T0,
      sleep: async () => undefined,
      crash: d.crash,
      operations: recoverRegistry(),
    },
  );
}

async function endOf(s: UpgradeSetup): Promise<End> {
  const running = storeNow(s.rt);
  const end = { image: running.imageId, files: s.rt.bench.files(VOLUME) };
  expect([PREVIOUS, UPGRADED]).toContainEqual(end);
  expect(running.state).toBe('running');
  expect(s.rt.bench.volume(VOLUME).work).toBeNull();
  expect(s.rt.bench.journals.get(operationKey('platform', 'store')) ?? []).toEqual([]);
  expect(await s.rt.readLock(lockName('platform', 'store'))).toBeNull();
  expect((await recoverAs(s, dying(s.rt, null))).decision).toBe('nothing-to-recover');
  return end;
}

async function callsOfAWholeUpgrade(newHealthy: boolean): Promise<number> {
  const s = setup();
  try {
    versions(s, newHealthy);
    const run = await wholeRun(s.rt, (d) => upgradeAs(s, d));
    expect(run.outcome.decision).toBe(newHealthy ? 'upgraded' : 'rolled-back');
    return run.calls;
  } finally {
    rmSync(s.work, { recursive: true, force: true });
  }
}

describe('upgrade killed at every phase boundary, then recover (simulated engine)', () => {
  it.each<[string, boolean, End, RecoverOutcome['decision']]>([
    ['after-begun', true, PREVIOUS, 'recovered'],
    ['after-stop', true, PREVIOUS, 'recovered'],
    ['after-snapshotted', true, PREVIOUS, 'recovered'],
    ['after-deploying', true, PREVIOUS, 'recovered'],
    // deployed, not yet proven healthy: recover rolls back (it cannot know the gate would have passed)
    ['after-deploy', true, PREVIOUS, 'recovered'],
    ['after-done', true, UPGRADED, 'recovered'],
    ['after-deploy', false, PREVIOUS, 'recovered'],
    ['after-rolling-back', false, PREVIOUS, 'recovered'],
    ['after-rollback-staged', false, PREVIOUS, 'recovered'],
    ['after-rollback-swap', false, PREVIOUS, 'recovered'],
    ['after-rolled-back', false, PREVIOUS, 'recovered'],
  ])('killed %s (new version healthy: %s) → exactly one version on its data', async (at, newHealthy, end, decision) => {
    const s = setup();
    try {
      versions(s, newHealthy);
      await expectKilled(s.rt, { at }, (d) => upgradeAs(s, d));
      // while it is open, another upgrade refuses
      const again = await upgradeModule(request(s, { holder: 'host unit, pid 3' }), deps(s));
      expect(again.failure_reason).toMatch(/^(interrupted-operation|locked)$/);
      const o = await recoverAs(s, dying(s.rt, null));
      expect(o.decision).toBe(decision);
      expect(await endOf(s)).toEqual(end);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('upgrade killed after every engine call, then recover (simulated engine)', () => {
  it.each([true, false])('new version healthy: %s → every instant ends on exactly one version', async (newHealthy) => {
    const total = await callsOfAWholeUpgrade(newHealthy);
    expect(total).toBeGreaterThan(20);
    const ends = new Set<string>();
    for (let n = 0; n < total; n++) {
      const s = setup();
      try {
        versions(s, newHealthy);
        await expectKilled(s.rt, { afterCalls: n }, (d) => upgradeAs(s, d));
        const o = await recoverAs(s, dying(s.rt, null));
        expect({ n, decision: o.decision }).toEqual({
          n,
          decision: expect.stringMatching(/^(recovered|nothing-to-recover)$/),
        });
        const end = await endOf(s);
        // the new version only stays when it passed the gate in the killed run
        if (!newHealthy) expect({ n, end }).toEqual({ n, end: PREVIOUS });
        ends.add(JSON.stringify(end));
      } finally {
        rmSync(s.work, { recursive: true, force: true });
      }
    }
    expect(ends.size).toBe(newHealthy ? 2 : 1);
  });
});
