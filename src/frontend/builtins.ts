import type { Attrs, DType, Op } from '../ir/types.ts';
import type { Span } from '../diagnostics/source.ts';
import { ERROR, type Arg, type Value } from './values.ts';
import type { OpRecord } from '../ops/record.ts';
import { OPS } from '../ops/registry.ts';

/** How a built-in's operations are emitted; implemented by the expression elaborator. */
export interface Lowering {
  /** Applies a primitive to value arguments (literals adapt), reporting type errors. */
  apply(op: Op, args: readonly Arg[], attrs: Attrs, span: Span): Value;
  /** The dtype of a value, undefined for untyped literals and errors. */
  dtypeOf(v: Value): DType | undefined;
  /** The dims of a value (`[]` for literals). */
  dimsOf(v: Value): readonly string[];
  /** An i32 constant. */
  intLiteral(v: number, span?: Span): Value;
  /** `present(b)` of an optional tensor parameter (P0230 for anything else). */
  presence(v: Value, span: Span): Value;
  /** Reports a user error at `span`. */
  error(
    span: Span,
    code: 'P0202' | 'P0203' | 'P0206' | 'P0211' | 'P0231',
    message: string,
    help?: string[],
  ): Value;
}

/**
 * The shape of a built-in's argument list: value arguments, then either exactly one dim,
 * or any number of dims (`dims*`: none means all of the value's dims).
 */
export interface Builtin {
  readonly name: string;
  readonly values: number;
  readonly dims: 'none' | 'one' | 'many';
  readonly signature: string;
  readonly doc: string;
  lower(l: Lowering, args: readonly Arg[], dims: readonly string[], span: Span): Value;
}

function elementwise(name: string, op: Op, arity: number, signature: string, doc: string): Builtin {
  return {
    name,
    values: arity,
    dims: 'none',
    signature,
    doc,
    lower: (l, args, _d, span) => l.apply(op, args, {}, span),
  };
}

/** Reductions over the named dims; with none, over every dim of the value. */
function reduction(name: string, op: Op, doc: string, signature?: string): Builtin {
  return {
    name,
    values: 1,
    dims: 'many',
    signature: signature ?? `${name}(x, d, ...)`,
    doc,
    lower: (l, args, dims, span) => {
      const x = args[0];
      if (!x) return { kind: 'error' };
      const axes = dims.length ? dims : l.dimsOf(x.value);
      return l.apply(op, [x], { axes }, span);
    },
  };
}

function cast(to: DType): Builtin {
  return {
    name: to,
    values: 1,
    dims: 'none',
    signature: `${to}(x)`,
    doc:
      to === 'bool'
        ? 'x != 0'
        : to === 'i32'
          ? 'to i32, truncating toward zero (saturating out of range, NaN → 0)'
          : to === 'f32'
            ? 'to f32 (bool gives 0.0 / 1.0)'
            : `round to ${to} precision (the value stays f32 in arithmetic)`,
    lower: (l, args, _d, span) => l.apply('cast', args, { to }, span),
  };
}

/**
 * P0206 in the words of the composite the user called (`mean`, `count`), before its
 * lowering to `sum` could report it as a `sum`.
 */
function missingDim(l: Lowering, name: string, x: Arg, dims: readonly string[]): Value | undefined {
  if (x.value.kind !== 'node') return undefined;
  const has = l.dimsOf(x.value);
  const d = dims.find((k) => !has.includes(k));
  if (d === undefined) return undefined;
  return l.error(
    x.span,
    'P0206',
    `\`${name}\` over \`${d}\`, but the value has dims [${has.join(', ')}]`,
  );
}

/**
 * The built-ins that call one op record as they are, from the records' `surface`: adding
 * such a primitive adds its built-in.
 */
function fromRecord(rec: OpRecord): Builtin | undefined {
  const s = rec.surface;
  if (!s) return undefined;
  if (rec.kind === 'reduction') return reduction(s.name, rec.op, s.doc, s.signature);
  const args = rec.arity === 1 ? 'x' : rec.arity === 2 ? 'a, b' : 'a, b, c';
  return elementwise(s.name, rec.op, rec.arity, s.signature ?? `${s.name}(${args})`, s.doc);
}

