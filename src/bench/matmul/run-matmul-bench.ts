// The matmul benchmark: projc's generic matmul against TF.js's `tf.matMul` on the same kind
// of adapter (each side on its own device from Dawn), per shape: the same f32 operands,
// interleaved rounds (the order of the two sides alternates per round, so that a drift in
// the machine's load hits both), the median and range of each side's time, GFLOP/s at the
// median, the ratio per round, and the agreement of the two results with each other and
// with a float64 product at sampled entries.
import { loadavg } from 'node:os';
import type { MatmulTiles } from '../../../codegen/matmul.ts';
import { mulberry32 } from '../../run/rng.ts';
import type { AcquiredDevice } from '../../runtime/device.ts';
import { spread, type Spread } from '../bench-stats.ts';
import { prepareProjcMatmul } from './projc-matmul.ts';
import { layoutStrides, shapeName, type MatmulShape } from './shapes.ts';
import { prepareTfjsMatmul } from './tfjs-matmul.ts';

export interface SideResult {
  /** Milliseconds per product, one per round. */
  readonly timesMs: readonly number[];
  readonly time: Spread;
  /** GFLOP/s at the median time (and at the slowest and fastest round). */
  readonly gflops: number;
  readonly gflopsRange: readonly [number, number];
  /** max|C − C64|/max|C64| over the sampled entries of the float64 product. */
  readonly errorVsF64: number;
}

export interface MatmulBenchRow {
  readonly shape: MatmulShape;
  readonly name: string;
  readonly flops: number;
  readonly projc: SideResult & { readonly dispatches: number };
  /** projc with the portable default tiles, when asked for (what the tuner gains). */
  readonly projcDefault?: SideResult;
  /** TF.js's side, or why it did not run. */
  readonly tfjs: SideResult | { readonly error: string };
  /** projc GFLOP/s ÷ TF.js GFLOP/s at the medians, and the range of the per-round ratios. */
  readonly ratio?: number;
  readonly ratioRange?: readonly [number, number];
  /** max|C_projc − C_tfjs| / max|C_tfjs| over every entry. */
  readonly agreement?: number;
  /** Entries compared with the float64 product. */
  readonly checked: number;
}

export interface MatmulBenchOptions {
  readonly shapes: readonly MatmulShape[];
  readonly rounds: number;
  readonly tiles: MatmulTiles;
  /** Also time projc with these tiles (the portable default) in the same rounds. */
  readonly defaultTiles?: MatmulTiles;
  readonly seed?: number;
  /** Called after each round of each shape (progress on stderr). */
  readonly progress?: (line: string) => void;
}

/** Uniform values in [−1, 1). */
function values(count: number, seed: number): Float32Array {
  const u = mulberry32(seed);
  return Float32Array.from({ length: count }, () => 2 * u() - 1);
}

/** Every entry up to 65536 of them, else 4096 seeded random ones. */
function sampleEntries(M: number, N: number, seed: number): number[] {
  if (M * N <= 65536) return Array.from({ length: M * N }, (_, i) => i);
  const u = mulberry32(seed);
  return Array.from({ length: 4096 }, () => Math.floor(u() * M * N));
}

/** The float64 product at the sampled entries, with the layout's strides. */
function reference(s: MatmulShape, a: Float32Array, b: Float32Array, entries: number[]): number[] {
  const { sAm, sAk, sBk, sBn } = layoutStrides(s);
  return entries.map((idx) => {
    const m = Math.floor(idx / s.N);
    const n = idx % s.N;
    let sum = 0;
    for (let k = 0; k < s.K; k++)
      sum += (a[m * sAm + k * sAk] ?? NaN) * (b[k * sBk + n * sBn] ?? NaN);
    return sum;
  });
}

/** max|x − y| / max|y|, Infinity when anything is not finite. */
function relError(x: ArrayLike<number>, y: ArrayLike<number>, at?: readonly number[]): number {
  let diff = 0;
  let scale = 0;
  const n = at ? at.length : y.length;
  for (let i = 0; i < n; i++) {
    const xi = x[at ? (at[i] ?? 0) : i] ?? NaN;
    const yi = y[i] ?? NaN;
    if (!Number.isFinite(xi) || !Number.isFinite(yi)) return Infinity;
    diff = Math.max(diff, Math.abs(xi - yi));
    scale = Math.max(scale, Math.abs(yi));
  }
  return scale > 0 ? diff / scale : diff;
}

