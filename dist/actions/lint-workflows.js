// Generated: entry of actions/lint-workflows.
import { actionMain } from '../index.js';
await actionMain("lint-workflows");
