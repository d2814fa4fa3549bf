/** snapshot's refusal, shared by ./snapshot.ts, ./assemble.ts and ./publish.ts. */
import { UserError, type FailureReason } from '../errors.js';

/** A snapshot that could not be taken, or whose containers did not come back: a "no" (exit 1). */
export class SnapshotError extends UserError {
  constructor(message: string, reason: FailureReason = 'snapshot-failed') {
    super(message, { reason, exitCode: 1 });
    this.name = 'SnapshotError';
  }
}
