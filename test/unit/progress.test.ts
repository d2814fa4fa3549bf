/**
 * The progress reporter and the downtime clock (docs/architecture.md §7, "Downtime and progress"):
 * throttling driven by a fake clock (no timers), human units, the interval knob, downtime words.
 */
import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_PROGRESS_INTERVAL_MS,
  Downtime,
  ProgressReporter,
  downtimeWords,
  humanBytes,
  humanDuration,
  progressIntervalMs,
  wallClock,
} from '../../src/report/progress.js';
import { UserError } from '../../src/errors.js';

const MiB = 1024 * 1024;

function reporter(opts: { intervalMs?: number; total?: number | null } = {}): {
  r: ProgressReporter;
  lines: string[];
  clock: { t: number };
} {
  const clock = { t: 1_000_000 };
  const lines: string[] = [];
  const r = new ProgressReporter({
    label: 'snapshot db: copying /data (volume db-data)',
    say: (l) => lines.push(l),
    now: () => clock.t,
    ...opts,
  });
  return { r, lines, clock };
}

describe('ProgressReporter throttling (fake clock)', () => {
  // Each row: [ms since start at which `bytes` arrive], expected number of lines after each step.
  const table: { name: string; interval?: number; steps: [number, number][]; lines: number[] }[] = [
    {
      name: 'a copy shorter than the interval prints nothing',
      steps: [
        [0, MiB],
        [1000, MiB],
        [4999, MiB],
      ],
      lines: [0, 0, 0],
    },
    {
      name: 'the first line comes one interval after the start (default 5 s)',
      steps: [
        [4999, MiB],
        [5000, MiB],
      ],
      lines: [0, 1],
    },
    {
      name: 'at most one line per interval however many chunks pass',
      steps: [
        [5000, 1],
        [5001, 1],
        [6000, 1],
        [9999, 1],
        [10_000, 1],
      ],
      lines: [1, 1, 1, 1, 2],
    },
    {
      name: 'a long gap gives one line, not one per missed interval',
      steps: [
        [60_000, MiB],
        [60_001, MiB],
      ],
      lines: [1, 1],
    },
    {
      name: 'a small interval (the env knob) prints more often',
      interval: 100,
      steps: [
        [100, 1],
        [150, 1],
        [200, 1],
        [300, 1],
      ],
      lines: [1, 1, 2, 3],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const { r, lines, clock } = reporter(row.interval === undefined ? {} : { intervalMs: row.interval });
      const start = clock.t;
      row.steps.forEach(([at, bytes], i) => {
        clock.t = start + at;
        r.add(bytes);
        expect(lines).toHaveLength(row.lines[i]!);
      });
      expect(r.printed).toBe(lines.length);
    });
  }

  it('a line says bytes copied, rate and elapsed time; with a known total, the share', () => {
    const { r, lines, clock } = reporter();
    clock.t += 5000;
    r.add(50 * MiB);
    expect(lines).toEqual(['snapshot db: copying /data (volume db-data): 50.0 MiB copied, 10.0 MiB/s, 5 s elapsed']);
    const t = reporter({ total: 150 * MiB });
    t.clock.t += 10_000;
    t.r.add(48 * MiB);
    expect(t.lines[0]).toBe(
      'snapshot db: copying /data (volume db-data): 48.0 MiB of 150 MiB (32%), 4.8 MiB/s, 10 s elapsed',
    );
  });

  it('never says more than 100% when the copy runs past the announced total', () => {
    const { r, lines, clock } = reporter({ total: MiB });
    clock.t += 5000;
    r.add(2 * MiB);
    expect(lines[0]).toContain('2.0 MiB of 1.0 MiB (100%)');
  });

  it('counts every byte, also between lines', () => {
    const { r, clock } = reporter();
    for (let i = 0; i < 10; i++) {
      clock.t += 100;
      r.add(1000);
    }
    expect(r.bytes).toBe(10_000);
    expect(r.printed).toBe(0);
  });

  it('the default interval is 5 s', () => {
    expect(DEFAULT_PROGRESS_INTERVAL_MS).toBe(5000);
  });
});

