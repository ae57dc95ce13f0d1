// The rows × vocabulary-tiles shape against the rows-only one on the WebGPU runtime: every
// example (and the loss tests' programs) the analysis finds eligible runs on both shapes on
// small ragged shapes (tiles of 16 over V = 37: two full tiles and a short one; chunks of 5
// rows) with the same results and gradients within f32 tolerance; for the others, forcing
// the tiled shape is P0405 with the analysis' reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MatmulTiles } from '../../codegen/matmul.ts';
import { generateProgram } from '../../codegen/program.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { vocabTiling } from '../../src/plan/vocab-tiling.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { Runtime } from '../../src/api/runtime.ts';
import { main } from '../../src/cli/main.ts';
import { BufferPool } from '../../src/runtime/buffers.ts';
import { encodeProgram, execute, preparePipelines } from '../../src/runtime/execute.ts';
import type { InputSource } from '../../src/runtime/input-sources.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import {
  apiInputs,
  exampleFiles,
  exampleKernels,
  expectClose,
  floatTensorParams,
  randomCotangents,
  sizesFor,
  testInputs,
} from './gpu-helpers.ts';

let dev: AcquiredDevice;

beforeAll(async () => {
  dev = await acquireDevice();
});

afterAll(() => {
  dev?.release();
});

const DIMS = { N: 13, H: 8, V: 37, B: 3, T: 5, M: 11 };
const TILE = 16;

async function run(
  fn: IrFunction,
  grad: readonly string[],
  vocabTile: number | undefined,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: Map<string, number>,
  cot: ReturnType<typeof randomCotangents>,
  tiles?: MatmulTiles,
) {
  const planned = planKernel({
    kernel: fn,
    grad,
    cotangents: cot.cot,
    ...(vocabTile !== undefined ? { schedule: { vocabTile } } : {}),
  });
  const program = generateProgram(planned.fn, planned.plan, tiles && { tiles });
  const all = new Map(inputs);
  for (const [k, t] of cot.tensors) all.set(k, t);
  const r = await execute(dev, program, all, sizes, { chunkRows: 5 });
  return { plan: planned.plan, values: r.values };
}

/** Forcing the tiled shape, or the P0405 it raises. */
function tiledOrWhy(
  fn: IrFunction,
  grad: readonly string[],
  cot: ReturnType<typeof randomCotangents>,
) {
  try {
    planKernel({ kernel: fn, grad, cotangents: cot.cot, schedule: { vocabTile: TILE } });
    return undefined;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return e;
  }
}

describe('vocabulary tiling: both shapes, the same results', () => {
  for (const file of exampleFiles())
    for (const withGrad of [false, true])
      it(`${file}${withGrad ? ' with gradients' : ''}`, async () => {
        for (const fn of exampleKernels(file)) {
          const sizes = sizesFor(fn, DIMS);
          const grad = withGrad ? floatTensorParams(fn) : [];
          const cot = randomCotangents(fn, sizes, 7);
          const err = tiledOrWhy(fn, grad, cot);
          if (err) {
            // The reason is the analysis' (or the tiled shape's own limit, named as such).
            const { fn: joint, plan } = planKernel({ kernel: fn, grad, cotangents: cot.cot });
            const reasons = vocabTiling(joint, plan).flatMap((t) => (t.eligible ? [] : [t.reason]));
            expect(err.diagnostics[0]?.code).toBe('P0405');
            expect(reasons.length, `${file}: ${err.message}`).toBeGreaterThan(0);
            expect(
              reasons.some((r) => err.message.includes(r)) || /stays rows-only/.test(err.message),
              err.message,
            ).toBe(true);
            continue;
          }
          const inputs = testInputs(fn, sizes, 11);
          const rows = await run(fn, grad, undefined, inputs, sizes, cot);
          const tiles = await run(fn, grad, TILE, inputs, sizes, cot);
          expect(tiles.plan.shape).toMatchObject({ kind: 'tiles', width: TILE });
          expect([...tiles.values.keys()].sort()).toEqual([...rows.values.keys()].sort());
          for (const [k, want] of rows.values)
            expectClose(tiles.values.get(k), want, `${file} ${fn.name} ${k}`, {
              rtol: 2e-5,
              atol: 1e-6,
              label: 'tiled vs rows-only',
            });
        }
      });
});

