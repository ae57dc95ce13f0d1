// What the benchmark asserts about its own measurements.
import type { Checks, ShapeResult } from './bench-types.ts';

/** projc's peak must stay at or under this fraction of the baseline's, at every shape. */
export const PEAK_LIMIT = 0.5;
/** What projc's best peak ratio at the largest shape should reach. */
export const LARGEST_SHAPE_AIM = 0.1;
export const TOLERANCE = 1e-4;

export function computeChecks(shapes: readonly ShapeResult[], tolerance = TOLERANCE): Checks {
  let worstErr = 0;
  let worstPeak = 0;
  // Shapes where the baseline could not run (a device limit) have no peak to compare with.
  const compared = shapes.filter((s) =>
    s.configs.some((c) => c.kind === 'baseline' && c.failure === undefined),
  );
  for (const s of shapes) {
    const base = s.configs.find((c) => c.kind === 'baseline');
    for (const c of s.configs) {
      if (c.kind !== 'projc') continue;
      for (const e of Object.values(c.maxRelError)) worstErr = Math.max(worstErr, e);
      if (!compared.includes(s)) continue;
      const ratio = base && base.peakBytes > 0 ? c.peakBytes / base.peakBytes : Infinity;
      worstPeak = Math.max(worstPeak, ratio);
    }
  }
  // The largest shape: the most logits, then the most rows.
  const largest = compared.reduce<ShapeResult | undefined>(
    (a, s) => (!a || s.logits > a.logits || (s.logits === a.logits && s.rows > a.rows) ? s : a),
    undefined,
  );
  let best = Infinity;
  let bestLabel = '';
  const base = largest?.configs.find((c) => c.kind === 'baseline');
  for (const c of largest?.configs ?? []) {
    if (c.kind !== 'projc' || !base) continue;
    const ratio = c.peakBytes / base.peakBytes;
    if (ratio < best) {
      best = ratio;
      bestLabel = c.label;
    }
  }
  return {
    tolerance,
    agreement: worstErr <= tolerance,
    worstRelError: worstErr,
    peakLimit: PEAK_LIMIT,
    peakOk: compared.length > 0 && worstPeak <= PEAK_LIMIT,
    worstPeakRatio: worstPeak,
    largestShape: largest?.dims ?? {},
    largestShapeRatio: best,
    largestShapeConfig: bestLabel,
    largestShapeAim: LARGEST_SHAPE_AIM,
  };
}
