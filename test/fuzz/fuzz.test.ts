// The fuzz targets of issue 13 in CI: a fixed seed and a small budget (about 35 s in all).
// `npm run fuzz -- --minutes N` runs the same targets for longer, from any seed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { cliCase, runCliCase } from './cli-args.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';
import { scalarTensor } from '../../src/tensor/tensor.ts';
import {
  compareTensors,
  describeCase,
  fuzzCase,
  intermediateMagnitudes,
  runCase,
} from './programs.ts';

describe('differential fuzz: random well-typed programs on cpu and webgpu', () => {
  let rt: Runtime | undefined;
  beforeAll(async () => {
    rt = await Runtime.create();
  });
  afterAll(() => rt?.release());

  it('agree within 1e-4 of each tensor’s largest magnitude (+1e-5 of its intermediates), forward and backward', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fuzzCase, async (c) => {
        if (!rt) throw new Error('no runtime');
        runs++;
        const why = await runCase(rt, c);
        if (why) throw new Error(`${why}\n${describeCase(c)}`);
      }),
      {
        seed: 20261203,
        numRuns: 60,
        interruptAfterTimeLimit: 20_000,
        markInterruptAsFailure: false,
      },
    );
    expect(runs).toBeGreaterThan(5);
  }, 60_000);
});

describe('command-line fuzz: random argument vectors through main', () => {
  it('never crash: exit 0, 1 or 2, no exception, no internal error', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(cliCase, async (argv) => {
        runs++;
        const why = await runCliCase(argv);
        if (why) throw new Error(`projc ${argv.map((a) => JSON.stringify(a)).join(' ')}: ${why}`);
      }),
      {
        seed: 20261203,
        numRuns: 400,
        interruptAfterTimeLimit: 15_000,
        markInterruptAsFailure: false,
      },
    );
    expect(runs).toBeGreaterThan(50);
  }, 60_000);
});

describe('the agreement rule counts the magnitude of intermediate values', () => {
  // The false positive of a 10-minute run: an output of ~6e-4 from Σ|r − mean r| with rows
  // near −1690, where f32 rounding of the rows (~1e-4 each) decides the answer.
  const source = `kernel k(X: f32[N, H], W: f32[V, H], t: i32[N]) -> f32 {
  z = X @ W.T
  r = gather(z, t, V) * 0.0001 - 1690
  return sum(abs(r - mean(r, N)), N)
}
`;
  const fn = compileFile({ path: 'c.proj', text: source }).kernels.get('k');
  const sizes = new Map(Object.entries({ N: 9, H: 3, V: 5 }));

  it('M is the largest magnitude the result is computed from, gradients included', () => {
    if (!fn) throw new Error('no kernel');
    const inputs = randomInputs(fn, sizes, 7);
    const m = intermediateMagnitudes(fn, inputs, sizes, ['X', 'W']);
    expect(m.get('out')).toBeGreaterThan(1689);
    expect(m.get('grad.X')).toBeGreaterThan(1689);
    const out = runCpu({ fn, inputs, sizes, grad: [], cotangents: new Map() }).outputs.get('out');
    expect(Math.abs(out?.data[0] ?? 1)).toBeLessThan(0.01);
  });

  it('accepts f32 cancellation error of such an output, and only within 1e-5 · M', () => {
    const c = scalarTensor('f32', 6e-4);
    const g = scalarTensor('f32', 6e-4 + 9e-4);
    expect(compareTensors('out', c, g)).toMatch(/\|Δ\| >/);
    expect(compareTensors('out', c, g, 1690)).toBeUndefined();
    const far = scalarTensor('f32', 6e-4 + 0.02);
    expect(compareTensors('out', c, far, 1690)).toMatch(/\|Δ\| >/);
  });

  it('and the program agrees on both backends under it', async () => {
    const rt = await Runtime.create();
    try {
      const c = { source, dims: { N: 9, H: 3, V: 5 }, grad: true, chunkRows: 2, seed: 7 };
      expect(await runCase(rt, c)).toBeUndefined();
    } finally {
      rt.release();
    }
  });
});
