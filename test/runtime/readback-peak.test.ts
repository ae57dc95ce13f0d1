// Reading the results back does not raise a run's peak: the run frees every buffer but the
// results' first and reads them through staging slices no larger than what it freed
// (src/runtime/readback.ts). Before, a staging slice as large as grad.W (up to 16 MiB) was
// live beside everything else; at small budgets that was most of the peak.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { memoryModel, predictedPeak } from '../../src/runtime/memory.ts';
import { READBACK_MIN_SLICE_BYTES } from '../../src/runtime/readback.ts';
import {
  apiInputs,
  exampleKernels,
  expectRunClose,
  floatTensorParams,
  oracle,
  sizesFor,
  testInputs,
} from './gpu-helpers.ts';

let rt: Runtime;

beforeAll(async () => {
  rt = await Runtime.create();
});

afterAll(() => rt?.release());

const kernel = exampleKernels('cross_entropy.proj')[0]!;
const grad = floatTensorParams(kernel);

describe('the readback of the results', () => {
  it('adds nothing to the peak where grad.W is larger than the chunk: measured = model', async () => {
    // grad.W is 2048 × 32 × 4 = 256 KiB; a chunk of 2 rows holds 2 × 2048 × 4 = 16 KiB.
    const sizes = sizesFor(kernel, { N: 64, H: 32, V: 2048 });
    const inputs = testInputs(kernel, sizes, 7);
    const p = rt.program(kernel, grad);
    const m = memoryModel(p, sizes);
    const gradW = 2048 * 32 * 4;
    const r = await rt.run(kernel, apiInputs(inputs), { grad, chunkRows: 2, vocabTile: 'rows' });
    expect(r.stats.chunkRows).toBe(2);
    expect(r.stats.predictedPeakBytes).toBe(predictedPeak(m, 2));
    expect(r.stats.predictedPeakBytes).toBe(m.fixedBytes + 2 * m.perRowBytes);
    // The model is exact up to the matmul uniform ring (a few hundred bytes).
    expect(r.stats.peakBytes).toBeLessThanOrEqual(r.stats.predictedPeakBytes);
    expect(r.stats.peakBytes).toBeGreaterThan(r.stats.predictedPeakBytes - 4096);
    // A whole-grad.W staging buffer beside the run's buffers would have passed this.
    expect(r.stats.peakBytes).toBeLessThan(m.fixedBytes + gradW);
    expectRunClose(r, oracle(kernel, inputs, sizes, grad), 'gradients');
  });

  it('sets the peak, as the model says, where the run frees less than the smallest slice', async () => {
    // grad.W of 768 × 32 × 4 = 96 KiB; with chunks of one row the run frees W (48 KiB), X,
    // the chunk (3 KiB) and the arena: under 64 KiB, so the results plus one 64 KiB slice
    // are the peak.
    const sizes = sizesFor(kernel, { N: 8, H: 32, V: 768 });
    const inputs = testInputs(kernel, sizes, 8);
    const m = memoryModel(rt.program(kernel, grad), sizes);
    expect(m.readbackPeakBytes).toBeGreaterThan(m.fixedBytes + m.perRowBytes);
    expect(m.readbackPeakBytes).toBe(4 + 8 * 32 * 4 + 768 * 32 * 4 + READBACK_MIN_SLICE_BYTES);
    const r = await rt.run(kernel, apiInputs(inputs), { grad, chunkRows: 1, vocabTile: 'rows' });
    expect(r.stats.predictedPeakBytes).toBe(m.readbackPeakBytes);
    expect(r.stats.peakBytes).toBe(m.readbackPeakBytes);
    expectRunClose(r, oracle(kernel, inputs, sizes, grad), 'gradients');
  });
});
