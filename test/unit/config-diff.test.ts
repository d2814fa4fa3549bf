/**
 * Field-level config differences (docs/architecture.md §3): the field list names exactly the fields
 * that differ. Shapes below are what compose v1 and v2 render (`config`) and what `docker inspect`
 * shows for the same service (checked on the real engine, test/integration/config-diff.test.ts).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { configDifferences, fingerprint, type DiffContext } from '../../src/drift/config-diff.js';
import { computeDrift } from '../../src/drift/rules.js';
import { planModules } from '../../src/plan/plan.js';
import { validateModules } from '../../src/model/validate.js';
import { fileRenderer } from '../support/file-renderer.js';
import type { ContainerInfo, Mount, RenderedService } from '../../src/runtime/types.js';
import { FakeRuntime, container } from '../support/fake-runtime.js';
import { cleanupTempRepos, moduleYaml, tempRepo } from '../support/fixtures.js';
import { scripted } from '../support/scripted-runner.js';
import { DockerCli } from '../../src/runtime/docker-cli.js';
import { EnvironmentError } from '../../src/errors.js';

const IMG = 'stateguard/busybox:1.0.0';
const ANON_IMAGE_VOL = 'a'.repeat(64);
const ANON_COMPOSE_VOL = 'b'.repeat(64);
const bind = (src: string, dst: string): Mount => ({ type: 'bind', source: src, destination: dst });

/** The container compose created for `declaredV2` below (v2: configs are mounted). */
const observed: ContainerInfo = {
  ...container({
    project: 'p',
    service: 's',
    imageRef: IMG,
    imageId: 'sha256:img',
    env: ['A=x$y', 'B=one', 'PATH=/bin'],
    labels: { l1: 'a$b' },
  }),
  mounts: [
    bind('/repo/pw.txt', '/run/secrets/pw'),
    bind('/repo/pw.txt', '/other/pw2'),
    bind('/repo/pw.txt', '/run/secrets/relpw'),
    bind('/repo/cfg.txt', '/cfg'),
    bind('/repo/cfg.txt', '/relcfg'),
    { type: 'volume', name: 'p_named', source: '/var/lib/docker/volumes/p_named/_data', destination: '/srv/named' },
    { type: 'volume', name: ANON_COMPOSE_VOL, source: '/x', destination: '/anon' },
    { type: 'volume', name: ANON_IMAGE_VOL, source: '/y', destination: '/data' },
  ],
  config: {
    cmd: ['sh', '-c', 'echo $HOME; sleep 9'],
    entrypoint: ['/bin/sh', '-c', 'exec "$@"', '--'],
    user: '',
    restartPolicy: 'no',
    healthcheck: ['CMD-SHELL', 'test -n $HOME'],
    ports: [],
  },
};

/** What v2 renders (`config`): `$$` kept, secrets with their target, configs with their source. */
const declaredV2: RenderedService = {
  image: IMG,
  command: ['sh', '-c', 'echo $$HOME; sleep 9'],
  entrypoint: ['/bin/sh', '-c', 'exec "$$@"', '--'],
  environment: { A: 'x$$y', B: 'one' },
  labels: { l1: 'a$$b' },
  healthcheck: { test: ['CMD-SHELL', 'test -n $$HOME'], interval: '5s' },
  secrets: [
    { source: 'pw', target: '/run/secrets/pw' },
    { source: 'pw', target: '/other/pw2' },
    { source: 'pw', target: 'relpw' },
  ],
  configs: [{ source: 'cfg' }, { source: 'cfg', target: 'relcfg' }],
  volumes: [
    { type: 'volume', source: 'named', target: '/srv/named', volume: {} },
    { type: 'volume', target: '/anon', volume: {} },
  ],
  restart: 'no',
};

/** What v1 renders for the same file: secrets by source only, string volumes; v1 mounts no configs. */
const declaredV1: RenderedService = {
  ...declaredV2,
  secrets: [{ source: 'pw' }, { source: 'pw', target: '/other/pw2' }, { source: 'pw', target: 'relpw' }],
  volumes: ['named:/srv/named:rw', '/anon'],
};
const observedV1: ContainerInfo = { ...observed, mounts: observed.mounts.filter((m) => m.source !== '/repo/cfg.txt') };

const v2: DiffContext = { imageVolumes: ['/data'], configsMounted: true };
const v1: DiffContext = { imageVolumes: ['/data'], configsMounted: false };

