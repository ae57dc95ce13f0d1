/**
 * Text → AST: lexing, parsing with error recovery, and CST → AST conversion, each turning
 * its problems into diagnostics (P0001 unexpected character, P0002 syntax error, P0003
 * malformed number literal).
 */
import type { CstNode, ILexingError, IRecognitionException, IToken } from 'chevrotain';
import { projParser } from '../../grammar/parser.ts';
import { isWellFormedNumber, NumberLiteral, projLexer } from '../../grammar/tokens.ts';
import type { Code } from '../diagnostics/codes.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { span, type SourceFile, type Span } from '../diagnostics/source.ts';
import type { Decl, Program } from './ast.ts';
import { cstToAst } from './cst-to-ast.ts';

/**
 * Brackets nested deeper than this are refused before parsing: the recursive-descent
 * parser would run out of stack long before a person writes such a program.
 */
const MAX_NESTING = 64;

/**
 * Parses a whole `.proj` file. Never throws: every problem is a diagnostic, sorted by
 * position, and the program holds the declarations that parsed whole (all of them when
 * there are no diagnostics).
 */
export function parseProgram(file: SourceFile): { program: Program; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const decls: Decl[] = [];
  try {
    const lexed = projLexer.tokenize(file.text);
    diagnostics.push(...lexed.errors.map((e) => unexpectedCharacter(file, e)));
    for (const tok of lexed.tokens) {
      if (tok.tokenType === NumberLiteral && !isWellFormedNumber(tok.image)) {
        diagnostics.push(
          error('P0003', `malformed number literal \`${tok.image}\``, tokenSpan(file, tok), [
            'a number looks like `12`, `0.5`, `.5`, `1e-3` or `2.5E+4`',
          ]),
        );
      }
    }
    const tooDeep = findTooDeepBracket(lexed.tokens);
    if (tooDeep) {
      const message =
        tooDeep.image === '**'
          ? `\`**\` chained and brackets nested more than ${MAX_NESTING} deep`
          : `brackets nested more than ${MAX_NESTING} deep`;
      diagnostics.push(error('P0002', message, tokenSpan(file, tooDeep)));
    } else {
      const parsed = parseTokens(file, lexed.tokens, lexed.errors);
      diagnostics.push(...parsed.diagnostics);
      const converted = cstToAst(parsed.cst, file);
      decls.push(...converted.program.decls);
      diagnostics.push(...converted.diagnostics);
    }
  } catch (e) {
    // Bracket nesting is bounded above, but a chain of thousands of `**` (each nests in the
    // one before) can still exhaust the stack. Anything else is a bug of ours; either way
    // no exception may escape.
    const start = span(file, 0, 0);
    if (e instanceof RangeError) {
      diagnostics.push(error('P0002', 'could not parse this file: it is nested too deeply', start));
    } else {
      diagnostics.push(error('P0901', `internal error while parsing: ${String(e)}`, start));
    }
  }
  diagnostics.sort((a, b) => (a.span?.start ?? 0) - (b.span?.start ?? 0));
  return { program: { decls }, diagnostics };
}

/**
 * Runs the parser over the tokens. Chevrotain's recovery (token insertion and deletion,
 * re-sync at rule and repetition level) lets one run report errors in several statements
 * and declarations, and skip stray tokens between declarations.
 *
 * Recovery also resumes too early at times (`y == x` resumes at `x`, a new statement to
 * the parser), so only the first error of a line is kept: statements are written one to a
 * line, and the first error of a line is the one that explains it. An unexpected
 * character counts as that first error, and so silences the next parse error too.
 */
function parseTokens(
  file: SourceFile,
  tokens: IToken[],
  lexErrors: readonly ILexingError[],
): { cst: CstNode; diagnostics: Diagnostic[] } {
  projParser.input = tokens;
  const cst = projParser.program();
  const diagnostics: Diagnostic[] = [];
  const lineOf = lineIndex(file.text);
  const linesWithErrors = new Set(lexErrors.map((e) => lineOf(e.offset)));
  for (const err of projParser.errors) {
    const at = errorSpan(file, tokens, err);
    const line = lineOf(at.start);
    if (linesWithErrors.has(line) || followsLexError(tokens, at.start, lexErrors)) continue;
    linesWithErrors.add(line);
    diagnostics.push(error('P0002', err.message, at));
  }
  return { cst, diagnostics };
}

/** A function from offset to 0-based line number, by binary search over line starts. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
}

/**
 * Where a parse error points: its token, or, at the end of the file, an empty span just
 * after the last token (where the missing piece would go, not after trailing comments).
 */
function errorSpan(file: SourceFile, tokens: readonly IToken[], err: IRecognitionException): Span {
  const tok = err.token;
  if (Number.isFinite(tok.startOffset) && tok.startOffset >= 0 && tok.image.length > 0) {
    return tokenSpan(file, tok);
  }
  const last = tokens[tokens.length - 1];
  const end = last ? last.startOffset + last.image.length : 0;
  return span(file, end, end);
}

/** Whether a lexer error lies between the token before `offset` and `offset`. */
function followsLexError(
  tokens: readonly IToken[],
  offset: number,
  lexErrors: readonly ILexingError[],
): boolean {
  if (lexErrors.length === 0) return false;
  let previousEnd = 0;
  for (const t of tokens) {
    if (t.startOffset >= offset) break;
    previousEnd = t.startOffset + t.image.length;
  }
  return lexErrors.some((e) => e.offset >= previousEnd && e.offset < offset);
}

/**
 * The first token nested deeper than MAX_NESTING: brackets nest, and so does each `**` of a
 * chain (`a ** b ** c` is `a ** (b ** c)`, and the parser recurses for each), so both count.
 * Any other operator or a comma ends a `**` chain at its bracket level; a chain the count
 * misses (`a ** -b ** -c ...`) is still caught, unlocated, by the RangeError fallback.
 */
function findTooDeepBracket(tokens: readonly IToken[]): IToken | undefined {
  const powerRuns: number[] = [0];
  for (const t of tokens) {
    if (t.image === '(' || t.image === '[' || t.image === '{') powerRuns.push(0);
    else if (t.image === ')' || t.image === ']' || t.image === '}') {
      if (powerRuns.length > 1) powerRuns.pop();
    } else if (t.image === '**') powerRuns[powerRuns.length - 1] = (powerRuns.at(-1) ?? 0) + 1;
    else if (!/^[\w.]/.test(t.image)) powerRuns[powerRuns.length - 1] = 0;
    const depth = powerRuns.length - 1 + powerRuns.reduce((a, b) => a + b, 0);
    if (depth > MAX_NESTING) return t;
  }
  return undefined;
}

/** P0001 for the first character the lexer could not match, as one character. */
function unexpectedCharacter(file: SourceFile, e: ILexingError): Diagnostic {
  const codePoint = file.text.codePointAt(e.offset) ?? 0;
  const char = String.fromCodePoint(codePoint);
  // Control and invisible characters are shown by their code.
  const shown = /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char)
    ? char
    : `\\u{${codePoint.toString(16).toUpperCase()}}`;
  return error(
    'P0001',
    `unexpected character \`${shown}\``,
    span(file, e.offset, e.offset + char.length),
  );
}

function tokenSpan(file: SourceFile, tok: IToken): Span {
  return span(file, tok.startOffset, tok.startOffset + tok.image.length);
}

function error(code: Code, message: string, at: Span, help?: string[]): Diagnostic {
  return { severity: 'error', code, message, span: at, ...(help && { help }) };
}
