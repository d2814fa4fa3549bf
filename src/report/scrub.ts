/**
 * Replaces registered secret values with `***` in every string that leaves stateguard: the job log,
 * stdout/stderr, the summary, outputs and JSON. Commands register secrets through the context;
 * the CLI and action layers run every write through one Scrubber, so a command that forgets to
 * scrub still cannot leak.
 */
export const MASK = '***';

/** Names of environment variables whose values are treated as secrets. */
export const SECRET_NAME =
  /PASS|PWD|SECRET|TOKEN|(^|_)KEY($|_)|API_?KEY|PRIVATE|CREDENTIAL|AUTH|CERT|DSN|CONN(ECTION)?_?STRING|ACCESS_?KEY/i;
/** More parts of names that carry credentials (split from SECRET_NAME only to keep lines short). */
const SECRET_NAME_MORE = /SALT|SESSION|COOKIE|SIGNATURE/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name) || SECRET_NAME_MORE.test(name);
}

/**
 * Values that a secret-looking name may hold but that are not secrets and would, if masked,
 * corrupt ordinary output (`verified: true` must stay readable): never registered.
 */
const NOT_SECRET_VALUES: ReadonlySet<string> = new Set(['true', 'false', 'null', 'yes', 'no', 'on', 'off', 'none']);

/** Whether a value is worth registering as a secret (long enough, not a boolean-like word). */
export function maskable(value: string | undefined): value is string {
  return !!value && value.length >= 3 && !NOT_SECRET_VALUES.has(value.toLowerCase());
}

/**
 * `scheme://user:password@host` anywhere in text: the userinfo is a credential whatever the
 * variable that carried it was called (DATABASE_URL, a DSN in a command line, a log line).
 * Group 1 keeps the scheme; the whole userinfo (user and password) is masked.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)[^\s/?#@'"]+@/gi;

/** The password parts of URL userinfo in a value (`postgres://u:pw@h` -> ['pw']), for registering. */
export function urlPasswords(value: string): string[] {
  const out: string[] = [];
  for (const m of value.matchAll(/[a-z][a-z0-9+.-]{0,31}:\/\/[^\s/?#@'"]*?:([^\s/?#@'"]+)@/gi)) {
    if (maskable(m[1])) out.push(m[1]);
  }
  return out;
}

export class Scrubber {
  private values: string[] = [];

  add(value: string | undefined): void {
    // Very short values would mask ordinary text everywhere and reveal little; 3+ chars only.
    if (!maskable(value) || this.values.includes(value)) return;
    this.values.push(value);
    // Longest first, so a secret that contains another is masked whole.
    this.values.sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.values.length;
  }

  scrub(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    return out.replace(URL_USERINFO, `$1${MASK}@`);
  }

  /** A copy of a JSON-able value with every string in it (keys included) scrubbed. */
  scrubDeep<T>(value: T): T {
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.scrub(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === 'object') {
        return Object.fromEntries(
          Object.entries(v as Record<string, unknown>).map(([k, x]) => [this.scrub(k), walk(x)]),
        );
      }
      return v;
    };
    return walk(value) as T;
  }
}
