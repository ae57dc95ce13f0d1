/** Edit distance (insert, delete, substitute, each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The closest candidate to `name`, if it is close enough to be a likely typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.floor(name.length / 3));
  for (const c of candidates) {
    const d = c.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, c);
    // A one-letter name is a different name, not a typo of another one-letter name.
    if (d < bestD && d <= limit && d < name.length) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** `help: did you mean `x`?` when a close candidate exists. */
export function didYouMean(name: string, candidates: Iterable<string>): string[] {
  const c = closest(name, candidates);
  return c ? [`did you mean \`${c}\`?`] : [];
}
