/**
 * The tokens of the `.proj` language (spec §2) and the lexer over them.
 *
 * Every token has a `label` written for users: error messages print it as is
 * (`expected \`)\``, `expected a name`).
 */
import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /\s+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

export const Comment = createToken({
  name: 'Comment',
  pattern: /#[^\n\r]*/,
  group: Lexer.SKIPPED,
});

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  label: 'a name',
});

/**
 * The category of every keyword. Where a declaration names something (a kernel, a
 * parameter, a dim), the parser takes any keyword too, so that `dim: i32` gets the error
 * "`dim` is a keyword" instead of a cascade of syntax errors.
 */
export const Keyword = createToken({ name: 'Keyword', pattern: Lexer.NA, label: 'a keyword' });

/** Keywords win over `Identifier` only for the whole word: `kernels` stays a name. */
function keyword(word: string): TokenType {
  const name = `${word[0]?.toUpperCase() ?? ''}${word.slice(1)}`;
  return createToken({
    name,
    pattern: word,
    longer_alt: Identifier,
    categories: Keyword,
    label: `\`${word}\``,
  });
}

export const Kernel = keyword('kernel');
export const Fn = keyword('fn');
export const Return = keyword('return');
export const Dim = keyword('dim');
export const And = keyword('and');
export const Or = keyword('or');
export const Not = keyword('not');
export const True = keyword('true');
export const False = keyword('false');
export const Inf = keyword('inf');

/**
 * Number literals take Python's float forms: `12`, `0.5`, `.5`, `1.`, `1e-3`, `2.5E+4`.
 *
 * The token pattern is deliberately wider than a valid literal: it takes a digit (or `.`
 * and a digit) and every letter, digit, `.` and signed exponent that follows, so `1e`,
 * `1.2.3` and `2x` are one token. The parser accepts the token like a number and the
 * front end reports it as malformed (P0003, see `isWellFormedNumber`) instead of a
 * cascade of syntax errors on its pieces.
 */
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /(?:\d|\.\d)(?:[eE][+-]\d|[0-9A-Za-z_.])*/,
  label: 'a number',
});

const WELL_FORMED_NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether the text of a `NumberLiteral` token is a valid literal (spec §2). */
export function isWellFormedNumber(image: string): boolean {
  return WELL_FORMED_NUMBER.test(image);
}

function punct(name: string, text: string): TokenType {
  return createToken({ name, pattern: text, label: `\`${text}\`` });
}

// Order matters where one symbol is a prefix of another: the lexer takes the first match.
export const Arrow = punct('Arrow', '->');
export const StarStar = punct('StarStar', '**');
export const EqualEqual = punct('EqualEqual', '==');
export const NotEqual = punct('NotEqual', '!=');
export const LessEqual = punct('LessEqual', '<=');
export const GreaterEqual = punct('GreaterEqual', '>=');
export const Less = punct('Less', '<');
export const Greater = punct('Greater', '>');
export const Equals = punct('Equals', '=');
export const Plus = punct('Plus', '+');
export const Minus = punct('Minus', '-');
export const Star = punct('Star', '*');
export const Slash = punct('Slash', '/');
export const At = punct('At', '@');
export const LParen = punct('LParen', '(');
export const RParen = punct('RParen', ')');
export const LSquare = punct('LSquare', '[');
export const RSquare = punct('RSquare', ']');
export const LCurly = punct('LCurly', '{');
export const RCurly = punct('RCurly', '}');
export const Comma = punct('Comma', ',');
export const Colon = punct('Colon', ':');
export const Semicolon = punct('Semicolon', ';');
/** Marks an optional tensor parameter: `b: f32[V]?`. */
export const Question = punct('Question', '?');
// After NumberLiteral, so that `.5` is a number while `.T` is a dot and a name.
export const Dot = punct('Dot', '.');

/** Every token type, in the order the lexer tries them. */
export const allTokens: readonly TokenType[] = [
  WhiteSpace,
  Keyword,
  Comment,
  Kernel,
  Fn,
  Return,
  Dim,
  And,
  Or,
  Not,
  True,
  False,
  Inf,
  Identifier,
  NumberLiteral,
  Arrow,
  StarStar,
  EqualEqual,
  NotEqual,
  LessEqual,
  GreaterEqual,
  Less,
  Greater,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  At,
  LParen,
  RParen,
  LSquare,
  RSquare,
  LCurly,
  RCurly,
  Comma,
  Colon,
  Semicolon,
  Question,
  Dot,
];

/**
 * The lexer of `.proj` text. Skips whitespace and comments; characters no token matches
 * come back as `errors` (one per run of such characters) and are left out of `tokens`.
 */
export const projLexer = new Lexer([...allTokens], {
  // Positions are computed from offsets by the diagnostics code; line tracking here
  // would be wasted work.
  positionTracking: 'onlyOffset',
  ensureOptimizations: true,
});
