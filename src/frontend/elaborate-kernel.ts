import type { Span } from '../diagnostics/source.ts';
import { GraphBuilder } from '../graph/builder.ts';
import { typeText } from '../ir/print.ts';
import type { IrFunction, IrParam, IrResult } from '../ir/types.ts';
import type { Expr, FnDecl, KernelDecl, ParamAst, Stmt, TypeAst } from './ast.ts';
import type { DiagnosticSink } from './diagnostics-sink.ts';
import { PRELUDE, preludeFns } from './prelude.ts';
import { ExprElaborator, type ElabContext, type Scope } from './elaborate-expr.ts';
import { dimConstraints, presenceParams } from './elaborate-signature.ts';
import { didYouMean } from './suggest.ts';
import { walkExpr } from './walk.ts';
import { ERROR, materialize, type Value } from './values.ts';

/** A `fn` body may nest this deep in inlining before we call it runaway. */
const MAX_INLINE_DEPTH = 64;

/**
 * Elaborates one kernel to a typed IR function: binds parameters and their dims, runs the
 * statements in order (each name assigned once), inlines fn calls, and checks the results
 * against their declared types. Problems go to the sink; the function returned is complete
 * only when the sink gained no errors.
 */
export function elaborateKernel(
  k: KernelDecl,
  fns: ReadonlyMap<string, FnDecl>,
  sink: DiagnosticSink,
  broken: ReadonlySet<FnDecl> = new Set(),
): IrFunction {
  const b = new GraphBuilder();
  const labels = new Map<number, string>();
  const spans = new Map<number, Span>();
  const dims = declaredDims(k);
  const inlined: InlineMemo = new Map();
  const ctx: ElabContext = {
    b,
    sink,
    fns,
    broken,
    spans,
    calls: [],
    presence: new Map(),
    inline: (fn, scope, callSpan) => inlineFn(ctx, inlined, fn, scope, callSpan),
    expansion: { count: 0, exhausted: false },
  };
  const values = new Map<string, Value>();
  const params: IrParam[] = [];
  const declaredAt = new Map<string, Span>();
  for (const p of k.params) {
    const prev = declaredAt.get(p.name.name);
    if (prev) {
      sink.push({
        severity: 'error',
        code: 'P0103',
        message: `parameter \`${p.name.name}\` is declared twice`,
        span: p.name.span,
        labels: [{ span: prev, message: 'first declared here' }],
      });
      continue;
    }
    declaredAt.set(p.name.name, p.name.span);
    const dimNames = p.type.dims.map((d) => d.name);
    repeatedDim(p.type, sink);
    const id = b.param(p.name.name, p.type.dtype, dimNames);
    const def = defaultValue(p, sink);
    params.push({
      name: p.name.name,
      dtype: p.type.dtype,
      dims: dimNames,
      node: id,
      ...(def !== undefined ? { default: def } : {}),
    });
    values.set(p.name.name, { kind: 'node', id });
  }
  for (const [p, q] of presenceParams(k, params, b, sink)) ctx.presence.set(p, q);
  const constraints = dimConstraints(k, dims, sink);
  const scope: Scope = { values, dims: new Map(dims.map((d) => [d, d])) };
  const x = new ExprElaborator(ctx, scope);

  const resultTypes = new Map<string, TypeAst>(
    k.result.kind === 'single'
      ? [['out', k.result.type]]
      : k.result.fields.map((f) => [f.name.name, f.type]),
  );
  for (const t of resultTypes.values()) checkDimsDeclared(t, dims, sink);
  if (k.result.kind === 'named') repeatedResult(k.result.fields, sink);
  const produced = new Map<string, { value: Value; span: Span }>();
  const assignedAt = new Map<string, Span>();
  const used = trackUses(k.body);

  k.body.forEach((s, i) => {
    if (s.kind === 'return') {
      if (k.result.kind === 'named')
        return sink.push({
          severity: 'error',
          code: 'P0109',
          message: 'this kernel has named results: assign each of them instead of `return`',
          span: s.span,
          help: [`assign ${k.result.fields.map((f) => `\`${f.name.name} = ...\``).join(', ')}`],
        });
      if (i !== k.body.length - 1)
        sink.push({
          severity: 'error',
          code: 'P0109',
          message: '`return` must be the last statement',
          span: s.span,
        });
      produced.set('out', { value: x.expr(s.value), span: s.value.span });
      return;
    }
    const name = s.target.name;
    const prev = assignedAt.get(name) ?? declaredAt.get(name);
    if (prev) {
      sink.push({
        severity: 'error',
        code: 'P0102',
        message: `\`${name}\` is already ${declaredAt.has(name) ? 'a parameter' : 'assigned'}; values are immutable`,
        span: s.target.span,
        labels: [
          { span: prev, message: declaredAt.has(name) ? 'declared here' : 'first assigned here' },
        ],
        help: ['give the new value its own name'],
      });
      x.expr(s.value);
      return;
    }
    assignedAt.set(name, s.target.span);
    const v = x.expr(s.value);
    values.set(name, v);
    if (v.kind === 'node' && !labels.has(v.id) && b.node(v.id).op !== 'param')
      labels.set(v.id, name);
    if (resultTypes.has(name) && k.result.kind === 'named')
      produced.set(name, { value: v, span: s.value.span });
    else if (!used.has(name))
      sink.push({
        severity: 'warning',
        code: 'P0115',
        message: `\`${name}\` is assigned but never used`,
        span: s.target.span,
      });
  });

  const results: IrResult[] = [];
  for (const [name, type] of resultTypes) {
    const got = produced.get(name);
    if (!got) {
      sink.push({
        severity: 'error',
        code: 'P0108',
        message:
          name === 'out' && k.result.kind === 'single'
            ? `kernel \`${k.name.name}\` never returns a value`
            : `result \`${name}\` is never assigned`,
        span: k.result.kind === 'single' ? k.name.span : type.span,
        help: [
          name === 'out' && k.result.kind === 'single'
            ? 'end the body with `return EXPR`'
            : `assign it: \`${name} = ...\``,
        ],
      });
      continue;
    }
    // A declared dim no parameter has is already reported (P0110); a P0208 would repeat it.
    if (type.dims.some((d) => !dims.includes(d.name))) continue;
    const id = fitResult(x, got.value, got.span, type, name);
    if (id !== undefined) results.push({ name, node: id });
  }
  return {
    name: k.name.name,
    params,
    results,
    nodes: b.nodes,
    dims,
    ...(constraints.length ? { dimConstraints: constraints } : {}),
    labels,
    spans,
  };
}

