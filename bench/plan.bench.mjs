// plan over 10 and over 80 running modules (each a service of one compose project).
// 1. planModules itself (the engine reads), compiled from src with tsc, timed in-process over a
//    countingRunner that counts every docker/compose process it starts.
// 2. The built CLI end to end (`node dist/cli.js plan --json`, module loading included), with PATH
//    shims that log each docker/compose process and exec the real binary.
// Targets: the same process count for 10 and 80; planModules(80)/planModules(10) <= 1.2.
// The projects are created in a temp dir and torn down at the end, whatever happens.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Both compose flavors, one after the other, unless STATEGUARD_COMPOSE names one: the setup and
// the product then use that one (a plan's cost is mostly compose's own `config`).
const FLAVOR = process.env.STATEGUARD_COMPOSE;
if (FLAVOR !== 'v1' && FLAVOR !== 'v2') {
  let code = 0;
  for (const flavor of ['v1', 'v2']) {
    console.log(`\n== compose ${flavor} (STATEGUARD_COMPOSE=${flavor}) ==`);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, STATEGUARD_COMPOSE: flavor } });
    code = Math.max(code, r.status ?? 1);
  }
  process.exit(code);
}
const cli = path.join(repo, 'dist', 'cli.js');
const REPS = Number(process.env.PLAN_BENCH_REPS ?? 5);
const IMAGE = 'stateguard/busybox:1.0.0';
const tmp = mkdtempSync(path.join(tmpdir(), 'sg-plan-bench-'));
const suffix = randomBytes(3).toString('hex');

function which(bin) {
  return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim();
}

// PATH shims: log one line per process started, then run the real binary.
const shimDir = path.join(tmp, 'shims');
const logFile = path.join(tmp, 'processes.log');
mkdirSync(shimDir);
const shimmed = ['docker'];
try {
  which('docker-compose');
  shimmed.push('docker-compose');
} catch {
  /* compose v2 only */
}
for (const bin of shimmed) {
  const real = which(bin);
  const shim = path.join(shimDir, bin);
  writeFileSync(shim, `#!/bin/sh\necho "${bin} $1" >> "$SG_BENCH_LOG"\nexec "${real}" "$@"\n`);
  chmodSync(shim, 0o755);
}
const composeCmd = FLAVOR === 'v1' ? ['docker-compose'] : ['docker', 'compose'];

function makeRepo(n) {
  const project = `sgbench${n}x${suffix}`;
  const root = path.join(tmp, `repo${n}`);
  const services = Array.from({ length: n }, (_, i) => `svc${String(i).padStart(2, '0')}`);
  const compose = ['services:'];
  for (const s of services) {
    compose.push(`  ${s}:`, `    image: ${IMAGE}`, `    command: ["sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 5; done"]`);
  }
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'compose.yaml'), compose.join('\n') + '\n');
  for (const s of services) {
    const dir = path.join(root, 'modules', `m-${s}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'module.yaml'),
      `apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: m-${s}\nspec:\n  class: stateless\n  compose: { file: ../../compose.yaml, project: ${project}, service: ${s} }\n`,
    );
  }
  return { n, project, root, compose: path.join(root, 'compose.yaml') };
}

function compose(r, args) {
  const [cmd, ...pre] = composeCmd;
  const res = spawnSync(cmd, [...pre, '-f', r.compose, '-p', r.project, ...args], { encoding: 'utf8', timeout: 600_000 });
  if (res.status !== 0) throw new Error(`${composeCmd.join(' ')} ${args.join(' ')} failed: ${res.stderr}`);
}

function teardown(r) {
  const label = `label=com.docker.compose.project=${r.project}`;
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', label], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids]);
  const nets = spawnSync('docker', ['network', 'ls', '-q', '--filter', label], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (nets.length) spawnSync('docker', ['network', 'rm', ...nets]);
}

function planOnce(r) {
  writeFileSync(logFile, '');
  const t0 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, [cli, 'plan', '--root', r.root, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${shimDir}:${process.env.PATH}`, SG_BENCH_LOG: logFile },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`plan of ${r.n} modules exited ${res.status}: ${res.stderr}`);
  const plan = JSON.parse(res.stdout);
  if (plan.summary.modules !== r.n || plan.summary.drifted !== 0) {
    throw new Error(`plan of ${r.n} modules: expected all in sync, got ${JSON.stringify(plan.summary)}`);
  }
  const procs = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  return { ms, procs };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Compile src with tsc into a gitignored scratch dir inside the repo (so node_modules resolve). */
