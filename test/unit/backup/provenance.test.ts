/**
 * Provenance (docs/architecture.md §16): the manifest every archive starts with, cross-checked by
 * verify-backup against the file name, the module's declaration and what the walk saw; and the
 * shrink hold against the newest earlier backup beside it. Real files, no engine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { verifyBackup } from '../../../src/backup/verify.js';
import { MAX_MANIFEST_BYTES, serializeManifest } from '../../../src/backup/manifest.js';
import type { BackupProblemCode } from '../../../src/backup/types.js';
import { dir, file, gz, moduleDecl, tar } from '../../support/archives.js';
import { manifestFor, manifestMember, withManifest } from '../../support/manifests.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const STAMP = '20260310T110000Z';
const EARLIER = '20260309T110000Z';
const STORE = moduleDecl('store', { refModules: ['store'], maxAgeHours: 48 }, [
  { volume: 'store-data', path: '/data' },
]);
const DATA = gz(tar(dir('store-data/'), file('store-data/a', 'hello\n'), file('store-data/b', 'x'.repeat(1000))));
const META = { module: 'store', stamp: STAMP };

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function verify(
  files: Record<string, Buffer>,
  name = `store-${STAMP}.tar.gz`,
  opts: { allowLegacyArchive?: boolean; maxShrinkPercent?: number; allowShrink?: boolean } = {},
) {
  const root = mkdtempSync(path.join(tmpdir(), 'sg-prov-'));
  dirs.push(root);
  for (const [n, c] of Object.entries(files)) writeFileSync(path.join(root, n), c);
  return verifyBackup({
    backupRef: path.join(root, name),
    cwd: root,
    module: STORE,
    modules: [STORE],
    backupRoots: [root],
    now: NOW,
    maxUncompressedBytes: 1e9,
    maxEntries: 1e6,
    ...opts,
  });
}

const codes = (r: { problems: { code: BackupProblemCode }[] }): BackupProblemCode[] =>
  [...new Set(r.problems.map((p) => p.code))].sort();

/** A manifest member with a hand-written body (for bodies serializeManifest would never write). */
function rawManifest(body: string | Buffer): Buffer {
  return manifestMember(Buffer.isBuffer(body) ? body : Buffer.from(body));
}

