import type { Dim } from '../ir/types.ts';
import { forEachIndex, makeTensor, numel, stridesIn, type Tensor } from '../tensor/tensor.ts';
import type { EvalFn, InferResult, OpRecord, ValueType, VjpRule } from './record.ts';
import { arithDtype, checkOperands } from './dtype-rules.ts';
import { fail, ok } from './record.ts';
import { input } from './unary.ts';

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
      // i32 sums wrap to 32 bits like the GPU's (exact in float64 below 2^21 elements).
      out.data[flat] =
        node.op === 'sum' && node.dtype === 'i32' ? fold(scratch) | 0 : fold(scratch);
    });
    return out;
  };
}

function foldSum(xs: Float64Array): number {
  let s = 0;
  for (const v of xs) s += v;
  return s;
}

// NaN propagates through max/min (PyTorch's amax/amin); the empty reduction gives ∓inf.
function foldMax(xs: Float64Array): number {
  let m = -Infinity;
  for (const v of xs) if (v > m || Number.isNaN(v)) m = v;
  return m;
}

function foldMin(xs: Float64Array): number {
  let m = Infinity;
  for (const v of xs) if (v < m || Number.isNaN(v)) m = v;
  return m;
}

/** log Σ e^x, max-shifted; all −inf gives −inf and any +inf gives +inf, as in PyTorch. */
function foldLogsumexp(xs: Float64Array): number {
  const m = foldMax(xs);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const v of xs) s += Math.exp(v - m);
  return m + Math.log(s);
}

export const sum: OpRecord = {
  op: 'sum',
  doc: 'Σ over `axes`',
  arity: 1,
  infer: reduceInfer('sum', false),
  eval: evalReduce(foldSum),
  // Every summed element gets g (autodiff broadcasts g back over the axes).
  vjp: (_e, _n, g) => [() => g],
};

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

export const max: OpRecord = {
  op: 'max',
  doc: 'max over `axes` (NaN propagates)',
  arity: 1,
  infer: reduceInfer('max', false),
  eval: evalReduce(foldMax),
  vjp: extremumVjp,
};

export const min: OpRecord = {
  op: 'min',
  doc: 'min over `axes` (NaN propagates)',
  arity: 1,
  infer: reduceInfer('min', false),
  eval: evalReduce(foldMin),
  vjp: extremumVjp,
};

export const logsumexp: OpRecord = {
  op: 'logsumexp',
  doc: 'log Σ e^x over `axes`, max-shifted',
  arity: 1,
  infer: reduceInfer('logsumexp', true),
  eval: evalReduce(foldLogsumexp),
  // ∂/∂x_i log Σ_j e^{x_j} = softmax(x)_i, formed as e^{x_i − m} / Σ_j e^{x_j − m} with
  // m = max x, not as e^{x_i − y}: y is rounded at the magnitude of the logits (ulp(69) =
  // 7.6e-6 in f32) and e^{x − y} inherits that error in full, e.g. at a saturated argmax
  // (p ≈ 1) whose gradient is ≈ 1; x − m is exact there and Σ ≥ 1 rounds relatively.
  // m is detached, as in the prelude's softmax, so that both build the same nodes (and a
  // forward softmax is reused by this backward) and no gradient is taken through it.
  vjp: (e, n, g) => [
    () => {
      const x = input(n, 0);
      const axes = n.attrs.axes ?? [];
      const m = e.op('detach', [e.op('max', [x], { axes })]);
      const ex = e.op('exp', [e.op('sub', [x, m])]);
      return e.op('mul', [g, e.op('div', [ex, e.op('sum', [ex], { axes })])]);
    },
  ],
};
