#!/usr/bin/env node
// Before/after report of issue 24 over test/fixtures/compose-corpus: for each fixture and each compose
// flavor (v1 = docker-compose, v2 = docker compose), copy the fixture to a temp dir with a unique
// project name, run `node <cli> validate --json`, and when it is valid bring the project up with the
// same compose and run `node <cli> plan --json`. Prints one markdown table on stdout. Cleans up every
// project and temp dir it made. Needs a Docker engine and the local stateguard/* test images.
//
//   node scripts/compose-corpus-report.mjs <path/to/dist/cli.js> [--flavor v1|v2] [fixture ...]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpus = path.join(repo, 'test/fixtures/compose-corpus');

const args = process.argv.slice(2);
const flavorAt = args.indexOf('--flavor');
const flavors = flavorAt >= 0 ? [args[flavorAt + 1]] : ['v1', 'v2'];
const positional = args.filter((_, i) => flavorAt < 0 || (i !== flavorAt && i !== flavorAt + 1));
const cli = positional[0] ? path.resolve(positional[0]) : '';
if (!cli || !flavors.every((f) => f === 'v1' || f === 'v2')) {
  console.error('usage: node scripts/compose-corpus-report.mjs <path/to/dist/cli.js> [--flavor v1|v2] [fixture ...]');
  process.exit(2);
}
const only = positional.slice(1);
const fixtures = readdirSync(corpus, { withFileTypes: true })
  .filter((d) => d.isDirectory() && (only.length === 0 || only.includes(d.name)))
  .map((d) => d.name)
  .sort();

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 * 1024 * 1024, ...opts });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

const docker = (argv) => run('docker', argv);

function composeRun(flavor, dir, project, argv, env) {
  const base = ['-f', path.join(dir, 'compose.yaml'), '-p', project, ...argv];
  return flavor === 'v2'
    ? run('docker', ['compose', ...base], { cwd: dir, env })
    : run('docker-compose', base, { cwd: dir, env });
}

function removeProject(project) {
  for (const [kind, list, rm] of [
    ['container', ['ps', '-aq'], ['rm', '-f']],
    ['volume', ['volume', 'ls', '-q'], ['volume', 'rm', '-f']],
    ['network', ['network', 'ls', '-q'], ['network', 'rm']],
  ]) {
    void kind;
    const ids = docker([...list, '--filter', `label=com.docker.compose.project=${project}`]).stdout.split('\n').filter(Boolean);
    if (ids.length) docker([...rm, ...ids]);
  }
  const records = docker(['volume', 'ls', '-q', '--filter', `label=io.stateguard.run-record.project=${project}`]).stdout.split('\n').filter(Boolean);
  if (records.length) docker(['volume', 'rm', '-f', ...records]);
}

/** Copy a fixture to a temp dir, its module projects renamed to unique ones; returns dir and projects. */
function copyFixture(name) {
  const dir = mkdtempSync(path.join(tmpdir(), `sg-corpus-${name}-`));
  cpSync(path.join(corpus, name), dir, { recursive: true });
  const project = `sgcorpus${randomBytes(4).toString('hex')}`;
  const projects = [project, `${project}-other`];
  const modules = path.join(dir, 'modules');
  for (const m of readdirSync(modules)) {
    const file = path.join(modules, m, 'module.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('corpus-project', projects[0]).replaceAll('corpus-other', projects[1]));
  }
  return { dir, project, projects };
}

const short = (s, n = 140) => {
  const one = String(s).replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};
const cell = (s, n) => short(s, n).replaceAll('|', '\\|');

function cliRun(command, dir, env) {
  const r = run(process.execPath, [cli, command, '--root', dir, '--json'], { cwd: dir, env });
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { ...r, json };
}

function validateCell(v) {
  if (v.json && v.json.valid === true) return 'valid';
  const first = v.json?.errors?.[0]?.message ?? (v.stderr.trim() || v.stdout.trim() || `exit ${v.status}`);
  return `refused (${v.json?.errors?.length ?? '?'}): ${first}`;
}

function planCell(p) {
  if (!p.json || !Array.isArray(p.json.modules)) return `error (exit ${p.status}): ${p.stderr.trim() || p.stdout.trim()}`;
  const drifted = p.json.modules.filter((m) => m.in_sync !== true);
  const prefix = p.status === 0 ? '' : `exit ${p.status}: `;
  if (drifted.length === 0) return `${prefix}in sync (${p.json.modules.length})`;
  return prefix + drifted.map((m) => `${m.name}: ${m.drift.map((d) => d.key + (d.fields ? `[${d.fields.join(',')}]` : '')).join(', ') || 'not in sync'}`).join('; ');
}

function one(name, flavor, extraEnv = {}, label = name) {
  const { dir, project, projects } = copyFixture(name);
  const env = { ...process.env, STATEGUARD_COMPOSE: flavor, ...extraEnv };
  try {
    const v = cliRun('validate', dir, env);
    let plan = 'not run (not valid)';
    if (v.json?.valid === true) {
      const up = composeRun(flavor, dir, project, ['up', '-d'], env);
      if (up.status !== 0) {
        plan = `compose up failed: ${up.stderr.trim()}`;
      } else {
        plan = planCell(cliRun('plan', dir, env));
        if (name === 'env-file') {
          const envFile = path.join(dir, 'app.env');
          writeFileSync(envFile, readFileSync(envFile, 'utf8').replace('APP_SETTING=one', 'APP_SETTING=two'));
          plan += `; after app.env changed: ${planCell(cliRun('plan', dir, env))}`;
        }
        if (name === 'dollar-escape') {
          const file = path.join(dir, 'compose.yaml');
          writeFileSync(file, `${readFileSync(file, 'utf8')}    environment:\n      EXTRA: "1"\n`);
          plan += `; after EXTRA added: ${planCell(cliRun('plan', dir, env))}`;
        }
      }
    }
    return `| ${cell(label)} | ${flavor} | ${cell(validateCell(v))} | ${cell(plan, 260)} |`;
  } finally {
    for (const p of projects) removeProject(p);
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const name of fixtures) {
  for (const flavor of flavors) {
    rows.push(one(name, flavor));
    if (name === 'profiles') rows.push(one(name, flavor, { COMPOSE_PROFILES: 'debug' }, 'profiles (COMPOSE_PROFILES=debug)'));
  }
}
const version = run(process.execPath, [cli, '--version']).stdout.trim();
console.log(`stateguard ${version || '(unknown version)'} (${path.relative(process.cwd(), cli) || cli}), ${new Date().toISOString()}\n`);
console.log('| fixture | flavor | validate | plan |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(r);
