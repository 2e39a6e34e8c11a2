// "Did you mean" hints for misspelt option names and enum values.

function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, '');
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate `name` most likely meant: one that matches ignoring case and `-`/`_`, is at most
 * 2 edits away, or is contained in it (`cudagraph_capture_sizes` -> `captureSizes`).
 */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  const wanted = normalize(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (bestDistance <= (wanted.length <= 4 ? 1 : 2)) return best;
  const containing = candidates
    .filter((candidate) => {
      const c = normalize(candidate);
      return Math.min(c.length, wanted.length) >= 4 && (wanted.includes(c) || c.includes(wanted));
    })
    .sort((a, b) => b.length - a.length);
  return containing[0];
}
