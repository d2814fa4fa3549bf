/**
 * guard + apply end to end on the real engine, with a COPY of examples/platform under a unique
 * compose project (docs/architecture.md §4, §6). The failure and the secret are written into the copied compose
 * file (compose re-reads it on every call, and apply runs compose itself), and "fixing the compose
 * command" is an edit of that copy.
 *
 * Every byte printed (CLI stdout/stderr, action log lines, annotations), every output, every
 * summary and every file written is collected and searched for the secret value.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runAction, type ActionCore } from '../../src/action.js';
import { runCli } from '../../src/cli.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { compose, describeDocker, docker, itOnce, removeProject, uniqueProject } from '../support/docker.js';
import { REPO } from '../support/runner.js';
import { handMadeStoreBackup } from '../support/backups.js';

const SECRET = `sg-e2e-${Math.random().toString(36).slice(2)}-pw`;

interface Platform {
  root: string;
  project: string;
  composeFile: string;
  backupDir: string;
}

const made: Platform[] = [];
/** everything stateguard printed or wrote, for the secret search */
const transcript: string[] = [];

function copyPlatform(opts: { initScript?: string; fail: boolean; timeoutSeconds?: number }): Platform {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-apply-'));
  const root = path.join(dir, 'platform');
  cpSync(path.join(REPO, 'examples/platform'), root, { recursive: true });
  const project = uniqueProject('sgapply');
  for (const name of readdirSync(path.join(root, 'modules'))) {
    const file = path.join(root, 'modules', name, 'module.yaml');
    let text = readFileSync(file, 'utf8');
    expect(text).toContain('project: platform');
    text = text.replace('project: platform', `project: ${project}`);
    if (name === 'store-init' && opts.timeoutSeconds !== undefined) {
      expect(text).toContain('timeout_seconds: 60');
      text = text.replace('timeout_seconds: 60', `timeout_seconds: ${opts.timeoutSeconds}`);
    }
    writeFileSync(file, text);
  }
  const composeFile = path.join(root, 'compose/core/compose.yaml');
  let compose = readFileSync(composeFile, 'utf8');
  const pw = 'STORE_ROOT_PASSWORD: ${STORE_ROOT_PASSWORD:-example-only-s3cret}';
  const fail = 'STORE_INIT_FAIL: ${STORE_INIT_FAIL:-0}';
  expect(compose).toContain(pw);
  expect(compose).toContain(fail);
  compose = compose
    .replace(pw, `STORE_ROOT_PASSWORD: "${SECRET}"`)
    .replace(fail, `STORE_INIT_FAIL: "${opts.fail ? 1 : 0}"`);
  if (opts.initScript) {
    const start = compose.indexOf('      - |\n', compose.indexOf('store-init:'));
    const end = compose.indexOf('    restart: "no"', start);
    expect(start).toBeGreaterThan(0);
    compose = compose.slice(0, start) + `      - |\n        ${opts.initScript}\n` + compose.slice(end);
  }
  writeFileSync(composeFile, compose);
  const backupDir = path.join(dir, 'backups');
  mkdirSync(backupDir);
  const p = { root, project, composeFile, backupDir };
  made.push(p);
  return p;
}

function setFail(p: Platform, fail: boolean): void {
  const text = readFileSync(p.composeFile, 'utf8');
  const from = `STORE_INIT_FAIL: "${fail ? 0 : 1}"`;
  expect(text).toContain(from);
  writeFileSync(p.composeFile, text.replace(from, `STORE_INIT_FAIL: "${fail ? 1 : 0}"`));
}

/** Create a service's container without starting it (the guard's way forward for an unverifiable one-shot). */
function createOnly(p: Platform, service: string) {
  return compose(target(p).files, p.project, ['up', '--no-start', '--no-deps', service]);
}

function target(p: Platform) {
  return { project: p.project, files: [p.composeFile] };
}

async function cli(argv: string[], cwd = REPO): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { ...process.env },
    cwd,
  });
  transcript.push(stdout, stderr);
  return { code, stdout, stderr };
}

interface ActionRunResult {
  code: number;
  log: string;
  outputs: Record<string, string>;
  summary: string;
  secrets: string[];
  failed: string[];
}

