// The WGSL of every op record, run on the device (the CPU adapter here) against the
// record's float64 reference: elementwise records over special values (±0, ±inf, NaN, tiny,
// large) for every operand dtype their rule accepts, every cast pair, reductions over rows
// with NaN, ±inf and mixed signs, and the structural records through the kernels that
// render them. One generated kernel per node (the eager baseline's kernels), so each row
// exercises exactly its record's expression, helpers and monoid.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareEager } from '../../src/bench/eager.ts';
import { interpret } from '../../src/interp/interpret.ts';
import { DTYPES, type DType, type Dim, type IrFunction, type Op } from '../../src/ir/types.ts';
import type { ValueType } from '../../src/ops/record.ts';
import { OPS } from '../../src/ops/registry.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import { TestGraph, tensor } from '../autodiff/check-grads.ts';

let gpu: AcquiredDevice;
beforeAll(async () => {
  gpu = await acquireDevice();
});
afterAll(() => gpu?.release());

const VALUES: Readonly<Record<'f32' | 'i32' | 'bool', readonly number[]>> = {
  f32: [
    -100,
    -3.5,
    -1,
    -0.5,
    -1e-6,
    -0,
    0,
    1e-6,
    0.5,
    1,
    2,
    2.5,
    30,
    100,
    Infinity,
    -Infinity,
    NaN,
  ],
  i32: [-2147483648, -7, -2, -1, 0, 1, 3, 2147483647],
  bool: [0, 1],
};
type Kind = keyof typeof VALUES;
const KINDS: readonly Kind[] = ['f32', 'i32', 'bool'];
const AXES = ['A', 'B', 'C'] as const;

interface Row {
  readonly op: Op;
  readonly label: string;
  readonly sizes: Map<Dim, number>;
  readonly inputs: readonly { name: string; dtype: DType; dims: readonly Dim[]; data: number[] }[];
  readonly build: (t: TestGraph, v: (name: string) => number) => number;
}

/** Operand k of an elementwise row takes every value of its dtype along its own dim. */
function elementwiseRows(op: Op): Row[] {
  const rec = OPS[op];
  const rows: Row[] = [];
  const combos = (n: number): Kind[][] =>
    n === 0 ? [[]] : combos(n - 1).flatMap((c) => KINDS.map((k) => [...c, k]));
  for (const kinds of combos(rec.arity)) {
    const types: ValueType[] = kinds.map((k, i) => ({ dtype: k, dims: [AXES[i] ?? 'A'] }));
    if (!rec.infer(types, {}).ok) continue;
    const inputs = kinds.map((k, i) => ({
      name: `x${i}`,
      dtype: k as DType,
      dims: [AXES[i] ?? 'A'],
      data: [...VALUES[k]],
    }));
    rows.push({
      op,
      label: `${op}(${kinds.join(', ')})`,
      sizes: new Map(inputs.map((x) => [x.dims[0] ?? 'A', x.data.length])),
      inputs,
      build: (t, v) =>
        t.b.op(
          op,
          inputs.map((x) => v(x.name)),
        ),
    });
  }
  return rows;
}

function castRows(): Row[] {
  return KINDS.flatMap((from) =>
    DTYPES.map((to) => ({
      op: 'cast' as const,
      label: `cast(${from} → ${to})`,
      sizes: new Map([['A', VALUES[from].length]]),
      inputs: [{ name: 'x', dtype: from as DType, dims: ['A'], data: [...VALUES[from]] }],
      build: (t: TestGraph, v: (name: string) => number) => t.b.op('cast', [v('x')], { to }),
    })),
  );
}

