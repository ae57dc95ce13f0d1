// The generic strided matmul on the runtime's own device (llvmpipe in CI), against a float64
// matmul of the same storage-rounded inputs, in the three layouts the chunk loop uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultMatmulTiles,
  matmulKey,
  matmulTilesProblem,
  matmulWgsl,
  type MatmulConfig,
  type MatmulOperandDtype,
  type MatmulTiles,
} from '../../codegen/matmul.ts';
import { bytesOf, loadExpr, packForUpload, wgslArrayType } from '../../codegen/storage.ts';
import { roundToBf16, roundToF16, roundToF32 } from '../../src/io/dtype-bits.ts';
import { mulberry32 } from '../../src/run/rng.ts';
import { BufferLimitError, BufferPool, type CreateOptions } from '../../src/runtime/buffers.ts';
import { checkWgsl } from '../../src/runtime/compile-check.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { MatmulRunner, type MatmulArgs } from '../../src/runtime/matmul.ts';
import { BufferUsage } from '../../src/runtime/usage.ts';

const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
const DTYPES: readonly MatmulOperandDtype[] = ['f32', 'bf16', 'f16'];
// Not square and not the default: 2×4 outputs per thread, K steps of 8.
const SMALL_TILES: MatmulTiles = { tileM: 8, tileN: 16, tileK: 8, threadsX: 4, threadsY: 4 };
const TOLERANCE = 1e-5;

let gpu: AcquiredDevice;
let pool: BufferPool;
let runner: MatmulRunner;
let maxError = 0;

beforeAll(async () => {
  gpu = await acquireDevice();
  pool = new BufferPool(gpu.device);
  runner = new MatmulRunner(gpu.device, {
    pool,
    tiles: defaultMatmulTiles(gpu.device.limits),
    source: matmulWgsl,
  });
});

afterAll(() => {
  console.log(`[matmul] tiles ${JSON.stringify(runner?.tiles)}; max relative error ${maxError}`);
  runner?.destroy();
  pool?.destroyAll();
  gpu?.release();
});

const ROUND: Record<MatmulOperandDtype, (x: number) => number> = {
  f32: roundToF32,
  bf16: roundToBf16,
  f16: roundToF16,
};

/** A device tensor and the exact values it holds. */
interface Operand {
  buffer: GPUBuffer;
  values: Float64Array;
}

function operand(
  dtype: MatmulOperandDtype,
  count: number,
  seed: number,
  p: BufferPool = pool,
  opts: CreateOptions = {},
): Operand {
  const u = mulberry32(seed);
  const values = Float64Array.from({ length: count }, () => ROUND[dtype](2 * u() - 1));
  const buffer = p.create(`${dtype}#${seed}[${count}]`, bytesOf(dtype, count), STORAGE, opts);
  p.upload(buffer, packForUpload(dtype, values));
  return { buffer, values };
}

type Strides = Omit<MatmulArgs, 'a' | 'b' | 'c' | 'aDtype' | 'bDtype' | 'accumulate'>;

/** C (+)= A·B in float64 with the kernel's index formulas. */
function reference(s: Strides, a: Float64Array, b: Float64Array, c: Float64Array, acc: boolean) {
  const out = Float64Array.from(c);
  for (let m = 0; m < s.M; m++) {
    for (let n = 0; n < s.N; n++) {
      let sum = 0;
      for (let k = 0; k < s.K; k++) {
        sum +=
          (a[s.offA + m * s.sAm + k * s.sAk] ?? NaN) * (b[s.offB + k * s.sBk + n * s.sBn] ?? NaN);
      }
      const ci = s.offC + m * s.sCm + n * s.sCn;
      out[ci] = (acc ? (out[ci] ?? NaN) : 0) + sum;
    }
  }
  return out;
}

/** max |got − want| / max |want|: f32 accumulation over K terms stays near K·2⁻²⁴. */
function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] ?? NaN) - (want[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(want[i] ?? NaN));
  }
  const err = scale === 0 ? diff : diff / scale;
  maxError = Math.max(maxError, err);
  return err;
}

async function readF32(buffer: GPUBuffer, count: number, p: BufferPool = pool) {
  return new Float32Array(await p.readback(buffer, count * 4));
}

