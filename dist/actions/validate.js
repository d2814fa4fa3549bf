// Generated: entry of actions/validate.
import { actionMain } from '../index.js';
await actionMain("validate");
