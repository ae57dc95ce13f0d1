import { InternalError } from '../diagnostics/diagnostic.ts';
import {
  broadcastTo,
  forEachIndex,
  makeTensor,
  numel,
  stridesIn,
  type Tensor,
} from '../tensor/tensor.ts';
import { isFloat } from '../ir/types.ts';
import { arithDtype, checkOperands } from './dtype-rules.ts';
import { fail, ok, type OpRecord } from './record.ts';
import { input } from './unary.ts';

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((d) => b.includes(d));

export const gather: OpRecord = {
  kind: 'structural',
  op: 'gather',
  doc: 'gather(x, idx, d): x at position idx along d; 0 where idx is out of range; other dims broadcast by name',
  arity: 2,
  infer: (args, attrs) => {
    const [x, idx] = args;
    const d = attrs.dim;
    if (!x || !idx || d === undefined) return fail('P0901', 'gather needs x, idx and a dim');
    const c = checkOperands('gather', args, 'numeric', [0]);
    if (!c.ok) return c.result;
    if (!x.dims.includes(d))
      return fail('P0206', `\`gather\` along \`${d}\`, but x has dims [${x.dims.join(', ')}]`, {
        arg: 0,
      });
    const rest = x.dims.filter((k) => k !== d);
    if (idx.dtype !== 'i32')
      return fail('P0207', `the index of \`gather\` must be i32, found ${idx.dtype}`, {
        arg: 1,
        help: ['cast it: `i32(idx)`'],
      });
    // idx has x's dims without d (spec §5); beyond that both sides broadcast by name: an
    // index with more dims gathers per row (`w[target]`, w: [V], target: [N]), one with
    // fewer picks the same position everywhere (`gather(r, 0, S)`: the first of S).
    if (idx.dims.includes(d))
      return fail(
        'P0207',
        `the index of \`gather\` cannot have the gathered dim \`${d}\`; x's other dims are [${rest.join(', ')}], the index has [${idx.dims.join(', ')}]`,
        { arg: 1 },
      );
    return ok(arithDtype(x.dtype), [...rest, ...idx.dims.filter((k) => !rest.includes(k))]);
  },
  eval: (args, node, sizes) => {
    const [x, idx] = args as [Tensor, Tensor];
    const d = node.attrs.dim ?? '';
    const out = makeTensor(node.dtype, node.dims, sizes);
    const n = sizes.get(d) ?? 0;
    const along = stridesIn(x, [d])[0] ?? 0;
    forEachIndex(
      out.shape,
      [stridesIn(x, node.dims), stridesIn(idx, node.dims)],
      (flat, [ox, oi]) => {
        const k = idx.data[oi ?? 0] ?? -1;
        out.data[flat] = k >= 0 && k < n ? (x.data[(ox ?? 0) + k * along] ?? 0) : 0;
      },
    );
    return out;
  },
  // Only the gathered element gets g: a one-hot mask built from index(d) == idx.
  vjp: (e, n, g) => [
    () => {
      const hit = e.op('eq', [e.op('index', [], { dim: n.attrs.dim ?? '' }), input(n, 1)]);
      return e.op('where', [hit, g, e.constant(0)]);
    },
    null,
  ],
};