async function submit(encoder: GPUCommandEncoder, ...runners: MatmulRunner[]) {
  gpu.device.queue.submit([encoder.finish()]);
  for (const r of runners) r.afterSubmit();
  await gpu.device.queue.onSubmittedWorkDone();
}

/** Runs one matmul on random operands and a random C; returns C and the float64 reference. */
async function check(
  aDtype: MatmulOperandDtype,
  bDtype: MatmulOperandDtype,
  s: Strides,
  sizes: { a: number; b: number; c: number },
  accumulate = false,
  r: MatmulRunner = runner,
) {
  const a = operand(aDtype, sizes.a, 1);
  const b = operand(bDtype, sizes.b, 2);
  const c = operand('f32', sizes.c, 3);
  const encoder = gpu.device.createCommandEncoder();
  r.encode(encoder, { ...s, a: a.buffer, b: b.buffer, c: c.buffer, aDtype, bDtype, accumulate });
  await submit(encoder, r);
  const got = await readF32(c.buffer, sizes.c);
  const want = reference(s, a.values, b.values, c.values, accumulate);
  for (const o of [a, b, c]) pool.destroy(o.buffer);
  return { got, want };
}

/** Row-major C[M, N] = A[M, K]·B[K, N]. */
function rowMajor(M: number, N: number, K: number): Strides {
  return { M, N, K, offA: 0, sAm: K, sAk: 1, offB: 0, sBk: N, sBn: 1, offC: 0, sCm: N, sCn: 1 };
}

describe('storage', () => {
  it('packs 16-bit values two per word, low half first', () => {
    // bf16(1) = 0x3f80, bf16(-2) = 0xc000, bf16(0.5) = 0x3f00; f16(1) = 0x3c00, f16(-2) = 0xc000.
    expect([...packForUpload('bf16', [1, -2, 0.5])]).toEqual([0xc0003f80, 0x3f00]);
    expect([...packForUpload('f16', [1, -2])]).toEqual([0xc0003c00]);
    expect([...packForUpload('bool', [0, 2, -1])]).toEqual([0, 1, 1]);
    expect(packForUpload('i32', [-3])).toEqual(new Int32Array([-3]));
    expect([bytesOf('bf16', 3), bytesOf('f16', 4), bytesOf('f32', 3), bytesOf('bool', 1)]).toEqual([
      8, 8, 12, 4,
    ]);
  });

  it('reads every dtype with a compiling expression', async () => {
    const code = (['f32', 'bf16', 'f16', 'i32', 'bool'] as const)
      .map((d, i) => {
        const t = d === 'i32' ? 'i32' : d === 'bool' ? 'u32' : 'f32';
        return (
          `@group(0) @binding(${i}) var<storage, read> x${i}: ${wgslArrayType(d)};\n` +
          `fn read${i}(j: u32) -> ${t} { return ${loadExpr(`x${i}`, d, 'j + 1u')}; }`
        );
      })
      .join('\n');
    expect(await checkWgsl(gpu.device, code, 'storage.wgsl')).toEqual({ ok: true, messages: [] });
  });
});

describe('matmul codegen', () => {
  it('picks default tiles that fit the device', () => {
    const tiles = defaultMatmulTiles(gpu.limits);
    expect(matmulTilesProblem(tiles, gpu.limits)).toBeUndefined();
    expect(runner.tiles).toEqual(tiles);
    // Compatibility-mode limits: 128 invocations.
    const compat = { ...gpu.limits, maxComputeInvocationsPerWorkgroup: 128 };
    expect(matmulTilesProblem(defaultMatmulTiles(compat), compat)).toBeUndefined();
    expect(() =>
      matmulWgsl({
        aDtype: 'f32',
        bDtype: 'f32',
        accumulate: false,
        tiles: { ...tiles, tileM: 3 },
      }),
    ).toThrow(/not a multiple of threadsY/);
  });

  it('emits modules that compile, with their pipelines, for every variant', async () => {
    const configs: MatmulConfig[] = [];
    for (const tiles of [runner.tiles, SMALL_TILES]) {
      for (const aDtype of DTYPES) {
        for (const bDtype of DTYPES) {
          for (const accumulate of [false, true])
            configs.push({ aDtype, bDtype, accumulate, tiles });
        }
      }
    }
    const results = await Promise.all(
      configs.map((c) =>
        checkWgsl(gpu.device, matmulWgsl(c), matmulKey(c), { computeEntryPoints: ['main'] }),
      ),
    );
    expect(results.flatMap((r) => r.messages)).toEqual([]);
    expect(results.every((r) => r.ok)).toBe(true);
  });
});

