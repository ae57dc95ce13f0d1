// Past the per-dimension limits: a chunk of more than 65535 rows (row kernels dispatch one
// workgroup per row, folded into a 2-D grid), and products whose K runs past what one
// shader invocation may loop over on llvmpipe (Mesa stops every invocation's loops after
// 65535 iterations in all, silently), which the matmul runner splits into dispatches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmulWgsl } from '../../codegen/matmul.ts';
import { Runtime } from '../../src/api/runtime.ts';
import { BufferPool } from '../../src/runtime/buffers.ts';
import { MatmulRunner, maxKPerDispatch } from '../../src/runtime/matmul.ts';
import { BufferUsage } from '../../src/runtime/usage.ts';
import { mulberry32 } from '../../src/run/rng.ts';
import {
  apiInputs,
  exampleKernels,
  kernelsOf,
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

describe('a chunk of more than 65535 rows', () => {
  it('cross_entropy N=70000 H=2 V=3 in one chunk: forward and gradients', async () => {
    const kernel = exampleKernels('cross_entropy.proj')[0]!;
    const sizes = sizesFor(kernel, { N: 70_000, H: 2, V: 3 });
    const inputs = testInputs(kernel, sizes, 70);
    const api = apiInputs(inputs);
    const grad = floatTensorParams(kernel);
    const f = await rt.run(kernel, api);
    expect(f.stats.chunkRows).toBe(70_000);
    expectRunClose(f, oracle(kernel, inputs, sizes), 'forward');
    // dW = dzᵀ·X contracts the 70000 rows of the chunk.
    const g = await rt.run(kernel, api, { grad });
    expect(g.stats.chunkRows).toBe(70_000);
    expectRunClose(g, oracle(kernel, inputs, sizes, grad), 'gradients');
  });

  it('token_entropy B=2 T=33000 in one chunk, tensor cotangents', async () => {
    const kernel = exampleKernels('token_entropy.proj', 'f32')[0]!;
    const sizes = sizesFor(kernel, { B: 2, T: 33_000, H: 2, V: 3 });
    const inputs = testInputs(kernel, sizes, 71);
    const grad = floatTensorParams(kernel);
    const cot = randomCotangents(kernel, sizes, 72);
    const g = await rt.run(kernel, apiInputs(inputs), { grad, cotangents: cot.api });
    expect(g.stats.chunkRows).toBe(66_000);
    expectRunClose(g, oracle(kernel, inputs, sizes, grad, cot), 'gradients');
  });
});

describe('reductions longer than one invocation may loop', () => {
  it('a 70000-row column carry (bias gradient) and a 70000-element global reduction', async () => {
    const kernel = kernelsOf(
      'reg.proj',
      'kernel reg(X: f32[N, H], W: f32[V, H], b: f32[V], c: f32[K], target: i32[N]) -> f32 {\n  z = X @ W.T + b\n  return mean(logsumexp(z, V) - gather(z, target, V), N) + sum(c * c, K)\n}\n',
    )[0]!;
    const sizes = sizesFor(kernel, { N: 70_000, H: 2, V: 3, K: 70_000 });
    const inputs = testInputs(kernel, sizes, 73);
    const grad = floatTensorParams(kernel);
    const g = await rt.run(kernel, apiInputs(inputs), { grad });
    expect(g.stats.chunkRows).toBe(70_000);
    expectRunClose(g, oracle(kernel, inputs, sizes, grad), 'gradients');
  });
});

describe('products with a long K', () => {
  it('dX = dz·W over a vocabulary of 40000 (K = V)', async () => {
    const kernel = exampleKernels('cross_entropy.proj')[0]!;
    const sizes = sizesFor(kernel, { N: 3, H: 4, V: 40_000 });
    const inputs = testInputs(kernel, sizes, 73, { outOfRange: false, ignoreFraction: 0 });
    const grad = floatTensorParams(kernel);
    const g = await rt.run(kernel, apiInputs(inputs), { grad });
    expectRunClose(g, oracle(kernel, inputs, sizes, grad), 'gradients');
  });

  it('the runner splits K into dispatches that accumulate', async () => {
    const { device } = rt.device;
    const pool = new BufferPool(device);
    const tiles = { tileM: 4, tileN: 4, tileK: 4, threadsX: 1, threadsY: 1 };
    const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
    const u = mulberry32(5);
    const [M, N] = [3, 5];
    try {
      for (const { K, maxK, accumulate } of [
        { K: 70_000, maxK: undefined, accumulate: false },
        { K: 1000, maxK: 12, accumulate: true },
        { K: 0, maxK: 12, accumulate: false },
      ]) {
        const runner = new MatmulRunner(device, {
          pool,
          tiles,
          source: matmulWgsl,
          ...(maxK ? { maxKPerDispatch: maxK } : {}),
        });
        // A(m, k) = a[k·M + m] (read transposed, as dzᵀ), B(k, n) = b[k·N + n].
        const a = Float32Array.from({ length: M * K }, () => Math.round(8 * u()) - 4);
        const b = Float32Array.from({ length: K * N }, () => Math.round(8 * u()) - 4);
        const c0 = Float32Array.from({ length: M * N }, (_, i) => i);
        const buf = (data: Float32Array) => {
          const x = pool.create('x', Math.max(4, data.byteLength), STORAGE);
          pool.upload(x, data);
          return x;
        };
        const [ba, bb, bc] = [buf(a), buf(b), buf(c0)];
        const enc = device.createCommandEncoder();
        const dispatches = runner.encode(enc, {
          a: ba,
          b: bb,
          c: bc,
          aDtype: 'f32',
          bDtype: 'f32',
          accumulate,
          M,
          N,
          K,
          offA: 0,
          sAm: 1,
          sAk: M,
          offB: 0,
          sBk: N,
          sBn: 1,
          offC: 0,
          sCm: N,
          sCn: 1,
        });
        device.queue.submit([enc.finish()]);
        runner.afterSubmit();
        expect(dispatches).toBe(Math.max(1, Math.ceil(K / (maxK ?? maxKPerDispatch(tiles)))));
        const got = new Float32Array(await pool.readback(bc, M * N * 4));
        // Small integers: every partial sum is exact in f32.
        const want = Array.from({ length: M * N }, (_, i) => {
          const [m, n] = [Math.floor(i / N), i % N];
          let s = accumulate ? (c0[i] ?? 0) : 0;
          for (let k = 0; k < K; k++) s += (a[k * M + m] ?? 0) * (b[k * N + n] ?? 0);
          return s;
        });
        expect([...got], `K=${K}`).toEqual(want);
        runner.destroy();
      }
    } finally {
      pool.destroyAll();
    }
  });
});
