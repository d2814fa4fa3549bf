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

/** Every value that must be masked because compose would interpolate it into these modules' files. */
export function composeSecrets(
  modules: readonly ModuleDecl[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const out = new Set<string>();
  const files = new Set(modules.map((m) => m.compose.path));
  for (const file of files) {
    const text = readText(file);
    if (text === null) continue; // validate reports a missing file; nothing to mask
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
