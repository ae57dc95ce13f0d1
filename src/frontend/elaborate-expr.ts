import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Code } from '../diagnostics/codes.ts';
import { lineCol, type Span } from '../diagnostics/source.ts';
import type { GraphBuilder } from '../graph/builder.ts';
import { typeText } from '../ir/print.ts';
import type { Attrs, DType, Op } from '../ir/types.ts';
import type { OpTypeError } from '../ops/record.ts';
import type { BinaryOp, Expr, FnDecl } from './ast.ts';
import { BUILTINS, type Lowering } from './builtins.ts';
import type { DiagnosticSink } from './diagnostics-sink.ts';
import { matmul } from './matmul.ts';
import { PRELUDE } from './prelude.ts';
import { didYouMean } from './suggest.ts';
import { ERROR, materialize, type Arg, type Value } from './values.ts';

/** Names visible to an expression: values and dims (a fn's dim args rename caller dims). */
export interface Scope {
  readonly values: ReadonlyMap<string, Value>;
  readonly dims: ReadonlyMap<string, string>;
}

/** Shared state of one kernel's elaboration. */
export interface ElabContext {
  readonly b: GraphBuilder;
  readonly sink: DiagnosticSink;
  /** User fns and the prelude's; user fns shadow the prelude. */
  readonly fns: ReadonlyMap<string, FnDecl>;
  /** fns with syntax errors: calls to them are silently invalid (the syntax error says it all). */
  readonly broken: ReadonlySet<FnDecl>;
  /** The fns being inlined, outermost first, to report recursion and call sites. */
  readonly calls: { name: string; span: Span }[];
  /** Where each node was first written in the user's source (prelude code maps to the call). */
  readonly spans: Map<number, Span>;
  /** Optional tensor parameters' nodes → their `present(b)` nodes. */
  readonly presence: Map<number, number>;
  /** Elaborates a fn body in a fresh scope; provided by the statement elaborator. */
  readonly inline: (fn: FnDecl, scope: Scope, callSpan: Span) => Value;
  /** Expressions elaborated so far in this kernel, fn bodies counted at each inlining. */
  readonly expansion: { count: number; exhausted: boolean };
}

/**
 * Inlining may expand a kernel to at most this many expressions. Equal calls are shared
 * (see `inlineFn`), so only calls with ever new arguments get here, e.g.
 * `fn g(x) = f(x + 1) + f(x * 3)` nested 30 deep: 2^30 distinct terms, which no graph holds.
 */
export const MAX_EXPANDED_EXPRESSIONS = 250_000;

type ChainExpr = Extract<Expr, { kind: 'unary' | 'binary' | 'transpose' }>;

const BINARY_OPS: Record<Exclude<BinaryOp, '@'>, Op> = {
  '+': 'add',
  '-': 'sub',
  '*': 'mul',
  '/': 'div',
  '**': 'pow',
  '==': 'eq',
  '!=': 'ne',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
  and: 'and',
  or: 'or',
};

/** Elaborates expressions of one scope into graph nodes, reporting problems to the sink. */
export class ExprElaborator implements Lowering {
  constructor(
    readonly ctx: ElabContext,
    readonly scope: Scope,
  ) {}

  /** `present(b)`: the hidden presence flag of an optional tensor parameter. */
  presence(v: Value, span: Span): Value {
    const p = v.kind === 'node' ? this.ctx.presence.get(v.id) : undefined;
    if (p !== undefined) return { kind: 'node', id: p };
    if (v.kind === 'error') return v;
    return this.report('P0230', '`present` takes an optional tensor parameter', span, {
      help: ['mark the parameter optional: `b: f32[V]?`, then write `present(b)`'],
    });
  }

  report(code: Code, message: string, span: Span, extra: Partial<Diagnostic> = {}): Value {
    const notes = [...(extra.notes ?? []), ...this.callNotes()];
    // A problem inside the prelude is the caller's: point at the user's outermost call and
    // show the prelude's line as a label.
    const userCall = this.ctx.calls.find((c) => c.span.file.path !== PRELUDE.path);
    if (span.file.path === PRELUDE.path && userCall) {
      const labels = [...(extra.labels ?? []), { span, message: 'inside the prelude' }];
      this.ctx.sink.push({
        severity: 'error',
        code,
        message,
        ...extra,
        span: userCall.span,
        labels,
        notes,
      });
      return ERROR;
    }
    this.ctx.sink.push({ severity: 'error', code, message, span, ...extra, notes });
    return ERROR;
  }

