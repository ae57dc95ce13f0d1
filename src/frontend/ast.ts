import type { Span } from '../diagnostics/source.ts';
import { DTYPES, type DType } from '../ir/types.ts';

/** Storage and value dtypes of the language (spec §2, §6). */
// The language's dtype names are the IR's dtypes (the IR sits below the front end).
export type DTypeName = DType;
export const DTYPE_NAMES: readonly DTypeName[] = DTYPES;

export interface Ident {
  readonly name: string;
  readonly span: Span;
}

/** `DTYPE` or `DTYPE[D1, D2, ...]`; `dims` empty for a scalar. */
export interface TypeAst {
  readonly dtype: DTypeName;
  readonly dtypeSpan: Span;
  readonly dims: readonly Ident[];
  readonly span: Span;
}

export type BinaryOp =
  '+' | '-' | '*' | '/' | '@' | '**' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or';

export type UnaryOp = '-' | 'not';

export type Expr =
  /** A number literal; `inf` is `{value: Infinity, text: 'inf'}`. */
  | { readonly kind: 'number'; readonly value: number; readonly text: string; readonly span: Span }
  | { readonly kind: 'bool'; readonly value: boolean; readonly span: Span }
  | { readonly kind: 'name'; readonly name: string; readonly span: Span }
  | {
      readonly kind: 'unary';
      readonly op: UnaryOp;
      readonly operand: Expr;
      readonly opSpan: Span;
      readonly span: Span;
    }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly left: Expr;
      readonly right: Expr;
      readonly opSpan: Span;
      readonly span: Span;
    }
  /** `callee(args...)`; the callee is a name (built-in, prelude or user `fn`, or a cast). */
  | {
      readonly kind: 'call';
      readonly callee: Ident;
      readonly args: readonly Expr[];
      readonly span: Span;
    }
  /** `operand.T` */
  | { readonly kind: 'transpose'; readonly operand: Expr; readonly span: Span };

export type Stmt =
  | { readonly kind: 'assign'; readonly target: Ident; readonly value: Expr; readonly span: Span }
  | { readonly kind: 'return'; readonly value: Expr; readonly span: Span };

export interface ParamAst {
  readonly name: Ident;
  readonly type: TypeAst;
  /** Literal default (scalars only): a number, `true`/`false`, `inf` or a negated number. */
  readonly default?: Expr;
  /** `b: f32[V]?`: an optional tensor parameter (where the `?` is). */
  readonly optional?: Span;
  readonly span: Span;
}

/**
 * A dim declared in the parameter list with a constraint checked when the inputs are bound:
 * `S: dim = 2` (a fixed size) or `N: dim = M` (equal to another dim). Bare `S: dim` only
 * names the dim.
 */
export interface DimParamAst {
  readonly name: Ident;
  readonly equals?:
    | { readonly kind: 'size'; readonly value: number; readonly span: Span }
    | { readonly kind: 'dim'; readonly dim: Ident };
  readonly span: Span;
}

export type ResultAst =
  | { readonly kind: 'single'; readonly type: TypeAst; readonly span: Span }
  | {
      readonly kind: 'named';
      readonly fields: readonly { name: Ident; type: TypeAst }[];
      readonly span: Span;
    };

export interface KernelDecl {
  readonly kind: 'kernel';
  readonly name: Ident;
  readonly params: readonly ParamAst[];
  /** Dim constraints of the parameter list (`S: dim = 2`), in order. */
  readonly dimParams?: readonly DimParamAst[];
  readonly result: ResultAst;
  readonly body: readonly Stmt[];
  readonly span: Span;
}

/** A helper argument: a value (`x`) or a dim passed by the caller (`d: dim`). */
export interface FnArg {
  readonly name: Ident;
  readonly isDim: boolean;
  readonly span: Span;
}

export interface FnDecl {
  readonly kind: 'fn';
  readonly name: Ident;
  readonly args: readonly FnArg[];
  /** `fn f(x) = EXPR` is parsed as a body of one `return EXPR`. */
  readonly body: readonly Stmt[];
  readonly span: Span;
}

export type Decl = KernelDecl | FnDecl;

export interface Program {
  readonly decls: readonly Decl[];
}
