import { isFloat } from '../ir/types.ts';
import { castEval, castWgsl } from './cast-eval.ts';
import { elementwise } from './elementwise.ts';
import { fail, ok, type OpRecord } from './record.ts';
import {
  EXPM1,
  LOG,
  LOG1P,
  RELU,
  ROUND_BF16,
  ROUND_F16,
  SIGMOID,
  SOFTPLUS,
  SQRT,
  TANH,
  TRUNC_I32,
} from './wgsl-helpers.ts';

// Gradients follow PyTorch's conventions (spec §5). `g` is the output cotangent, `y` the
// output node, `x` the input.

export const neg = elementwise({
  op: 'neg',
  name: '-',
  doc: 'negation',
  arity: 1,
  domain: 'numeric',
  f: (x) => -x,
  wgsl: ([a]) => `(-${a})`,
  vjp: (e, _n, g) => [() => e.op('neg', [g])],
});

export const exp = elementwise({
  op: 'exp',
  surface: { name: 'exp', doc: 'e^x' },
  name: 'exp',
  doc: 'e^x',
  arity: 1,
  domain: 'float',
  f: Math.exp,
  wgsl: ([a]) => `exp(${a})`,
  // d/dx e^x = e^x
  vjp: (e, n, g) => [() => e.op('mul', [g, n.id])],
});

export const log = elementwise({
  op: 'log',
  helpers: [LOG],
  surface: { name: 'log', doc: 'natural logarithm' },
  name: 'log',
  doc: 'natural logarithm',
  arity: 1,
  domain: 'float',
  f: Math.log,
  wgsl: ([a]) => `log_(${a})`,
  // d/dx log x = 1/x
  vjp: (e, n, g) => [() => e.op('div', [g, input(n, 0)])],
});

export const log1p = elementwise({
  op: 'log1p',
  helpers: [LOG1P],
  surface: { name: 'log1p', doc: 'log(1 + x), accurate near 0' },
  name: 'log1p',
  doc: 'log(1 + x), accurate near 0',
  arity: 1,
  domain: 'float',
  f: Math.log1p,
  wgsl: ([a]) => `log1p_(${a})`,
  // d/dx log(1+x) = 1/(1+x)
  vjp: (e, n, g) => [() => e.op('div', [g, e.op('add', [input(n, 0), e.constant(1)])])],
});

export const expm1 = elementwise({
  op: 'expm1',
  helpers: [EXPM1],
  surface: { name: 'expm1', doc: 'e^x − 1, accurate near 0' },
  name: 'expm1',
  doc: 'e^x - 1, accurate near 0',
  arity: 1,
  domain: 'float',
  f: Math.expm1,
  wgsl: ([a]) => `expm1_(${a})`,
  // d/dx (e^x - 1) = e^x = y + 1
  vjp: (e, n, g) => [() => e.op('mul', [g, e.op('add', [n.id, e.constant(1)])])],
});

export const sqrt = elementwise({
  op: 'sqrt',
  helpers: [SQRT],
  surface: { name: 'sqrt', doc: 'square root' },
  name: 'sqrt',
  doc: 'square root',
  arity: 1,
  domain: 'float',
  f: Math.sqrt,
  wgsl: ([a]) => `sqrt_(${a})`,
  // d/dx √x = 1 / (2√x)
  vjp: (e, n, g) => [() => e.op('div', [g, e.op('mul', [e.constant(2), n.id])])],
});

export const rsqrt = elementwise({
  op: 'rsqrt',
  helpers: [SQRT],
  surface: { name: 'rsqrt', doc: '1 / sqrt(x)' },
  name: 'rsqrt',
  doc: '1 / sqrt(x)',
  arity: 1,
  domain: 'float',
  f: (x) => 1 / Math.sqrt(x),
  wgsl: ([a]) => `(1.0 / sqrt_(${a}))`,
  // d/dx x^(-1/2) = -1/2 · x^(-3/2) = -1/2 · y³
  vjp: (e, n, g) => [
    () =>
      e.op('mul', [
        e.op('mul', [g, e.constant(-0.5)]),
        e.op('mul', [e.op('mul', [n.id, n.id]), n.id]),
      ]),
  ],
});

export const abs = elementwise({
  op: 'abs',
  surface: { name: 'abs', doc: "|x|; abs'(0) = 0" },
  name: 'abs',
  doc: 'absolute value',
  arity: 1,
  domain: 'numeric',
  f: Math.abs,
  wgsl: ([a]) => `abs(${a})`,
  // d/dx |x| = sign(x), with abs'(0) = 0
  vjp: (e, n, g) => [
    () => {
      const x = input(n, 0);
      const zero = e.constant(0);
      const sign = e.op('sub', [
        e.op('cast', [e.op('gt', [x, zero])], { to: 'f32' }),
        e.op('cast', [e.op('lt', [x, zero])], { to: 'f32' }),
      ]);
      return e.op('mul', [g, sign]);
    },
  ],
});

