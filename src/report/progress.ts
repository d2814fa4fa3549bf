/**
 * Progress of a long copy and the downtime of a stopped service (docs/architecture.md §7, "Downtime and
 * progress"). Pure: the clock is injected (`now()`, milliseconds) and nothing here sets a timer, so a
 * line is printed only when bytes pass, at most once every interval.
 */
import { UserError } from '../errors.js';

/** How often a progress line may be printed when STATEGUARD_PROGRESS_INTERVAL_MS is not set. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 5000;
export const PROGRESS_INTERVAL_ENV = 'STATEGUARD_PROGRESS_INTERVAL_MS';

/** Lines for `stateguard --help` (the README says the same in its own words). */
export const PROGRESS_ENV_HELP: readonly string[] = [
  `${PROGRESS_INTERVAL_ENV}=N   at most one progress line every N milliseconds during the long copies of`,
  `                              snapshot, restore and upgrade (default ${DEFAULT_PROGRESS_INTERVAL_MS};`,
  `                              1 to 86400000; any other value is refused, exit 3).`,
];

/**
 * The progress interval from the environment: unset or empty is the default; anything but a plain
 * integer from 1 to 86400000 is a usage error (exit 3), never silently read as the default.
 */
export function progressIntervalMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env[PROGRESS_INTERVAL_ENV];
  if (raw === undefined || raw === '') return DEFAULT_PROGRESS_INTERVAL_MS;
  const n = /^[1-9][0-9]{0,7}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n > 86_400_000) {
    throw new UserError(
      `environment variable ${PROGRESS_INTERVAL_ENV} is ${JSON.stringify(raw)}; expected a whole number of ` +
        `milliseconds from 1 to 86400000. Unset it for the default (${DEFAULT_PROGRESS_INTERVAL_MS}).`,
      { input: PROGRESS_INTERVAL_ENV },
    );
  }
  return n;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Bytes in binary units: `512 B`, `1.5 KiB`, `12.3 MiB`, `150 MiB` (three significant digits). */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '? B';
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  // 1023.96 KiB would print as "1024 KiB": carry into the next unit instead.
  if (Number(v.toFixed(v < 100 ? 1 : 0)) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 100 ? v.toFixed(1) : v.toFixed(0)} ${UNITS[u]}`;
}

/** A duration in words: `0.4 s`, `12 s`, `2 min 05 s`, `1 h 02 min`. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '? s';
  if (ms < 10_000) {
    const tenths = Math.floor(ms / 100) / 10;
    return `${Number.isInteger(tenths) ? tenths : tenths.toFixed(1)} s`;
  }
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A wall-clock instant as printed in the stopped/started lines: `2026-12-03T15:40:01Z` (UTC, seconds). */
export function wallClock(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface ProgressOptions {
  /** what is being copied, as the line's prefix: "snapshot db: copying /data (volume db-data)" */
  label: string;
  /** where a line goes (the logger: stderr in the CLI, core.info in an action) */
  say: (line: string) => void;
  /** the clock, in milliseconds */
  now: () => number;
  /** at most one line per interval (default DEFAULT_PROGRESS_INTERVAL_MS) */
  intervalMs?: number;
  /** the number of bytes the copy will take, when known */
  total?: number | null;
}

/**
 * Counts bytes as they pass and prints `<label>: 48.0 MiB of 150 MiB (32%), 9.6 MiB/s, 5 s elapsed`
 * at most once per interval. The first line comes one interval after the start, so a short copy
 * prints none.
 */
export class ProgressReporter {
  private copied = 0;
  private readonly started: number;
  private last: number;
  private lines = 0;
  private readonly interval: number;

  constructor(private readonly opts: ProgressOptions) {
    this.started = opts.now();
    this.last = this.started;
    this.interval = opts.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  }

  /** bytes copied so far */
  get bytes(): number {
    return this.copied;
  }

  /** how many progress lines were printed */
  get printed(): number {
    return this.lines;
  }

  add(bytes: number): void {
    if (bytes > 0) this.copied += bytes;
    const t = this.opts.now();
    if (t - this.last < this.interval) return;
    this.last = t;
    this.lines++;
    this.opts.say(this.line(t));
  }

  /** The line for the bytes copied so far at instant `t`. */
  line(t: number = this.opts.now()): string {
    const elapsed = Math.max(0, t - this.started);
    const total = this.opts.total;
    const share = total ? Math.min(100, Math.floor((this.copied / total) * 100)) : 0;
    const amount =
      total !== undefined && total !== null && total > 0
        ? `${humanBytes(this.copied)} of ${humanBytes(total)} (${share}%)`
        : `${humanBytes(this.copied)} copied`;
    const rate = elapsed > 0 ? `${humanBytes((this.copied * 1000) / elapsed)}/s` : '? B/s';
    return `${this.opts.label}: ${amount}, ${rate}, ${humanDuration(elapsed)} elapsed`;
  }
}

/** The clock and the interval of progress lines, as a command passes them down. */
export interface ProgressSettings {
  /** milliseconds */
  now: () => number;
  intervalMs: number;
}

/**
 * The downtime of an operation that stops a service (docs/architecture.md §7, "Downtime and progress"):
 * from the moment the stop is issued to the moment the service was last seen running (and healthy
 * where it has a healthcheck) again. `up` may be called more than once (an upgrade whose new version
 * fails in its settle window is rolled back, `down`, and comes up again): the last call counts. When the
 * service is not up at the end, the downtime runs until then: it is still down.
 */
export class Downtime {
  private stoppedAt: number | null = null;
  private upAt: number | null = null;
  private isUp = false;

  constructor(private readonly now: () => number) {}

  /** The stop is about to be issued (only the first call counts). Not called when nothing is stopped. */
  stopping(): void {
    this.stoppedAt ??= this.now();
  }

  /** `stopped db-1 at 2026-12-03T15:40:01Z` */
  stopped(what: string): string {
    return `stopped ${what} at ${wallClock(this.stoppedAt ?? this.now())}`;
  }

  /** Records that the service is up again: `started db-1 again at <T><detail>; down for 8.2 s`. */
  up(what: string, detail = ''): string {
    this.upAt = this.now();
    this.isUp = true;
    const down = this.stoppedAt === null ? '' : `; down for ${humanDuration(this.upAt - this.stoppedAt)}`;
    return `started ${what} again at ${wallClock(this.upAt)}${detail}${down}`;
  }

  /** The service is being taken down again after it was up (a rollback): its downtime goes on. */
  down(): void {
    this.isUp = false;
  }

  /**
   * Milliseconds from the stop to the last start (an integer), or null when nothing was stopped. When the
   * service is not up (it never came back, or went down again), the time until now: it is still down.
   */
  ms(): number | null {
    if (this.stoppedAt === null) return null;
    const end = this.isUp && this.upAt !== null ? this.upAt : this.now();
    return Math.max(0, Math.round(end - this.stoppedAt));
  }
}

/** The downtime in words for a command's text and summary: `down for 8.2 s (8234 ms)`. */
export function downtimeWords(ms: number | null): string {
  return ms === null ? 'nothing was running, so nothing was stopped' : `down for ${humanDuration(ms)} (${ms} ms)`;
}