  /** Where an error inside an inlined fn came from. */
  private callNotes(): string[] {
    return [...this.ctx.calls].reverse().map((c) => {
      const { line, col } = lineCol(c.span.file, c.span.start);
      return `in the call of \`${c.name}\` at ${c.span.file.path}:${line}:${col}`;
    });
  }

  error(
    span: Span,
    code: 'P0202' | 'P0203' | 'P0206' | 'P0211',
    message: string,
    help: string[] = [],
  ): Value {
    return this.report(code, message, span, { help });
  }

  intLiteral(v: number, span?: Span): Value {
    const id = this.ctx.b.constant(v, 'i32');
    if (span && !this.fitsI32(id, { value: { kind: 'literal', value: v, integer: true }, span }))
      return ERROR;
    return { kind: 'node', id };
  }

  /**
   * Whether a literal that became constant `id` fits it: an integer literal taken as i32
   * must lie in [-2^31, 2^31) (P0504 otherwise), or it would wrap silently.
   */
  fitsI32(id: number | undefined, a: Arg): boolean {
    if (id === undefined || a.value.kind !== 'literal') return true;
    const n = this.ctx.b.node(id);
    const v = a.value.value;
    if (n.dtype !== 'i32' || (v >= -(2 ** 31) && v < 2 ** 31)) return true;
    this.report('P0504', `the integer literal ${v} does not fit in i32`, a.span, {
      notes: [
        'it is taken as i32 because the other operand is i32; i32 holds [-2147483648, 2147483647]',
      ],
      help: ['cast the other operand to f32 if a float is meant: `f32(t)`'],
    });
    return false;
  }

  dtypeOf(v: Value): DType | undefined {
    return v.kind === 'node' ? this.ctx.b.node(v.id).dtype : undefined;
  }

  dimsOf(v: Value): readonly string[] {
    return v.kind === 'node' ? this.ctx.b.node(v.id).dims : [];
  }

  describe(v: Value): string {
    if (v.kind === 'node') return typeText(this.ctx.b.node(v.id));
    if (v.kind === 'literal') return 'a number literal';
    if (v.kind === 'dim') return `the dim \`${v.dim}\``;
    return 'an invalid value';
  }

  /** Applies a primitive; literal operands adapt, type errors are reported at the blamed operand. */
  apply(op: Op, args: readonly Arg[], attrs: Attrs, span: Span, opSpan: Span = span): Value {
    if (args.some((a) => a.value.kind === 'error')) return ERROR;
    const dimArg = args.find((a) => a.value.kind === 'dim');
    if (dimArg) return this.dimAsValue(dimArg);
    const ids = materialize(
      this.ctx.b,
      args.map((a) => a.value),
    );
    if (ids.some((i) => i === undefined)) return ERROR;
    for (const [i, a] of args.entries())
      if (a.value.kind === 'literal' && !this.fitsI32(ids[i], a)) return ERROR;
    const r = this.ctx.b.tryOp(op, ids as number[], attrs);
    if (r.ok) return { kind: 'node', id: r.id };
    return this.typeError(r.error, args, opSpan);
  }

  private typeError(e: OpTypeError, args: readonly Arg[], opSpan: Span): Value {
    const blamed = e.arg !== undefined ? args[e.arg] : undefined;
    const notes =
      args.length > 1 ? args.map((a, i) => `operand ${i + 1} is ${this.describe(a.value)}`) : [];
    return this.report(e.code, e.message, blamed?.span ?? opSpan, {
      notes: [...notes, ...(e.notes ?? [])],
      help: e.help ?? [],
    });
  }

  dimAsValue(a: Arg): Value {
    if (a.value.kind !== 'dim') return ERROR;
    return this.report('P0112', `\`${a.value.dim}\` is a dim, not a value`, a.span, {
      help: ['use `size(d)` for its size as a number, or `index(d)` for its positions'],
    });
  }

  expr(e: Expr): Value {
    if (!this.counted(e)) return ERROR;
    return this.located(e, this.exprAt(e));
  }

  /** Counts one more expression; false (once reported) when inlining has run away. */
  private counted(e: Expr): boolean {
    const x = this.ctx.expansion;
    if (x.exhausted) return false;
    if (++x.count <= MAX_EXPANDED_EXPRESSIONS) return true;
    x.exhausted = true;
    const outer = this.ctx.calls[0];
    this.ctx.sink.push({
      severity: 'error',
      code: 'P0501',
      message: outer
        ? `inlining \`${outer.name}\` expands this kernel past ${MAX_EXPANDED_EXPRESSIONS} expressions`
        : `this kernel has more than ${MAX_EXPANDED_EXPRESSIONS} expressions`,
      span: outer?.span ?? e.span,
      notes: [
        ...(outer
          ? [
              'fns are inlined at every call (calls with equal arguments are shared), and these calls keep getting new arguments',
              `call chain when the limit was reached: ${this.ctx.calls.map((c) => c.name).join(' → ')}`,
            ]
          : []),
      ],
      help: ['call each fn once and reuse its result by name, or pass equal arguments'],
    });
    return false;
  }

