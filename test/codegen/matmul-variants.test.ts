// Every tile configuration the autotuner may choose, and the direct variant's edge cases,
// on the runtime's device (llvmpipe in CI) against a float64 matmul of the same
// storage-rounded operands: the three layouts of a chunk (z = Xc·Wᵀ, dX = dz·W,
// dW += dzᵀ·Xc) with bf16 X and W, and f32·f32, at ragged sizes that leave partial tiles
// in M, N and K. No timing is asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MATMUL_TUNE_CANDIDATES,
  matmulKey,
  matmulTilesProblem,
  matmulTileCandidates,
  matmulWgsl,
  type MatmulOperandDtype,
  type MatmulTiles,
} from '../../codegen/matmul.ts';
import { bytesOf, packForUpload } from '../../codegen/storage.ts';
import { roundToBf16, roundToF16, roundToF32 } from '../../src/io/dtype-bits.ts';
import { mulberry32 } from '../../src/run/rng.ts';
import { BufferPool } from '../../src/runtime/buffers.ts';
import { checkWgsl } from '../../src/runtime/compile-check.ts';
import { acquireDevice, type AcquiredDevice } from '../../src/runtime/device.ts';
import { MatmulRunner, maxKPerDispatch, type MatmulArgs } from '../../src/runtime/matmul.ts';
import { BufferUsage } from '../../src/runtime/usage.ts';

const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
const TOLERANCE = 1e-5;

let gpu: AcquiredDevice;
let pool: BufferPool;

beforeAll(async () => {
  gpu = await acquireDevice();
  pool = new BufferPool(gpu.device);
});

afterAll(() => {
  pool?.destroyAll();
  gpu?.release();
});

interface Operand {
  buffer: GPUBuffer;
  values: Float64Array;
}

function operand(dtype: MatmulOperandDtype, count: number, seed: number): Operand {
  const u = mulberry32(seed);
  const round = { bf16: roundToBf16, f16: roundToF16, f32: roundToF32 }[dtype];
  const values = Float64Array.from({ length: count }, () => round(2 * u() - 1));
  const buffer = pool.create(`${dtype}#${seed}`, bytesOf(dtype, count), STORAGE);
  pool.upload(buffer, packForUpload(dtype, values));
  return { buffer, values };
}

type Strides = Omit<MatmulArgs, 'a' | 'b' | 'c' | 'aDtype' | 'bDtype' | 'accumulate'>;

function reference(s: Strides, a: Float64Array, b: Float64Array, c: Float64Array, acc: boolean) {
  const out = Float64Array.from(c);
  for (let m = 0; m < s.M; m++)
    for (let n = 0; n < s.N; n++) {
      let sum = 0;
      for (let k = 0; k < s.K; k++)
        sum +=
          (a[s.offA + m * s.sAm + k * s.sAk] ?? NaN) * (b[s.offB + k * s.sBk + n * s.sBn] ?? NaN);
      const ci = s.offC + m * s.sCm + n * s.sCn;
      out[ci] = (acc ? (out[ci] ?? NaN) : 0) + sum;
    }
  return out;
}

function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] ?? NaN) - (want[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(want[i] ?? NaN));
  }
  return scale === 0 ? diff : diff / scale;
}

/** One product per call of `encode`; C starts random, so `=` must overwrite and `+=` keep it. */
async function check(
  r: MatmulRunner,
  dt: [MatmulOperandDtype, MatmulOperandDtype],
  s: Strides,
  sizes: { a: number; b: number; c: number },
  accumulate: boolean,
): Promise<number> {
  const [a, b, c] = [
    operand(dt[0], sizes.a, 1),
    operand(dt[1], sizes.b, 2),
    operand('f32', sizes.c, 3),
  ];
  const encoder = gpu.device.createCommandEncoder();
  r.encode(encoder, {
    ...s,
    a: a.buffer,
    b: b.buffer,
    c: c.buffer,
    aDtype: dt[0],
    bDtype: dt[1],
    accumulate,
  });
  gpu.device.queue.submit([encoder.finish()]);
  r.afterSubmit();
  const got = new Float32Array(await pool.readback(c.buffer, sizes.c * 4));
  const want = reference(s, a.values, b.values, c.values, accumulate);
  for (const o of [a, b, c]) pool.destroy(o.buffer);
  return relativeError(got, want);
}

// A chunk of C = 37 rows of X [R, H] starting at row r0, W [V, H]: partial tiles along every
// dimension of every candidate (tileN 256 leaves 300 − 256, tileK 2 leaves one k). H = 29
// leaves most operands scalar; H = 40 with r0 = 4 lets direct tiles read every operand with
// k stride 1 as vec4s (4 f32 or 8 bf16 each; K = 37 rows of dW and V = 300 leave tails).
const CHUNK = { R: 45, H: 29, V: 300, r0: 5, C: 37 };
const ALIGNED = { R: 45, H: 40, V: 300, r0: 4, C: 37 };

