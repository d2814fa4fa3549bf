/**
 * Turns raw input strings (from argv or from INPUT_* variables) into a command's typed options,
 * strictly. Every rejection is a UserError naming the input, the bad value, what was expected and
 * how to fix it. Booleans are `true`/`false` only: `yes`, `1`, `True ` are refused, never coerced.
 */
import { UserError } from '../errors.js';
import { camel, type InputDef } from './spec.js';

/** Raw values before typing: a string per input, or several for lists (repeatable flags). */
export type RawInputs = Record<string, string | string[] | undefined>;

export interface ParseContext {
  /** how to name an input in messages: `--backup-ref` for the CLI, `backup-ref` input for actions */
  describe(name: string): string;
}

export const cliNames: ParseContext = { describe: (n) => `--${n}` };
export const actionNames: ParseContext = { describe: (n) => `input '${n}'` };

export function parseBoolean(raw: string, label: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new UserError(
    `${label} must be exactly 'true' or 'false', got ${JSON.stringify(raw)}. ` +
      `Booleans are not coerced (yes/1/TRUE are refused): pass true or false.`,
    { input: label },
  );
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `512`, `64K`, `100M`, `2G` (binary units; a trailing `B`/`iB` is accepted). */
export function parseSize(raw: string, label: string): number {
  const m = /^(\d+)\s*([KMGT]?)(?:i?B)?$/i.exec(raw.trim());
  const unit = m ? SIZE_UNITS[(m[2] ?? '').toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UserError(`${label} must be a size like 512, 64K, 100M or 2G, got ${JSON.stringify(raw)}.`, {
      input: label,
    });
  }
  const value = Number(m[1]) * unit;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new UserError(`${label} must be a positive size, got ${JSON.stringify(raw)}.`, { input: label });
  }
  return value;
}

export function parseInteger(raw: string, label: string): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new UserError(`${label} must be a whole number, got ${JSON.stringify(raw)}.`, { input: label });
  }
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value)) {
    throw new UserError(`${label} is too large: ${JSON.stringify(raw)}.`, { input: label });
  }
  return value;
}

function show(def: InputDef, raw: string): string {
  return def.secret ? '(value hidden)' : JSON.stringify(raw);
}

/** Parse every declared input. Unknown raw keys are rejected by the callers (CLI: unknown flag). */
export function parseInputs(defs: readonly InputDef[], raw: RawInputs, names: ParseContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of defs) {
    const label = names.describe(def.name);
    const given = raw[def.name];
    const values = (Array.isArray(given) ? given : given === undefined ? [] : [given]).filter(
      (v) => def.kind === 'list' || v !== '',
    );
    if (def.rest) {
      // Everything after `--` is a command's argument vector: kept verbatim (no trimming, no
      // line splitting, empty arguments kept), as a shell would have passed it.
      const argv = Array.isArray(given) ? given : given === undefined ? [] : [given];
      if (def.required && argv.length === 0) {
        throw new UserError(`${label} is required: ${def.description}`, { input: def.name });
      }
      out[camel(def.name)] = [...argv];
      continue;
    }
    if (def.kind === 'list') {
      // Action inputs carry lists one per line; CLI repeats the flag. Blank lines are ignored.
      const items = values
        .flatMap((v) => v.split(/\r?\n/))
        .map((v) => v.trim())
        .filter((v) => v !== '');
      const fallback = items.length === 0 && def.default ? def.default.split(/\r?\n/).filter(Boolean) : [];
      const list = items.length ? items : fallback;
      if (def.required && list.length === 0) {
        throw new UserError(`${label} is required: ${def.description}`, { input: def.name });
      }
      out[camel(def.name)] = list;
      continue;
    }
    if (values.length > 1) {
      throw new UserError(`${label} was given ${values.length} times; give it once.`, { input: def.name });
    }
    const value = values[0] ?? def.default;
    if (value === undefined || value === '') {
      if (def.required) {
        throw new UserError(`${label} is required: ${def.description}`, { input: def.name });
      }
      out[camel(def.name)] = def.kind === 'boolean' ? false : undefined;
      continue;
    }
    switch (def.kind) {
      case 'string':
        out[camel(def.name)] = value;
        break;
      case 'boolean':
        out[camel(def.name)] = parseBoolean(value, label);
        break;
      case 'size':
        out[camel(def.name)] = parseSize(value, label);
        break;
      case 'integer':
        out[camel(def.name)] = parseInteger(value, label);
        break;
      case 'choice':
        if (!def.choices?.includes(value)) {
          throw new UserError(`${label} must be one of ${def.choices?.join(', ')}, got ${show(def, value)}.`, {
            input: def.name,
          });
        }
        out[camel(def.name)] = value;
        break;
    }
  }
  return out;
}