describe('configDifferences names exactly the fields that differ', () => {
  const cases: Array<[string, RenderedService, ContainerInfo, DiffContext, string[]]> = [
    // negatives: nothing differs, whatever compose's escapes and generated mounts
    ['v2: $$ values, secrets, configs and an image VOLUME agree', declaredV2, observed, v2, []],
    ['v1: the same service as v1 renders it (no configs mounted)', declaredV1, observedV1, v1, []],
    [
      'a $$ command that did not change is not listed (string form, v1)',
      { ...declaredV1, command: 'sh -c "echo $$HOME; sleep 9"' },
      observedV1,
      v1,
      [],
    ],
    ['the same in single quotes', { ...declaredV1, command: "sh -c 'echo $$HOME; sleep 9'" }, observedV1, v1, []],
    [
      'a string command whose quotes do not close is compared as one word (listed)',
      { ...declaredV1, command: 'sh -c "echo' },
      observedV1,
      v1,
      ['command'],
    ],
    [
      '$$$$ is a literal $$',
      { ...declaredV2, environment: { A: 'x$$y', B: 'one', C: '$$$$' } },
      { ...observed, env: [...observed.env, 'C=$$'] },
      v2,
      [],
    ],
    // compose re-escapes an interpolated value (XV='a$b$$c' renders `a$$b$$$$c`; the container gets a$b$$c)
    [
      'an interpolated value holding $ and $$',
      { ...declaredV2, environment: { A: 'x$$y', B: 'a$$b$$$$c' } },
      { ...observed, env: ['A=x$y', 'B=a$b$$c'] },
      v2,
      [],
    ],
    [
      'a healthcheck string with $$ is CMD-SHELL unescaped',
      { ...declaredV2, healthcheck: { test: 'test -n $$HOME' } },
      observed,
      v2,
      [],
    ],
    // positives: exactly the changed field
    [
      'a changed $$ command is listed once',
      { ...declaredV2, command: ['sh', '-c', 'echo $$PATH; sleep 9'] },
      observed,
      v2,
      ['command'],
    ],
    [
      'an escaped value that really changed',
      { ...declaredV2, environment: { A: 'x$$z', B: 'one' } },
      observed,
      v2,
      [`environment A (${fingerprint('x$y')} → ${fingerprint('x$z')})`],
    ],
    [
      'only one environment value',
      { ...declaredV2, environment: { A: 'x$$y', B: 'two' } },
      observed,
      v2,
      [`environment B (${fingerprint('one')} → ${fingerprint('two')})`],
    ],
    [
      'an escaped label that changed',
      { ...declaredV2, labels: { l1: 'a$$c' } },
      observed,
      v2,
      [`label l1 (${fingerprint('a$b')} → ${fingerprint('a$c')})`],
    ],
    [
      'an escaped healthcheck that changed',
      { ...declaredV2, healthcheck: { test: ['CMD-SHELL', 'test -n $$PATH'] } },
      observed,
      v2,
      ['healthcheck'],
    ],
    [
      'an escaped entrypoint that changed',
      { ...declaredV2, entrypoint: ['/bin/sh', '-c', 'exec "$$0"', '--'] },
      observed,
      v2,
      ['entrypoint'],
    ],
    // mounts
    [
      'a secret removed from the file is a removed mount',
      {
        ...declaredV2,
        secrets: [
          { source: 'pw', target: '/run/secrets/pw' },
          { source: 'pw', target: 'relpw' },
        ],
      },
      observed,
      v2,
      ['volumes (-/other/pw2)'],
    ],
    [
      'a secret added (v1 rendering, default target)',
      { ...declaredV1, secrets: [...(declaredV1.secrets as unknown[]), { source: 'token' }] },
      observedV1,
      v1,
      ['volumes (+/run/secrets/token)'],
    ],
    [
      'a config added on v2',
      { ...declaredV2, configs: [...(declaredV2.configs as unknown[]), { source: 'more' }] },
      observed,
      v2,
      ['volumes (+/more)'],
    ],
    [
      'a config on v1 mounts nothing: not an added mount',
      { ...declaredV1, configs: [...(declaredV1.configs as unknown[]), { source: 'more' }] },
      observedV1,
      v1,
      [],
    ],
    [
      'a compose anonymous volume removed from the file is a removed mount',
      { ...declaredV2, volumes: [{ type: 'volume', source: 'named', target: '/srv/named' }] },
      observed,
      v2,
      ['volumes (-/anon)'],
    ],
    [
      'a named volume removed from the file is a removed mount',
      { ...declaredV1, volumes: ['/anon'] },
      observedV1,
      v1,
      ['volumes (-/srv/named)'],
    ],
    [
      'the image VOLUME, when the image volumes were not read, shows (nothing hidden without evidence)',
      declaredV2,
      observed,
      { configsMounted: true },
      ['volumes (-/data)'],
    ],
    [
      'a declared anonymous volume at an image VOLUME path stays declared',
      { ...declaredV2, volumes: [...(declaredV2.volumes as unknown[]), '/data'] },
      observed,
      v2,
      [],
    ],
    [
      'a named volume at an image VOLUME path removed from the file is a removed mount',
      { ...declaredV2 },
      { ...observed, mounts: observed.mounts.map((m) => (m.destination === '/data' ? { ...m, name: 'p_pgdata' } : m)) },
      v2,
      ['volumes (-/data)'],
    ],
    // image
    [
      'an image tag change names the image',
      { ...declaredV2, image: 'stateguard/busybox:1.1.0' },
      observed,
      v2,
      [`image (${IMG} → stateguard/busybox:1.1.0)`],
    ],
    ['the same image written another way is no change', { ...declaredV2, image: `docker.io/${IMG}` }, observed, v2, []],
    [
      'image and one environment value',
      { ...declaredV2, image: 'stateguard/busybox:1.1.0', environment: { A: 'x$$y', B: 'two' } },
      observed,
      v2,
      [`image (${IMG} → stateguard/busybox:1.1.0)`, `environment B (${fingerprint('one')} → ${fingerprint('two')})`],
    ],
  ];
  it.each(cases)('%s', (_label, svc, c, ctx, expected) => {
    expect(configDifferences(svc, c, ctx)).toEqual(expected);
  });
});

