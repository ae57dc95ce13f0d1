import type { Dim } from '../ir/types.ts';
import { forEachIndex, makeTensor, numel, stridesIn, type Tensor } from '../tensor/tensor.ts';
import type {
  EvalFn,
  InferResult,
  Monoid,
  ReductionRecord,
  Surface,
  ValueType,
  VjpRule,
} from './record.ts';
import { arithDtype, checkOperands } from './dtype-rules.ts';
import { fail, ok } from './record.ts';
import { input } from './unary.ts';
import { LSE, MAXIMUM, MINIMUM } from './wgsl-helpers.ts';

/** Result dims of reducing `dims` over `axes`: the dims left, in their order. */
export function reducedDims(dims: readonly Dim[], axes: readonly Dim[]): Dim[] {
  return dims.filter((d) => !axes.includes(d));
}

function reduceInfer(name: string, floatOnly: boolean) {
  return (args: readonly ValueType[], attrs: { axes?: readonly Dim[] }): InferResult => {
    const a = args[0];
    if (!a) return fail('P0901', `${name} needs an operand`);
    const c = checkOperands(name, args, floatOnly ? 'float' : 'numeric');
    if (!c.ok) return c.result;
    const axes = attrs.axes ?? [];
    for (const d of axes)
      if (!a.dims.includes(d))
        return fail(
          'P0206',
          `\`${name}\` over \`${d}\`, but the value has dims [${a.dims.join(', ')}]`,
          {
            arg: 0,
          },
        );
    return ok(arithDtype(a.dtype), reducedDims(a.dims, axes));
  };
}

/**
 * Evaluates a reduction: for each output element, gathers the reduced elements into a
 * scratch array and folds them with `fold`.
 */
function evalReduce(fold: (xs: Float64Array) => number): EvalFn {
  return (args, node, sizes) => {
    const x = args[0] as Tensor;
    const out = makeTensor(node.dtype, node.dims, sizes);
    const axes = x.dims.filter((d) => !node.dims.includes(d));
    const inner = axes.map((d) => sizes.get(d) ?? 0);
    const scratch = new Float64Array(numel(inner));
    const outer = stridesIn(x, node.dims);
    const innerStrides = stridesIn(x, axes);
    forEachIndex(out.shape, [outer], (flat, [base]) => {
      forEachIndex(inner, [innerStrides], (k, [o]) => {
        scratch[k] = x.data[(base ?? 0) + (o ?? 0)] ?? 0;
      });
      // i32 results wrap to 32 bits like the GPU's (sums are exact in float64 below 2^21 elements).
      out.data[flat] = node.dtype === 'i32' ? fold(scratch) | 0 : fold(scratch);
    });
    return out;
  };
}

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

const SUM: Monoid = {
  width: 1,
  identity: () => [0],
  fold: (xs) => {
    let s = 0;
    for (const v of xs) s += v;
    return s;
  },
  push: (a, x) => `${a} + ${x}`,
  merge: (a, b) => `${a} + ${b}`,
  finish: (a) => a,
  helpers: [],
};

// NaN propagates through max/min (PyTorch's amax/amin); the empty reduction gives ∓inf.
function foldMax(xs: Float64Array): number {
  let m = -Infinity;
  for (const v of xs) if (v > m || Number.isNaN(v)) m = v;
  return m;
}

const MAX: Monoid = {
  width: 1,
  identity: (d) => [d === 'i32' ? I32_MIN : -Infinity],
  fold: foldMax,
  push: (a, x, t) => (t === 'f32' ? `maximum_(${a}, ${x})` : `max(${a}, ${x})`),
  merge: (a, b, t) => (t === 'f32' ? `maximum_(${a}, ${b})` : `max(${a}, ${b})`),
  finish: (a) => a,
  helpers: [MAXIMUM],
};

const MIN: Monoid = {
  width: 1,
  identity: (d) => [d === 'i32' ? I32_MAX : Infinity],
  fold: (xs) => {
    let m = Infinity;
    for (const v of xs) if (v < m || Number.isNaN(v)) m = v;
    return m;
  },
  push: (a, x, t) => (t === 'f32' ? `minimum_(${a}, ${x})` : `min(${a}, ${x})`),
  merge: (a, b, t) => (t === 'f32' ? `minimum_(${a}, ${b})` : `min(${a}, ${b})`),
  finish: (a) => a,
  helpers: [MINIMUM],
};

/**
 * log Σ e^x as an online (m, s) pair: m the max so far, s = Σ e^(x − m). Merging rescales
 * the smaller side: (m₁, s₁) ⊕ (m₂, s₂) = (m, s₁e^(m₁−m) + s₂e^(m₂−m)), m = max(m₁, m₂), so one
 * pass suffices and logits of any magnitude are safe; the result is m + log s. All −inf gives
 * −inf and any +inf gives +inf, as in PyTorch.
 */
