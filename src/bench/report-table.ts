// The report's cell formats and its Markdown tables (prettier-aligned, so the generated
// README passes `prettier --check` as it is written).

export const pct = (x: number) =>
  !Number.isFinite(x) ? '–' : x < 0.001 ? `${(100 * x).toFixed(3)}%` : `${(100 * x).toFixed(1)}%`;
export const ratio = (x: number) => (!Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`);

/** A Markdown table, cells escaped for `|` and padded to align as prettier aligns them. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const all = [head, ...rows].map((r) => head.map((_, i) => cell(r[i] ?? '')));
  const widths = head.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [first = [], ...rest] = all;
  return [line(first), line(widths.map((w) => '-'.repeat(w))), ...rest.map(line)].join('\n');
}