describe('vocabulary tiling with the direct matmul tiles the autotuner picks on a CPU', () => {
  // The tile products move offB/offC by tileStart·H: the vec4 variants must see those
  // offsets (H = 8: aligned; H = 6: not, the scalar fallback runs).
  const direct: MatmulTiles = {
    ...{ tileM: 16, tileN: 128, tileK: 2, threadsX: 8, threadsY: 1 },
    ...{ staging: 'direct', mFastest: true },
  };
  for (const H of [8, 6])
    it(`cross_entropy with gradients at H=${H}: tiled with direct tiles = rows-only portable`, async () => {
      const [fn] = exampleKernels('cross_entropy.proj');
      if (!fn) throw new Error('no kernel');
      const sizes = sizesFor(fn, { ...DIMS, H });
      const grad = ['X', 'W'];
      const cot = randomCotangents(fn, sizes, 7);
      const inputs = testInputs(fn, sizes, 11);
      const rows = await run(fn, grad, undefined, inputs, sizes, cot);
      const tiles = await run(fn, grad, TILE, inputs, sizes, cot, direct);
      for (const [k, want] of rows.values)
        expectClose(tiles.values.get(k), want, `H=${H} ${k}`, {
          rtol: 2e-5,
          atol: 1e-6,
          label: 'tiled direct vs rows-only',
        });
    });
});

describe('vocabulary tiling, recorded into one encoder', () => {
  it('cross_entropy with gradients: the recorded run matches the streamed rows-only one', async () => {
    const [fn] = exampleKernels('cross_entropy.proj');
    if (!fn) throw new Error('no kernel');
    const sizes = sizesFor(fn, DIMS);
    const grad = ['X', 'W'];
    const cot = randomCotangents(fn, sizes, 7);
    const inputs = testInputs(fn, sizes, 11);
    const rows = await run(fn, grad, undefined, inputs, sizes, cot);
    const planned = planKernel({ kernel: fn, grad, schedule: { vocabTile: TILE } });
    const program = generateProgram(planned.fn, planned.plan);
    const sources = new Map<string, InputSource>();
    for (const [k, t] of inputs)
      sources.set(
        k,
        t.shape.length
          ? { kind: 'host', shape: t.shape, data: t.data }
          : { kind: 'scalar', value: t.data[0] ?? 0 },
      );
    const pipelines = await preparePipelines(dev.device, program);
    const r = encodeProgram(dev, program, sources, sizes, { chunkRows: 5 }, pipelines);
    const pool = new BufferPool(dev.device, dev.limits);
    try {
      for (const [k, want] of rows.values) {
        const t = r.results.get(k);
        if (!t) throw new Error(`no result ${k}`);
        const n = t.shape.reduce((a, b) => a * b, 1);
        const raw = await pool.readback(t.buffer, Math.max(4, n * 4), t.offset ?? 0);
        const got: Tensor = { ...want, data: Float64Array.from(new Float32Array(raw, 0, n)) };
        expectClose(got, want, `recorded ${k}`, { rtol: 2e-5, label: 'tiled vs rows-only' });
      }
    } finally {
      for (const t of r.results.values()) t.buffer.destroy();
      pool.destroyAll();
      r.release();
    }
  });
});

describe('vocabulary tiling: the memory model against the measured peak', () => {
  it('cross_entropy with gradients, tiles of 512: measured peak within 1% of the prediction', async () => {
    const [fn] = exampleKernels('cross_entropy.proj');
    if (!fn) throw new Error('no kernel');
    const sizes = new Map([
      ['N', 256],
      ['H', 64],
      ['V', 4000],
    ]);
    const inputs = testInputs(fn, sizes, 3);
    for (const vocabTile of [undefined, 512]) {
      const planned = planKernel({
        kernel: fn,
        grad: ['X', 'W'],
        ...(vocabTile ? { schedule: { vocabTile } } : {}),
      });
      const r = await execute(dev, generateProgram(planned.fn, planned.plan), inputs, sizes, {
        chunkRows: 64,
      });
      const predicted = r.chunk.predictedPeakBytes;
      console.log(
        `[tiled-shape] tile ${vocabTile ?? 'rows-only'}: predicted ${predicted}, measured ${r.peakBytes}`,
      );
      expect(Math.abs(r.peakBytes - predicted) / predicted).toBeLessThan(0.01);
    }
  });
});

