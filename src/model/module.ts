/**
 * module.yaml: types, discovery under --root/--modules, schema validation with source positions,
 * and the cross-file checks of docs/architecture.md §2. Pure file reading: no docker, no @actions.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import moduleSchema from '../../schema/module.schema.json' with { type: 'json' };
import { UserError } from '../errors.js';
import { checkDriftAllow, driftAllowHint, type DriftAllowEntry, type RawDriftAllowEntry } from './drift-allow.js';
import { closest } from './suggest.js';
import { readYamlFile, type PathSegment, type SourceProblem, type YamlSource } from './yaml-source.js';

export type ModuleClass = 'stateless' | 'stateful' | 'sidecar';
export type ExpectedState = 'running' | 'exited-success';
/** Which runtime the module names: spec.compose (Docker Compose) or spec.swarm (a Docker Swarm stack). */
export type ModuleRuntime = 'compose' | 'swarm';

export interface ModuleDecl {
  name: string;
  description?: string;
  class: ModuleClass;
  /** spec.compose or spec.swarm; `compose` below is filled for both */
  runtime: ModuleRuntime;
  /**
   * The engine target the rest of the code uses, for either runtime. For compose: spec.compose. For swarm:
   * from spec.swarm: file/path/display are the stack file, project is the stack name, service the service key
   * in the stack file.
   */
  compose: {
    /** as written in module.yaml (relative to it): the compose file, or for swarm the stack file */
    file: string;
    /** absolute path */
    path: string;
    /** relative to root, for plans and messages */
    display: string;
    /** compose project name; for swarm: project is the stack name */
    project: string;
    /** service key in the compose (or stack) file */
    service: string;
  };
  expectedState: ExpectedState;
  timeoutSeconds: number;
  /** refModules: the other modules whose backups also count ([] when not declared; a module's own always do) */
  backup?: { refModules: string[]; maxAgeHours: number };
  volumes: { volume: string; path: string }[];
  ephemeralPaths: string[];
  dependsOnHealthy: string[];
  /** spec.upgrade with its defaults (docs/architecture.md §13); absent when not declared */
  upgrade?: ModuleUpgrade;
  /** spec.drift.allow, checked (docs/architecture.md §3, "Drift allowlist"); [] when not declared */
  driftAllow?: DriftAllowEntry[];
  /** module.yaml, relative to root (for messages) and absolute */
  file: string;
  absFile: string;
  source: YamlSource;
}

/** What deploys a module's service, for messages: `compose`, or `docker stack deploy` on Swarm. */
export function engineFrontEnd(m: { runtime?: ModuleDecl['runtime'] }): string {
  return m.runtime === 'swarm' ? 'docker stack deploy' : 'compose';
}

export interface ModuleUpgrade {
  /**
   * Absolute path TEMPLATE of the target version's release notes (`{version}` not yet replaced: the
   * upgrade gate substitutes the target tag and checks the result stays inside the repo), or null.
   */
  releaseNotes: string | null;
  /** phrases that hold an upgrade when the release notes carry one (the schema's default when not declared) */
  holdMarkers: string[];
  healthTimeoutSeconds: number;
  settleSeconds: number;
}

type UpgradeSchema = {
  properties: Record<'hold_markers' | 'health_timeout_seconds' | 'settle_seconds', { default: unknown }>;
};
const upgradeSchema = moduleSchema.properties.spec.properties.upgrade as unknown as UpgradeSchema;
/** The defaults of spec.upgrade, read from schema/module.schema.json: documented and applied from one place. */
export const UPGRADE_DEFAULTS = {
  holdMarkers: upgradeSchema.properties.hold_markers.default as readonly string[],
  healthTimeoutSeconds: upgradeSchema.properties.health_timeout_seconds.default as number,
  settleSeconds: upgradeSchema.properties.settle_seconds.default as number,
} as const;

/** The raw shape of a schema-valid module.yaml. */
interface RawModule {
  metadata: { name: string; description?: string };
  spec: {
    class: ModuleClass;
    /** exactly one of compose / swarm (the schema's oneOf) */
    compose?: { file: string; project: string; service: string };
    swarm?: { file: string; stack: string; service: string };
    runtime?: { expected_state?: ExpectedState; timeout_seconds?: number };
    backup?: { ref_modules?: string[]; max_age_hours: number };
    data?: { volumes?: { volume: string; path: string }[]; ephemeral_paths?: string[] };
    depends_on_healthy?: string[];
    upgrade?: {
      release_notes?: string;
      hold_markers?: string[];
      health_timeout_seconds?: number;
      settle_seconds?: number;
    };
    drift?: { allow?: RawDriftAllowEntry[] };
  };
}

