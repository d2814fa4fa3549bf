// Generated: entry of actions/guard.
import { actionMain } from '../index.js';
await actionMain("guard");
