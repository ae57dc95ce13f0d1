// Issue 13's fuzz: grad.X was NaN on webgpu for `min((z - logsumexp(z, V)) + 3, V)`. The
// row kernel recomputed `(z - lse) + 3` in the loop that takes the min and again in the
// loops that count and mask the ties (the min's gradient, eq(x, min) / count); Mesa's
// compiler evaluated it as `z + (3 - lse)` in one of them, one ulp apart, so a row had no
// tie, and g / 0 · 0 was NaN. Now the plan stores such an operand once, in a stage of its
// own, and the min, the count and the mask all load the stored values: the min is one of
// them exactly, the count is at least 1 (src/plan/tie-operands.ts). The comparison is an
// exact `==` on both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateProgram } from '../../codegen/program.ts';
import { Runtime } from '../../src/api/runtime.ts';
import type { TensorInput } from '../../src/api/tensors.ts';
import { compileFile } from '../../src/frontend/compile.ts';
import { planKernel } from '../../src/plan/build-plan.ts';
import { randomInputs } from '../../src/run/random-inputs.ts';
import { runCpu } from '../../src/run/run-cpu.ts';
import type { Tensor } from '../../src/tensor/tensor.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await Runtime.create();
});
afterAll(() => rt?.release());

const source = (
  r: string,
  final = 'mean(r, N)',
) => `kernel k(X: bf16[N, H], W: bf16[V, H], t: i32[N]) -> f32 {
  z = X @ W.T
  r = ${r}
  return ${final}
}
`;

const kernelOf = (text: string) => {
  const fn = compileFile({ path: 'tie.proj', text }).kernels.get('k');
  if (!fn) throw new Error('no kernel');
  return fn;
};

async function gradsOnBoth(
  text: string,
  dims: Record<string, number>,
  seed: number,
  chunk: number,
) {
  const fn = kernelOf(text);
  const sizes = new Map(Object.entries(dims));
  const inputs = randomInputs(fn, sizes, seed);
  const cpu = runCpu({ fn, inputs, sizes, grad: ['X', 'W'], cotangents: new Map() });
  const api: Record<string, TensorInput> = {};
  for (const [k, t] of inputs) api[k] = { data: t.data, shape: t.shape };
  const gpu = await rt.run(fn, api, { grad: ['X', 'W'], chunkRows: chunk });
  return { cpu: cpu.grads, gpu: gpu.grads };
}

const MIN = 'min((z - logsumexp(z, V)) + 3, V)';
const MAX = 'max(-(z - logsumexp(z, V)) - 3, V)';

