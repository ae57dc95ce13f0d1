// A small SVG line chart, enough for the benchmark's plots: linear or logarithmic axes with
// ticks and grid lines, one polyline with markers per series, a legend and a title. The
// output is deterministic text (coordinates rounded to 0.1), so it can be snapshot-tested.

export type ScaleKind = 'linear' | 'log';

export interface Series {
  readonly name: string;
  /** [x, y] pairs; they are drawn in order of x. */
  readonly points: readonly (readonly [number, number])[];
  readonly line?: 'solid' | 'dashed' | 'dotted' | 'dashdot';
  /** Index into PALETTE; default the series' own index. */
  readonly color?: number;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xScale?: ScaleKind;
  readonly yScale?: ScaleKind;
  /** Base of the logarithmic ticks (2 or 10); default 10 for a span over 2 decades, else 2. */
  readonly xBase?: number;
  readonly yBase?: number;
  readonly xFormat?: (v: number) => string;
  readonly yFormat?: (v: number) => string;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
}

/** Colour-blind-safe palette (Okabe–Ito), in legend order. */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#F0E442',
  '#000000',
];

const MARGIN = { left: 96, top: 40, bottom: 52 };
/** Width of the plot area when the spec gives no width. */
const PLOT_WIDTH = 520;

/** A map from a domain to pixels; `log` needs a positive domain. */
export function scale(
  kind: ScaleKind,
  [d0, d1]: readonly [number, number],
  [r0, r1]: readonly [number, number],
): (v: number) => number {
  const f = kind === 'log' ? Math.log : (v: number) => v;
  const a = f(d0);
  const b = f(d1);
  const span = b - a || 1;
  return (v) => r0 + ((f(v) - a) / span) * (r1 - r0);
}

/** Ticks at 1, 2 or 5 × 10^k covering [lo, hi] with about `count` steps; the domain is widened to the outer ticks. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.5 : 1;
    return linearTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * (1 - 1e-9); v += step) ticks.push(round(v, step));
  return ticks;
}

/** Powers of `base` covering [lo, hi] (lo > 0), from the power at or below lo to the one at or above hi. */
export function logTicks(lo: number, hi: number, base = 10): number[] {
  const l = Math.floor(Math.log(lo) / Math.log(base) + 1e-9);
  let h = Math.ceil(Math.log(hi) / Math.log(base) - 1e-9);
  if (h === l) h = l + 1;
  const ticks: number[] = [];
  // Thin the ticks out to at most 9 by taking every k-th power.
  const k = Math.ceil((h - l + 1) / 9);
  for (let e = l; e <= h; e += k) ticks.push(base ** e);
  if ((ticks[ticks.length - 1] ?? 0) < hi) ticks.push(base ** (l + Math.ceil((h - l) / k) * k));
  return ticks;
}

function round(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(digits));
}

export function escapeXml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

const DASH = {
  solid: '',
  dashed: ' stroke-dasharray="7 4"',
  dotted: ' stroke-dasharray="2 3"',
  dashdot: ' stroke-dasharray="8 3 2 3"',
};
const colorOf = (s: Series, i: number) => PALETTE[(s.color ?? i) % PALETTE.length] ?? '#000000';

const n1 = (v: number) => (Math.round(v * 10) / 10).toString();

function defaultFormat(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e7 || Math.abs(v) < 1e-3)) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

function axisTicks(kind: ScaleKind, values: number[], base: number | undefined): number[] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (kind === 'linear') return linearTicks(Math.min(0, lo), hi);
  const b = base ?? (hi / lo > 100 ? 10 : 2);
  return logTicks(lo, hi, b);
}

