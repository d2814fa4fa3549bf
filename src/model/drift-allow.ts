/**
 * `spec.drift.allow` (docs/architecture.md §3, "Drift allowlist"): what a module.yaml may accept as
 * drift for a reason until a date, checked beyond the schema. Every entry the plan could not honour
 * exactly is refused here, with its place in the file, what was expected and the fix: an allowlist
 * never covers a whole module, a stateful (or sidecar) module's image, a one-shot's exit state, nor
 * config drift it cannot prove to be only the named fields. Pure: no I/O.
 */
import { DRIFT_KEYS, type DriftKey } from '../drift/types.js';
import { closest } from './suggest.js';
import type { SourceProblem, YamlSource } from './yaml-source.js';

/** One accepted entry, as the plan applies it. */
export interface DriftAllowEntry {
  key: DriftKey;
  /** container.config: the fields it allows (`environment NAME`, `label NAME`); null for other keys */
  fields: string[] | null;
  reason: string;
  /** YYYY-MM-DD, the last UTC day it holds */
  until: string;
}

/** The schema-valid shape of one entry (the schema already requires key, reason and until). */
export interface RawDriftAllowEntry {
  key: string;
  fields?: string[];
  reason: string;
  until: string;
}

/** The module facts the rules depend on. */
export interface DriftAllowModule {
  class: 'stateless' | 'stateful' | 'sidecar';
  expectedState: 'running' | 'exited-success';
  runtime: 'compose' | 'swarm';
}

/**
 * A config field the plan can prove is the only difference: compose's config hash with the
 * container's value of it put back equals the container's (docs/architecture.md §3). Names as the
 * plan's field-level differences write them (src/drift/config-diff.ts); one name each, never a pattern.
 */
export const ALLOWABLE_FIELD = /^(environment|label) ([^\s()=*?]+)$/;

/** `YYYY-MM-DD` that names a real calendar day. */
export function isCalendarDay(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text;
}

const KEYS_TEXT = DRIFT_KEYS.join(', ');
const FORMAT =
  'each entry is { key, fields (container.config only), reason, until: YYYY-MM-DD }, e.g. ' +
  '{ key: container.config, fields: [environment LOG_LEVEL], reason: "…", until: 2027-01-31 }';

