/**
 * Crash safety of restore and recover on the simulated engine (docs/architecture.md §12): the
 * process dies at every phase boundary and after every single engine call, then `recover` runs (and
 * is itself killed at every engine call, then run again). Whatever the instant, every volume ends
 * exactly old or exactly new, the service runs, nothing of the operation is left, and while the
 * operation is open every mutating command refuses.
 *
 * A death is simulated (test/support/simulated-death.ts): nothing after the dying call runs, as
 * after a SIGKILL. The real engine keeps one real SIGKILL per boundary kind per compose flavor
 * (test/integration/restore.test.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { lockName } from '../../../src/ops/lock.js';
import { recoverModule, type RecoverOutcome } from '../../../src/ops/recover.js';
import { recoverRegistry } from '../../../src/commands/recover.js';
import { restoreModule } from '../../../src/restore/restore.js';
import type { RestoreOutcome } from '../../../src/restore/types.js';
import { dying, expectKilled, wholeRun, type Dying } from '../../support/simulated-death.js';
import { deps, journalOf, quiet, request, setup, T0, VOLUME, type RestoreSetup } from '../../support/restore-setup.js';

const OLD = { 'old-only': 'old', shared: 'old shared' };
const NEW = { 'new-only': 'new', shared: 'new shared' };

/** The service's health follows the data: healthy on the old data, and on the backup's unless `badBackup`. */
function healthFollowsData(s: RestoreSetup, badBackup: boolean): void {
  s.rt.onRecreate = () => {
    const c = s.rt.containers.find((x) => x.id === 'store-1')!;
    c.state = 'running';
    c.health = badBackup && s.rt.bench.volume(VOLUME).live.has('new-only') ? 'unhealthy' : 'healthy';
  };
}

function restoreAs(s: RestoreSetup, d: Dying): Promise<RestoreOutcome> {
  return restoreModule(request(s, { holder: 'host unit, pid 1' }), { ...deps(s), runtime: d.runtime, crash: d.crash });
}