/** Two results of one name would be one result, the other silently lost. */
function repeatedResult(
  fields: readonly { name: { name: string; span: Span } }[],
  sink: DiagnosticSink,
): void {
  const first = new Map<string, Span>();
  for (const f of fields) {
    const prev = first.get(f.name.name);
    if (!prev) {
      first.set(f.name.name, f.name.span);
      continue;
    }
    sink.push({
      severity: 'error',
      code: 'P0503',
      message: `result \`${f.name.name}\` is declared twice`,
      span: f.name.span,
      labels: [{ span: prev, message: 'first declared here' }],
      help: ['give each result its own name'],
    });
  }
}

/** Dims in order of first appearance in the parameters. */
function declaredDims(k: KernelDecl): string[] {
  const out: string[] = [];
  for (const p of k.params)
    for (const d of p.type.dims) if (!out.includes(d.name)) out.push(d.name);
  return out;
}

function repeatedDim(t: TypeAst, sink: DiagnosticSink): void {
  t.dims.forEach((d, i) => {
    if (t.dims.findIndex((e) => e.name === d.name) !== i)
      sink.push({
        severity: 'error',
        code: 'P0213',
        message: `dim \`${d.name}\` appears twice in one type`,
        span: d.span,
      });
  });
}

function checkDimsDeclared(t: TypeAst, dims: readonly string[], sink: DiagnosticSink): void {
  repeatedDim(t, sink);
  for (const d of t.dims)
    if (!dims.includes(d.name))
      sink.push({
        severity: 'error',
        code: 'P0110',
        message: `unknown dim \`${d.name}\`: no parameter declares it`,
        span: d.span,
        help: didYouMean(d.name, dims),
        notes: [
          `a result's dims must come from the parameters, whose shapes bind them at run time`,
        ],
      });
}

