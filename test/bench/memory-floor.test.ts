// The memory floor (src/bench/memory-floor.ts): projc under a budget of its inputs and
// results plus 1% runs within it, agrees with the rows-only run, and the report says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProgram, type Program } from '../../codegen/program.ts';
import { FLOOR_MARGIN, inputsAndResultsBytes, measureFloor } from '../../src/bench/memory-floor.ts';
import { floorModelError, floorOver } from '../../src/bench/report-floor.ts';
import { benchMarkdown } from '../../src/bench/report-markdown.ts';
import type { FloorResult } from '../../src/bench/bench-types.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { bindDims } from '../../src/interp/bind.ts';
import type { IrFunction } from '../../src/ir/types.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { readFileSync } from 'node:fs';
import { fakeReport, fakeShapes } from './fake-report.ts';

const path = 'examples/cross_entropy.proj';
const fn = compileFile({ path, text: readFileSync(path, 'utf8') }).kernels.get(
  'cross_entropy',
) as IrFunction;
const grad = ['X', 'W'];
const planned = planKernel({ kernel: fn, grad });
const program: Program = generateProgram(planned.fn, planned.plan);

function sizesOf(dims: Record<string, number>) {
  const given = new Map(Object.entries(dims));
  const shapes = new Map(
    fn.params.filter((p) => p.dims.length).map((p) => [p.name, p.dims.map((d) => given.get(d)!)]),
  );
  return bindDims(fn, shapes, given);
}

let dev: AcquiredDevice;
const floorAt = (sizes: ReturnType<typeof sizesOf>) =>
  measureFloor({ dev, kernel: fn, grad, program, sizes, seed: 3, tolerance: 1e-4 });
beforeAll(async () => {
  dev = await acquireDevice();
});
afterAll(() => dev?.release());

describe('the memory floor', () => {
  it('counts the bf16 inputs, the i32 targets and the f32 results', () => {
    const [N, H, V] = [128, 128, 2048];
    expect(inputsAndResultsBytes(fn, program, sizesOf({ N, H, V }))).toBe(
      2 * N * H + 2 * V * H + 4 * N + 4 * N * H + 4 * V * H + 4,
    );
  });

  it('runs cross-entropy with gradients within 1% over its inputs and results', async () => {
    const sizes = sizesOf({ N: 128, H: 128, V: 2048 });
    const f = await floorAt(sizes);
    if (f.failure !== undefined) throw new Error(f.failure);
    expect(f.shape).toBe('tiles');
    expect(f.budget).toBe(Math.floor(f.floorBytes * (1 + FLOOR_MARGIN)));
    expect(f.predictedPeakBytes).toBeLessThanOrEqual(f.budget);
    expect(f.peakBytes).toBeLessThanOrEqual(f.predictedPeakBytes);
    expect(floorOver(f)).toBeLessThanOrEqual(FLOOR_MARGIN);
    expect(floorModelError(f)).toBeLessThan(0.01);
    // The rows-only run of the default chunk holds the whole chunk × V logits.
    expect(f.referencePeakBytes).toBeGreaterThan(f.peakBytes + 128 * 2048 * 4 * 0.9);
    for (const e of Object.values(f.maxRelError)) expect(e).toBeLessThanOrEqual(1e-4);
  });

  it('records, rather than throws, a budget that holds not even one row', async () => {
    // 18.6 KB of inputs and results: 1% is less than the model's 4 KiB of uniform slack.
    const sizes = sizesOf({ N: 64, H: 16, V: 128 });
    const f = await floorAt(sizes);
    expect(f.failure).toMatch(/too small for even one row/);
  });

  it('is a check line and a section of the report', () => {
    const f: FloorResult = {
      dims: { N: 4096, H: 256, V: 8192 },
      floorBytes: 18_890_756,
      budget: 19_079_663,
      shape: 'tiles',
      tileWidth: 1024,
      tileDim: 'V',
      reason: 'rows-only chunks of the memory budget would hold 3 rows, under 96',
      chunkRows: 40,
      chunks: 103,
      predictedPeakBytes: 19_070_000,
      peakBytes: 19_066_000,
      computeMs: 9000,
      referenceComputeMs: 3000,
      referencePeakBytes: 36_000_000,
      referenceChunkRows: 512,
      maxRelError: { out: 1e-7, 'grad.X': 2e-6, 'grad.W': 3e-6 },
    };
    const md = benchMarkdown({ ...fakeReport(fakeShapes()), floor: [f] }, []);
    expect(md).toContain(
      "- **met** At the largest shape (N=4096 H=256 V=8192), under a budget of its inputs and results plus 1.0%, projc's measured peak is 0.93% above them",
    );
    expect(md).toContain('## Memory floor');
    expect(md).toMatch(
      /\| N=4096 H=256 V=8192 \| 18\.0 MiB +\| 18\.2 MiB \| V tiles of 1024 \| 103 × 40 +\|/,
    );
    expect(md).toContain('3.00×');
    const over = { ...f, peakBytes: 19_200_000, predictedPeakBytes: 19_200_000 };
    expect(benchMarkdown({ ...fakeReport(fakeShapes()), floor: [over] }, [])).toContain(
      '- **not met** At the largest shape (N=4096 H=256 V=8192)',
    );
  });
});
