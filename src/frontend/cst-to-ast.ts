/**
 * CST (grammar/parser.ts) → AST (ast.ts), with a span on every node.
 *
 * Spans: a node covers the text of its own construct, from its first to its last token.
 * Parentheses around an expression belong to the enclosing node: in `(a + b) * c` the `+`
 * node spans `a + b` and the `*` node spans `(a + b) * c`. A statement's span stops before
 * its optional `;`.
 *
 * Under error recovery the CST can lack children, or hold tokens chevrotain inserted; such
 * tokens count as missing. Every converter returns `undefined` for what it cannot make
 * whole, and the caller drops it: a broken statement, parameter or declaration disappears
 * from the AST, and the syntax error already reported says why.
 */
import { EOF, type CstElement, type CstNode, type IToken } from 'chevrotain';
import { Identifier } from '../../grammar/tokens.ts';
import type { Code } from '../diagnostics/codes.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { joinSpans, span, type SourceFile, type Span } from '../diagnostics/source.ts';
import {
  DTYPE_NAMES,
  type BinaryOp,
  type Decl,
  type DimParamAst,
  type Expr,
  type FnArg,
  type FnDecl,
  type Ident,
  type KernelDecl,
  type ParamAst,
  type Program,
  type ResultAst,
  type Stmt,
  type TypeAst,
  type UnaryOp,
} from './ast.ts';

/**
 * Converts the CST of a whole file (rule `program`) to its AST. The diagnostics are the
 * errors only the converter can see: unknown dtype names, a member other than `.T`, and
 * chained comparisons.
 */
export function cstToAst(
  cst: CstNode,
  file: SourceFile,
): { program: Program; diagnostics: Diagnostic[] } {
  const converter = new Converter(file);
  const decls = nodes(cst, 'decl').flatMap((d) => {
    const decl = d.name === 'kernelDecl' ? converter.kernel(d) : converter.fn(d);
    return decl === undefined ? [] : [decl];
  });
  return { program: { decls }, diagnostics: converter.diagnostics };
}

/** An expression and the extent of its CST node, which includes enclosing parentheses. */
interface Converted {
  readonly expr: Expr;
  readonly extent: Span;
}

const BINARY_OPS: ReadonlyMap<string, BinaryOp> = new Map(
  (['+', '-', '*', '/', '@', '**', '==', '!=', '<', '<=', '>', '>=', 'and', 'or'] as const).map(
    (op) => [op, op],
  ),
);