  /** Remembers where a node was first written (prelude code maps to the user's call). */
  private located(e: Expr, v: Value): Value {
    if (v.kind === 'node' && !this.ctx.spans.has(v.id)) {
      const userCall = this.ctx.calls.find((c) => c.span.file.path !== PRELUDE.path);
      this.ctx.spans.set(
        v.id,
        e.span.file.path === PRELUDE.path && userCall ? userCall.span : e.span,
      );
    }
    return v;
  }

  private exprAt(e: Expr): Value {
    switch (e.kind) {
      case 'number':
        return { kind: 'literal', value: e.value, integer: Number.isInteger(e.value) };
      case 'bool':
        return { kind: 'node', id: this.ctx.b.constant(e.value ? 1 : 0, 'bool') };
      case 'name':
        return this.name(e.name, e.span);
      case 'unary':
      case 'binary':
      case 'transpose':
        return this.chain(e);
      case 'call':
        return this.call(e);
    }
  }

  /**
   * Operators along a left spine, iteratively: `a + b + c + ...` parses as
   * `((a + b) + c) + ...`, a tree as deep as the sum is long (and so do chains of unary
   * operators), which recursion would not survive at a few thousand terms. Right operands
   * recurse, but only brackets and precedence levels nest them.
   */
  private chain(e: ChainExpr): Value {
    const spine: ChainExpr[] = [];
    let base: Expr = e;
    while (base.kind === 'unary' || base.kind === 'binary' || base.kind === 'transpose') {
      spine.push(base);
      base = base.kind === 'binary' ? base.left : base.operand;
    }
    let v = this.expr(base);
    spine.reverse();
    for (const [i, s] of spine.entries()) {
      // `e` itself is counted and located by `expr`, its caller.
      if (i < spine.length - 1 && !this.counted(s)) return ERROR;
      v = this.step(s, v);
      if (i < spine.length - 1) this.located(s, v);
    }
    return v;
  }

  /** One operator of a chain, applied to its already elaborated left operand `v`. */
  private step(e: ChainExpr, v: Value): Value {
    switch (e.kind) {
      case 'unary':
        if (e.op === '-' && v.kind === 'literal') return { ...v, value: -v.value };
        return this.apply(
          e.op === '-' ? 'neg' : 'not',
          [{ value: v, span: e.operand.span }],
          {},
          e.span,
          e.opSpan,
        );
      case 'binary': {
        const l: Arg = { value: v, span: e.left.span };
        const r: Arg = { value: this.expr(e.right), span: e.right.span };
        if (e.op === '@') return matmul(this, l, r, e.span, e.opSpan);
        if (l.value.kind === 'literal' && r.value.kind === 'literal')
          return this.foldLiterals(e.op, l, r, e);
        return this.apply(BINARY_OPS[e.op], [l, r], {}, e.span, e.opSpan);
      }
      case 'transpose': {
        if (v.kind === 'error') return v;
        const dims = this.dimsOf(v);
        if (v.kind !== 'node' || dims.length !== 2)
          return this.report(
            'P0205',
            `\`.T\` needs a 2-D tensor, found ${this.describe(v)}`,
            e.operand.span,
          );
        return this.apply(
          'transpose',
          [{ value: v, span: e.operand.span }],
          { dims: [...dims].reverse() },
          e.span,
        );
      }
    }
  }

  /** Arithmetic on two literals stays an adaptive literal when the result is a number. */
  private foldLiterals(op: Exclude<BinaryOp, '@'>, l: Arg, r: Arg, e: Expr): Value {
    const a = l.value.kind === 'literal' ? l.value : undefined;
    const b = r.value.kind === 'literal' ? r.value : undefined;
    if (a && b && ['+', '-', '*'].includes(op)) {
      const value =
        op === '+' ? a.value + b.value : op === '-' ? a.value - b.value : a.value * b.value;
      return { kind: 'literal', value, integer: a.integer && b.integer };
    }
    return this.apply(BINARY_OPS[op], [l, r], {}, e.span);
  }

