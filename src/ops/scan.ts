import { forEachIndex, makeTensor, stridesIn, type Tensor } from '../tensor/tensor.ts';
import { arithDtype, checkOperands } from './dtype-rules.ts';
import { fail, ok, type OpRecord } from './record.ts';
import { input } from './unary.ts';

// Ops that read a value at other positions along one dim `attrs.dim`: a shift (the next
// token's target) and a prefix sum (reward-to-go). On the GPU a row kernel recomputes the
// operand at the other positions, so the planner takes only operands computed elementwise
// from parameters (src/plan/scan-operands.ts); the interpreter has no such limit.

/**
 * Calls `visit(base, stride, n)` once per line of `x` along `d`, with `base` the flat offset
 * of the line's first element in `out` (same dims and layout as x) and `stride` its step.
 */
function forEachLine(
  out: Tensor,
  d: string,
  visit: (base: number, stride: number, n: number) => void,
): void {
  const axis = out.dims.indexOf(d);
  const n = out.shape[axis] ?? 0;
  const stride = stridesIn(out, [d])[0] ?? 0;
  const outer = out.dims.filter((k) => k !== d);
  const shape = outer.map((k) => out.shape[out.dims.indexOf(k)] ?? 0);
  forEachIndex(shape, [stridesIn(out, outer)], (_flat, [base]) => visit(base ?? 0, stride, n));
}

/** `shift(x, k, fill, d)[.., t, ..] = x[.., t + k, ..]`, or `fill` where t + k is outside d. */
export const shift: OpRecord = {
  kind: 'structural',
  op: 'shift',
  doc: 'x at position t + offset along `dim`; the fill (input 1, a scalar) outside it',
  arity: 2,
  infer: (args, attrs) => {
    const [x, f] = args;
    const d = attrs.dim;
    if (!x || !f || d === undefined || attrs.offset === undefined)
      return fail('P0901', 'shift needs x, a fill, a dim and an offset');
    const c = checkOperands('shift', args, 'any');
    if (!c.ok) return c.result;
    if (!x.dims.includes(d))
      return fail('P0206', `\`shift\` along \`${d}\`, but x has dims [${x.dims.join(', ')}]`, {
        arg: 0,
      });
    if (f.dims.length)
      return fail('P0231', `the fill of \`shift\` must be a scalar, found [${f.dims.join(', ')}]`, {
        arg: 1,
      });
    return ok(arithDtype(x.dtype), x.dims);
  },
  eval: (args, node, sizes) => {
    const [x, f] = args as [Tensor, Tensor];
    const out = makeTensor(node.dtype, node.dims, sizes);
    const k = node.attrs.offset ?? 0;
    const fill = f.data[0] ?? 0;
    forEachLine(out, node.attrs.dim ?? '', (base, stride, n) => {
      for (let t = 0; t < n; t++)
        out.data[base + t * stride] =
          t + k >= 0 && t + k < n ? (x.data[base + (t + k) * stride] ?? 0) : fill;
    });
    return out;
  },
  // y[t] = x[t + k]  ⇒  dx[s] = g[s − k] (0 outside): the opposite shift, filled with 0.
  // The fill is a constant of the program: no gradient (it has no dims to broadcast from).
  vjp: (e, n, g) => [
    () =>
      e.op('shift', [g, e.constant(0)], { dim: n.attrs.dim ?? '', offset: -(n.attrs.offset ?? 0) }),
    null,
  ],
};

/** `cumsum(x, d)[t] = Σ_{s ≤ t} x[s]`; `reverse`: `Σ_{s ≥ t} x[s]` (a suffix sum). */
export const cumsum: OpRecord = {
  kind: 'structural',
  op: 'cumsum',
  doc: 'prefix sums along `dim` (suffix sums with `reverse`)',
  arity: 1,
  infer: (args, attrs) => {
    const [x] = args;
    const d = attrs.dim;
    if (!x || d === undefined) return fail('P0901', 'cumsum needs x and a dim');
    const c = checkOperands('cumsum', args, 'numeric');
    if (!c.ok) return c.result;
    if (!x.dims.includes(d))
      return fail('P0206', `\`cumsum\` along \`${d}\`, but x has dims [${x.dims.join(', ')}]`, {
        arg: 0,
      });
    return ok(arithDtype(x.dtype), x.dims);
  },
  eval: (args, node, sizes) => {
    const [x] = args as [Tensor];
    const out = makeTensor(node.dtype, node.dims, sizes);
    const i32 = node.dtype === 'i32';
    forEachLine(out, node.attrs.dim ?? '', (base, stride, n) => {
      let s = 0;
      for (let j = 0; j < n; j++) {
        const t = node.attrs.reverse ? n - 1 - j : j;
        s += x.data[base + t * stride] ?? 0;
        if (i32) s |= 0; // i32 sums wrap like the GPU's
        out.data[base + t * stride] = s;
      }
    });
    return out;
  },
  // y[t] = Σ_{s ≤ t} x[s]  ⇒  dx[s] = Σ_{t ≥ s} g[t]: the suffix sum of g (and back).
  vjp: (e, n, g) => [
    () => e.op('cumsum', [g], { dim: n.attrs.dim ?? '', reverse: !n.attrs.reverse }),
  ],
};
