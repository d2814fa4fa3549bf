#!/usr/bin/env node
// `npm run demo`: the whole stateguard story on a copy of examples/platform, with the real CLI and a
// real engine. Each step prints the command, runs it, and checks the verdict it must give; a step
// that gives any other verdict makes the demo fail loudly. `--keep` leaves the stack running.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const started = Date.now();
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s) => paint(1, s);
const dim = (s) => paint(2, s);
const ok = (s) => paint(32, s);
const bad = (s) => paint(31, s);

// A distinctive secret: the one-shot prints it on purpose; stateguard must never show it.
const SECRET = `demo-pw-${randomBytes(6).toString('hex')}`;
const PROJECT = `sgdemo${randomBytes(3).toString('hex')}`;
const work = mkdtempSync(path.join(tmpdir(), 'stateguard-demo-'));
const platform = path.join(work, 'platform');
const backups = path.join(work, 'backups');
const composeDir = path.join(platform, 'compose/core');
const composeFile = path.join(composeDir, 'compose.yaml');
const proven = [];
let everything = '';

function fail(message) {
  console.error(`\n${bad('✘ demo failed:')} ${message}`);
  teardown();
  process.exit(1);
}

function section(title) {
  console.log(`\n${bold(`── ${title} `)}${bold('─'.repeat(Math.max(0, 70 - title.length)))}`);
}

/**
 * Run a process. Its stderr (and, unless `jsonStdout`, its stdout) go to one file, so progress
 * lines and the final verdict read in the order they were written.
 */
