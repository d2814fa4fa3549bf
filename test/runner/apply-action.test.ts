/**
 * The committed guard/apply bundles and the stateful-apply composite, run as a runner runs them:
 * node on dist/actions/<name>.js with INPUT_* variables (hyphens kept, as the runner sets them),
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files. Needs `npm run build` first.
 *
 * The composite is executed step by step the way the runner does: each step's `if`, its `env`
 * (expressions over inputs and earlier steps' outputs) and its `run` command, then the outputs
 * mapping. Only the expression forms the file uses are evaluated; anything else fails the test.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describeDocker, docker, removeProject, uniqueProject, compose } from '../support/docker.js';
import { parseOutputFile, REPO, runActionBundle } from '../support/runner.js';
import { handMadeStoreBackup } from '../support/backups.js';

const SECRET = `sg-runner-${Math.random().toString(36).slice(2)}-pw`;
const dirs: string[] = [];
const projects: string[] = [];

afterAll(() => {
  for (const p of projects) removeProject(p);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of examples/platform under a unique project, its secret and failure in the compose copy. */
function platformCopy(): { root: string; project: string; composeFile: string; backupDir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-apply-runner-'));
  dirs.push(dir);
  const root = path.join(dir, 'platform');
  cpSync(path.join(REPO, 'examples/platform'), root, { recursive: true });
  const project = uniqueProject('sgrun');
  projects.push(project);
  for (const name of readdirSync(path.join(root, 'modules'))) {
    const f = path.join(root, 'modules', name, 'module.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('project: platform', `project: ${project}`));
  }
  const composeFile = path.join(root, 'compose/core/compose.yaml');
  const compose = readFileSync(composeFile, 'utf8').replace(
    '${STORE_ROOT_PASSWORD:-example-only-s3cret}',
    `"${SECRET}"`,
  );
  expect(compose).toContain(SECRET);
  writeFileSync(composeFile, compose);
  const backupDir = path.join(dir, 'backups');
  mkdirSync(backupDir);
  return { root, project, composeFile, backupDir };
}

const backupOfStore = handMadeStoreBackup;

function waitHealthy(project: string): void {
  for (let i = 0; i < 60; i++) {
    const id = docker([
      'ps',
      '-q',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'label=com.docker.compose.service=store',
    ]).stdout.trim();
    if (id && docker(['inspect', '-f', '{{.State.Health.Status}}', id]).stdout.trim() === 'healthy') return;
    spawnSync('sleep', ['1']);
  }
  throw new Error('store did not become healthy');
}

/** What the runner shows: stdout minus the ::add-mask:: commands it consumes (and never displays). */
function displayed(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
}

describe('actions/guard and actions/apply bundles without an engine', () => {
  it('apply refuses a long-running module before touching the engine (drift-not-allowed, exit 1)', () => {
    const r = runActionBundle(
      'apply',
      { root: 'examples/platform', module: 'store' },
      { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } },
    );
    expect(r.status).toBe(1);
    expect(r.outputs).toMatchObject({
      status: 'refused',
      'failure-reason': 'drift-not-allowed',
      'exit-code': '',
      'container-id': '',
    });
    expect(r.summary).toContain('stateguard apply: `store` refused');
    expect(r.stdout).toMatch(
      /^::error title=stateguard apply%3A drift-not-allowed::apply only re-runs one-shot modules/m,
    );
    expect(r.stdout).toMatch(/^::error::apply store: refused \(failure-reason: drift-not-allowed\)$/m);
  });

  it('apply with a malformed boolean is refused naming the input (exit 3, invalid-input)', () => {
    const r = runActionBundle('apply', { root: 'examples/platform', module: 'store-init', 'allow-stateful': 'True' });
    expect(r.status).toBe(3);
    expect(r.outputs['failure-reason']).toBe('invalid-input');
    expect(r.stdout).toContain("input 'allow-stateful' must be exactly 'true' or 'false', got \"True\"");
  });

  it('apply with an expected-plan-hash that is not a hash is refused before anything runs', () => {
    const r = runActionBundle('apply', {
      root: 'examples/platform',
      module: 'store-init',
      'expected-plan-hash': 'abc; rm -rf /',
    });
    expect(r.status).toBe(3);
    expect(r.outputs['failure-reason']).toBe('invalid-input');
    expect(r.stdout).toContain("input 'expected-plan-hash' must be a plan_hash");
  });

  it('guard with the engine unreachable blocks as could-not-run (exit 3, docker-unavailable), never allowed', () => {
    const r = runActionBundle(
      'guard',
      { root: 'examples/platform', module: 'store-init', 'allow-stateful': 'true', confirm: 'BACKUP_DONE' },
      { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } },
    );
    expect(r.status).toBe(3);
    expect(r.outputs.decision).toBe('blocked');
    expect(r.outputs['failure-reason']).toBe('docker-unavailable');
    const codes = (JSON.parse(r.outputs.reasons!) as Array<{ code: string }>).map((x) => x.code);
    expect(codes).toEqual(['docker-unavailable', 'backup-rejected']);
    expect(r.summary).toContain('is blocked');
  });
});

