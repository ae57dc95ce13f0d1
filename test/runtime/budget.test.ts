// The memory budget picks the chunk size: a kernel whose materialized logits would not fit
// runs in chunks under the budget (as the buffer pool tracks it), with the same results.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { materializedBytes, memoryModel } from '../../src/runtime/memory.ts';
import {
  apiInputs,
  exampleKernels,
  expectRunClose,
  floatTensorParams,
  oracle,
  randomCotangents,
  sizesFor,
  testInputs,
} from './gpu-helpers.ts';

let rt: Runtime;

beforeAll(async () => {
  rt = await Runtime.create();
});

afterAll(() => rt?.release());

const CASES = [
  { file: 'cross_entropy.proj', storage: undefined, dims: { N: 128, H: 8, V: 200 } },
  { file: 'cross_entropy.proj', storage: 'f32', dims: { N: 128, H: 8, V: 200 } },
  { file: 'token_entropy.proj', storage: undefined, dims: { B: 8, T: 9, H: 8, V: 150 } },
  { file: 'z_loss.proj', storage: undefined, dims: { N: 50, H: 8, V: 130 } },
] as const;

describe.each(CASES)('$file ($storage) $dims', ({ file, storage, dims }) => {
  const kernel = exampleKernels(file, storage)[0]!;
  const sizes = sizesFor(kernel, dims);
  const inputs = testInputs(kernel, sizes, 42);
  const api = apiInputs(inputs);
  const grad = floatTensorParams(kernel);
  const cot = randomCotangents(kernel, sizes, 43);
  const rows = kernel.dims.includes('N') ? sizes.get('N')! : sizes.get('B')! * sizes.get('T')!;

  for (const mode of ['forward', 'gradients'] as const) {
    const g = mode === 'gradients' ? grad : [];
    const opts = mode === 'gradients' ? { grad, cotangents: cot.api } : {};
    const model = () => memoryModel(rt.program(kernel, g, g.length ? cot.cot : undefined), sizes);

    it(`${mode}: a budget below the materialized logits runs in chunks within it`, async () => {
      const p = rt.program(kernel, g, g.length ? cot.cot : undefined);
      const logits = rows * sizes.get('V')! * 4;
      const m = model();
      // Room for 10 rows and a half: the chunk is 10 rows.
      const budget = m.fixedBytes + Math.floor(10.5 * m.perRowBytes);
      expect(budget).toBeLessThan(logits);
      expect(budget).toBeLessThan(materializedBytes(p, sizes));
      const r = await rt.run(kernel, api, { ...opts, memoryBudget: budget });
      expect(r.stats.chunkRows).toBe(10);
      expect(r.stats.chunkRows).toBeLessThan(rows);
      expect(r.stats.chunks).toBe(Math.ceil(rows / 10));
      expect(r.stats.predictedPeakBytes).toBeLessThanOrEqual(budget);
      expect(r.stats.peakBytes).toBeLessThanOrEqual(budget);
      expectRunClose(r, oracle(kernel, inputs, sizes, g, g.length ? cot : undefined), mode);
    });

    it(`${mode}: a budget of exactly the predicted peak for k rows is met`, async () => {
      const m = model();
      for (const k of [1, 3]) {
        const budget = m.fixedBytes + k * m.perRowBytes;
        const r = await rt.run(kernel, api, { ...opts, memoryBudget: budget });
        expect(r.stats.chunkRows).toBe(k);
        expect(r.stats.predictedPeakBytes).toBe(budget);
        expect(r.stats.peakBytes).toBeLessThanOrEqual(budget);
      }
    });

    it(`${mode}: a budget too small for one row is P0405 naming the bytes needed`, async () => {
      const m = model();
      const need = m.fixedBytes + m.perRowBytes;
      const err = await rt.run(kernel, api, { ...opts, memoryBudget: need - 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserError);
      if (!(err instanceof UserError)) return;
      const d = err.diagnostics[0]!;
      expect(d.code).toBe('P0405');
      expect(d.message).toContain(`${need - 1} bytes`);
      expect(d.help?.join(' ')).toContain(String(need));
      // One byte more is enough.
      const r = await rt.run(kernel, api, { ...opts, memoryBudget: need });
      expect(r.stats.chunkRows).toBe(1);
      expect(r.stats.peakBytes).toBeLessThanOrEqual(need);
    });
  }

  it('chunkRows beyond the row count is clamped to all rows', async () => {
    const want = oracle(kernel, inputs, sizes, grad, cot);
    for (const chunkRows of [rows, rows + 1, 10 * rows, 2 ** 31]) {
      const r = await rt.run(kernel, api, { grad, cotangents: cot.api, chunkRows });
      expect(r.stats.chunkRows).toBe(rows);
      expect(r.stats.chunks).toBe(1);
      expectRunClose(r, want, `chunkRows ${chunkRows}`);
    }
  });

  it('an explicit chunkRows wins over the memory budget', async () => {
    const r = await rt.run(kernel, api, { chunkRows: 5, memoryBudget: 1e12 });
    expect(r.stats.chunkRows).toBe(5);
  });
});

describe('bad chunk options are user errors, not failures deep in the runtime', () => {
  const kernel = exampleKernels('cross_entropy.proj')[0]!;
  const sizes = sizesFor(kernel, { N: 8, H: 4, V: 16 });
  const api = apiInputs(testInputs(kernel, sizes, 1));
  it.each([
    { chunkRows: 0 },
    { chunkRows: -3 },
    { chunkRows: 2.5 },
    { chunkRows: NaN },
    { memoryBudget: NaN },
    { memoryBudget: -1 },
  ])('%o', async (opts) => {
    const err = await rt.run(kernel, api, opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    if (err instanceof UserError) expect(err.diagnostics[0]?.code).toBe('P0405');
  });
});
