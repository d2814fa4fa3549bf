/**
 * Replaces registered secret values with `***` in every string that leaves stateguard: the job log,
 * stdout/stderr, the summary, outputs and JSON. Commands register secrets through the context;
 * the CLI and action layers run every write through one Scrubber, so a command that forgets to
 * scrub still cannot leak.
 */
export const MASK = '***';

/** Names of environment variables whose values are treated as secrets. */
export const SECRET_NAME = /PASS(WORD|WD)?|SECRET|TOKEN|(^|_)KEY($|_)|API_?KEY|PRIVATE|CREDENTIAL|AUTH|CERT|DSN|CONN(ECTION)?_?STRING|ACCESS_?KEY|SALT|SESSION/i;

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

export class Scrubber {
  private values: string[] = [];

  add(value: string | undefined): void {
    // Very short values would mask ordinary text everywhere and reveal little; 3+ chars only.
    if (!value || value.length < 3 || this.values.includes(value)) return;
    this.values.push(value);
    // Longest first, so a secret that contains another is masked whole.
    this.values.sort((a, b) => b.length - a.length);
  }

  /** Secret values from `NAME=value` environment entries whose names look secret. */
  addFromEnv(entries: readonly string[]): string[] {
    const found: string[] = [];
    for (const e of entries) {
      const i = e.indexOf('=');
      if (i <= 0) continue;
      const name = e.slice(0, i);
      const value = e.slice(i + 1);
      if (looksSecret(name) && value.length >= 3) {
        this.add(value);
        found.push(value);
      }
    }
    return found;
  }

  get size(): number {
    return this.values.length;
  }

  scrub(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  }

  /** Scrub every string inside a JSON-able value. */
  scrubDeep<T>(value: T): T {
    if (this.values.length === 0) return value;
    return JSON.parse(this.scrub(JSON.stringify(value))) as T;
  }
}
