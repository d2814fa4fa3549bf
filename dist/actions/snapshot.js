// Generated: entry of actions/snapshot.
import { actionMain } from '../index.js';
await actionMain("snapshot");