describe('verify-backup cross-checks the manifest (one failure reason each)', () => {
  const canonical = serializeManifest(manifestFor(DATA, META)).toString('utf8');
  const cases: Array<[string, Buffer, BackupProblemCode]> = [
    ['an archive without a manifest', DATA, 'no-manifest'],
    [
      'a renamed backup (the manifest has another stamp)',
      withManifest(DATA, { ...META, stamp: EARLIER }),
      'manifest-mismatch',
    ],
    ['a safety copy renamed as a backup', withManifest(DATA, { ...META, kind: 'pre-restore' }), 'manifest-mismatch'],
    [
      'another module’s archive renamed',
      withManifest(DATA, { ...META, module: 'other', service: 'store' }),
      'manifest-wrong-module',
    ],
    [
      "another project's backup of the same module",
      withManifest(DATA, { ...META, project: 'elsewhere' }),
      'manifest-wrong-project',
    ],
    ['another service', withManifest(DATA, { ...META, service: 'store2' }), 'manifest-wrong-project'],
    [
      'a Swarm stack’s backup for a compose module',
      withManifest(DATA, { ...META, runtime: 'swarm' }),
      'manifest-wrong-project',
    ],
    [
      'volumes other than the declared ones',
      withManifest(DATA, {
        ...META,
        volumes: [
          { name: 'store-data', path: '/data', entries: 3, bytes: 1006 },
          { name: 'logs', path: '/logs', entries: 0, bytes: 0 },
        ],
      }),
      'manifest-volumes',
    ],
    [
      'an entry appended after writing',
      Buffer.concat([
        manifestMember(manifestFor(DATA, META)),
        gz(
          tar(
            dir('store-data/'),
            file('store-data/a', 'hello\n'),
            file('store-data/b', 'x'.repeat(1000)),
            file('store-data/added', 'evil'),
          ),
        ),
      ]),
      'manifest-counts',
    ],
    [
      'a file grown after writing',
      Buffer.concat([
        manifestMember(manifestFor(DATA, META)),
        gz(tar(dir('store-data/'), file('store-data/a', 'hello, more\n'), file('store-data/b', 'x'.repeat(1000)))),
      ]),
      'manifest-counts',
    ],
    [
      'a repeated key (JSON readers disagree on which wins)',
      Buffer.concat([
        rawManifest(canonical.replace('"module": "store",', '"module": "store",\n  "module": "store",')),
        DATA,
      ]),
      'manifest-invalid',
    ],
    [
      'an unknown key',
      Buffer.concat([rawManifest(canonical.replace('"format": 1,', '"format": 1,\n  "extra": true,')), DATA]),
      'manifest-invalid',
    ],
    ['other spacing', Buffer.concat([rawManifest(JSON.stringify(JSON.parse(canonical))), DATA]), 'manifest-invalid'],
    [
      'a later format',
      Buffer.concat([rawManifest(canonical.replace('"format": 1,', '"format": 2,')), DATA]),
      'manifest-invalid',
    ],
    ['not JSON', Buffer.concat([rawManifest('{ not json'), DATA]), 'manifest-invalid'],
    [
      'a count that is not a whole number',
      Buffer.concat([rawManifest(canonical.replace('"entries": 3', '"entries": 2.5')), DATA]),
      'manifest-invalid',
    ],
    [
      'larger than the cap',
      Buffer.concat([rawManifest(Buffer.alloc(MAX_MANIFEST_BYTES + 10, 0x20)), DATA]),
      'manifest-invalid',
    ],
    ['not valid UTF-8', Buffer.concat([rawManifest(Buffer.from([0x7b, 0xff, 0x7d])), DATA]), 'manifest-invalid'],
    [
      'the manifest not first',
      gz(tar(dir('store-data/'), file('.stateguard/manifest.json', canonical), file('store-data/a', 'hello\n'))),
      'manifest-invalid',
    ],
    [
      'a second entry under .stateguard',
      Buffer.concat([
        manifestMember(manifestFor(DATA, META)),
        gz(
          tar(
            file('.stateguard/other', 'x'),
            dir('store-data/'),
            file('store-data/a', 'hello\n'),
            file('store-data/b', 'x'.repeat(1000)),
          ),
        ),
      ]),
      'manifest-invalid',
    ],
    [
      'a case variant of .stateguard',
      Buffer.concat([
        manifestMember(manifestFor(DATA, META)),
        gz(
          tar(
            file('.StateGuard/manifest.json', 'x'),
            dir('store-data/'),
            file('store-data/a', 'hello\n'),
            file('store-data/b', 'x'.repeat(1000)),
          ),
        ),
      ]),
      'manifest-invalid',
    ],
  ];
  it.each(cases.map(([label, archive, code]) => ({ label, archive, code })))(
    '$label → refused ($code)',
    async ({ archive, code }) => {
      const r = await verify({ [`store-${STAMP}.tar.gz`]: archive });
      expect(r.verified).toBe(false);
      expect(codes(r)).toEqual([code]);
      expect(r.problems.find((p) => p.code === code)?.message).not.toMatch(/\n/);
    },
  );

  it('the archive snapshot would write verifies, and the report carries the manifest', async () => {
    const r = await verify({ [`store-${STAMP}.tar.gz`]: withManifest(DATA, META) });
    expect(r.problems).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.manifest).toMatchObject({
      module: 'store',
      project: 'p',
      stamp: STAMP,
      volumes: [{ name: 'store-data', entries: 3, bytes: 1006 }],
    });
  });

  it('without a manifest: refused; with allow-legacy-archive: verified, and a warning names what was not checked', async () => {
    const refused = await verify({ [`store-${STAMP}.tar.gz`]: DATA });
    expect(refused.problems[0]?.message).toMatch(/--allow-legacy-archive/);
    const r = await verify({ [`store-${STAMP}.tar.gz`]: DATA }, undefined, { allowLegacyArchive: true });
    expect(r.verified).toBe(true);
    expect(r.manifest).toBeNull();
    expect(r.warnings).toEqual([
      expect.objectContaining({
        code: 'legacy-archive',
        message: expect.stringMatching(/NOT checked: its module, project/),
      }),
    ]);
  });

  it('allow-legacy-archive does not excuse a manifest that is there and wrong', async () => {
    const r = await verify({ [`store-${STAMP}.tar.gz`]: withManifest(DATA, { ...META, stamp: EARLIER }) }, undefined, {
      allowLegacyArchive: true,
    });
    expect(codes(r)).toEqual(['manifest-mismatch']);
  });
});

