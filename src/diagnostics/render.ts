import type { Diagnostic } from './diagnostic.ts';
import { lineCol, lineText } from './source.ts';

/**
 * Renders a diagnostic rustc-style:
 *
 *     error[P0301]: cannot mix i32 and f32 in `+`
 *      --> examples/x.proj:3:7
 *       |
 *     3 |   y = t + 0.5
 *       |       ^^^^^^^
 *       = note: ...
 *       = help: ...
 *
 * The first line of the location (`FILE:LINE:COL: error: MESSAGE`) is also printed as a
 * one-line summary when `oneLine` is set, for tools that grep.
 */
export function renderDiagnostic(d: Diagnostic): string {
  const out: string[] = [`${d.severity}[${d.code}]: ${d.message}`];
  let gutter = '  ';
  if (d.span) {
    const { line, col } = lineCol(d.span.file, d.span.start);
    const allSpans = [{ span: d.span, message: '' }, ...(d.labels ?? [])];
    const width = Math.max(
      ...allSpans.map((l) => String(lineCol(l.span.file, l.span.start).line).length),
    );
    gutter = ' '.repeat(width + 1);
    out.push(`${' '.repeat(width)}--> ${d.span.file.path}:${line}:${col}`);
    out.push(`${gutter}|`);
    for (const l of allSpans) {
      const start = lineCol(l.span.file, l.span.start);
      const text = lineText(l.span.file, start.line);
      // The caret covers the span on its first line, at least one column.
      const endOnLine =
        lineCol(l.span.file, l.span.end).line === start.line
          ? lineCol(l.span.file, l.span.end).col
          : text.length + 1;
      const carets = Math.max(1, endOnLine - start.col);
      const mark = l === allSpans[0] ? '^' : '-';
      const labelText = l.message ? ` ${l.message}` : '';
      if (l.span.file !== d.span.file) out.push(`${gutter}::: ${l.span.file.path}`);
      out.push(`${String(start.line).padStart(width)} | ${text}`);
      out.push(`${gutter}| ${' '.repeat(start.col - 1)}${mark.repeat(carets)}${labelText}`);
    }
  }
  for (const n of d.notes ?? []) out.push(`${gutter}= note: ${n}`);
  for (const h of d.help ?? []) out.push(`${gutter}= help: ${h}`);
  return out.join('\n');
}

/** `FILE:LINE:COL: error: MESSAGE`, the one-line form of spec §9. */
export function diagnosticSummary(d: Diagnostic): string {
  if (!d.span) return `${d.severity}: ${d.message}`;
  const { line, col } = lineCol(d.span.file, d.span.start);
  return `${d.span.file.path}:${line}:${col}: ${d.severity}: ${d.message}`;
}

/** Summary line, then the full rustc-style block; what the CLI prints for each diagnostic. */
export function renderForTerminal(d: Diagnostic): string {
  // Without a position the summary would only repeat the header.
  return d.span ? `${diagnosticSummary(d)}\n${renderDiagnostic(d)}\n` : `${renderDiagnostic(d)}\n`;
}
