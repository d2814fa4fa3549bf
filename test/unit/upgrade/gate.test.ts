import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModuleDecl } from '../../../src/model/module.js';
import {
  DEFAULT_HOLD_MARKERS,
  RELEASE_NOTES_MAX_BYTES,
  classifyBump,
  preDeployGate,
  readReleaseNotesFile,
  type GateInput,
} from '../../../src/upgrade/gate.js';

describe('classifyBump: strict, never coerced', () => {
  const cases: Array<[string, string, string, RegExp?]> = [
    ['pg:16.1', 'pg:16.2', 'minor'],
    ['pg:16.1.0', 'pg:16.1.4', 'patch'],
    ['pg:16', 'pg:17', 'major'],
    ['pg:v1.2.3', 'pg:1.2.4', 'patch'],
    ['pg:1.2.3', 'pg:v2.0.0', 'major'],
    ['registry.local:5000/team/pg:1.2', 'registry.local:5000/team/pg:1.3', 'minor'],
    ['docker.io/library/postgres:16.1', 'postgres:16.2', 'minor'],
    ['pg:16.1-alpine', 'pg:16.2-alpine', 'minor'],
    ['pg:16.1-bookworm', 'pg:16.2-bookworm', 'minor'],
    ['pg:16.1-alpine', 'pg:16.2-bookworm', 'unknown', /suffixes differ/],
    ['pg:16.1-alpine', 'pg:16.2', 'unknown', /suffixes differ/],
    ['pg:1.2.3-rc.1', 'pg:1.2.3-rc.2', 'unknown', /suffixes differ/],
    ['pg:20240501', 'pg:20240601', 'unknown', /date or build number/],
    ['pg:2024.5.1', 'pg:2024.6.1', 'unknown', /date or build number/],
    ['pg:2024.05.01', 'pg:2024.06.01', 'unknown', /not a version/],
    ['minio:RELEASE.2024-05-01T10-00-00Z', 'minio:RELEASE.2024-06-01T10-00-00Z', 'unknown', /not a version/],
    ['pg:latest', 'pg:16.2', 'unknown', /latest/],
    ['pg', 'pg:16.2', 'unknown', /latest/],
    ['pg:16.1', 'pg@sha256:' + 'a'.repeat(64), 'unknown', /digest/],
    ['pg:16.1@sha256:' + 'a'.repeat(64), 'pg:16.2', 'unknown', /digest/],
    ['pg:16.1', 'mysql:16.2', 'unknown', /another repository/],
    ['pg:16.1', 'pg:16.1', 'unknown', /re-pointed/],
    ['pg:16.2', 'pg:16.1', 'major', /downgrade/],
    ['pg:16.2.5', 'pg:16.2.4', 'major', /downgrade/],
    ['pg:0.3.1', 'pg:0.4.0', 'major', /under 1\.0\.0/],
    ['pg:0.3.1', 'pg:0.3.2', 'patch'],
    ['pg:01.2', 'pg:1.3', 'unknown', /not a version/],
    ['pg:stable', 'pg:16', 'unknown', /not a version/],
  ];
  it.each(cases.map(([f, t, b, w]) => [f, t, b, w ?? null] as const))('%s → %s: %s', (from, to, bump, why) => {
    const got = classifyBump(from, to);
    expect(got.bump).toBe(bump);
    expect(got.why).not.toBe('');
    if (why) expect(got.why).toMatch(why);
  });
});

const ROOT = '/repo';
const TEMPLATE = '/repo/modules/db/notes/{version}.md';
const mod = (upgrade: ModuleDecl['upgrade'] | undefined): GateInput['module'] => ({ name: 'db', upgrade });
const withNotes = (markers: string[] = [...DEFAULT_HOLD_MARKERS]): ModuleDecl['upgrade'] => ({
  releaseNotes: TEMPLATE,
  holdMarkers: markers,
  healthTimeoutSeconds: 120,
  settleSeconds: 10,
});
const files =
  (map: Record<string, string>): GateInput['readFile'] =>
  (f) =>
    map[f] ?? null;