/** The action layer in-process, with a recording core: every log line, output and summary. */
async function action(name: 'guard' | 'apply', inputs: Record<string, string>): Promise<ActionRunResult> {
  const lines: string[] = [];
  const outputs: Record<string, string> = {};
  const secrets: string[] = [];
  const failed: string[] = [];
  let summary = '';
  const core: ActionCore = {
    setOutput: (k, v) => (outputs[k] = v),
    setSecret: (v) => secrets.push(v),
    setFailed: (m) => failed.push(m),
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    notice: (m) => lines.push(`notice: ${m}`),
    writeSummary: async (md) => {
      summary += md;
    },
  };
  const env: Record<string, string | undefined> = {
    ...process.env,
    GITHUB_RUN_ID: 'e2e-run',
    GITHUB_REPOSITORY: 'acme/platform',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const code = await runAction(name, { env, cwd: REPO, core });
  const log = lines.join('\n');
  transcript.push(log, JSON.stringify(outputs), summary, failed.join('\n'));
  return { code, log, outputs, summary, secrets, failed };
}

function containerOf(
  p: Platform,
  service: string,
): { id: string; state: string; health: string | null; exitCode: number } | undefined {
  const ids = docker([
    'ps',
    '-aq',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${p.project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
  ])
    .stdout.split('\n')
    .filter(Boolean);
  if (ids.length === 0) return undefined;
  const [c] = JSON.parse(docker(['inspect', ids[0]!]).stdout) as Array<{
    Id: string;
    State: { Status: string; ExitCode: number; Health?: { Status: string } };
  }>;
  return { id: c!.Id, state: c!.State.Status, health: c!.State.Health?.Status ?? null, exitCode: c!.State.ExitCode };
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const t = Date.now();
  while (!ok()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const storeHealthy = (p: Platform) => () => containerOf(p, 'store')?.health === 'healthy';

/** A hand-made backup of `store` (for the tests about apply mechanics, not about snapshots). */
function handMadeBackup(p: Platform): Promise<string> {
  return handMadeStoreBackup(p.backupDir, p.project);
}

function allowedInputs(p: Platform, backupRef: string): Record<string, string> {
  return {
    root: p.root,
    module: 'store-init',
    'allow-stateful': 'true',
    confirm: 'BACKUP_DONE',
    'backup-ref': backupRef,
    'backup-root': p.backupDir,
  };
}

/** `--name=value` (a boolean flag takes its value only with '='). */
function cliFlags(inputs: Record<string, string>): string[] {
  return Object.entries(inputs).map(([k, v]) => `--${k}=${v}`);
}

afterAll(() => {
  for (const p of made) {
    removeProject(p.project);
    docker(['rm', '-f', `stateguard-lock-${p.project}-store-init`]);
    for (const id of docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${p.project}`])
      .stdout.split('\n')
      .filter(Boolean))
      docker(['rm', '-f', id]);
    rmSync(path.dirname(p.root), { recursive: true, force: true });
  }
});

describeDocker('guard + apply on the real engine (examples/platform copy)', () => {
  let p: Platform;
  beforeAll(async () => {
    p = copyPlatform({ fail: true });
    const up = await new DockerCli().composeUp(target(p));
    expect(up.code).toBe(0);
    await until('store-init to exit', () => containerOf(p, 'store-init')?.state === 'exited');
    await until('store to be healthy', storeHealthy(p));
  }, 120_000);

  it('one-shot fails → guard blocks → backup → guard allows → apply fails (scrubbed) → fix → re-run pending → apply succeeds → in sync; parent untouched', async () => {
    expect(containerOf(p, 'store-init')).toMatchObject({ state: 'exited', exitCode: 1 });
    const storeId = containerOf(p, 'store')!.id;

    // The plan shows the failed one-shot as a pending re-run.
    const plan1 = await cli(['plan', '--root', p.root, '--module', 'store-init', '--json']);
    const plan1Json = JSON.parse(plan1.stdout) as { modules: Array<{ drift: Array<{ key: string }> }> };
    expect(plan1Json.modules[0]!.drift.map((d) => d.key)).toEqual(['container.state.exited_success']);

    // Guard without allow / confirm / backup: blocked, every reason listed.
    const blocked = await action('guard', { root: p.root, module: 'store-init' });
    expect(blocked.code).toBe(1);
    expect(blocked.outputs.decision).toBe('blocked');
    expect(blocked.outputs['failure-reason']).toBe('not-allowed');
    expect((JSON.parse(blocked.outputs.reasons!) as Array<{ code: string }>).map((r) => r.code)).toEqual([
      'not-allowed',
      'backup-rejected',
      'confirm-mismatch',
    ]);
    expect(blocked.summary).toContain('`store-init` is blocked');

    // Snapshot the parent with stateguard snapshot: its output feeds backup-ref.
    const snap = await cli(['snapshot', '--root', p.root, '--module', 'store', '--out-dir', p.backupDir, '--json']);
    expect({ code: snap.code, stderr: snap.code === 0 ? '' : snap.stderr }).toEqual({ code: 0, stderr: '' });
    const backupRef = (JSON.parse(snap.stdout) as { path: string }).path;
    expect(path.dirname(backupRef)).toBe(p.backupDir);
    expect(statSync(backupRef).size).toBeGreaterThan(0);
    await until('store to be healthy after the snapshot', storeHealthy(p));
    expect(containerOf(p, 'store')!.id).toBe(storeId);

    // Guard with every condition met: allowed.
    const allowed = await action('guard', allowedInputs(p, backupRef));
    expect({ code: allowed.code, reasons: allowed.code === 0 ? '' : allowed.outputs.reasons }).toEqual({
      code: 0,
      reasons: '',
    });
    expect(allowed.outputs).toMatchObject({ decision: 'allowed', 'failure-reason': '' });
    expect(allowed.outputs['plan-hash']).toMatch(/^[0-9a-f]{64}$/);

    // Apply: runs, exits 1, logs shown with the secret scrubbed; secret registered with the runner.
    const failed = await action('apply', allowedInputs(p, backupRef));
    expect(failed.code).toBe(1);
    expect(failed.outputs).toMatchObject({ status: 'failed', 'exit-code': '1', 'failure-reason': 'one-shot-failed' });
    expect(failed.outputs['container-id']).toMatch(/^[0-9a-f]{64}$/);
    // A whole number of milliseconds: Number('') is 0, so a >= 0 check passed on an empty output.
    expect(failed.outputs['duration-ms']).toMatch(/^\d+$/);
    expect(failed.log).toContain('store-init: connecting to store as admin with password ***');
    expect(failed.log).toContain('bucket bootstrap failed (STORE_INIT_FAIL=1)');
    expect(failed.secrets).toContain(SECRET);
    expect(failed.summary).toContain('one-shot-failed');
    expect(failed.summary).toContain('password ***');
    expect(containerOf(p, 'store')!.id).toBe(storeId);

    // Fix the compose command: the plan shows a pending re-run, not config drift.
    setFail(p, false);
    const outFile = path.join(p.backupDir, '..', 'plan.json');
    const plan2 = await cli(['plan', '--root', p.root, '--module', 'store-init', '--json', '--out', outFile]);
    transcript.push(readFileSync(outFile, 'utf8'));
    const plan2Json = JSON.parse(plan2.stdout) as {
      plan_hash: string;
      modules: Array<{ plan_hash: string; drift: Array<{ key: string }> }>;
    };
    // apply takes the module's own hash (drift + declared definition), as the PR comment shows it
    const moduleHash = plan2Json.modules[0]!.plan_hash;
    expect(plan2Json.modules[0]!.drift.map((d) => d.key)).toEqual(['container.state.exited_success']);

    // Apply bound to the reviewed plan: succeeds.
    const ok = await action('apply', { ...allowedInputs(p, backupRef), 'expected-plan-hash': moduleHash });
    expect(ok.failed).toEqual([]);
    expect({ code: ok.code, reason: ok.outputs['failure-reason'], log: ok.code === 0 ? '' : ok.log }).toEqual({
      code: 0,
      reason: '',
      log: '',
    });
    expect(ok.outputs).toMatchObject({
      status: 'applied',
      'exit-code': '0',
      'failure-reason': '',
      'plan-hash': moduleHash,
    });
    expect(ok.log).toContain("bucket 'main' ready");
    expect(ok.summary).toContain('applied');

    // In sync now, everywhere; the parent kept its container the whole time.
    const plan3 = await cli(['plan', '--root', p.root, '--json']);
    const plan3Json = JSON.parse(plan3.stdout) as { modules: Array<{ name: string; in_sync: boolean }> };
    expect(plan3Json.modules.map((m) => [m.name, m.in_sync])).toEqual([
      ['store', true],
      ['store-init', true],
      ['web', true],
    ]);
    expect(containerOf(p, 'store')!.id).toBe(storeId);

    // A second apply is a no-op success.
    const noop = await cli(['apply', ...cliFlags(allowedInputs(p, backupRef))]);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toContain('no-op');
    // No lock left behind.
    expect(docker(['ps', '-aq', '--filter', `label=io.stateguard.lock.project=${p.project}`]).stdout.trim()).toBe('');

    // The secret never appeared anywhere stateguard printed or wrote.
    const everything = transcript.join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    expect(everything).not.toContain(SECRET);
  }, 240_000);
});

// The lock, the plan-hash binding and the timeout's stop are the same on both flavors (apply's
// compose path is the flow above, on both): v2 only.
describeDocker('apply on the real engine: lock, stale plan, timeout', () => {
  itOnce(
    'two concurrent applies on one module: exactly one runs, the other is refused naming the lock',
    async () => {
      const p = copyPlatform({ fail: false, initScript: 'sleep 4; echo "store-init: done"' });
      expect((await new DockerCli().composeUp(target(p), ['store'])).code).toBe(0);
      // A one-shot with no container and no run record is unverifiable: create it (not run it) first, as the guard says.
      expect(createOnly(p, 'store-init').status).toBe(0);
      await until('store to be healthy', storeHealthy(p));
      const backupRef = await handMadeBackup(p);
      const argv = ['apply', ...cliFlags(allowedInputs(p, backupRef)), '--json'];
      const [a, b] = await Promise.all([cli(argv), cli(argv)]);
      const results = [a, b].map((r) => ({
        code: r.code,
        json: JSON.parse(r.stdout) as { status: string; failure_reason: string; verdict: string },
      }));
      expect(results.map((r) => r.json.status).sort()).toEqual(['applied', 'refused']);
      const refused = results.find((r) => r.json.status === 'refused')!;
      expect(refused.code).toBe(1);
      expect(refused.json.failure_reason).toBe('locked');
      expect(refused.json.verdict).toMatch(
        new RegExp(
          `locked by a running apply \\(holder .*host .*pid \\d+, since \\d{4}-.*lock stateguard-lock-${p.project}-store-init-`,
        ),
      );
      expect(results.find((r) => r.json.status === 'applied')!.code).toBe(0);
      expect(containerOf(p, 'store-init')).toMatchObject({ state: 'exited', exitCode: 0 });
    },
    180_000,
  );

  itOnce(
    'a stale plan hash is refused with plan-changed before anything runs',
    async () => {
      const p = copyPlatform({ fail: false });
      expect((await new DockerCli().composeUp(target(p), ['store'])).code).toBe(0);
      await until('store to be healthy', storeHealthy(p));
      const backupRef = await handMadeBackup(p);
      const r = await action('apply', { ...allowedInputs(p, backupRef), 'expected-plan-hash': '0'.repeat(64) });
      expect(r.code).toBe(1);
      expect(r.outputs).toMatchObject({
        status: 'refused',
        'failure-reason': 'plan-changed',
        'container-id': '',
        'exit-code': '',
      });
      expect(r.log).toContain('differs from the reviewed one');
      // Nothing ran: store-init still has no container.
      expect(containerOf(p, 'store-init')).toBeUndefined();
    },
    120_000,
  );

  itOnce(
    'a one-shot that never exits is stopped at timeout_seconds (timeout)',
    async () => {
      const p = copyPlatform({ fail: false, initScript: 'echo "store-init: hanging"; sleep 600', timeoutSeconds: 3 });
      expect((await new DockerCli().composeUp(target(p), ['store'])).code).toBe(0);
      // A one-shot with no container and no run record is unverifiable: create it (not run it) first, as the guard says.
      expect(createOnly(p, 'store-init').status).toBe(0);
      await until('store to be healthy', storeHealthy(p));
      const storeId = containerOf(p, 'store')!.id;
      const backupRef = await handMadeBackup(p);
      const r = await action('apply', allowedInputs(p, backupRef));
      expect(r.code).toBe(1);
      expect(r.outputs).toMatchObject({ status: 'failed', 'failure-reason': 'timeout', 'exit-code': '' });
      expect(r.log).toContain('store-init: hanging');
      expect(r.log).toContain('did not exit within timeout_seconds (3s)');
      const init = containerOf(p, 'store-init')!;
      expect(init.state).toBe('exited');
      expect(r.outputs['container-id']).toBe(init.id);
      expect(containerOf(p, 'store')!.id).toBe(storeId);
      expect(transcript.join('\n')).not.toContain(SECRET);
    },
    120_000,
  );
});