/** The literal default of a scalar parameter, checked against its dtype. */
function defaultValue(p: ParamAst, sink: DiagnosticSink): number | undefined {
  const d = p.default;
  if (!d) return undefined;
  if (p.type.dims.length) {
    sink.push({
      severity: 'error',
      code: 'P0113',
      message: `tensor parameter \`${p.name.name}\` cannot have a default`,
      span: d.span,
      notes: ['defaults are for scalar parameters only'],
    });
    return undefined;
  }
  const v = literalValue(d);
  const t = p.type.dtype;
  const fits =
    v !== undefined &&
    (t === 'bool'
      ? v.bool
      : !v.bool &&
        (t !== 'i32' || (Number.isInteger(v.value) && v.value >= -(2 ** 31) && v.value < 2 ** 31)));
  if (!fits || v === undefined) {
    sink.push({
      severity: 'error',
      code: 'P0209',
      message: `default value of \`${p.name.name}\` does not fit its type ${t}`,
      span: d.span,
      help: [
        t === 'bool' ? 'use `true` or `false`' : t === 'i32' ? 'use an integer' : 'use a number',
      ],
    });
    return undefined;
  }
  return v.value;
}

function literalValue(e: Expr): { value: number; bool: boolean } | undefined {
  if (e.kind === 'number') return { value: e.value, bool: false };
  if (e.kind === 'bool') return { value: e.value ? 1 : 0, bool: true };
  if (e.kind === 'unary' && e.op === '-' && e.operand.kind === 'number')
    return { value: -e.operand.value, bool: false };
  return undefined;
}

/**
 * Makes a result value match its declared type: literals become constants, the same dims
 * in another order are transposed, f32 values are rounded to a declared bf16/f16.
 */
function fitResult(
  x: ExprElaborator,
  v: Value,
  span: Span,
  t: TypeAst,
  name: string,
): number | undefined {
  if (v.kind === 'error') return undefined;
  if (v.kind === 'dim') {
    x.dimAsValue({ value: v, span });
    return undefined;
  }
  const b = x.ctx.b;
  const want = t.dims.map((d) => d.name);
  let id: number;
  if (v.kind === 'literal') {
    const c = materialize(b, [v])[0];
    if (c === undefined) return undefined;
    id = t.dtype === 'i32' && v.integer ? b.constant(v.value, 'i32') : c;
    if (!x.fitsI32(id, { value: v, span })) return undefined;
  } else id = v.id;
  const n = b.node(id);
  const sameSet = n.dims.length === want.length && want.every((d) => n.dims.includes(d));
  const floatish = (d: string) => d === 'f32' || d === 'f16' || d === 'bf16';
  const dtypeOk = n.dtype === t.dtype || (floatish(n.dtype) && floatish(t.dtype));
  if (!sameSet || !dtypeOk) {
    x.report(
      'P0208',
      `result \`${name}\` is declared ${typeText({ dtype: t.dtype, dims: want })} but the value is ${typeText(n)}`,
      span,
      {
        labels: [{ span: t.span, message: 'declared here' }],
        help: sameSet
          ? [`cast it: \`${t.dtype}(...)\``]
          : n.dims.length > want.length
            ? ['reduce the extra dims, e.g. with `sum` or `mean`']
            : [],
      },
    );
    return undefined;
  }
  if (n.dims.join() !== want.join()) id = b.op('transpose', [id], { dims: want });
  if (t.dtype !== b.node(id).dtype) id = b.op('cast', [id], { to: t.dtype });
  return id;
}

