/**
 * The upgrade's pre-deploy gate (docs/architecture.md §13): decided BEFORE any snapshot or stop, so a
 * hold changes nothing and writes nothing. Pure: the release notes are read through an injected
 * `readFile`, so tests need no disk.
 *
 * How a tag pair is classified (strictly; `semver.coerce` would turn `2024.05.01` or `latest-alpine`
 * into a version and mislabel a major change as a patch):
 * - the repositories differ, either side is pinned by digest (`@sha256:`), or a tag is missing or
 *   `latest`: unknown (the reference says nothing about the change);
 * - a tag is `[v]MAJOR[.MINOR[.PATCH]][-SUFFIX]`, numbers without leading zeros; a missing MINOR/PATCH
 *   counts as 0; a `v` prefix is allowed on either side;
 * - a SUFFIX (`-alpine`, `-bookworm`, `-rc.1`) must be exactly the same on both sides, and then only
 *   the version parts are compared; otherwise unknown (`1.2-alpine` → `1.3-bookworm` changes the base);
 * - a MAJOR of 1000 or more is a date or a build number (`20240501`, `2024.05.01`): unknown;
 * - anything else (`RELEASE.2024-05-01T10-00-00Z`, `stable`): unknown;
 * - the same version (a re-pointed tag): unknown, nothing proves what changed;
 * - a downgrade of any component: major. Careful on purpose: data the newer version wrote may not be
 *   readable by the older one, whatever component changed;
 * - under 1.0.0 a minor bump is major (semver §4: anything may change before 1.0.0).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { parseImageRef } from '../drift/semver.js';
import type { SemverBump } from '../drift/types.js';
import { errorMessage } from '../errors.js';
import { withArticle } from '../report/words.js';
import { UPGRADE_DEFAULTS, type ModuleDecl } from '../model/module.js';

/** `none`: the target is the image that runs already (same image ID), whatever its reference says. */
export type UpgradeBump = SemverBump | 'none';

export interface BumpClass {
  bump: UpgradeBump;
  /** one line for humans: why this class */
  why: string;
}

/** Release notes larger than this are not read whole: the gate holds (it cannot prove no marker is past it). */
export const RELEASE_NOTES_MAX_BYTES = 1024 * 1024;
/** How many lines of the release notes the gate hands on for the output, the summary and the PR comment. */
export const EXCERPT_MAX_LINES = 40;
const EXCERPT_MAX_LINE_CHARS = 300;

/** The hold markers used when spec.upgrade.hold_markers is not declared (from schema/module.schema.json). */
export const DEFAULT_HOLD_MARKERS: readonly string[] = UPGRADE_DEFAULTS.holdMarkers;

const TAG = /^(v?)(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z][0-9A-Za-z.-]*))?$/;

interface TagVersion {
  version: string;
  suffix: string;
}

function tagVersion(tag: string): TagVersion | null {
  const m = TAG.exec(tag);
  if (!m) return null;
  const version = `${m[2]}.${m[3] ?? '0'}.${m[4] ?? '0'}`;
  return semver.valid(version) ? { version, suffix: m[5] ?? '' } : null;
}