describe('human units', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024, '10.0 KiB'],
    [1023.99 * 1024, '1.0 MiB'],
    [1024 * 1024 - 1, '1.0 MiB'],
    [12.34 * MiB, '12.3 MiB'],
    [150 * MiB, '150 MiB'],
    [1024 * 1024 * 1024 * 1.2, '1.2 GiB'],
    [-1, '? B'],
    [Number.NaN, '? B'],
  ])('%p bytes is %p', (n, s) => expect(humanBytes(n)).toBe(s));

  it.each([
    [0, '0 s'],
    [400, '0.4 s'],
    [4000, '4 s'],
    [8234, '8.2 s'],
    [12_900, '12 s'],
    [125_000, '2 min 05 s'],
    [3_720_000, '1 h 02 min'],
    [-5, '? s'],
  ])('%p ms is %p', (ms, s) => expect(humanDuration(ms)).toBe(s));

  it('wall-clock times are UTC to the second', () => {
    expect(wallClock(Date.UTC(2026, 11, 3, 15, 40, 1, 999))).toBe('2026-12-03T15:40:01Z');
  });
});

describe('STATEGUARD_PROGRESS_INTERVAL_MS', () => {
  it.each([
    [undefined, 5000],
    ['', 5000],
    ['1', 1],
    ['250', 250],
    ['86400000', 86_400_000],
  ])('%p reads as %p', (v, n) => expect(progressIntervalMs({ STATEGUARD_PROGRESS_INTERVAL_MS: v })).toBe(n));

  it.each(['0', '-5', '1.5', ' 100', '100 ', '1e3', '0x10', '86400001', 'abc', '0100'])(
    'hostile or malformed %p is a usage error (exit 3) naming the variable, never the default',
    (v) => {
      let err: unknown;
      try {
        progressIntervalMs({ STATEGUARD_PROGRESS_INTERVAL_MS: v });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).exitCode).toBe(3);
      expect((err as Error).message).toContain('STATEGUARD_PROGRESS_INTERVAL_MS');
    },
  );
});

describe('Downtime (fake clock)', () => {
  const T0 = Date.UTC(2026, 11, 3, 15, 40, 0);

  it('null when nothing was stopped', () => {
    const clock = { t: T0 };
    const d = new Downtime(() => clock.t);
    clock.t += 5000;
    expect(d.ms()).toBeNull();
    expect(downtimeWords(d.ms())).toBe('nothing was running, so nothing was stopped');
  });

  it('from the stop being issued to the start completing, with wall-clock words', () => {
    const clock = { t: T0 };
    const d = new Downtime(() => clock.t);
    d.stopping();
    clock.t += 1500;
    expect(d.stopped('db-1')).toBe('stopped db-1 at 2026-12-03T15:40:00Z');
    clock.t += 6734;
    expect(d.up('db')).toBe('started db again at 2026-12-03T15:40:08Z; down for 8.2 s');
    clock.t += 60_000; // later steps do not count
    expect(d.ms()).toBe(8234);
    expect(downtimeWords(8234)).toBe('down for 8.2 s (8234 ms)');
  });

  it('only the first stop counts; the last start counts (a rollback after a failed settle window)', () => {
    const clock = { t: T0 };
    const d = new Downtime(() => clock.t);
    d.stopping();
    clock.t += 1000;
    d.stopping();
    clock.t += 1000;
    d.up('db'); // the new version, healthy once
    clock.t += 3000;
    d.down(); // it failed in the settle window: rolled back
    clock.t += 4000;
    d.up('db');
    clock.t += 9999;
    expect(d.ms()).toBe(9000);
  });

  it('a service that never came back (or went down again): the time until the end, it is still down', () => {
    const clock = { t: T0 };
    const d = new Downtime(() => clock.t);
    d.stopping();
    clock.t += 7000;
    expect(d.ms()).toBe(7000);
    d.up('db');
    clock.t += 1000;
    d.down();
    clock.t += 2000;
    expect(d.ms()).toBe(10_000);
  });
});
