#!/usr/bin/env node
// `npm run demo`: the newcomer's path. For now: validate examples/platform and show its modules.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cmd = ['dist/cli.js', 'validate', '--root', 'examples/platform'];
console.log(`$ stateguard ${cmd.slice(1).join(' ')}`);
const r = spawnSync(process.execPath, cmd, { cwd: repo, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`demo: validate exited ${r.status}; expected 0`);
  process.exit(1);
}
console.log('demo: examples/platform is valid.');
