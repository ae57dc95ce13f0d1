import { broadcastDims, checkOperands } from './dtype-rules.ts';
import { elementwise } from './elementwise.ts';
import { ok } from './record.ts';
import { input } from './unary.ts';
import { CLAMP } from './wgsl-helpers.ts';

export const where = elementwise({
  op: 'where',
  surface: { name: 'where', doc: 'a where the bool c holds, else b', signature: 'where(c, a, b)' },
  name: 'where',
  doc: 'where(c, a, b): a where c is true, else b',
  arity: 3,
  domain: 'any',
  infer: (args) => {
    const c = checkOperands('where', args, 'bool', [0]);
    if (!c.ok) return c.result;
    const v = checkOperands('where', args, 'any', [1, 2]);
    if (!v.ok) return v.result;
    return ok(v.dtype, broadcastDims(args));
  },
  f: (c, a, b) => (c ? a : b),
  wgsl: ([c, a, b]) => `select(${b}, ${a}, ${c})`,
  // The gradient goes to the selected side only.
  vjp: (e, n, g) => {
    const c = input(n, 0);
    const zero = e.constant(0);
    return [null, () => e.op('where', [c, g, zero]), () => e.op('where', [c, zero, g])];
  },
});

export const clamp = elementwise({
  op: 'clamp',
  helpers: [CLAMP],
  surface: {
    name: 'clamp',
    doc: 'min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi',
    signature: 'clamp(x, lo, hi)',
  },
  name: 'clamp',
  doc: 'clamp(x, lo, hi) = min(max(x, lo), hi)',
  arity: 3,
  domain: 'numeric',
  f: (x, lo, hi) => Math.min(Math.max(x, lo), hi),
  wgsl: ([x, lo, hi], n) =>
    n.dtype === 'i32' ? `min(max(${x}, ${lo}), ${hi})` : `clamp_(${x}, ${lo}, ${hi})`,
  // PyTorch: x gets g where lo ≤ x ≤ hi; lo gets it where x < lo; hi where x > hi.
  vjp: (e, n, g) => {
    const [x, lo, hi] = [input(n, 0), input(n, 1), input(n, 2)];
    const zero = e.constant(0);
    const inside = e.op('and', [e.op('ge', [x, lo]), e.op('le', [x, hi])]);
    return [
      () => e.op('where', [inside, g, zero]),
      () => e.op('where', [e.op('lt', [x, lo]), g, zero]),
      () => e.op('where', [e.op('gt', [x, hi]), g, zero]),
    ];
  },
});
