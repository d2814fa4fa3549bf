#!/usr/bin/env node
// `npm run demo`: the whole stateguard story on a copy of examples/platform, with the real CLI and a
// real engine. Each step prints the command, runs it, and checks the verdict it must give; a step
// that gives any other verdict makes the demo fail loudly. `--keep` leaves the stack running.
// `--swarm` tells the same story on Docker Swarm with examples/swarm-platform: the engine is made a
// single-node swarm when it is not one (and left again at the end), the stack deployed with
// `docker stack deploy`, the one-shot a replicated-job.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const swarm = process.argv.includes('--swarm');
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
const composeDir = path.join(platform, swarm ? 'stack/core' : 'compose/core');
const composeFile = path.join(composeDir, swarm ? 'stack.yaml' : 'compose.yaml');
// On Swarm the stack file is interpolated from the environment of `docker stack config/deploy`
// (there is no .env): the variables go to every process the demo runs.
let stackEnv = {};
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
      env: { ...process.env, ...stackEnv, ...opts.env },
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
  if (swarm) stackEnv = { ...vars };
  else writeFileSync(path.join(composeDir, '.env'), Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
}

/** Label filter of one service's containers: compose labels, or the Swarm service name. */
function serviceFilter(service) {
  return swarm
    ? ['--filter', `label=com.docker.swarm.service.name=${PROJECT}_${service}`]
    : ['--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', `label=com.docker.compose.service=${service}`];
}

