/** A source text with a path, shared by every span that points into it. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

/** A half-open byte range `[start, end)` of a source file. */
export interface Span {
  readonly file: SourceFile;
  readonly start: number;
  readonly end: number;
}

export function span(file: SourceFile, start: number, end: number): Span {
  return { file, start, end };
}

/** The smallest span covering both. Both must be in the same file. */
export function joinSpans(a: Span, b: Span): Span {
  return { file: a.file, start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/**
 * Offsets where each line starts, computed once per file: rendering thousands of
 * diagnostics of one file must not rescan its text for each (that was quadratic).
 */
const lineStartsCache = new WeakMap<SourceFile, number[]>();

function lineStarts(file: SourceFile): number[] {
  let starts = lineStartsCache.get(file);
  if (!starts) {
    starts = [0];
    const t = file.text;
    for (let i = t.indexOf('\n'); i >= 0; i = t.indexOf('\n', i + 1)) starts.push(i + 1);
    lineStartsCache.set(file, starts);
  }
  return starts;
}

/** 1-based line and column (in UTF-16 code units) of an offset. */
export function lineCol(file: SourceFile, offset: number): { line: number; col: number } {
  const starts = lineStarts(file);
  const end = Math.max(0, Math.min(offset, file.text.length));
  // The last line start at or before `end`, by binary search.
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= end) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: end - (starts[lo] ?? 0) + 1 };
}

/** The text of a 1-based line, without its newline (nor a `\r` before it). */
export function lineText(file: SourceFile, line: number): string {
  const starts = lineStarts(file);
  const start = starts[line - 1];
  if (start === undefined || line < 1) return '';
  const next = starts[line];
  const text = file.text.slice(start, next === undefined ? file.text.length : next - 1);
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