export const dot: OpRecord = {
  kind: 'structural',
  op: 'dot',
  doc: 'dot(a, b) = Σ a·b over the dims not in the output (`@` contracts one dim)',
  arity: 2,
  infer: (args, attrs) => {
    const [a, b] = args;
    const out = attrs.dims;
    if (!a || !b || !out) return fail('P0901', 'dot needs two operands and output dims');
    const c = checkOperands('@', args, 'float');
    if (!c.ok) return c.result;
    for (const d of [...a.dims, ...b.dims])
      if (!out.includes(d) && !(a.dims.includes(d) && b.dims.includes(d)))
        return fail('P0901', `dot reduces \`${d}\`, which only one operand has`);
    for (const d of out)
      if (!a.dims.includes(d) && !b.dims.includes(d))
        return fail('P0901', `dot output dim \`${d}\` is in neither operand`);
    return ok('f32', out);
  },
  eval: (args, node, sizes) => {
    const [a, b] = args as [Tensor, Tensor];
    const out = makeTensor('f32', node.dims, sizes);
    const inner = [...new Set([...a.dims, ...b.dims])].filter((d) => !node.dims.includes(d));
    const all = [...node.dims, ...inner];
    const shape = all.map((d) => sizes.get(d) ?? 0);
    const per = numel(inner.map((d) => sizes.get(d) ?? 0));
    forEachIndex(shape, [stridesIn(a, all), stridesIn(b, all)], (flat, [oa, ob]) => {
      const o = Math.floor(flat / per);
      out.data[o] = (out.data[o] ?? 0) + (a.data[oa ?? 0] ?? 0) * (b.data[ob ?? 0] ?? 0);
    });
    return out;
  },
  // ∂/∂a Σ a·b = b contracted with g over b's other dims; symmetric for b.
  vjp: (e, n, g) => {
    const [a, b] = [input(n, 0), input(n, 1)];
    return [
      () => e.op('dot', [g, b], { dims: e.node(a).dims }),
      () => e.op('dot', [g, a], { dims: e.node(b).dims }),
    ];
  },
};

export const broadcast: OpRecord = {
  kind: 'structural',
  op: 'broadcast',
  doc: 'repeats a value along new dims (and reorders)',
  arity: 1,
  infer: (args, attrs) => {
    const a = args[0];
    const out = attrs.dims;
    if (!a || !out || !a.dims.every((d) => out.includes(d)))
      return fail('P0901', 'broadcast must keep every dim of its operand');
    return ok(a.dtype, out);
  },
  eval: (args, node, sizes) => broadcastTo(args[0] as Tensor, node.dims, sizes),
  // Autodiff sums the cotangent over the added dims.
  vjp: (_e, _n, g) => [() => g],
};

export const transpose: OpRecord = {
  kind: 'structural',
  op: 'transpose',
  doc: 'reorders dims (`W.T`)',
  arity: 1,
  infer: (args, attrs) => {
    const a = args[0];
    const out = attrs.dims;
    if (!a || !out || !sameSet(a.dims, out))
      return fail('P0901', 'transpose must permute the dims of its operand');
    return ok(a.dtype, out);
  },
  eval: (args, node, sizes) => broadcastTo(args[0] as Tensor, node.dims, sizes),
  vjp: (_e, _n, g) => [() => g],
};

export const param: OpRecord = {
  kind: 'structural',
  op: 'param',
  doc: 'a kernel parameter (or a cotangent of the backward program)',
  arity: 0,
  infer: () => fail('P0901', 'param nodes are made by the builder'),
  eval: () => {
    throw new InternalError('params are bound by the interpreter');
  },
  vjp: 'none',
};

export const constant: OpRecord = {
  kind: 'structural',
  op: 'const',
  doc: 'a scalar literal',
  arity: 0,
  infer: () => fail('P0901', 'const nodes are made by the builder'),
  eval: (_args, node) => ({
    dtype: node.dtype,
    dims: [],
    shape: [],
    data: Float64Array.of(node.attrs.value ?? 0),
  }),
  vjp: 'none',
};

export const size: OpRecord = {
  kind: 'structural',
  op: 'size',
  doc: 'the number of elements spanned by `axes` (f32), e.g. the divisor of `mean`',
  arity: 0,
  infer: () => ok('f32', []),
  eval: (_args, node, sizes) => ({
    dtype: 'f32',
    dims: [],
    shape: [],
    data: Float64Array.of(numel((node.attrs.axes ?? []).map((d) => sizes.get(d) ?? 0))),
  }),
  vjp: 'none',
};

export const index: OpRecord = {
  kind: 'structural',
  op: 'index',
  doc: 'index(d) = [0, 1, ..., size(d) - 1] (i32)',
  arity: 0,
  infer: (_args, attrs) =>
    attrs.dim === undefined ? fail('P0901', 'index needs a dim') : ok('i32', [attrs.dim]),
  eval: (_args, node, sizes) => {
    const out = makeTensor('i32', node.dims, sizes);
    for (let i = 0; i < out.data.length; i++) out.data[i] = i;
    return out;
  },
  vjp: 'none',
};