class Converter {
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly file: SourceFile) {}

  kernel(node: CstNode): KernelDecl | undefined {
    const name = this.declName(nodes(node, 'name')[0]);
    const resultNode = nodes(node, 'result')[0];
    const result = resultNode && this.result(resultNode);
    const body = this.block(nodes(node, 'block')[0]);
    const extent = this.extentOf(node);
    if (!name || !result || !body || !extent) return undefined;
    const all = nodes(node, 'params').flatMap((p) => optional(this.param(p)));
    const params = all.flatMap((p) => ('type' in p ? [p] : []));
    const dimParams = all.flatMap((p) => ('type' in p ? [] : [p]));
    return {
      kind: 'kernel',
      name,
      params,
      ...(dimParams.length ? { dimParams } : {}),
      result,
      body,
      span: extent,
    };
  }

  fn(node: CstNode): FnDecl | undefined {
    const name = this.declName(nodes(node, 'name')[0]);
    const extent = this.extentOf(node);
    if (!name || !extent) return undefined;
    const args = nodes(node, 'args').flatMap((a) => optional(this.fnArg(a)));
    const valueNode = nodes(node, 'value')[0];
    let body: Stmt[] | undefined;
    if (valueNode) {
      // `fn f(x) = EXPR` is a body of one `return EXPR`.
      const value = this.expression(valueNode);
      body = value && [{ kind: 'return', value: value.expr, span: value.extent }];
    } else {
      body = this.block(nodes(node, 'block')[0]);
    }
    if (!body) return undefined;
    return { kind: 'fn', name, args, body, span: extent };
  }

  private fnArg(node: CstNode): FnArg | undefined {
    const name = this.declName(nodes(node, 'name')[0]);
    if (!name) return undefined;
    const dim = this.tokenSpan(token(node, 'Dim'));
    const hasColon = tokens(node, 'Colon').length > 0;
    if (hasColon && !dim) return undefined;
    return { name, isDim: dim !== undefined, span: dim ? joinSpans(name.span, dim) : name.span };
  }

  private param(node: CstNode): ParamAst | DimParamAst | undefined {
    const name = this.declName(nodes(node, 'name')[0]);
    const dim = this.tokenSpan(token(node, 'Dim'));
    if (name && dim) return this.dimParam(node, name, dim);
    const typeNode = nodes(node, 'type')[0];
    const type = typeNode && this.type(typeNode);
    if (!name || !type) return undefined;
    const q = this.tokenSpan(token(node, 'optional'));
    const opt = q ? { optional: q } : {};
    const literalNode = nodes(node, 'literal')[0];
    if (!literalNode) return { name, type, ...opt, span: joinSpans(name.span, q ?? type.span) };
    const value = this.literal(literalNode);
    if (!value) return undefined;
    return { name, type, default: value, ...opt, span: joinSpans(name.span, value.span) };
  }

  /** `S: dim`, `S: dim = 2`, `N: dim = M`. */
  private dimParam(node: CstNode, name: Ident, dim: Span): DimParamAst | undefined {
    const sizeTok = token(node, 'dimSize');
    const sizeSpan = this.tokenSpan(sizeTok);
    if (sizeTok && sizeSpan) {
      const value = Number(sizeTok.image);
      if (!Number.isSafeInteger(value) || value < 0) {
        this.error('P0130', `the size of dim \`${name.name}\` must be a whole number`, sizeSpan, [
          `write \`${name.name}: dim = 2\`, or \`${name.name}: dim = M\` to tie it to another dim`,
        ]);
        return undefined;
      }
      return {
        name,
        equals: { kind: 'size', value, span: sizeSpan },
        span: joinSpans(name.span, sizeSpan),
      };
    }
    const other = nodes(node, 'dimEquals')[0];
    if (other) {
      const d = this.declName(other);
      if (!d) return undefined;
      return { name, equals: { kind: 'dim', dim: d }, span: joinSpans(name.span, d.span) };
    }
    return { name, span: joinSpans(name.span, dim) };
  }

  private literal(node: CstNode): Expr | undefined {
    const value = this.literalValue(token(node, 'value'));
    const minus = this.tokenSpan(token(node, 'minus'));
    if (!value || !minus) return value;
    const span = joinSpans(minus, value.span);
    return { kind: 'unary', op: '-', operand: value, opSpan: minus, span };
  }

  /** A number, `inf`, `true` or `false` token as an expression. */
  private literalValue(tok: IToken | undefined): Expr | undefined {
    const s = this.tokenSpan(tok);
    if (!tok || !s) return undefined;
    const text = tok.image;
    if (text === 'true' || text === 'false') {
      return { kind: 'bool', value: text === 'true', span: s };
    }
    // A malformed number token gives NaN here; parse.ts reports it (P0003).
    const value = text === 'inf' ? Infinity : Number(text);
    return { kind: 'number', value, text, span: s };
  }

  private type(node: CstNode): TypeAst | undefined {
    const dtypeToken = token(node, 'dtype');
    const dtypeSpan = this.tokenSpan(dtypeToken);
    if (!dtypeToken || !dtypeSpan) return undefined;
    const dtype = DTYPE_NAMES.find((d) => d === dtypeToken.image);
    if (!dtype) {
      this.error('P0002', `unknown dtype \`${dtypeToken.image}\``, dtypeSpan, [
        `a type is one of ${DTYPE_NAMES.join(', ')}, with optional dims: \`f32[N, V]\``,
      ]);
      return undefined;
    }
    const dims: Ident[] = [];
    for (const dim of nodes(node, 'dims')) {
      const ident = this.declName(dim);
      if (!ident) return undefined;
      dims.push(ident);
    }
    // With brackets, the type ends at `]`; a type whose `]` went missing is not whole.
    const hasBrackets = tokens(node, 'LSquare').length > 0;
    const close = this.tokenSpan(token(node, 'close'));
    if (hasBrackets && (!close || dims.length === 0)) return undefined;
    return { dtype, dtypeSpan, dims, span: close ? joinSpans(dtypeSpan, close) : dtypeSpan };
  }

  private result(node: CstNode): ResultAst | undefined {
    const singleNode = nodes(node, 'single')[0];
    if (singleNode) {
      const type = this.type(singleNode);
      return type && { kind: 'single', type, span: type.span };
    }
    const fields: { name: Ident; type: TypeAst }[] = [];
    for (const fieldNode of nodes(node, 'fields')) {
      const name = this.declName(nodes(fieldNode, 'name')[0]);
      const typeNode = nodes(fieldNode, 'type')[0];
      const type = typeNode && this.type(typeNode);
      if (!name || !type) return undefined;
      fields.push({ name, type });
    }
    const open = this.tokenSpan(token(node, 'LParen'));
    const close = this.tokenSpan(token(node, 'close'));
    if (!open || !close || fields.length === 0) return undefined;
    return { kind: 'named', fields, span: joinSpans(open, close) };
  }

  /** A block whose `}` went missing still holds whole statements, so it is kept. */
  private block(node: CstNode | undefined): Stmt[] | undefined {
    if (!node || !this.tokenSpan(token(node, 'LCurly'))) return undefined;
    return nodes(node, 'statements').flatMap((s) => optional(this.statement(s)));
  }

  private statement(node: CstNode): Stmt | undefined {
    const valueNode = nodes(node, 'value')[0];
    const value = valueNode && this.expression(valueNode);
    if (!value) return undefined;
    const ret = this.tokenSpan(token(node, 'Return'));
    if (ret) return { kind: 'return', value: value.expr, span: joinSpans(ret, value.extent) };
    const target = this.ident(token(node, 'target'));
    if (!target || !this.tokenSpan(token(node, 'Equals'))) return undefined;
    return {
      kind: 'assign',
      target,
      value: value.expr,
      span: joinSpans(target.span, value.extent),
    };
  }

  // --- expressions, one method per grammar level

  private expression(node: CstNode): Converted | undefined {
    const or = nodes(node, 'orExpr')[0];
    return or && this.binaryChain(or, (n) => this.binaryChain(n, (m) => this.notExpr(m)));
  }

  private notExpr(node: CstNode): Converted | undefined {
    const operand = nodes(node, 'operand')[0];
    const inner = operand && this.comparison(operand);
    return inner && this.prefixOps(node, 'not', inner);
  }

  private comparison(node: CstNode): Converted | undefined {
    const second = tokens(node, 'ops')[1];
    const secondSpan = this.tokenSpan(second);
    if (secondSpan) {
      this.error('P0002', 'comparison operators cannot be chained', secondSpan, [
        'compare two at a time and combine with `and`: `a < b and b < c`',
      ]);
    }
    return this.binaryChain(node, (additive) =>
      this.binaryChain(additive, (multiplicative) =>
        this.binaryChain(multiplicative, (unary) => this.unary(unary)),
      ),
    );
  }

  /** `operands[0] ops[0] operands[1] ...`, folded left-associatively. */
  private binaryChain(
    node: CstNode,
    operand: (n: CstNode) => Converted | undefined,
  ): Converted | undefined {
    const operandNodes = nodes(node, 'operands');
    const ops = tokens(node, 'ops');
    const first = operandNodes[0];
    let acc = first && operand(first);
    for (let i = 0; acc && i < ops.length; i++) {
      const opToken = ops[i];
      const opSpan = this.tokenSpan(opToken);
      const op = opToken && BINARY_OPS.get(opToken.image);
      const rightNode = operandNodes[i + 1];
      const right = rightNode && operand(rightNode);
      if (!opSpan || !op || !right) return undefined;
      const extent = joinSpans(acc.extent, right.extent);
      acc = {
        expr: { kind: 'binary', op, left: acc.expr, right: right.expr, opSpan, span: extent },
        extent,
      };
    }
    return acc;
  }

  private unary(node: CstNode): Converted | undefined {
    const operand = nodes(node, 'operand')[0];
    const inner = operand && this.power(operand);
    return inner && this.prefixOps(node, '-', inner);
  }

  /** Applies the node's prefix operators (`ops`) to `inner`, innermost last. */
  private prefixOps(node: CstNode, op: UnaryOp, inner: Converted): Converted | undefined {
    let acc = inner;
    const ops = tokens(node, 'ops');
    for (let i = ops.length - 1; i >= 0; i--) {
      const opSpan = this.tokenSpan(ops[i]);
      if (!opSpan) return undefined;
      const extent = joinSpans(opSpan, acc.extent);
      acc = { expr: { kind: 'unary', op, operand: acc.expr, opSpan, span: extent }, extent };
    }
    return acc;
  }

  private power(node: CstNode): Converted | undefined {
    const baseNode = nodes(node, 'base')[0];
    const base = baseNode && this.postfix(baseNode);
    if (!base) return undefined;
    const opToken = token(node, 'op');
    if (!opToken) return base;
    const opSpan = this.tokenSpan(opToken);
    const exponentNode = nodes(node, 'exponent')[0];
    const exponent = exponentNode && this.unary(exponentNode);
    if (!opSpan || !exponent) return undefined;
    const extent = joinSpans(base.extent, exponent.extent);
    return {
      expr: {
        kind: 'binary',
        op: '**',
        left: base.expr,
        right: exponent.expr,
        opSpan,
        span: extent,
      },
      extent,
    };
  }

  private postfix(node: CstNode): Converted | undefined {
    const operandNode = nodes(node, 'operand')[0];
    let acc = operandNode && this.primary(operandNode);
    for (const member of tokens(node, 'members')) {
      const memberSpan = this.tokenSpan(member);
      if (!acc || !memberSpan) return undefined;
      if (member.image !== 'T') {
        this.error('P0002', `unknown member \`.${member.image}\``, memberSpan, [
          'the only member is `.T`, the transpose of a 2-D tensor',
        ]);
        return undefined;
      }
      const extent = joinSpans(acc.extent, memberSpan);
      acc = { expr: { kind: 'transpose', operand: acc.expr, span: extent }, extent };
    }
    return acc;
  }

  private primary(node: CstNode): Converted | undefined {
    const literal = this.literalValue(token(node, 'number') ?? token(node, 'bool'));
    if (literal) return { expr: literal, extent: literal.span };
    const name = this.ident(token(node, 'name'));
    if (name) {
      const argsNode = nodes(node, 'callArgs')[0];
      if (!argsNode) return { expr: { kind: 'name', ...name }, extent: name.span };
      const close = this.tokenSpan(token(argsNode, 'close'));
      const args: Expr[] = [];
      for (const argNode of nodes(argsNode, 'args')) {
        const arg = this.expression(argNode);
        if (!arg) return undefined;
        args.push(arg.expr);
      }
      if (!close) return undefined;
      const extent = joinSpans(name.span, close);
      return { expr: { kind: 'call', callee: name, args, span: extent }, extent };
    }
    const innerNode = nodes(node, 'inner')[0];
    const inner = innerNode && this.expression(innerNode);
    const open = this.tokenSpan(token(node, 'LParen'));
    const close = this.tokenSpan(token(node, 'close'));
    if (!inner || !open || !close) return undefined;
    return { expr: inner.expr, extent: joinSpans(open, close) };
  }

  // --- tokens and spans

  /** A `declName` node; a keyword there is reported, and still taken as the name. */
  private declName(node: CstNode | undefined): Ident | undefined {
    const tok = node && token(node, 'name');
    const ident = this.ident(tok);
    if (tok && ident && tok.tokenType !== Identifier) {
      this.error('P0002', `\`${tok.image}\` is a keyword and cannot be used as a name`, ident.span);
    }
    return ident;
  }

  private ident(tok: IToken | undefined): Ident | undefined {
    const s = this.tokenSpan(tok);
    return tok && s && { name: tok.image, span: s };
  }

  /** The span of a real token; `undefined` for a missing or recovery-inserted one. */
  private tokenSpan(tok: IToken | undefined): Span | undefined {
    if (!tok || tok.isInsertedInRecovery || tok.tokenType === EOF) return undefined;
    if (!Number.isFinite(tok.startOffset) || tok.startOffset < 0) return undefined;
    return span(this.file, tok.startOffset, tok.startOffset + tok.image.length);
  }

  /** From the first to the last real token anywhere under `node`. */
  private extentOf(node: CstNode): Span | undefined {
    let start = Infinity;
    let end = -Infinity;
    const visit = (n: CstNode): void => {
      for (const children of Object.values(n.children)) {
        for (const child of children) {
          if (!isToken(child)) {
            visit(child);
            continue;
          }
          const s = this.tokenSpan(child);
          if (s) {
            start = Math.min(start, s.start);
            end = Math.max(end, s.end);
          }
        }
      }
    };
    visit(node);
    return start <= end ? span(this.file, start, end) : undefined;
  }

  private error(code: Code, message: string, at: Span, help?: string[]): void {
    this.diagnostics.push({ severity: 'error', code, message, span: at, ...(help && { help }) });
  }
}

// --- CST access: children by label, split by kind

function isToken(element: CstElement): element is IToken {
  return 'tokenType' in element;
}

function tokens(node: CstNode, label: string): IToken[] {
  return (node.children[label] ?? []).filter(isToken);
}

function token(node: CstNode, label: string): IToken | undefined {
  return tokens(node, label)[0];
}

function nodes(node: CstNode, label: string): CstNode[] {
  return (node.children[label] ?? []).filter((e): e is CstNode => !isToken(e));
}

function optional<T>(x: T | undefined): T[] {
  return x === undefined ? [] : [x];
}
