// Issue 13's fuzz: grad.X was NaN on webgpu for `min((z - logsumexp(z, V)) + 3, V)`. The
// row kernel recomputes `(z - lse) + 3` in the loop that takes the min and again in the
// loops that count and mask the ties (the min's gradient, eq(x, min) / count); Mesa's
// compiler evaluated it as `z + (3 - lse)` in one of them, one ulp apart, so a row had no
// tie, and g / 0 · 0 was NaN. The tie test now allows a few ulps on the GPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/api/runtime.ts';
import type { TensorInput } from '../../src/api/tensors.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.create();
});
afterAll(() => rt?.release());

const source = (r: string) => `kernel k(X: bf16[N, H], W: bf16[V, H], t: i32[N]) -> f32 {
  z = X @ W.T
  r = ${r}
  return mean(r, N)
}
`;

async function gradsOnBoth(r: string, dims: Record<string, number>, seed: number, chunk: number) {
  const fn = compileFile({ path: 'tie.proj', text: source(r) }).kernels.get('k');
  if (!fn) throw new Error('no kernel');
  const sizes = new Map(Object.entries(dims));
  const inputs = randomInputs(fn, sizes, seed);
  const cpu = runCpu({ fn, inputs, sizes, grad: ['X', 'W'], cotangents: new Map() });
  const api: Record<string, TensorInput> = {};
  for (const [k, t] of inputs) api[k] = { data: t.data, shape: t.shape };
  const gpu = await rt.run(fn, api, { grad: ['X', 'W'], chunkRows: chunk });
  return { cpu: cpu.grads, gpu: gpu.grads };
}

describe('min/max gradient: the tie mask survives a recomputation that rounds differently', () => {
  for (const [r, dims, seed, chunk] of [
    ['min((z - logsumexp(z, V)) + 3, V)', { N: 2, H: 1, V: 4 }, 1, 1],
    ['min((z - logsumexp(z, V)) + 3, V)', { N: 8, H: 4, V: 298 }, 211271282, 2],
    ['max(-(z - logsumexp(z, V)) - 3, V)', { N: 8, H: 4, V: 298 }, 211271282, 2],
  ] as const)
    it(`${r} at ${JSON.stringify(dims)}: finite on webgpu and equal to the interpreter's`, async () => {
      const { cpu, gpu } = await gradsOnBoth(r, dims, seed, chunk);
      for (const name of ['X', 'W']) {
        const c = cpu.get(name)?.data ?? [];
        const g = gpu.get(name)?.data ?? [];
        expect(g.length).toBe(c.length);
        for (let i = 0; i < c.length; i++) {
          expect(Number.isFinite(g[i]), `grad.${name}[${i}] = ${g[i]}`).toBe(true);
          expect(Math.abs((g[i] ?? NaN) - (c[i] ?? NaN))).toBeLessThan(1e-4);
        }
      }
    });
});
