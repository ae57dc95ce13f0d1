import { elementwise } from './elementwise.ts';
import type { Emit } from './record.ts';
import { input } from './unary.ts';
import { MAXIMUM, MINIMUM, POW } from './wgsl-helpers.ts';

// `g` is the output cotangent; contributions have the output's dims and are summed back to
// each operand's dims by autodiff.

export const add = elementwise({
  op: 'add',
  name: '+',
  doc: 'a + b',
  arity: 2,
  domain: 'numeric',
  f: (a, b) => a + b,
  wgsl: ([a, b]) => `(${a} + ${b})`,
  vjp: (_e, _n, g) => [() => g, () => g],
});

export const sub = elementwise({
  op: 'sub',
  name: '-',
  doc: 'a - b',
  arity: 2,
  domain: 'numeric',
  f: (a, b) => a - b,
  wgsl: ([a, b]) => `(${a} - ${b})`,
  vjp: (e, _n, g) => [() => g, () => e.op('neg', [g])],
});

export const mul = elementwise({
  op: 'mul',
  name: '*',
  doc: 'a · b',
  arity: 2,
  domain: 'numeric',
  f: (a, b) => a * b,
  wgsl: ([a, b]) => `(${a} * ${b})`,
  // i32 products wrap like the GPU's 32-bit multiply; a * b can exceed 2^53 and lose bits.
  fI32: (a, b) => Math.imul(a, b),
  vjp: (e, n, g) => [() => e.op('mul', [g, input(n, 1)]), () => e.op('mul', [g, input(n, 0)])],
});

export const div = elementwise({
  op: 'div',
  name: '/',
  doc: 'a / b (floats only)',
  arity: 2,
  domain: 'float',
  f: (a, b) => a / b,
  wgsl: ([a, b]) => `(${a} / ${b})`,
  // ∂(a/b)/∂a = 1/b ; ∂(a/b)/∂b = -a/b²
  vjp: (e, n, g) => [
    () => e.op('div', [g, input(n, 1)]),
    () => {
      const b = input(n, 1);
      return e.op('neg', [e.op('div', [e.op('mul', [g, input(n, 0)]), e.op('mul', [b, b])])]);
    },
  ],
});

export const pow = elementwise({
  op: 'pow',
  helpers: [POW],
  name: '**',
  doc: 'a ** b (floats only)',
  arity: 2,
  domain: 'float',
  f: powC,
  wgsl: ([a, b]) => `pow_(${a}, ${b})`,
  // PyTorch: ∂/∂a = b·a^(b-1), 0 where b = 0; ∂/∂b = y·log a, 0 where a = 0 and b ≥ 0.
  vjp: (e, n, g) => {
    const a = input(n, 0);
    const b = input(n, 1);
    const zero = e.constant(0);
    return [
      () => {
        const d = e.op('mul', [b, e.op('pow', [a, e.op('sub', [b, e.constant(1)])])]);
        return e.op('where', [e.op('eq', [b, zero]), zero, e.op('mul', [g, d])]);
      },
      () => {
        const mask = e.op('and', [e.op('eq', [a, zero]), e.op('ge', [b, zero])]);
        const d = e.op('mul', [n.id, e.op('log', [a])]);
        return e.op('where', [mask, zero, e.op('mul', [g, d])]);
      },
    ];
  },
});

/**
 * Share of the gradient each side of maximum/minimum gets: 1 where it wins, ½ on ties
 * (PyTorch splits ties evenly), 0 where it loses.
 */
function winnerShare(e: Emit, a: number, b: number, wins: 'gt' | 'lt'): number {
  const f32 = (c: number) => e.op('cast', [c], { to: 'f32' });
  return e.op('add', [
    f32(e.op(wins, [a, b])),
    e.op('mul', [e.constant(0.5), f32(e.op('eq', [a, b]))]),
  ]);
}

export const maximum = elementwise({
  op: 'maximum',
  helpers: [MAXIMUM],
  surface: {
    name: 'maximum',
    doc: 'elementwise max; ties split the gradient evenly',
    signature: 'maximum(a, b)',
  },
  name: 'maximum',
  doc: 'elementwise max; NaN if either is NaN',
  arity: 2,
  domain: 'numeric',
  f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  wgsl: ([a, b], n) => (n.dtype === 'i32' ? `max(${a}, ${b})` : `maximum_(${a}, ${b})`),
  vjp: (e, n, g) => {
    const [a, b] = [input(n, 0), input(n, 1)];
    return [
      () => e.op('mul', [g, winnerShare(e, a, b, 'gt')]),
      () => e.op('mul', [g, winnerShare(e, b, a, 'gt')]),
    ];
  },
});

export const minimum = elementwise({
  op: 'minimum',
  helpers: [MINIMUM],
  surface: {
    name: 'minimum',
    doc: 'elementwise min; ties split the gradient evenly',
    signature: 'minimum(a, b)',
  },
  name: 'minimum',
  doc: 'elementwise min; NaN if either is NaN',
  arity: 2,
  domain: 'numeric',
  f: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  wgsl: ([a, b], n) => (n.dtype === 'i32' ? `min(${a}, ${b})` : `minimum_(${a}, ${b})`),
  vjp: (e, n, g) => {
    const [a, b] = [input(n, 0), input(n, 1)];
    return [
      () => e.op('mul', [g, winnerShare(e, a, b, 'lt')]),
      () => e.op('mul', [g, winnerShare(e, b, a, 'lt')]),
    ];
  },
});

function comparison(
  op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge',
  name: string,
  f: (a: number, b: number) => boolean,
) {
  return elementwise({
    op,
    name,
    doc: `a ${name} b`,
    arity: 2,
    // == and != also compare bools
    domain: op === 'eq' || op === 'ne' ? 'any' : 'numeric',
    result: 'bool',
    f: (a, b) => (f(a, b) ? 1 : 0),
    wgsl: ([a, b]) => `(${a} ${name} ${b})`,
    vjp: 'none',
  });
}

export const eq = comparison('eq', '==', (a, b) => a === b);
export const ne = comparison('ne', '!=', (a, b) => a !== b);
export const lt = comparison('lt', '<', (a, b) => a < b);
export const le = comparison('le', '<=', (a, b) => a <= b);
export const gt = comparison('gt', '>', (a, b) => a > b);
export const ge = comparison('ge', '>=', (a, b) => a >= b);

export const and = elementwise({
  op: 'and',
  name: 'and',
  doc: 'logical and',
  arity: 2,
  domain: 'bool',
  f: (a, b) => (a && b ? 1 : 0),
  wgsl: ([a, b]) => `(${a} && ${b})`,
  vjp: 'none',
});

export const or = elementwise({
  op: 'or',
  name: 'or',
  doc: 'logical or',
  arity: 2,
  domain: 'bool',
  f: (a, b) => (a || b ? 1 : 0),
  wgsl: ([a, b]) => `(${a} || ${b})`,
  vjp: 'none',
});

/**
 * C's pow (PyTorch's), which differs from `Math.pow` where JavaScript chose NaN:
 * 1^y = 1 and (−1)^±inf = 1 for every y.
 */
export function powC(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}
