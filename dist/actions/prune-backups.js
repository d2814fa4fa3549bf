// Generated: entry of actions/prune-backups.
import { actionMain } from '../index.js';
await actionMain("prune-backups");
