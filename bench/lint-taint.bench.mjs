// lint-workflows on one run: script with 20,000 tainted expressions (issue 29: each finding used to
// re-scan the script from its start, ~15 s), against a reference measured in the same run: a plain
// `yaml` parse of the same file plus one regex pass over its expressions (the least linear work).
// Target: under one second. Then files/s over a large set: the repository's own workflows plus
// generated ones (the shapes of lint-workflows.bench.mjs plus taint through outputs).
// The linter comes from the built bundle (dist/index.js); SG_LINT_MODULE=<path to a compiled
// src/lint/lint.js> measures another build (e.g. one compiled from an older commit) instead.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const EXPRESSIONS = 20_000;
const GENERATED = 1_000;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHA = '0123456789abcdef0123456789abcdef01234567';

async function linter() {
  if (process.env.SG_LINT_MODULE) {
    // A tsc build imports GitHub's parser's JSON schema without an import attribute (the bundle inlines it).
    const { register } = await import('node:module');
    const hook = `export async function load(url, context, next) {
      return url.endsWith('.json') ? next(url, { ...context, importAttributes: { type: 'json' } }) : next(url, context);
    }`;
    register(`data:text/javascript,${encodeURIComponent(hook)}`);
    const { lintWorkflows } = await import(pathToFileURL(path.resolve(process.env.SG_LINT_MODULE)).href);
    return async (dir) => (await lintWorkflows(dir, ['.'])).problems.length;
  }
  const { COMMANDS } = await import(pathToFileURL(path.join(repo, 'dist/index.js')).href);
  const log = { info() {}, warn() {}, error() {}, notice() {}, raw() {} };
  return async (dir) => {
    const ctx = { cwd: dir, env: {}, log, now: () => new Date(), runtime: () => { throw new Error('no engine'); }, inAction: false, addSecret() {} };
    const r = await COMMANDS['lint-workflows'].run({ paths: ['.'], format: 'json', sarifFile: undefined }, ctx);
    return r.json.problems.length;
  };
}

function bigScript() {
  const lines = Array.from({ length: EXPRESSIONS }, () => `          : \${{ github.head_ref }}\n`).join('');
  return `on: issues\npermissions:\n  contents: read\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n${lines}`;
}

function generated(i) {
  const kind = i % 3;
  const steps = Array.from({ length: 4 + (i % 5) }, (_, k) => `      - name: step ${k}\n        run: |\n          echo "building ${i}-${k}"\n          npm run task-${k} -- --flag \${{ matrix.node }}\n`).join('');
  if (kind === 0)
    return `name: ci ${i}\non:\n  push:\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        node: [18, 20, 22]\n    steps:\n      - uses: actions/checkout@${SHA}\n${steps}`;
  if (kind === 1)
    return `name: triage ${i}\non:\n  issue_comment:\npermissions:\n  contents: read\njobs:\n  read:\n    runs-on: ubuntu-latest\n    outputs:\n      arg: \${{ steps.p.outputs.arg }}\n    steps:\n      - id: p\n        env:\n          BODY: \${{ github.event.comment.body }}\n        run: echo "arg=$BODY" >> "$GITHUB_OUTPUT"\n  use:\n    needs: read\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \${{ needs.read.outputs.arg }} \${{ github.event.issue.number }}\n${steps.replace(/\$\{\{ matrix.node \}\}/g, '1')}`;
  return `name: pr ${i}\non:\n  pull_request_target:\npermissions:\n  contents: read\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: azure/cli@${SHA}\n        with:\n          inlineScript: az show \${{ github.event.pull_request.title }}\n      - run: echo \${{ github.event.pull_request.head.sha }} \${{ contains(github.head_ref, 'x') }}\n`;
}

async function reference(dir) {
  const { parseDocument, LineCounter } = await import('yaml');
  let n = 0;
  for (const f of readdirSync(dir)) {
    const doc = parseDocument(readFileSync(path.join(dir, f), 'utf8'), { lineCounter: new LineCounter() });
    for (const _ of JSON.stringify(doc.toJS()).matchAll(/\$\{\{([\s\S]*?)\}\}/g)) n++;
  }
  return n;
}

async function time(fn) {
  const t0 = process.hrtime.bigint();
  const out = await fn();
  return { out, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

const lint = await linter();
const root = mkdtempSync(path.join(tmpdir(), 'sg-lint-taint-bench-'));
try {
  const one = path.join(root, 'one');
  const many = path.join(root, 'many');
  for (const d of [one, many]) rmSync(d, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(one);
  mkdirSync(many);
  writeFileSync(path.join(one, 'big.yml'), bigScript());
  let own = 0;
  for (const d of ['workflows', '.github/workflows', '.forgejo/workflows']) {
    let names = [];
    try {
      names = readdirSync(path.join(repo, d)).filter((f) => /\.ya?ml$/.test(f));
    } catch {
      continue;
    }
    for (const f of names) writeFileSync(path.join(many, `own-${d.replace(/\W/g, '_')}-${f}`), readFileSync(path.join(repo, d, f)));
    own += names.length;
  }
  for (let i = 0; i < GENERATED; i++) writeFileSync(path.join(many, `gen-${String(i).padStart(4, '0')}.yml`), generated(i));
  await lint(many); // warm up (the parser's schema loads on first use)

  const ref1 = await time(() => reference(one));
  const big = await time(() => lint(one));
  console.log(`one run: with ${EXPRESSIONS} tainted expressions: ${big.seconds.toFixed(2)} s (${big.out} problems); reference (yaml parse + one regex pass): ${ref1.seconds.toFixed(2)} s; ratio ${(big.seconds / ref1.seconds).toFixed(1)}x`);
  console.log(`target < 1 s:                     ${big.seconds < 1 ? 'met' : 'NOT MET'}`);
  const files = own + GENERATED;
  const refN = await time(() => reference(many));
  const set = await time(() => lint(many));
  console.log(`large set: ${files} files (${own} of the repository's own + ${GENERATED} generated), ${set.out} problems`);
  console.log(`lint-workflows:                   ${(files / set.seconds).toFixed(0)} files/s (${set.seconds.toFixed(2)} s)`);
  console.log(`reference (yaml parse only):      ${(files / refN.seconds).toFixed(0)} files/s; ratio lint / reference time ${(set.seconds / refN.seconds).toFixed(2)}x`);
  console.log(`target >= 1000 files/s:           ${files / set.seconds >= 1000 ? 'met' : 'NOT MET'}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