export function classifyBump(fromRef: string, toRef: string): BumpClass {
  const a = parseImageRef(fromRef);
  const b = parseImageRef(toRef);
  const unknown = (why: string): BumpClass => ({ bump: 'unknown', why });
  if (a.repository !== b.repository) return unknown(`another repository (${a.repository} → ${b.repository})`);
  if (a.digest || b.digest) return unknown('pinned by digest: the digest says nothing about the version');
  if (a.tag === null || b.tag === null || a.tag === 'latest' || b.tag === 'latest') {
    return unknown(`tag ${a.tag ?? '(none)'} → ${b.tag ?? '(none)'}: 'latest' or no tag is no version`);
  }
  const va = tagVersion(a.tag);
  const vb = tagVersion(b.tag);
  if (!va || !vb) return unknown(`tag ${!va ? a.tag : b.tag} is not a version ([v]MAJOR[.MINOR[.PATCH]][-suffix])`);
  if (semver.major(va.version) >= 1000 || semver.major(vb.version) >= 1000) {
    return unknown(`tag ${semver.major(va.version) >= 1000 ? a.tag : b.tag} looks like a date or build number`);
  }
  if (va.suffix !== vb.suffix) {
    return unknown(`suffixes differ (${va.suffix || '(none)'} → ${vb.suffix || '(none)'}): another variant`);
  }
  if (semver.eq(va.version, vb.version)) return unknown(`same version ${b.tag}: a re-pointed tag`);
  if (semver.lt(vb.version, va.version)) {
    return { bump: 'major', why: `downgrade ${a.tag} → ${b.tag}: the older version may not read newer data` };
  }
  const diff = semver.diff(va.version, vb.version);
  if (diff === 'major')
    return { bump: 'major', why: `major ${semver.major(va.version)} → ${semver.major(vb.version)}` };
  if (diff === 'minor' && semver.major(va.version) === 0) {
    return { bump: 'major', why: `minor bump under 1.0.0 (${a.tag} → ${b.tag}): anything may change` };
  }
  if (diff === 'minor') return { bump: 'minor', why: `minor ${a.tag} → ${b.tag}` };
  return { bump: 'patch', why: `patch ${a.tag} → ${b.tag}` };
}

export interface ReleaseNotesFinding {
  /** the resolved file (the template with {version} replaced), or the template when it could not be resolved */
  path: string;
  /** the hold markers found (as declared), in declaration order */
  flagged: string[];
  /** the first lines, control and format characters stripped ('' when the file could not be read) */
  excerpt: string;
}

export interface GateResult {
  held: boolean;
  failure_reason: 'held-major' | 'held-manual-migration' | '';
  bump: UpgradeBump;
  release_notes: ReleaseNotesFinding | null;
  message: string;
  /** the tag being deployed: the only value `ackMigration` may name (null: no tag, nothing to acknowledge) */
  target_version: string | null;
  /** the version whose manual-migration hold an acknowledgement lifted (null: none was lifted) */
  acknowledged_migration: string | null;
}

export interface GateInput {
  module: Pick<ModuleDecl, 'name' | 'upgrade'>;
  fromRef: string;
  toRef: string;
  allowMajor: boolean;
  /**
   * the file's text, or null when it is missing; throws when it cannot be read or is not a regular file
   * (the gate holds, saying why); should read at most RELEASE_NOTES_MAX_BYTES + 1
   */
  readFile: (file: string) => string | null;
  /** the repo root (--root): when given, resolved release notes must stay inside it */
  root?: string;
  /** every running replica already runs the target's image (same image ID): no version change */
  sameImage?: boolean;
  /**
   * `--ack-migration`: the operator did the manual migration for this version. Lifts a manual-migration
   * hold only when it is exactly the target's tag (no trimming, no case folding, no pattern); nothing else.
   */
  ackMigration?: string;
}

/** A docker tag as the registry grammar allows it; `..` is refused as well (it could climb a path). */
const SAFE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** What may join the words of a marker in the notes: whitespace (line breaks too), `_` and any dash (`-`, `‑`, `–`). */
const MARKER_JOIN = '[\\s_\\p{Pd}]+';
/** The endings a marker word may take (plural, verb forms): `migration(s)`, `require(s|d)`, `need(s|ed|ing)`. */
const WORD_ENDING = '(?:s|es|d|ed|ing)?';

/**
 * The stems of one marker word, so that a declared form matches the others: `required` → `require`,
 * `requir`; `migrations` → `migration`; a stem ending in `e` also without it (`requir|ing`). Words of three
 * letters or fewer are kept as they are. `-ing` is never stripped (`BREAKING` must not match `break`).
 */
function wordStems(word: string): string[] {
  const w = word.toLowerCase();
  const stems = new Set([w]);
  if (w.length > 3) {
    if (w.endsWith('ies')) stems.add(`${w.slice(0, -3)}y`);
    if (w.endsWith('es')) stems.add(w.slice(0, -2));
    if (w.endsWith('s') && !w.endsWith('ss')) stems.add(w.slice(0, -1));
    if (w.endsWith('ed')) stems.add(w.slice(0, -2)).add(w.slice(0, -1));
  }
  for (const s of [...stems]) if (s.length > 3 && s.endsWith('e')) stems.add(s.slice(0, -1));
  return [...stems].filter((s) => s.length > 0);
}