describe('min/max gradient: the tie mask survives a recomputation that rounds differently', () => {
  for (const [r, final, dims, seed, chunk] of [
    [MIN, undefined, { N: 2, H: 1, V: 4 }, 1, 1],
    [MIN, undefined, { N: 8, H: 4, V: 298 }, 211271282, 2],
    [MAX, undefined, { N: 8, H: 4, V: 298 }, 211271282, 2],
    // The tie operand of a max over rows is a per-row min: three sweeps recompute it.
    [MIN, 'max(r, N)', { N: 8, H: 4, V: 298 }, 1, 2],
    [MIN, 'min(r, N)', { N: 9, H: 3, V: 37 }, 2, 3],
  ] as const)
    it(`${final ?? 'mean(r, N)'}, r = ${r} at ${JSON.stringify(dims)}: finite on webgpu and equal to the interpreter's`, async () => {
      const { cpu, gpu } = await gradsOnBoth(source(r, final), dims, seed, chunk);
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

describe('the plan stores a tie operand before the reduction and the tie test read it', () => {
  const planned = planKernel({ kernel: kernelOf(source(MIN, 'max(r, N)')), grad: ['X', 'W'] });
  const { fn, plan } = planned;
  const x = fn.nodes.find((n) => n.op === 'add' && n.dims.join() === 'N,V');
  const r = fn.nodes.find((n) => n.op === 'min' && n.inputs[0] === x?.id);

  it('each sweep computes the operand in a stage of its own that stores it', () => {
    expect(x && r).toBeTruthy();
    for (const sw of plan.sweeps) {
      const rowStages = sw.stages.filter((st) => st.kind === 'row');
      const own = rowStages.findIndex((st) => st.nodes.includes(x?.id ?? -1));
      const reduces = rowStages.findIndex((st) => st.nodes.includes(r?.id ?? -1));
      expect(own).toBeGreaterThanOrEqual(0);
      expect(reduces).toBeGreaterThan(own);
      expect(rowStages[own]?.stores).toEqual([x?.id]);
    }
  });

  it("the stages of both tie operands (the min's and the max over rows') are the same module in every sweep", () => {
    const program = generateProgram(fn, plan);
    for (const id of [x?.id, r?.id]) {
      const codes = plan.sweeps.map((sw) => {
        const k = sw.stages.findIndex((st) => st.kind === 'row' && st.nodes.includes(id ?? -1));
        const st = sw.stages[k];
        expect(st?.kind === 'row' && st.stores).toEqual([id]);
        return program.modules.find((m) => m.name === `sweep${sw.index}_row${k}`)?.code;
      });
      expect(codes.length).toBe(3);
      expect(codes[0]).toBeDefined();
      expect(new Set(codes).size).toBe(1);
    }
  });
});

describe('a stage that stores a bool mask', () => {
  // The fuzz, after tie operands got stages of their own: the stage computing r stores the
  // mask `softmax(z) >= 0.3` for the later stages, and that bool [N, V] buffer (u32 words)
  // reused the storage of an f32 one: WGSL "cannot assign 'f32' to 'u32'". Chunk buffers
  // now share storage only with one of the same dtype.
  it('gets storage of its own, and the run agrees with the interpreter', async () => {
    const r =
      'gather(where((softmax(z, V)) >= 0.3, softmax(z, V), where(((sqrt(abs(z) + 0.1)) - logsumexp(sqrt(abs(z) + 0.1), V)) < -0.7, z, (z) - logsumexp(z, V))), t, V)';
    const text = source(r, 'max(r, N)');
    const { plan } = planKernel({ kernel: kernelOf(text), grad: ['X', 'W'] });
    for (const b of plan.buffers) {
      const under = plan.buffers.find((o) => o.name === b.aliasOf);
      if (under) expect(under.dtype, `${b.name} over ${under.name}`).toBe(b.dtype);
    }
    const { cpu, gpu } = await gradsOnBoth(text, { N: 3, H: 3, V: 5 }, 17, 3);
    for (const name of ['X', 'W']) {
      const c = cpu.get(name)?.data ?? [];
      const g = gpu.get(name)?.data ?? [];
      for (let i = 0; i < c.length; i++)
        expect(Math.abs((g[i] ?? NaN) - (c[i] ?? NaN))).toBeLessThan(1e-4);
    }
  });
});

describe('ties split the gradient evenly (PyTorch amax/amin)', () => {
  // W has two equal rows, so every row of z = X·Wᵀ has an exact tie between them (the same
  // products summed in the same order) wherever they are the max.
  it('max over V with duplicated weight rows: each tied logit gets g / 2 on both backends', async () => {
    const text = `kernel k(X: f32[N, H], W: f32[V, H]) -> f32 {
  return sum(max(X @ W.T, V), N)
}
`;
    const fn = kernelOf(text);
    const sizes = new Map(Object.entries({ N: 5, H: 3, V: 4 }));
    const X = Float64Array.from([1, 0.5, 0.25, 2, 1, 0.5, 0.5, 0.5, 1, 1, 2, 3, 0.25, 1, 1]);
    const W = Float64Array.from([1, 1, 1, 0, 0, 0, 1, 1, 1, -1, 0, 0]);
    const inputs = new Map<string, Tensor>([
      ['X', { dtype: 'f32', dims: ['N', 'H'], shape: [5, 3], data: X }],
      ['W', { dtype: 'f32', dims: ['V', 'H'], shape: [4, 3], data: W }],
    ]);
    const cpu = runCpu({ fn, inputs, sizes, grad: ['X', 'W'], cotangents: new Map() });
    const gpu = await rt.run(
      fn,
      { X: { data: X, shape: [5, 3] }, W: { data: W, shape: [4, 3] } },
      { grad: ['X', 'W'], chunkRows: 2 },
    );
    // Rows 0 and 2 of W tie for the max of every row of X (all positive): dW[0] = dW[2] = ½ Σ X.
    const half = [0, 1, 2].map(
      (h) => 0.5 * [0, 1, 2, 3, 4].reduce((s, n) => s + (X[n * 3 + h] ?? 0), 0),
    );
    for (const g of [cpu.grads.get('W')?.data, gpu.grads.get('W')?.data]) {
      expect(g).toBeDefined();
      for (const v of [0, 2])
        for (const h of [0, 1, 2]) expect(g?.[v * 3 + h]).toBeCloseTo(half[h] ?? NaN, 5);
      for (const h of [0, 1, 2]) expect(g?.[3 + h]).toBe(0);
    }
  });
});
