// Order statistics of repeated timings, and the agreement measure of two results.
import type { Tensor } from '../tensor/tensor.ts';

/** A sample summarized: median, quartiles (linear interpolation) and extremes. */
export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** The q-quantile of sorted values, interpolating linearly between order statistics. */
function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const a = sorted[lo] ?? NaN;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? a;
  return a + (b - a) * (pos - lo);
}

export function spread(values: readonly number[]): Spread {
  const s = [...values].sort((x, y) => x - y);
  return {
    median: quantile(s, 0.5),
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    n: s.length,
  };
}

/**
 * max|a − b| / max|b| over the elements (b is the reference); the absolute difference
 * when b is all zeros. Infinity when a shape differs or any element is not finite, so a
 * NaN can never pass as agreement.
 */
export function relativeError(a: Tensor, b: Tensor): number {
  if (a.data.length !== b.data.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.data.length; i++) {
    const x = a.data[i] ?? NaN;
    const y = b.data[i] ?? NaN;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      // The same infinity on both sides agrees (a result may legitimately be ±inf).
      if (x === y && !Number.isNaN(x)) continue;
      return Infinity;
    }
    diff = Math.max(diff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
  }
  return scale > 0 ? diff / scale : diff;
}