export const tanh = elementwise({
  op: 'tanh',
  helpers: [TANH],
  surface: { name: 'tanh', doc: 'hyperbolic tangent' },
  name: 'tanh',
  doc: 'hyperbolic tangent',
  arity: 1,
  domain: 'float',
  f: Math.tanh,
  wgsl: ([a]) => `tanh_(${a})`,
  // d/dx tanh x = 1 - y²
  vjp: (e, n, g) => [
    () => e.op('mul', [g, e.op('sub', [e.constant(1), e.op('mul', [n.id, n.id])])]),
  ],
});

export const sigmoid = elementwise({
  op: 'sigmoid',
  helpers: [SIGMOID],
  surface: { name: 'sigmoid', doc: '1 / (1 + e^−x)' },
  name: 'sigmoid',
  doc: '1 / (1 + e^-x)',
  arity: 1,
  domain: 'float',
  f: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  wgsl: ([a]) => `sigmoid_(${a})`,
  // d/dx σ(x) = y (1 - y)
  vjp: (e, n, g) => [
    () => e.op('mul', [g, e.op('mul', [n.id, e.op('sub', [e.constant(1), n.id])])]),
  ],
});

export const softplus = elementwise({
  op: 'softplus',
  helpers: [SOFTPLUS],
  surface: { name: 'softplus', doc: 'log(1 + e^x), without overflow' },
  name: 'softplus',
  doc: 'log(1 + e^x), computed without overflow',
  arity: 1,
  domain: 'float',
  // max(x, 0) + log1p(e^-|x|) never overflows
  f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  wgsl: ([a]) => `softplus_(${a})`,
  // d/dx softplus(x) = σ(x)
  vjp: (e, n, g) => [() => e.op('mul', [g, e.op('sigmoid', [input(n, 0)])])],
});

export const relu = elementwise({
  op: 'relu',
  helpers: [RELU],
  surface: { name: 'relu', doc: "max(x, 0); relu'(0) = 0" },
  name: 'relu',
  doc: 'max(x, 0)',
  arity: 1,
  domain: 'numeric',
  // NaN stays NaN (PyTorch's relu).
  f: (x) => (Number.isNaN(x) || x > 0 ? x : 0),
  wgsl: ([a], n) => (n.dtype === 'i32' ? `max(${a}, 0i)` : `relu_(${a})`),
  // relu'(x) = [x > 0], so relu'(0) = 0
  vjp: (e, n, g) => [
    () => e.op('where', [e.op('gt', [input(n, 0), e.constant(0)]), g, e.constant(0)]),
  ],
});

export const not = elementwise({
  op: 'not',
  name: 'not',
  doc: 'logical not',
  arity: 1,
  domain: 'bool',
  f: (x) => (x ? 0 : 1),
  wgsl: ([a]) => `(!${a})`,
  vjp: 'none',
});

/** Casts between every pair of dtypes. Float casts round to the target's precision. */
export const cast: OpRecord = {
  kind: 'elementwise',
  op: 'cast',
  doc: 'dtype conversion (`f32(x)`, `i32(x)`, `bool(x)`, `bf16(x)`, `f16(x)`)',
  arity: 1,
  infer: (args, attrs) => {
    const a = args[0];
    if (!a || !attrs.to) return fail('P0901', 'cast needs one operand and a target dtype');
    return ok(attrs.to, a.dims);
  },
  eval: castEval,
  wgsl: ([a = ''], n, [x]) => castWgsl(a, x?.dtype ?? 'f32', n.dtype),
  helpers: [ROUND_BF16, ROUND_F16, TRUNC_I32],
  // Gradients pass through float→float casts only (spec §5) and stay f32.
  vjp: (e, n, g) => [isFloat(e.node(input(n, 0)).dtype) && isFloat(n.dtype) ? () => g : null],
};

/** The id of input `i` of a node (the records' inputs are checked by arity). */
export function input(n: { inputs: readonly number[] }, i: number): number {
  const id = n.inputs[i];
  if (id === undefined) throw new RangeError(`node has no input ${i}`);
  return id;
}

/** A stop-gradient: the value of x, through which no gradient flows (PyTorch's `detach`). */
export const detach = elementwise({
  op: 'detach',
  surface: {
    name: 'detach',
    doc: 'x as a constant: no gradient flows back through it (a projc addition)',
  },
  name: 'detach',
  doc: 'x, with no gradient flowing back through it',
  arity: 1,
  domain: 'any',
  f: (x) => x,
  wgsl: ([a]) => `${a}`,
  vjp: 'none',
});
