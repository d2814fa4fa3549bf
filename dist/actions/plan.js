// Generated: entry of actions/plan.
import { actionMain } from '../index.js';
await actionMain("plan");