/** The chart as an SVG document. */
export function lineChart(spec: ChartSpec): string {
  // The legend sits right of the plot, as wide as its longest name (about 7 px a character).
  const legend = 60 + 7 * Math.max(8, ...spec.series.map((s) => s.name.length));
  const width = spec.width ?? MARGIN.left + PLOT_WIDTH + legend;
  const height = spec.height ?? 420;
  const xKind = spec.xScale ?? 'linear';
  const yKind = spec.yScale ?? 'linear';
  const usable = (kind: ScaleKind, v: number) => Number.isFinite(v) && (kind === 'linear' || v > 0);
  const series = spec.series.map((s) => ({
    ...s,
    points: s.points
      .filter(([x, y]) => usable(xKind, x) && usable(yKind, y))
      .slice()
      .sort((a, b) => a[0] - b[0]),
  }));
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xTicks = axisTicks(xKind, xs.length ? xs : [1, 10], spec.xBase);
  const yTicks = axisTicks(yKind, ys.length ? ys : [1, 10], spec.yBase);
  const x0 = MARGIN.left;
  const x1 = width - legend;
  const y0 = height - MARGIN.bottom;
  const y1 = MARGIN.top;
  const xDomain = [xTicks[0] ?? 1, xTicks[xTicks.length - 1] ?? 10] as const;
  const yDomain = [yTicks[0] ?? 1, yTicks[yTicks.length - 1] ?? 10] as const;
  const sx = scale(xKind, xDomain, [x0, x1]);
  const sy = scale(yKind, yDomain, [y0, y1]);
  const fx = spec.xFormat ?? defaultFormat;
  const fy = spec.yFormat ?? defaultFormat;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${n1((x0 + x1) / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  out.push('<g class="grid" stroke="#e0e0e0" stroke-width="1">');
  for (const t of xTicks)
    out.push(`<line x1="${n1(sx(t))}" y1="${y1}" x2="${n1(sx(t))}" y2="${y0}"/>`);
  for (const t of yTicks)
    out.push(`<line x1="${x0}" y1="${n1(sy(t))}" x2="${x1}" y2="${n1(sy(t))}"/>`);
  out.push('</g>');
  out.push(
    `<g class="axes" stroke="#333333" stroke-width="1"><line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}"/></g>`,
  );
  out.push('<g class="x-ticks" text-anchor="middle">');
  for (const t of xTicks)
    out.push(
      `<line x1="${n1(sx(t))}" y1="${y0}" x2="${n1(sx(t))}" y2="${y0 + 5}" stroke="#333333"/><text x="${n1(sx(t))}" y="${y0 + 19}">${escapeXml(fx(t))}</text>`,
    );
  out.push('</g>');
  out.push('<g class="y-ticks" text-anchor="end">');
  for (const t of yTicks)
    out.push(
      `<line x1="${x0 - 5}" y1="${n1(sy(t))}" x2="${x0}" y2="${n1(sy(t))}" stroke="#333333"/><text x="${x0 - 8}" y="${n1(sy(t) + 4)}">${escapeXml(fy(t))}</text>`,
    );
  out.push('</g>');
  const xScaleNote = xKind === 'log' ? ' (log scale)' : '';
  const yScaleNote = yKind === 'log' ? ' (log scale)' : '';
  out.push(
    `<text x="${n1((x0 + x1) / 2)}" y="${height - 12}" text-anchor="middle">${escapeXml(spec.xLabel + xScaleNote)}</text>`,
    `<text x="16" y="${n1((y0 + y1) / 2)}" text-anchor="middle" transform="rotate(-90 16 ${n1((y0 + y1) / 2)})">${escapeXml(spec.yLabel + yScaleNote)}</text>`,
  );
  series.forEach((s, i) => {
    const color = colorOf(s, i);
    const dash = DASH[s.line ?? 'solid'];
    const pts = s.points.map(([x, y]) => `${n1(sx(x))},${n1(sy(y))}`).join(' ');
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    if (s.points.length > 1)
      out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    for (const [x, y] of s.points)
      out.push(`<circle cx="${n1(sx(x))}" cy="${n1(sy(y))}" r="3.5" fill="${color}"/>`);
    out.push('</g>');
  });
  out.push('<g class="legend">');
  series.forEach((s, i) => {
    const color = colorOf(s, i);
    const ly = y1 + 8 + i * 20;
    const dash = DASH[s.line ?? 'solid'];
    out.push(
      `<line x1="${x1 + 14}" y1="${ly}" x2="${x1 + 40}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/><circle cx="${x1 + 27}" cy="${ly}" r="3.5" fill="${color}"/><text x="${x1 + 46}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}
