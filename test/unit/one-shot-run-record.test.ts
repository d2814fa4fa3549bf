/**
 * A one-shot's run record: with its container removed (`docker rm`), an image change must not be
 * laundered into a re-run. stateguard compares with its own record of the last successful run,
 * blocks when there is neither record nor container, and never pulls.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { formatStamp } from '../../src/backup/names.js';
import type { RunRecord } from '../../src/runtime/types.js';
import { dir, file, gz, tar } from '../support/archives.js';
import { cliRun } from '../support/commands.js';
import { container, FakeRuntime } from '../support/fake-runtime.js';
import { cleanupTempRepos, tempRepo } from '../support/fixtures.js';
import { REPO } from '../support/runner.js';
import { withManifest } from '../support/manifests.js';

afterAll(cleanupTempRepos);
const ROOT = path.join(REPO, 'examples/platform');
const OLD = 'stateguard/busybox:1.0.0';
const NEW = 'stateguard/busybox:2.0.0';

function backup(): { root: string; file: string } {
  const stamp = formatStamp(new Date(Date.now() - 60_000));
  const name = `store-${stamp}.tar.gz`;
  const archive = gz(tar(dir('store-data/'), file('store-data/f', 'x')));
  const manifested = withManifest(archive, { module: 'store', stamp, project: 'platform', service: 'store' });
  const root = tempRepo({ [name]: manifested }, 'sg-nl-bk-');
  return { root, file: path.join(root, name) };
}

/** store healthy; store-init's declared image is `declared`; its container removed (pruned). */
function engine(declared: string, records: RunRecord[] = []): FakeRuntime {
  const rt = new FakeRuntime();
  rt.projects.platform = {
    services: { store: { image: OLD }, 'store-init': { image: declared }, web: { image: OLD } },
    hashes: { store: 'h-store', 'store-init': 'h-init', web: 'h-web' },
  };
  rt.images[OLD] = 'sha256:old';
  rt.images[NEW] = 'sha256:new';
  rt.containers.push(
    container({
      project: 'platform',
      service: 'store',
      id: 'store-1',
      health: 'healthy',
      configHash: 'h-store',
      imageId: 'sha256:old',
    }),
    container({ project: 'platform', service: 'web', id: 'web-1', configHash: 'h-web', imageId: 'sha256:old' }),
  );
  rt.runRecords = records;
  rt.onRecreate = (_t, service) =>
    rt.containers.push(
      container({
        project: 'platform',
        service,
        id: 'init-new',
        state: 'exited',
        exitCode: 0,
        imageRef: declared,
        imageId: rt.images[declared] ?? 'sha256:x',
        configHash: 'h-init-label',
      }),
    );
  return rt;
}

const RAN_OLD: RunRecord = {
  project: 'platform',
  service: 'store-init',
  container_id: 'init-old',
  image_id: 'sha256:old',
  image_ref: OLD,
  config_hash: 'h-init',
  label_hash: 'h-init',
  recorded_at: '2026-11-01T00:00:00Z',
};

async function apply(rt: FakeRuntime) {
  const b = backup();
  const r = await cliRun(
    [
      'apply',
      '--root',
      ROOT,
      '--module',
      'store-init',
      '--allow-stateful',
      '--confirm',
      'BACKUP_DONE',
      '--backup-ref',
      b.file,
      '--backup-root',
      b.root,
      '--json',
    ],
    rt,
  );
  return {
    ...r,
    json: JSON.parse(r.stdout) as {
      status: string;
      failure_reason: string;
      verdict: string;
      guard: { reasons: Array<{ fix: string }> } | null;
    },
  };
}

describe('a pruned one-shot container cannot launder an image change', () => {
  it('image changed, container removed, record of the old image: blocked (container.image), nothing runs', async () => {
    const rt = engine(NEW, [RAN_OLD]);
    const r = await apply(rt);
    expect(r.json.failure_reason).toBe('drift-not-allowed');
    expect(r.code).toBe(1);
    expect(rt.callsTo('recreateService')).toEqual([]);
  });

  it('no container and no record: blocked (unverifiable) with the way forward', async () => {
    const rt = engine(OLD, []);
    const r = await apply(rt);
    expect(r.json.failure_reason).toBe('drift-not-allowed');
    expect(r.json.guard!.reasons.map((x) => x.fix).join(' ')).toMatch(
      /create \(not start\) the container.*up --no-start --no-deps store-init/,
    );
    expect(rt.callsTo('recreateService')).toEqual([]);
  });

  it('no container, a record of the same image: the re-run is allowed, runs, and records itself', async () => {
    const rt = engine(OLD, [RAN_OLD]);
    const r = await apply(rt);
    expect(r.json.status).toBe('applied');
    expect(rt.runRecords).toEqual([
      expect.objectContaining({
        container_id: 'init-new',
        image_id: 'sha256:old',
        config_hash: 'h-init',
        label_hash: 'h-init-label',
      }),
    ]);
    // and the next plan is in sync even though compose labelled another hash than `config --hash`
    const plan = await cliRun(['plan', '--root', ROOT, '--module', 'store-init', '--json'], rt);
    expect((JSON.parse(plan.stdout) as { modules: Array<{ in_sync: boolean }> }).modules[0]!.in_sync).toBe(true);
  });

  it('a failed run writes no record', async () => {
    const rt = engine(OLD, [RAN_OLD]);
    rt.onRecreate = (_t, service) =>
      rt.containers.push(container({ project: 'platform', service, id: 'init-new', state: 'exited', exitCode: 1 }));
    rt.waitResults['init-new'] = { exitCode: 1, timedOut: false };
    await apply(rt);
    expect(rt.runRecords).toEqual([RAN_OLD]);
  });
});

describe('apply never pulls', () => {
  it('the declared image is not on the engine: refused (image-not-present), nothing runs', async () => {
    const rt = engine(OLD, [RAN_OLD]);
    rt.containers.push(
      container({
        project: 'platform',
        service: 'store-init',
        id: 'init-old',
        state: 'exited',
        exitCode: 1,
        configHash: 'h-init',
        imageId: 'sha256:old',
      }),
    );
    // The plan judged the image present; it is gone by the time apply checks (a v1 `up` would pull
    // it). Image lookups on the simulated engine, in order: the fresh plan, then apply's own check.
    let checks = 0;
    const inner = rt.imageIds.bind(rt);
    rt.imageIds = async (refs) => (++checks >= 2 ? Object.fromEntries(refs.map((x) => [x, null])) : inner(refs));
    const r = await apply(rt);
    expect(r.json.failure_reason).toBe('image-not-present');
    expect(r.code).toBe(1);
    expect(rt.callsTo('recreateService')).toEqual([]);
  });
});
