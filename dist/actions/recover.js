// Generated: entry of actions/recover.
import { actionMain } from '../index.js';
await actionMain("recover");