describe('the shrink hold (against the newest earlier backup beside it)', () => {
  const big = (n: number): Buffer =>
    gz(tar(dir('store-data/'), ...Array.from({ length: n }, (_, i) => file(`store-data/f${i}`, 'y'.repeat(100)))));
  const prev = (data: Buffer, stamp = EARLIER): Record<string, Buffer> => ({
    [`store-${stamp}.tar.gz`]: withManifest(data, { module: 'store', stamp }),
  });
  const current = (data: Buffer): Record<string, Buffer> => ({ [`store-${STAMP}.tar.gz`]: withManifest(data, META) });

  it('95% smaller than the previous backup: held (backup-shrank), both figures in the message', async () => {
    const r = await verify({ ...prev(big(100)), ...current(big(5)) });
    expect(codes(r)).toEqual(['backup-shrank']);
    expect(r.problems[0]!.message).toMatch(
      /10000 → 500 bytes \(-95\.0%\) and 101 → 6 entries \(-94\.1%\) against store-20260309T110000Z\.tar\.gz/,
    );
    expect(r.problems[0]!.message).toMatch(/--allow-shrink/);
    expect(r.shrink_against).toEqual({ file: `store-${EARLIER}.tar.gz`, bytes: 10000, entries: 101 });
  });

  it('with allow-shrink: verified, with a warning saying it shrank', async () => {
    const r = await verify({ ...prev(big(100)), ...current(big(5)) }, undefined, { allowShrink: true });
    expect(r.verified).toBe(true);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'shrink-allowed' })]);
  });

  it.each([
    ['within the default 50%', big(100), big(60), {}, true],
    ['past a raised limit', big(100), big(5), { maxShrinkPercent: 96 }, true],
    ['past a lowered limit', big(100), big(80), { maxShrinkPercent: 10 }, false],
    ['growth', big(5), big(100), {}, true],
  ] as const)('%s', async (_label, before, after, opts, ok) => {
    const r = await verify({ ...prev(before), ...current(after) }, undefined, opts);
    expect(r.verified).toBe(ok);
  });

  it('compares with the newest earlier backup, not an older or a later one, nor another module’s', async () => {
    const r = await verify({
      ...prev(big(100), '20260301T000000Z'),
      ...prev(big(6), EARLIER),
      ...prev(big(100), '20260310T115000Z'),
      'other-20260310T100000Z.tar.gz': withManifest(big(100), { module: 'other', stamp: '20260310T100000Z' }),
      ...current(big(5)),
    });
    expect(r.verified).toBe(true);
    expect(r.shrink_against?.file).toBe(`store-${EARLIER}.tar.gz`);
  });

  it('an earlier archive without a readable manifest is passed over for the one before it', async () => {
    const r = await verify({
      ...prev(big(100), '20260301T000000Z'),
      [`store-${EARLIER}.tar.gz`]: big(5),
      ...current(big(5)),
    });
    expect(codes(r)).toEqual(['backup-shrank']);
    expect(r.shrink_against?.file).toBe('store-20260301T000000Z.tar.gz');
  });

  it('no earlier backup: nothing to compare, verified', async () => {
    const r = await verify(current(big(1)));
    expect(r).toMatchObject({ verified: true, shrink_against: null });
  });

  it('the previous manifest is read from the start of the file only (a truncated tail does not matter)', async () => {
    const whole = withManifest(big(100), { module: 'store', stamp: EARLIER });
    const cut = whole.subarray(0, whole.length - 200);
    const r = await verify({ [`store-${EARLIER}.tar.gz`]: cut, ...current(big(5)) });
    expect(codes(r)).toEqual(['backup-shrank']);
  });
});