const list: Builtin[] = [
  ...Object.values(OPS).flatMap((r) => fromRecord(r) ?? []),
  {
    name: 'mean',
    values: 1,
    dims: 'many',
    signature: 'mean(x, d, ...)',
    doc: 'sum(x, d, ...) / (the number of elements summed)',
    lower: (l, args, dims, span) => {
      const x = args[0];
      if (!x) return { kind: 'error' };
      if (l.dtypeOf(x.value) === 'bool')
        return l.error(x.span, 'P0202', '`mean` cannot take a bool operand', [
          'to average a condition, use `count(c, ...) / size(...)` or `mean(f32(c), ...)`',
        ]);
      if (l.dtypeOf(x.value) === 'i32')
        return l.error(x.span, 'P0211', '`mean` is not defined for i32', [
          'cast first: `mean(f32(x), ...)`',
        ]);
      const lacking = missingDim(l, 'mean', x, dims);
      if (lacking) return lacking;
      const axes = dims.length ? dims : l.dimsOf(x.value);
      const s = l.apply('sum', [x], { axes }, span);
      const n = l.apply('size', [], { axes }, span);
      return l.apply(
        'div',
        [
          { value: s, span },
          { value: n, span },
        ],
        {},
        span,
      );
    },
  },
  {
    name: 'count',
    values: 1,
    dims: 'many',
    signature: 'count(c, d, ...)',
    doc: 'sum(f32(c), d, ...): how many elements of the bool c hold',
    lower: (l, args, dims, span) => {
      const c = args[0];
      if (!c) return { kind: 'error' };
      const t = l.dtypeOf(c.value);
      if (t !== undefined && t !== 'bool')
        return l.error(c.span, 'P0203', `\`count\` needs a bool, found ${t}`, [
          'compare to make a bool, e.g. `count(x != 0, N)`',
        ]);
      const lacking = missingDim(l, 'count', c, dims);
      if (lacking) return lacking;
      const axes = dims.length ? dims : l.dimsOf(c.value);
      const f = l.apply('cast', [c], { to: 'f32' }, span);
      return l.apply('sum', [{ value: f, span }], { axes }, span);
    },
  },
  {
    name: 'gather',
    values: 2,
    dims: 'one',
    signature: 'gather(x, idx, d)',
    doc: 'x at position idx along d (0 outside [0, size(d)))',
    // A literal index is a position: `gather(r, 0, S)` is an i32 0, not an f32 adapting to r.
    lower: (l, args, dims, span) =>
      l.apply(
        'gather',
        args.map((a, i) =>
          i === 1 && a.value.kind === 'literal' && a.value.integer
            ? { ...a, value: l.intLiteral(a.value.value, a.span) }
            : a,
        ),
        { dim: dims[0] ?? '' },
        span,
      ),
  },
  {
    name: 'index',
    values: 0,
    dims: 'one',
    signature: 'index(d)',
    doc: 'i32[d] holding 0 .. size(d) − 1',
    lower: (l, _args, dims, span) => l.apply('index', [], { dim: dims[0] ?? '' }, span),
  },
  {
    name: 'size',
    values: 0,
    dims: 'many',
    signature: 'size(d, ...)',
    doc: 'the product of the sizes of the dims, as f32 (a projc addition)',
    lower: (l, _args, dims, span) => l.apply('size', [], { axes: dims }, span),
  },
  {
    name: 'shift',
    values: 3,
    dims: 'one',
    signature: 'shift(x, k, fill, d)',
    doc: 'x at position t + k along d (k an integer literal); fill where t + k is outside d',
    lower: (l, args, dims, span) => {
      const [x, k, fill] = args;
      if (!x || !k || !fill) return ERROR;
      if (k.value.kind !== 'literal' || !k.value.integer)
        return l.error(k.span, 'P0231', 'the offset of `shift` must be an integer literal', [
          'e.g. `shift(target, 1, -100, T)`: the next position, -100 past the end',
        ]);
      return l.apply('shift', [x, fill], { dim: dims[0] ?? '', offset: k.value.value }, span);
    },
  },
  {
    name: 'cumsum',
    values: 1,
    dims: 'one',
    signature: 'cumsum(x, d)',
    doc: 'prefix sums along d: Σ over positions ≤ t',
    lower: (l, args, dims, span) => l.apply('cumsum', args, { dim: dims[0] ?? '' }, span),
  },
  {
    name: 'revcumsum',
    values: 1,
    dims: 'one',
    signature: 'revcumsum(x, d)',
    doc: 'suffix sums along d: Σ over positions ≥ t (reward-to-go)',
    lower: (l, args, dims, span) =>
      l.apply('cumsum', args, { dim: dims[0] ?? '', reverse: true }, span),
  },
  {
    name: 'present',
    values: 1,
    dims: 'none',
    signature: 'present(b)',
    doc: 'whether the optional tensor parameter `b` was given (a bool scalar)',
    lower: (l, args, _d, span) => (args[0] ? l.presence(args[0].value, args[0].span) : ERROR),
  },
  cast('f32'),
  cast('f16'),
  cast('bf16'),
  cast('i32'),
  cast('bool'),
];

/** Every built-in function by name. Composite helpers live in the prelude instead. */
export const BUILTINS: ReadonlyMap<string, Builtin> = new Map(list.map((b) => [b.name, b]));
