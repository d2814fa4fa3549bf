// `npm run checks`: the type check and the code lint (ESLint, Prettier) side by side — they read the
// same files and neither needs the other — failing when either fails. Each runs as its own npm
// script, with an argument array (no shell), its output passed through as it comes.
import { spawn } from 'node:child_process';

const scripts = ['typecheck', 'lint:code'];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const codes = await Promise.all(
  scripts.map(
    (name) =>
      new Promise((resolve) => {
        const child = spawn(npm, ['run', '--silent', name], { stdio: 'inherit' });
        child.on('error', (err) => {
          console.error(`checks: could not run npm run ${name}: ${err.message}`);
          resolve(1);
        });
        child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
      }),
  ),
);
for (const [i, code] of codes.entries())
  if (code !== 0) console.error(`checks: npm run ${scripts[i]} failed (exit ${code})`);
process.exit(codes.every((c) => c === 0) ? 0 : 1);
