// Generated: entry of actions/restore.
import { actionMain } from '../index.js';
await actionMain("restore");
