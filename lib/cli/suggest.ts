/**
 * "Did you mean …?" for mistyped command names.
 * @module
 */

/**
 * Optimal-string-alignment edit distance: insertions, deletions, substitutions and swaps of two
 * neighbouring characters each cost 1, so `stauts` is 1 away from `status`.
 * @param a one string
 * @param b the other
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    const row = d[i]!;
    const above = d[i - 1]!;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(above[j]! + 1, row[j - 1]! + 1, above[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      row[j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** Words longer than this get no suggestion. */
const MAX_SUGGESTED_LENGTH = 64;

/**
 * The candidate closest to `word`, if any is close enough to be a likely typo: a candidate that starts
 * with `word`, or one within an edit distance of max(2, ⌊length/3⌋). Ties go to the alphabetically first.
 * @param word what the user typed
 * @param candidates the valid names
 * @returns the suggestion, or undefined when nothing is close
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const needle = word.toLowerCase();
  // A word this long is no typo of a name; and the distance table grows with its length times the name's.
  if (needle === '' || needle.length > MAX_SUGGESTED_LENGTH) return undefined;
  const limit = Math.max(2, Math.floor(needle.length / 3));
  let best: { name: string; score: number } | undefined;
  for (const name of [...candidates].sort()) {
    const score = name.startsWith(needle) ? 0 : editDistance(needle, name.toLowerCase());
    if (score <= limit && (best === undefined || score < best.score)) best = { name, score };
  }
  return best?.name;
}