describe('the plan passes what the field list needs', () => {
  afterAll(() => cleanupTempRepos());
  const hashDrift = (flavor: 'v1' | 'v2', imageVolumes?: Record<string, string[] | null>) =>
    computeDrift({ name: 's', expectedState: 'running' }, [{ ...observedV1, configHash: 'old' }], {
      image: IMG,
      configHash: 'new',
      imageId: 'sha256:img',
      service: flavor === 'v1' ? declaredV1 : { ...declaredV2, configs: [] },
      composeFlavor: flavor,
      imageVolumes,
    }).find((d) => d.key === 'container.config')!.fields;

  it("computeDrift: the image volumes of the container's own image ID, and v1 mounts no configs", () => {
    expect(hashDrift('v1', { 'sha256:img': ['/data'] })).toEqual([]);
    expect(hashDrift('v1', { 'sha256:other': ['/data'] })).toEqual(['volumes (-/data)']);
    expect(hashDrift('v2', { 'sha256:img': ['/data'] })).toEqual([]);
  });

  it('planModules reads image volumes (once) only for drifted containers with an unnamed volume', async () => {
    const root = tempRepo({
      'compose.yaml': 'services:\n  s:\n    image: stateguard/busybox:1.0.0\n',
      'modules/s/module.yaml': moduleYaml(
        's',
        '  class: stateless\n  compose: { file: ../../compose.yaml, project: p, service: s }\n',
      ),
    });
    const { loaded, problems } = await validateModules(root, 'modules/*/module.yaml', root, fileRenderer);
    expect(problems).toEqual([]);
    const rt = new FakeRuntime();
    rt.flavor = 'v2';
    rt.composeVersion = '2.26.1';
    rt.images[IMG] = 'sha256:img';
    rt.imageVolumeMap['sha256:img'] = ['/data'];
    rt.projects.p = { services: { s: { ...declaredV2, environment: { A: 'x$$y', B: 'two' } } }, hashes: { s: 'new' } };
    rt.containers.push({ ...observed, configHash: 'new' });
    const inSync = await planModules(loaded.modules, rt);
    expect(inSync.modules[0]!.drift).toEqual([]);
    expect(rt.callsTo('imageVolumes')).toEqual([]);
    rt.containers[0] = { ...observed, configHash: 'old' };
    const drifted = await planModules(loaded.modules, rt);
    expect(drifted.modules[0]!.drift.find((d) => d.key === 'container.config')!.fields).toEqual([
      `environment B (${fingerprint('one')} → ${fingerprint('two')})`,
    ]);
    expect(rt.callsTo('imageVolumes')).toEqual([{ method: 'imageVolumes', args: [['sha256:img']] }]);
  });
});

describe('DockerCli.imageVolumes', () => {
  it('one image inspect: the VOLUME paths by image ID or tag, [] for none, null for an absent image', async () => {
    const s = scripted([
      [
        /^docker image inspect/,
        {
          code: 1,
          stdout: JSON.stringify([
            { Id: 'sha256:v', RepoTags: ['pg:16'], Config: { Volumes: { '/var/lib/postgresql/data': {}, '/b': {} } } },
            { Id: 'sha256:n', RepoTags: [], Config: { Volumes: null } },
          ]),
          stderr: 'Error: No such image: gone:1',
        },
      ],
    ]);
    const got = await new DockerCli({ runner: s.runner, compose: 'v2', env: {} }).imageVolumes([
      'docker.io/library/pg:16',
      'sha256:n',
      'gone:1',
    ]);
    expect(got).toEqual({
      'docker.io/library/pg:16': ['/b', '/var/lib/postgresql/data'],
      'sha256:n': [],
      'gone:1': null,
    });
    expect(s.calls).toHaveLength(1);
  });

  it('an engine failure is an EnvironmentError, never "no volumes"', async () => {
    const s = scripted([
      [/^docker image inspect/, { code: 1, stdout: '', stderr: 'Cannot connect to the Docker daemon' }],
    ]);
    await expect(
      new DockerCli({ runner: s.runner, compose: 'v2', env: {} }).imageVolumes(['sha256:x']),
    ).rejects.toBeInstanceOf(EnvironmentError);
  });
});
