// NaN and ±Inf in the inputs propagate on the GPU exactly as in the interpreter (which
// follows PyTorch): NaN for NaN, the same infinities. And a device lost mid-run rejects
// with a clear error instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { DeviceLostError } from '../../src/runtime/device.ts';
import {
  apiInputs,
  exampleKernels,
  expectRunClose,
  floatTensorParams,
  oracle,
  randomCotangents,
  sizesFor,
  testInputs,
  type Cotangents,
} from './gpu-helpers.ts';

let rt: Runtime;

beforeAll(async () => {
  rt = await Runtime.create();
});

afterAll(() => rt?.release());

/** A copy of `inputs` with `edit` applied to the data of one tensor. */
function edited(
  inputs: ReadonlyMap<string, Tensor>,
  name: string,
  edit: (data: Float64Array, t: Tensor) => void,
): Map<string, Tensor> {
  const out = new Map(inputs);
  const t = inputs.get(name);
  if (!t) throw new Error(`no input ${name}`);
  const data = Float64Array.from(t.data);
  edit(data, t);
  out.set(name, { ...t, data });
  return out;
}

/** Sets row `r` of a [rows, H] tensor to `f(h)`. */
const row =
  (r: number, f: (h: number) => number) =>
  (data: Float64Array, t: Tensor): void => {
    const h = t.shape[t.shape.length - 1] ?? 1;
    for (let j = 0; j < h; j++) data[r * h + j] = f(j);
  };

/** GPU (forward, and gradients at chunks of 3 rows and all rows) vs the interpreter. */
async function compare(
  kernel: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: ReadonlyMap<string, number>,
  cot?: Cotangents,
): Promise<{ out: Map<string, Tensor>; grads: Map<string, Tensor> }> {
  const grad = floatTensorParams(kernel);
  const api = apiInputs(inputs);
  const fwd = oracle(kernel, inputs, sizes);
  const bwd = oracle(kernel, inputs, sizes, grad, cot);
  for (const chunkRows of [3, undefined]) {
    const opts = chunkRows === undefined ? {} : { chunkRows };
    expectRunClose(await rt.run(kernel, api, opts), fwd, `forward, chunk ${chunkRows}`);
    const g = await rt.run(kernel, api, { ...opts, grad, ...(cot ? { cotangents: cot.api } : {}) });
    expectRunClose(g, bwd, `gradients, chunk ${chunkRows}`);
  }
  return { out: fwd.outputs, grads: bwd.grads };
}

const value = (m: Map<string, Tensor>, k: string) => m.get(k)?.data[0];
const countNaN = (t: Tensor | undefined) => t?.data.filter(Number.isNaN).length ?? -1;

describe.each([undefined, 'f32'] as const)('cross_entropy (%s)', (storage) => {
  const kernel = exampleKernels('cross_entropy.proj', storage)[0]!;
  const sizes = sizesFor(kernel, { N: 11, H: 8, V: 70 });
  const base = testInputs(kernel, sizes, 5, { ignoreFraction: 0, outOfRange: false });
  const keepTarget = (inputs: Map<string, Tensor>, r: number, v: number) =>
    edited(inputs, 'target', (d) => (d[r] = v));

  it('a NaN in one kept row of X makes the mean loss NaN', async () => {
    const inputs = edited(base, 'X', (d, t) => (d[4 * (t.shape[1] ?? 1) + 2] = NaN));
    const { out, grads } = await compare(kernel, inputs, sizes);
    expect(value(out, 'out')).toBeNaN();
    expect(countNaN(grads.get('W'))).toBeGreaterThan(0);
  });

  it('a NaN in an ignored row leaves the loss finite', async () => {
    const inputs = keepTarget(
      edited(
        base,
        'X',
        row(6, () => NaN),
      ),
      6,
      -100,
    );
    const { out } = await compare(kernel, inputs, sizes);
    expect(Number.isFinite(value(out, 'out'))).toBe(true);
  });

  it('+inf in one row of X gives ±inf logits: lse = inf, the loss is not finite', async () => {
    const inputs = edited(
      base,
      'X',
      row(3, (j) => (j === 0 ? Infinity : 0)),
    );
    const { out } = await compare(kernel, inputs, sizes);
    expect(Number.isFinite(value(out, 'out'))).toBe(false);
  });

  it('-inf in one row of X', async () => {
    await compare(
      kernel,
      edited(
        base,
        'X',
        row(0, (j) => (j === 1 ? -Infinity : 0)),
      ),
      sizes,
    );
  });

  it('an inf in W reaches every row', async () => {
    const inputs = edited(base, 'W', (d) => (d[5] = Infinity));
    const { out } = await compare(kernel, inputs, sizes);
    expect(Number.isFinite(value(out, 'out'))).toBe(false);
  });

  it('logits of magnitude 1e4 neither overflow nor lose the loss', async () => {
    const inputs = edited(base, 'X', (d) => {
      for (let i = 0; i < d.length; i++) d[i] = (d[i] ?? 0) * 1e4;
    });
    const { out } = await compare(kernel, inputs, sizes);
    const loss = value(out, 'out') ?? NaN;
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(100);
  });

  it('a NaN label_smoothing makes the loss NaN', async () => {
    const inputs = new Map(base);
    inputs.set('label_smoothing', {
      dtype: 'f32',
      dims: [],
      shape: [],
      data: Float64Array.of(NaN),
    });
    const { out } = await compare(kernel, inputs, sizes);
    expect(value(out, 'out')).toBeNaN();
  });
});

