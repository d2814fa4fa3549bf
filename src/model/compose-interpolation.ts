/**
 * Values that compose interpolates into a module's compose file from the runner's environment (or
 * the `.env` file beside the compose file) and that must never leave stateguard: compose renders
 * `image: reg/x:${REGISTRY_PASSWORD}` with the value in place, so a plan, a PR comment or a log
 * line built from the rendered config would carry it. Every command registers these values with
 * its scrubber before it reads the engine (docs/architecture.md, "Secrets").
 *
 * Which values: those of referenced variables whose names look secret, and the password of any URL
 * userinfo in any referenced variable's value. Nothing is interpolated here: only names are read.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { looksSecret, maskable, urlPasswords } from '../report/scrub.js';
import type { ModuleDecl } from './module.js';

/** `$NAME` or `${NAME…}` (any modifier); `$$` is compose's escaped dollar and is skipped. */
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Variable names a compose file text refers to. */
export function referencedVariables(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(REFERENCE)) {
    const name = m[1] ?? m[2];
    if (name) out.add(name);
  }
  return out;
}

/** `KEY=VALUE` lines of a compose `.env` file (quotes stripped); comments and blanks skipped. */
export function parseDotEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf('=');
    if (i <= 0) continue;
    let value = line.slice(i + 1).trim();
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
      value = value.slice(1, -1);
    out.set(line.slice(0, i).trim(), value);
  }
  return out;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The files compose reads besides this one: `include:` entries (a path, or `path:` as a string or a
 * list) and services' `extends: {file}`, resolved against the file's directory. A file that does not
 * parse has none (validate reports it).
 */
export function referencedComposeFiles(file: string, text: string): string[] {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, version: '1.1', maxAliasCount: 1000 });
  } catch {
    return [];
  }
  if (!doc || typeof doc !== 'object') return [];
  const d = doc as { include?: unknown; services?: unknown };
  const out: string[] = [];
  const add = (p: unknown): void => {
    if (typeof p === 'string' && p !== '' && !p.includes('$')) out.push(path.resolve(path.dirname(file), p));
  };
  for (const inc of Array.isArray(d.include) ? d.include : []) {
    if (typeof inc === 'string') add(inc);
    else if (inc && typeof inc === 'object') {
      const p = (inc as { path?: unknown }).path;
      if (Array.isArray(p)) p.forEach(add);
      else add(p);
    }
  }
  if (d.services && typeof d.services === 'object') {
    for (const svc of Object.values(d.services as Record<string, unknown>)) {
      const ext = (svc as { extends?: unknown } | null)?.extends;
      if (ext && typeof ext === 'object') add((ext as { file?: unknown }).file);
    }
  }
  return out;
}

/** At most this many files are followed from one module's compose file (include/extends chains). */
const MAX_FOLLOWED_FILES = 64;

/**
 * Every value that must be masked because compose would interpolate it into these modules' files:
 * the compose file and every file it includes or extends (docs/architecture.md §2, "Reading compose
 * files"), each with the `.env` beside it.
 */
export function composeSecrets(
  modules: readonly ModuleDecl[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const out = new Set<string>();
  const files = new Set(modules.map((m) => m.compose.path));
  const limit = MAX_FOLLOWED_FILES * Math.max(1, files.size);
  for (const file of files) {
    const text = readText(file);
    if (text === null) continue; // validate reports a missing file; nothing to mask
    for (const f of referencedComposeFiles(file, text)) if (files.size < limit) files.add(f);
    const dotEnvText = readText(path.join(path.dirname(file), '.env'));
    const dotEnv = dotEnvText === null ? new Map<string, string>() : parseDotEnv(dotEnvText);
    for (const name of referencedVariables(text)) {
      // compose prefers the process environment over .env
      const value = env[name] ?? dotEnv.get(name);
      if (value === undefined) continue;
      if (looksSecret(name) && maskable(value)) out.add(value);
      for (const p of urlPasswords(value)) out.add(p);
    }
  }
  return [...out];
}
