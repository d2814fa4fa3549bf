/**
 * The words of restore and recover come from what the steps did (docs/architecture.md §12), never
 * from the path taken: the swap reports per mount what it did (forwarded, already-new, reverted,
 * already-old, no-work-area) and every message, `direction` and `data` is built from that. Every
 * combination on the simulated engine: a revert with and without a work area, a forward with and
 * without one, healthy or not; and two volumes of which only one still has its work area (never a
 * mix of old and new).
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModuleDecl } from '../../../src/model/module.js';
import { loadModules } from '../../../src/model/module.js';
import { operationKey, type JournalRecord, type Phase } from '../../../src/ops/journal.js';
import { recoverModule, type RecoverOutcome } from '../../../src/ops/recover.js';
import { recoverRegistry } from '../../../src/commands/recover.js';
import { parseSwapOutput } from '../../../src/runtime/docker-cli.js';
import { planModules } from '../../../src/plan/plan.js';
import { decide } from '../../../src/guard/decide.js';
import { renderPlanText } from '../../../src/report/plan-render.js';
import { dir, file, gz, tar } from '../../support/archives.js';
import { examplePlatform, type FakeRuntime } from '../../support/fake-runtime.js';
import { REPO } from '../../support/runner.js';

const quiet = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  notice: () => undefined,
  raw: () => undefined,
};
const T0 = new Date('2026-03-01T12:00:00Z');
const A = 'platform_store-data';
const B = 'platform_store-extra';
const OLD = { 'old-only': 'old', shared: 'old shared' };
const NEW = { 'new-only': 'new' };

function setup(): { rt: FakeRuntime; work: string; store: ModuleDecl } {
  const rt = examplePlatform();
  const root = path.join(REPO, 'examples/platform');
  const store = loadModules(root, 'modules/*/module.yaml', root).modules.find((m) => m.name === 'store')!;
  const work = mkdtempSync(path.join(tmpdir(), 'sg-words-'));
  writeFileSync(path.join(work, 'b.tar.gz'), gz(tar(dir('store-data/'), file('store-data/new-only', 'new'))));
  return { rt, work, store };
}

/**
 * An interrupted restore of `mounts` volumes at `phase`. Per volume, `state` says what is on it:
 * `old` (never touched), `staged` (work area, new data waiting), `swapped` (work area with `in`:
 * new data live, old kept), `dropped` (new data live, work area gone: the old data is gone).
 */
function interrupted(
  s: ReturnType<typeof setup>,
  phase: Phase,
  states: Array<'old' | 'staged' | 'swapped' | 'dropped'>,
): void {
  const sources = [A, B].slice(0, states.length);
  states.forEach((state, i) => {
    const v = s.rt.bench.volume(sources[i]!);
    v.live = new Map(Object.entries(OLD).map(([k, t]) => [k, Buffer.from(t)]));
    const staged = new Map<string, Buffer | null>([['new-only', Buffer.from('new')]]);
    if (state === 'staged') v.work = { next: staged, old: null, in: false, root: { ...v.root } };
    if (state === 'swapped') {
      v.work = { next: new Map(), old: new Map(v.live), in: true, root: { ...v.root } };
      v.live = staged;
    }
    if (state === 'dropped') v.live = staged;
  });
  const record: JournalRecord = {
    operation: 'restore',
    module: 'store',
    project: 'platform',
    service: 'store',
    backup: path.join(s.work, 'b.tar.gz'),
    backup_sha256: 'x',
    helper_image: 'sha256:aaa',
    mounts: sources.map((src, i) => ({
      volume: i === 0 ? 'store-data' : 'store-extra',
      kind: 'volume' as const,
      source: src,
    })),
    roots: sources.map(() => null),
    stopped: ['store-1'],
    compose_files: [s.store.compose.path],
    pre_restore_snapshot: '/pre/store-20260301T115900Z.tar.gz',
    holder: 'host gone, pid 1',
    started_at: 'x',
  };
  s.rt.bench.journals.set(operationKey('platform', 'store'), [
    { seq: 1, phase, at: 't', data: { record: JSON.stringify(record) } },
  ]);
}

