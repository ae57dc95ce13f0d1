/**
 * The concrete-syntax parser of `.proj` files (spec §3, §4): a pure chevrotain
 * `CstParser` with error recovery. Rules build the CST only, with a `LABEL` on every child
 * that src/frontend/cst-to-ast.ts reads; every check that needs more than the next tokens
 * (dtype names, `.T`, chained comparisons, keywords used as names) is made there.
 */
import { CstParser } from 'chevrotain';
import {
  allTokens,
  And,
  Arrow,
  At,
  Colon,
  Comma,
  Dim,
  Dot,
  EqualEqual,
  Equals,
  False,
  Fn,
  Greater,
  GreaterEqual,
  Identifier,
  Inf,
  Kernel,
  Keyword,
  LCurly,
  Less,
  LessEqual,
  LParen,
  LSquare,
  Minus,
  Not,
  NotEqual,
  NumberLiteral,
  Or,
  Plus,
  Question,
  RCurly,
  Return,
  RParen,
  RSquare,
  Semicolon,
  Slash,
  Star,
  StarStar,
  True,
} from './tokens.ts';
import { syntaxErrorMessages } from './error-messages.ts';

/**
 * The chevrotain parser; use the shared `projParser` instance.
 *
 * `validateGrammar` runs chevrotain's grammar checks (ambiguities, left recursion) when
 * the parser is built. They are off by default: they cost start-up time (every CLI call
 * builds the parser). The grammar test runs them.
 */
export class ProjParser extends CstParser {
  constructor(options: { validateGrammar?: boolean } = {}) {
    super([...allTokens], {
      recoveryEnabled: true,
      errorMessageProvider: syntaxErrorMessages,
      maxLookahead: 3,
      skipValidations: !(options.validateGrammar ?? false),
    });
    this.performSelfAnalysis();
  }

