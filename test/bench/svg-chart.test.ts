// The SVG line chart: scales, ticks, escaping, well-formed output and a snapshot.
import { describe, expect, it } from 'vitest';
import {
  escapeXml,
  lineChart,
  linearTicks,
  logTicks,
  PALETTE,
  scale,
} from '../../src/bench/svg-chart.ts';
import { checkWellFormed } from './xml.ts';

describe('scales and ticks', () => {
  it('maps linear and log domains onto pixels', () => {
    const lin = scale('linear', [0, 10], [100, 200]);
    expect(lin(0)).toBe(100);
    expect(lin(5)).toBe(150);
    expect(lin(10)).toBe(200);
    const log = scale('log', [1, 100], [0, 200]);
    expect(log(1)).toBeCloseTo(0);
    expect(log(10)).toBeCloseTo(100);
    expect(log(100)).toBeCloseTo(200);
    // An inverted range (SVG y grows downwards).
    expect(scale('linear', [0, 1], [300, 100])(1)).toBe(100);
  });

  it('puts linear ticks at 1, 2, 5 × 10^k covering the data', () => {
    expect(linearTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linearTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0, 37)).toEqual([0, 10, 20, 30, 40]);
    const t = linearTicks(3, 3);
    expect(t[0]).toBeLessThanOrEqual(3);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(3);
  });

  it('puts log ticks at powers of the base, widened to whole powers', () => {
    expect(logTicks(256, 4096, 2)).toEqual([256, 512, 1024, 2048, 4096]);
    expect(logTicks(300, 5000, 2)).toEqual([256, 512, 1024, 2048, 4096, 8192]);
    expect(logTicks(3, 2000, 10)).toEqual([1, 10, 100, 1000, 10000]);
    // One value still spans a power.
    expect(logTicks(64, 64, 2)).toEqual([64, 128]);
    // Many decades are thinned to at most ~10 ticks, still covering the data.
    const wide = logTicks(1, 2 ** 40, 2);
    expect(wide.length).toBeLessThanOrEqual(10);
    expect(wide[wide.length - 1]).toBeGreaterThanOrEqual(2 ** 40);
  });

  it('escapes text for XML', () => {
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });
});

describe('lineChart', () => {
  const tiny = () =>
    lineChart({
      title: 'peak <bytes> & rows',
      xLabel: 'rows',
      yLabel: 'bytes',
      xScale: 'log',
      yScale: 'log',
      xBase: 2,
      yBase: 2,
      width: 400,
      height: 240,
      series: [
        {
          name: 'baseline',
          points: [
            [256, 4096],
            [64, 1024],
            [1024, 16384],
          ],
          line: 'dashed',
        },
        {
          name: 'projc',
          points: [
            [64, 512],
            [256, 1024],
            [1024, 2048],
          ],
        },
      ],
    });

  it('is a well-formed SVG document with axes, ticks, series and a legend', () => {
    const svg = tiny();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const names = checkWellFormed(svg);
    expect(names[0]).toBe('svg');
    expect(names.filter((n) => n === 'polyline')).toHaveLength(2);
    expect(names.filter((n) => n === 'circle')).toHaveLength(6 + 2); // points + legend markers
    expect(svg).toContain('peak &lt;bytes&gt; &amp; rows');
    expect(svg).toContain('rows (log scale)');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain(`stroke="${PALETTE[0]}"`);
    expect(svg).toContain(`stroke="${PALETTE[1]}"`);
  });

  it('sorts points by x and puts larger y higher', () => {
    const svg = tiny();
    const line = /<polyline points="([^"]+)"/.exec(svg)?.[1] ?? '';
    const pts = line.split(' ').map((p) => p.split(',').map(Number));
    const xs = pts.map((p) => p[0] ?? NaN);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    // baseline grows with rows: its y pixel decreases.
    const ys = pts.map((p) => p[1] ?? NaN);
    expect(ys[0]).toBeGreaterThan(ys[2] ?? NaN);
    // Equal log steps (64 → 256 → 1024) are equal pixel steps.
    expect((xs[1] ?? 0) - (xs[0] ?? 0)).toBeCloseTo((xs[2] ?? 0) - (xs[1] ?? 0), 0);
  });

  it('drops points a log scale cannot show', () => {
    const svg = lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      yScale: 'log',
      series: [
        {
          name: 's',
          points: [
            [1, 0],
            [2, 10],
            [3, 100],
          ],
        },
      ],
    });
    checkWellFormed(svg);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg.match(/<circle/g)).toHaveLength(2 + 1);
  });

  it('draws a chart without any data', () => {
    const svg = lineChart({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [] });
    checkWellFormed(svg);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('matches the snapshot of a tiny chart', () => {
    expect(tiny()).toMatchSnapshot();
  });
});