/** The service is healthy on the old data, and (when `healthyOnNew`) on the new data too. */
function health(s: ReturnType<typeof setup>, healthyOnNew: boolean): void {
  s.rt.onRecreate = () => {
    const c = s.rt.containers.find((x) => x.id === 'store-1')!;
    c.state = 'running';
    c.health = healthyOnNew || !s.rt.bench.volume(A).live.has('new-only') ? 'healthy' : 'unhealthy';
  };
  const c = s.rt.containers.find((x) => x.id === 'store-1')!;
  c.state = 'exited';
}

async function recover(s: ReturnType<typeof setup>): Promise<RecoverOutcome> {
  return recoverModule(
    {
      module: s.store,
      holder: 'host unit, pid 2',
      host: 'unit',
      pidAlive: () => false,
      breakStaleLock: false,
      readyTimeoutSeconds: 1,
    },
    { runtime: s.rt, log: quiet, now: () => T0, sleep: async () => undefined, operations: recoverRegistry() },
  );
}

describe('recover: the words come from what the swap did', () => {
  it.each<
    [
      string,
      Phase,
      Array<'old' | 'staged' | 'swapped' | 'dropped'>,
      boolean,
      Partial<RecoverOutcome>,
      Record<string, string>,
      RegExp,
      RegExp | null,
    ]
  >([
    // revert, with and without a work area
    [
      'revert, work area staged',
      'staged',
      ['staged'],
      true,
      { decision: 'recovered', direction: 'reverted', data: 'old' },
      OLD,
      /old data/,
      null,
    ],
    [
      'revert, no work area (killed before prepare)',
      'snapshotted',
      ['old'],
      true,
      { decision: 'recovered', direction: 'reverted', data: 'old' },
      OLD,
      /old data/,
      null,
    ],
    [
      'revert, swapped',
      'swapping',
      ['swapped'],
      true,
      { decision: 'recovered', direction: 'reverted', data: 'old' },
      OLD,
      /old data was put back/,
      null,
    ],
    [
      'reverting, swapped',
      'reverting',
      ['swapped'],
      true,
      { decision: 'recovered', direction: 'reverted', data: 'old' },
      OLD,
      /old data was put back/,
      null,
    ],
    // forward, with and without a work area
    [
      'forward, swapped, healthy',
      'committed',
      ['swapped'],
      true,
      { decision: 'recovered', direction: 'completed', data: 'backup' },
      NEW,
      /backup's data/,
      /old data/,
    ],
    [
      'forward, swapped, unhealthy → reverted',
      'committed',
      ['swapped'],
      false,
      { decision: 'failed', direction: 'reverted', data: 'old', failure_reason: 'restore-failed' },
      OLD,
      /old data was put back/,
      null,
    ],
    [
      'forward, dropped, healthy',
      'committed',
      ['dropped'],
      true,
      { decision: 'recovered', direction: 'completed', data: 'backup' },
      NEW,
      /backup's data/,
      /old data was put back/,
    ],
    [
      'forward, dropped, unhealthy → the backup stays, the old data is gone',
      'committed',
      ['dropped'],
      false,
      { decision: 'failed', direction: 'completed', data: 'backup', failure_reason: 'restore-failed' },
      NEW,
      /holds? the backup's data.*not healthy.*old data is gone.*stateguard restore --module store --backup-ref \/pre\/store-20260301T115900Z\.tar\.gz/s,
      /old data was put back|holds its old data/,
    ],
    [
      'forward, two volumes, one dropped, unhealthy → both keep the backup (never a mix)',
      'committed',
      ['dropped', 'swapped'],
      false,
      { decision: 'failed', direction: 'completed', data: 'backup', failure_reason: 'restore-failed' },
      NEW,
      /backup's data.*old data is gone/s,
      /old data was put back|holds its old data/,
    ],
  ])('%s', async (_name, phase, states, healthyOnNew, expected, files, says, never) => {
    const s = setup();
    try {
      interrupted(s, phase, states);
      health(s, healthyOnNew);
      const o = await recover(s);
      expect(o).toMatchObject(expected);
      const text = [o.verdict, ...o.messages].join('\n');
      expect(o.verdict).toMatch(says);
      if (never) expect(text).not.toMatch(never);
      expect(s.rt.bench.files(A)).toEqual(files);
      if (states.length > 1) expect(s.rt.bench.files(B)).toEqual(files);
      expect(s.rt.bench.volume(A).work).toBeNull();
      // the journal is gone: the way back (a restore of the pre-restore snapshot) is not refused
      expect(s.rt.bench.journals.get(operationKey('platform', 'store'))).toBeUndefined();
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('the swap helper must say what it did in every mount (parseSwapOutput)', () => {
  const mounts = [
    { volume: 'data', kind: 'volume' as const, source: 'p_data' },
    { volume: 'conf', kind: 'volume' as const, source: 'p_conf' },
  ];
  it('reads one outcome per mount', () => {
    expect(parseSwapOutput('/v/0 reverted\n/v/1 no-work-area\n', mounts, 'revert')).toEqual([
      { volume: 'data', outcome: 'reverted' },
      { volume: 'conf', outcome: 'no-work-area' },
    ]);
  });
  it.each([
    ['a mount without a line', '/v/0 forwarded\n', 'forward'],
    ['an outcome of the other direction', '/v/0 forwarded\n/v/1 reverted\n', 'forward'],
    ['an unknown outcome', '/v/0 already-old\n/v/1 maybe\n', 'revert'],
    ['nothing at all', '', 'revert'],
  ] as const)('%s is an error, never a guess', (_n, out, direction) => {
    expect(() => parseSwapOutput(out, mounts, direction)).toThrow(/did not say what it did/);
  });
});

describe('recover with no journal reads the data side: a work area means an operation is open', () => {
  /** the store container mounts both volumes; the module declares both */
  function twoVolumes(s: ReturnType<typeof setup>): void {
    s.store.volumes = [
      { ...s.store.volumes[0]!, volume: 'store-data', path: '/data' },
      { ...s.store.volumes[0]!, volume: 'store-extra', path: '/extra' },
    ];
    const c = s.rt.containers.find((x) => x.id === 'store-1')!;
    c.mounts = [
      { type: 'volume', name: A, source: `/var/lib/docker/volumes/${A}/_data`, destination: '/data' },
      { type: 'volume', name: B, source: `/var/lib/docker/volumes/${B}/_data`, destination: '/extra' },
    ];
  }
  const noJournal = (s: ReturnType<typeof setup>): void => void s.rt.bench.journals.clear();

  it.each<[string, Array<'old' | 'staged' | 'swapped' | 'dropped'>]>([
    ['both swapped (killed after-swap, journal pruned)', ['swapped', 'swapped']],
    ['one staged, one without a work area (killed while preparing)', ['staged', 'old']],
    ['one swapped, one staged (killed mid-swap)', ['swapped', 'staged']],
  ])('%s → reverted from the data side to exactly the old data', async (_n, states) => {
    const s = setup();
    try {
      twoVolumes(s);
      interrupted(s, 'swapping', states);
      noJournal(s);
      health(s, true);
      const o = await recover(s);
      expect(o).toMatchObject({ decision: 'recovered', direction: 'reverted', data: 'old' });
      expect(o.verdict).toMatch(/data side/);
      expect(s.rt.bench.files(A)).toEqual(OLD);
      expect(s.rt.bench.files(B)).toEqual(OLD);
      expect(s.rt.bench.volume(A).work).toBeNull();
      expect(s.rt.bench.volume(B).work).toBeNull();
      expect(s.rt.containers.find((x) => x.id === 'store-1')!.state).toBe('running');
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('a volume without a work area beside one whose new data is live → refused naming what it found, nothing changed', async () => {
    const s = setup();
    try {
      twoVolumes(s);
      interrupted(s, 'committed', ['dropped', 'swapped']);
      noJournal(s);
      const o = await recover(s);
      expect(o).toMatchObject({ decision: 'failed', failure_reason: 'interrupted-operation' });
      expect(o.verdict).toMatch(/store-data: no work area; store-extra: a work area, the new data live/);
      expect(o.verdict).toMatch(/Nothing was changed/);
      // the way back names the safety copies by their real pattern and a restore command that takes one
      expect(o.verdict).toContain('store.pre-restore.*.tar.gz');
      expect(o.verdict).toContain('store.pre-upgrade.*.tar.gz');
      expect(o.verdict).toContain('`ls -t DIR/store.pre-*.tar.gz`');
      expect(o.verdict).toContain(
        '`stateguard restore --module store --backup-ref DIR/store.pre-restore.YYYYMMDDTHHMMSSZ.tar.gz --backup-root DIR ' +
          '--confirm store.pre-restore.YYYYMMDDTHHMMSSZ.tar.gz --allow-stateful`',
      );
      expect(o.verdict).not.toContain('*.pre-restore snapshot');
      expect(s.rt.callsTo('swap')).toEqual([]);
      expect(s.rt.bench.volume(B).work).not.toBeNull();
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('no work area and no journal → nothing to recover', async () => {
    const s = setup();
    try {
      twoVolumes(s);
      const o = await recover(s);
      expect(o).toMatchObject({ decision: 'nothing-to-recover' });
      expect(o.warnings).toEqual([]);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('volumes that cannot be looked at are said, never taken for "nothing open"', async () => {
    const s = setup();
    try {
      twoVolumes(s);
      s.rt.bench.helperProblems['sha256:aaa'] = 'it has no /bin/sh';
      const o = await recover(s);
      expect(o.decision).toBe('nothing-to-recover');
      expect(o.warnings.join(' ')).toMatch(/could not be checked for a work area: .*no \/bin\/sh/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});

describe('plan shows an open operation from the data side', () => {
  function mounted(s: ReturnType<typeof setup>): void {
    const c = s.rt.containers.find((x) => x.id === 'store-1')!;
    c.mounts = [{ type: 'volume', name: A, source: `/var/lib/docker/volumes/${A}/_data`, destination: '/data' }];
  }
  const mods = (): ModuleDecl[] => {
    const root = path.join(REPO, 'examples/platform');
    return loadModules(root, 'modules/*/module.yaml', root).modules;
  };

  it('a work area in a data volume → interrupted_operation open, not in sync, the guard blocks (interrupted-operation); one helper per project', async () => {
    const s = setup();
    try {
      mounted(s);
      s.rt.bench.volume(A).work = { next: new Map(), old: new Map(), in: true, root: { mode: 0o755, uid: 0, gid: 0 } };
      const plan = await planModules(mods(), s.rt);
      const store = plan.modules.find((m) => m.name === 'store')!;
      expect(store.interrupted_operation).toMatchObject({ status: 'open', volumes: ['store-data'] });
      expect(store.interrupted_operation!.message).toMatch(/stateguard recover --module store/);
      expect(store.in_sync).toBe(false);
      expect(plan.summary.drifted).toBeGreaterThanOrEqual(1);
      expect(s.rt.callsTo('workAreas')).toHaveLength(1);
      expect(renderPlanText(plan)).toMatch(/⚠ an operation is open on the data of 'store'/);
      const guard = decide({
        module: s.store,
        plan: store,
        allowStateful: true,
        confirm: 'x',
        confirmToken: 'x',
        backup: undefined,
      });
      expect(guard).toMatchObject({ decision: 'blocked' });
      expect(guard.reasons.map((r) => r.code)).toContain('interrupted-operation');
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });

  it('the volumes cannot be looked at → could-not-check (a warning), the plan goes on and stays in sync', async () => {
    const s = setup();
    try {
      mounted(s);
      s.rt.bench.fails.add('workAreas');
      const plan = await planModules(mods(), s.rt);
      const store = plan.modules.find((m) => m.name === 'store')!;
      expect(store.interrupted_operation).toMatchObject({ status: 'could-not-check' });
      expect(store.in_sync).toBe(true);
      expect(renderPlanText(plan)).toMatch(/⚠ could not check the data volumes of 'store'/);
    } finally {
      rmSync(s.work, { recursive: true, force: true });
    }
  });
});