/** Names read anywhere in the body, for the unused-value warning. */
function trackUses(body: readonly Stmt[]): Set<string> {
  const used = new Set<string>();
  for (const s of body) walkExpr(s.value, (e) => e.kind === 'name' && used.add(e.name));
  return used;
}

/** The value of each fn call already inlined, by fn and by `callKey` of its arguments. */
type InlineMemo = Map<FnDecl, Map<string, Value>>;

/**
 * Equal calls give equal values: elaboration is a pure function of the fn and its
 * arguments (the builder hash-conses every node), so the key is the arguments' identity.
 */
function callKey(fn: FnDecl, scope: Scope): string {
  return fn.args
    .map((a) => {
      const d = scope.dims.get(a.name.name);
      if (d !== undefined) return `dim:${d}`;
      const v = scope.values.get(a.name.name);
      if (v?.kind === 'node') return `%${v.id}`;
      if (v?.kind === 'literal')
        return `${Object.is(v.value, -0) ? '-0' : String(v.value)}${v.integer ? 'i' : 'f'}`;
      return v?.kind ?? 'none';
    })
    .join(',');
}

/**
 * Inlines a fn call: its statements run in a fresh scope holding only its arguments. A call
 * equal to one already inlined reuses its value: `fn g(x) = f(x) + f(x)` nested 30 deep
 * would otherwise elaborate 2^30 bodies to build the same 31 nodes.
 */
function inlineFn(
  ctx: ElabContext,
  memo: InlineMemo,
  fn: FnDecl,
  scope: Scope,
  callSpan: Span,
): Value {
  const key = callKey(fn, scope);
  const known = memo.get(fn)?.get(key);
  if (known) return known;
  const value = inlineBody(ctx, fn, scope, callSpan);
  if (!ctx.expansion.exhausted) {
    const calls = memo.get(fn) ?? new Map<string, Value>();
    memo.set(fn, calls.set(key, value));
  }
  return value;
}

function inlineBody(ctx: ElabContext, fn: FnDecl, scope: Scope, callSpan: Span): Value {
  if (ctx.calls.length >= MAX_INLINE_DEPTH) {
    const outer = ctx.calls.find((c) => c.span.file.path !== PRELUDE.path) ?? ctx.calls[0];
    ctx.sink.push({
      severity: 'error',
      code: 'P0502',
      message: `fn calls nest more than ${MAX_INLINE_DEPTH} deep here`,
      span: outer?.span ?? callSpan,
      notes: [
        `call chain: ${[...ctx.calls.map((c) => c.name), fn.name.name].join(' → ')}`,
        'fns are inlined, so each nested call is one more level',
      ],
    });
    return ERROR;
  }
  ctx.calls.push({ name: fn.name.name, span: callSpan });
  try {
    const values = new Map(scope.values);
    // Prelude fns call prelude fns: a user's `softmax` must not change the prelude's `entropy`.
    const inner = fn.name.span.file.path === PRELUDE.path ? { ...ctx, fns: preludeFns() } : ctx;
    const x = new ExprElaborator(inner, { values, dims: scope.dims });
    const assigned = new Map<string, Span>();
    let result: Value | undefined;
    for (const s of fn.body) {
      if (s.kind === 'return') {
        result = x.expr(s.value);
        break;
      }
      const prev = assigned.get(s.target.name);
      if (prev || scope.values.has(s.target.name) || scope.dims.has(s.target.name)) {
        x.report(
          'P0102',
          `\`${s.target.name}\` is already ${prev ? 'assigned' : 'an argument'}; values are immutable`,
          s.target.span,
        );
        continue;
      }
      assigned.set(s.target.name, s.target.span);
      values.set(s.target.name, x.expr(s.value));
    }
    if (result === undefined) {
      x.report('P0108', `fn \`${fn.name.name}\` has no \`return\``, fn.name.span);
      return ERROR;
    }
    return result;
  } finally {
    ctx.calls.pop();
  }
}
