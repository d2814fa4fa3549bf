#!/usr/bin/env node
// Generated: the stateguard CLI.
import { cliMain } from './index.js';
await cliMain();
