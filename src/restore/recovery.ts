/**
 * How recover finishes or reverts an interrupted restore from its journal (docs/architecture.md §12):
 * before `committed` (or at `reverting`) → revert to the old data; `committed` → forward (idempotent
 * swap, recreate, health, drop; unhealthy → revert); `done`/`reverted` → tidy. recover
 * (src/ops/recover.ts) reaches it through the registry the command layer assembles.
 */
import path from 'node:path';
import { directionOf, type RestoreJournalRecord } from '../ops/journal.js';
import type { OperationRecovery } from '../ops/recover.js';
import { forwardAll, revertAll, tidyEnded, wayBack } from '../ops/steps.js';

export const restoreRecovery: OperationRecovery<RestoreJournalRecord> = {
  async recover(journal, phase, { request: req, steps: stepDeps, out, end }) {
    const m = req.module;
    const { runtime, say } = stepDeps;
    const { record } = journal;
    const direction = directionOf(phase);
    say(`journal of an interrupted ${record.operation} of '${m.name}': phase ${phase} → ${direction}`);
    if (direction === 'tidy') {
      await tidyEnded(journal, runtime);
      out.direction = phase === 'done' ? 'completed' : 'reverted';
      out.data = phase === 'done' ? 'backup' : 'old';
      return end('recovered', '', `the ${record.operation} had ended (${phase}); removed its journal`);
    }
    if (direction === 'revert') {
      const revert = await revertAll(journal, stepDeps, phase === 'reverting');
      out.direction = 'reverted';
      out.data = 'old';
      if (revert.problem) {
        return end('failed', 'restore-failed', `${revert.data}, but the service: ${revert.problem}`);
      }
      return end('recovered', '', `reverted: ${revert.data}, and the service of '${m.name}' runs`);
    }
    const fwd = await forwardAll(journal, stepDeps);
    if (fwd.ok) {
      out.direction = 'completed';
      out.data = 'backup';
      return end(
        'recovered',
        '',
        `completed: every volume of '${m.name}' holds the backup's data and the service runs`,
      );
    }
    const snapshot = record.pre_restore_snapshot;
    if (fwd.data === 'backup') {
      // The words come from what was done: the old data was gone, nothing was reverted.
      out.direction = 'completed';
      out.data = 'backup';
      return end(
        'failed',
        'restore-failed',
        `every volume of '${m.name}' holds the backup's data (${path.basename(record.backup)}) and the ` +
          `service is not healthy on it (${fwd.problem}). The old data is gone: its work area in ` +
          `${fwd.gone.join(', ')} had already been dropped when the restore was interrupted, so it could not be put ` +
          `back. To go back, ${wayBack(m.name, snapshot)}.`,
      );
    }
    out.direction = 'reverted';
    out.data = 'old';
    return end(
      'failed',
      'restore-failed',
      `the restored data did not come up healthy (${fwd.problem}); ${fwd.revert.data}. Pre-restore ` +
        `snapshot: ${snapshot ?? 'none'}.`,
    );
  },
};