  name(name: string, span: Span): Value {
    const v = this.scope.values.get(name);
    if (v) return v;
    const dim = this.scope.dims.get(name);
    if (dim !== undefined) return { kind: 'dim', dim };
    const fnLike = this.ctx.fns.has(name) || BUILTINS.has(name);
    return this.report('P0101', `unknown name \`${name}\``, span, {
      help: fnLike
        ? [`\`${name}\` is a function: call it, e.g. \`${name}(...)\``]
        : didYouMean(name, [...this.scope.values.keys(), ...this.scope.dims.keys()]),
    });
  }

  /** Resolves a dim argument (`N`, or a fn's dim parameter) to the kernel's dim name. */
  dimArg(e: Expr): string | undefined {
    if (e.kind === 'name') {
      const d = this.scope.dims.get(e.name);
      if (d !== undefined) return d;
      if (this.scope.values.has(e.name)) {
        this.report('P0111', `expected a dim, found the value \`${e.name}\``, e.span);
        return undefined;
      }
      this.report('P0110', `unknown dim \`${e.name}\``, e.span, {
        help: didYouMean(e.name, this.scope.dims.keys()),
        notes: [`dims in scope: ${[...this.scope.dims.keys()].join(', ') || 'none'}`],
      });
      return undefined;
    }
    this.report('P0111', 'expected a dim name here', e.span);
    return undefined;
  }

  call(e: Extract<Expr, { kind: 'call' }>): Value {
    const name = e.callee.name;
    const fn = this.ctx.fns.get(name);
    if (fn) return this.callFn(fn, e);
    const bi = BUILTINS.get(name);
    if (!bi)
      return this.report('P0105', `unknown function \`${name}\``, e.callee.span, {
        help: didYouMean(name, [...BUILTINS.keys(), ...this.ctx.fns.keys()]),
      });
    const nValues = bi.values;
    const tooFew =
      e.args.length <
      nValues + (bi.dims === 'one' || (bi.dims === 'many' && nValues === 0) ? 1 : 0);
    const tooMany =
      bi.dims === 'none'
        ? e.args.length > nValues
        : bi.dims === 'one' && e.args.length > nValues + 1;
    if (tooFew || tooMany)
      return this.report(
        'P0106',
        `\`${name}\` takes ${arityText(bi.values, bi.dims)}, found ${e.args.length}`,
        e.span,
        {
          notes: [`signature: ${bi.signature}`],
        },
      );
    const args: Arg[] = e.args
      .slice(0, nValues)
      .map((a) => ({ value: this.expr(a), span: a.span }));
    const dims: string[] = [];
    let bad = false;
    for (const a of e.args.slice(nValues)) {
      const d = this.dimArg(a);
      if (d === undefined) bad = true;
      else dims.push(d);
    }
    if (bad) return ERROR;
    return bi.lower(this, args, dims, e.span);
  }

  private callFn(fn: FnDecl, e: Extract<Expr, { kind: 'call' }>): Value {
    if (this.ctx.broken.has(fn)) return ERROR;
    if (e.args.length !== fn.args.length)
      return this.report(
        'P0106',
        `\`${fn.name.name}\` takes ${fn.args.length} arguments, found ${e.args.length}`,
        e.span,
        {
          labels: [{ span: fn.name.span, message: 'declared here' }],
        },
      );
    const recursive = this.ctx.calls.find((c) => c.name === fn.name.name);
    if (recursive)
      return this.report(
        'P0107',
        `\`${fn.name.name}\` calls itself; fns are inlined and cannot recurse`,
        e.span,
        {
          notes: [
            `call chain: ${[...this.ctx.calls.map((c) => c.name), fn.name.name].join(' → ')}`,
          ],
        },
      );
    const values = new Map<string, Value>();
    const dims = new Map<string, string>();
    let bad = false;
    fn.args.forEach((a, i) => {
      const ex = e.args[i];
      if (!ex) return;
      if (a.isDim) {
        const d = this.dimArg(ex);
        if (d === undefined) bad = true;
        else dims.set(a.name.name, d);
      } else {
        const v = this.expr(ex);
        if (v.kind === 'error') bad = true;
        values.set(a.name.name, v);
      }
    });
    if (bad) return ERROR;
    return this.ctx.inline(fn, { values, dims }, e.span);
  }
}

function arityText(values: number, dims: 'none' | 'one' | 'many'): string {
  const v = `${values} value${values === 1 ? '' : 's'}`;
  if (dims === 'none') return values === 1 ? '1 argument' : `${values} arguments`;
  if (dims === 'one') return values ? `${v} and a dim` : 'a dim';
  return values ? `${v} and any number of dims` : 'one or more dims';
}
