import { describe, expect, it } from '@jest/globals';
import { computeDrift, observeContainers, serviceReplicas, type DeclaredService } from '../../src/drift/rules.js';
import { parseImageRef, semverBump } from '../../src/drift/semver.js';
import type { DriftItem } from '../../src/drift/types.js';
import type { ContainerInfo, RunRecord } from '../../src/runtime/types.js';
import { container } from '../support/fake-runtime.js';

const DECLARED: DeclaredService = {
  image: 'stateguard/busybox:1.0.0',
  configHash: 'hash-current',
  imageId: 'sha256:aaa',
};
const c = (p: Partial<ContainerInfo> = {}): ContainerInfo => container({ project: 'p', service: 's', ...p });
const running = { name: 'm', expectedState: 'running' as const };
const oneShot = { name: 'm', expectedState: 'exited-success' as const };

describe('computeDrift: expected running', () => {
  const cases: Array<[string, ContainerInfo[], Partial<DeclaredService>, Partial<DriftItem>[]]> = [
    ['in sync', [c()], {}, []],
    ['no container', [], {}, [{ key: 'container.missing', declared: 'running', observed: 'missing' }]],
    ['only a one-off compose run container', [c({ oneoff: true })], {}, [{ key: 'container.missing' }]],
    [
      'config hash differs',
      [c({ configHash: 'hash-old' })],
      {},
      [{ key: 'container.config', observed: 'config hash-old' }],
    ],
    [
      'no config-hash label',
      [{ ...c(), configHash: undefined }],
      {},
      [{ key: 'container.config', observed: 'no config-hash label' }],
    ],
    [
      'stopped',
      [c({ state: 'exited', exitCode: 137 })],
      {},
      [{ key: 'container.state.running', observed: 'exited (137)' }],
    ],
    [
      'created, never started',
      [c({ state: 'created' })],
      {},
      [{ key: 'container.state.running', observed: 'created' }],
    ],
    ['paused', [c({ state: 'paused' })], {}, [{ key: 'container.state.running', observed: 'paused' }]],
    [
      'unhealthy',
      [c({ health: 'unhealthy' })],
      {},
      [{ key: 'container.health', declared: 'healthy', observed: 'unhealthy' }],
    ],
    ['starting health is not drift', [c({ health: 'starting' })], {}, []],
    [
      'stopped and unhealthy: health of a stopped container is history',
      [c({ state: 'exited', exitCode: 0, health: 'unhealthy' })],
      {},
      [{ key: 'container.state.running' }],
    ],
    [
      'image reference changed, minor bump',
      [c({ imageRef: 'stateguard/busybox:1.0.0' })],
      { image: 'stateguard/busybox:1.1.0' },
      [
        {
          key: 'container.image',
          declared: 'stateguard/busybox:1.1.0',
          observed: 'stateguard/busybox:1.0.0',
          bump: 'minor',
          reason: 'reference-changed',
        },
      ],
    ],
    ['docker.io prefix is the same reference', [c({ imageRef: 'docker.io/stateguard/busybox:1.0.0' })], {}, []],
    ['implicit latest is the same reference', [c({ imageRef: 'busybox' })], { image: 'busybox:latest' }, []],
    [
      'tag re-pointed at another image ID',
      [c({ imageId: 'sha256:0123456789abcdef00' })],
      { imageId: 'sha256:fedcba9876543210ff' },
      [
        {
          key: 'container.image',
          reason: 'tag-repointed',
          bump: 'unknown',
          declared: 'stateguard/busybox:1.0.0 (image fedcba987654)',
          observed: 'stateguard/busybox:1.0.0 (image 0123456789ab)',
        },
      ],
    ],
    [
      'declared image not on the engine is not in sync',
      [c()],
      { imageId: null },
      [{ key: 'container.image', reason: 'image-not-present', bump: 'unknown' }],
    ],
    [
      'several drifts at once, in vocabulary order',
      [c({ configHash: 'x', state: 'exited', exitCode: 1, imageRef: 'stateguard/busybox:2.0.0' })],
      {},
      [{ key: 'container.config' }, { key: 'container.state.running' }, { key: 'container.image', bump: 'major' }],
    ],
  ];
  it.each(cases)('%s', (_name, containers, declared, expected) => {
    const drift = computeDrift(running, containers, { ...DECLARED, ...declared });
    expect(drift.map((d) => d.key)).toEqual(expected.map((e) => e.key));
    drift.forEach((d, i) => expect(d).toMatchObject(expected[i]!));
  });
});

