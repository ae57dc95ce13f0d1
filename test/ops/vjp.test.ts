import { describe, expect, it } from 'vitest';
import { differentiate, type Cotangent } from '../../src/autodiff/differentiate.ts';
import { interpret } from '../../src/interp/interpret.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import type { GraphBuilder } from '../../src/graph/builder.ts';
import { isFloat, type DType, type Dim, type Op } from '../../src/ir/types.ts';
import { OPS } from '../../src/ops/registry.ts';
import {
  TestGraph,
  checkGrads,
  mismatches,
  randomTensor,
  rng,
  tensor,
  type Gen,
} from '../autodiff/check-grads.ts';

const SIZES = new Map([
  ['N', 3],
  ['V', 4],
  ['K', 2],
  ['H', 5],
  ['B', 2],
]);

// Input generators, kept inside each function's smooth domain and away from its kinks.
const any: Gen = (r) => 4 * r() - 2;
const pos: Gen = (r) => 0.5 + 1.5 * r();
const nonzero: Gen = (r) => (r() < 0.5 ? -1 : 1) * (0.2 + 1.8 * r());
const aboveMinusOne: Gen = (r) => -0.5 + 2.5 * r();
const bool: Gen = (r) => (r() < 0.5 ? 1 : 0);

interface P {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly Dim[];
  readonly gen: Gen;
}
const p = (name: string, dims: readonly Dim[], gen: Gen = any, dtype: DType = 'f32'): P => ({
  name,
  dtype,
  dims,
  gen,
});

interface Row {
  /** The primitive whose VJP the row checks. */
  readonly op: Op;
  readonly label: string;
  readonly params: readonly P[];
  readonly build: (b: GraphBuilder, v: (name: string) => number) => number;
}

const unary = (op: Op, gen: Gen): Row => ({
  op,
  label: `${op}(x[N, V])`,
  params: [p('x', ['N', 'V'], gen)],
  build: (b, v) => b.op(op, [v('x')]),
});

const reduce = (op: Op, dims: readonly Dim[], axes: readonly Dim[]): Row => ({
  op,
  label: `${op}(x[${dims.join(', ')}], ${axes.join(', ')})`,
  params: [p('x', dims)],
  build: (b, v) => b.op(op, [v('x')], { axes }),
});