const LOGSUMEXP: Monoid = {
  width: 2,
  identity: () => [-Infinity, 0],
  fold: (xs) => {
    const m = foldMax(xs);
    if (!Number.isFinite(m)) return m;
    let s = 0;
    for (const v of xs) s += Math.exp(v - m);
    return m + Math.log(s);
  },
  push: (a, x) => `lse_push_(${a}, ${x})`,
  merge: (a, b) => `lse_merge_(${a}, ${b})`,
  finish: (a) => `lse_finish_(${a})`,
  helpers: [LSE],
};

/** A reduction record: the fold is its monoid's, for the CPU as for the kernels. */
function reductionRecord(
  op: ReductionRecord['op'],
  monoid: Monoid,
  floatOnly: boolean,
  doc: string,
  surface: Surface,
  vjp: VjpRule,
): ReductionRecord {
  return {
    kind: 'reduction',
    op,
    doc,
    arity: 1,
    infer: reduceInfer(op, floatOnly),
    eval: evalReduce(monoid.fold),
    vjp,
    monoid,
    surface,
  };
}

// Every summed element gets g (autodiff broadcasts g back over the axes).
export const sum = reductionRecord(
  'sum',
  SUM,
  false,
  'Σ over `axes`',
  { name: 'sum', doc: 'Σ over the dims' },
  (_e, _n, g) => [() => g],
);

/** max/min: the gradient is split evenly among the elements equal to the result. */
const extremumVjp: VjpRule = (e, n, g) => {
  return [
    () => {
      const x = input(n, 0);
      const hit = e.op('cast', [e.op('eq', [x, n.id])], { to: 'f32' });
      const ties = e.op('sum', [hit], { axes: n.attrs.axes ?? [] });
      return e.op('mul', [e.op('div', [g, ties]), hit]);
    },
  ];
};

export const max = reductionRecord(
  'max',
  MAX,
  false,
  'max over `axes` (NaN propagates)',
  { name: 'max', doc: 'max over the dims; ties split the gradient evenly' },
  extremumVjp,
);

export const min = reductionRecord(
  'min',
  MIN,
  false,
  'min over `axes` (NaN propagates)',
  { name: 'min', doc: 'min over the dims; ties split the gradient evenly' },
  extremumVjp,
);

export const logsumexp = reductionRecord(
  'logsumexp',
  LOGSUMEXP,
  true,
  'log Σ e^x over `axes`, max-shifted',
  { name: 'logsumexp', doc: 'log Σ e^x over the dims, max-shifted' },
  // ∂/∂x_i log Σ_j e^{x_j} = softmax(x)_i, formed as e^{x_i − m} / Σ_j e^{x_j − m} with
  // m = max x, not as e^{x_i − y}: y is rounded at the magnitude of the logits (ulp(69) =
  // 7.6e-6 in f32) and e^{x − y} inherits that error in full, e.g. at a saturated argmax
  // (p ≈ 1) whose gradient is ≈ 1; x − m is exact there and Σ ≥ 1 rounds relatively.
  // m is detached, as in the prelude's softmax, so that both build the same nodes (and a
  // forward softmax is reused by this backward) and no gradient is taken through it.
  (e, n, g) => [
    () => {
      const x = input(n, 0);
      const axes = n.attrs.axes ?? [];
      const m = e.op('detach', [e.op('max', [x], { axes })]);
      const ex = e.op('exp', [e.op('sub', [x, m])]);
      return e.op('mul', [g, e.op('div', [ex, e.op('sum', [ex], { axes })])]);
    },
  ],
);

const PROD: Monoid = {
  width: 1,
  identity: () => [1],
  fold: (xs) => {
    let p = 1;
    for (const v of xs) p *= v;
    return p;
  },
  push: (a, x) => `${a} * ${x}`,
  merge: (a, b) => `${a} * ${b}`,
  finish: (a) => a,
  helpers: [],
};

export const prod = reductionRecord(
  'prod',
  PROD,
  true,
  'Π over `axes`',
  { name: 'prod', doc: 'Π over the dims' },
  // ∂y/∂x_i = Π_{j≠i} x_j: y / x_i where x_i ≠ 0; where x_i = 0, the product of the nonzero
  // elements if x_i is the only zero, else 0 (no division by zero anywhere).
  (e, n, g) => [
    () => {
      const x = input(n, 0);
      const axes = n.attrs.axes ?? [];
      const zero = e.constant(0);
      const isZero = e.op('eq', [x, zero]);
      const nonzero = e.op('prod', [e.op('where', [isZero, e.constant(1), x])], { axes });
      const zeros = e.op('sum', [e.op('cast', [isZero], { to: 'f32' })], { axes });
      const atZero = e.op('where', [e.op('eq', [zeros, e.constant(1)]), nonzero, zero]);
      return e.op('mul', [g, e.op('where', [isZero, atZero, e.op('div', [n.id, x])])]);
    },
  ],
);