describe('verify-backup (action): failure reasons a workflow can branch on', () => {
  const older = (): Buffer =>
    withManifest(
      gz(tar(dir('store-data/'), ...Array.from({ length: 50 }, (_, i) => file(`store-data/f${i}`, 'z'.repeat(100))))),
      {
        module: 'store',
        stamp: EARLIER,
        project: 'platform',
      },
    );
  it.each([
    ['no-manifest', { [`store-${STAMP}.tar.gz`]: gz(tar(dir('store-data/'), file('store-data/a', 'x'))) }],
    [
      'backup-shrank',
      {
        [`store-${EARLIER}.tar.gz`]: older(),
        [`store-${STAMP}.tar.gz`]: withManifest(gz(tar(dir('store-data/'), file('store-data/a', 'x'))), {
          ...META,
          project: 'platform',
        }),
      },
    ],
    ['backup-rejected', { [`store-${STAMP}.tar.gz`]: zlib.gzipSync(Buffer.from('not a tar')) }],
  ] as const)('%s', async (reason, files) => {
    const { actionRun } = await import('../../support/commands.js');
    const { FakeRuntime } = await import('../../support/fake-runtime.js');
    const { REPO } = await import('../../support/runner.js');
    const root = mkdtempSync(path.join(tmpdir(), 'sg-prov-cli-'));
    dirs.push(root);
    for (const [n, c] of Object.entries(files)) writeFileSync(path.join(root, n), c);
    const r = await actionRun(
      'verify-backup',
      {
        root: path.join(REPO, 'examples/platform'),
        module: 'store',
        'backup-ref': path.join(root, `store-${STAMP}.tar.gz`),
        'backup-root': root,
      },
      new FakeRuntime(),
      { cwd: root, now: () => NOW },
    );
    expect(r.outputs).toMatchObject({ verified: 'false', 'failure-reason': reason });
  });
});

describe('the guard sees a provenance refusal as a failed verification (and passes the flags on)', () => {
  const stamp = (): string => {
    const d = new Date(Date.now() - 60_000);
    return d
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/[-:]/g, '');
  };
  const rows = (n: number): Buffer =>
    gz(tar(dir('store-data/'), ...Array.from({ length: n }, (_, i) => file(`store-data/r${i}`, 'r'.repeat(100)))));
  const platform = { project: 'platform', service: 'store' };

  async function guard(files: Record<string, Buffer>, name: string, extra: Record<string, string> = {}) {
    const { actionRun } = await import('../../support/commands.js');
    const { examplePlatform } = await import('../../support/fake-runtime.js');
    const { REPO } = await import('../../support/runner.js');
    const root = mkdtempSync(path.join(tmpdir(), 'sg-prov-guard-'));
    dirs.push(root);
    for (const [n, c] of Object.entries(files)) writeFileSync(path.join(root, n), c);
    return actionRun(
      'guard',
      {
        root: path.join(REPO, 'examples/platform'),
        module: 'store-init',
        'allow-stateful': 'true',
        confirm: 'BACKUP_DONE',
        'backup-ref': path.join(root, name),
        'backup-root': root,
        ...extra,
      },
      examplePlatform(),
    );
  }

  it('a legacy archive: blocked (backup-rejected); with allow-legacy-archive: allowed', async () => {
    const s = stamp();
    const files = { [`store-${s}.tar.gz`]: rows(3) };
    expect((await guard(files, `store-${s}.tar.gz`)).outputs).toMatchObject({
      decision: 'blocked',
      'failure-reason': 'backup-rejected',
    });
    const allowed = await guard(files, `store-${s}.tar.gz`, { 'allow-legacy-archive': 'true' });
    expect(allowed.outputs).toMatchObject({ decision: 'allowed' });
    // accepted without a manifest: said loudly in the job log, not only in the JSON
    expect(allowed.logs.filter((l) => /NOT checked/.test(l)).length).toBeGreaterThan(0);
  });

  it('a backup that shrank: blocked (backup-rejected); with allow-shrink: allowed', async () => {
    const s = stamp();
    const files = {
      'store-20200101T000000Z.tar.gz': withManifest(rows(100), {
        module: 'store',
        stamp: '20200101T000000Z',
        ...platform,
      }),
      [`store-${s}.tar.gz`]: withManifest(rows(2), { module: 'store', stamp: s, ...platform }),
    };
    expect((await guard(files, `store-${s}.tar.gz`)).outputs).toMatchObject({
      decision: 'blocked',
      'failure-reason': 'backup-rejected',
    });
    const allowed = await guard(files, `store-${s}.tar.gz`, { 'allow-shrink': 'true' });
    expect(allowed.outputs).toMatchObject({ decision: 'allowed' });
    expect(allowed.logs.filter((l) => /the backup shrank/.test(l)).length).toBeGreaterThan(0);
  });

  it('max-shrink-percent outside 0..100 is an input error naming the input', async () => {
    const s = stamp();
    const r = await guard({ [`store-${s}.tar.gz`]: rows(1) }, `store-${s}.tar.gz`, { 'max-shrink-percent': '150' });
    expect(r.outputs['failure-reason']).toBe('invalid-input');
    expect(r.code).toBe(3);
  });
});