/** The three products of the chunk, in the runtime's strides (see codegen/matmul.ts). */
async function chunkProducts(
  r: MatmulRunner,
  xw: MatmulOperandDtype,
  { R, H, V, r0, C } = CHUNK,
): Promise<number[]> {
  const z: Strides = {
    ...{ M: C, N: V, K: H, offA: r0 * H, sAm: H, sAk: 1, offB: 0, sBk: 1, sBn: H },
    ...{ offC: 0, sCm: V, sCn: 1 },
  };
  const dX: Strides = {
    ...{ M: C, N: H, K: V, offA: 0, sAm: V, sAk: 1, offB: 0, sBk: H, sBn: 1 },
    ...{ offC: r0 * H, sCm: H, sCn: 1 },
  };
  const dW: Strides = {
    ...{ M: V, N: H, K: C, offA: 0, sAm: 1, sAk: V, offB: r0 * H, sBk: H, sBn: 1 },
    ...{ offC: 0, sCm: H, sCn: 1 },
  };
  return [
    await check(r, [xw, xw], z, { a: R * H, b: V * H, c: C * V }, false),
    await check(r, ['f32', xw], dX, { a: C * V, b: V * H, c: R * H }, false),
    await check(r, ['f32', xw], dW, { a: C * V, b: R * H, c: V * H }, true),
  ];
}

// Small direct tiles beside the tuner's: two rows of threads (rows not uniform across the
// workgroup), a K unroll of 3 (a tail of K mod 3), and the M-fastest grid order.
const SMALL_DIRECT: readonly MatmulTiles[] = [
  { tileM: 4, tileN: 8, tileK: 3, threadsX: 4, threadsY: 2, staging: 'direct' },
  { tileM: 6, tileN: 16, tileK: 1, threadsX: 8, threadsY: 1, staging: 'direct', mFastest: true },
  { tileM: 8, tileN: 16, tileK: 4, threadsX: 4, threadsY: 4, mFastest: true },
];

const DIRECT_FALLBACK: MatmulTiles = {
  tileM: 4,
  tileN: 8,
  tileK: 1,
  threadsX: 4,
  threadsY: 1,
  staging: 'direct',
};

/** C[M, N] = A·Bᵀ with A rows of stride sAm at offA and B [N, K] (the z layout). */
function nt(M: number, N: number, K: number, offA: number, sAm: number): Strides {
  return { M, N, K, offA, sAm, sAk: 1, offB: 0, sBk: 1, sBn: K, offC: 0, sCm: N, sCn: 1 };
}

