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
import { validateModules } from '../../../src/model/validate.js';
import { operationKey, type JournalRecord, type Phase } from '../../../src/restore/journal.js';
import { recoverModule, type RecoverOutcome } from '../../../src/restore/recover.js';
import { parseSwapOutput } from '../../../src/runtime/docker-cli.js';
import { dir, file, gz, tar } from '../../support/archives.js';
import { examplePlatform, type FakeRuntime } from '../../support/fake-runtime.js';
import { REPO } from '../../support/runner.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, notice: () => undefined, raw: () => undefined };
const T0 = new Date('2026-03-01T12:00:00Z');
const A = 'platform_store-data';
const B = 'platform_store-extra';
const OLD = { 'old-only': 'old', shared: 'old shared' };
const NEW = { 'new-only': 'new' };

function setup(): { rt: FakeRuntime; work: string; store: ModuleDecl } {
  const rt = examplePlatform();
  const root = path.join(REPO, 'examples/platform');
  const store = validateModules(root, 'modules/*/module.yaml', root).loaded.modules.find((m) => m.name === 'store')!;
  const work = mkdtempSync(path.join(tmpdir(), 'sg-words-'));
  writeFileSync(path.join(work, 'b.tar.gz'), gz(tar(dir('store-data/'), file('store-data/new-only', 'new'))));
  return { rt, work, store };
}

/**
 * An interrupted restore of `mounts` volumes at `phase`. Per volume, `state` says what is on it:
 * `old` (never touched), `staged` (work area, new data waiting), `swapped` (work area with `in`:
 * new data live, old kept), `dropped` (new data live, work area gone: the old data is gone).
 */
function interrupted(s: ReturnType<typeof setup>, phase: Phase, states: Array<'old' | 'staged' | 'swapped' | 'dropped'>): void {
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
    operation: 'restore', module: 'store', project: 'platform', service: 'store', backup: path.join(s.work, 'b.tar.gz'), backup_sha256: 'x',
    helper_image: 'sha256:aaa', mounts: sources.map((src, i) => ({ volume: i === 0 ? 'store-data' : 'store-extra', kind: 'volume' as const, source: src })),
    roots: sources.map(() => null), stopped: ['store-1'], compose_files: [s.store.compose.path], pre_restore_snapshot: '/pre/store-20260301T115900Z.tar.gz',
    holder: 'host gone, pid 1', started_at: 'x',
  };
  s.rt.bench.journals.set(operationKey('platform', 'store'), [{ seq: 1, phase, at: 't', data: { record: JSON.stringify(record) } }]);
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
    { module: s.store, holder: 'host unit, pid 2', host: 'unit', pidAlive: () => false, breakStaleLock: false, readyTimeoutSeconds: 1 },
    { runtime: s.rt, log: quiet, now: () => T0, sleep: async () => undefined },
  );
}

describe('recover: the words come from what the swap did', () => {
  it.each<[string, Phase, Array<'old' | 'staged' | 'swapped' | 'dropped'>, boolean, Partial<RecoverOutcome>, Record<string, string>, RegExp, RegExp | null]>([
    // revert, with and without a work area
    ['revert, work area staged', 'staged', ['staged'], true, { decision: 'recovered', direction: 'reverted', data: 'old' }, OLD, /old data/, null],
    ['revert, no work area (killed before prepare)', 'snapshotted', ['old'], true, { decision: 'recovered', direction: 'reverted', data: 'old' }, OLD, /old data/, null],
    ['revert, swapped', 'swapping', ['swapped'], true, { decision: 'recovered', direction: 'reverted', data: 'old' }, OLD, /old data was put back/, null],
    ['reverting, swapped', 'reverting', ['swapped'], true, { decision: 'recovered', direction: 'reverted', data: 'old' }, OLD, /old data was put back/, null],
    // forward, with and without a work area
    ['forward, swapped, healthy', 'committed', ['swapped'], true, { decision: 'recovered', direction: 'completed', data: 'backup' }, NEW, /backup's data/, /old data/],
    ['forward, swapped, unhealthy → reverted', 'committed', ['swapped'], false, { decision: 'failed', direction: 'reverted', data: 'old', failure_reason: 'restore-failed' }, OLD, /old data was put back/, null],
    ['forward, dropped, healthy', 'committed', ['dropped'], true, { decision: 'recovered', direction: 'completed', data: 'backup' }, NEW, /backup's data/, /old data was put back/],
    [
      'forward, dropped, unhealthy → the backup stays, the old data is gone',
      'committed', ['dropped'], false, { decision: 'failed', direction: 'completed', data: 'backup', failure_reason: 'restore-failed' }, NEW,
      /holds? the backup's data.*not healthy.*old data is gone.*stateguard restore --module store --backup-ref \/pre\/store-20260301T115900Z\.tar\.gz/s,
      /old data was put back|holds its old data/,
    ],
    [
      'forward, two volumes, one dropped, unhealthy → both keep the backup (never a mix)',
      'committed', ['dropped', 'swapped'], false, { decision: 'failed', direction: 'completed', data: 'backup', failure_reason: 'restore-failed' }, NEW,
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
