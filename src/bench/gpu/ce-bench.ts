// Cross-entropy forward + backward (examples/cross_entropy.proj, gradients of X and W) at
// one shape on a Runtime's device: projc's generated program, and the materialized
// baseline (src/bench/eager.ts) where its [N, V] logits fit the device's buffer limits.
import { freemem } from 'node:os';
import type { Runtime } from '../../api/runtime.ts';
import { interpret } from '../../interp/interpret.ts';
import type { IrFunction } from '../../ir/types.ts';
import { mulberry32 } from '../../run/rng.ts';
import { execute } from '../../runtime/execute.ts';
import { materializedBytes } from '../../runtime/memory.ts';
import type { DimSizes, Tensor } from '../../tensor/tensor.ts';
import { matmulFlops } from '../bench-run.ts';
import { relativeError, spread, type Spread } from '../bench-stats.ts';
import { prepareEager } from '../eager.ts';

export interface CeCase {
  readonly name: string;
  readonly N: number;
  readonly H: number;
  readonly V: number;
}

export interface SideResult {
  /** Compute wall time per step: first dispatch to the device going idle (no upload, no readback). */
  readonly timesMs: readonly number[];
  readonly time: Spread;
  /** Wall time of the whole call (projc: upload, compute, readback). */
  readonly callMs: Spread;
  readonly gflops: number;
  readonly peakBytes: number;
}

export interface CeResult extends CeCase {
  readonly flops: number;
  readonly logits: number;
  readonly projc: SideResult & {
    readonly chunkRows: number;
    readonly chunks: number;
    readonly chunkReason: string;
    readonly predictedPeakBytes: number;
  };
  /** Either measured, or why it was not run. */
  readonly baseline:
    | (SideResult & { readonly fits: true; readonly predictedBytes: number })
    | { readonly fits: false; readonly reason: string; readonly predictedBytes: number };
  /** max|a−b|/max|b| of projc's results against each reference that ran. */
  readonly agreement: Record<string, Record<string, number>>;
  readonly loss: number;
}

/**
 * Seeded inputs like `randomInputs` (X, W of σ = H^(-1/4), so logits have unit variance;
 * targets uniform over V) but uniform rather than normal: at the seed shape W alone is
 * 525M values and Box–Muller would cost seconds of host time per shape.
 */
export function ceInputs(fn: IrFunction, c: CeCase, seed: number): Map<string, Tensor> {
  const u = mulberry32(seed);
  const half = Math.sqrt(3) * c.H ** -0.25;
  const uniform = (n: number) => {
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = (2 * u() - 1) * half;
    return d;
  };
  const param = (name: string) => {
    const p = fn.params.find((x) => x.name === name);
    if (!p) throw new Error(`${fn.name} has no parameter ${name}`);
    return p;
  };
  const target = new Float64Array(c.N);
  for (let i = 0; i < c.N; i++) target[i] = Math.floor(u() * c.V);
  return new Map<string, Tensor>([
    [
      'X',
      {
        dtype: param('X').dtype,
        dims: param('X').dims,
        shape: [c.N, c.H],
        data: uniform(c.N * c.H),
      },
    ],
    [
      'W',
      {
        dtype: param('W').dtype,
        dims: param('W').dims,
        shape: [c.V, c.H],
        data: uniform(c.V * c.H),
      },
    ],
    ['target', { dtype: 'i32', dims: param('target').dims, shape: [c.N], data: target }],
  ]);
}

/**
 * Host bytes a run holds at once: float64 inputs, the packed bf16 upload of X and W, two
 * sets of float64 gradients (the warm-up's, kept for the run-to-run comparison, and the
 * current round's) and the f32 readback of one.
 */
export function hostBytes(c: CeCase): number {
  const params = c.N * c.H + c.V * c.H;
  return params * (8 + 2) + params * (2 * 8 + 4) + c.N * 16;
}

/** Why this shape cannot run on this host, or undefined. */
export function hostProblem(c: CeCase, free = freemem()): string | undefined {
  const need = hostBytes(c);
  return need > 0.8 * free
    ? `needs ~${(need / 2 ** 30).toFixed(1)} GiB of host memory (float64 inputs and gradients), ${(free / 2 ** 30).toFixed(1)} GiB free`
    : undefined;
}

/** Why the materialized baseline cannot run at this shape on this device, or undefined. */
export function baselineProblem(
  sizes: DimSizes,
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number },
): string | undefined {
  const logits = (sizes.get('N') ?? 0) * (sizes.get('V') ?? 0) * 4;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (logits > limits.maxBufferSize)
    return `its f32 logits (${gib(logits)}) pass maxBufferSize (${gib(limits.maxBufferSize)})`;
  if (logits > limits.maxStorageBufferBindingSize)
    return `its f32 logits (${gib(logits)}) pass maxStorageBufferBindingSize (${gib(limits.maxStorageBufferBindingSize)}): its kernels bind whole tensors`;
  return undefined;
}

export interface CeOptions {
  readonly repeats: number;
  readonly seed: number;
  /** Compare with the float64 interpreter (small shapes only). */
  readonly interpreter: boolean;
  /** Also run it once through `Runtime.run` and compare (small shapes). */
  readonly runtimeRun: boolean;
  /** Cut the timed rounds so that a shape's rounds take about this long (at least one runs). */
  readonly budgetMs: number;
  /** The runtime's memory budget (its chunk size); undefined: the runtime's default. */
  readonly memoryBudget: number | undefined;
  readonly log: (line: string) => void;
}

