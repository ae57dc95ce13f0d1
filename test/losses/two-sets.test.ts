// Two sets of rows through one W (issue 13): examples/two_sets.proj on PyTorch fixtures
// (scripts/fixtures/make_two_sets_fixtures.py), on the float64 interpreter and on the
// WebGPU runtime, whose plan gives each row set sweeps of its own (N and M chunked
// independently) and accumulates W's gradient from both into one buffer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import type { Cotangent } from '../../src/autodiff/differentiate.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';
import {
  ErrorLog,
  expectMatchesTorch,
  fixtureDir,
  runInterpreter,
  runWebgpu,
} from './fixture-harness.ts';

const { files, fixture } = fixtureDir('test/fixtures/losses/two_sets');
const log = new ErrorLog();

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.create();
});
afterAll(() => {
  rt?.release();
  log.print('two row sets');
});

describe('two row sets match PyTorch', () => {
  it('cover the summed log-partition and the preference', () => {
    expect(files.map((f) => fixture(f).file.metadata['kernel']).sort()).toEqual([
      'preference',
      'two_sets',
    ]);
  });
  for (const file of files)
    describe(file, () => {
      it('interpreter', () => {
        const f = fixture(file);
        const got = runInterpreter(f);
        log.record(file, 'interp', f, got);
        expectMatchesTorch(f, got, `${file} interpreter`);
      });
      it('webgpu, chunks of 5 rows × vocabulary tiles of 16', async () => {
        const f = fixture(file);
        const inputs: Record<string, { data: Float64Array; shape: readonly number[] } | number> =
          {};
        for (const p of f.kernel.params) {
          const t = f.inputs.get(p.name);
          if (t)
            inputs[p.name] = p.dims.length ? { data: t.data, shape: t.shape } : (t.data[0] ?? 0);
        }
        const tiled = planKernel({ kernel: f.kernel, grad: f.grad, schedule: { vocabTile: 16 } });
        expect(tiled.plan.shape.kind).toBe('tiles');
        const r = await rt.run(f.kernel, inputs, { grad: f.grad, chunkRows: 5, vocabTile: 16 });
        const got = new Map([
          ...[...r.outputs].map(([k, t]) => [k, t.data] as const),
          ...[...r.grads].map(([k, t]) => [`grad.${k}`, t.data] as const),
        ]);
        log.record(file, 'webgpu/tiles', f, got);
        expectMatchesTorch(f, got, `${file} webgpu tiles of 16`);
      });
      for (const chunk of [5, 'all'] as const)
        it(`webgpu, chunks of ${chunk} rows`, async () => {
          const f = fixture(file);
          const got = await runWebgpu(rt, f, chunk === 'all' ? undefined : chunk);
          log.record(file, `webgpu/${chunk}`, f, got);
          expectMatchesTorch(f, got, `${file} webgpu chunks of ${chunk}`);
        });
    });
});

describe('the plan of two row sets', () => {
  it('gives each set its own sweeps and accumulates grad.W from both into one buffer', () => {
    const { plan } = planKernel({
      kernel: fixture('two_sets_f32.safetensors').kernel,
      grad: ['X', 'Y', 'W'],
    });
    expect(plan.sweeps.map((s) => s.rowDims)).toEqual([['N'], ['M']]);
    const loops = plan.schedule.flatMap((n) => (n.kind === 'loop' ? [n.dims] : []));
    expect(loops).toEqual([['N'], ['M']]);
    // Both dW products accumulate: one into the result, the other reusing its storage.
    const dW = plan.buffers.filter((b) => b.dims.join() === 'V,H' && b.role !== 'input');
    const result = dW.find((b) => b.result === 'grad.W');
    expect(result?.home).toBe('own');
    expect(dW.filter((b) => b !== result).map((b) => b.aliasOf)).toEqual([result?.name]);
    expect(
      plan.epilogue.some((id) => plan.buffers.some((b) => b.node === id && b.result === 'grad.W')),
    ).toBe(false);
  });

  it("the preference: each set's backward waits for both forwards (four sweeps)", () => {
    const { plan } = planKernel({
      kernel: fixture('preference_f32.safetensors').kernel,
      grad: ['X', 'Y', 'W'],
    });
    expect(plan.sweeps.map((s) => s.rowDims)).toEqual([['N'], ['M'], ['N'], ['M']]);
    expect(plan.sweeps.map((s) => s.projections)).toEqual([1, 1, 2, 2]);
  });

  it('N and M are chunked independently: each loop walks its own rows', async () => {
    const f = fixture('two_sets_f32.safetensors');
    const inputs: Record<string, { data: Float64Array; shape: readonly number[] }> = {};
    for (const [k, t] of f.inputs) inputs[k] = { data: t.data, shape: t.shape };
    const chunks: [number, number][] = [];
    await rt.run(f.kernel, inputs, {
      grad: ['X', 'Y', 'W'],
      chunkRows: 10,
      onProgress: (done, total) => chunks.push([done, total]),
    });
    // N = 37 and M = 23 rows in chunks of 10: 4 + 3 chunks.
    expect(chunks.at(-1)).toEqual([7, 7]);
  });
});

