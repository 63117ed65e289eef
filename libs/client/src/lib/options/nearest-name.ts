/**
 * "Did you mean" for misspelt option names: the Levenshtein distance
 * (insertions, deletions, substitutions), compared case-insensitively first
 * so `websocket` finds `WebSocket`, with the exact-case distance breaking ties.
 */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

/** The candidate closest to `name`, or undefined when none is plausibly meant. */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: { candidate: string; folded: number; exact: number } | undefined;
  for (const candidate of candidates) {
    const folded = levenshtein(name.toLowerCase(), candidate.toLowerCase());
    const exact = levenshtein(name, candidate);
    if (folded > limit) continue;
    if (!best || folded < best.folded || (folded === best.folded && exact < best.exact))
      best = { candidate, folded, exact };
  }
  return best?.candidate;
}