function swarmTeardown() {
  const q = (args) => spawnSync('docker', args, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  spawnSync('docker', ['stack', 'rm', PROJECT], { stdio: 'ignore' });
  const ns = `label=com.docker.stack.namespace=${PROJECT}`;
  for (let i = 0; i < 120 && q(['ps', '-q', '--filter', ns]).length > 0; i++) spawnSync('sleep', ['0.5']);
  // A job's finished task containers outlive `docker stack rm` on some engines: remove what is left.
  const left = q(['ps', '-aq', '--filter', ns]);
  if (left.length) spawnSync('docker', ['rm', '-f', ...left], { stdio: 'ignore' });
  const vols = q(['volume', 'ls', '-q', '--filter', ns]);
  for (let i = 0; i < 20 && vols.length; i++) {
    if (spawnSync('docker', ['volume', 'rm', '-f', ...vols], { stdio: 'ignore' }).status === 0) break;
    spawnSync('sleep', ['0.5']);
  }
  const locks = q(['config', 'ls', '-q', '--filter', `label=io.stateguard.lock.project=${PROJECT}`]);
  if (locks.length) spawnSync('docker', ['config', 'rm', ...locks], { stdio: 'ignore' });
  const nets = q(['network', 'ls', '-q', '--filter', ns]);
  if (nets.length) spawnSync('docker', ['network', 'rm', ...nets], { stdio: 'ignore' });
  // Leave the swarm only when this demo's setup made it (setup-docker.sh keeps that marker).
  spawnSync('bash', [path.join(repo, 'scripts/setup-docker.sh'), '--swarm-leave'], { stdio: 'inherit' });
}

let tornDown = false;
function teardown() {
  if (tornDown) return;
  tornDown = true;
  if (keep) {
    console.log(`\n--keep: the stack '${PROJECT}' and ${work} are left in place.`);
    console.log(
      swarm
        ? `  remove later: docker stack rm ${PROJECT} && rm -rf ${work} (and scripts/setup-docker.sh --swarm-leave)`
        : `  remove later: docker-compose -f ${composeFile} -p ${PROJECT} down -v && rm -rf ${work}`,
    );
    return;
  }
  if (swarm) swarmTeardown();
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
const example = swarm ? 'examples/swarm-platform' : 'examples/platform';
section(`setup: a Docker engine${swarm ? ' (a swarm manager)' : ''} and ${example}`);
const setup = spawnSync('bash', [path.join(repo, 'scripts/setup-docker.sh'), ...(swarm ? ['--swarm'] : [])], { stdio: 'inherit' });
if (setup.status !== 0) fail('scripts/setup-docker.sh failed');
cpSync(path.join(repo, example), platform, { recursive: true });
for (const m of readdirSync(path.join(platform, 'modules'))) {
  const f = path.join(platform, 'modules', m, 'module.yaml');
  const text = readFileSync(f, 'utf8');
  writeFileSync(f, swarm ? text.replace(/stack: platform/, `stack: ${PROJECT}`) : text.replace(/project: platform/, `project: ${PROJECT}`));
}
setEnvFile({ STORE_ROOT_PASSWORD: SECRET, STORE_INIT_FAIL: '1' });
console.log(`copied ${example} to $DEMO/platform (${swarm ? 'stack' : 'compose project'} ${PROJECT}); store-init is broken (STORE_INIT_FAIL=1)`);
if (swarm) {
  const up = run('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', composeFile, PROJECT]);
  if (up.status !== 0) fail(`docker stack deploy failed:\n${up.out}`);
} else compose(['up', '-d']);
for (let i = 0; i < 120; i++) {
  const st = run('docker', ['ps', '-q', ...serviceFilter('store'), '--filter', 'health=healthy'], { jsonStdout: true });
  const init = run('docker', ['ps', '-aq', ...serviceFilter('store-init'), '--filter', 'status=exited'], { jsonStdout: true });
  if (st.stdout.trim() && init.stdout.trim()) break;
  if (i === 119) fail('store did not become healthy, or store-init did not run');
  await new Promise((r) => setTimeout(r, 500));
}
console.log(`${ok('✔')} the ${swarm ? 'swarm stack' : 'stack'} is up: store healthy, web running, store-init exited 1`);

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
const storeBefore = run('docker', ['ps', '-q', '--no-trunc', ...serviceFilter('store')], { jsonStdout: true }).stdout.trim();
const failed = sg(['apply', ...root, '--module', 'store-init', ...allow], { expect: 1, why: 'the one-shot exited 1, so apply says no' });
if (!failed.out.includes('failure-reason: one-shot-failed')) fail('apply said no, but not because the one-shot failed (expected failure-reason one-shot-failed)');
if (!failed.out.includes('***')) fail('apply did not show the scrubbed secret (***) in the one-shot logs');
proven.push("apply streams the one-shot's logs with its password replaced by ***");

section('7. fix the one-shot, plan shows a pending re-run, apply succeeds');
setEnvFile({ STORE_ROOT_PASSWORD: SECRET, STORE_INIT_FAIL: '0' });
console.log(swarm ? 'fixed: STORE_INIT_FAIL=0 in the environment the stack file is rendered with' : 'fixed: STORE_INIT_FAIL=0 in the compose .env');
const plan2 = sg(['plan', ...root, '--module', 'store-init', '--json'], { expect: 0, why: 'the plan shows a pending re-run', json: true });
const keys2 = plan2.modules[0].drift.map((d) => d.key);
if (keys2.join() !== 'container.state.exited_success') fail(`expected only a pending re-run, got ${keys2.join(', ')}`);
// The module's own plan hash binds its drift and its declared definition: what was reviewed.
sg(['apply', ...root, '--module', 'store-init', ...allow, '--expected-plan-hash', plan2.modules[0].plan_hash], { expect: 0, why: 'the one-shot ran to exit 0 under the reviewed plan' });
sg(['plan', ...root, '--detailed-exitcode'], { expect: 0, why: 'everything in sync' });
const storeAfter = run('docker', ['ps', '-q', '--no-trunc', ...serviceFilter('store')], { jsonStdout: true }).stdout.trim();
if (!storeBefore || storeBefore !== storeAfter) fail(`the store container changed during apply (${storeBefore.slice(0, 12)} -> ${storeAfter.slice(0, 12)})`);
console.log(`${ok('✔')} store's container ${storeAfter.slice(0, 12)} was never recreated or restarted by apply`);
proven.push('apply re-ran only the one-shot; the stateful parent kept its container; the plan is in sync');

section('8. staging gate with the persistence probe');
sg(['e2e-gate', ...root, '--persistence-probe', 'store', '--', process.execPath, '-e', "console.log('e2e: smoke test passed')"], {
  expect: 0,
  why: `store's data volume kept its sentinel across a ${swarm ? 'task replacement' : 'recreate'}; /tmp did not`,
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