export interface LoadedModules {
  root: string;
  modules: ModuleDecl[];
  problems: SourceProblem[];
  /**
   * metadata.name -> file of module.yaml files left out for their own problems, where the name is
   * readable (for a file that failed to parse: guessed, see guessedName): a reference to one of them
   * is not "unknown", it waits on that file's fix.
   */
  invalid?: Map<string, string>;
}

/** Compiled on first use: commands that never read module.yaml (lint-workflows) skip the cost. */
let compiled: ValidateFunction | undefined;
function validateSchema(value: unknown): { ok: true } | { ok: false; errors: ErrorObject[] } {
  // verbose: each error carries its schema (the keys allowed there, for "did you mean") and the value.
  compiled ??= new Ajv2020({
    allErrors: true,
    strict: true,
    useDefaults: false,
    allowUnionTypes: false,
    verbose: true,
  }).compile(moduleSchema);
  return compiled(value) ? { ok: true } : { ok: false, errors: compiled.errors ?? [] };
}

/** Convert a tiny glob (`*`, `**`, `?`) into a RegExp over '/'-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Find module files under root matching the glob; sorted, so every run reads them in one order. */
export function findModuleFiles(root: string, glob: string, rootDisplay: string = root): string[] {
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new UserError(
      `--root ${JSON.stringify(rootDisplay)} does not exist. Point --root at the platform repo checkout.`,
      {
        input: 'root',
      },
    );
  }
  if (!st.isDirectory()) {
    throw new UserError(
      `--root ${JSON.stringify(rootDisplay)} is not a directory. Point --root at the platform repo checkout.`,
      { input: 'root' },
    );
  }
  if (path.isAbsolute(glob) || glob.split('/').includes('..')) {
    throw new UserError(`--modules ${JSON.stringify(glob)} must be a relative glob inside --root (no '..').`, {
      input: 'modules',
    });
  }
  const re = globToRegExp(glob);
  const out: string[] = [];
  const maxDepth = glob.includes('**') ? 12 : glob.split('/').length;
  const walk = (dir: string, rel: string, depth: number): void => {
    if (depth > maxDepth) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name === '.git') continue;
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs, relPath, depth + 1);
      else if (re.test(relPath)) out.push(relPath);
    }
  };
  walk(root, '', 1);
  return out.sort();
}

/** The schema's `spec.oneOf` (exactly one of compose / swarm): its branches' own errors say nothing useful. */
const RUNTIME_CHOICE = '#/properties/spec/oneOf';
function isRuntimeChoiceBranch(err: ErrorObject): boolean {
  return err.schemaPath.startsWith(`${RUNTIME_CHOICE}/`);
}

