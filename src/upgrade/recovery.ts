/**
 * How recover finishes an interrupted upgrade from its journal (docs/architecture.md §13): before
 * `deploying` nothing ran on the data, so the stopped containers start again (the previous image;
 * recreated from the pinned one if they are gone); from `deploying` on, the new version may have
 * migrated the data, so it is rolled back (./rollback.ts): the snapshot restored and the pinned
 * previous image running. recover (src/ops/recover.ts) reaches it through the registry the command
 * layer assembles.
 */
import type { UpgradeJournalRecord } from '../ops/journal.js';
import type { OperationRecovery } from '../ops/recover.js';
import { tidyEnded } from '../ops/steps.js';
import { healthGate } from './health.js';
import { describeRollback, describeRollbackFailure, recreatePrevious, rollBack } from './rollback.js';

export const upgradeRecovery: OperationRecovery<UpgradeJournalRecord> = {
  async recover(journal, phase, { request: req, steps: stepDeps, out, end }) {
    const record = journal.record;
    const { runtime } = stepDeps;
    const m = req.module;
    if (phase === 'done' || phase === 'rolled-back' || phase === 'reverted') {
      await tidyEnded(journal, runtime);
      out.direction = phase === 'done' ? 'completed' : 'reverted';
      return end('recovered', '', `the upgrade had ended (${phase}); removed its journal`);
    }
    const gate = {
      timeoutMs: req.readyTimeoutSeconds * 1000,
      settleMs: (m.upgrade?.settleSeconds ?? 10) * 1000,
      sleep: stepDeps.sleep,
    };
    out.direction = 'reverted';
    if (phase === 'begun' || phase === 'snapshotted') {
      const existing = await runtime.inspectContainers(record.stopped);
      let problem: string | null = null;
      if (existing.length === record.stopped.length && existing.length > 0)
        await runtime.start(existing.map((c) => c.id));
      else problem = (await recreatePrevious(record, stepDeps)).problem;
      problem ??= await healthGate(runtime, record, gate);
      await journal.mark('reverted');
      await journal.remove();
      if (problem) return end('failed', 'rollback-failed', `the previous version is back but not healthy: ${problem}`);
      return end('recovered', '', `the upgrade of '${m.name}' had not deployed yet; the previous version runs again`);
    }
    const rolled = await rollBack(journal, { ...stepDeps, gate });
    if (rolled.problem) {
      return end('failed', 'rollback-failed', `ROLLBACK FAILED: ${describeRollbackFailure(rolled, record)}`);
    }
    return end(
      'recovered',
      '',
      `rolled back the interrupted upgrade of '${m.name}': ${describeRollback(rolled, record)}`,
    );
  },
};