const ROWS: readonly Row[] = [
  unary('neg', any),
  unary('exp', any),
  unary('log', pos),
  unary('log1p', aboveMinusOne),
  unary('expm1', any),
  unary('sqrt', pos),
  unary('rsqrt', pos),
  unary('abs', nonzero),
  unary('tanh', any),
  unary('sigmoid', any),
  unary('softplus', any),
  unary('relu', nonzero),
  unary('cos', any),
  unary('sin', any),
  {
    op: 'cast',
    label: 'f32(x: bf16[N, V])',
    params: [p('x', ['N', 'V'], any, 'bf16')],
    build: (b, v) => b.op('cast', [v('x')], { to: 'f32' }),
  },
  ...(
    [
      ['add', ['N'], ['N', 'V'], any],
      ['sub', ['V', 'N'], ['N'], any],
      ['mul', ['N', 'V'], [], any],
      ['div', ['N'], ['V', 'N'], pos],
      ['pow', ['N', 'V'], ['V'], any],
      ['maximum', ['N', 'V'], ['V'], any],
      ['minimum', ['N'], ['V', 'N'], any],
    ] as const
  ).map(([op, da, db, genB]): Row => ({
    op,
    label: `${op}(a[${da.join(', ')}], b[${db.join(', ')}])`,
    // pow needs a positive base; the other ops take any a.
    params: [p('a', da, op === 'pow' ? pos : any), p('b', db, genB)],
    build: (b, v) => b.op(op, [v('a'), v('b')]),
  })),
  {
    op: 'where',
    label: 'where(c[N, V], a[N], b[V])',
    params: [p('c', ['N', 'V'], bool, 'bool'), p('a', ['N']), p('b', ['V'])],
    build: (b, v) => b.op('where', [v('c'), v('a'), v('b')]),
  },
  {
    op: 'clamp',
    label: 'clamp(x[N, V], lo[N], hi[V])',
    params: [
      p('x', ['N', 'V']),
      p('lo', ['N'], (r) => -1.5 + r()),
      p('hi', ['V'], (r) => 0.5 + r()),
    ],
    build: (b, v) => b.op('clamp', [v('x'), v('lo'), v('hi')]),
  },
  reduce('sum', ['N', 'V', 'K'], ['N', 'K']),
  reduce('max', ['N', 'V', 'K'], ['V', 'K']),
  reduce('max', ['N', 'V'], ['N']),
  reduce('min', ['N', 'V'], ['N', 'V']),
  reduce('min', ['K', 'N', 'V'], ['V']),
  reduce('logsumexp', ['N', 'V', 'K'], ['V']),
  reduce('logsumexp', ['N', 'V', 'K'], ['N', 'K']),
  reduce('prod', ['N', 'V', 'K'], ['V']),
  {
    op: 'gather',
    label: 'gather(x[N, K, V], idx[K, N], V), some idx out of range',
    // -1 and 4 are outside [0, 4): value 0, gradient 0.
    params: [p('x', ['N', 'K', 'V']), p('idx', ['K', 'N'], (r) => Math.floor(6 * r()) - 1, 'i32')],
    build: (b, v) => b.op('gather', [v('x'), v('idx')], { dim: 'V' }),
  },
  {
    op: 'shift',
    label: 'shift(x[N, V], 1, 0.5, V) and shift(x, -2, 0, N)',
    params: [p('x', ['N', 'V'])],
    build: (b, v) =>
      b.op('mul', [
        b.op('shift', [v('x'), b.constant(0.5)], { dim: 'V', offset: 1 }),
        b.op('shift', [v('x'), b.constant(0)], { dim: 'N', offset: -2 }),
      ]),
  },
  {
    op: 'cumsum',
    label: 'cumsum(x[N, V], N) · cumsum(x, V, reverse)',
    params: [p('x', ['N', 'V'])],
    build: (b, v) =>
      b.op('mul', [
        b.op('cumsum', [v('x')], { dim: 'N' }),
        b.op('cumsum', [v('x')], { dim: 'V', reverse: true }),
      ]),
  },
  {
    op: 'dot',
    label: 'X[N, H] @ W[V, H].T',
    params: [p('X', ['N', 'H']), p('W', ['V', 'H'])],
    build: (b, v) =>
      b.op('dot', [v('X'), b.op('transpose', [v('W')], { dims: ['H', 'V'] })], {
        dims: ['N', 'V'],
      }),
  },
  {
    op: 'dot',
    label: 'dot(a[B, N, H], b[B, H]) {dims=[N, B]} (batch dim, output reordered)',
    params: [p('a', ['B', 'N', 'H']), p('b', ['B', 'H'])],
    build: (b, v) => b.op('dot', [v('a'), v('b')], { dims: ['N', 'B'] }),
  },
  {
    op: 'dot',
    label: 'dot(a[N, H], b[H, N]) {dims=[]} (full contraction)',
    params: [p('a', ['N', 'H']), p('b', ['H', 'N'])],
    build: (b, v) => b.op('dot', [v('a'), v('b')], { dims: [] }),
  },
  {
    op: 'broadcast',
    label: 'broadcast(x[N]) {dims=[V, N]}',
    params: [p('x', ['N'])],
    build: (b, v) => b.op('broadcast', [v('x')], { dims: ['V', 'N'] }),
  },
  {
    op: 'broadcast',
    label: 'broadcast(s) {dims=[N, V]}',
    params: [p('s', [])],
    build: (b, v) => b.op('broadcast', [v('s')], { dims: ['N', 'V'] }),
  },
  {
    op: 'transpose',
    label: 'transpose(x[N, V, K]) {dims=[K, N, V]}',
    params: [p('x', ['N', 'V', 'K'])],
    build: (b, v) => b.op('transpose', [v('x')], { dims: ['K', 'N', 'V'] }),
  },
];