export async function benchCrossEntropy(
  rt: Runtime,
  kernel: IrFunction,
  c: CeCase,
  opts: CeOptions,
): Promise<CeResult> {
  const dev = rt.device;
  const program = rt.program(kernel, ['X', 'W']);
  const sizes: DimSizes = new Map([
    ['N', c.N],
    ['H', c.H],
    ['V', c.V],
  ]);
  const t0 = performance.now();
  const inputs = ceInputs(kernel, c, opts.seed);
  opts.log(`  inputs generated on the host in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const flops = matmulFlops(program.fn, sizes);
  const predictedBytes = materializedBytes(program, sizes);
  const agreement: Record<string, Record<string, number>> = {};
  const compare = (
    against: string,
    ref: ReadonlyMap<string, Tensor>,
    got: ReadonlyMap<string, Tensor>,
  ) => {
    const errs: Record<string, number> = {};
    for (const [name, t] of ref) {
      const g = got.get(name);
      errs[name] = g ? relativeError(g, t) : Infinity;
    }
    agreement[against] = errs;
  };

  // A warm-up call of each side (pipelines compile), then timed rounds, interleaved and
  // alternating which side runs first, on the same inputs.
  const exec = opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {};
  const warm = await execute(dev, program, inputs, sizes, exec);
  opts.log(
    `  projc warm-up: ${warm.computeMs.toFixed(1)} ms compute, ${warm.ms.toFixed(1)} ms in all, ${warm.chunk.chunks} chunks of ${warm.chunk.chunkRows} rows`,
  );
  const problem = baselineProblem(sizes, dev.limits);
  if (problem !== undefined) opts.log(`  baseline does not fit: ${problem}`);
  const eager =
    problem === undefined ? await prepareEager(dev, program.fn, inputs, sizes) : undefined;
  try {
    let warmBaseline = 0;
    if (eager) {
      const s = performance.now();
      await eager.run();
      warmBaseline = performance.now() - s;
    }
    const perRound = Math.max(warm.ms + warmBaseline, 1);
    const rounds = Math.max(1, Math.min(opts.repeats, Math.floor(opts.budgetMs / perRound)));
    const times: number[] = [];
    const calls: number[] = [];
    const bt: number[] = [];
    let peak = warm.peakBytes;
    let bpeak = eager?.peakBytes() ?? 0;
    let last = warm;
    for (let r = 0; r < rounds; r++) {
      const runBaseline = async () => {
        if (!eager) return;
        const s = performance.now();
        await eager.run();
        bt.push(performance.now() - s);
        bpeak = Math.max(bpeak, eager.peakBytes());
      };
      if (r % 2 === 1) await runBaseline();
      last = await execute(dev, program, inputs, sizes, exec);
      times.push(last.computeMs);
      calls.push(last.ms);
      peak = Math.max(peak, last.peakBytes);
      if (r % 2 === 0) await runBaseline();
      opts.log(
        `  round ${r + 1}/${rounds}: projc ${last.computeMs.toFixed(1)} ms compute${eager ? `, baseline ${(bt[bt.length - 1] ?? NaN).toFixed(1)} ms` : ''}`,
      );
    }
    const loss = last.values.get(kernel.results[0]?.name ?? '')?.data[0] ?? NaN;
    compare('projc warm-up', warm.values, last.values);
    if (opts.runtimeRun) {
      // The same call through the public entry point, `Runtime.run` (inputs bound by name).
      const r = await rt.run(kernel, Object.fromEntries(inputs), { grad: ['X', 'W'], ...exec });
      const values = new Map([
        ...r.outputs,
        ...[...r.grads].map(([k, v]) => [`grad.${k}`, v] as const),
      ]);
      compare('Runtime.run', values, last.values);
    }
    if (opts.interpreter) compare('interpreter', interpret(program.fn, inputs, sizes), last.values);
    if (eager) compare('baseline', await eager.results(), last.values);
    const time = spread(times);
    const projc = {
      timesMs: times,
      time,
      callMs: spread(calls),
      gflops: flops / (time.median * 1e6),
      peakBytes: peak,
      chunkRows: last.chunk.chunkRows,
      chunks: last.chunk.chunks,
      chunkReason: last.chunk.reason,
      predictedPeakBytes: last.chunk.predictedPeakBytes,
    };
    const btime = spread(bt);
    const baseline: CeResult['baseline'] =
      problem !== undefined || !eager
        ? { fits: false, reason: problem ?? 'not run', predictedBytes }
        : {
            fits: true,
            predictedBytes,
            timesMs: bt,
            time: btime,
            callMs: btime,
            gflops: flops / (btime.median * 1e6),
            peakBytes: bpeak,
          };
    if (eager)
      opts.log(
        `  baseline: ${btime.median.toFixed(1)} ms median, peak ${(bpeak / 2 ** 20).toFixed(1)} MiB`,
      );
    return { ...c, flops, logits: c.N * c.V, projc, baseline, agreement, loss };
  } finally {
    eager?.release();
  }
}