describe('token_entropy', () => {
  const kernel = exampleKernels('token_entropy.proj')[0]!;
  const sizes = sizesFor(kernel, { B: 2, T: 5, H: 8, V: 70 });
  const base = testInputs(kernel, sizes, 9);

  it('NaN and inf in X rows stay in their rows', async () => {
    const h = 8;
    const inputs = edited(base, 'X', (d) => {
      d[1 * h] = NaN;
      d[6 * h + 3] = Infinity;
      d[8 * h] = -Infinity;
    });
    const cot = randomCotangents(kernel, sizes, 10);
    const { out } = await compare(kernel, inputs, sizes, cot);
    const ent = out.get('ent')!;
    expect(Number.isNaN(ent.data[1])).toBe(true);
    expect(ent.data.filter((x) => !Number.isFinite(x)).length).toBeLessThanOrEqual(3);
    expect(Number.isFinite(ent.data[0])).toBe(true);
  });

  it('a NaN cotangent entry poisons the gradients it reaches', async () => {
    const cot = randomCotangents(kernel, sizes, 12);
    const t = cot.tensors.get('cotangent.logp')!;
    t.data[4] = NaN;
    const { grads } = await compare(kernel, base, sizes, cot);
    expect(countNaN(grads.get('X'))).toBe(8);
    expect(countNaN(grads.get('W'))).toBeGreaterThan(0);
  });
});

describe('a device lost mid-run', () => {
  it('rejects with DeviceLostError, without hanging', async () => {
    const own = await Runtime.create();
    const kernel = exampleKernels('cross_entropy.proj')[0]!;
    const sizes = sizesFor(kernel, { N: 40, H: 8, V: 64 });
    const api = apiInputs(testInputs(kernel, sizes, 3));
    const progress: number[] = [];
    const run = own.run(kernel, api, {
      grad: ['X', 'W'],
      chunkRows: 1,
      onProgress: (done) => {
        progress.push(done);
        if (progress.length === 1) own.device.device.destroy();
      },
    });
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(String(err)).toMatch(/device .* was lost/);
    // No more chunks were reported after the loss was seen.
    expect(progress.length).toBeLessThanOrEqual(2);
    // A later call on the lost device fails the same way, at once.
    await expect(own.run(kernel, api)).rejects.toBeInstanceOf(DeviceLostError);
    own.release();
  }, 20_000);

  it('lost after the last chunk, before the read-back: DeviceLostError too', async () => {
    const own = await Runtime.create();
    const kernel = exampleKernels('cross_entropy.proj')[0]!;
    const sizes = sizesFor(kernel, { N: 40, H: 8, V: 64 });
    const api = apiInputs(testInputs(kernel, sizes, 3));
    const run = own.run(kernel, api, {
      grad: ['X', 'W'],
      onProgress: (done, total) => {
        if (done === total) own.device.device.destroy();
      },
    });
    await expect(run).rejects.toBeInstanceOf(DeviceLostError);
    own.release();
  }, 20_000);
});