describe('computeDrift: one-shot (exited-success)', () => {
  const cases: Array<[string, ContainerInfo[], string | null, string | undefined]> = [
    ['exited 0 under the current config: in sync', [c({ state: 'exited', exitCode: 0 })], null, undefined],
    ['no container', [], 'no-container', 'missing'],
    ['only a one-off container', [c({ oneoff: true, state: 'exited', exitCode: 0 })], 'no-container', undefined],
    ['exited 1', [c({ state: 'exited', exitCode: 1 })], 'exited-nonzero', 'exited (1)'],
    ['created, never started', [c({ state: 'created', exitCode: 0 })], 'never-started', 'created'],
    ['dead', [c({ state: 'dead', exitCode: 255 })], 'dead', 'dead (255)'],
    ['still running', [c({ state: 'running' })], 'running', 'running'],
    ['restarting counts as running', [c({ state: 'restarting' })], 'running', 'restarting'],
    [
      'exited 0 under an older config',
      [c({ state: 'exited', exitCode: 0, configHash: 'hash-old' })],
      'stale-config',
      'exited (0) under an older config',
    ],
    [
      'exited 0 without a config-hash label',
      [{ ...c({ state: 'exited', exitCode: 0 }), configHash: undefined }],
      'stale-config',
      undefined,
    ],
    [
      'exited 1 under an older config: the failure is what matters',
      [c({ state: 'exited', exitCode: 1, configHash: 'hash-old' })],
      'exited-nonzero',
      undefined,
    ],
  ];
  // A record of the last successful run that matches what is declared: the image is proven, so
  // only the one-shot's own state is judged here (records without a match are tested below).
  const MATCHING: RunRecord = {
    project: 'p',
    service: 's',
    container_id: 'gone',
    image_id: 'sha256:aaa',
    image_ref: 'stateguard/busybox:1.0.0',
    config_hash: 'hash-current',
    label_hash: 'hash-current',
    recorded_at: '2026-01-01T00:00:00Z',
  };
  it.each(cases)('%s', (_name, containers, reason, observed) => {
    const drift = computeDrift(oneShot, containers, DECLARED, MATCHING);
    if (reason === null) {
      expect(drift).toEqual([]);
      return;
    }
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ key: 'container.state.exited_success', declared: 'exited (0)', reason });
    if (observed) expect(drift[0]!.observed).toBe(observed);
  });

  describe("no container left: the image is compared with stateguard's record, never assumed", () => {
    const rec = (p: Partial<RunRecord> = {}): RunRecord => ({ ...MATCHING, ...p });
    const rows: Array<[string, RunRecord | null | undefined, Partial<DeclaredService>, Partial<DriftItem> | null]> = [
      ['no record (container pruned): unverifiable', null, {}, { reason: 'unverifiable', bump: 'unknown' }],
      ['records not read at all: treated as no record (fail closed)', undefined, {}, { reason: 'unverifiable' }],
      ['record matches the declared image', rec(), {}, null],
      [
        'record of another reference: the image change is visible',
        rec({ image_ref: 'stateguard/busybox:1.0.0' }),
        { image: 'stateguard/busybox:2.0.0' },
        { reason: 'reference-changed', bump: 'major' },
      ],
      ['same tag, another image ID since the record', rec({ image_id: 'sha256:old' }), {}, { reason: 'tag-repointed' }],
      ['declared image not on the engine', rec(), { imageId: null }, { reason: 'image-not-present' }],
    ];
    it.each(rows)('%s', (_label, record, declared, image) => {
      const drift = computeDrift(oneShot, [], { ...DECLARED, ...declared }, record);
      expect(drift.map((d) => d.key)).toEqual([
        ...(image ? ['container.image'] : []),
        'container.state.exited_success',
      ]);
      if (image) expect(drift[0]).toMatchObject({ key: 'container.image', ...image });
    });
  });

  describe('compose v2: `up --no-deps` labels another config hash than `config --hash`', () => {
    const exited = c({ id: 'run-1', state: 'exited', exitCode: 0, configHash: 'label-written-by-v2-up' });
    const rec = (p: Partial<RunRecord> = {}): RunRecord => ({
      ...MATCHING,
      container_id: 'run-1',
      label_hash: 'label-written-by-v2-up',
      ...p,
    });
    it('the record of that exact run proves it ran the declared config: in sync', () => {
      expect(computeDrift(oneShot, [exited], DECLARED, rec())).toEqual([]);
    });
    it.each([
      ['another container', rec({ container_id: 'run-0' })],
      ['another label', rec({ label_hash: 'other' })],
      ['planned against an older declared config', rec({ config_hash: 'hash-old' })],
      ['no record', null],
    ])('a record of %s proves nothing: stale-config', (_label, record) => {
      expect(computeDrift(oneShot, [exited], DECLARED, record)).toMatchObject([
        { key: 'container.state.exited_success', reason: 'stale-config' },
      ]);
    });
  });

  it('a config change of a one-shot is not separate container.config drift', () => {
    const drift = computeDrift(oneShot, [c({ state: 'exited', exitCode: 0, configHash: 'old' })], DECLARED);
    expect(drift.map((d) => d.key)).toEqual(['container.state.exited_success']);
  });

  it('an image change of a one-shot is separate drift', () => {
    const drift = computeDrift(
      oneShot,
      [c({ state: 'exited', exitCode: 0, imageRef: 'stateguard/busybox:1.0.1' })],
      DECLARED,
    );
    expect(drift.map((d) => [d.key, d.bump])).toEqual([['container.image', 'patch']]);
  });

  it('a stopped one-shot is never container.state.running drift', () => {
    const drift = computeDrift(oneShot, [c({ state: 'exited', exitCode: 0 })], DECLARED);
    expect(drift.some((d) => d.key === 'container.state.running' || d.key === 'container.missing')).toBe(false);
  });
});