describe('preDeployGate', () => {
  interface Case {
    name: string;
    input: Partial<GateInput>;
    held: boolean;
    reason: '' | 'held-major' | 'held-manual-migration';
    flagged?: string[];
    message?: RegExp;
    notesPath?: string | null;
  }
  const base: GateInput = {
    module: mod(undefined),
    fromRef: 'pg:16.1',
    toRef: 'pg:16.2',
    allowMajor: false,
    readFile: () => {
      throw new Error('no notes declared: nothing may be read');
    },
    root: ROOT,
  };
  const notes162 = '/repo/modules/db/notes/16.2.md';
  const cases: Case[] = [
    { name: 'a minor bump without notes proceeds', input: {}, held: false, reason: '', notesPath: null },
    {
      name: 'a major bump is held',
      input: { toRef: 'pg:17.0' },
      held: true,
      reason: 'held-major',
      message: /; a major bump is held until it is reviewed and explicitly allowed\.$/,
    },
    { name: 'an unknown bump is held', input: { toRef: 'pg:latest' }, held: true, reason: 'held-major' },
    {
      name: 'a downgrade is held',
      input: { toRef: 'pg:16.0' },
      held: true,
      reason: 'held-major',
      message: /downgrade/,
    },
    {
      name: 'allow-major lets a major through',
      input: { toRef: 'pg:17.0', allowMajor: true },
      held: false,
      reason: '',
    },
    {
      name: 'clean notes proceed',
      input: { module: mod(withNotes()), readFile: files({ [notes162]: '# 16.2\n\nBug fixes only.\n' }) },
      held: false,
      reason: '',
      flagged: [],
      notesPath: notes162,
    },
    {
      name: 'a default marker holds, case-insensitive',
      input: { module: mod(withNotes()), readFile: files({ [notes162]: 'Note: MANUAL MIGRATION of the catalog.' }) },
      held: true,
      reason: 'held-manual-migration',
      flagged: ['manual migration'],
      notesPath: notes162,
    },
    {
      name: 'a marker split across lines (and by a control character) still holds',
      input: {
        module: mod(withNotes()),
        readFile: files({ [notes162]: 'needs a manual\r\n   migration\nand a\u0000manual\tintervention' }),
      },
      held: true,
      reason: 'held-manual-migration',
      flagged: ['manual migration', 'manual intervention'],
    },
    {
      name: 'a zero-width character inside a marker does not hide it',
      input: { module: mod(withNotes()), readFile: files({ [notes162]: 'BREAK\u200bING: the config format changed' }) },
      held: true,
      reason: 'held-manual-migration',
      flagged: ['BREAKING'],
    },
    {
      name: 'whole words only: "unbreaking" and "manual migrations-free" wording of other words is no marker',
      input: {
        module: mod(withNotes()),
        readFile: files({ [notes162]: 'unbreakingly fast; upgrade guidelines unchanged' }),
      },
      held: false,
      reason: '',
      flagged: [],
    },
    {
      name: 'declared markers replace the defaults',
      input: {
        module: mod(withNotes(['reindex'])),
        readFile: files({ [notes162]: 'BREAKING: run REINDEX afterwards' }),
      },
      held: true,
      reason: 'held-manual-migration',
      flagged: ['reindex'],
    },
    {
      name: 'notes declared but missing hold (fail closed), even with allow-major',
      input: { module: mod(withNotes()), readFile: files({}), allowMajor: true },
      held: true,
      reason: 'held-manual-migration',
      message: /release notes missing — cannot prove no manual migration \(modules\/db\/notes\/16\.2\.md\)/,
      notesPath: notes162,
    },
    {
      name: 'a manual-migration hold wins over a major hold',
      input: {
        module: mod(withNotes()),
        toRef: 'pg:17.0',
        readFile: files({ '/repo/modules/db/notes/17.0.md': 'manual migration' }),
      },
      held: true,
      reason: 'held-manual-migration',
    },
    {
      name: 'a digest target has no {version}: held',
      input: { module: mod(withNotes()), toRef: 'pg@sha256:' + 'b'.repeat(64), allowMajor: true },
      held: true,
      reason: 'held-manual-migration',
      message: /no tag usable as \{version\}/,
    },
    {
      name: 'a hostile tag with .. never reaches readFile',
      input: { module: mod(withNotes()), toRef: 'pg:..', allowMajor: true },
      held: true,
      reason: 'held-manual-migration',
      message: /no tag usable/,
    },
    {
      name: 'a hostile ref whose tag holds /.. is refused',
      input: { module: mod(withNotes()), toRef: 'pg:16.2/../../../../etc/passwd', allowMajor: true },
      held: true,
      reason: 'held-manual-migration',
    },
    {
      name: 'a template outside the root is refused',
      input: { module: mod({ ...withNotes()!, releaseNotes: '/elsewhere/{version}.md' }) },
      held: true,
      reason: 'held-manual-migration',
      message: /leaves the repo/,
    },
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const r = preDeployGate({ ...base, ...c.input });
    expect(r.held).toBe(c.held);
    expect(r.failure_reason).toBe(c.reason);
    if (c.flagged) expect(r.release_notes?.flagged).toEqual(c.flagged);
    if (c.message) expect(r.message).toMatch(c.message);
    if (c.notesPath !== undefined) expect(r.release_notes?.path ?? null).toBe(c.notesPath);
    expect(r.message).toContain('pg:');
  });

  it('the excerpt: the first 40 lines, control and format characters stripped', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}\u0007\u202e`).join('\n');
    const r = preDeployGate({
      ...base,
      module: mod(withNotes()),
      readFile: files({ '/repo/modules/db/notes/16.2.md': text }),
    });
    const lines = r.release_notes!.excerpt.split('\n');
    expect(lines).toHaveLength(40);
    expect(lines[39]).toBe('line 39');
    expect(r.release_notes!.excerpt).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
  });

  it('huge notes: only the first MiB is read, and the gate holds (a marker could be past it)', () => {
    const huge = 'fine\n'.repeat(RELEASE_NOTES_MAX_BYTES / 4);
    const r = preDeployGate({
      ...base,
      module: mod(withNotes()),
      readFile: files({ '/repo/modules/db/notes/16.2.md': huge }),
    });
    expect(r.failure_reason).toBe('held-manual-migration');
    expect(r.message).toMatch(/larger than 1 MiB/);
  });
});

describe('readReleaseNotesFile: a regular file only, bounded, never blocking', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-notes-'));
  const sock = path.join(dir, 'notes.sock');
  let server: Server | undefined;
  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(sock, resolve));
    symlinkSync('/dev/zero', path.join(dir, 'zero-link.md'));
    writeFileSync(path.join(dir, 'a.md'), 'hello');
    symlinkSync(path.join(dir, 'a.md'), path.join(dir, 'a-link.md'));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });
  it('reads a file (also through a symlink), caps at 1 MiB + 1 byte, and gives null for a missing file', () => {
    writeFileSync(path.join(dir, 'big.md'), Buffer.alloc(RELEASE_NOTES_MAX_BYTES * 2, 'x'));
    expect(readReleaseNotesFile(path.join(dir, 'a.md'))).toBe('hello');
    expect(readReleaseNotesFile(path.join(dir, 'a-link.md'))).toBe('hello');
    expect(readReleaseNotesFile(path.join(dir, 'big.md'))!.length).toBe(RELEASE_NOTES_MAX_BYTES + 1);
    expect(readReleaseNotesFile(path.join(dir, 'missing.md'))).toBeNull();
  });
  it.each([
    [
      'a directory',
      () => {
        mkdirSync(path.join(dir, 'd'), { recursive: true });
        return path.join(dir, 'd');
      },
      /a directory/,
    ],
    ['a UNIX socket', () => sock, /a socket/],
    ['a character device (/dev/zero: endless)', () => '/dev/zero', /a character device/],
    ['a character device (/dev/null)', () => '/dev/null', /a character device/],
    ['a symlink to a device', () => path.join(dir, 'zero-link.md'), /a character device/],
  ])('%s is refused with a reason, without reading it', (_n, where, kind) => {
    expect(() => readReleaseNotesFile(where())).toThrow(/is not a regular file/);
    expect(() => readReleaseNotesFile(where())).toThrow(kind);
  });
  it('the gate holds on notes that are not a regular file, saying so (plan and upgrade alike)', () => {
    const notes = path.join(dir, '{version}');
    symlinkSync('/dev/zero', path.join(dir, '16.2'));
    const r = preDeployGate({
      module: mod({ ...withNotes()!, releaseNotes: notes }),
      fromRef: 'pg:16.1',
      toRef: 'pg:16.2',
      allowMajor: true,
      readFile: readReleaseNotesFile,
      root: dir,
    });
    expect(r).toMatchObject({ held: true, failure_reason: 'held-manual-migration' });
    expect(r.message).toMatch(
      /release notes 16\.2 is not a regular file \(a character device\) — cannot prove no manual migration/,
    );
  });
});

describe('hold markers: word forms, hyphen/space/underscore/line break, case-insensitive', () => {
  const gateOn = (text: string, markers: string[] = [...DEFAULT_HOLD_MARKERS]) =>
    preDeployGate({
      module: mod(withNotes(markers)),
      fromRef: 'pg:16.1',
      toRef: 'pg:16.2',
      allowMajor: false,
      readFile: files({ '/repo/modules/db/notes/16.2.md': text }),
      root: ROOT,
    });
  const holds: Array<[string, string, string[]?]> = [
    ['Database migrations required', 'plural noun, default marker', ['migration required']],
    ['Manual-migration needed', 'hyphenated, default marker', ['manual migration', 'migration needed']],
    ['manual_migration', 'underscore, default marker', ['manual migration']],
    ['MANUAL MIGRATIONS', 'plural, upper case', ['manual migration']],
    ['Manual\u2011migration', 'a non-breaking hyphen', ['manual migration']],
    ['a schema migration needed', 'migration needed (default)', ['migration needed']],
    ['migration\n  required', 'a line break between the words', ['migration required']],
    ['breaking changes', 'plural of a default marker', ['breaking change', 'BREAKING']],
    ['see the upgrade guides', 'plural of the last word', ['upgrade guide']],
    ['no migration required', 'a negated phrase still holds (fail closed)', ['migration required']],
    ['BREAK\u200bING: x', 'a zero-width character inside a marker', ['BREAKING']],
    ['manual\u0000migration', 'a control character between the words', ['manual migration']],
    ['run_manual_migration.sh first', 'underscores around the phrase', ['manual migration']],
  ];
  it.each(holds)('holds: %j (%s)', (text, _why, flagged) => {
    const r = gateOn(text);
    expect(r).toMatchObject({ held: true, failure_reason: 'held-manual-migration' });
    if (flagged) expect(r.release_notes?.flagged).toEqual(flagged);
  });
  const declaredForms: Array<[string, string]> = [
    ['require migration', 'Requires migration before start'],
    ['need reindex', 'the index needs reindexing'],
    ['manual-migration', 'two manual migrations'],
    ['migrations required', 'a migration requires care'],
  ];
  it.each(declaredForms)('a declared marker %j matches the word forms in %j', (marker, text) => {
    expect(gateOn(text, [marker]).release_notes?.flagged).toEqual([marker]);
  });
  const passes: Array<[string, string]> = [
    ['Bug fixes only.', 'nothing'],
    ['migrationrequired', 'no separator: another word'],
    ['unbreakingly fast; upgrade guidelines unchanged', 'other words that contain a marker'],
    ['manual. Migration', 'a full stop between the words is another sentence'],
    ['premanual migration', 'a letter before the phrase'],
    ['manual migrationx', 'a letter after the phrase that is no word form'],
  ];
  it.each(passes)('does not hold: %j (%s)', (text) => {
    expect(gateOn(text)).toMatchObject({ held: false, failure_reason: '' });
  });
});