function side(timesMs: number[], flops: number, errorVsF64: number): SideResult {
  const time = spread(timesMs);
  const rate = (ms: number) => flops / (ms * 1e6);
  return {
    timesMs,
    time,
    gflops: rate(time.median),
    gflopsRange: [rate(time.max), rate(time.min)],
    errorVsF64,
  };
}

async function timed(run: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/** Runs every shape; TF.js failing at a shape is a row with its error, not a failed bench. */
export async function runMatmulBench(
  dev: AcquiredDevice,
  opts: MatmulBenchOptions,
): Promise<MatmulBenchRow[]> {
  const rows: MatmulBenchRow[] = [];
  for (const [index, shape] of opts.shapes.entries()) {
    const { M, K, N } = shape;
    const seed = (opts.seed ?? 0) + 10 * index;
    const a = values(M * K, seed + 1);
    const b = values(K * N, seed + 2);
    const flops = 2 * M * N * K;
    const entries = sampleEntries(M, N, seed + 3);
    const want = reference(shape, a, b, entries);
    const projc = await prepareProjcMatmul(dev, shape, a, b, opts.tiles);
    const base =
      opts.defaultTiles && (await prepareProjcMatmul(dev, shape, a, b, opts.defaultTiles));
    let tfjs: Awaited<ReturnType<typeof prepareTfjsMatmul>> | { error: string };
    try {
      tfjs = await prepareTfjsMatmul(shape, a, b);
    } catch (e) {
      tfjs = { error: e instanceof Error ? e.message : String(e) };
    }
    const times: { projc: number[]; tfjs: number[]; base: number[] } = {
      projc: [],
      tfjs: [],
      base: [],
    };
    try {
      for (let r = 0; r < opts.rounds; r++) {
        const order = r % 2 === 0 ? (['projc', 'tfjs'] as const) : (['tfjs', 'projc'] as const);
        for (const who of order) {
          if (who === 'projc') times.projc.push(await timed(projc.run));
          else if (!('error' in tfjs)) times.tfjs.push(await timed(tfjs.run));
        }
        if (base) times.base.push(await timed(base.run));
        const last = (xs: number[]) => (xs[xs.length - 1] ?? NaN).toFixed(0);
        opts.progress?.(
          `${shapeName(shape)} round ${r + 1}/${opts.rounds}: projc ${last(times.projc)} ms` +
            ('error' in tfjs ? '' : `, TF.js ${last(times.tfjs)} ms`),
        );
      }
      dev.throwIfLost();
      const cProjc = await projc.result();
      const projcSide = {
        ...side(times.projc, flops, relError(cProjc, want, entries)),
        dispatches: projc.dispatches,
      };
      const projcDefault =
        base && side(times.base, flops, relError(await base.result(), want, entries));
      if ('error' in tfjs) {
        rows.push({
          shape,
          name: shapeName(shape),
          flops,
          projc: projcSide,
          tfjs,
          checked: entries.length,
        });
        continue;
      }
      const cTfjs = await tfjs.result();
      const tfjsSide = side(times.tfjs, flops, relError(cTfjs, want, entries));
      const perRound = times.projc.map((t, i) => (times.tfjs[i] ?? NaN) / t);
      rows.push({
        shape,
        name: shapeName(shape),
        flops,
        projc: projcSide,
        projcDefault,
        tfjs: tfjsSide,
        ratio: projcSide.gflops / tfjsSide.gflops,
        ratioRange: [Math.min(...perRound), Math.max(...perRound)],
        agreement: cTfjs.length === cProjc.length ? relError(cProjc, cTfjs) : Infinity,
        checked: entries.length,
      });
    } finally {
      projc.release();
      base?.release();
      if (!('error' in tfjs)) tfjs.release();
    }
  }
  return rows;
}

/** The 1-minute load average of the machine (what else ran while the bench did). */
export function machineLoad(): number {
  return loadavg()[0] ?? NaN;
}