describe('two row sets meeting through scalars, on webgpu and the interpreter', () => {
  // A set's rows reading the other set's sum (m1: another sweep after it), the squared
  // distance to the other set's mean (m2), and a per-row result of one set next to a
  // reduction of the other (m3: each set's row results are written by its own last sweep).
  const MIXED = `kernel m1(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  s = sum(logsumexp(Y @ W.T, V), M)
  return sum(logsumexp(X @ W.T, V) * s, N)
}
kernel m2(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  a = mean(logsumexp(X @ W.T, V), N)
  return sum((logsumexp(Y @ W.T, V) - a) ** 2, M)
}
kernel m3(X: f32[N, H], Y: f32[M, H], W: f32[V, H], t: i32[N]) -> (lx: f32[N], ly: f32) {
  lx = logsumexp(X @ W.T, V) - gather(X @ W.T, t, V)
  ly = max(logsumexp(Y @ W.T, V), M)
}
`;
  const c = compileFile({ path: 'mixed.proj', text: MIXED });
  for (const name of ['m1', 'm2', 'm3'])
    it(`${name}: results and gradients agree (chunks of 2)`, async () => {
      const fn = c.kernels.get(name);
      if (!fn) throw new Error(`no ${name}`);
      const sizes = new Map(Object.entries({ N: 5, M: 3, H: 4, V: 7 }));
      const inputs = randomInputs(fn, sizes, 3);
      const cot = new Map<string, Cotangent>(
        fn.results.map((r) => [r.name, { kind: 'const', value: 1 }]),
      );
      const grad = ['X', 'Y', 'W'];
      const cpu = runCpu({ fn, inputs, sizes, grad, cotangents: cot });
      const api: Record<string, { data: Float64Array; shape: readonly number[] }> = {};
      for (const [k, t] of inputs) api[k] = { data: t.data, shape: t.shape };
      const cotangents = Object.fromEntries(fn.results.map((r) => [r.name, 1]));
      const gpu = await rt.run(fn, api, { grad, cotangents, chunkRows: 2 });
      const pairs = [
        ...[...cpu.outputs].map(([k, t]) => [k, t.data, gpu.outputs.get(k)?.data] as const),
        ...[...cpu.grads].map(([k, t]) => [`grad.${k}`, t.data, gpu.grads.get(k)?.data] as const),
      ];
      expect(pairs.length).toBe(fn.results.length + 3);
      for (const [k, want, got] of pairs) {
        expect(got?.length, k).toBe(want.length);
        const scale = Math.max(1, ...[...want].map(Math.abs));
        for (let i = 0; i < want.length; i++)
          expect(Math.abs((got?.[i] ?? NaN) - (want[i] ?? NaN)), `${k}[${i}]`).toBeLessThan(
            1e-4 * scale,
          );
      }
    });
});

describe('what still cannot be chunked', () => {
  const compile = (text: string) => {
    const c = compileFile({ path: 'k.proj', text });
    const k = c.kernels.get('k');
    if (!k) throw new Error(c.diagnostics.map((d) => d.message).join('; '));
    return k;
  };
  const diagnostic = (text: string): string => {
    try {
      planKernel({ kernel: compile(text), grad: [] });
    } catch (e) {
      if (e instanceof UserError) return `${e.diagnostics[0]?.code}: ${e.diagnostics[0]?.message}`;
      throw e;
    }
    return 'planned';
  };

  it('a value over the rows of both sets at once is P0302 naming it', () => {
    expect(
      diagnostic(`kernel k(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  a = logsumexp(X @ W.T, V)
  b = logsumexp(Y @ W.T, V)
  pair = a + b
  return sum(pair, N, M)
}
`),
    ).toBe(
      'P0302: `k` cannot be run chunked: `pair` (%7 = add(%4, %6) : f32[N, M]) needs the rows [N] and [M] at once; each set of rows is walked by a chunk loop of its own, so a value may hold the rows of one set only',
    );
  });

  it("a projection whose weight needs the other set's reduction is P0302", () => {
    expect(
      diagnostic(`kernel k(X: f32[N, H], Y: f32[M, H], W: f32[V, H]) -> f32 {
  s = sum(logsumexp(Y @ W.T, V), M)
  return sum(logsumexp(X @ (W * s).T, V), N)
}
`),
    ).toBe(
      "P0302: `k` cannot be run chunked: %7 = dot(%0, %6) {dims=[N, V]} : f32[N, V] reads a weight computed from a reduction over rows; a projection's weight may be a parameter or computed from parameters only",
    );
  });

  it('row sets that share a dim are P0302 at the projection with fewer rows', () => {
    expect(
      diagnostic(`kernel k(X: f32[B, T, H], Y: f32[B, H], W: f32[V, H]) -> f32 {
  return sum(logsumexp(X @ W.T, V), B, T) + sum(logsumexp(Y @ W.T, V), B)
}
`),
    ).toBe(
      'P0302: `k` cannot be run chunked: this projection runs over the rows [B], another over [B, T]',
    );
  });
});
