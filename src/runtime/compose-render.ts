/**
 * How the compose adapter reads what compose renders (docs/architecture.md §2, "Reading compose
 * files"): the failure message when compose refuses a file, the profiles compose leaves out, and the
 * parsing of v2's JSON. Pure; the adapter (docker-cli.ts) runs the processes.
 */
import { UserError } from '../errors.js';
import type { ExecResult, RenderedService } from './types.js';

/** How much of compose's own reason a message carries: enough for a schema error, never a flood. */
export const MAX_REASON_LINES = 12;
export const MAX_REASON_CHARS = 2000;

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/**
 * Compose's whole reason, bounded: its error lines first (v1 prints "variable is not set" warnings
 * before the error, v2 its `level=warning` lines), then the warnings, each line cut at 300 characters.
 */
export function composeReason(stderr: string, stdout = ''): string {
  const lines = withoutTracebacks(`${stderr}\n${stdout}`)
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const warning = (l: string): boolean => /^\s*(WARNING:|WARN\[|time="[^"]*" level=warning)/.test(l);
  const ordered = [...lines.filter((l) => !warning(l)), ...lines.filter(warning)];
  const kept: string[] = [];
  let chars = 0;
  for (const l of ordered) {
    const line = l.length > 300 ? `${l.slice(0, 299)}…` : l;
    if (kept.length >= MAX_REASON_LINES || chars + line.length > MAX_REASON_CHARS) {
      kept.push(`… (${ordered.length - kept.length} more line${ordered.length - kept.length === 1 ? '' : 's'})`);
      break;
    }
    kept.push(line);
    chars += line.length;
  }
  return kept.join('\n');
}

/**
 * A Python traceback (compose v1 crashing) kept to its last line, the exception: the frames above it
 * say nothing to an operator and would crowd out the reason.
 */
function withoutTracebacks(text: string): string {
  const out: string[] = [];
  let inTrace = false;
  let last = '';
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('Traceback (most recent call last):')) {
      inTrace = true;
      continue;
    }
    if (inTrace) {
      if (line.startsWith(' ') || line.trim() === '' || /^During handling of the above exception/.test(line)) continue;
      if (/^\S/.test(line)) last = line;
      continue;
    }
    out.push(line);
  }
  if (last !== '') out.push(last);
  return out.join('\n');
}

/** The command as an operator would type it (arguments holding spaces quoted), for messages. */
export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./*-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * The error for a compose file compose refuses to render: the command that failed, compose's whole
 * reason (bounded), and, when compose v1 failed where compose v2 renders the same file, that fact
 * and how to use v2.
 */
export function composeRenderError(
  what: { project: string; files: readonly string[] },
  command: string,
  r: ExecResult,
  v2Renders: string | null,
): UserError {
  const reason = composeReason(r.stderr) || `exit ${r.code}, no message`;
  const indented = reason
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  const hint =
    v2Renders === null
      ? ''
      : `\n  compose v1 cannot render this file, but compose v2 (${v2Renders}, installed here) does: run stateguard ` +
        `with STATEGUARD_COMPOSE=v2 (or auto), and bring the project up with \`docker compose\`.`;
  return new UserError(
    `compose could not render project '${what.project}' from ${what.files.join(', ')}: \`${command}\` exited ` +
      `${r.code}:\n${indented}${hint}`,
    { reason: 'compose-error' },
  );
}

/** The profiles COMPOSE_PROFILES enables (comma separated, as compose reads it). */
export function enabledProfiles(env: Readonly<Record<string, string | undefined>>): Set<string> {
  return new Set(
    (env.COMPOSE_PROFILES ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  );
}

/** A rendered service's `profiles:` as strings ([] when it has none). */
export function profilesOf(service: RenderedService | undefined): string[] {
  const p = service?.profiles;
  return Array.isArray(p) ? p.map(String) : [];
}

/**
 * Split rendered services into the ones compose starts and the ones it leaves out (a service with
 * profiles, none enabled). Compose v1's `config` prints every service, profiled or not; `up` starts
 * only these.
 */
export function splitByProfiles(
  services: Record<string, RenderedService>,
  enabled: ReadonlySet<string>,
): { active: Record<string, RenderedService>; inactive: Record<string, string[]> } {
  const active: Record<string, RenderedService> = {};
  const inactive: Record<string, string[]> = {};
  for (const [name, svc] of Object.entries(services)) {
    const profiles = profilesOf(svc);
    if (profiles.length === 0 || enabled.has('*') || profiles.some((p) => enabled.has(p))) active[name] = svc;
    else inactive[name] = profiles;
  }
  return { active, inactive };
}

/** v2's `config --format json`: a JSON object with `services`; anything else is compose misbehaving. */
export function parseRenderedJson(stdout: string): {
  services: Record<string, RenderedService>;
  volumes: string[];
  raw: Record<string, unknown>;
} {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    // The parser's message would quote the text, which holds interpolated environment values.
    throw new UserError(
      'compose printed a config that is not valid JSON (its text is not shown: it may hold ' + 'environment values)',
      { reason: 'compose-error' },
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UserError('compose printed a config that is not a JSON object', { reason: 'compose-error' });
  }
  const raw = doc as Record<string, unknown>;
  const services =
    raw.services && typeof raw.services === 'object' && !Array.isArray(raw.services)
      ? (raw.services as Record<string, RenderedService>)
      : {};
  const volumes =
    raw.volumes && typeof raw.volumes === 'object' && !Array.isArray(raw.volumes) ? Object.keys(raw.volumes) : [];
  return { services, volumes, raw };
}
