/**
 * The pinned images of an upgrade (docs/architecture.md §13): how many are kept, and the pruning of
 * the older ones after a successful upgrade.
 */
import { errorMessage } from '../errors.js';
import type { Runtime } from '../ports.js';
import type { UpgradeOutcome } from './types.js';

/** How many pinned images of a module are kept after a successful upgrade: the one just pinned and the one before. */
export const PINNED_KEEP = 2;

/**
 * After a successful upgrade (docs/architecture.md §13): keep the newest PINNED_KEEP pinned tags of this
 * module (`stateguard/pinned-<key>:<stamp>`, the stamps sort by time; the one just pinned always counts)
 * and remove the older ones by tag (never by image ID, never forced). A removal the engine refuses is a
 * warning, never a failed upgrade. Returns the words for the verdict.
 */
export async function prunePinnedImages(
  runtime: Runtime,
  key: string,
  pinned: string,
  say: (message: string) => void,
  out: UpgradeOutcome,
): Promise<string> {
  const repository = `stateguard/pinned-${key}`;
  const own = new RegExp(`^${repository.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d{14}$`);
  let tags: string[];
  try {
    tags = (await runtime.listImageTags(repository)).filter((t) => own.test(t));
  } catch (err) {
    const w = `could not list the older pinned images of this module: ${errorMessage(err)}; none removed`;
    out.warnings.push(w);
    say(w);
    return '';
  }
  const keep = new Set([
    pinned,
    ...tags
      .filter((t) => t !== pinned)
      .sort()
      .reverse()
      .slice(0, PINNED_KEEP - 1),
  ]);
  const removed: string[] = [];
  for (const tag of tags.filter((t) => !keep.has(t)).sort()) {
    try {
      await runtime.removeImageTag(tag);
      removed.push(tag);
    } catch (err) {
      const w = `could not remove the older pinned image ${tag}: ${errorMessage(err)}; it stays`;
      out.warnings.push(w);
      say(w);
    }
  }
  out.removed_pinned_images = removed;
  if (removed.length === 0) return '';
  say(`removed ${removed.length} older pinned image tag(s) of this module: ${removed.join(', ')}`);
  return ` Kept the pinned images ${[...keep].sort().join(', ')}; removed ${removed.join(', ')}.`;
}
