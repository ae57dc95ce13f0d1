// Every example on the WebGPU runtime against the float64 interpreter on the same inputs:
// forward, and forward + gradients of every float tensor parameter (random cotangents for
// results other than a lone scalar), for chunks of 1, 7 and 16 rows and all rows, on ragged
// shapes, with ignored and out-of-range targets. bf16/f16 storage is rounded on load by the
// interpreter exactly as on upload, so one tolerance covers every storage dtype.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import {
  apiInputs,
  exampleFiles,
  exampleKernels,
  expectRunClose,
  floatTensorParams,
  oracle,
  randomCotangents,
  sizesFor,
  testInputs,
  worst,
} from './gpu-helpers.ts';

let rt: Runtime;

beforeAll(async () => {
  rt = await Runtime.create();
});

afterAll(() => {
  rt?.release();
  console.log(`[gpu-vs-interp] worst relative error: ${JSON.stringify(Object.fromEntries(worst))}`);
});

interface Shape {
  readonly name: string;
  readonly dims: Readonly<Record<string, number>>;
  readonly chunks: readonly (number | 'all')[];
  /** Scalar parameters to set; a float scalar not named keeps its default. */
  readonly scalars?: (fn: IrFunction) => Record<string, number>;
  /** See `Tolerance.scaleFloor`. */
  readonly scaleFloor?: number;
}

// V is never a multiple of 64 (the row kernels' workgroup size) nor of the matmul tiles;
// rows [B, T] with T = 5 or 9 make chunks of 7 or 16 rows straddle the batch boundaries.
const SHAPES: readonly Shape[] = [
  {
    name: 'N=37 H=19 V=53 / B=3 T=5',
    dims: { N: 37, H: 19, V: 53, B: 3, T: 5 },
    chunks: [1, 7, 16, 'all'],
  },
  {
    name: 'N=20 H=24 V=300 / B=2 T=9, non-default scalars',
    dims: { N: 20, H: 24, V: 300, B: 2, T: 9 },
    chunks: [7, 'all'],
    scalars: nonDefaultScalars,
  },
  // With V = 1, softmax − onehot is exactly 0: what is left of a gradient (a z-loss term,
  // ~1e-4) sits next to the f32 rounding of the cancelled terms, so 1e-6 absolute governs.
  {
    name: 'one row, H=1, V=1',
    dims: { N: 1, H: 1, V: 1, B: 1, T: 1 },
    chunks: [1],
    scaleFloor: 1e-2,
  },
];

// Float scalars move off their default (label_smoothing 0.1, temperature 1.1...); an
// ignore_index becomes a valid class id (3), so ignored targets are in range.
function nonDefaultScalars(fn: IrFunction): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of fn.params) {
    if (p.dims.length) continue;
    if (p.name === 'ignore_index') out[p.name] = 3;
    else if (p.dtype === 'f32') out[p.name] = (p.default ?? 0) + 0.1;
  }
  return out;
}

// Every example as written on every shape; its f32 variant (bf16[ → f32[) on the first
// shape in chunks of 7; cross_entropy's f32 and f16 variants on everything. (All of it
// would take minutes on llvmpipe.)
function variants(file: string): { storage?: 'f32' | 'f16'; shapes: readonly Shape[] }[] {
  if (file === 'cross_entropy.proj')
    return [
      { shapes: SHAPES },
      { storage: 'f32', shapes: SHAPES },
      { storage: 'f16', shapes: SHAPES },
    ];
  return [{ shapes: SHAPES }, { storage: 'f32', shapes: [{ ...SHAPES[0]!, chunks: [7] }] }];
}

let seed = 1000;
for (const file of exampleFiles()) {
  for (const { storage, shapes } of variants(file)) {
    for (const kernel of exampleKernels(file, storage)) {
      describe(`${file} (${storage ? `bf16 → ${storage}` : 'as written'}) ${kernel.name}`, () => {
        for (const shape of shapes) {
          const s = seed++;
          it(shape.name, async () => {
            const sizes = sizesFor(kernel, shape.dims);
            const inputs = testInputs(kernel, sizes, s, {
              ...(shape.scalars ? { scalars: shape.scalars(kernel) } : {}),
            });
            const grad = floatTensorParams(kernel);
            expect(grad.length).toBeGreaterThan(0);
            const cot = randomCotangents(kernel, sizes, s + 7);
            const fwdRef = oracle(kernel, inputs, sizes);
            const gradRef = oracle(kernel, inputs, sizes, grad, cot);
            const rows = rowCount(kernel, sizes);
            const api = apiInputs(inputs);
            for (const c of shape.chunks) {
              const opts = c === 'all' ? {} : { chunkRows: c };
              const f = await rt.run(kernel, api, opts);
              const tol = { label: storage ?? 'bf16', scaleFloor: shape.scaleFloor ?? 0 };
              expectRunClose(f, fwdRef, `forward, chunk ${c}`, tol);
              const g = await rt.run(kernel, api, { ...opts, grad, cotangents: cot.api });
              expectRunClose(g, gradRef, `grad ${grad}, chunk ${c}`, tol);
              const want = c === 'all' ? rows : Math.min(c, rows);
              expect(f.stats.chunkRows).toBe(want);
              expect(g.stats.chunkRows).toBe(want);
              expect(g.stats.chunks).toBe(Math.ceil(rows / want));
            }
          });
        }
      });
    }
  }
}

/** The rows of the longest chunk loop (two row sets: each sweep walks one). */
function rowCount(fn: IrFunction, sizes: ReadonlyMap<string, number>): number {
  const count = (dims: readonly string[]) => dims.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
  const { plan } = rt.program(fn);
  return Math.max(
    count(plan.sweeps.length ? [] : plan.rows),
    ...plan.sweeps.map((sw) => count(sw.rowDims)),
  );
}
