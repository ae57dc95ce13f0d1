// The benchmark's plots, drawn from the measurements: peak bytes and compute time against
// the rows (baseline and projc, one line per vocabulary size), and peak bytes and compute
// time against the chunk size at the largest number of rows.
import { formatBytes } from '../shell/format-bytes.ts';
import type { BenchReport, ConfigResult, ShapeResult } from './bench-types.ts';
import { lineChart, type Series } from './svg-chart.ts';

export interface Plot {
  readonly file: string;
  readonly title: string;
  readonly svg: string;
}

/** Shapes grouped by their dims other than the rows (`V=512`), in first-seen order. */
export function groupByInner(r: BenchReport): { key: string; shapes: ShapeResult[] }[] {
  const groups: { key: string; shapes: ShapeResult[] }[] = [];
  // Only dims that vary name a group; a fixed H would be noise in every legend.
  const varying = Object.keys(r.shapes[0]?.dims ?? {}).filter(
    (d) => !r.rowDims.includes(d) && new Set(r.shapes.map((s) => s.dims[d])).size > 1,
  );
  for (const s of r.shapes) {
    const key = varying.map((d) => `${d}=${s.dims[d]}`).join(' ');
    let g = groups.find((x) => x.key === key);
    if (!g) groups.push((g = { key, shapes: [] }));
    g.shapes.push(s);
  }
  return groups;
}

export const baselineOf = (s: ShapeResult) => s.configs.find((c) => c.kind === 'baseline');
/** TF.js where it ran and agreed: a failed shape has no point on the plots. */
export const tfjsOf = (s: ShapeResult) => s.configs.find((c) => c.kind === 'tfjs');
const tfjsOkOf = (s: ShapeResult) => {
  const c = tfjsOf(s);
  return c && c.failure === undefined ? c : undefined;
};
export const autoOf = (s: ShapeResult) =>
  s.configs.find((c) => c.kind === 'projc' && c.requests.includes('auto'));
/** The projc run with the fewest chunk rows. */
export const smallestOf = (s: ShapeResult) =>
  s.configs
    .filter((c) => c.kind === 'projc')
    .reduce<ConfigResult | undefined>(
      (a, c) => (a === undefined || (c.chunkRows ?? 0) < (a.chunkRows ?? 0) ? c : a),
      undefined,
    );

const suffix = (key: string) => (key ? `, ${key}` : '');
const rowsLabel = (r: BenchReport) => `rows (${r.rowDims.join('×')})`;
const ms = (v: number) => (v >= 1000 ? `${v / 1000} s` : `${v} ms`);

function seriesOf(
  name: string,
  shapes: readonly ShapeResult[],
  pick: (s: ShapeResult) => ConfigResult | undefined,
  y: (c: ConfigResult) => number,
  line: Series['line'],
  color: number,
): Series {
  const points = shapes.flatMap((s): [number, number][] => {
    const c = pick(s);
    return c ? [[s.rows, y(c)]] : [];
  });
  return { name, points, line, color };
}

/**
 * Per group of shapes: the baseline (dashed), projc auto (solid), projc's smallest chunk
 * (dotted), TF.js where it ran (dash-dot), one colour per group.
 */
function byRows(groups: ReturnType<typeof groupByInner>, y: (c: ConfigResult) => number): Series[] {
  return groups.flatMap((g, i) => [
    seriesOf(`baseline${suffix(g.key)}`, g.shapes, baselineOf, y, 'dashed', i),
    seriesOf(`projc auto${suffix(g.key)}`, g.shapes, autoOf, y, 'solid', i),
    seriesOf(`projc smallest chunk${suffix(g.key)}`, g.shapes, smallestOf, y, 'dotted', i),
    ...(g.shapes.some(tfjsOkOf)
      ? [seriesOf(`TF.js${suffix(g.key)}`, g.shapes, tfjsOkOf, y, 'dashdot', i)]
      : []),
  ]);
}

export function benchPlots(r: BenchReport): Plot[] {
  const groups = groupByInner(r);
  const plots: Plot[] = [];
  const title = `${r.kernel}${r.grad.length ? ` + grad ${r.grad.join(',')}` : ''}`;
  plots.push({
    file: 'peak-bytes-vs-rows.svg',
    title: 'Peak device bytes against rows',
    svg: lineChart({
      title: `${title}: peak device bytes`,
      xLabel: rowsLabel(r),
      yLabel: 'peak device bytes',
      xScale: 'log',
      yScale: 'log',
      xBase: 2,
      yBase: 2,
      yFormat: formatBytes,
      series: byRows(groups, (c) => c.peakBytes),
    }),
  });
  plots.push({
    file: 'time-vs-rows.svg',
    title: 'Median compute time against rows',
    svg: lineChart({
      title: `${title}: median compute time`,
      xLabel: rowsLabel(r),
      yLabel: 'compute time',
      xScale: 'log',
      yScale: 'log',
      xBase: 2,
      yFormat: ms,
      series: byRows(groups, (c) => c.time.median),
    }),
  });
  // Against the chunk size: the shape with the most rows of each group.
  const largest = groups.map((g) => ({
    key: g.key,
    shape: g.shapes.reduce((a, b) => (b.rows > a.rows ? b : a)),
  }));
  const vsChunk = (y: (c: ConfigResult) => number): Series[] =>
    largest.flatMap(({ key, shape }, i) => {
      const projc = shape.configs.filter((c) => c.kind === 'projc');
      const xs = projc.map((c) => c.chunkRows ?? 0);
      const base = baselineOf(shape);
      const at = `${r.rowDims.join('×')}=${shape.rows}${suffix(key)}`;
      const line: Series = {
        name: `projc, ${at}`,
        points: projc.map((c): [number, number] => [c.chunkRows ?? 0, y(c)]),
        color: i,
      };
      if (!base) return [line];
      const flat: Series = {
        name: `baseline, ${at}`,
        points: [Math.min(...xs), Math.max(...xs)].map((x): [number, number] => [x, y(base)]),
        line: 'dashed',
        color: i,
      };
      return [flat, line];
    });
  plots.push({
    file: 'peak-bytes-vs-chunk.svg',
    title: 'Peak device bytes against the chunk size',
    svg: lineChart({
      title: `${title}: peak bytes by chunk size`,
      xLabel: 'chunk rows',
      yLabel: 'peak device bytes',
      xScale: 'log',
      yScale: 'log',
      xBase: 2,
      yBase: 2,
      yFormat: formatBytes,
      series: vsChunk((c) => c.peakBytes),
    }),
  });
  plots.push({
    file: 'time-vs-chunk.svg',
    title: 'Median compute time against the chunk size',
    svg: lineChart({
      title: `${title}: compute time by chunk size`,
      xLabel: 'chunk rows',
      yLabel: 'compute time',
      xScale: 'log',
      yScale: 'log',
      xBase: 2,
      yFormat: ms,
      series: vsChunk((c) => c.time.median),
    }),
  });
  return plots;
}