function run(cmd, args, opts = {}) {
  const logFile = path.join(work, `.out-${process.hrtime.bigint()}`);
  const fd = openSync(logFile, 'w');
  let r;
  try {
    r = spawnSync(cmd, args, {
      cwd: opts.cwd ?? repo,
      env: { ...process.env, ...opts.env },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', opts.jsonStdout ? 'pipe' : fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const merged = readFileSync(logFile, 'utf8');
  rmSync(logFile, { force: true });
  const stdout = opts.jsonStdout ? r.stdout ?? '' : '';
  everything += merged + stdout;
  return { status: r.status ?? 1, stdout, merged, out: merged + stdout };
}

/** Run `stateguard ARGS` (the committed CLI bundle), print it all, check the exit code. */
function sg(args, { expect, why, env, json = false, show = true, reason }) {
  const shown = args.map((a) => (a.includes(work) ? a.replace(work, '$DEMO') : a)).map((a) => (/\s/.test(a) ? JSON.stringify(a) : a));
  console.log(`\n${dim('$')} ${bold(`stateguard ${shown.join(' ')}`)}`);
  const r = run(process.execPath, [path.join(repo, 'dist/cli.js'), ...args], { env, cwd: work, jsonStdout: json });
  if (show) {
    const text = r.merged.trimEnd();
    if (text) console.log(text.split('\n').map((l) => `  ${l}`).join('\n'));
  }
  if (r.out.includes(SECRET)) fail(`the secret value appeared in the output of 'stateguard ${args[0]}'`);
  if (r.status !== expect) fail(`'stateguard ${args[0]}' exited ${r.status}; expected ${expect} (${why})`);
  // A "no" must be the right no: the exit code alone cannot tell a refusal from a wrong refusal.
  if (reason !== undefined) {
    const got = JSON.parse(r.stdout).failure_reason ?? '';
    if (got !== reason) fail(`'stateguard ${args[0]}' said failure-reason ${JSON.stringify(got)}; expected ${JSON.stringify(reason)} (${why})`);
  }
  console.log(`${ok('✔')} exit ${r.status}${reason ? `, failure-reason ${reason}` : ''}: ${why}`);
  return json ? JSON.parse(r.stdout) : r;
}

/** The compose flavor stateguard will use (STATEGUARD_COMPOSE, else v2 where it answers): the demo sets up with the same. */
function flavorIsV2() {
  const forced = process.env.STATEGUARD_COMPOSE;
  if (forced === 'v1' || forced === 'v2') return forced === 'v2';
  return spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
}

function compose(args) {
  const v2 = flavorIsV2();
  const base = ['-f', composeFile, '-p', PROJECT, ...args];
  const r = v2 ? run('docker', ['compose', ...base], { cwd: composeDir }) : run('docker-compose', base, { cwd: composeDir });
  if (r.status !== 0) fail(`compose ${args.join(' ')} failed:\n${r.out}`);
  return r;
}

function setEnvFile(vars) {
  writeFileSync(path.join(composeDir, '.env'), Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
}

let tornDown = false;
function teardown() {
  if (tornDown) return;
  tornDown = true;
  if (keep) {
    console.log(`\n--keep: the stack '${PROJECT}' and ${work} are left in place.`);
    console.log(`  remove later: docker-compose -f ${composeFile} -p ${PROJECT} down -v && rm -rf ${work}`);
    return;
  }
  const v2 = flavorIsV2();
  const args = ['-f', composeFile, '-p', PROJECT, 'down', '-v', '--remove-orphans'];
  spawnSync(v2 ? 'docker' : 'docker-compose', v2 ? ['compose', ...args] : args, { cwd: composeDir, stdio: 'ignore' });
  // Locks or probe leftovers labelled with the project, if any step died half-way.
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
  // stateguard's run records of the demo's one-shot
  const records = spawnSync('docker', ['volume', 'ls', '-q', '--filter', `label=io.stateguard.run-record.project=${PROJECT}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (records.length) spawnSync('docker', ['volume', 'rm', '-f', ...records], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  teardown();
  process.exit(130);
});

// ── 0. An engine and the example platform, with its one-shot broken ──────────────────────────
section('setup: a Docker engine and examples/platform');
const setup = spawnSync('bash', [path.join(repo, 'scripts/setup-docker.sh')], { stdio: 'inherit' });
if (setup.status !== 0) fail('scripts/setup-docker.sh failed');
cpSync(path.join(repo, 'examples/platform'), platform, { recursive: true });
for (const m of readdirSync(path.join(platform, 'modules'))) {
  const f = path.join(platform, 'modules', m, 'module.yaml');
  writeFileSync(f, readFileSync(f, 'utf8').replace(/project: platform/, `project: ${PROJECT}`));
}
setEnvFile({ STORE_ROOT_PASSWORD: SECRET, STORE_INIT_FAIL: '1' });
console.log(`copied examples/platform to $DEMO/platform (compose project ${PROJECT}); store-init is broken (STORE_INIT_FAIL=1)`);
compose(['up', '-d']);
for (let i = 0; i < 60; i++) {
  const st = run('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', 'label=com.docker.compose.service=store', '--filter', 'health=healthy'], { jsonStdout: true });
  if (st.stdout.trim()) break;
  if (i === 59) fail('store did not become healthy');
  await new Promise((r) => setTimeout(r, 500));
}
console.log(`${ok('✔')} the stack is up: store healthy, web running, store-init exited 1`);

const root = ['--root', platform];
const backupRoot = ['--backup-root', backups];

section('1. validate the declarations');
sg(['validate', ...root], { expect: 0, why: 'every module.yaml is valid' });
proven.push('module declarations are valid (schema + cross-file checks)');

section('2. plan: what drifted');
const plan1 = sg(['plan', ...root, '--json'], { expect: 0, why: 'the plan was made', json: true });
sg(['plan', ...root, '--detailed-exitcode'], { expect: 2, why: 'drift found: store-init has not run to success' });
const initPlan = plan1.modules.find((m) => m.name === 'store-init');
if (!initPlan || !initPlan.drift.some((d) => d.key === 'container.state.exited_success')) fail('plan did not show store-init as container.state.exited_success');
proven.push(`plan shows the broken one-shot as drift (${initPlan.drift.map((d) => d.key).join(', ')})`);

section('3. guard without backup, allow or confirm: blocked');
sg(['guard', ...root, '--module', 'store-init', '--json'], { expect: 1, reason: 'not-allowed', json: true, why: 'blocked: a sidecar needs allow-stateful, a verified backup and the confirm token' });
proven.push('the guard blocks a stateful change without backup, allow and confirmation, listing every reason');

section('4. snapshot the parent module and verify the backup');
const snap = sg(['snapshot', ...root, '--module', 'store', '--out-dir', backups, '--json'], { expect: 0, why: 'store snapshotted while stopped, then running and healthy again', json: true });
sg(['verify-backup', ...root, '--module', 'store-init', '--backup-ref', snap.path, ...backupRoot, '--json'], { expect: 0, reason: '', json: true, why: "the parent's backup covers store-init and verifies" });
proven.push('snapshot writes a backup that verify-backup accepts for the sidecar (streamed, never extracted)');

section('5. guard with everything in place: allowed');
const allow = ['--allow-stateful', '--backup-ref', snap.path, ...backupRoot, '--confirm', 'BACKUP_DONE'];
sg(['guard', ...root, '--module', 'store-init', ...allow, '--json'], { expect: 0, reason: '', json: true, why: 'allowed: only a one-shot re-run, with backup and confirmation' });

section('6. apply while the one-shot is still broken: it fails, secret scrubbed');
const storeBefore = run('docker', ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', 'label=com.docker.compose.service=store'], { jsonStdout: true }).stdout.trim();
const failed = sg(['apply', ...root, '--module', 'store-init', ...allow], { expect: 1, why: 'the one-shot exited 1, so apply says no' });
if (!failed.out.includes('failure-reason: one-shot-failed')) fail('apply said no, but not because the one-shot failed (expected failure-reason one-shot-failed)');
if (!failed.out.includes('***')) fail('apply did not show the scrubbed secret (***) in the one-shot logs');
proven.push("apply streams the one-shot's logs with its password replaced by ***");

section('7. fix the one-shot, plan shows a pending re-run, apply succeeds');
setEnvFile({ STORE_ROOT_PASSWORD: SECRET, STORE_INIT_FAIL: '0' });
console.log('fixed: STORE_INIT_FAIL=0 in the compose .env');
const plan2 = sg(['plan', ...root, '--module', 'store-init', '--json'], { expect: 0, why: 'the plan shows a pending re-run', json: true });
const keys2 = plan2.modules[0].drift.map((d) => d.key);
if (keys2.join() !== 'container.state.exited_success') fail(`expected only a pending re-run, got ${keys2.join(', ')}`);
// The module's own plan hash binds its drift and its declared definition: what was reviewed.
sg(['apply', ...root, '--module', 'store-init', ...allow, '--expected-plan-hash', plan2.modules[0].plan_hash], { expect: 0, why: 'the one-shot ran to exit 0 under the reviewed plan' });
sg(['plan', ...root, '--detailed-exitcode'], { expect: 0, why: 'everything in sync' });
const storeAfter = run('docker', ['ps', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', 'label=com.docker.compose.service=store'], { jsonStdout: true }).stdout.trim();
if (!storeBefore || storeBefore !== storeAfter) fail(`the store container changed during apply (${storeBefore.slice(0, 12)} -> ${storeAfter.slice(0, 12)})`);
console.log(`${ok('✔')} store's container ${storeAfter.slice(0, 12)} was never recreated or restarted by apply`);
proven.push('apply re-ran only the one-shot; the stateful parent kept its container; the plan is in sync');

section('8. staging gate with the persistence probe');
sg(['e2e-gate', ...root, '--persistence-probe', 'store', '--', process.execPath, '-e', "console.log('e2e: smoke test passed')"], {
  expect: 0,
  why: "store's data volume kept its sentinel across a recreate; /tmp did not",
  env: { STAGING_E2E: '1' },
});
sg(['e2e-gate', '--', process.execPath, '-e', '0'], { expect: 0, why: 'switch unset: skipped loudly, not passed silently', env: { STAGING_E2E: '' } });
proven.push('the persistence probe proves durable data survives a recreate and ephemeral paths do not');

section('9. lint the ready-to-copy workflows');
sg(['lint-workflows', path.join(repo, 'workflows')], { expect: 0, why: 'the shipped workflows have no errors' });
proven.push('the ready-to-copy workflows pass the stateful-safety lint');

if (everything.includes(SECRET)) fail('the secret value appeared somewhere in the output');
teardown();
section('what this demo proved');
for (const p of proven) console.log(`${ok('✔')} ${p}`);
console.log(`${ok('✔')} the one-shot's password never appeared in any output`);
console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s${keep ? '' : '; everything torn down'}.`);
