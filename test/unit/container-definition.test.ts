/**
 * The compose adapter's exact-rollback pieces (docs/architecture.md §13), without an engine: the
 * definition read from `docker inspect`, the Engine API create request built from it, the helper's
 * volume listing, and the API version spoken.
 */
import { describe, expect, it } from '@jest/globals';
import { createRequest, definitionFromInspect, referencedContainers } from '../../src/runtime/container-definition.js';
import { parseMountListing } from '../../src/runtime/docker-cli.js';
import { apiMessage, pickApiVersion } from '../../src/runtime/engine-api.js';
import type { ContainerDefinition } from '../../src/runtime/types.js';

const ID = 'abcdef0123456789'.repeat(4);
const IMAGE_ID = `sha256:${'1'.repeat(64)}`;

function inspected(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Id: ID,
    Name: '/proj-app-1',
    Image: IMAGE_ID,
    Config: {
      Hostname: ID.slice(0, 12),
      Image: 'proj/app:1.0.0',
      Env: ['SECRET=x', 'A=1'],
      Cmd: ['run'],
      Labels: { 'com.docker.compose.config-hash': 'old' },
    },
    HostConfig: {
      NetworkMode: 'proj_default',
      Binds: ['proj_data:/data:rw'],
      Mounts: [{ Type: 'volume', Source: 'proj_cache', Target: '/cache' }],
    },
    NetworkSettings: {
      Networks: {
        proj_default: { Aliases: ['app', ID.slice(0, 12)], IPAMConfig: null, Links: null },
        proj_back: { Aliases: ['app-back'], IPAMConfig: { IPv4Address: '10.9.0.5' }, Links: null },
      },
    },
    Mounts: [
      { Type: 'volume', Name: 'proj_data', Destination: '/data', RW: true },
      { Type: 'volume', Name: 'proj_cache', Destination: '/cache', RW: true },
      { Type: 'volume', Name: 'f'.repeat(64), Destination: '/var/lib/anon', RW: false },
      { Type: 'bind', Source: '/srv', Destination: '/srv', RW: true },
    ],
    ...over,
  };
}

function definition(raw = inspected()): ContainerDefinition {
  const r = definitionFromInspect(raw);
  if ('problem' in r) throw new Error(r.problem);
  return r.definition;
}

describe('definitionFromInspect', () => {
  it("keeps Config and HostConfig as inspected, the networks without docker's short-ID alias, and only the volumes HostConfig does not name", () => {
    const d = definition();
    expect(d).toMatchObject({ id: ID, name: 'proj-app-1', image_id: IMAGE_ID });
    expect(d.config.Env).toEqual(['SECRET=x', 'A=1']);
    expect(d.networks).toEqual([
      { name: 'proj_default', aliases: ['app'], ipam: null, links: [], driver_opts: null },
      { name: 'proj_back', aliases: ['app-back'], ipam: { IPv4Address: '10.9.0.5' }, links: [], driver_opts: null },
    ]);
    expect(d.anonymous_volumes).toEqual([{ name: 'f'.repeat(64), destination: '/var/lib/anon', read_only: true }]);
  });

  it.each([
    ['no Config', { Config: undefined }],
    ['no HostConfig', { HostConfig: null }],
    ['an image that is not an ID', { Image: 'proj/app:1.0.0' }],
    ['an unnamed volume', { Mounts: [{ Type: 'volume', Destination: '/x', RW: true }] }],
  ])('%s is a problem, never a guess', (_n, over) => {
    expect(definitionFromInspect(inspected(over))).toEqual({ problem: expect.any(String) });
  });

  it('names the containers a definition shares (container: modes, VolumesFrom)', () => {
    const d = definition(
      inspected({
        HostConfig: {
          NetworkMode: 'container:net1',
          PidMode: 'container:pid1',
          IpcMode: 'shareable',
          VolumesFrom: ['vols:ro'],
        },
      }),
    );
    expect(referencedContainers(d)).toEqual([
      { field: 'NetworkMode', container: 'net1' },
      { field: 'PidMode', container: 'pid1' },
      { field: 'VolumesFrom', container: 'vols' },
    ]);
  });
});