/**
 * A marker as a pattern (docs/architecture.md §13): every word in any of its forms, the words joined by
 * whitespace, `_` or dashes, case-insensitively, bounded by anything but a letter or digit. Matching is
 * failing closed: a negated phrase ("no migration required") still holds.
 */
export function markerPattern(marker: string): RegExp {
  const words = marker
    .trim()
    .split(/[\s_\p{Pd}]+/u)
    .filter((w) => w !== '')
    .map((w) => {
      const stems = wordStems(w).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      return `(?:${stems.join('|')})${WORD_ENDING}`;
    });
  return new RegExp(`(?<![\\p{L}\\p{N}])${words.join(MARKER_JOIN)}(?![\\p{L}\\p{N}])`, 'iu');
}

/** Format characters (zero-width, bidi) removed; control characters but line breaks and tabs become a space. */
function cleanText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\p{Cf}/gu, '')
    .replace(/[^\P{Cc}\n\t]/gu, ' ');
}

function excerptOf(clean: string): string {
  return clean
    .split('\n')
    .slice(0, EXCERPT_MAX_LINES)
    .map((l) => (l.length > EXCERPT_MAX_LINE_CHARS ? `${l.slice(0, EXCERPT_MAX_LINE_CHARS)}…` : l).trimEnd())
    .join('\n')
    .trimEnd();
}

/** `ackable: false`: a hold no acknowledgement lifts (no usable tag, notes outside the repo: fix the declaration). */
type NotesOutcome = { finding: ReleaseNotesFinding; hold: string | null; ackable?: false };

function checkReleaseNotes(input: GateInput, template: string, markers: readonly string[]): NotesOutcome {
  const ref = parseImageRef(input.toRef);
  const tag = ref.repository.split('/').every((seg) => /^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(seg)) ? ref.tag : null;
  const unresolved = (why: string): NotesOutcome => ({
    finding: { path: template, flagged: [], excerpt: '' },
    hold: why,
    ackable: false,
  });
  if (tag === null || !SAFE_TAG.test(tag) || tag.includes('..')) {
    return unresolved(
      `the target ${JSON.stringify(input.toRef)} has no tag usable as {version} in the release notes path: ` +
        `cannot prove no manual migration`,
    );
  }
  const file = template.split('{version}').join(tag);
  const rel = input.root === undefined ? '' : path.relative(input.root, file);
  if (path.resolve(file) !== file || rel.split(path.sep)[0] === '..' || path.isAbsolute(rel)) {
    return unresolved(`the release notes path for tag ${JSON.stringify(tag)} leaves the repo: refused`);
  }
  let text: string | null;
  try {
    text = input.readFile(file);
  } catch (err) {
    // Not a regular file, or unreadable: fail closed, with the reason (docs/architecture.md §13).
    const why =
      err instanceof NotesNotRegularError
        ? `is not a regular file (${err.kind})`
        : `cannot be read (${errorMessage(err)})`;
    return {
      finding: { path: file, flagged: [], excerpt: '' },
      hold: `release notes ${rel || file} ${why} — cannot prove no manual migration`,
    };
  }
  if (text === null) {
    return {
      finding: { path: file, flagged: [], excerpt: '' },
      hold: `release notes missing — cannot prove no manual migration (${rel || file})`,
    };
  }
  const clean = cleanText(text.length > RELEASE_NOTES_MAX_BYTES ? text.slice(0, RELEASE_NOTES_MAX_BYTES) : text);
  const flagged = markers.filter((m) => m.trim() !== '' && markerPattern(m).test(clean));
  const finding = { path: file, flagged, excerpt: excerptOf(clean) };
  if (Buffer.byteLength(text, 'utf8') > RELEASE_NOTES_MAX_BYTES) {
    return { finding, hold: `release notes larger than 1 MiB — not read whole, cannot prove no manual migration` };
  }
  if (flagged.length > 0) {
    return { finding, hold: `the release notes flag a manual migration (${flagged.map((f) => `'${f}'`).join(', ')})` };
  }
  return { finding, hold: null };
}

/**
 * Hold or go, before anything is touched. A manual-migration hold wins over a major hold: allow-major
 * cannot lift it. Declared release notes that are missing, unreadable, too large or outside the repo hold
 * (fail closed).
 */
