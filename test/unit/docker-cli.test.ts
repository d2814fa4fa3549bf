/**
 * The DockerCli adapter without an engine: argument building for compose v1 and v2, parsing of
 * `docker inspect`, `config --hash` and rendered config, and error mapping — through a scripted
 * runner that records every argument array.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { EnvironmentError, PathNotFoundError, UserError } from '../../src/errors.js';
import {
  DockerCli,
  describeEngine,
  normalizeImageRef,
  parseConfigHashes,
  parseInspect,
  parseRenderedConfig,
  parseRunRecord,
  runRecordKey,
  runRecordLabels,
} from '../../src/runtime/docker-cli.js';
import { ok, scripted, type Reply } from '../support/scripted-runner.js';

describe('DockerCli.composeArgs', () => {
  const target = { project: 'platform', files: ['/repo/compose/core/compose.yaml', '/repo/override.yaml'] };
  it.each([
    [
      'v1',
      ['config'],
      [
        'docker-compose',
        ['-f', '/repo/compose/core/compose.yaml', '-f', '/repo/override.yaml', '-p', 'platform', 'config'],
      ],
    ],
    [
      'v2',
      ['config'],
      [
        'docker',
        ['compose', '-f', '/repo/compose/core/compose.yaml', '-f', '/repo/override.yaml', '-p', 'platform', 'config'],
      ],
    ],
    [
      'v1',
      ['config', '--hash', '*'],
      [
        'docker-compose',
        [
          '-f',
          '/repo/compose/core/compose.yaml',
          '-f',
          '/repo/override.yaml',
          '-p',
          'platform',
          'config',
          '--hash',
          '*',
        ],
      ],
    ],
    [
      'v2',
      ['up', '-d', '--no-deps', '--force-recreate', 'store-init'],
      [
        'docker',
        [
          'compose',
          '-f',
          '/repo/compose/core/compose.yaml',
          '-f',
          '/repo/override.yaml',
          '-p',
          'platform',
          'up',
          '-d',
          '--no-deps',
          '--force-recreate',
          'store-init',
        ],
      ],
    ],
  ] as const)('%s %j', (flavor, args, expected) => {
    expect(DockerCli.composeArgs(flavor, target, args)).toEqual(expected);
  });

  it('a hostile service or project name stays one argument (no shell)', () => {
    const [, args] = DockerCli.composeArgs('v2', { project: 'p; rm -rf /', files: ['/x y/compose.yaml'] }, [
      'up',
      '$(reboot)',
    ]);
    expect(args).toEqual(['compose', '-f', '/x y/compose.yaml', '-p', 'p; rm -rf /', 'up', '$(reboot)']);
  });
});

const INSPECT = JSON.stringify([
  {
    Id: 'c1full',
    Name: '/platform_store_1',
    Image: 'sha256:img1',
    Created: '2026-01-02T03:04:05Z',
    Config: {
      Image: 'stateguard/busybox:1.0.0',
      Env: ['STORE_ROOT_PASSWORD=s3cret', 'PATH=/bin'],
      Labels: {
        'com.docker.compose.project': 'platform',
        'com.docker.compose.service': 'store',
        'com.docker.compose.oneoff': 'False',
        'com.docker.compose.config-hash': 'abc123',
        'com.docker.compose.container-number': '1',
      },
    },
    State: {
      Status: 'running',
      ExitCode: 0,
      StartedAt: '2026-01-02T03:04:06Z',
      FinishedAt: '0001-01-01T00:00:00Z',
      Health: { Status: 'unhealthy' },
    },
    Mounts: [
      { Type: 'volume', Name: 'platform_store-data', Source: '/var/lib/docker/volumes/x', Destination: '/data' },
    ],
  },
  {
    Id: 'c2full',
    Name: '/platform-store-init-run-1a2b',
    Image: 'sha256:img1',
    Created: '2026-01-02T03:04:05Z',
    Config: {
      Image: 'stateguard/busybox:1.0.0',
      Labels: {
        'com.docker.compose.project': 'platform',
        'com.docker.compose.service': 'store-init',
        'com.docker.compose.oneoff': 'True',
      },
    },
    State: { Status: 'created', ExitCode: 0, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
  },
]);

describe('parsers (the same JSON from compose v1 and v2 engines)', () => {
  it('parseInspect decodes state, health, labels, one-off flag and never-started times', () => {
    const [a, b] = parseInspect(INSPECT);
    expect(a).toMatchObject({
      id: 'c1full',
      name: 'platform_store_1',
      imageRef: 'stateguard/busybox:1.0.0',
      imageId: 'sha256:img1',
      state: 'running',
      health: 'unhealthy',
      project: 'platform',
      service: 'store',
      oneoff: false,
      configHash: 'abc123',
      finishedAt: null,
      mounts: [{ type: 'volume', name: 'platform_store-data', destination: '/data' }],
    });
    expect(b).toMatchObject({
      oneoff: true,
      state: 'created',
      startedAt: null,
      health: null,
      configHash: undefined,
      env: [],
    });
  });

  it('parseInspect of a non-array (error text) is empty, not a crash', () => {
    expect(parseInspect('Error: No such object: x')).toEqual([]);
    expect(parseInspect('')).toEqual([]);
  });

  it('parseConfigHashes reads `service hash` lines and ignores warnings', () => {
    const text =
      'WARNING: The FOO variable is not set.\nstore 3b1f0c6a9d1e2f3a4b5c6d7e8f90123456789abcdef0123456789abcdef01\nstore-init  0123456789abcdef0123\n\n';
    expect(parseConfigHashes(text)).toEqual({
      store: '3b1f0c6a9d1e2f3a4b5c6d7e8f90123456789abcdef0123456789abcdef01',
      'store-init': '0123456789abcdef0123',
    });
  });

  it('parseRenderedConfig reads v1 and v2 renderings (v2 adds name:, networks, long syntax)', () => {
    const v1 =
      "services:\n  store:\n    image: stateguard/busybox:1.0.0\n    restart: unless-stopped\nversion: '3.7'\n";
    const v2 =
      'name: platform\nservices:\n  store:\n    image: stateguard/busybox:1.0.0\n    networks:\n      default: null\n    volumes:\n      - type: volume\n        source: store-data\n        target: /data\nnetworks:\n  default:\n    name: platform_default\n';
    expect(parseRenderedConfig(v1).store?.image).toBe('stateguard/busybox:1.0.0');
    expect(parseRenderedConfig(v2).store).toMatchObject({
      image: 'stateguard/busybox:1.0.0',
      volumes: [{ source: 'store-data', target: '/data' }],
    });
    expect(parseRenderedConfig('')).toEqual({});
  });

  it.each([
    ['busybox', 'busybox:latest'],
    ['docker.io/library/busybox:1', 'busybox:1'],
    ['docker.io/stateguard/busybox:1.0.0', 'stateguard/busybox:1.0.0'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    ['x@sha256:abc', 'x@sha256:abc'],
  ])('normalizeImageRef(%s) = %s', (ref, want) => expect(normalizeImageRef(ref)).toBe(want));
});

describe('DockerCli over a scripted runner', () => {
  // Each container's own stop timeout (compose's stop_grace_period) unless a caller names one: a
  // forced `-t 10` kills a data store that needs longer to shut down before its volume is copied.
  it.each([
    [undefined, ['docker', 'stop', 'c1', 'c2']],
    [10, ['docker', 'stop', '-t', '10', 'c1', 'c2']],
  ])('stop(timeout %s) runs %j', async (timeout, want) => {
    const s = scripted([
      [/^docker version/, ok('20.10.24\n')],
      [/^docker stop/, ok('c1\nc2\n')],
    ]);
    await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).stop(['c1', 'c2'], timeout);
    expect(s.calls.map((c) => [c.cmd, ...c.args]).filter((a) => a[1] === 'stop')).toEqual([want]);
  });

  it('listProjectContainers: one ps by the project label, one inspect of every ID', async () => {
    const s = scripted([
      [/^docker version/, ok('20.10.24\n')],
      [/^docker ps/, ok('c1full\nc2full\n')],
      [/^docker inspect/, ok(INSPECT)],
    ]);
    const rt = new DockerCli({ runner: s.runner, compose: 'v1', env: {} });
    const list = await rt.listProjectContainers('platform');
    expect(list.map((c) => c.id)).toEqual(['c1full', 'c2full']);
    expect(s.calls.map((c) => [c.cmd, ...c.args])).toEqual([
      ['docker', 'version', '--format', '{{.Server.Version}}'],
      ['docker', 'ps', '-a', '-q', '--no-trunc', '--filter', 'label=com.docker.compose.project=platform'],
      ['docker', 'inspect', '--type', 'container', 'c1full', 'c2full'],
    ]);
  });

  it('a container removed between ps and inspect is left out (inspect exit 1 with partial JSON)', async () => {
    const s = scripted([
      [/^docker version/, ok('20.10\n')],
      [/^docker ps/, ok('c1full\ngone\n')],
      [
        /^docker inspect/,
        {
          code: 1,
          stdout: INSPECT.replace(/,\s*\{\s*"Id":"c2full"[\s\S]*\}\]$/, ']'),
          stderr: 'Error: No such container: gone',
        },
      ],
    ]);
    const list = await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).listProjectContainers('platform');
    expect(list.map((c) => c.id)).toEqual(['c1full']);
  });

  it('unreachable engine: EnvironmentError naming DOCKER_HOST, and nothing else is run', async () => {
    const s = scripted([
      [
        /^docker version/,
        {
          code: 1,
          stdout: '',
          stderr: 'Cannot connect to the Docker daemon at unix:///nope.sock. Is the docker daemon running?\n',
        },
      ],
    ]);
    const rt = new DockerCli({ runner: s.runner, compose: 'v1', env: { DOCKER_HOST: 'unix:///nope.sock' } });
    const err = await rt.listProjectContainers('p').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(
      /Cannot reach the Docker engine via DOCKER_HOST=unix:\/\/\/nope\.sock: Cannot connect/,
    );
    expect(s.calls).toHaveLength(1);
  });

  it('names the docker context when DOCKER_HOST is unset', () => {
    expect(describeEngine({ DOCKER_CONTEXT: 'prod' })).toBe('docker context prod');
    expect(describeEngine({})).toMatch(/current docker context/);
  });

  it('an explicit env (DOCKER_HOST) reaches every child process', async () => {
    const s = scripted([
      [/^docker version/, ok('20.10\n')],
      [/^docker ps/, ok('')],
    ]);
    await new DockerCli({
      runner: s.runner,
      compose: 'v1',
      env: { DOCKER_HOST: 'tcp://10.0.0.5:2376' },
    }).listProjectContainers('p');
    expect(s.calls.every((c) => c.opts?.env?.DOCKER_HOST === 'tcp://10.0.0.5:2376')).toBe(true);
  });

  it('renderProject (v1): config + config --hash, parsed; a service of a profile not enabled is left out and named', async () => {
    const s = scripted([
      [/config --hash \*$/, ok('store aaaaaaaaaaaaaaaaaaaaaaaa\n')],
      [
        / config$/,
        ok(
          'services:\n  store:\n    image: stateguard/busybox:1.0.0\n  dbg:\n    image: x:1\n    profiles: [debug]\nvolumes:\n  data: {}\n',
        ),
      ],
    ]);
    const r = await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).renderProject({
      project: 'p',
      files: ['/r/c.yaml'],
    });
    expect(r).toEqual({
      services: { store: { image: 'stateguard/busybox:1.0.0' } },
      hashes: { store: 'aaaaaaaaaaaaaaaaaaaaaaaa' },
      volumes: ['data'],
      inactive: { dbg: ['debug'] },
    });
    expect(s.calls.map((c) => c.cmd)).toEqual(['docker-compose', 'docker-compose']);
    const on = scripted([
      [/config --hash \*$/, ok('')],
      [/ config$/, ok('services:\n  dbg:\n    image: x:1\n    profiles: [debug]\n')],
    ]);
    const r2 = await new DockerCli({
      runner: on.runner,
      compose: 'v1',
      env: { COMPOSE_PROFILES: 'a,debug' },
    }).renderProject({ project: 'p', files: ['/r/c.yaml'] });
    expect(Object.keys(r2.services)).toEqual(['dbg']);
  });

  it('renderProject (v2): the JSON model; the hashes are those of the rendered model (what up writes), not of the source file', async () => {
    const model = {
      name: 'p',
      services: { store: { image: 'stateguard/busybox:1.0.0', environment: { FROM_ENV_FILE: '1' } } },
      volumes: { data: { name: 'p_data' } },
    };
    const every = { ...model, services: { ...model.services, dbg: { image: 'x:1', profiles: ['debug'] } } };
    let written = '';
    const s = scripted([
      [/-f \/r\/c\.yaml -p p --profile \* config --format json$/, ok(JSON.stringify(every))],
      [/-f \/r\/c\.yaml -p p config --format json$/, ok(JSON.stringify(model))],
      [/rendered\.json -p p --project-directory \/r config --hash \*$/, ok('store bbbbbbbbbbbbbbbbbbbbbbbb\n')],
    ]);
    const runner = s.runner;
    const spy: typeof runner = async (cmd, args, opts) => {
      const f = args.indexOf('-f');
      if (args.includes('--hash')) written = readFileSync(args[f + 1]!, 'utf8');
      return runner(cmd, args, opts);
    };
    const r = await new DockerCli({ runner: spy, compose: 'v2', env: {} }).renderProject({
      project: 'p',
      files: ['/r/c.yaml'],
    });
    expect(r).toEqual({
      services: model.services,
      hashes: { store: 'bbbbbbbbbbbbbbbbbbbbbbbb' },
      volumes: ['data'],
      inactive: { dbg: ['debug'] },
    });
    expect(JSON.parse(written)).toEqual(model); // compose hashed exactly what it rendered
    expect(s.calls.some((c) => c.args.join(' ').endsWith('-f /r/c.yaml -p p config --hash *'))).toBe(false);
  });

  it('renderProject (v1): a failure shows the whole reason, errors before warnings, the command, and that v2 renders it', async () => {
    const stderr =
      "WARNING: The DB_LOCATION variable is not set. Defaulting to a blank string.\nERROR: The Compose file './c.yaml' is invalid because:\nservices.db.depends_on contains unsupported option: 'restart'\n";
    const s = scripted([
      [/^docker-compose .* config/, { code: 1, stdout: '', stderr }],
      [/^docker compose version/, ok('2.26.1\n')],
      [/^docker compose .* config --quiet$/, ok('')],
    ]);
    const err = (await new DockerCli({ runner: s.runner, compose: 'v1', env: {} })
      .renderProject({ project: 'p', files: ['/r/c.yaml'] })
      .catch((e: unknown) => e)) as UserError;
    expect(err.reason).toBe('compose-error');
    expect(err.message).toContain('`docker-compose -f /r/c.yaml -p p config` exited 1');
    expect(err.message).toMatch(
      /is invalid because:\n\s+services\.db\.depends_on contains unsupported option: 'restart'\n\s+WARNING: The DB_LOCATION/,
    );
    expect(err.message).toMatch(
      /compose v2 \(2\.26\.1, installed here\) does: run stateguard with STATEGUARD_COMPOSE=v2/,
    );
    // v2 refusing the file too: no such claim
    const both = scripted([
      [/config/, { code: 1, stdout: '', stderr }],
      [/^docker compose version/, ok('2.26.1\n')],
    ]);
    const e2 = (await new DockerCli({ runner: both.runner, compose: 'v1', env: {} })
      .renderProject({ project: 'p', files: ['/r/c.yaml'] })
      .catch((e: unknown) => e)) as UserError;
    expect(e2.message).not.toMatch(/v2/);
  });

  it('renderProject: compose refusing to render is a compose-error UserError with its message', async () => {
    const s = scripted([
      [
        /config/,
        {
          code: 1,
          stdout: '',
          stderr: 'ERROR: Missing mandatory value for "environment" option in service "x": FOO must be set\n',
        },
      ],
    ]);
    const err = await new DockerCli({ runner: s.runner, compose: 'v2', env: {} })
      .renderProject({ project: 'p', files: ['/r/c.yaml'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).reason).toBe('compose-error');
    expect((err as Error).message).toContain('FOO must be set');
  });

  it('composeFlavor: v2 when `docker compose` answers, else v1 (one probe process)', async () => {
    const v2 = scripted([[/^docker compose version/, ok('2.24.6\n')]]);
    expect(await new DockerCli({ runner: v2.runner, env: {} }).composeFlavor()).toBe('v2');
    const v1 = scripted([
      [/^docker compose version/, { code: 1, stdout: '', stderr: "docker: 'compose' is not a docker command." }],
    ]);
    const rt = new DockerCli({ runner: v1.runner, env: {} });
    expect(await rt.composeFlavor()).toBe('v1');
    expect(await rt.composeFlavor()).toBe('v1');
    expect(v1.calls).toHaveLength(1);
    const none = scripted([]);
    expect(await new DockerCli({ runner: none.runner, env: { STATEGUARD_COMPOSE: 'v2' } }).composeFlavor()).toBe('v2');
    expect(none.calls).toHaveLength(0);
  });

  it('neither compose installed: the first compose call is an EnvironmentError saying so', async () => {
    const none = scripted([]); // every command: exit 127, as spawn reports ENOENT
    const err = await new DockerCli({ runner: none.runner, env: {} })
      .renderProject({ project: 'p', files: ['/r/c.yaml'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(/Neither `docker compose` \(v2\) nor `docker-compose` \(v1\) is installed/);
  });

  it('imageIds: one image inspect; matches by normalised tag; absent refs map to null', async () => {
    const s = scripted([
      [
        /^docker image inspect/,
        {
          code: 1,
          stdout: JSON.stringify([
            { Id: 'sha256:b', RepoTags: ['stateguard/busybox:1.0.0'] },
            { Id: 'sha256:l', RepoTags: ['busybox:latest'] },
          ]),
          stderr: 'Error: No such image: gone:1',
        },
      ],
    ]);
    const ids = await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).imageIds([
      'docker.io/stateguard/busybox:1.0.0',
      'busybox',
      'gone:1',
      'busybox',
    ]);
    expect(ids).toEqual({ 'docker.io/stateguard/busybox:1.0.0': 'sha256:b', busybox: 'sha256:l', 'gone:1': null });
    expect(s.calls).toHaveLength(1);
  });

  it('imageIds: every ref absent is all null, not an error', async () => {
    const s = scripted([[/^docker image inspect/, { code: 1, stdout: '[]', stderr: 'Error: No such image: a:1' }]]);
    expect(await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).imageIds(['a:1'])).toEqual({
      'a:1': null,
    });
  });
});

describe('DockerCli: the lock, recreate without pull, run records, compose version', () => {
  const lockEngine = (createReplies: Array<[RegExp, Reply]>) =>
    scripted([
      ...createReplies,
      [/^docker image inspect x:1$/, ok(JSON.stringify([{ Id: 'sha256:mod', RepoTags: ['x:1'] }]))],
      [/^docker version/, ok('20.10\n')],
      [/^docker ps -a -q/, ok('c1\n')],
      [
        /^docker inspect --type container c1$/,
        ok(
          JSON.stringify([
            {
              Id: 'c1',
              Name: '/c1',
              Image: 'sha256:proj',
              Config: { Labels: { 'com.docker.compose.project': 'p' } },
              State: { Status: 'running' },
            },
          ]),
        ),
      ],
    ]);
  it('the lock container gets an explicit command: an image without CMD or ENTRYPOINT (docker import) can hold it', async () => {
    const s = lockEngine([[/^docker create /, ok('id\n')]]);
    expect(
      await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).createLock(
        'lock-x',
        { a: 'b' },
        { images: ['x:1'], project: 'p' },
      ),
    ).toBe(true);
    const args = s.calls.find((c) => c.args[0] === 'create')!.args;
    expect(args.slice(-2)).toEqual(['sha256:mod', 'stateguard-never-started']);
    expect(args).toEqual(expect.arrayContaining(['--name', 'lock-x', '--label', 'a=b', '--network', 'none']));
  });
  it('a taken name is false (locked), not an error; an image that cannot be created is skipped for the next', async () => {
    const taken = lockEngine([
      [/^docker create /, { code: 1, stdout: '', stderr: 'Conflict. The container name "/lock-x" is already in use' }],
    ]);
    expect(
      await new DockerCli({ runner: taken.runner, compose: 'v1', env: {} }).createLock(
        'lock-x',
        {},
        { images: ['x:1'], project: 'p' },
      ),
    ).toBe(false);
    const next = lockEngine([
      [
        /^docker create .* sha256:mod /,
        { code: 1, stdout: '', stderr: 'Error response from daemon: some image problem' },
      ],
      [/^docker create .* sha256:proj /, ok('id\n')],
    ]);
    expect(
      await new DockerCli({ runner: next.runner, compose: 'v1', env: {} }).createLock(
        'lock-x',
        {},
        { images: ['x:1'], project: 'p' },
      ),
    ).toBe(true);
    expect(next.calls.filter((c) => c.args[0] === 'create').map((c) => c.args.at(-2))).toEqual([
      'sha256:mod',
      'sha256:proj',
    ]);
  });

  it.each([
    ['v1', ['--no-build']],
    ['v2', ['--no-build', '--pull', 'never']],
  ] as const)('recreate on %s never pulls or builds', async (flavor, extra) => {
    const s = scripted([[/./, ok('')]]);
    await new DockerCli({ runner: s.runner, compose: flavor, env: {} }).recreateService(
      { project: 'p', files: ['/c.yaml'] },
      'init',
    );
    const args = s.calls.at(-1)!.args;
    expect(args.slice(args.indexOf('up'))).toEqual(['up', '-d', '--no-deps', '--force-recreate', ...extra, 'init']);
  });

  const REC = {
    project: 'p',
    service: 'init',
    container_id: 'c1',
    image_id: 'sha256:i',
    image_ref: 'x:1',
    config_hash: 'h',
    label_hash: 'l',
    recorded_at: '2026-11-29T10:00:00.000Z',
  };
  it('run records round-trip through volume labels; the newest per service wins; a partial or forged record is ignored', async () => {
    const labels = (r: typeof REC) => runRecordLabels(r);
    const volumes = [
      { Labels: labels(REC) },
      { Labels: labels({ ...REC, container_id: 'c0', recorded_at: '2026-11-28T10:00:00.000Z' }) },
      { Labels: { ...labels({ ...REC, service: 'other' }), 'io.stateguard.run-record.image-id': '' } },
      { Labels: { ...labels({ ...REC, service: 'forged' }), 'io.stateguard.run-record': 'not-the-key' } },
      { Labels: labels({ ...REC, project: 'elsewhere' }) },
    ];
    const s = scripted([
      [/^docker volume ls /, ok('a\nb\nc\nd\ne\n')],
      [/^docker volume inspect /, ok(JSON.stringify(volumes))],
    ]);
    const got = await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).readRunRecords('p');
    expect(got).toEqual([REC]);
    expect(s.calls[0]!.args).toEqual(['volume', 'ls', '-q', '--filter', 'label=io.stateguard.run-record.project=p']);
  });

  it('writing a record creates a new labelled volume, then removes only the older ones of that service', async () => {
    const s = scripted([
      [/^docker volume create /, ok('v\n')],
      [
        /^docker volume ls /,
        (args) =>
          ok(
            `${args.includes(`label=io.stateguard.run-record=${runRecordKey('p', 'init')}`) ? 'stateguard-run-old\n' : ''}stateguard-run-${runRecordKey('p', 'init')}-${Date.parse(REC.recorded_at)}\n`,
          ),
      ],
      [/^docker volume rm /, ok('')],
    ]);
    await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).writeRunRecord(REC);
    expect(s.calls.map((c) => c.args.slice(0, 2).join(' '))).toEqual(['volume create', 'volume ls', 'volume rm']);
    expect(s.calls[2]!.args).toEqual(['volume', 'rm', 'stateguard-run-old']);
    expect(parseRunRecord(runRecordLabels(REC))).toEqual(REC);
  });

  it.each([
    [
      'v2',
      [[/^docker compose version --short/, ok('2.26.1-4\n')]] as Array<[RegExp, Reply]>,
      { flavor: 'v2', version: '2.26.1-4' },
    ],
    [
      'v1',
      [
        [/^docker compose version/, { code: 1, stdout: '', stderr: "'compose' is not a docker command" }],
        [/^docker-compose version --short/, ok('1.29.2\n')],
      ] as Array<[RegExp, Reply]>,
      { flavor: 'v1', version: '1.29.2' },
    ],
  ])('composeInfo on %s names the flavor and its version', async (_f, replies, expected) => {
    expect(await new DockerCli({ runner: scripted(replies).runner, env: {} }).composeInfo()).toEqual(expected);
  });

  it('STATEGUARD_COMPOSE=v2 without the plugin is an error naming both ways out, not a silent v1', async () => {
    const s = scripted([[/^docker compose version/, { code: 1, stdout: '', stderr: 'unknown command' }]]);
    const err = await new DockerCli({ runner: s.runner, env: { STATEGUARD_COMPOSE: 'v2' } })
      .composeInfo()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(/STATEGUARD_COMPOSE=v2.*v1 or auto/);
  });
});

describe('DockerCli: the narrow engine operations that replaced the docker(argv) escape hatch', () => {
  it('removeFilesInContainer tries rm, then /bin/busybox rm, as root, with -- before the names', async () => {
    const s = scripted([
      [/^docker exec -u 0 c1 rm /, { code: 126, stdout: '', stderr: 'exec: "rm": executable file not found' }],
      [/^docker exec -u 0 c1 \/bin\/busybox rm /, ok('')],
    ]);
    expect(
      await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).removeFilesInContainer('c1', [
        '/data/-rf',
        '/tmp/x',
      ]),
    ).toBe(true);
    expect(s.calls.map((c) => c.args)).toEqual([
      ['exec', '-u', '0', 'c1', 'rm', '-f', '--', '/data/-rf', '/tmp/x'],
      ['exec', '-u', '0', 'c1', '/bin/busybox', 'rm', '-f', '--', '/data/-rf', '/tmp/x'],
    ]);
  });
  it('removeFilesInContainer: no remover in the image is false, not a throw', async () => {
    const s = scripted([[/^docker exec/, { code: 126, stdout: '', stderr: 'not found' }]]);
    expect(await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).removeFilesInContainer('c1', ['/x'])).toBe(
      false,
    );
  });
});

describe('DockerCli.renderProject names the image of a build-only service as compose does', () => {
  it.each([
    ['v1', 'My-Proj', 'my-proj', 'myproj_web'],
    ['v2', 'my-proj', 'my-proj', 'my-proj-web'],
  ] as const)('%s', async (flavor, _display, project, expected) => {
    const s = scripted([
      [/ config --hash/, ok('web ' + 'a'.repeat(64) + '\n')],
      [/ config$/, ok('services:\n  web:\n    build: .\n  db:\n    image: x:1\n')],
      [
        / config --format json$/,
        ok(JSON.stringify({ services: { web: { build: { context: '/' } }, db: { image: 'x:1' } } })),
      ],
    ]);
    const r = await new DockerCli({ runner: s.runner, compose: flavor, env: {} }).renderProject({
      project,
      files: ['/c.yaml'],
    });
    expect(r.services.web!.image).toBe(expected);
    expect(r.services.db!.image).toBe('x:1');
  });
});

describe('DockerCli: docker cp of a path that does not exist is a PathNotFoundError (the engine wording stays here)', () => {
  it.each([
    ['Error: No such container:path: abc:/data/x', true],
    ['Error: Could not find the file /data/x in container abc', true],
    ['Error: No such container: abc', false],
    ['Cannot connect to the Docker daemon', false],
  ])('%j -> PathNotFoundError %s', async (stderr, absent) => {
    const s = scripted([[/^docker cp /, { code: 1, stdout: '', stderr }]]);
    const rt = new DockerCli({ runner: s.runner, compose: 'v1', env: {} });
    const from = await rt.copyFrom('abc', '/data/x', new PassThrough()).catch((e: unknown) => e);
    const to = await rt.copyTo('abc', '/data', Buffer.alloc(0)).catch((e: unknown) => e);
    for (const err of [from, to]) {
      expect(err).toBeInstanceOf(EnvironmentError);
      expect(err instanceof PathNotFoundError).toBe(absent);
    }
  });
});

describe('DockerCli restore drill', () => {
  const key = 'abcdef0123456789abcdef01';
  it('runThrowaway: local image only, no network, drill label, no compose label; env only in a file gone afterwards', async () => {
    let envText = '';
    let envPath = '';
    const s = scripted([
      [
        /^docker run -d/,
        (args) => {
          envPath = args[args.indexOf('--env-file') + 1]!;
          envText = readFileSync(envPath, 'utf8');
          return ok('cid\n');
        },
      ],
    ]);
    const rt = new DockerCli({ runner: s.runner, compose: 'v1', env: {} });
    const id = await rt.runThrowaway({
      key,
      image: 'sha256:img',
      mounts: [{ source: `stateguard-drill-${key}-0`, destination: '/data' }],
      entrypoint: ['/bin/sh', '-e'],
      cmd: ['-c', 'sleep 1'],
      user: '1000',
      healthcheck: ['CMD', 'test', '-f', "/data/it's"],
      env: ['TOKEN=s3cret=x', 'A=b'],
    });
    expect(id).toBe('cid');
    const args = s.calls[0]!.args;
    expect(args).toEqual(
      expect.arrayContaining(['--pull', 'never', '--network', 'none', '--label', `io.stateguard.drill=${key}`]),
    );
    expect(args.join(' ')).not.toMatch(/com\.docker\.compose|s3cret/);
    expect(args).toContain(`type=volume,src=stateguard-drill-${key}-0,dst=/data`);
    expect(args.slice(args.indexOf('--entrypoint'))).toEqual([
      '--entrypoint',
      '/bin/sh',
      'sha256:img',
      '-e',
      '-c',
      'sleep 1',
    ]);
    expect(args[args.indexOf('--health-cmd') + 1]).toBe("'test' '-f' '/data/it'\\''s'");
    expect(envText).toBe('TOKEN=s3cret=x\nA=b\n');
    expect(existsSync(envPath)).toBe(false);
  });

  it('removeScratch removes containers, then volumes, by the drill label', async () => {
    const s = scripted([
      [/^docker ps -aq/, ok('c1\n')],
      [/^docker rm -f -v c1$/, ok('')],
      [/^docker volume ls -q/, ok(`stateguard-drill-${key}-0\n`)],
      [/^docker volume rm -f/, ok('')],
    ]);
    await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).removeScratch(key);
    expect(s.calls.map((c) => c.args.join(' '))).toEqual([
      `ps -aq --filter label=io.stateguard.drill=${key}`,
      'rm -f -v c1',
      `volume ls -q --filter label=io.stateguard.drill=${key}`,
      `volume rm -f stateguard-drill-${key}-0`,
    ]);
  });
});

describe('DockerCli: pinned-image retention (docs/architecture.md §13)', () => {
  const REPO_P = 'stateguard/pinned-0123456789abcdef01234567';
  it('listImageTags: exactly that repository, no <none>, deduplicated and sorted', async () => {
    const s = scripted([
      [
        /^docker image ls/,
        ok(
          `${REPO_P}:20260302000000\n${REPO_P}:20260301000000\n${REPO_P}-x:1\n${REPO_P}:<none>\n${REPO_P}:20260301000000\n`,
        ),
      ],
    ]);
    const tags = await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).listImageTags(REPO_P);
    expect(tags).toEqual([`${REPO_P}:20260301000000`, `${REPO_P}:20260302000000`]);
    expect(s.calls[0]!.args).toEqual([
      'image',
      'ls',
      '--filter',
      `reference=${REPO_P}`,
      '--format',
      '{{.Repository}}:{{.Tag}}',
    ]);
  });

  it('removeImageTag: `docker image rm <tag>`, never forced; an engine refusal throws', async () => {
    const s = scripted([[/^docker image rm/, ok('Untagged: x\n')]]);
    await new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).removeImageTag(`${REPO_P}:20260301000000`);
    expect(s.calls.map((c) => c.args)).toEqual([['image', 'rm', `${REPO_P}:20260301000000`]]);
    const refused = scripted([
      [
        /^docker image rm/,
        {
          code: 1,
          stdout: '',
          stderr:
            'Error response from daemon: conflict: unable to remove repository reference (must force) - container abc is using its referenced image\n',
        },
      ],
    ]);
    await expect(
      new DockerCli({ runner: refused.runner, compose: 'v1', env: {} }).removeImageTag(`${REPO_P}:1`),
    ).rejects.toThrow(/conflict/);
  });

  it.each([
    'sha256:' + 'a'.repeat(64),
    'a'.repeat(64),
    'busybox',
    `${REPO_P}@sha256:${'a'.repeat(64)}`,
    '-f',
    `${REPO_P}:1 --force`,
  ])(
    'removeImageTag refuses %j (an ID, a digest or no tag would remove an image, not a tag) and runs nothing',
    async (ref) => {
      const s = scripted([[/./, ok('')]]);
      await expect(new DockerCli({ runner: s.runner, compose: 'v1', env: {} }).removeImageTag(ref)).rejects.toThrow(
        /not a repository:tag/,
      );
      expect(s.calls).toEqual([]);
    },
  );
});