describe('createRequest', () => {
  it("creates from the image ID, drops docker's default hostname, re-attaches anonymous volumes, one network at create and the rest after", () => {
    const { body, connect } = createRequest(definition());
    expect(body.Image).toBe(IMAGE_ID);
    expect(body).not.toHaveProperty('Hostname');
    expect(body.Env).toEqual(['SECRET=x', 'A=1']);
    expect(body.Labels).toEqual({ 'com.docker.compose.config-hash': 'old' });
    expect((body.HostConfig as { Binds: string[] }).Binds).toEqual(['proj_data:/data:rw']);
    expect((body.HostConfig as { Mounts: unknown[] }).Mounts).toEqual([
      { Type: 'volume', Source: 'proj_cache', Target: '/cache' },
      { Type: 'volume', Source: 'f'.repeat(64), Target: '/var/lib/anon', ReadOnly: true },
    ]);
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { proj_default: { Aliases: ['app'] } } });
    expect(connect).toEqual([
      { network: 'proj_back', endpoint: { Aliases: ['app-back'], IPAMConfig: { IPv4Address: '10.9.0.5' } } },
    ]);
  });

  it('keeps a hostname the service set', () => {
    const raw = inspected();
    (raw.Config as Record<string, unknown>).Hostname = 'db-primary';
    expect(createRequest(definition(raw)).body.Hostname).toBe('db-primary');
  });

  it.each([['host'], ['none'], ['container:abc']])('NetworkMode %s: no endpoints, nothing connected', (mode) => {
    const raw = inspected({ HostConfig: { NetworkMode: mode } });
    const { body, connect } = createRequest(definition(raw));
    expect(body).not.toHaveProperty('NetworkingConfig');
    expect(connect).toEqual([]);
  });

  it('the default bridge is the network at create', () => {
    const raw = inspected({
      HostConfig: { NetworkMode: 'default' },
      NetworkSettings: { Networks: { other: {}, bridge: {} } },
    });
    const { body, connect } = createRequest(definition(raw));
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { bridge: {} } });
    expect(connect.map((c) => c.network)).toEqual(['other']);
  });
});

describe('parseMountListing', () => {
  const mounts = [
    { volume: 'a', kind: 'volume' as const, source: 'pa' },
    { volume: 'b', kind: 'bind' as const, source: '/srv/b' },
  ];
  it('reads types per mount, names with spaces and line breaks included', () => {
    const out = [
      'M',
      '/v/0',
      'D',
      './db',
      'F',
      './db/t',
      './odd\nname',
      'O',
      './link',
      'M',
      '/v/1',
      'D',
      'F',
      'O',
      '',
    ].join('\0');
    expect(parseMountListing(out, mounts)).toEqual([
      {
        volume: 'a',
        entries: [
          { path: 'db', type: 'directory' },
          { path: 'db/t', type: 'file' },
          { path: 'odd\nname', type: 'file' },
          { path: 'link', type: 'other' },
        ],
      },
      { volume: 'b', entries: [] },
    ]);
  });
  it.each([
    ['a mount missing', ['M', '/v/0', 'D', ''].join('\0')],
    ['a mount not asked for', ['M', '/v/7', 'D', ''].join('\0')],
    ['a stray token', ['M', '/v/0', 'D', 'db', 'M', '/v/1', ''].join('\0')],
  ])('%s is an error, never a short listing', (_n, out) => {
    expect(() => parseMountListing(out, mounts)).toThrow();
  });
});

describe('Engine API version', () => {
  it.each([
    ['1.41', '1.41'],
    ['1.43', '1.41'],
    ['1.40', '1.40'],
    ['1.29', null],
    ['garbage', null],
    ['', null],
  ])('server %s -> %s', (server, spoken) => expect(pickApiVersion(server)).toBe(spoken));

  it("reads the engine's message", () => {
    expect(apiMessage({ status: 409, text: '{"message":"Conflict. The container name is already in use"}' })).toMatch(
      /Conflict/,
    );
    expect(apiMessage({ status: 500, text: '' })).toBe('HTTP 500');
  });
});
