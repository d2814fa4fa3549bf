/**
 * "Did you mean …?" for validate (docs/architecture.md §2): the closest of a few known words to a
 * typo, by edit distance (insert, delete, replace, swap two neighbours). Only a close word is
 * suggested: a far guess would send the user the wrong way.
 */

/** Optimal-string-alignment distance between a and b (case-insensitive; `-` and `_` are one letter). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase().replace(/-/g, '_');
  const y = b.toLowerCase().replace(/-/g, '_');
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/**
 * The known word closest to `word`, or undefined when none is close: at most 2 edits (1 for words
 * under 6 letters), and fewer edits than the shorter word has letters (so `db` never "means" `web`).
 * Ties go to the first in sorted order, so the suggestion is stable.
 */
export function closest(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of [...new Set(known)].sort()) {
    if (k === word) continue;
    const dist = editDistance(word, k);
    const shorter = Math.min(word.length, k.length);
    const limit = shorter < 6 ? 1 : 2;
    if (dist <= limit && dist < shorter && dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  return best;
}