describe('computeDrift: scale (several replicas)', () => {
  const r = (n: number, p: Partial<ContainerInfo>) =>
    c({ id: `id${n}`, labels: { 'com.docker.compose.container-number': String(n) }, ...p });

  it('one stopped replica of three is drift, counted', () => {
    const drift = computeDrift(running, [r(1, {}), r(2, { state: 'exited', exitCode: 137 }), r(3, {})], DECLARED);
    expect(drift).toEqual([
      { key: 'container.state.running', declared: 'running', observed: 'exited (137) [1 of 3 replicas]' },
    ]);
  });

  it('a one-shot is in sync only when every replica succeeded; the most severe reason wins', () => {
    const drift = computeDrift(
      oneShot,
      [
        r(1, { state: 'exited', exitCode: 0 }),
        r(2, { state: 'exited', exitCode: 0, configHash: 'old' }),
        r(3, { state: 'running' }),
      ],
      DECLARED,
    );
    expect(drift).toEqual([
      {
        key: 'container.state.exited_success',
        declared: 'exited (0)',
        observed: 'running [1 of 3 replicas]',
        reason: 'running',
      },
    ]);
    expect(
      computeDrift(oneShot, [r(1, { state: 'exited', exitCode: 0 }), r(2, { state: 'exited', exitCode: 0 })], DECLARED),
    ).toEqual([]);
  });

  it('replica order (and so the drift) does not depend on the order the engine lists them', () => {
    const a = [r(2, { configHash: 'b' }), r(1, { configHash: 'a' })];
    expect(computeDrift(running, a, DECLARED)).toEqual(computeDrift(running, [...a].reverse(), DECLARED));
    expect(serviceReplicas(a).map((x) => x.id)).toEqual(['id1', 'id2']);
    expect(observeContainers(a)).toMatchObject({ container_id: 'id1', replicas: 2 });
  });
});