async function loadPlanLibrary() {
  const out = path.join(repo, '.tmp', `bench-plan-${process.pid}`);
  spawnSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', path.join(repo, 'tsconfig.json'), '--outDir', out, '--noEmit', 'false', '--sourceMap', 'false'], { stdio: 'ignore' });
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  const lib = {
    ...(await import(path.join(out, 'src/drift/plan.js'))),
    ...(await import(path.join(out, 'src/model/module.js'))),
    ...(await import(path.join(out, 'src/runtime/docker-cli.js'))),
    ...(await import(path.join(out, 'src/runtime/process.js'))),
  };
  return { lib, out };
}

async function planModulesOnce(lib, r, modules) {
  const counting = lib.countingRunner(lib.spawnProcess);
  const t0 = process.hrtime.bigint();
  const plan = await lib.planModules(modules, new lib.DockerCli({ runner: counting.runner, compose: FLAVOR }));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (plan.summary.modules !== r.n || plan.summary.drifted !== 0) throw new Error(`planModules(${r.n}): ${JSON.stringify(plan.summary)}`);
  return { ms, procs: counting.calls.map((c) => `${c[0]} ${c[1]}`) };
}

const repos = [makeRepo(10), makeRepo(80)];
let scratch;
try {
  const { lib, out } = await loadPlanLibrary();
  scratch = out;
  for (const r of repos) compose(r, ['up', '-d']);
  const mods = Object.fromEntries(repos.map((r) => [r.n, lib.loadModules(r.root, 'modules/*/module.yaml', r.root).modules]));
  const lib10 = [];
  const lib80 = [];
  for (const r of repos) await planModulesOnce(lib, r, mods[r.n]); // warm-up
  for (let i = 0; i < REPS; i++) {
    lib10.push(await planModulesOnce(lib, repos[0], mods[10]));
    lib80.push(await planModulesOnce(lib, repos[1], mods[80]));
  }
  const l10 = median(lib10.map((x) => x.ms));
  const l80 = median(lib80.map((x) => x.ms));
  console.log(`planModules, 10 running modules: ${l10.toFixed(0)} ms (median of ${REPS}), ${lib10[0].procs.length} docker/compose processes`);
  console.log(`planModules, 80 running modules: ${l80.toFixed(0)} ms (median of ${REPS}), ${lib80[0].procs.length} docker/compose processes`);
  console.log(`ratio planModules(80)/(10):      ${(l80 / l10).toFixed(2)}x (target <= 1.2)`);
  if (lib10[0].procs.length !== lib80[0].procs.length) process.exitCode = 1;

  const results = {};
  for (const r of repos) planOnce(r); // warm-up (page cache, compose's first start)
  for (let i = 0; i < REPS; i++) {
    // interleaved, so drift in machine load hits both sides alike
    for (const r of repos) (results[r.n] ??= []).push(planOnce(r));
  }
  const t10 = median(results[10].map((x) => x.ms));
  const t80 = median(results[80].map((x) => x.ms));
  const p10 = results[10][0].procs;
  const p80 = results[80][0].procs;
  console.log(`CLI plan, 10 modules (e2e):      ${t10.toFixed(0)} ms (median of ${REPS}), ${p10.length} docker/compose processes`);
  console.log(`CLI plan, 80 modules (e2e):      ${t80.toFixed(0)} ms (median of ${REPS}), ${p80.length} docker/compose processes`);
  console.log(`ratio CLI(80)/(10):              ${(t80 / t10).toFixed(2)}x (includes loading and validating 80 vs 10 module files)`);
  console.log(`processes started (CLI):         ${[...p10].sort().join(', ')}`);
  console.log(`process count same for 10/80:   ${p10.length === p80.length && lib10[0].procs.length === lib80[0].procs.length ? 'yes' : 'NO'}`);
  if (p10.length !== p80.length) process.exitCode = 1;
} finally {
  for (const r of repos) teardown(r);
  rmSync(tmp, { recursive: true, force: true });
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}
