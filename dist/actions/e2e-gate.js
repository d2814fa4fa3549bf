// Generated: entry of actions/e2e-gate.
import { actionMain } from '../index.js';
await actionMain("e2e-gate");
