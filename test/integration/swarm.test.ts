/**
 * Swarm on a real single-node swarm (docs/architecture.md §14), with a COPY of
 * examples/swarm-platform under a unique stack name: plan (missing service, image, config field by
 * field, replicas, unhealthy tasks, a job's last task under the current spec), snapshot (the
 * service is scaled to 0 and back, the volume read through a helper), verify, guard + apply of the
 * replicated-job (its logs scrubbed, the parent's task untouched, no other service changed), the
 * cluster-wide lock, the persistence probe, and the commands that are refused on Swarm.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { lockName } from '../../src/ops/lock.js';
import { SwarmCli } from '../../src/runtime/swarm-cli.js';
import { docker } from '../support/docker.js';
import { childCli, REPO } from '../support/runner.js';
import { deployStack, describeSwarm, removeStack, stackLeftovers, uniqueStack, waitFor } from '../support/swarm.js';

const SECRET = `sg-swarm-${Math.random().toString(36).slice(2)}-pw`;

interface Platform {
  dir: string;
  root: string;
  stack: string;
  stackFile: string;
  backupDir: string;
}

const made: Platform[] = [];
const transcript: string[] = [];

function copyPlatform(): Platform {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-swarm-'));
  const root = path.join(dir, 'platform');
  cpSync(path.join(REPO, 'examples/swarm-platform'), root, { recursive: true });
  const stack = uniqueStack('sgsw');
  for (const name of readdirSync(path.join(root, 'modules'))) {
    const file = path.join(root, 'modules', name, 'module.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('stack: platform');
    writeFileSync(file, text.replace('stack: platform', `stack: ${stack}`));
  }
  const stackFile = path.join(root, 'stack/core/stack.yaml');
  let text = readFileSync(stackFile, 'utf8');
  const pw = 'STORE_ROOT_PASSWORD: ${STORE_ROOT_PASSWORD:-example-only-s3cret}';
  const fail = 'STORE_INIT_FAIL: ${STORE_INIT_FAIL:-0}';
  expect(text).toContain(pw);
  expect(text).toContain(fail);
  text = text.replace(pw, `STORE_ROOT_PASSWORD: "${SECRET}"`).replace(fail, 'STORE_INIT_FAIL: "1"');
  writeFileSync(stackFile, text);
  const backupDir = path.join(dir, 'backups');
  mkdirSync(backupDir);
  const p = { dir, root, stack, stackFile, backupDir };
  made.push(p);
  return p;
}

async function cli(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { ...process.env, ...env },
    cwd: REPO,
  });
  transcript.push(stdout, stderr);
  return { code, stdout, stderr };
}

interface PlanJson {
  compose: { flavor: string };
  modules: Array<{
    name: string;
    drift: Array<{ key: string; observed: string; fields?: string[]; reason?: string }>;
    in_sync: boolean;
    plan_hash: string;
  }>;
}

async function plan(p: Platform, module?: string): Promise<PlanJson> {
  const r = await cli(['plan', '--root', p.root, '--json', ...(module ? ['--module', module] : [])]);
  expect(r.stderr).not.toMatch(/error/i);
  return JSON.parse(r.stdout) as PlanJson;
}

function keysOf(pl: PlanJson, name: string): string[] {
  return pl.modules.find((m) => m.name === name)!.drift.map((d) => d.key);
}

interface TaskView {
  id: string;
  state: string;
  desired: string;
  containerId: string;
  exitCode: number | null;
}

/** The current tasks of a service (desired running, or a job's), newest first. */
function tasksOf(p: Platform, service: string): TaskView[] {
  const ids = docker(['service', 'ps', '-q', '--no-trunc', `${p.stack}_${service}`])
    .stdout.split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const raw = JSON.parse(docker(['inspect', '--type', 'task', ...ids]).stdout) as Array<{
    ID: string;
    CreatedAt: string;
    DesiredState: string;
    Status: { State: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  }>;
  return raw
    .sort((a, b) => (a.CreatedAt < b.CreatedAt ? 1 : -1))
    .map((t) => ({
      id: t.ID,
      state: t.Status.State,
      desired: t.DesiredState,
      containerId: t.Status.ContainerStatus?.ContainerID ?? '',
      exitCode: t.Status.ContainerStatus?.ExitCode ?? null,
    }));
}

function healthOf(containerId: string): string | null {
  const r = docker(['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', containerId]);
  return r.status === 0 ? r.stdout.trim() || null : null;
}

/** The task Swarm wants running and that runs (a task being shut down may still say running). */
function runningTask(p: Platform, service: string): TaskView | undefined {
  return tasksOf(p, service).find((t) => t.state === 'running' && t.desired === 'running');
}

async function storeHealthy(p: Platform): Promise<TaskView> {
  const ok = await waitFor(() => {
    const t = runningTask(p, 'store');
    return !!t && healthOf(t.containerId) === 'healthy';
  }, 90_000);
  expect(ok).toBe(true);
  return runningTask(p, 'store')!;
}

function setFail(p: Platform, fail: boolean): void {
  const text = readFileSync(p.stackFile, 'utf8');
  const from = `STORE_INIT_FAIL: "${fail ? 0 : 1}"`;
  expect(text).toContain(from);
  writeFileSync(p.stackFile, text.replace(from, `STORE_INIT_FAIL: "${fail ? 1 : 0}"`));
}

afterAll(async () => {
  for (const p of made) {
    await removeStack(p.stack).catch(() => undefined);
    rmSync(p.dir, { recursive: true, force: true });
  }
}, 180_000);

describeSwarm('Swarm: plan, snapshot, guard + apply, lock and probe on a single-node swarm', () => {
  let p: Platform;
  beforeAll(async () => {
    p = copyPlatform();
    deployStack(p.stackFile, p.stack);
    expect(
      await waitFor(() => tasksOf(p, 'store-init').some((t) => t.state === 'failed' || t.state === 'complete'), 90_000),
    ).toBe(true);
    await storeHealthy(p);
    expect(await waitFor(() => !!runningTask(p, 'web'), 60_000)).toBe(true);
  }, 240_000);

  it('plan: long-running services in sync; the failed job is a pending re-run (its last task exited 1 under the current spec)', async () => {
    const pl = await plan(p);
    expect(pl.compose.flavor).toBe('swarm');
    expect(keysOf(pl, 'store')).toEqual([]);
    expect(keysOf(pl, 'web')).toEqual([]);
    const init = pl.modules.find((m) => m.name === 'store-init')!;
    expect(init.drift.map((d) => d.key)).toEqual(['container.state.exited_success']);
    expect(init.drift[0]!.observed).toContain('exited (1)');
    expect(JSON.stringify(pl)).not.toContain(SECRET);
  });

  it('plan: config drift names the field (environment, never its value); replicas; image; a missing service', async () => {
    expect(docker(['service', 'update', '--detach', '--env-add', 'EXTRA_SETTING=on', `${p.stack}_web`]).status).toBe(0);
    let pl = await plan(p, 'web');
    let web = pl.modules[0]!;
    expect(web.drift.map((d) => d.key)).toContain('container.config');
    const fields = web.drift.find((d) => d.key === 'container.config')!.fields ?? [];
    expect(fields.join(' ')).toContain('environment EXTRA_SETTING');
    expect(fields.join(' ')).not.toContain('=on');

    expect(
      docker(['service', 'update', '--detach', '--env-rm', 'EXTRA_SETTING', '--replicas', '2', `${p.stack}_web`])
        .status,
    ).toBe(0);
    pl = await plan(p, 'web');
    web = pl.modules[0]!;
    const cfg = web.drift.find((d) => d.key === 'container.config');
    expect(cfg?.fields?.join(' ')).toContain('deploy.replicas (2 → 1)');

    expect(
      docker([
        'service',
        'update',
        '--detach',
        '--replicas',
        '1',
        '--image',
        'stateguard/noshell:1.0.0',
        `${p.stack}_web`,
      ]).status,
    ).toBe(0);
    pl = await plan(p, 'web');
    web = pl.modules[0]!;
    const image = web.drift.find((d) => d.key === 'container.image');
    expect(image).toMatchObject({ reason: 'reference-changed' });
    expect(image!.observed).toContain('stateguard/noshell:1.0.0');

    expect(docker(['service', 'rm', `${p.stack}_web`]).status).toBe(0);
    pl = await plan(p, 'web');
    expect(keysOf(pl, 'web')).toEqual(['container.missing']);
  }, 120_000);

  it('plan: a service whose tasks turn unhealthy shows it (health or not running), and the healthcheck field', async () => {
    const stack2 = `${p.stack}h`;
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-swarm-h-'));
    try {
      const file = path.join(dir, 'stack.yaml');
      writeFileSync(
        file,
        'version: "3.9"\nservices:\n  svc:\n    image: stateguard/busybox:1.0.0\n    command: ["sh", "-c", "trap \'exit 0\' TERM; while true; do sleep 1; done"]\n' +
          '    healthcheck:\n      test: ["CMD", "true"]\n      interval: 1s\n',
      );
      mkdirSync(path.join(dir, 'modules/svc'), { recursive: true });
      writeFileSync(
        path.join(dir, 'modules/svc/module.yaml'),
        `apiVersion: stateguard/v1\nkind: Module\nmetadata:\n  name: svc\nspec:\n  class: stateless\n  swarm:\n    file: ../../stack.yaml\n    stack: ${stack2}\n    service: svc\n`,
      );
      made.push({ dir, root: dir, stack: stack2, stackFile: file, backupDir: dir });
      deployStack(file, stack2);
      expect(
        await waitFor(
          () =>
            docker([
              'ps',
              '-q',
              '--filter',
              `label=com.docker.swarm.service.name=${stack2}_svc`,
              '--filter',
              'health=healthy',
            ]).stdout.trim() !== '',
          60_000,
        ),
      ).toBe(true);
      let r = await cli(['plan', '--root', dir, '--json']);
      expect((JSON.parse(r.stdout) as PlanJson).modules[0]!.drift).toEqual([]);
      expect(
        docker([
          'service',
          'update',
          '--detach',
          '--health-cmd',
          'false',
          '--health-interval',
          '1s',
          '--health-retries',
          '1',
          `${stack2}_svc`,
        ]).status,
      ).toBe(0);
      let keys: string[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        r = await cli(['plan', '--root', dir, '--json']);
        keys = (JSON.parse(r.stdout) as PlanJson).modules[0]!.drift.map((d) => d.key);
        if (keys.includes('container.health') || keys.includes('container.state.running')) break;
        await new Promise((res) => setTimeout(res, 1000));
      }
      expect(keys).toContain('container.config');
      expect(keys.some((k) => k === 'container.health' || k === 'container.state.running')).toBe(true);
      const fields =
        (JSON.parse(r.stdout) as PlanJson).modules[0]!.drift.find((d) => d.key === 'container.config')!.fields ?? [];
      expect(fields).toContain('healthcheck');
    } finally {
      await removeStack(stack2).catch(() => undefined);
    }
  }, 180_000);

  it('snapshot scales the store to 0 and back (a new, healthy task), the archive holds the data and verifies', async () => {
    const before = await storeHealthy(p);
    const snap = await cli(['snapshot', '--root', p.root, '--module', 'store', '--out-dir', p.backupDir, '--json']);
    expect(snap.code).toBe(0);
    const out = JSON.parse(snap.stdout) as { path: string; sha256: string };
    const after = runningTask(p, 'store')!;
    expect(after.id).not.toBe(before.id);
    expect(healthOf(after.containerId)).toBe('healthy');
    // No scale-down label is left behind on the service.
    const labels = JSON.parse(
      docker(['service', 'inspect', '--format', '{{json .Spec.Labels}}', `${p.stack}_store`]).stdout,
    ) as Record<string, string>;
    expect(labels['io.stateguard.stopped-replicas']).toBeUndefined();
    const list = docker([
      'run',
      '--rm',
      '-v',
      `${p.backupDir}:/b:ro`,
      'stateguard/busybox:1.0.0',
      'tar',
      '-tzf',
      `/b/${path.basename(out.path)}`,
    ]).stdout;
    expect(list).toContain('store-data/.store-format');
    const verify = await cli([
      'verify-backup',
      '--root',
      p.root,
      '--module',
      'store',
      '--backup-ref',
      out.path,
      '--backup-root',
      p.backupDir,
      '--json',
    ]);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ verified: true });
    // no helper container of this stack's volumes is left (other suites' helpers may run meanwhile)
    expect(
      docker(['ps', '-a', '--filter', 'label=io.stateguard.helper', '--format', '{{.ID}} {{.Mounts}}'])
        .stdout.split('\n')
        .filter((l) => l.includes(`${p.stack}_`)),
    ).toEqual([]);
  }, 240_000);

  it('guard + apply of the replicated-job: refused without a backup; fails scrubbed; fixed → applied; parent task untouched; in sync', async () => {
    const backup = readdirSync(p.backupDir).find((f) => f.endsWith('.tar.gz'));
    expect(backup).toBeDefined();
    const backupRef = path.join(p.backupDir, backup!);
    const refused = await cli(['apply', '--root', p.root, '--module', 'store-init', '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ status: 'blocked' });

    const flags = [
      '--root',
      p.root,
      '--module',
      'store-init',
      '--allow-stateful=true',
      '--confirm',
      'BACKUP_DONE',
      '--backup-ref',
      backupRef,
      '--backup-root',
      p.backupDir,
      '--json',
    ];
    const store = await storeHealthy(p);
    const failed = await cli(['apply', ...flags]);
    expect(failed.code).toBe(1);
    const failedJson = JSON.parse(failed.stdout) as {
      status: string;
      failure_reason: string;
      exit_code: number;
      log_tail: string[];
    };
    expect(failedJson).toMatchObject({ status: 'failed', failure_reason: 'one-shot-failed', exit_code: 1 });
    expect(failedJson.log_tail.join('\n')).toContain('store-init: connecting to store as admin with password ***');

    setFail(p, false);
    const webTask = runningTask(p, 'web')?.id;
    const applied = await cli(['apply', ...flags]);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ status: 'applied', exit_code: 0 });
    // The parent's task and container are the same; the job's last task completed with exit 0.
    const storeAfter = runningTask(p, 'store')!;
    expect(storeAfter).toMatchObject({ id: store.id, containerId: store.containerId });
    expect(tasksOf(p, 'store-init')[0]).toMatchObject({ state: 'complete', exitCode: 0 });
    if (webTask) expect(runningTask(p, 'web')?.id).toBe(webTask);
    const pl = await plan(p, 'store-init');
    expect(keysOf(pl, 'store-init')).toEqual([]);
    // The lock (a docker config) is gone after the apply.
    expect(
      docker(['config', 'ls', '-q', '--filter', `label=io.stateguard.lock.project=${p.stack}`]).stdout.trim(),
    ).toBe('');
    expect(transcript.join('\n')).not.toContain(SECRET);
  }, 300_000);

  it('the lock is a cluster-wide docker config: a held lock refuses a second apply, naming the holder', async () => {
    const rt = new SwarmCli();
    const name = lockName(p.stack, 'store-init');
    expect(
      await rt.createLock(name, {
        'io.stateguard.lock': '1',
        'io.stateguard.lock.module': 'store-init',
        'io.stateguard.lock.project': p.stack,
        'io.stateguard.lock.holder': 'someone else',
        'io.stateguard.lock.since': new Date().toISOString(),
      }),
    ).toBe(true);
    expect(await rt.createLock(name, {})).toBe(false);
    try {
      const backup = readdirSync(p.backupDir).find((f) => f.endsWith('.tar.gz'))!;
      const r = await cli([
        'apply',
        '--root',
        p.root,
        '--module',
        'store-init',
        '--allow-stateful=true',
        '--confirm',
        'BACKUP_DONE',
        '--backup-ref',
        path.join(p.backupDir, backup),
        '--backup-root',
        p.backupDir,
        '--json',
      ]);
      // The lock is taken before anything is planned: refused, whoever holds it named.
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'refused', failure_reason: 'locked' });
      expect(r.stdout + r.stderr).toContain('someone else');
    } finally {
      const lock = await rt.readLock(name);
      expect(lock).not.toBeNull();
      await rt.removeLock(lock!.id);
      expect(await rt.readLock(name)).toBeNull();
    }
  }, 120_000);

  it('the persistence probe replaces the store task: data survives, ephemeral paths do not', async () => {
    await storeHealthy(p);
    const r = await cli(['e2e-gate', '--root', p.root, '--persistence-probe', 'store', '--json'], { STAGING_E2E: '1' });
    const json = JSON.parse(r.stdout) as { probe?: { passed?: boolean } };
    expect(r.code).toBe(0);
    expect(json.probe?.passed).toBe(true);
    await storeHealthy(p);
  }, 240_000);

  it('restore and upgrade refuse a Swarm module before touching anything (unsupported-runtime)', async () => {
    const task = runningTask(p, 'store')!;
    for (const argv of [
      [
        'restore',
        '--module',
        'store',
        '--backup-ref',
        '/nonexistent.tar.gz',
        '--backup-root',
        p.backupDir,
        '--allow-stateful=true',
        '--confirm',
        'x',
      ],
      ['upgrade', '--module', 'store', '--allow-stateful=true', '--confirm', 'x', '--out-dir', p.backupDir],
    ]) {
      const r = await cli([...argv, '--root', p.root, '--json']);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ failure_reason: 'unsupported-runtime' });
    }
    expect(runningTask(p, 'store')!.id).toBe(task.id);
  }, 60_000);

  it.each(['after-stop', 'after-capture'])(
    'a snapshot SIGKILLed %s leaves the service at 0 replicas with the count recorded; plan shows it; recover brings it back healthy',
    async (boundary) => {
      await storeHealthy(p);
      const killed = await childCli(
        ['snapshot', '--root', p.root, '--module', 'store', '--out-dir', p.backupDir],
        REPO,
        { STATEGUARD_TEST_KILL_AT: boundary },
      );
      expect(killed.signal).toBe('SIGKILL');
      // What the kill left: no task, the replica count on the service, the dead holder's lock.
      expect(runningTask(p, 'store')).toBeUndefined();
      const labels = JSON.parse(
        docker(['service', 'inspect', '--format', '{{json .Spec.Labels}}', `${p.stack}_store`]).stdout,
      ) as Record<string, string>;
      expect(labels['io.stateguard.stopped-replicas']).toBe('1');
      const pl = await plan(p, 'store');
      const cfg = pl.modules[0]!.drift.find((d) => d.key === 'container.config');
      expect(cfg?.fields).toContain('deploy.replicas (0 → 1)');
      // A second snapshot is refused while the dead one's lock stands; it changes nothing.
      const again = await cli(['snapshot', '--root', p.root, '--module', 'store', '--out-dir', p.backupDir, '--json']);
      expect(again.code).toBe(1);
      expect(again.stdout + again.stderr).toContain('locked');
      // No archive under a final name from the killed run: only verified snapshots are there.
      for (const f of readdirSync(p.backupDir).filter((n) => n.endsWith('.tar.gz'))) {
        const v = await cli([
          'verify-backup',
          '--root',
          p.root,
          '--module',
          'store',
          '--backup-ref',
          path.join(p.backupDir, f),
          '--backup-root',
          p.backupDir,
          '--json',
        ]);
        expect(JSON.parse(v.stdout)).toMatchObject({ verified: true });
      }
      const rec = await cli(['recover', '--root', p.root, '--module', 'store', '--json']);
      expect(rec.code).toBe(0);
      expect(JSON.parse(rec.stdout)).toMatchObject({ decision: 'recovered' });
      const back = await storeHealthy(p);
      expect(back.containerId).not.toBe('');
      const after = JSON.parse(
        docker(['service', 'inspect', '--format', '{{json .Spec.Labels}}', `${p.stack}_store`]).stdout,
      ) as Record<string, string>;
      expect(after['io.stateguard.stopped-replicas']).toBeUndefined();
      expect(
        docker(['config', 'ls', '-q', '--filter', `label=io.stateguard.lock.project=${p.stack}`]).stdout.trim(),
      ).toBe('');
      expect(keysOf(await plan(p, 'store'), 'store')).toEqual([]);
      // recover again: nothing left to do.
      const twice = await cli(['recover', '--root', p.root, '--module', 'store', '--json']);
      expect(JSON.parse(twice.stdout)).toMatchObject({ decision: 'nothing-to-recover' });
    },
    240_000,
  );

  it('removing the stack leaves nothing behind', async () => {
    const q = copyPlatform();
    deployStack(q.stackFile, q.stack);
    await removeStack(q.stack);
    expect(stackLeftovers(q.stack)).toEqual({ services: [], containers: [], volumes: [], networks: [], configs: [] });
  }, 180_000);
});