/** Check a module's `spec.drift.allow`; the entries when every one is acceptable, else the problems. */
export function checkDriftAllow(
  raw: readonly RawDriftAllowEntry[],
  module: DriftAllowModule,
  src: YamlSource,
): { entries: DriftAllowEntry[]; problems: SourceProblem[] } {
  const problems: SourceProblem[] = [];
  const entries: DriftAllowEntry[] = [];
  const seenKeys = new Map<string, number>();
  const seenFields = new Map<string, number>();
  const oneShot = module.expectedState === 'exited-success';
  raw.forEach((e, i) => {
    const at = ['spec', 'drift', 'allow', i] as const;
    const where = `spec.drift.allow.${i}`;
    const bad = (segs: readonly (string | number)[], message: string, which: 'key' | 'value' = 'value'): void => {
      problems.push(src.problem(segs, `${where}: ${message}`, which));
    };
    const key = e.key.trim();
    let ok = true;
    if (key === '' || /[*?]/.test(key) || ['all', 'any', 'container', 'module', 'everything'].includes(key)) {
      bad(
        [...at, 'key'],
        `key ${JSON.stringify(e.key)} would cover the whole module; an allowance never does: name one drift key ` +
          `(${KEYS_TEXT}) and, for container.config, its fields`,
      );
      ok = false;
    } else if (!(DRIFT_KEYS as readonly string[]).includes(key)) {
      const guess = closest(key, [...DRIFT_KEYS]);
      bad(
        [...at, 'key'],
        `unknown drift key ${JSON.stringify(e.key)}` +
          (guess !== undefined ? `: did you mean '${guess}'?` : '') +
          `; the drift keys are ${KEYS_TEXT}`,
      );
      ok = false;
    } else if (key === 'container.missing') {
      bad(
        [...at, 'key'],
        `container.missing would cover the whole module (no container at all); an allowance never does: start ` +
          `the service, or remove the module`,
      );
      ok = false;
    } else if (key === 'container.state.exited_success') {
      bad(
        [...at, 'key'],
        oneShot
          ? `a one-shot's exit state is never allowed: re-run it (stateguard apply), or fix why it did not exit 0`
          : `container.state.exited_success is a one-shot's exit state; this module is long-running, so it ` +
              `never has that drift: remove the entry`,
      );
      ok = false;
    } else if (key === 'container.image' && module.class !== 'stateless') {
      bad(
        [...at, 'key'],
        `container.image is never allowed on a ${module.class} module: its image changes go through ` +
          `\`stateguard upgrade\` (or the guard); declare the image that runs, or upgrade to the declared one`,
      );
      ok = false;
    } else if (key === 'container.config' && oneShot) {
      bad(
        [...at, 'key'],
        `a one-shot's config drift is its exit state (container.state.exited_success, stale-config), which is ` +
          `never allowed: re-run it with the new config (stateguard apply), or revert the change`,
      );
      ok = false;
    } else if (key === 'container.config' && module.runtime === 'swarm') {
      bad(
        [...at, 'key'],
        `container.config cannot be allowed on Swarm: stateguard proves allowed fields the only difference with ` +
          `compose's config hash, which Swarm has not; apply or revert the change`,
      );
      ok = false;
    }
    if (ok && key !== 'container.config') {
      const first = seenKeys.get(key);
      if (first !== undefined) {
        bad([...at, 'key'], `${key} is already allowed by spec.drift.allow.${first}: keep one entry`);
        ok = false;
      } else seenKeys.set(key, i);
    }
    if (key === 'container.config') {
      if (e.fields === undefined) {
        if (ok) {
          bad(
            at,
            `container.config needs fields: name each field allowed to differ (environment NAME or label NAME); ` +
              `one entry never allows all config drift`,
            'key',
          );
        }
        ok = false;
      } else {
        e.fields.forEach((f, j) => {
          const field = f.trim();
          if (!ALLOWABLE_FIELD.test(field)) {
            bad(
              [...at, 'fields', j],
              `field ${JSON.stringify(f)} cannot be allowed: only \`environment NAME\` and \`label NAME\` can ` +
                `(the plan proves them the only difference with compose's config hash); apply or revert a ` +
                `change of anything else`,
            );
            ok = false;
          } else if (seenFields.has(field)) {
            bad(
              [...at, 'fields', j],
              `field '${field}' is already allowed by spec.drift.allow.${seenFields.get(field)}: keep one entry`,
            );
            ok = false;
          } else seenFields.set(field, i);
        });
      }
    } else if (e.fields !== undefined && DRIFT_KEYS.includes(key as DriftKey)) {
      bad(
        [...at, 'fields'],
        `${key} has no fields (only container.config has): remove fields, or use key container.config`,
        'key',
      );
      ok = false;
    }
    // One line of words: a line break or control character in the reason would forge plan lines.
    if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(e.reason)) {
      bad([...at, 'reason'], `reason holds a line break or control character: write it on one line`);
      ok = false;
    }
    if (!isCalendarDay(e.until)) {
      bad([...at, 'until'], `until ${JSON.stringify(e.until)} is no calendar day: write a date YYYY-MM-DD`);
      ok = false;
    }
    if (ok) {
      entries.push({
        key: key as DriftKey,
        fields: key === 'container.config' ? e.fields!.map((f) => f.trim()) : null,
        reason: e.reason.trim(),
        until: e.until,
      });
    }
  });
  return { entries, problems };
}

/** The hint that follows a schema problem inside spec.drift.allow (what an entry looks like). */
export function driftAllowHint(path: readonly (string | number)[]): string {
  return path[0] === 'spec' && path[1] === 'drift' ? ` (${FORMAT})` : '';
}