describeDocker('actions/apply and actions/stateful-apply on the real engine', () => {
  it('apply bundle with INPUT_* as the runner sets them: applied, outputs, summary, secret masked', async () => {
    const p = platformCopy();
    expect(compose([p.composeFile], p.project, ['up', '-d', 'store']).status).toBe(0);
    // created, not run: a one-shot with neither container nor run record is unverifiable
    expect(compose([p.composeFile], p.project, ['up', '--no-start', '--no-deps', 'store-init']).status).toBe(0);
    waitHealthy(p.project);
    const backupRef = await backupOfStore(p.backupDir, p.project);
    const r = runActionBundle(
      'apply',
      {
        root: p.root,
        module: 'store-init',
        'allow-stateful': 'true',
        'backup-ref': backupRef,
        'backup-root': p.backupDir,
        confirm: 'BACKUP_DONE',
      },
      { env: { GITHUB_RUN_ID: '4242', GITHUB_REPOSITORY: 'acme/platform' } },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.outputs).toMatchObject({ status: 'applied', 'exit-code': '0', 'failure-reason': '' });
    expect(r.outputs['container-id']).toMatch(/^[0-9a-f]{64}$/);
    expect(r.outputs['plan-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(r.outputs['duration-ms'])).toBeGreaterThan(0);
    // The secret is handed to the runner for masking, and shown nowhere else.
    expect(r.stdout).toContain(`::add-mask::${SECRET}`);
    expect(displayed(r.stdout)).toContain('connecting to store as admin with password ***');
    expect(displayed(r.stdout)).not.toContain(SECRET);
    expect(JSON.stringify(r.outputs)).not.toContain(SECRET);
    expect(r.summary).toContain('stateguard apply: `store-init` applied');
    expect(r.summary).toContain('password ***');
    expect(r.summary).not.toContain(SECRET);
  }, 120_000);

  it('the stateful-apply composite, executed step by step as a runner does: blocked without consent, applied with it', async () => {
    const p = platformCopy();
    expect(compose([p.composeFile], p.project, ['up', '-d', 'store']).status).toBe(0);
    // created, not run: a one-shot with neither container nor run record is unverifiable
    expect(compose([p.composeFile], p.project, ['up', '--no-start', '--no-deps', 'store-init']).status).toBe(0);
    waitHealthy(p.project);
    const backupRef = await backupOfStore(p.backupDir, p.project);

    const refused = runComposite({
      root: p.root,
      module: 'store-init',
      'backup-ref': backupRef,
      'backup-root': p.backupDir,
      confirm: 'backup_done',
    });
    expect(refused.steps.map((s) => [s.id, s.ran ? s.status : 'skipped'])).toEqual([
      ['verify', 0],
      ['guard', 1],
      ['apply', 'skipped'],
    ]);
    expect(refused.outputs['failure-reason']).toBe('not-allowed');
    expect(refused.outputs.decision).toBe('blocked');
    expect((JSON.parse(refused.outputs.reasons!) as Array<{ code: string }>).map((x) => x.code)).toEqual([
      'not-allowed',
      'confirm-mismatch',
    ]);

    const badBackup = runComposite({
      root: p.root,
      module: 'store-init',
      'allow-stateful': 'true',
      'backup-ref': path.join(p.backupDir, 'nope.tar.gz'),
      'backup-root': p.backupDir,
      confirm: 'BACKUP_DONE',
    });
    // verify-backup says no; the guard still runs to list everything; apply never runs.
    expect(badBackup.steps.map((s) => [s.id, s.ran ? s.status : 'skipped'])).toEqual([
      ['verify', 1],
      ['guard', 1],
      ['apply', 'skipped'],
    ]);
    expect(badBackup.outputs['failure-reason']).toBe('backup-rejected');

    const ok = runComposite({
      root: p.root,
      module: 'store-init',
      'allow-stateful': 'true',
      'backup-ref': backupRef,
      'backup-root': p.backupDir,
      confirm: 'BACKUP_DONE',
    });
    expect(ok.steps.map((s) => [s.id, s.status])).toEqual([
      ['verify', 0],
      ['guard', 0],
      ['apply', 0],
    ]);
    expect(ok.outputs).toMatchObject({
      verified: 'true',
      decision: 'allowed',
      status: 'applied',
      'exit-code': '0',
      'failure-reason': '',
    });
    // apply was bound to the plan the guard decided on.
    expect(ok.steps[2]!.env.INPUT_EXPECTED_PLAN_HASH).toBe(ok.steps[1]!.outputs['plan-hash']);
    expect(displayed(ok.stdout)).not.toContain(SECRET);
    expect(ok.summary).not.toContain(SECRET);
  }, 180_000);
});

describe('actions/stateful-apply/action.yml', () => {
  const doc = parse(readFileSync(path.join(REPO, 'actions/stateful-apply/action.yml'), 'utf8')) as Composite;

  it('runs verify-backup -> guard -> apply from the committed bundles, inputs only through env', () => {
    expect(doc.runs.using).toBe('composite');
    expect(doc.runs.steps.map((s) => s.id)).toEqual(['verify', 'guard', 'apply']);
    for (const s of doc.runs.steps) {
      expect(s.shell).toBe('bash');
      expect(s.run).toBe(
        `node "$GITHUB_ACTION_PATH/../../dist/actions/${s.id === 'verify' ? 'verify-backup' : s.id}.js"`,
      );
      expect(s.run).not.toContain('${{');
      expect(s['continue-on-error']).toBeUndefined();
    }
    // apply runs only when everything before it succeeded (no `if` = success()).
    expect(doc.runs.steps[2]!.if).toBeUndefined();
    expect(doc.runs.steps[1]!.if).toBe('${{ !cancelled() }}');
  });

  it("every env variable is an input the step's command reads, and the consent inputs reach guard and apply", () => {
    const commandInputs = (name: string): string[] =>
      Object.keys(
        (
          parse(readFileSync(path.join(REPO, 'actions', name, 'action.yml'), 'utf8')) as {
            inputs: Record<string, unknown>;
          }
        ).inputs,
      );
    for (const s of doc.runs.steps) {
      const known = commandInputs(s.id === 'verify' ? 'verify-backup' : s.id).map(
        (n) => `INPUT_${n.toUpperCase().replace(/-/g, '_')}`,
      );
      for (const k of Object.keys(s.env))
        expect({ step: s.id, k, known: known.includes(k) }).toEqual({ step: s.id, k, known: true });
    }
    for (const id of ['guard', 'apply']) {
      const env = doc.runs.steps.find((s) => s.id === id)!.env;
      expect(env).toMatchObject({
        INPUT_MODULE: '${{ inputs.module }}',
        INPUT_ALLOW_STATEFUL: '${{ inputs.allow-stateful }}',
        INPUT_BACKUP_REF: '${{ inputs.backup-ref }}',
        INPUT_CONFIRM: '${{ inputs.confirm }}',
        INPUT_CONFIRM_TOKEN: '${{ inputs.confirm-token }}',
      });
    }
    expect(doc.inputs['allow-stateful']!.default).toBe('false');
    expect(doc.inputs['confirm-token']!.default).toBe('BACKUP_DONE');
    expect(doc.inputs.confirm!.default).toBeUndefined();
    expect(doc.inputs['backup-ref']!.default).toBeUndefined();
  });
});

// --- a minimal composite runner (only the expression forms action.yml uses) -------------------

interface CompositeStep {
  id: string;
  if?: string;
  shell: string;
  run: string;
  env: Record<string, string>;
  'continue-on-error'?: unknown;
}
interface Composite {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: CompositeStep[] };
}
interface StepRun {
  id: string;
  ran: boolean;
  status: number;
  env: Record<string, string>;
  outputs: Record<string, string>;
}

function runComposite(given: Record<string, string>) {
  const actionDir = path.join(REPO, 'actions/stateful-apply');
  const doc = parse(readFileSync(path.join(actionDir, 'action.yml'), 'utf8')) as Composite;
  const inputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.inputs)) inputs[k] = given[k] ?? v.default ?? '';
  const steps: Record<string, StepRun> = {};
  const runs: StepRun[] = [];
  let failed = false;
  let stdout = '';
  let summary = '';
  const evalExpr = (expr: string): string => {
    const alts = expr.split('||').map((s) => s.trim());
    for (const a of alts) {
      let m: RegExpExecArray | null;
      let v: string;
      if ((m = /^inputs\.([a-z-]+)$/.exec(a))) v = inputs[m[1]!] ?? '';
      else if ((m = /^steps\.([a-z]+)\.outputs\.([a-z-]+)$/.exec(a))) v = steps[m[1]!]?.outputs[m[2]!] ?? '';
      else throw new Error(`unsupported expression: ${a}`);
      if (v !== '') return v;
    }
    return '';
  };
  const interpolate = (s: string): string => s.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, e: string) => evalExpr(e));
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-composite-'));
  dirs.push(dir);
  for (const s of doc.runs.steps) {
    const cond = s.if === undefined ? !failed : s.if === '${{ !cancelled() }}' ? true : undefined;
    if (cond === undefined) throw new Error(`unsupported if: ${s.if}`);
    if (!cond) {
      const skipped = { id: s.id, ran: false, status: -1, env: {}, outputs: {} };
      steps[s.id] = skipped;
      runs.push(skipped);
      continue;
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.env)) env[k] = interpolate(v);
    const outputFile = path.join(dir, `${s.id}.out`);
    const summaryFile = path.join(dir, `${s.id}.md`);
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const r = spawnSync('bash', ['-c', s.run], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        GITHUB_ACTIONS: 'true',
        GITHUB_ACTION_PATH: actionDir,
        GITHUB_WORKSPACE: REPO,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
        RUNNER_TEMP: dir,
        ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
        ...env,
      },
    });
    stdout += r.stdout;
    summary += readFileSync(summaryFile, 'utf8');
    const run = {
      id: s.id,
      ran: true,
      status: r.status ?? 1,
      env,
      outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
    };
    steps[s.id] = run;
    runs.push(run);
    if (run.status !== 0) failed = true;
  }
  const outputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.outputs)) outputs[k] = interpolate(v.value);
  return { steps: runs, outputs, stdout, summary };
}
