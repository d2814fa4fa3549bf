// lint-workflows throughput over a large set: 2,000 generated workflow files (FILES=n to change it)
// linted in one process through the built bundle (dist/index.js: GitHub's parser + stateguard's
// rules), files/second and peak RSS, against a reference measured in the same run: a plain `yaml`
// parse (with positions) of the same files. Each side runs in its own child process (so peak RSS is
// its own), ROUNDS times alternating; the best round of each counts, because this machine's noise
// only ever slows a round down. Target: >= 1,000 files/s.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const FILES = Number(process.env.FILES ?? 2000);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHA = '0123456789abcdef0123456789abcdef01234567';

function workflow(i) {
  // A mix of realistic shapes: plan on PR, dispatch-only apply, and some with problems.
  const kind = i % 4;
  const steps = Array.from({ length: 4 + (i % 5) }, (_, k) => `      - name: step ${k}\n        run: |\n          echo "building ${i}-${k}"\n          npm run task-${k} -- --flag \${{ matrix.node }}\n`).join('');
  if (kind === 0) {
    return `name: plan ${i}\non:\n  pull_request:\npermissions:\n  contents: read\n  pull-requests: write\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        node: [18, 20]\n    steps:\n      - uses: actions/checkout@${SHA} # v5\n      - uses: acme/stateguard/actions/plan@${SHA}\n        with:\n          github-token: \${{ github.token }}\n${steps}`;
  }
  if (kind === 1) {
    return `name: apply ${i}\non:\n  workflow_dispatch:\n    inputs:\n      module: {type: string, required: true}\n      allow_stateful: {type: boolean, default: false}\n      backup_ref: {type: string, required: true}\n      stateful_confirm: {type: string, required: true}\npermissions:\n  contents: read\njobs:\n  apply:\n    runs-on: ubuntu-latest\n    concurrency:\n      group: apply-\${{ inputs.module }}\n      cancel-in-progress: false\n    steps:\n      - uses: actions/checkout@${SHA}\n      - uses: acme/stateguard/actions/stateful-apply@${SHA}\n        with:\n          module: \${{ inputs.module }}\n          allow-stateful: \${{ inputs.allow_stateful }}\n          backup-ref: \${{ inputs.backup_ref }}\n          confirm: \${{ inputs.stateful_confirm }}\n`;
  }
  if (kind === 2) {
    return `name: bad ${i}\non: [push, workflow_dispatch]\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: acme/stateguard/actions/stateful-apply@v1\n        with:\n          allow-stateful: true\n      - run: |\n          echo "\${{ github.event.head_commit.message }}"\n          docker compose down -v\n`;
  }
  return `name: ci ${i}\non:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        node: [18, 20, 22]\n    steps:\n      - uses: actions/checkout@${SHA}\n      - uses: actions/setup-node@${SHA}\n        with:\n          node-version: \${{ matrix.node }}\n${steps}`;
}

async function child(mode, dir) {
  const files = readdirSync(dir).map((f) => path.join(dir, f));
  if (mode === 'reference') {
    const { parseDocument, LineCounter } = await import('yaml');
    const t0 = process.hrtime.bigint();
    let nodes = 0;
    for (const f of files) {
      const doc = parseDocument(readFileSync(f, 'utf8'), { lineCounter: new LineCounter() });
      nodes += doc.toJS() ? 1 : 0;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { files: nodes, seconds, loadSeconds: 0, maxRssKiB: process.resourceUsage().maxRSS };
  }
  const l0 = process.hrtime.bigint();
  const { COMMANDS } = await import(pathToFileURL(path.join(repo, 'dist/index.js')).href);
  const loadSeconds = Number(process.hrtime.bigint() - l0) / 1e9;
  const log = { info() {}, warn() {}, error() {}, notice() {}, raw() {} };
  const ctx = { cwd: dir, env: {}, log, now: () => new Date(), runtime: () => { throw new Error('no engine'); }, inAction: false, addSecret() {} };
  const t0 = process.hrtime.bigint();
  const result = await COMMANDS['lint-workflows'].run({ paths: ['.'], format: 'json', sarifFile: undefined }, ctx);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const problems = result.json.problems;
  if (result.exitCode !== 1 || problems.length === 0) throw new Error(`unexpected lint result: exit ${result.exitCode}, ${problems.length} problems`);
  return { files, seconds, loadSeconds, problems: problems.length, maxRssKiB: process.resourceUsage().maxRSS };
}

if (process.argv[2] === '--child') {
  const out = await child(process.argv[3], process.argv[4]);
  if (Array.isArray(out.files)) out.files = out.files.length;
  process.stdout.write(JSON.stringify(out));
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-lint-bench-'));
  try {
    for (let i = 0; i < FILES; i++) writeFileSync(path.join(dir, `wf-${String(i).padStart(5, "0")}.yml`), workflow(i));
    const run = (mode) => {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, dir], { encoding: 'utf8', timeout: 300_000 });
      if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    const rounds = Number(process.env.ROUNDS ?? 3);
    const rate = (x) => x.files / x.seconds;
    const best = (a, b) => (a === undefined || rate(b) > rate(a) ? b : a);
    let ref;
    let lint;
    for (let r = 0; r < rounds; r++) {
      ref = best(ref, run('reference'));
      lint = best(lint, run('lint'));
    }
    console.log(`files:                           ${FILES} generated workflows (${lint.problems} problems found); best of ${rounds} rounds`);
    console.log(`reference (yaml parse only):     ${rate(ref).toFixed(0)} files/s, peak RSS ${(ref.maxRssKiB / 1024).toFixed(0)} MiB`);
    console.log(`lint-workflows (bundle, 1 proc): ${rate(lint).toFixed(0)} files/s (${lint.seconds.toFixed(2)} s; bundle load ${lint.loadSeconds.toFixed(2)} s), peak RSS ${(lint.maxRssKiB / 1024).toFixed(0)} MiB`);
    console.log(`including bundle load:           ${(lint.files / (lint.seconds + lint.loadSeconds)).toFixed(0)} files/s`);
    console.log(`ratio lint / reference time:     ${(lint.seconds / ref.seconds).toFixed(2)}x`);
    console.log(`target >= 1000 files/s:          ${rate(lint) >= 1000 ? 'met' : 'NOT MET'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