describe('vocabulary tiling past the binding limit', () => {
  it('splits the tiled products of a weight too large to bind, with the same results', async () => {
    const [fn] = exampleKernels('cross_entropy.proj');
    if (!fn) throw new Error('no kernel');
    const sizes = new Map([
      ['N', 20],
      ['H', 16],
      ['V', 300],
    ]);
    const inputs = testInputs(fn, sizes, 5);
    const cot = randomCotangents(fn, sizes, 7);
    const rows = await run(fn, ['X', 'W'], undefined, inputs, sizes, cot);
    const planned = planKernel({ kernel: fn, grad: ['X', 'W'], schedule: { vocabTile: 128 } });
    // W is 9.6 KB and dW 19.2 KB, past a 4 KiB binding limit: each tile's products split.
    const r = await execute(dev, generateProgram(planned.fn, planned.plan), inputs, sizes, {
      chunkRows: 6,
      maxStorageBufferBindingSize: 4096,
    });
    for (const [k, want] of rows.values)
      expectClose(r.values.get(k), want, `split ${k}`, { rtol: 2e-5, label: 'tiled vs rows-only' });
  });
});

describe('vocabulary tiling through the Runtime API', () => {
  it('run, forward and backward with vocabTile match rows-only', async () => {
    const rt = await Runtime.create({ device: dev.device });
    try {
      const [fn] = exampleKernels('token_entropy.proj');
      if (!fn) throw new Error('no kernel');
      const sizes = sizesFor(fn, DIMS);
      const inputs = apiInputs(testInputs(fn, sizes, 13));
      const cot = randomCotangents(fn, sizes, 17);
      const grad = floatTensorParams(fn);
      const a = await rt.run(fn, inputs, {
        grad,
        cotangents: cot.api,
        chunkRows: 4,
        vocabTile: 'rows',
      });
      const b = await rt.run(fn, inputs, {
        grad,
        cotangents: cot.api,
        chunkRows: 4,
        vocabTile: TILE,
      });
      for (const [k, t] of a.outputs) expectClose(b.outputs.get(k), t, `run ${k}`, { rtol: 2e-5 });
      for (const [k, t] of a.grads) expectClose(b.grads.get(k), t, `run grad.${k}`, { rtol: 2e-5 });
      const f = await rt.forward(fn, inputs, { chunkRows: 4, vocabTile: TILE });
      const g = await rt.backward(f.saved, grad, cot.api);
      for (const [k, t] of a.outputs)
        expectClose(f.outputs.get(k), t, `forward ${k}`, { rtol: 2e-5 });
      for (const [k, t] of a.grads)
        expectClose(g.grads.get(k), t, `backward grad.${k}`, { rtol: 2e-5 });
      // A kernel that cannot be tiled: P0405 from the run.
      const [clip] = exampleKernels('clip.proj');
      if (!clip) throw new Error('no kernel');
      const clipSizes = sizesFor(clip, DIMS);
      const err = await rt
        .run(clip, apiInputs(testInputs(clip, clipSizes, 1)), { vocabTile: TILE })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(UserError);
    } finally {
      rt.release();
    }
  });
});

describe('projc run --vocab-tile', () => {
  it('forced tiles, forced rows-only and the budget-picked tiles give one answer', async () => {
    const out: Record<string, unknown>[] = [];
    for (const extra of [
      ['--vocab-tile', 'rows'],
      ['--vocab-tile', '512'],
      ['--memory-budget', '700000'],
    ]) {
      let text = '';
      const io = { out: (t: string) => void (text += t), err: () => undefined };
      const code = await main(
        [
          'run',
          'examples/cross_entropy.proj',
          '--dims',
          'N=64,H=16,V=3000',
          '--grad',
          'X,W',
          '--backend',
          'webgpu',
          '--json',
          ...extra,
        ],
        io,
      );
      expect(code).toBe(0);
      out.push(JSON.parse(text) as Record<string, unknown>);
    }
    const loss = out.map((o) => (o['outputs'] as Record<string, number>)['out'] ?? NaN);
    for (const l of loss)
      expect(Math.abs(l - (loss[0] ?? 0))).toBeLessThan(1e-5 * Math.abs(loss[0] ?? 1));
    expect(out.map((o) => String((o['plan'] as string[])[1]).includes('V tiles of'))).toEqual([
      false,
      true,
      true,
    ]);
    // The budget picked tiles with their chunk: the reason says so, and the peak fits.
    expect(out[2]?.['chunkReason']).toBe('memory budget');
    expect(Number(out[2]?.['peakBytes'])).toBeLessThanOrEqual(700000);
  });
});
