// Size of dist/ and the cold start of one action bundle (node dist/actions/validate.js with INPUT_*
// set, as a runner starts it), against the cold start of a bare `node -e ""` in the same run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
function size(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? size(p) : statSync(p).size;
  }
  return total;
}
const tmp = mkdtempSync(path.join(tmpdir(), 'sg-bench-'));
writeFileSync(path.join(tmp, 'out'), '');
writeFileSync(path.join(tmp, 'summary'), '');
const env = {
  PATH: process.env.PATH,
  GITHUB_OUTPUT: path.join(tmp, 'out'),
  GITHUB_STEP_SUMMARY: path.join(tmp, 'summary'),
  INPUT_ROOT: 'examples/platform',
  INPUT_MODULES: 'modules/*/module.yaml',
};
function median(cmd, args, n = 15) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: repo, env, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}
const bare = median(process.execPath, ['-e', '']);
const action = median(process.execPath, ['dist/actions/validate.js']);
const bytes = size(path.join(repo, 'dist'));
console.log(`dist/ total size:            ${(bytes / 1024 / 1024).toFixed(2)} MiB (${bytes} bytes)`);
console.log(`node -e "" (reference):      ${bare.toFixed(1)} ms (median of 15)`);
console.log(`actions/validate cold start: ${action.toFixed(1)} ms (median of 15, validating examples/platform)`);
console.log(`ratio action / bare node:    ${(action / bare).toFixed(2)}x`);