// Rows of 5 elements: mixed signs, a NaN, all −inf, one +inf, ±0, large magnitudes.
const REDUCE_F32 = [
  [1, -2, 3.5, 0.25, -1],
  [1, NaN, 3, 4, 5],
  [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
  [-Infinity, 2, Infinity, 1, 0],
  [-0, 0, -0, 0, -0],
  [1e4, 1e4, 1e4 - 1, -1e4, 30],
];
const REDUCE_I32 = [
  [1, -2, 3, 0, -1],
  [2147483647, 1, 0, 0, 0],
  [-2147483648, -1, 0, 5, 7],
];

function reductionRows(op: Op): Row[] {
  const rows: Row[] = [];
  for (const [dtype, data] of [
    ['f32', REDUCE_F32],
    ['i32', REDUCE_I32],
  ] as const) {
    if (!OPS[op].infer([{ dtype, dims: ['R', 'K'] }], { axes: ['K'] }).ok) continue;
    for (const axes of [['K'], ['R', 'K']] as const)
      rows.push({
        op,
        label: `${op}(${dtype}[R, K], ${axes.join(', ')})`,
        sizes: new Map([
          ['R', data.length],
          ['K', 5],
        ]),
        inputs: [{ name: 'x', dtype, dims: ['R', 'K'], data: data.flat() }],
        build: (t, v) => t.b.op(op, [v('x')], { axes }),
      });
  }
  return rows;
}

const F = [1.5, -2, 0.25, 3, -0.5, 2, 1, -1, 4, 0.5, -3, 2.5];
/** Structural records, each through a node that renders it. */
const STRUCTURAL: readonly Row[] = [
  {
    op: 'gather',
    label: 'gather(x[R, V], idx[R], V) with out-of-range indices',
    sizes: new Map([
      ['R', 4],
      ['V', 3],
    ]),
    inputs: [
      { name: 'x', dtype: 'f32', dims: ['R', 'V'], data: F },
      { name: 'i', dtype: 'i32', dims: ['R'], data: [0, 2, -1, 3] },
    ],
    build: (t, v) => t.b.op('gather', [v('x'), v('i')], { dim: 'V' }),
  },
  {
    op: 'dot',
    label: 'dot(a[M, K], b[K, N])',
    sizes: new Map([
      ['M', 3],
      ['K', 4],
      ['N', 2],
    ]),
    inputs: [
      { name: 'a', dtype: 'f32', dims: ['M', 'K'], data: F },
      { name: 'b', dtype: 'f32', dims: ['K', 'N'], data: F.slice(0, 8) },
    ],
    build: (t, v) => t.b.op('dot', [v('a'), v('b')], { dims: ['M', 'N'] }),
  },
  {
    op: 'broadcast',
    label: 'broadcast(x[A] → [B, A])',
    sizes: new Map([
      ['A', 3],
      ['B', 2],
    ]),
    inputs: [{ name: 'x', dtype: 'f32', dims: ['A'], data: [1, -2, 3] }],
    build: (t, v) => t.b.op('broadcast', [v('x')], { dims: ['B', 'A'] }),
  },
  {
    op: 'transpose',
    label: 'transpose(x[A, B] → [B, A])',
    sizes: new Map([
      ['A', 3],
      ['B', 4],
    ]),
    inputs: [{ name: 'x', dtype: 'f32', dims: ['A', 'B'], data: F }],
    build: (t, v) => t.b.op('transpose', [v('x')], { dims: ['B', 'A'] }),
  },
  {
    op: 'param',
    label: 'param (tensor and scalar) and const: x · s + 0.75',
    sizes: new Map([['A', 3]]),
    inputs: [
      { name: 'x', dtype: 'f32', dims: ['A'], data: [1, -2, 3] },
      { name: 's', dtype: 'f32', dims: [], data: [-1.5] },
    ],
    build: (t, v) => t.b.op('add', [t.b.op('mul', [v('x'), v('s')]), t.b.constant(0.75)]),
  },
  {
    op: 'const',
    label: 'const of every value type: where(true, i32 −2³¹, 7)',
    sizes: new Map(),
    inputs: [],
    build: (t) =>
      t.b.intern(
        'where',
        [t.b.constant(1, 'bool'), t.b.constant(-2147483648, 'i32'), t.b.constant(7, 'i32')],
        {},
        'i32',
        [],
      ),
  },
  {
    op: 'index',
    label: 'index(A) + size(A, B)',
    sizes: new Map([
      ['A', 5],
      ['B', 3],
    ]),
    inputs: [],
    build: (t) =>
      t.b.op('add', [
        t.b.op('cast', [t.b.op('index', [], { dim: 'A' })], { to: 'f32' }),
        t.b.op('size', [], { axes: ['A', 'B'] }),
      ]),
  },
];

const ROWS: readonly Row[] = [
  ...Object.values(OPS).flatMap((rec) =>
    rec.kind === 'reduction'
      ? reductionRows(rec.op)
      : rec.op === 'cast'
        ? castRows()
        : rec.kind === 'elementwise'
          ? elementwiseRows(rec.op)
          : [],
  ),
  ...STRUCTURAL,
];
/** Records a structural row covers besides its own (leaves appear inside other rows). */
const ALSO: Partial<Record<Op, readonly Op[]>> = { index: ['size'] };
/**
 * Records whose only WGSL is a row kernel's recomputation at other positions (no kernel of
 * one node renders them): run on the device against the interpreter by these tests.
 */
const ELSEWHERE: Partial<Record<Op, string>> = {
  shift: 'test/scan/scan-plan.test.ts',
  cumsum: 'test/scan/scan-plan.test.ts',
};

/** The device's f32 answer agrees with float64's rounded to f32, to a few ulps of f32 math. */
function agrees(gpu: number, ref: number, dtype: DType): boolean {
  if (dtype !== 'f32') return gpu === ref;
  const r = Math.fround(ref);
  if (Number.isNaN(r)) return Number.isNaN(gpu);
  if (!Number.isFinite(r)) return gpu === r;
  // Results in f32's subnormal range may be flushed to zero by the device.
  return Math.abs(gpu - r) <= 4e-6 * Math.abs(r) + 1.2e-38;
}

describe('every op record on the device agrees with its float64 reference', () => {
  it('the table covers every record', () => {
    const covered = new Set(ROWS.flatMap((r) => [r.op, ...(ALSO[r.op] ?? [])]));
    expect(Object.keys(OPS).filter((op) => !covered.has(op as Op) && !ELSEWHERE[op as Op])).toEqual(
      [],
    );
    for (const [op, file] of Object.entries(ELSEWHERE))
      expect(readFileSync(file, 'utf8'), `${file} runs ${op} on the device`).toMatch(
        new RegExp(`\\b${op}\\(`),
      );
  });

  it.each(ROWS.map((r) => [r.label, r] as const))('%s', async (_label, row) => {
    const t = new TestGraph();
    const nodes = new Map(row.inputs.map((x) => [x.name, t.param(x.name, x.dtype, x.dims)]));
    const out = row.build(t, (name) => nodes.get(name) ?? -1);
    const fn: IrFunction = t.fn({ out });
    const inputs = new Map<string, Tensor>(
      row.inputs.map((x) => [x.name, tensor(x.dtype, x.dims, row.sizes, x.data)]),
    );
    const want = interpret(fn, inputs, row.sizes).get('out');
    const run = await prepareEager(gpu, fn, inputs, row.sizes);
    try {
      await run.run();
      const got = (await run.results()).get('out');
      if (!want || !got) throw new Error('no result');
      const dtype = fn.nodes[out]?.dtype ?? 'f32';
      const bad = [...want.data].flatMap((w, i) => {
        const g = got.data[i] ?? NaN;
        return agrees(g, w, dtype === 'f16' || dtype === 'bf16' ? 'f32' : dtype)
          ? []
          : [`[${i}] device ${g}, float64 ${w}`];
      });
      expect(bad).toEqual([]);
    } finally {
      run.release();
    }
  });
});
