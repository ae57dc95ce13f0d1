/**
 * Syntax error messages for users (`expected \`)\`, found \`;\``), replacing chevrotain's
 * defaults, which list token sequences by internal names.
 */
import {
  EOF,
  tokenLabel,
  type IParserErrorMessageProvider,
  type IToken,
  type TokenType,
} from 'chevrotain';
import { Dim, RCurly } from './tokens.ts';

/**
 * What a rule expects, for a rule where listing its first tokens would read poorly
 * (`primary` starts with six kinds of token; "an expression" says it better).
 */
const RULE_EXPECTS: Readonly<Record<string, string>> = {
  program: '`kernel` or `fn`',
  declName: 'a name',
  primary: 'an expression',
  statement: 'a statement (`NAME = ...` or `return ...`)',
  literal: 'a default value (a number, `inf`, `true` or `false`)',
  result: 'a result type',
};

const MAX_SHOWN = 24;

/** How a found token reads in a message: `` `;` ``, or "end of file". */
function describeFound(token: IToken | undefined): string {
  if (token === undefined || token.tokenType === EOF) return 'end of file';
  const image =
    token.image.length > MAX_SHOWN ? `${token.image.slice(0, MAX_SHOWN)}…` : token.image;
  return `\`${image}\``;
}

/** `a`, `a or b`, `a, b or c` */
function oneOf(items: readonly string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1] ?? ''}`;
}

function expectedFirstTokens(paths: readonly (readonly TokenType[])[]): string {
  return oneOf(paths.flatMap((path) => (path[0] === undefined ? [] : [tokenLabel(path[0])])));
}

function expectedButFound(expected: string, actual: IToken | undefined): string {
  if (actual === undefined || actual.tokenType === EOF) {
    return `unexpected end of file, expected ${expected}`;
  }
  return `expected ${expected}, found ${describeFound(actual)}`;
}

/** The `errorMessageProvider` of the `.proj` parser. */
export const syntaxErrorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    // Expecting the end of the file means the last declaration is complete.
    if (expected === EOF) return expectedButFound(RULE_EXPECTS.program ?? '', actual);
    if (expected === Dim) return expectedButFound('`dim` (a fn argument has no type)', actual);
    // A block ends where no statement starts: the token is as likely a broken statement.
    if (expected === RCurly && actual.tokenType !== EOF) {
      return expectedButFound('a statement or `}`', actual);
    }
    return expectedButFound(tokenLabel(expected), actual);
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return expectedButFound(RULE_EXPECTS.program ?? '', firstRedundant);
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const expected = RULE_EXPECTS[ruleName] ?? expectedFirstTokens(expectedPathsPerAlt.flat());
    return expectedButFound(expected, actual[0]);
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const expected = RULE_EXPECTS[ruleName] ?? expectedFirstTokens(expectedIterationPaths);
    return expectedButFound(expected, actual[0]);
  },
};