describe('matmul on the device', () => {
  const R = 23; // rows of X
  const H = 31; // contracted (hidden) size
  const V = 123; // vocabulary

  it('z = X[r0..r0+C)·Wᵀ: bf16 rows at an offset, W read transposed, C at an offset', async () => {
    const r0 = 5;
    const C = 11;
    const offC = 3 * V;
    const s: Strides = {
      ...{ M: C, N: V, K: H },
      ...{ offA: r0 * H, sAm: H, sAk: 1 },
      ...{ offB: 0, sBk: 1, sBn: H },
      ...{ offC, sCm: V, sCn: 1 },
    };
    const { got, want } = await check('bf16', 'bf16', s, {
      a: R * H,
      b: V * H,
      c: offC + C * V + 5,
    });
    expect(relativeError(got, want)).toBeLessThanOrEqual(TOLERANCE);
    // Outside the written block C keeps its contents (accumulate = false writes, never reads).
    expect(got.slice(0, offC)).toEqual(Float32Array.from(want.slice(0, offC)));
    expect(got.slice(offC + C * V)).toEqual(Float32Array.from(want.slice(offC + C * V)));
  });

  it('dX = dz·W: f32 dz, bf16 W', async () => {
    const C = 11;
    const { got, want } = await check('f32', 'bf16', rowMajor(C, H, V), {
      a: C * V,
      b: V * H,
      c: C * H,
    });
    expect(relativeError(got, want)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('dW += dzᵀ·Xc over two chunks accumulating into the same C', async () => {
    const chunks = [
      [0, 12],
      [12, R],
    ] as const;
    const x = operand('bf16', R * H, 4);
    const dz = operand('f32', R * V, 5); // the dz of every row; chunk c reads rows r0..r1
    const dW = operand('f32', V * H, 6); // starts non-zero: += must keep it
    const encoder = gpu.device.createCommandEncoder();
    for (const [r0, r1] of chunks) {
      runner.encode(encoder, {
        ...{ a: dz.buffer, b: x.buffer, c: dW.buffer, aDtype: 'f32', bDtype: 'bf16' },
        ...{ accumulate: true, M: V, N: H, K: r1 - r0 },
        ...{ offA: r0 * V, sAm: 1, sAk: V }, // A(v, k) = dz[r0 + k, v]
        ...{ offB: r0 * H, sBk: H, sBn: 1 }, // B(k, h) = X[r0 + k, h]
        ...{ offC: 0, sCm: H, sCn: 1 },
      });
    }
    await submit(encoder, runner);
    const got = await readF32(dW.buffer, V * H);
    const all = { ...rowMajor(V, H, R), sAm: 1, sAk: V };
    const want = reference(all, dz.values, x.values, dW.values, true);
    expect(relativeError(got, want)).toBeLessThanOrEqual(TOLERANCE);
    for (const o of [x, dz, dW]) pool.destroy(o.buffer);
  });

  it('reads f32, bf16 and f16 operands in every combination', async () => {
    for (const aDtype of DTYPES) {
      for (const bDtype of DTYPES) {
        const [M, N, K] = [9, 17, 40];
        const { got, want } = await check(aDtype, bDtype, rowMajor(M, N, K), {
          a: M * K,
          b: K * N,
          c: M * N,
        });
        expect(relativeError(got, want), `${aDtype}·${bDtype}`).toBeLessThanOrEqual(TOLERANCE);
      }
    }
  });

  it('handles ragged and degenerate sizes', async () => {
    const sizes = [
      [1, 1, 1],
      [7, 65, 129],
      [65, 7, 3],
      [3, 5, 0], // K = 0: C = 0
    ] as const;
    for (const r of [
      runner,
      new MatmulRunner(gpu.device, { pool, tiles: SMALL_TILES, source: matmulWgsl }),
    ]) {
      for (const [M, N, K] of sizes) {
        const { got, want } = await check(
          'f16',
          'f32',
          rowMajor(M, N, K),
          {
            a: Math.max(1, M * K),
            b: Math.max(1, K * N),
            c: M * N,
          },
          false,
          r,
        );
        expect(relativeError(got, want), `${M}x${N}x${K}`).toBeLessThanOrEqual(TOLERANCE);
      }
      if (r !== runner) r.destroy();
    }
  });

  it('gives identical results when the grid is split into 2×2-workgroup dispatches', async () => {
    const [M, N, K] = [37, 45, 20]; // 5 × 3 tiles of 8 × 16 → 3 × 2 pieces
    const whole = new MatmulRunner(gpu.device, { pool, tiles: SMALL_TILES, source: matmulWgsl });
    const split = new MatmulRunner(gpu.device, {
      pool,
      tiles: SMALL_TILES,
      maxWorkgroupsPerDimension: 2,
      source: matmulWgsl,
    });
    const a = operand('bf16', M * K, 7);
    const b = operand('f32', K * N, 8);
    const results: Float32Array[] = [];
    let cInit: Float64Array = new Float64Array();
    for (const r of [whole, split]) {
      const c = operand('f32', M * N, 9);
      cInit = c.values;
      const encoder = gpu.device.createCommandEncoder();
      const args = { ...rowMajor(M, N, K), a: a.buffer, b: b.buffer, c: c.buffer };
      const dispatches = r.encode(encoder, {
        ...args,
        aDtype: 'bf16',
        bDtype: 'f32',
        accumulate: true,
      });
      expect(dispatches).toBe(r === split ? 6 : 1);
      await submit(encoder, r);
      results.push(await readF32(c.buffer, M * N));
      pool.destroy(c.buffer);
    }
    expect(results[1]).toEqual(results[0]);
    const want = reference(rowMajor(M, N, K), a.values, b.values, cInit, true);
    expect(relativeError(results[0] ?? [], want)).toBeLessThanOrEqual(TOLERANCE);
    // Uniform buffers are reused after each submit: a long chunk loop holds one piece's worth.
    for (let i = 0; i < 20; i++) {
      const encoder = gpu.device.createCommandEncoder();
      const c = pool.create('c', M * N * 4, STORAGE);
      split.encode(encoder, {
        ...rowMajor(M, N, K),
        a: a.buffer,
        b: b.buffer,
        c,
        aDtype: 'bf16',
        bDtype: 'f32',
        accumulate: false,
      });
      await submit(encoder, split);
      pool.destroy(c);
    }
    expect(split.uniformBufferCount).toBe(6);
    for (const r of [whole, split]) r.destroy();
    for (const o of [a, b]) pool.destroy(o.buffer);
  });

  it('binds the range it reads of a buffer over the binding limit', async () => {
    // A pool that believes the binding limit is 1 KiB; W [128, 8] bf16 is 2 KiB.
    const limits = { maxBufferSize: 2 ** 20, maxStorageBufferBindingSize: 1024 };
    const small = new BufferPool(gpu.device, limits);
    const r = new MatmulRunner(gpu.device, { pool: small, tiles: SMALL_TILES, source: matmulWgsl });
    const [Vw, Hw, rows] = [128, 8, 5];
    const x = operand('f32', rows * Hw, 10, small);
    expect(() => small.create('W', Vw * Hw * 2, STORAGE)).toThrow(BufferLimitError);
    const w = operand('bf16', Vw * Hw, 11, small, { rangedBinding: true });
    const z = small.create('z', rows * Vw * 4, STORAGE, { rangedBinding: true });
    // z = X·W[v0..v0+n)ᵀ shifted by 3 elements: an odd first element (a high half-word),
    // bound from the aligned byte below it.
    const [v0, n] = [33, 20];
    const s: Strides = {
      ...{ M: rows, N: n, K: Hw, offA: 0, sAm: Hw, sAk: 1 },
      ...{ offB: v0 * Hw + 3, sBk: 1, sBn: Hw, offC: 0, sCm: n, sCn: 1 },
    };
    const args = { a: x.buffer, b: w.buffer, c: z, aDtype: 'f32', bDtype: 'bf16' } as const;
    const encoder = gpu.device.createCommandEncoder();
    r.encode(encoder, { ...s, ...args, accumulate: false });
    await submit(encoder, r);
    const got = await readF32(z, rows * n, small);
    const want = reference(s, x.values, w.values, new Float64Array(rows * n), false);
    expect(relativeError(got, want)).toBeLessThanOrEqual(TOLERANCE);
    // All of W at once does not fit one binding.
    const whole = { ...s, ...args, N: Vw, offB: 0, sCm: Vw, accumulate: false };
    expect(() => r.encode(gpu.device.createCommandEncoder(), whole)).toThrow(
      /'bf16#11\[1024\]' needs a storage binding of 2.00 KiB .*maxStorageBufferBindingSize of 1.00 KiB \(1024 bytes\): the range matmul operand B reads/,
    );
    r.destroy();
    small.destroyAll();
  });

  it('reports GFLOP/s for 128×128×128 f32 (logged, not asserted)', async () => {
    const n = 128;
    const a = operand('f32', n * n, 12);
    const b = operand('f32', n * n, 13);
    const c = pool.create('c', n * n * 4, STORAGE);
    const args = { ...rowMajor(n, n, n), a: a.buffer, b: b.buffer, c } as const;
    const run = async (iters: number) => {
      const encoder = gpu.device.createCommandEncoder();
      for (let i = 0; i < iters; i++) {
        runner.encode(encoder, { ...args, aDtype: 'f32', bDtype: 'f32', accumulate: false });
      }
      await submit(encoder, runner);
    };
    await run(1); // pipeline and buffers warm
    const iters = 5;
    const t0 = performance.now();
    await run(iters);
    const ms = (performance.now() - t0) / iters;
    const want = reference(rowMajor(n, n, n), a.values, b.values, new Float64Array(n * n), false);
    expect(relativeError(await readF32(c, n * n), want)).toBeLessThanOrEqual(TOLERANCE);
    console.log(
      `[matmul] ${n}³ f32: ${ms.toFixed(2)} ms, ${((2 * n ** 3) / ms / 1e6).toFixed(2)} GFLOP/s`,
    );
    for (const buf of [a.buffer, b.buffer, c]) pool.destroy(buf);
  });

  it('fails with a clear error for a buffer over maxBufferSize', () => {
    const too = gpu.limits.maxBufferSize + 1;
    expect(() => pool.create('logits', too, STORAGE)).toThrow(BufferLimitError);
    expect(() => pool.create('logits', too, STORAGE)).toThrow(
      /'logits' needs a buffer of .* over this device's maxBufferSize of /,
    );
  });
});

describe('BufferPool', () => {
  it('tracks live and peak bytes, rounded up to 4', () => {
    const p = new BufferPool(gpu.device);
    const a = p.create('a', 5, STORAGE);
    const b = p.create('b', 16, STORAGE);
    expect([a.size, p.liveBytes, p.peakBytes, p.liveCount]).toEqual([8, 24, 24, 2]);
    p.destroy(a);
    p.destroy(a);
    expect([p.liveBytes, p.peakBytes]).toEqual([16, 24]);
    p.resetPeak();
    expect(p.peakBytes).toBe(16);
    p.destroy(b);
    expect([p.liveBytes, p.liveCount]).toEqual([0, 0]);
  });

  it('uploads an odd number of 16-bit values and reads back a part', async () => {
    const p = new BufferPool(gpu.device);
    const buf = p.create('u16', 6, STORAGE);
    p.upload(buf, new Uint16Array([1, 2, 3]));
    const back = new Uint16Array(await p.readback(buf, 6));
    expect([...back]).toEqual([1, 2, 3]);
    expect(p.liveCount).toBe(1); // the staging buffer is gone
    expect(p.peakBytes).toBe(16); // 8 + 8 of staging
    p.destroyAll();
  });
});