/** Ops that have no VJP: leaves, comparisons, logic and indices. */
const NON_DIFFERENTIABLE: readonly Op[] = [
  'param',
  'const',
  'size',
  'index',
  'not',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'and',
  'or',
  // a stop-gradient by definition; test/ops/detach.test.ts checks that nothing flows
  'detach',
];

function graphOf(row: Row): TestGraph & { out: number } {
  const t = new TestGraph();
  const ids = new Map(row.params.map((q) => [q.name, t.param(q.name, q.dtype, q.dims)]));
  const v = (name: string): number => {
    const id = ids.get(name);
    if (id === undefined) throw new Error(`row has no param ${name}`);
    return id;
  };
  return Object.assign(t, { out: row.build(t.b, v) });
}

describe('VJP rules against central finite differences', () => {
  it.each(ROWS.map((r, i) => [r.label, r, i] as const))('%s', (_label, row, i) => {
    const t = graphOf(row);
    const fn = t.fn({ out: t.out });
    const rand = rng(1000 + i);
    const inputs = new Map(
      row.params.map((q) => [q.name, randomTensor(q.dtype, q.dims, SIZES, q.gen, rand)]),
    );
    const wrt = row.params.filter((q) => isFloat(q.dtype)).map((q) => q.name);
    const cot = new Map<string, Cotangent>([['out', { kind: 'tensor' }]]);
    const check = checkGrads(fn, inputs, SIZES, wrt, cot, 2000 + i);
    expect(mismatches(check)).toEqual([]);
    // The row must exercise the op it is filed under (not something the builder rewrote).
    expect(fn.nodes.some((n) => n.op === row.op)).toBe(true);
  });
});

describe('the op table', () => {
  it('has a finite-difference row for every differentiable op', () => {
    const tested = new Set(ROWS.map((r) => r.op));
    for (const [op, rec] of Object.entries(OPS)) {
      const listed = NON_DIFFERENTIABLE.includes(rec.op);
      expect(listed !== tested.has(rec.op), `${op}: one row or one non-differentiable entry`).toBe(
        true,
      );
      expect(rec.vjp === 'none', `${op}: vjp 'none' iff listed non-differentiable`).toBe(listed);
    }
  });

  it('keys every record by its own op', () => {
    for (const [key, rec] of Object.entries(OPS)) expect(rec.op).toBe(key);
  });
});

/** grad.X for each float param, with cotangent 1 on every element of `out`. */
function gradsOf(
  t: TestGraph,
  out: number,
  sizes: ReadonlyMap<string, number>,
  values: Readonly<Record<string, readonly number[]>>,
): Record<string, number[]> {
  const fn = t.fn({ out });
  const inputs = new Map<string, Tensor>(
    fn.params.map((q) => [q.name, tensor(q.dtype, q.dims, sizes, values[q.name] ?? [])]),
  );
  const wrt = fn.params.filter((q) => isFloat(q.dtype)).map((q) => q.name);
  const joint = differentiate(fn, {
    wrt,
    cotangents: new Map([['out', { kind: 'const', value: 1 }]]),
  });
  const res = interpret(joint, inputs, sizes);
  return Object.fromEntries(wrt.map((w) => [w, [...(res.get(`grad.${w}`)?.data ?? [])]]));
}

