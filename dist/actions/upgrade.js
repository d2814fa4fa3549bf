// Generated: entry of actions/upgrade.
import { actionMain } from '../index.js';
await actionMain("upgrade");