/** recover, as a new process on the same host (the killed holders' pids are gone). */
function recoverAs(s: RestoreSetup, d: Dying): Promise<RecoverOutcome> {
  return recoverModule(
    {
      module: s.store,
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

/** What a finished (not killed) recover must leave: one of the two datasets, the service up, nothing open. */
async function expectSettled(s: RestoreSetup, allowed: ReadonlyArray<Record<string, string>>): Promise<void> {
  const files = s.rt.bench.files(VOLUME);
  expect(allowed).toContainEqual(files);
  expect(s.rt.bench.volume(VOLUME).work).toBeNull();
  expect(journalOf(s.rt)).toEqual([]);
  expect(await s.rt.readLock(lockName('platform', 'store'))).toBeNull();
  expect(s.rt.containers.find((c) => c.id === 'store-1')?.state).toBe('running');
  const again = await recoverAs(s, dying(s.rt, null));
  expect(again.decision).toBe('nothing-to-recover');
}

/** The open operation blocks every other restore, naming why (the real suite checks snapshot too). */
async function expectBlocked(s: RestoreSetup): Promise<void> {
  const o = await restoreModule(request(s, { holder: 'host unit, pid 3' }), deps(s));
  expect({ decision: o.decision, reason: o.failure_reason }).toEqual({
    decision: 'blocked',
    reason: expect.stringMatching(/^(interrupted-operation|locked)$/),
  });
}

/** Engine calls a whole, uninterrupted restore makes (the kill instants to try). */
async function callsOfAWholeRestore(badBackup: boolean): Promise<number> {
  const s = setup();
  try {
    healthFollowsData(s, badBackup);
    const run = await wholeRun(s.rt, (d) => restoreAs(s, d));
    expect(run.outcome.decision).toBe(badBackup ? 'failed' : 'restored');
    return run.calls;
  } finally {
    rmSync(s.work, { recursive: true, force: true });
  }
}

describe('restore killed at every phase boundary, then recover (simulated engine)', () => {
  type Row = [string, boolean, Record<string, string>, RecoverOutcome['decision'], 'old' | 'backup'];
  it.each<Row>([
    ['after-begun', false, OLD, 'recovered', 'old'],
    ['after-stop', false, OLD, 'recovered', 'old'],
    ['after-snapshotted', false, OLD, 'recovered', 'old'],
    ['after-prepare', false, OLD, 'recovered', 'old'],
    ['after-staged', false, OLD, 'recovered', 'old'],
    ['after-swapping', false, OLD, 'recovered', 'old'],
    ['after-swap', false, OLD, 'recovered', 'old'],
    ['after-committed', false, NEW, 'recovered', 'backup'],
    ['after-recreate', false, NEW, 'recovered', 'backup'],
    ['after-drop', false, NEW, 'recovered', 'backup'],
    ['after-done', false, NEW, 'recovered', 'backup'],
    // a backup the service is not healthy on: recover, going forward, finds it so and goes back (the
    // restore failed); killed once the restore itself was going back, recover finishes that
    ['after-committed', true, OLD, 'failed', 'old'],
    ['after-recreate', true, OLD, 'failed', 'old'],
    ['after-reverting', true, OLD, 'recovered', 'old'],
    ['after-revert-swap', true, OLD, 'recovered', 'old'],
    ['after-reverted', true, OLD, 'recovered', 'old'],
  ])(
    'killed %s (unhealthy backup: %s) → exactly that data after recover',
    async (at, badBackup, files, decision, data) => {
      const s = setup();
      try {
        healthFollowsData(s, badBackup);
        await expectKilled(s.rt, { at }, (d) => restoreAs(s, d));
        await expectBlocked(s);
        const o = await recoverAs(s, dying(s.rt, null));
        expect({ decision: o.decision, data: o.data }).toEqual({ decision, data });
        await expectSettled(s, [files]);
      } finally {
        rmSync(s.work, { recursive: true, force: true });
      }
    },
  );
});

describe('restore killed after every engine call, then recover (simulated engine)', () => {
  it.each([false, true])('unhealthy backup: %s → every instant ends exactly old or exactly new', async (badBackup) => {
    const total = await callsOfAWholeRestore(badBackup);
    expect(total).toBeGreaterThan(20);
    const seen = new Set<string>();
    for (let n = 0; n < total; n++) {
      const s = setup();
      try {
        healthFollowsData(s, badBackup);
        await expectKilled(s.rt, { afterCalls: n }, (d) => restoreAs(s, d));
        const o = await recoverAs(s, dying(s.rt, null));
        // nothing open: killed before the journal began or after it was removed (the lock is taken over
        // either way); a failed recover is only the unhealthy backup's, reverted to the old data
        const reason = o.decision === 'failed' ? o.failure_reason : '';
        expect({ n, decision: o.decision, reason }).toEqual({
          n,
          decision: expect.stringMatching(
            badBackup ? /^(recovered|failed|nothing-to-recover)$/ : /^(recovered|nothing-to-recover)$/,
          ),
          reason: o.decision === 'failed' ? 'restore-failed' : '',
        });
        await expectSettled(s, badBackup ? [OLD] : [OLD, NEW]);
        seen.add(JSON.stringify(s.rt.bench.files(VOLUME)));
      } finally {
        rmSync(s.work, { recursive: true, force: true });
      }
    }
    // the instants really span the restore: early ones end old, (with a good backup) late ones new
    expect([...seen].sort()).toEqual((badBackup ? [OLD] : [OLD, NEW]).map((f) => JSON.stringify(f)).sort());
  });

  it('recover itself killed after every engine call, then recover again → exactly one of the two', async () => {
    for (const at of ['after-staged', 'after-swap', 'after-recreate']) {
      let total: number;
      {
        const s = setup();
        try {
          healthFollowsData(s, false);
          await expectKilled(s.rt, { at }, (d) => restoreAs(s, d));
          total = (await wholeRun(s.rt, (r) => recoverAs(s, r))).calls;
        } finally {
          rmSync(s.work, { recursive: true, force: true });
        }
      }
      expect(total).toBeGreaterThan(5);
      const expected = at === 'after-recreate' ? NEW : OLD;
      for (let n = 0; n < total; n++) {
        const s = setup();
        try {
          healthFollowsData(s, false);
          await expectKilled(s.rt, { at }, (d) => restoreAs(s, d));
          await expectKilled(s.rt, { afterCalls: n }, (r) => recoverAs(s, r));
          const o = await recoverAs(s, dying(s.rt, null));
          expect({ at, n, decision: o.decision }).toEqual({
            at,
            n,
            decision: expect.stringMatching(/^(recovered|nothing-to-recover)$/),
          });
          await expectSettled(s, [expected]);
        } finally {
          rmSync(s.work, { recursive: true, force: true });
        }
      }
    }
  });
});

describe('the simulated death itself', () => {
  it('stops the operation: nothing after the dying call runs, not even the lock release', async () => {
    const s = setup();
    try {
      await expectKilled(s.rt, { at: 'after-staged' }, (d) => restoreAs(s, d));
      const callsAtDeath = s.rt.calls.length;
      await new Promise((r) => setTimeout(r, 20));
      expect(s.rt.calls.length).toBe(callsAtDeath);
      expect(await s.rt.readLock(lockName('platform', 'store'))).not.toBeNull();
      expect(journalOf(s.rt).map((m) => m.phase)).toEqual(['begun', 'snapshotted', 'staged']);
      expect(path.basename(s.backup)).toMatch(/^store-/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});
