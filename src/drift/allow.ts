/**
 * The drift allowlist (docs/architecture.md §3, "Drift allowlist"), pure: which drift items a
 * module's `spec.drift.allow` entries name, on the plan's UTC day. An allowed item stays in the plan,
 * marked, and does not count; an expired entry allows nothing and the item says so. A
 * container.config item is allowed only when every field it lists is named by a live entry AND the
 * plan proved those fields the whole difference (`proven`, see src/plan/plan.ts): the field list
 * explains a config hash, it is not the verdict (docs/architecture.md §3, "Field-level config
 * differences"), so a change in a field stateguard does not compare can never hide behind it.
 */
import type { DriftAllowEntry } from '../model/drift-allow.js';
import { ALLOWABLE_FIELD } from '../model/drift-allow.js';
import type { DriftAllowance, DriftItem } from './types.js';

/** The plan's day: YYYY-MM-DD in UTC. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** An entry holds through its `until` day (UTC), inclusive. */
export function isLive(entry: Pick<DriftAllowEntry, 'until'>, today: string): boolean {
  return entry.until >= today;
}

/** The items that count: every item not allowed (exactly true) by a live entry. */
export function countedDrift<T extends Pick<DriftItem, 'allowed'>>(items: readonly T[]): T[] {
  return items.filter((d) => d.allowed !== true);
}

/**
 * The allowlist name a field-level difference answers to: `environment LOG_LEVEL (… → …)` -> `environment
 * LOG_LEVEL`; null for a field no entry can name.
 */
export function fieldName(field: string): string | null {
  const name = field.replace(/ \(.*\)$/s, '');
  return ALLOWABLE_FIELD.test(name) ? name : null;
}

/**
 * The plan's proof for a container.config item whose every field a live entry names: `equal` when compose's
 * config hash with the container's values of those fields put back equals every drifted container's
 * label, `differs` when it does not, `unknown` when it could not be computed (no proof: the item counts).
 */
export type ConfigProof = 'equal' | 'differs' | 'unknown';

/** A container.config item whose fields are all named by live entries: what the plan must prove. */
export interface ConfigProofRequest {
  /** the allowed field names (`environment LOG_LEVEL`, `label x`) */
  fields: string[];
}

function allowanceOf(entry: DriftAllowEntry, today: string, fields?: string[]): DriftAllowance {
  return {
    reason: entry.reason,
    until: entry.until,
    ...(fields ? { fields } : {}),
    expired: !isLive(entry, today),
  };
}

function expiredWords(entries: readonly DriftAllowance[]): string {
  return entries
    .filter((a) => a.expired)
    .map((a) => `allowance expired after ${a.until}${a.fields ? ` (${a.fields.join(', ')})` : ''}`)
    .join('; ');
}

/**
 * Mark one module's drift items with the entries that name them. `proven` says, for a container.config
 * item whose every field a live entry names, the plan's proof that those fields are the whole difference
 * (undefined: not asked; then the item counts). Returns new items (the input is not changed).
 */
export function applyAllowances(
  items: readonly DriftItem[],
  entries: readonly DriftAllowEntry[],
  today: string,
  proof?: ConfigProof,
): DriftItem[] {
  return items.map((item) => {
    if (item.key === 'container.config') return configItem(item, entries, today, proof);
    const entry = entries.find((e) => e.key === item.key);
    if (!entry) return item;
    const allowance = allowanceOf(entry, today);
    return {
      ...item,
      allowances: [allowance],
      allowed: !allowance.expired,
      ...(allowance.expired ? { allowance_note: `${expiredWords([allowance])}: it counts as drift again` } : {}),
    };
  });
}

function configItem(
  item: DriftItem,
  entries: readonly DriftAllowEntry[],
  today: string,
  proof: ConfigProof | undefined,
): DriftItem {
  const fields = item.fields ?? [];
  const byEntry = new Map<DriftAllowEntry, string[]>();
  const notNamed: string[] = [];
  for (const f of fields) {
    const name = fieldName(f);
    const entry = name === null ? undefined : entries.find((e) => e.key === item.key && e.fields?.includes(name));
    if (entry) byEntry.set(entry, [...(byEntry.get(entry) ?? []), name!]);
    else notNamed.push(f);
  }
  if (byEntry.size === 0) return item;
  const allowances = [...byEntry].map(([e, names]) => allowanceOf(e, today, names));
  const expired = expiredWords(allowances);
  const notes: string[] = [];
  if (expired) notes.push(expired);
  if (notNamed.length > 0) notes.push(`not allowed: ${notNamed.join(', ')}`);
  if (!expired && notNamed.length === 0 && proof !== 'equal') {
    const named = allowances.flatMap((a) => a.fields ?? []).join(', ');
    notes.push(
      proof === 'differs'
        ? `not proven the only difference: compose's config hash with the container's values of ${named} put ` +
            `back does not equal the container's, so something stateguard does not compare differs too`
        : `not proven the only difference: compose's config hash with the container's values of ${named} put ` +
            `back could not be computed`,
    );
  }
  return {
    ...item,
    allowances,
    allowed: notes.length === 0,
    ...(notes.length > 0 ? { allowance_note: `${notes.join('; ')}: it counts as drift` } : {}),
  };
}

/**
 * The proof a container.config item needs before it can be allowed: every field it lists is named by a
 * live entry (none expired, none unnamed). null when it cannot be allowed whatever the proof.
 */
export function configProofRequest(
  item: DriftItem,
  entries: readonly DriftAllowEntry[],
  today: string,
): ConfigProofRequest | null {
  if (item.key !== 'container.config' || !item.fields || item.fields.length === 0) return null;
  const names: string[] = [];
  for (const f of item.fields) {
    const name = fieldName(f);
    const entry = name === null ? undefined : entries.find((e) => e.key === item.key && e.fields?.includes(name));
    if (!entry || !isLive(entry, today)) return null;
    names.push(name!);
  }
  return { fields: [...new Set(names)] };
}