export function preDeployGate(input: GateInput): GateResult {
  const targetVersion = parseImageRef(input.toRef).tag;
  const ack = { target_version: targetVersion, acknowledged_migration: null as string | null };
  if (input.sameImage === true) {
    // The image that runs is the one declared: nothing new can migrate the data, so no release notes.
    return {
      ...ack,
      held: false,
      failure_reason: '',
      bump: 'none',
      release_notes: null,
      message:
        `upgrade may proceed: ${input.module.name}: ${input.fromRef} → ${input.toRef} (none: the same image ID ` +
        `runs already, no version change); the container is recreated on the declared reference.`,
    };
  }
  const { bump, why } = classifyBump(input.fromRef, input.toRef);
  const upgrade = input.module.upgrade;
  const notes =
    upgrade?.releaseNotes != null
      ? checkReleaseNotes(input, upgrade.releaseNotes, upgrade.holdMarkers ?? DEFAULT_HOLD_MARKERS)
      : null;
  const what = `${input.module.name}: ${input.fromRef} → ${input.toRef} (${bump}: ${why})`;
  if (notes?.hold) {
    // Only the exact tag being deployed acknowledges it (docs/architecture.md §13, "Acknowledging").
    const ackable = notes.ackable !== false && targetVersion !== null;
    if (input.ackMigration !== undefined && ackable && input.ackMigration === targetVersion) {
      ack.acknowledged_migration = targetVersion;
    } else {
      const given =
        input.ackMigration === undefined
          ? ''
          : ` The acknowledgement ${JSON.stringify(input.ackMigration)} does not lift it: ` +
            (!ackable
              ? 'this hold names no version that can be acknowledged; fix the declaration.'
              : `only exactly ${JSON.stringify(targetVersion)} (the tag being deployed) does.`);
      return {
        ...ack,
        target_version: ackable ? targetVersion : null,
        held: true,
        failure_reason: 'held-manual-migration',
        bump,
        release_notes: notes.finding,
        message:
          `${what}; ${notes.hold}. Do the migration by hand (or fix the notes)` +
          `${ackable ? `, then acknowledge exactly ${JSON.stringify(targetVersion)}` : ''}.` +
          given,
      };
    }
  }
  const acked = ack.acknowledged_migration
    ? `; the manual migration for ${ack.acknowledged_migration} was acknowledged`
    : '';
  if ((bump === 'major' || bump === 'unknown') && !input.allowMajor) {
    return {
      ...ack,
      held: true,
      failure_reason: 'held-major',
      bump,
      release_notes: notes?.finding ?? null,
      message: `${what}${acked}; ${withArticle(bump)} bump is held until it is reviewed and explicitly allowed.`,
    };
  }
  return {
    ...ack,
    held: false,
    failure_reason: '',
    bump,
    release_notes: notes?.finding ?? null,
    message:
      `upgrade may proceed: ${what}` +
      `${bump === 'major' || bump === 'unknown' ? ' (allowed by --allow-major)' : ''}${acked}.`,
  };
}

/** The release notes path names something that is not a regular file (reading it could block or never end). */
export class NotesNotRegularError extends Error {
  constructor(
    readonly file: string,
    readonly kind: string,
  ) {
    super(`${file} is not a regular file (${kind})`);
    this.name = 'NotesNotRegularError';
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a file';
}

/**
 * The readFile for preDeployGate on a real disk: at most RELEASE_NOTES_MAX_BYTES + 1 bytes (so the gate
 * sees that a file is too large); null when the file is missing. Only a regular file is read (a symlink to
 * one is fine): a FIFO, a device, a socket or a directory throws NotesNotRegularError before any read. The
 * file is opened with O_NONBLOCK and checked again with fstat, so a FIFO swapped in between the two checks
 * cannot block the open or the read. Other errors throw (the gate holds with the error).
 */
export function readReleaseNotesFile(file: string): string | null {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!st.isFile()) throw new NotesNotRegularError(file, kindOf(st));
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw new NotesNotRegularError(file, kindOf(opened));
    const buf = Buffer.alloc(RELEASE_NOTES_MAX_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