function schemaProblem(src: YamlSource, err: ErrorObject): SourceProblem {
  if (err.schemaPath === RUNTIME_CHOICE) {
    const both = Array.isArray((err.params as { passingSchemas?: unknown }).passingSchemas);
    return src.problem(
      ['spec'],
      both
        ? `spec declares both compose and swarm; a module runs on exactly one: keep spec.compose (Docker Compose) ` +
            `or spec.swarm (Docker Swarm stack) and remove the other`
        : `spec declares neither compose nor swarm; a module must name exactly one runtime: add ` +
            `spec.compose { file, project, service } (Docker Compose) or spec.swarm { file, stack, service } ` +
            `(Docker Swarm stack)`,
      'key',
    );
  }
  const segs: PathSegment[] = err.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const where = segs.length ? segs.join('.') : '(top level)';
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const allowed = allowedKeys(err);
      const guess = closest(key, allowed);
      const required = guess !== undefined && requiredKeys(err).includes(guess) ? ` (${where} requires it)` : '';
      return src.problem(
        [...segs, key],
        `unknown key '${key}' in ${where}` +
          (guess !== undefined ? `: did you mean '${guess}'?${required}` : '') +
          (allowed.length > 0
            ? `; allowed keys there: ${allowed.join(', ')}`
            : ' (allowed keys are listed in schema/module.schema.md)'),
        'key',
      );
    }
    case 'required':
      return src.problem(
        segs,
        `${where} is missing required key '${String(p.missingProperty)}'${driftAllowHint(segs)}`,
        'key',
      );
    case 'enum':
      return src.problem(
        segs,
        `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      );
    case 'const':
      return src.problem(segs, `${where} must be ${JSON.stringify(p.allowedValue)}`);
    case 'pattern': {
      const words =
        segs[1] === 'drift' && p.pattern === '\\S' ? 'must not be empty' : describePattern(String(p.pattern));
      return src.problem(segs, `${where} ${words}${driftAllowHint(segs)}`);
    }
    case 'type':
      return src.problem(segs, `${where} must be ${typeWords(String(p.type))}, got ${describeValue(err.data)}`);
    default:
      return src.problem(segs, `${where} ${err.message ?? 'is invalid'}`);
  }
}

/** The keys the schema allows where an additionalProperties error was raised (its parent schema). */
function allowedKeys(err: ErrorObject): string[] {
  const props = (err.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props) : [];
}

function requiredKeys(err: ErrorObject): string[] {
  const req = (err.parentSchema as { required?: unknown } | undefined)?.required;
  return Array.isArray(req) ? req.map(String) : [];
}

/**
 * A typo'd key also leaves its right spelling missing: `projct: p` raises "unknown key 'projct'" and
 * "missing required key 'project'". The first says both (did you mean 'project'? … requires it), so
 * the second is left out: one mistake, one message.
 */
function withoutTypoEchoes(errors: ErrorObject[]): ErrorObject[] {
  const suggested = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') continue;
    const guess = closest(String((e.params as { additionalProperty?: unknown }).additionalProperty), allowedKeys(e));
    if (guess !== undefined) suggested.add(`${e.instancePath}\n${guess}`);
  }
  return errors.filter(
    (e) =>
      e.keyword !== 'required' ||
      !suggested.has(`${e.instancePath}\n${String((e.params as { missingProperty?: unknown }).missingProperty)}`),
  );
}

function typeWords(type: string): string {
  const words: Record<string, string> = {
    number: 'a number',
    integer: 'a whole number',
    string: 'a string',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
    null: 'empty',
  };
  return type
    .split(',')
    .map((t) => words[t] ?? t)
    .join(' or ');
}

/** A value as written, for "got …": short, and the shape for lists and mappings. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describePattern(pattern: string): string {
  if (pattern.startsWith('^[a-z0-9]([a-z0-9-]')) {
    return (
      'must be a lowercase DNS label: a-z, 0-9 and hyphens, starting and ending with a letter or digit, at most ' +
      '63 characters'
    );
  }
  if (pattern === '^/') return 'must be an absolute path (starting with /)';
  if (pattern === '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') return 'must be a date YYYY-MM-DD';
  return `must match ${pattern}`;
}

function toDecl(raw: RawModule, root: string, absFile: string, relFile: string, source: YamlSource): ModuleDecl {
  // The schema's oneOf guarantees exactly one of them; swarm maps onto the same engine target.
  const swarm = raw.spec.swarm;
  const target = swarm ? { file: swarm.file, project: swarm.stack, service: swarm.service } : raw.spec.compose!;
  const composePath = path.resolve(path.dirname(absFile), target.file);
  return {
    name: raw.metadata.name,
    description: raw.metadata.description,
    class: raw.spec.class,
    runtime: swarm ? 'swarm' : 'compose',
    compose: {
      file: target.file,
      path: composePath,
      display: path.relative(root, composePath).split(path.sep).join('/'),
      project: target.project,
      service: target.service,
    },
    expectedState: raw.spec.runtime?.expected_state ?? 'running',
    timeoutSeconds: raw.spec.runtime?.timeout_seconds ?? 300,
    backup: raw.spec.backup
      ? { refModules: raw.spec.backup.ref_modules ?? [], maxAgeHours: raw.spec.backup.max_age_hours }
      : undefined,
    volumes: raw.spec.data?.volumes ?? [],
    ephemeralPaths: raw.spec.data?.ephemeral_paths ?? [],
    dependsOnHealthy: raw.spec.depends_on_healthy ?? [],
    upgrade: raw.spec.upgrade ? toUpgrade(raw.spec.upgrade, absFile) : undefined,
    driftAllow: [],
    file: relFile,
    absFile,
    source,
  };
}

function toUpgrade(raw: NonNullable<RawModule['spec']['upgrade']>, absFile: string): ModuleUpgrade {
  return {
    releaseNotes: raw.release_notes === undefined ? null : path.resolve(path.dirname(absFile), raw.release_notes),
    holdMarkers: raw.hold_markers ?? [...UPGRADE_DEFAULTS.holdMarkers],
    healthTimeoutSeconds: raw.health_timeout_seconds ?? UPGRADE_DEFAULTS.healthTimeoutSeconds,
    settleSeconds: raw.settle_seconds ?? UPGRADE_DEFAULTS.settleSeconds,
  };
}

/**
 * Load every module under root. Files with problems are reported and left out of `modules`;
 * callers that act on modules must refuse when `problems` is not empty (fail closed).
 */
export function loadModules(root: string, glob: string, displayBase: string = process.cwd()): LoadedModules {
  const absRoot = path.resolve(root);
  const files = findModuleFiles(absRoot, glob, displayPath(absRoot, displayBase));
  const modules: ModuleDecl[] = [];
  const problems: SourceProblem[] = [];
  const invalid = new Map<string, string>();
  for (const rel of files) {
    const abs = path.join(absRoot, rel);
    const display = displayPath(abs, displayBase);
    const read = readYamlFile(abs, display);
    if (!read.ok) {
      // One message per place: the parser's recovery repeats itself at the spot that broke it.
      problems.push(...onePerPosition(read.problems));
      // The name is not readable: a reference to this module would read as "unknown module".
      const name = guessedName(abs, rel);
      if (name !== undefined && !invalid.has(name)) invalid.set(name, display);
      continue;
    }
    const checked = validateSchema(read.value);
    if (!checked.ok) {
      problems.push(
        ...dedupe(
          withoutTypoEchoes(checked.errors.filter((e) => !isRuntimeChoiceBranch(e))).map((e) =>
            schemaProblem(read.source, e),
          ),
        ),
      );
      const name = (read.value as { metadata?: { name?: unknown } }).metadata?.name;
      if (typeof name === 'string' && !invalid.has(name)) invalid.set(name, display);
      continue;
    }
    const decl = toDecl(read.value as RawModule, absRoot, abs, display, read.source);
    // spec.drift.allow beyond the schema (docs/architecture.md §3, "Drift allowlist"): a refused entry
    // leaves the whole file out, as a schema problem does.
    const allow = checkDriftAllow((read.value as RawModule).spec.drift?.allow ?? [], decl, read.source);
    if (allow.problems.length > 0) {
      problems.push(...allow.problems);
      if (!invalid.has(decl.name)) invalid.set(decl.name, display);
      continue;
    }
    decl.driftAllow = allow.entries;
    modules.push(decl);
  }
  modules.sort((a, b) => a.name.localeCompare(b.name));
  return { root: absRoot, modules, problems, invalid };
}

/**
 * The likely name of a module.yaml that failed to parse, so references to it can point at that file
 * instead of saying "unknown module": its `name:` line under `metadata:` when one is written plainly,
 * else its directory (modules/<name>/module.yaml).
 */
function guessedName(abs: string, rel: string): string | undefined {
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  try {
    const text = readFileSync(abs, 'utf8');
    const m = /^metadata:[ \t]*\r?\n(?:[ \t]+.*\r?\n)*?[ \t]+name:[ \t]*["']?([a-z0-9-]+)["']?[ \t]*(?:#.*)?\r?$/m.exec(
      text.slice(0, 64 * 1024),
    );
    if (m && label.test(m[1]!)) return m[1];
  } catch {
    // unreadable: fall back to the directory
  }
  const dir = path.posix.basename(path.posix.dirname(rel));
  return dir !== '.' && label.test(dir) ? dir : undefined;
}

export function displayPath(abs: string, base: string): string {
  const rel = path.relative(base, abs);
  return (rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel).split(path.sep).join('/');
}

function onePerPosition(problems: SourceProblem[]): SourceProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.line}:${p.column}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function dedupe(problems: SourceProblem[]): SourceProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.line}:${p.column}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function formatProblem(p: SourceProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** Root causes first, then their knock-on problems (docs/architecture.md §2); each group by file and position. */
export function sortProblems(problems: SourceProblem[]): SourceProblem[] {
  return [...problems].sort(
    (a, b) =>
      Number(a.knockOn === true) - Number(b.knockOn === true) ||
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column,
  );
}
