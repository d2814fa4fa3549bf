// Generated: entry of the root action (input `command`).
import { actionMain } from '../index.js';
await actionMain();
