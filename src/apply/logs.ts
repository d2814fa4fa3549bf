/**
 * Container logs -> job log, scrubbed.
 *
 * A secret value can be split across two chunks of a pipe. Scrubbing chunk by chunk would then
 * miss it, so chunks are reassembled into whole lines per stream (stdout and stderr separately, so
 * one stream's text is never spliced into the middle of the other's line) and each line is
 * scrubbed whole. A multi-line secret (a PEM key) is registered line by line for the same reason.
 * A line longer than MAX_LINE is cut; the cut keeps a tail back (the longest secret's length) so a
 * secret straddling the cut is still seen whole in the next piece.
 */
import { looksSecret, maskable, Scrubber, urlPasswords } from '../report/scrub.js';

export const MAX_LINE = 16 * 1024;

/**
 * Register the secret-looking values of `NAME=value` entries, and the password of any URL userinfo
 * (`DATABASE_URL=postgres://u:pw@h`) whatever the name; returns how many values.
 */
export function registerEnvSecrets(
  entries: readonly string[],
  scrub: Scrubber,
  addSecret: (v: string) => void,
): number {
  let count = 0;
  for (const e of entries) {
    const i = e.indexOf('=');
    if (i <= 0) continue;
    const name = e.slice(0, i);
    const value = e.slice(i + 1);
    const pieces = looksSecret(name) ? [value, ...value.split(/\r?\n/).map((l) => l.trim())] : [];
    pieces.push(...urlPasswords(value));
    for (const p of pieces) {
      if (!maskable(p)) continue;
      scrub.add(p);
      addSecret(p);
      count++;
    }
  }
  return count;
}

export class LineScrubber {
  private readonly pending = { stdout: '', stderr: '' };
  private readonly tail: string[] = [];

  constructor(
    private readonly scrub: Scrubber,
    private readonly emit: (line: string, stream: 'stdout' | 'stderr') => void,
    private readonly tailSize = 40,
    private readonly maxLine = MAX_LINE,
    /** held back when an over-long line is cut; longer than any secret line (PEM keys are registered per line) */
    private readonly holdBack = 4096,
  ) {}

  push(chunk: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    let buf = this.pending[stream] + chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      this.line(buf.slice(0, nl).replace(/\r$/, ''), stream);
      buf = buf.slice(nl + 1);
    }
    while (buf.length > this.maxLine) {
      const cut = this.maxLine - this.holdBack;
      // Emit a scrubbed prefix; keep `holdBack` characters so a secret over the cut stays whole.
      const scrubbed = this.scrub.scrub(buf);
      if (scrubbed !== buf) {
        // A secret is inside: emit everything scrubbed, nothing of it can straddle anymore.
        this.line(buf, stream);
        buf = '';
        break;
      }
      this.line(buf.slice(0, cut), stream);
      buf = buf.slice(cut);
    }
    this.pending[stream] = buf;
  }

  /** Emit whatever is left (a last line without a newline). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.pending[stream] !== '') this.line(this.pending[stream], stream);
      this.pending[stream] = '';
    }
  }

  lastLines(): string[] {
    return [...this.tail];
  }

  private line(raw: string, stream: 'stdout' | 'stderr'): void {
    const clean = this.scrub.scrub(raw);
    this.tail.push(clean);
    if (this.tail.length > this.tailSize) this.tail.shift();
    this.emit(clean, stream);
  }
}
