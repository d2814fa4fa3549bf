// Generated: entry of actions/verify-backup.
import { actionMain } from '../index.js';
await actionMain("verify-backup");
