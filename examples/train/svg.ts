// A minimal SVG bar chart for the training page's peak bytes (the line charts use the
// benchmark's module, src/bench/svg-chart.ts, which has no bar chart). Deterministic text.

import { escapeXml as esc, PALETTE } from '../../src/bench/svg-chart.ts';

export { PALETTE };

/** A bar chart of a few labelled values (peak bytes), with the value printed on each bar. */
export function barChart(
  bars: readonly { label: string; value: number; color: string; text: string }[],
  opts: { title: string; width?: number; height?: number },
): string {
  const W = opts.width ?? 520;
  const rowH = 34;
  const H = opts.height ?? 48 + bars.length * rowH;
  const l = 150;
  const r = 110;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = 36 + i * rowH;
    const w = ((W - l - r) * b.value) / max;
    out.push(
      `<text x="${l - 8}" y="${y + 12}" text-anchor="end" dominant-baseline="middle">${esc(b.label)}</text>`,
      `<rect x="${l}" y="${y}" width="${w.toFixed(1)}" height="24" fill="${b.color}"/>`,
      `<text x="${(l + w + 6).toFixed(1)}" y="${y + 12}" dominant-baseline="middle">${esc(b.text)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