  /** file := (kernelDecl | fnDecl)* */
  readonly program = this.RULE('program', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.kernelDecl, { LABEL: 'decl' }) },
        { ALT: () => this.SUBRULE(this.fnDecl, { LABEL: 'decl' }) },
      ]);
    });
  });

  /** `kernel NAME(PARAM, ...) -> RESULT { STATEMENT... }` */
  readonly kernelDecl = this.RULE('kernelDecl', () => {
    this.CONSUME(Kernel);
    this.SUBRULE(this.declName, { LABEL: 'name' });
    this.CONSUME(LParen);
    // PARAM ("," PARAM)* ","? — the LL(2) lookahead tells `, name` from a trailing `, )`.
    this.OPTION(() => {
      this.SUBRULE(this.param, { LABEL: 'params' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.param, { LABEL: 'params' });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen);
    this.CONSUME(Arrow);
    this.SUBRULE(this.result);
    this.SUBRULE(this.block);
  });

  /**
   * `NAME ":" TYPE "?"? ("=" LITERAL)?`, or a dim constraint `NAME ":" dim ("=" (NUMBER |
   * NAME))?` (`S: dim = 2`, `N: dim = M`). Which combinations make sense is the converter's
   * and the elaborator's to say.
   */
  readonly param = this.RULE('param', () => {
    this.SUBRULE(this.declName, { LABEL: 'name' });
    this.CONSUME(Colon);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Dim);
          this.OPTION3(() => {
            this.CONSUME2(Equals);
            this.OR2([
              { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'dimSize' }) },
              { ALT: () => this.SUBRULE2(this.declName, { LABEL: 'dimEquals' }) },
            ]);
          });
        },
      },
      {
        ALT: () => {
          this.SUBRULE(this.type);
          this.OPTION2(() => this.CONSUME(Question, { LABEL: 'optional' }));
          this.OPTION(() => {
            this.CONSUME(Equals);
            this.SUBRULE(this.literal);
          });
        },
      },
    ]);
  });

  /** `DTYPE ("[" DIM ("," DIM)* ","? "]")?`; the dtype is a name, checked later. */
  readonly type = this.RULE('type', () => {
    this.CONSUME(Identifier, { LABEL: 'dtype' });
    this.OPTION(() => {
      this.CONSUME(LSquare);
      this.SUBRULE(this.declName, { LABEL: 'dims' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.declName, { LABEL: 'dims' });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
      this.CONSUME(RSquare, { LABEL: 'close' });
    });
  });

  /** A default value: `-`? (number | `inf`) | `true` | `false`. */
  readonly literal = this.RULE('literal', () => {
    this.OR([
      {
        ALT: () => {
          this.OPTION(() => this.CONSUME(Minus, { LABEL: 'minus' }));
          this.OR2([
            { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'value' }) },
            { ALT: () => this.CONSUME(Inf, { LABEL: 'value' }) },
          ]);
        },
      },
      { ALT: () => this.CONSUME(True, { LABEL: 'value' }) },
      { ALT: () => this.CONSUME(False, { LABEL: 'value' }) },
    ]);
  });

  /** `TYPE | "(" NAME ":" TYPE ("," NAME ":" TYPE)* ","? ")"` */
  readonly result = this.RULE('result', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.type, { LABEL: 'single' }) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.resultField, { LABEL: 'fields' });
          this.MANY(() => {
            this.CONSUME(Comma);
            this.SUBRULE2(this.resultField, { LABEL: 'fields' });
          });
          this.OPTION(() => this.CONSUME2(Comma));
          this.CONSUME(RParen, { LABEL: 'close' });
        },
      },
    ]);
  });

  /** `NAME ":" TYPE` inside named results. */
  readonly resultField = this.RULE('resultField', () => {
    this.SUBRULE(this.declName, { LABEL: 'name' });
    this.CONSUME(Colon);
    this.SUBRULE(this.type);
  });

  /** `fn NAME(ARG, ...) = EXPR ;?` or `fn NAME(ARG, ...) { STATEMENT... }` */
  readonly fnDecl = this.RULE('fnDecl', () => {
    this.CONSUME(Fn);
    this.SUBRULE(this.declName, { LABEL: 'name' });
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.fnArg, { LABEL: 'args' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.fnArg, { LABEL: 'args' });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Equals);
          this.SUBRULE(this.expression, { LABEL: 'value' });
          this.OPTION3(() => this.CONSUME(Semicolon));
        },
      },
      { ALT: () => this.SUBRULE(this.block) },
    ]);
  });

  /** `NAME` or `NAME ":" dim` */
  readonly fnArg = this.RULE('fnArg', () => {
    this.SUBRULE(this.declName, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.CONSUME(Dim);
    });
  });

  /**
   * A name being declared (kernel, fn, parameter, argument, result, dim). Keywords are
   * taken too, for the converter to say "`dim` is a keyword" rather than a cascade.
   */
  readonly declName = this.RULE('declName', () => {
    this.OR([
      { ALT: () => this.CONSUME(Identifier, { LABEL: 'name' }) },
      { ALT: () => this.CONSUME(Keyword, { LABEL: 'name' }) },
    ]);
  });

  /** `{ STATEMENT... }` */
  readonly block = this.RULE('block', () => {
    this.CONSUME(LCurly);
    this.MANY(() => this.SUBRULE(this.statement, { LABEL: 'statements' }));
    this.CONSUME(RCurly, { LABEL: 'close' });
  });

  /** `NAME = EXPR ;?` or `return EXPR ;?` */
  readonly statement = this.RULE('statement', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Return);
          this.SUBRULE(this.expression, { LABEL: 'value' });
        },
      },
      {
        ALT: () => {
          this.CONSUME(Identifier, { LABEL: 'target' });
          this.CONSUME(Equals);
          this.SUBRULE2(this.expression, { LABEL: 'value' });
        },
      },
    ]);
    this.OPTION(() => this.CONSUME(Semicolon));
  });

  // Expressions, loosest first. Each binary level is `operand (op operand)*` with every
  // operator labelled `ops`, so `operands[i + 1]` is the right side of `ops[i]`.

  readonly expression = this.RULE('expression', () => {
    this.SUBRULE(this.orExpr);
  });

  readonly orExpr = this.RULE('orExpr', () => {
    this.SUBRULE(this.andExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(Or, { LABEL: 'ops' });
      this.SUBRULE2(this.andExpr, { LABEL: 'operands' });
    });
  });

  readonly andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.notExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(And, { LABEL: 'ops' });
      this.SUBRULE2(this.notExpr, { LABEL: 'operands' });
    });
  });

  /** Prefix `not`, repeatable; binds looser than comparisons: `not a == b` is `not (a == b)`. */
  readonly notExpr = this.RULE('notExpr', () => {
    this.MANY(() => this.CONSUME(Not, { LABEL: 'ops' }));
    this.SUBRULE(this.comparison, { LABEL: 'operand' });
  });

  /**
   * Comparisons are not chainable (spec §4), but the grammar takes any number of them so
   * that `a < b < c` gets a precise error from the CST converter rather than a generic one.
   */
  readonly comparison = this.RULE('comparison', () => {
    this.SUBRULE(this.additive, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(EqualEqual, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(NotEqual, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(LessEqual, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(GreaterEqual, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(Less, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(Greater, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.additive, { LABEL: 'operands' });
    });
  });

  readonly additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Plus, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(Minus, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.multiplicative, { LABEL: 'operands' });
    });
  });

  readonly multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Star, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(Slash, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(At, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.unary, { LABEL: 'operands' });
    });
  });

  /** Prefix `-`, repeatable; looser than `**`, so `-x**2` is `-(x**2)`. */
  readonly unary = this.RULE('unary', () => {
    this.MANY(() => this.CONSUME(Minus, { LABEL: 'ops' }));
    this.SUBRULE(this.power, { LABEL: 'operand' });
  });

  /**
   * `postfix ("**" unary)?`: right-associative through the recursion, and the exponent may
   * start with `-` as in Python (`2 ** -1`).
   */
  readonly power = this.RULE('power', () => {
    this.SUBRULE(this.postfix, { LABEL: 'base' });
    this.OPTION(() => {
      this.CONSUME(StarStar, { LABEL: 'op' });
      this.SUBRULE(this.unary, { LABEL: 'exponent' });
    });
  });

  /** `primary ("." NAME)*`; the name must be `T`, which the converter checks. */
  readonly postfix = this.RULE('postfix', () => {
    this.SUBRULE(this.primary, { LABEL: 'operand' });
    this.MANY(() => {
      this.CONSUME(Dot);
      this.CONSUME(Identifier, { LABEL: 'members' });
    });
  });

  /** Literals, names, calls `NAME(ARGS)`, and `( EXPR )`. */
  readonly primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'number' }) },
      { ALT: () => this.CONSUME(Inf, { LABEL: 'number' }) },
      { ALT: () => this.CONSUME(True, { LABEL: 'bool' }) },
      { ALT: () => this.CONSUME(False, { LABEL: 'bool' }) },
      {
        ALT: () => {
          this.CONSUME(Identifier, { LABEL: 'name' });
          this.OPTION(() => this.SUBRULE(this.callArgs));
        },
      },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.expression, { LABEL: 'inner' });
          this.CONSUME(RParen, { LABEL: 'close' });
        },
      },
    ]);
  });

  /** `"(" (EXPR ("," EXPR)* ","?)? ")"` after a callee name. */
  readonly callArgs = this.RULE('callArgs', () => {
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: 'args' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.expression, { LABEL: 'args' });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen, { LABEL: 'close' });
  });
}

/** The one parser instance: building one runs a grammar analysis, so it is done once. */
export const projParser = new ProjParser();