describe('gradient conventions (spec §5, PyTorch)', () => {
  const S3 = new Map([['N', 3]]);

  it("relu'(0) = 0 and abs'(0) = 0", () => {
    for (const [op, want] of [
      ['relu', [0, 1, 0]],
      ['abs', [0, 1, -1]],
    ] as const) {
      const t = new TestGraph();
      const out = t.b.op(op, [t.param('x', 'f32', ['N'])]);
      expect(gradsOf(t, out, S3, { x: [0, 2, -2] })).toEqual({ x: want });
    }
  });

  it('maximum and minimum split ties evenly', () => {
    for (const [op, wa, wb] of [
      ['maximum', [0.5, 1, 0], [0.5, 0, 1]],
      ['minimum', [0.5, 0, 1], [0.5, 1, 0]],
    ] as const) {
      const t = new TestGraph();
      const out = t.b.op(op, [t.param('a', 'f32', ['N']), t.param('b', 'f32', ['N'])]);
      expect(gradsOf(t, out, S3, { a: [1, 2, 3], b: [1, 1, 4] })).toEqual({ a: wa, b: wb });
    }
  });

  it('max and min reductions split evenly among ties', () => {
    for (const [op, x, want] of [
      ['max', [1, 3, 3], [0, 0.5, 0.5]],
      ['min', [2, -1, -1], [0, 0.5, 0.5]],
      ['max', [5, 5, 5], [1 / 3, 1 / 3, 1 / 3]],
    ] as const) {
      const t = new TestGraph();
      const out = t.b.op(op, [t.param('x', 'f32', ['N'])], { axes: ['N'] });
      expect(gradsOf(t, out, S3, { x })).toEqual({ x: want });
    }
  });

  it('clamp passes the gradient on the closed interval; lo and hi get the rest', () => {
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    const out = t.b.op('clamp', [x, t.param('lo', 'f32', []), t.param('hi', 'f32', [])]);
    const g = gradsOf(t, out, new Map([['N', 5]]), { x: [-2, -1, 0, 1, 2], lo: [-1], hi: [1] });
    expect(g).toEqual({ x: [0, 1, 1, 1, 0], lo: [1], hi: [1] });
  });

  it('where sends the gradient to the selected side only', () => {
    const t = new TestGraph();
    const c = t.param('c', 'bool', ['N']);
    const out = t.b.op('where', [c, t.param('a', 'f32', ['N']), t.param('b', 'f32', ['N'])]);
    const g = gradsOf(t, out, S3, { c: [1, 0, 1], a: [5, 6, 7], b: [8, 9, 10] });
    expect(g).toEqual({ a: [1, 0, 1], b: [0, 1, 0] });
  });

  it('gather out of range gives value 0 and gradient 0', () => {
    const sizes = new Map([
      ['N', 3],
      ['V', 2],
    ]);
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N', 'V']);
    const out = t.b.op('gather', [x, t.param('idx', 'i32', ['N'])], { dim: 'V' });
    const values: Record<string, number[]> = { x: [1, 2, 3, 4, 5, 6], idx: [1, 2, -1] };
    expect(gradsOf(t, out, sizes, values)).toEqual({ x: [0, 1, 0, 0, 0, 0] });
    const fn = t.fn({ out });
    const inputs = new Map(
      fn.params.map((q) => [q.name, tensor(q.dtype, q.dims, sizes, values[q.name] ?? [])]),
    );
    expect([...(interpret(fn, inputs, sizes).get('out')?.data ?? [])]).toEqual([2, 0, 0]);
  });

  it('no gradient flows through casts to i32 or bool; float casts pass it through', () => {
    const t = new TestGraph();
    const x = t.param('x', 'f32', ['N']);
    const f32 = (id: number) => t.b.op('cast', [id], { to: 'f32' });
    const asInt = f32(t.b.op('cast', [x], { to: 'i32' }));
    const asBool = f32(t.b.op('cast', [x], { to: 'bool' }));
    const asBf16 = t.b.op('cast', [x], { to: 'bf16' });
    // f = x · f32(i32(x)) + f32(bool(x)) + bf16(x): df/dx = trunc(x) + 0 + 1
    const out = t.b.op('add', [t.b.op('add', [t.b.op('mul', [x, asInt]), asBool]), asBf16]);
    expect(gradsOf(t, out, S3, { x: [2.5, -1.5, 0] })).toEqual({ x: [3, 0, 1] });
    const t2 = new TestGraph();
    const x2 = t2.param('x', 'f32', ['N']);
    const only = t2.b.op('cast', [t2.b.op('cast', [x2], { to: 'i32' })], { to: 'f32' });
    expect(gradsOf(t2, only, S3, { x: [2.5, -1.5, 0] })).toEqual({ x: [0, 0, 0] });
  });
});
