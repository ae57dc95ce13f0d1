// Runtime bugs found by review; each test fails without its fix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import { UserError } from '../../src/diagnostics/diagnostic.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { runCpu } from '../../src/run/run-cpu.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.create();
});
afterAll(() => rt.release());

const kernel = (text: string) => {
  const c = compileFile({ path: 'r.proj', text });
  const k = [...c.kernels.values()][0];
  if (!k) throw new Error(c.diagnostics.map((d) => d.message).join('\n'));
  return k;
};

describe('runtime regressions', () => {
  it('starts i32 max/min accumulators at the i32 extremes, not at the bits of ±inf', async () => {
    const k = kernel(
      'kernel m(X: f32[N, H], W: f32[V, H], t: i32[N]) -> (hi: i32, lo: i32) {\n  z = X @ W.T\n  hi = max(t, N)\n  lo = min(t, N)\n}\n',
    );
    const r = await rt.run(k, {
      X: { data: [1, 2, 3, 4], shape: [2, 2] },
      W: { data: [1, 0], shape: [1, 2] },
      t: { data: [-2e7, -3e7], shape: [2] },
    });
    expect(r.outputs.get('hi')?.data[0]).toBe(-2e7);
    expect(r.outputs.get('lo')?.data[0]).toBe(-3e7);
  });

  it('rounds bf16 inputs read by row kernels to bf16, as the products and the interpreter do', async () => {
    const k = kernel(
      'kernel s(X: bf16[N, H], W: bf16[V, H]) -> f32 {\n  return sum(logsumexp(X @ W.T, V), N) + sum(X)\n}\n',
    );
    const X = { data: new Array(8).fill(0.1), shape: [4, 2] };
    const W = { data: [0.3, -0.2, 0.5, 0.7, 0.1, 0.9], shape: [3, 2] };
    const gpu = await rt.run(k, { X, W });
    const sizes = new Map([
      ['N', 4],
      ['H', 2],
      ['V', 3],
    ]);
    const t = (d: typeof X, dims: string[]) => ({
      dtype: 'bf16' as const,
      dims,
      shape: d.shape,
      data: Float64Array.from(d.data),
    });
    const cpu = runCpu({
      fn: k,
      inputs: new Map([
        ['X', t(X, ['N', 'H'])],
        ['W', t(W, ['V', 'H'])],
      ]),
      sizes,
      grad: [],
      cotangents: new Map(),
    });
    const want = cpu.outputs.get('out')?.data[0] ?? NaN;
    expect(Math.abs((gpu.outputs.get('out')?.data[0] ?? NaN) - want) / Math.abs(want)).toBeLessThan(
      1e-6,
    );
  });

  it('rejects a cotangent tensor whose shape is not the result shape', async () => {
    const k = kernel(
      'kernel e(X: f32[B, T, H], W: f32[V, H]) -> f32[B, T] {\n  return logsumexp(X @ W.T, V)\n}\n',
    );
    const inputs = {
      X: { data: new Array(2 * 3 * 2).fill(0.5), shape: [2, 3, 2] },
      W: { data: [1, 2, 3, 4], shape: [2, 2] },
    };
    await expect(
      rt.run(k, inputs, {
        grad: ['X'],
        cotangents: { out: { data: new Array(6).fill(1), shape: [3, 2] } },
      }),
    ).rejects.toThrow(UserError);
    await expect(
      rt.run(k, inputs, {
        grad: ['X'],
        cotangents: { out: { data: new Array(6).fill(1), shape: [3, 2] } },
      }),
    ).rejects.toThrow(/has shape \[3, 2\], but the result is \[2, 3\]/);
  });

  it('names a misspelt input rather than reporting the real one missing', async () => {
    const k = kernel(
      'kernel e(X: f32[N, H], W: f32[V, H]) -> f32 {\n  return sum(logsumexp(X @ W.T, V))\n}\n',
    );
    await expect(
      rt.run(k, { x: { data: [1], shape: [1, 1] }, W: { data: [1], shape: [1, 1] } }),
    ).rejects.toThrow(/has no parameter `x`/);
  });
});