describe('matmul tile candidates', () => {
  it('offers staged and direct candidates that fit the device, each a distinct module', () => {
    const cs = matmulTileCandidates(gpu.device.limits);
    expect(cs.some((t) => t.staging === 'direct')).toBe(true);
    expect(cs.some((t) => t.staging !== 'direct')).toBe(true);
    const keys = cs.map((tiles) =>
      matmulKey({ aDtype: 'f32', bDtype: 'f32', accumulate: false, tiles }),
    );
    expect(new Set(keys).size).toBe(cs.length);
    // Compatibility mode's guaranteed 128 invocations and 16 KiB leave the 256-thread one out.
    const compat = {
      ...gpu.limits,
      maxComputeInvocationsPerWorkgroup: 128,
      maxComputeWorkgroupStorageSize: 16384,
    };
    expect(matmulTileCandidates(compat).every((t) => t.threadsX * t.threadsY <= 128)).toBe(true);
  });

  it('emits direct modules that compile for every operand dtype', async () => {
    const results = await Promise.all(
      SMALL_DIRECT.flatMap((tiles) =>
        (['f32', 'bf16', 'f16'] as const).map((d) => {
          const vecA = tiles.staging === 'direct';
          const c = { aDtype: d, bDtype: 'bf16', accumulate: true, tiles, vecA } as const;
          return checkWgsl(gpu.device, matmulWgsl(c), matmulKey(c), {
            computeEntryPoints: ['main'],
          });
        }),
      ),
    );
    expect(results.flatMap((r) => r.messages)).toEqual([]);
  });

  for (const tiles of [...MATMUL_TUNE_CANDIDATES, ...SMALL_DIRECT]) {
    const name = matmulKey({ aDtype: 'f32', bDtype: 'f32', accumulate: false, tiles });
    it(`${name}: the three layouts of a chunk with bf16 X and W, and f32`, async () => {
      // Every candidate fits llvmpipe's limits; elsewhere the tuner skips what does not fit.
      if (matmulTilesProblem(tiles, gpu.device.limits)) return;
      const r = new MatmulRunner(gpu.device, { pool, tiles, source: matmulWgsl });
      try {
        for (const [i, err] of (await chunkProducts(r, 'bf16')).entries())
          expect(err, `bf16 ${['z', 'dX', 'dW'][i]}`).toBeLessThanOrEqual(TOLERANCE);
        for (const [i, err] of (await chunkProducts(r, 'f32')).entries())
          expect(err, `f32 ${['z', 'dX', 'dW'][i]}`).toBeLessThanOrEqual(TOLERANCE);
        for (const [i, err] of (await chunkProducts(r, 'f32', ALIGNED)).entries())
          expect(err, `aligned f32 ${['z', 'dX', 'dW'][i]}`).toBeLessThanOrEqual(TOLERANCE);
        // Direct tiles read z's X and W, and dX's dz, as vec4 along k; staged ones never.
        const keys = r.pipelineKeys;
        if (tiles.staging === 'direct') {
          expect(keys.some((k) => k.startsWith('matmul_f32_f32_set') && k.endsWith('_va_vb'))).toBe(
            true,
          );
          expect(keys.some((k) => k.endsWith('_va'))).toBe(true);
        } else expect(keys.filter((k) => /_v[ab]/.test(k))).toEqual([]);
      } finally {
        r.destroy();
      }
    });
  }

  it('direct: vec4 operands fall back to scalar where offset, stride or binding do not allow', async () => {
    const tiles = SMALL_DIRECT[0] ?? DIRECT_FALLBACK;
    const [M, N, K] = [9, 7, 12];
    // z-like: A [M, K] and B [N, K], both k-contiguous. Each case spoils one condition of A.
    const cases: {
      name: string;
      s: Strides;
      sizes: { a: number; b: number; c: number };
      va: boolean;
    }[] = [
      { name: 'aligned', s: nt(M, N, K, 0, K), sizes: { a: M * K, b: N * K, c: M * N }, va: true },
      {
        name: 'odd offset',
        s: nt(M, N, K, 1, K),
        sizes: { a: M * K + 1, b: N * K, c: M * N },
        va: false,
      },
      {
        name: 'row stride 13',
        s: nt(M, N, K, 0, 13),
        sizes: { a: M * 13, b: N * K, c: M * N },
        va: false,
      },
      // 9·12 + 2 floats: the binding's last vec4 is partial, but the reads stay before it.
      {
        name: 'partial last vec4',
        s: nt(M, N, K, 0, K),
        sizes: { a: M * K + 2, b: N * K, c: M * N },
        va: true,
      },
    ];
    // bf16 vec4s hold 8 elements: an offset of 4 is whole f32 vec4s, not bf16 ones.
    const bf16Cases = [
      {
        name: 'bf16 aligned',
        s: nt(M, N, 16, 0, 16),
        sizes: { a: M * 16, b: N * 16, c: M * N },
        va: true,
      },
      {
        name: 'bf16 offset 4',
        s: nt(M, N, 16, 4, 16),
        sizes: { a: M * 16 + 4, b: N * 16, c: M * N },
        va: false,
      },
      {
        name: 'f32 offset 4',
        s: nt(M, N, 16, 4, 16),
        sizes: { a: M * 16 + 4, b: N * 16, c: M * N },
        va: true,
      },
      // K = 13 on rows padded to 16: 8 k steps from vec4s, a tail of 5 read one by one.
      {
        name: 'bf16 tail',
        s: { ...nt(M, N, 13, 0, 16), sBn: 16 },
        sizes: { a: M * 16, b: N * 16, c: M * N },
        va: true,
      },
      {
        name: 'f16 tail',
        s: { ...nt(M, N, 13, 0, 16), sBn: 16 },
        sizes: { a: M * 16, b: N * 16, c: M * N },
        va: true,
      },
      // A vec4 A with a scalar B (row-major [K, N]): a mix-up of halves would not cancel.
      {
        name: 'bf16 A only',
        s: { ...nt(M, N, 16, 0, 16), sBk: N, sBn: 1 },
        sizes: { a: M * 16, b: 16 * N, c: M * N },
        va: true,
      },
    ];
    for (const c of [...cases, ...bf16Cases]) {
      const r = new MatmulRunner(gpu.device, { pool, tiles, source: matmulWgsl });
      const d = (['bf16', 'f16'] as const).find((x) => c.name.startsWith(x)) ?? 'f32';
      const err = await check(r, [d, d], c.s, c.sizes, false);
      expect(err, c.name).toBeLessThanOrEqual(TOLERANCE);
      expect(
        r.pipelineKeys.some((k) => k.includes('_va')),
        c.name,
      ).toBe(c.va);
      r.destroy();
    }
    // A program without the vec4 variant (has() says no) runs the scalar one.
    const r = new MatmulRunner(gpu.device, {
      pool,
      tiles,
      source: matmulWgsl,
      has: (c) => !c.vecA && !c.vecB,
    });
    expect(
      await check(r, ['f32', 'f32'], nt(M, N, K, 0, K), { a: M * K, b: N * K, c: M * N }, false),
    ).toBeLessThanOrEqual(TOLERANCE);
    expect(r.pipelineKeys.filter((k) => /_v[ab]/.test(k))).toEqual([]);
    r.destroy();
  });

  it('direct: a W over the binding limit is bound as the range read, in vec4s where it can', async () => {
    // A pool that believes the binding limit is 1 KiB; W [128, 8] bf16 is 2 KiB. The range
    // from row 33 is bound from the 256-byte boundary below it (row 32): whole vec4s of 8
    // bf16 still; 3 elements further on they are not.
    const small = new BufferPool(gpu.device, {
      maxBufferSize: 2 ** 20,
      maxStorageBufferBindingSize: 1024,
    });
    const [Vw, Hw, rows, n] = [128, 8, 5, 20];
    const u = mulberry32(21);
    const xs = Float64Array.from({ length: rows * Hw }, () => roundToBf16(2 * u() - 1));
    const ws = Float64Array.from({ length: Vw * Hw }, () => roundToBf16(2 * u() - 1));
    const x = small.create('X', bytesOf('bf16', xs.length), STORAGE);
    small.upload(x, packForUpload('bf16', xs));
    const w = small.create('W', bytesOf('bf16', ws.length), STORAGE, { rangedBinding: true });
    small.upload(w, packForUpload('bf16', ws));
    const tiles = SMALL_DIRECT[1] ?? DIRECT_FALLBACK;
    // K = 6 of the 8: the range read ends inside a vec4 and is bound up to its end.
    for (const [offB, K, vec] of [
      [33 * Hw, Hw, true],
      [33 * Hw + 3, Hw, false],
      [33 * Hw, 6, true],
    ] as const) {
      const r = new MatmulRunner(gpu.device, { pool: small, tiles, source: matmulWgsl });
      const z = small.create('z', rows * n * 4, STORAGE);
      const s: Strides = {
        ...{ M: rows, N: n, K, offA: 0, sAm: Hw, sAk: 1 },
        ...{ offB, sBk: 1, sBn: Hw, offC: 0, sCm: n, sCn: 1 },
      };
      const encoder = gpu.device.createCommandEncoder();
      r.encode(encoder, {
        ...s,
        a: x,
        b: w,
        c: z,
        aDtype: 'bf16',
        bDtype: 'bf16',
        accumulate: false,
      });
      gpu.device.queue.submit([encoder.finish()]);
      r.afterSubmit();
      const got = new Float32Array(await small.readback(z, rows * n * 4));
      const want = reference(s, xs, ws, new Float64Array(rows * n), false);
      expect(relativeError(got, want), `offB = ${offB}, K = ${K}`).toBeLessThanOrEqual(TOLERANCE);
      expect(
        r.pipelineKeys.some((k) => k.endsWith('_vb')),
        `offB = ${offB}, K = ${K}`,
      ).toBe(vec);
      r.destroy();
    }
    small.destroyAll();
  });

  it('direct: K split over dispatches and a grid split along both orders agree', async () => {
    const [M, N, K] = [37, 45, 70];
    const s: Strides = {
      M,
      N,
      K,
      offA: 0,
      sAm: K,
      sAk: 1,
      offB: 0,
      sBk: N,
      sBn: 1,
      offC: 0,
      sCm: N,
      sCn: 1,
    };
    for (const tiles of SMALL_DIRECT) {
      const r = new MatmulRunner(gpu.device, {
        pool,
        tiles,
        source: matmulWgsl,
        maxWorkgroupsPerDimension: 2,
        maxKPerDispatch: 3 * tiles.tileK,
      });
      const err = await check(r, ['bf16', 'f32'], s, { a: M * K, b: K * N, c: M * N }, true);
      expect(err, JSON.stringify(tiles)).toBeLessThanOrEqual(TOLERANCE);
      r.destroy();
    }
    // The direct kernel loops once per tileK steps: far longer K per dispatch than staged.
    const direct = {
      tileM: 16,
      tileN: 256,
      tileK: 2,
      threadsX: 16,
      threadsY: 1,
      staging: 'direct',
    } as const;
    expect(maxKPerDispatch(direct)).toBeGreaterThan(32768);
    expect(maxKPerDispatch(direct) % 2).toBe(0);
  });
});
