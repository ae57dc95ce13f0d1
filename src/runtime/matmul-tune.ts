// A small matmul autotuner: times a few candidate tile configurations on one representative
// shape on this device, in the three layouts a chunk runs (z = Xc·Wᵀ, dX = dz·W,
// dW += dzᵀ·Xc), and keeps the fastest. There are no timestamp queries on every adapter
// (none on llvmpipe), so each timing is submit + queue.onSubmittedWorkDone, the best of a
// few runs after a warm-up. The choice is cached in memory per adapter (its description and
// limits) and candidate list, so that later devices of one process reuse it. The runtime
// makes no WGSL: `source` is the caller's (codegen's generator, or a program's modules).
import {
  matmulKey,
  matmulTilesProblem,
  type MatmulConfig,
  type MatmulTiles,
} from '../../codegen/matmul.ts';
import { rowProjections } from '../plan/products.ts';
import type { ChunkPlan } from '../plan/types.ts';
import { BufferPool } from './buffers.ts';
import type { AcquiredDevice } from './device.ts';
import { MatmulRunner, type MatmulArgs } from './matmul.ts';
import { BufferUsage } from './usage.ts';

/** A chunk's products in small: rows × hidden × vocabulary. */
export interface TuneShape {
  readonly rows: number;
  readonly hidden: number;
  readonly vocab: number;
}

/** 256 rows, H = 256, V = 1024: about 0.4 GFLOP over the three products. */
export const DEFAULT_TUNE_SHAPE: TuneShape = { rows: 256, hidden: 256, vocab: 1024 };

/** The widest vocabulary `tuneShapeOf` times: wide enough to leave the caches, yet quick. */
const TUNE_VOCAB_MAX = 4096;

/**
 * A chunk of a program's own first projection at `sizes`: its rows (at most `chunkRows`),
 * its contracted dims and at most TUNE_VOCAB_MAX of its output dim. Tiles tuned on a shape
 * that fits in the caches (DEFAULT_TUNE_SHAPE's logits are 1 MiB) can be the slow ones on
 * a chunk's products: on llvmpipe the two choices differed by 1.5× at 512 × 256 × 8192.
 */
export function tuneShapeOf(
  p: { plan: Pick<ChunkPlan, 'rows' | 'sweeps'> },
  sizes: ReadonlyMap<string, number>,
  chunkRows: number,
): TuneShape {
  const count = (dims: readonly string[]) => dims.reduce((s, d) => s * (sizes.get(d) ?? 1), 1);
  const z = rowProjections(p.plan)[0];
  if (!z) return DEFAULT_TUNE_SHAPE;
  return {
    rows: Math.max(1, Math.min(chunkRows, count(z.roles.m))),
    hidden: Math.max(1, count(z.roles.k)),
    vocab: Math.max(1, Math.min(TUNE_VOCAB_MAX, count(z.roles.n))),
  };
}

export interface TuneOptions {
  readonly candidates: readonly MatmulTiles[];
  /** The WGSL of a config (codegen's matmulWgsl, or a program's modules). */
  readonly source: (config: MatmulConfig) => string;
  readonly shape?: TuneShape;
  /** Timed runs per candidate after the warm-up; the best counts. Default 3. */
  readonly runs?: number;
}

export interface TuneTiming {
  readonly tiles: MatmulTiles;
  readonly key: string;
  /** Best milliseconds of the three products, or why the candidate was left out. */
  readonly ms?: number;
  readonly skipped?: string;
}

export interface TuneResult {
  readonly tiles: MatmulTiles;
  readonly shape: TuneShape;
  readonly timings: readonly TuneTiming[];
  /** True when this came from the in-memory cache (no timing ran). */
  readonly cached: boolean;
}

const cache = new Map<string, Omit<TuneResult, 'cached'>>();

/** Times the candidates that fit the device and returns the fastest (cached per adapter). */
export async function tuneMatmulTiles(dev: AcquiredDevice, opts: TuneOptions): Promise<TuneResult> {
  const shape = opts.shape ?? DEFAULT_TUNE_SHAPE;
  const key = JSON.stringify([dev.adapterInfo, dev.limits, opts.candidates, shape]);
  const hit = cache.get(key);
  if (hit) return { ...hit, cached: true };
  const timings: TuneTiming[] = [];
  const pool = new BufferPool(dev.device, dev.limits);
  try {
    const products = makeProducts(pool, shape);
    for (const tiles of opts.candidates) {
      const name = matmulKey({ aDtype: 'f32', bDtype: 'f32', accumulate: false, tiles });
      const problem = matmulTilesProblem(tiles, dev.device.limits);
      if (problem) {
        timings.push({ tiles, key: name, skipped: problem });
        continue;
      }
      const runner = new MatmulRunner(dev.device, { pool, tiles, source: opts.source });
      try {
        const run = async () => {
          const encoder = dev.device.createCommandEncoder({ label: 'matmul tune' });
          for (const p of products) runner.encode(encoder, p);
          const t0 = performance.now();
          dev.device.queue.submit([encoder.finish()]);
          runner.afterSubmit();
          await dev.device.queue.onSubmittedWorkDone();
          return performance.now() - t0;
        };
        await run(); // builds the pipelines
        let best = Infinity;
        for (let i = 0; i < (opts.runs ?? 3); i++) best = Math.min(best, await run());
        dev.throwIfLost();
        timings.push({ tiles, key: name, ms: best });
      } finally {
        runner.destroy();
      }
    }
  } finally {
    pool.destroyAll();
  }
  let best: TuneTiming | undefined;
  for (const t of timings) if (t.ms !== undefined && (best?.ms ?? Infinity) > t.ms) best = t;
  if (!best)
    throw new Error(`no matmul tile candidate fits this device: ${JSON.stringify(timings)}`);
  const result = { tiles: best.tiles, shape, timings };
  cache.set(key, result);
  return { ...result, cached: false };
}

/** The three products of a chunk at `s`, on uninitialised (zero) buffers. */
function makeProducts(pool: BufferPool, s: TuneShape): MatmulArgs[] {
  const usage = BufferUsage.STORAGE;
  const { rows: R, hidden: H, vocab: V } = s;
  const X = pool.create('tune X', R * H * 4, usage);
  const W = pool.create('tune W', V * H * 4, usage);
  const z = pool.create('tune z', R * V * 4, usage);
  const dX = pool.create('tune dX', R * H * 4, usage);
  const dW = pool.create('tune dW', V * H * 4, usage);
  const f32 = { aDtype: 'f32', bDtype: 'f32', offA: 0, offB: 0, offC: 0 } as const;
  return [
    // z = X·Wᵀ: W read transposed.
    {
      ...f32,
      a: X,
      b: W,
      c: z,
      accumulate: false,
      M: R,
      N: V,
      K: H,
      sAm: H,
      sAk: 1,
      sBk: 1,
      sBn: H,
      sCm: V,
      sCn: 1,
    },
    // dX = dz·W (z stands for dz).
    {
      ...f32,
      a: z,
      b: W,
      c: dX,
      accumulate: false,
      M: R,
      N: H,
      K: V,
      sAm: V,
      sAk: 1,
      sBk: H,
      sBn: 1,
      sCm: H,
      sCn: 1,
    },
    // dW += dzᵀ·X: dz read transposed.
    {
      ...f32,
      a: z,
      b: X,
      c: dW,
      accumulate: true,
      M: V,
      N: H,
      K: R,
      sAm: 1,
      sAk: V,
      sBk: H,
      sBn: 1,
      sCm: H,
      sCn: 1,
    },
  ];
}
