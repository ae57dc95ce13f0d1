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

/** 1-based line and column (in UTF-16 code units) of an offset. */
export function lineCol(file: SourceFile, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, file.text.length);
  for (let i = 0; i < end; i++) {
    if (file.text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: end - lineStart + 1 };
}

/** The text of a 1-based line, without its newline. */
export function lineText(file: SourceFile, line: number): string {
  return file.text.split(/\r?\n/)[line - 1] ?? '';
}
