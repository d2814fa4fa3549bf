/**
 * The simulated compose renderer for unit tests (no compose CLI, no engine): reads a compose file
 * as compose does for the features unit tests use — merge keys, `${VAR}`/`${VAR:-default}` from the
 * process environment and `.env`, relative bind sources made absolute, services in profiles that
 * COMPOSE_PROFILES does not enable left out — and returns what the adapter's renderProject returns.
 * The real renderings (v1 and v2) are covered by test/integration/compose-corpus.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { UserError } from '../../src/errors.js';
import { parseDotEnv } from '../../src/model/compose-interpolation.js';
import type { ComposeRenderer } from '../../src/model/validate.js';
import type { RenderedProject, RenderedService } from '../../src/ports.js';
import { enabledProfiles, splitByProfiles } from '../../src/runtime/compose-render.js';

function interpolate(text: string, vars: (name: string) => string | undefined): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (m, a, def, b) => {
      if (m === '$$') return '$$';
      const v = vars(a ?? b);
      return v === undefined || v === '' ? (def ?? '') : v;
    },
  );
}

export function renderFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RenderedProject {
  let dotEnv = new Map<string, string>();
  try {
    dotEnv = parseDotEnv(readFileSync(path.join(path.dirname(file), '.env'), 'utf8'));
  } catch {
    // no .env
  }
  const text = interpolate(readFileSync(file, 'utf8'), (n) => env[n] ?? dotEnv.get(n));
  let doc: { services?: Record<string, RenderedService>; volumes?: Record<string, unknown> };
  try {
    doc = parse(text, { merge: true, version: '1.1', maxAliasCount: -1 }) ?? {};
  } catch (err) {
    throw new UserError(`fake compose: ${(err as Error).message.split('\n')[0]}`, { reason: 'compose-error' });
  }
  const services = doc.services ?? {};
  for (const svc of Object.values(services)) {
    if (!svc || !Array.isArray(svc.volumes)) continue;
    svc.volumes = svc.volumes.map((v) => {
      if (v && typeof v === 'object') {
        const o = v as { type?: unknown; source?: unknown };
        if (o.type === 'bind' && typeof o.source === 'string' && o.source.startsWith('.'))
          return { ...o, source: path.resolve(path.dirname(file), o.source) };
        return v;
      }
      if (typeof v !== 'string') return v;
      const [source, ...rest] = v.split(':');
      if (rest.length === 0 || !source || !source.startsWith('.')) return v;
      return [path.resolve(path.dirname(file), source), ...rest].join(':');
    });
  }
  const { active, inactive } = splitByProfiles(services, enabledProfiles(env));
  return { services: active, hashes: {}, volumes: Object.keys(doc.volumes ?? {}), inactive };
}

/** validate's renderer over renderFile (one file per target, as the modules name them). */
export const fileRenderer: ComposeRenderer = async (target) => renderFile(target.files[0]!);