describe('observeContainers', () => {
  it('missing', () => {
    expect(observeContainers([])).toEqual({
      container_id: null,
      state: 'missing',
      exit_code: null,
      image: null,
      health: null,
    });
  });
  it('exit code only for exited/dead; never the environment', () => {
    const o = observeContainers([
      c({ id: 'abc', state: 'running', exitCode: 0, env: ['PASSWORD=hunter2'], health: 'healthy' }),
    ]);
    expect(o).toEqual({
      container_id: 'abc',
      state: 'running',
      exit_code: null,
      image: 'stateguard/busybox:1.0.0',
      health: 'healthy',
    });
    expect(JSON.stringify(o)).not.toContain('hunter2');
    expect(observeContainers([c({ state: 'exited', exitCode: 3 })]).exit_code).toBe(3);
  });
  it('drift items never carry environment values or container IDs', () => {
    const drift = computeDrift(
      running,
      [c({ id: 'deadbeefcafe', env: ['SECRET=s3cr3t'], state: 'exited', exitCode: 1, configHash: 'o' })],
      DECLARED,
    );
    const text = JSON.stringify(drift);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('deadbeefcafe');
  });
});

describe('semverBump', () => {
  const cases: Array<[string, string, string]> = [
    ['x:1.0.0', 'x:1.0.1', 'patch'],
    ['x:1.0.0', 'x:1.1.0', 'minor'],
    ['x:1.9.9', 'x:2.0.0', 'major'],
    ['x:2.0.0', 'x:1.0.0', 'major'],
    ['x:v1.2', 'x:v1.3', 'minor'],
    ['x:16', 'x:17', 'major'],
    ['x:1.2.3-alpine', 'x:1.2.4-alpine', 'patch'],
    ['x:1.0.0', 'x:1.0.0', 'unknown'],
    ['minio/minio:RELEASE.2024-05-01T01-11-10Z', 'minio/minio:RELEASE.2024-06-01T01-11-10Z', 'unknown'],
    ['x:latest', 'x:1.0.0', 'unknown'],
    ['x', 'x:2', 'unknown'],
    ['x:1.0.0', 'y:2.0.0', 'unknown'],
    ['x@sha256:abc', 'x:1.0.0', 'unknown'],
    ['localhost:5000/x:1.0.0', 'localhost:5000/x:1.0.1', 'patch'],
    ['docker.io/library/postgres:15.4', 'postgres:16.0', 'major'],
  ];
  it.each(cases)('%s -> %s is %s', (from, to, bump) => expect(semverBump(from, to)).toBe(bump));

  it('a registry port is not a tag', () => {
    expect(parseImageRef('localhost:5000/x')).toEqual({ repository: 'localhost:5000/x', tag: 'latest', digest: null });
  });
});

describe('containers made by another compose version are never a silent container.config', () => {
  const v = (label: string | undefined, hash = 'hash-old'): ContainerInfo =>
    c({ configHash: hash, labels: label ? { 'com.docker.compose.version': label } : {} });
  const PLANNING: DeclaredService = { ...DECLARED, composeVersion: '2.26.1-4' };
  it('created by v1, planned with v2: the versions and what to do are named', () => {
    const [item] = computeDrift(running, [v('1.29.2')], PLANNING);
    expect(item).toMatchObject({ key: 'container.config', reason: 'compose-version' });
    expect(item!.observed).toMatch(
      /created by compose 1\.29\.2, planned with compose 2\.26\.1-4.*Recreate it.*STATEGUARD_COMPOSE/,
    );
  });
  it('no version label at all counts as another version', () => {
    expect(computeDrift(running, [v(undefined)], PLANNING)[0]).toMatchObject({ reason: 'compose-version' });
  });
  it('the same X.Y.Z (a distribution build suffix) is the same version: a plain config difference', () => {
    const [item] = computeDrift(running, [v('2.26.1')], PLANNING);
    expect(item!.reason).toBeUndefined();
    expect(item!.observed).toBe('config hash-old');
  });
  it('equal hashes are in sync whoever created the container', () => {
    expect(computeDrift(running, [v('1.29.2', 'hash-current')], PLANNING)).toEqual([]);
  });
  it('a one-shot exited 0 under another compose version says so in its stale-config', () => {
    const [item] = computeDrift(oneShot, [{ ...v('1.29.2'), state: 'exited', exitCode: 0 }], PLANNING, null);
    expect(item).toMatchObject({ key: 'container.state.exited_success', reason: 'stale-config' });
    expect(item!.observed).toMatch(/created by compose 1\.29\.2/);
  });
});
