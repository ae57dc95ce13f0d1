// Throughput of projc's generic tiled matmul (codegen/matmul.ts, with the tiles of the
// Runtime's programs, recorded by the runtime's MatmulRunner exactly as a chunk's products
// are) at one shape: C = A·Bᵀ with A [M, K] and B [N, K] row-major, the layout of the
// logits X @ W.T. Timed with the device's timestamps where it has them (see timer.ts), and
// checked against a float64 product of the same rounded operands at sampled entries (all
// entries at small shapes).
import { packForUpload } from '../../../codegen/storage.ts';
import { matmulWgsl, type MatmulOperandDtype, type MatmulTiles } from '../../../codegen/matmul.ts';
import { storageRounding } from '../../interp/interpret.ts';
import { mulberry32 } from '../../run/rng.ts';
import { BufferPool } from '../../runtime/buffers.ts';
import type { AcquiredDevice } from '../../runtime/device.ts';
import { MatmulRunner } from '../../runtime/matmul.ts';
import { BufferUsage } from '../../runtime/usage.ts';
import { spread, type Spread } from '../bench-stats.ts';
import type { GpuTimer } from '../../runtime/gpu-timer.ts';

export interface MatmulCase {
  readonly name: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly dtype: MatmulOperandDtype;
}

export interface MatmulResult extends MatmulCase {
  readonly flops: number;
  /** Products per timed submit (small shapes are repeated to rise above timer resolution). */
  readonly perSubmit: number;
  /** Milliseconds per product, one per timed submit. */
  readonly timesMs: readonly number[];
  readonly time: Spread;
  readonly gflops: number;
  /** gflops / the adapter's f32 peak; null when the peak is unknown. */
  readonly fractionOfPeak: number | null;
  /** Entries compared with the float64 product, and the worst max|a−b|/max|b| over them. */
  readonly checked: number;
  readonly maxRelError: number;
  readonly tiles: string;
}

/** Uniform values in [−1, 1), rounded to the operand's storage (what the GPU multiplies). */
function operand(count: number, dtype: MatmulOperandDtype, seed: number): Float32Array {
  const u = mulberry32(seed);
  const round = storageRounding(dtype);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = round(2 * u() - 1);
  return out;
}

export async function benchMatmul(
  dev: AcquiredDevice,
  timer: GpuTimer,
  c: MatmulCase,
  opts: {
    repeats: number;
    peakGflops: number | undefined;
    /** The tiles of the Runtime's programs (`program.matmul.tiles`): what its chunks run. */
    tiles: MatmulTiles;
    targetMs?: number;
    seed?: number;
  },
): Promise<MatmulResult> {
  const { device } = dev;
  const { M, K, N } = c;
  const pool = new BufferPool(device, dev.limits);
  // The program's variants are only those its products need; codegen's generator makes the
  // same module for any operand dtypes with these tiles.
  const runner = new MatmulRunner(device, { pool, tiles: opts.tiles, source: matmulWgsl });
  const usage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
  const elem = c.dtype === 'f32' ? 4 : 2;
  try {
    const a = operand(M * K, c.dtype, (opts.seed ?? 0) + 1);
    const b = operand(N * K, c.dtype, (opts.seed ?? 0) + 2);
    const bufA = pool.create('A', Math.ceil((M * K * elem) / 4) * 4, usage, {
      rangedBinding: true,
    });
    const bufB = pool.create('B', Math.ceil((N * K * elem) / 4) * 4, usage, {
      rangedBinding: true,
    });
    const bufC = pool.create('C', M * N * 4, usage, { rangedBinding: true });
    pool.upload(bufA, packForUpload(c.dtype, a));
    pool.upload(bufB, packForUpload(c.dtype, b));
    const args = {
      a: bufA,
      b: bufB,
      c: bufC,
      aDtype: c.dtype,
      bDtype: c.dtype,
      accumulate: false,
      M,
      N,
      K,
      offA: 0,
      sAm: K,
      sAk: 1,
      offB: 0,
      sBk: 1,
      sBn: K,
      offC: 0,
      sCm: N,
      sCn: 1,
    };
    const timed = async (times: number) => {
      const ms = await timer.time((enc) => {
        for (let i = 0; i < times; i++) runner.encode(enc, args);
      });
      runner.afterSubmit();
      return ms / times;
    };
    // The first submit builds the pipeline; the second is a warm estimate that sizes the
    // repetitions per submit so that each timed submit lasts about targetMs.
    await timed(1);
    const estimate = await timed(1);
    const target = opts.targetMs ?? 20;
    const perSubmit = Math.max(1, Math.min(64, Math.ceil(target / Math.max(estimate, 1e-3))));
    const timesMs: number[] = [];
    for (let r = 0; r < opts.repeats; r++) timesMs.push(await timed(perSubmit));
    dev.throwIfLost();
    const got = new Float32Array(await pool.readback(bufC, M * N * 4));
    const { checked, maxRelError } = checkProduct(a, b, got, M, K, N, (opts.seed ?? 0) + 3);
    const flops = 2 * M * N * K;
    const time = spread(timesMs);
    const gflops = flops / (time.median * 1e6);
    const t = runner.tiles;
    return {
      ...c,
      flops,
      perSubmit,
      timesMs,
      time,
      gflops,
      fractionOfPeak: opts.peakGflops ? gflops / opts.peakGflops : null,
      checked,
      maxRelError,
      tiles: `${t.tileM}×${t.tileN}×${t.tileK} tiles, ${t.threadsX}×${t.threadsY} threads`,
    };
  } finally {
    runner.destroy();
    pool.destroyAll();
  }
}

/** Every entry when there are at most 65536, else 4096 seeded random ones. */
function checkProduct(
  a: Float32Array,
  b: Float32Array,
  got: Float32Array,
  M: number,
  K: number,
  N: number,
  seed: number,
): { checked: number; maxRelError: number } {
  const all = M * N <= 65536;
  const count = all ? M * N : 4096;
  const u = mulberry32(seed);
  let diff = 0;
  let scale = 0;
  for (let s = 0; s < count; s++) {
    const idx = all ? s : Math.floor(u() * M * N);
    const m = Math.floor(idx / N);
    const n = idx % N;
    let ref = 0;
    for (let k = 0; k < K; k++) ref += (a[m * K + k] ?? 0) * (b[n * K + k] ?? 0);
    const g = got[idx] ?? NaN;
    if (!Number.isFinite(g)) return { checked: s + 1, maxRelError: Infinity };
    diff = Math.max(diff, Math.abs(g - ref));
    scale = Math.max(scale, Math.abs(ref));
  }
  return { checked: count, maxRelError: scale > 0 ? diff / scale : diff };
}
