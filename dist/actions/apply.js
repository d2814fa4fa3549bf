// Generated: entry of actions/apply.
import { actionMain } from '../index.js';
await actionMain("apply");
