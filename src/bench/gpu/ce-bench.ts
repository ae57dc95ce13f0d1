// Cross-entropy forward + backward (examples/cross_entropy.proj, gradients of X and W) at
// one shape on a Runtime's device: projc's generated program, and the materialized
// baseline (src/bench/eager.ts) where its [N, V] logits fit the device's buffer limits.
import { freemem } from 'node:os';
import type { Runtime } from '../../api/runtime.ts';
import { interpret } from '../../interp/interpret.ts';
import type { IrFunction } from '../../ir/types.ts';
import { mulberry32 } from '../../run/rng.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../io/dtype-bits.ts';
import { BufferPool } from '../../runtime/buffers.ts';
import { storageOf, type DeviceTensor } from '../../runtime/input-sources.ts';
import { chooseChunkRows, materializedBytes, memoryModel } from '../../runtime/memory.ts';
import { READBACK_SLICE_BYTES } from '../../runtime/readback.ts';
import { BufferUsage } from '../../runtime/usage.ts';
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
  /**
   * Wall time per step: projc from recording the call (inputs already on the device) to the
   * device going idle, no readback; the baseline from its first dispatch.
   */
  readonly timesMs: readonly number[];
  readonly time: Spread;
  /** Wall time of the whole call (projc: recording, compute and reading back the loss). */
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

/** Elements generated on the host at once, then written to the device: the host's whole share. */
const SLICE = 1 << 22;

/** The inputs of a shape: X and W in device buffers, the targets as an Int32Array. */
export interface CeInputs {
  readonly X: DeviceTensor;
  readonly W: DeviceTensor;
  readonly target: Int32Array;
  /** Float64 host copies of the same values, made only when a host reference needs them. */
  readonly host?: Map<string, Tensor>;
  /** Device bytes of X and W. */
  readonly deviceBytes: number;
  release(): void;
}

/**
 * Seeded inputs like `randomInputs` (X, W of σ = H^(-1/4), so logits have unit variance;
 * targets uniform over V) but uniform rather than normal, and generated straight into
 * device buffers in the parameters' storage (bf16/f16 bits or f32) a slice at a time: at
 * the seed shape W alone is 525M values, which as float64 would be 4.2 GB of host memory
 * and seconds of packing per shape. `hostCopies` also keeps float64 copies of the same
 * (rounded) values, for the interpreter and the materialized baseline at small shapes.
 */
export function deviceCeInputs(
  device: GPUDevice,
  fn: IrFunction,
  c: CeCase,
  seed: number,
  hostCopies: boolean,
): CeInputs {
  const u = mulberry32(seed);
  const half = Math.sqrt(3) * c.H ** -0.25;
  const made: GPUBuffer[] = [];
  const host = new Map<string, Tensor>();
  const param = (name: string) => {
    const p = fn.params.find((x) => x.name === name);
    if (!p) throw new Error(`${fn.name} has no parameter ${name}`);
    return p;
  };
  const uniform = (name: string, shape: readonly number[]): DeviceTensor => {
    const p = param(name);
    const dtype = storageOf(p.dtype);
    if (dtype !== 'f32' && dtype !== 'bf16' && dtype !== 'f16')
      throw new Error(`${name} is ${p.dtype}, not a float`);
    const n = shape.reduce((a, b) => a * b, 1);
    const half16 = dtype !== 'f32';
    // WebGPU writes whole words: a 16-bit tensor of odd length gets one padding element.
    const buffer = device.createBuffer({
      label: `bench.${name}`,
      size: Math.max(4, Math.ceil((n * (half16 ? 2 : 4)) / 4) * 4),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC,
    });
    made.push(buffer);
    const copy = hostCopies ? new Float64Array(n) : undefined;
    const bits = dtype === 'bf16' ? f32ToBf16Bits : f32ToF16Bits;
    const value = dtype === 'bf16' ? bf16BitsToF32 : f16BitsToF32;
    for (let at = 0; at < n; at += SLICE) {
      const m = Math.min(SLICE, n - at);
      if (half16) {
        const slice = new Uint16Array(m + (m % 2));
        for (let i = 0; i < m; i++) {
          slice[i] = bits((2 * u() - 1) * half);
          if (copy) copy[at + i] = value(slice[i] ?? 0);
        }
        device.queue.writeBuffer(buffer, at * 2, slice);
      } else {
        const slice = new Float32Array(m);
        for (let i = 0; i < m; i++) {
          slice[i] = (2 * u() - 1) * half;
          if (copy) copy[at + i] = slice[i] ?? 0;
        }
        device.queue.writeBuffer(buffer, at * 4, slice);
      }
    }
    if (copy) host.set(name, { dtype: p.dtype, dims: p.dims, shape, data: copy });
    return { buffer, dtype, shape };
  };
  const X = uniform('X', [c.N, c.H]);
  const W = uniform('W', [c.V, c.H]);
  const target = new Int32Array(c.N);
  for (let i = 0; i < c.N; i++) target[i] = Math.floor(u() * c.V);
  if (hostCopies)
    host.set('target', {
      dtype: 'i32',
      dims: param('target').dims,
      shape: [c.N],
      data: Float64Array.from(target),
    });
  return {
    X,
    W,
    target,
    ...(hostCopies ? { host } : {}),
    deviceBytes: X.buffer.size + W.buffer.size,
    release: () => {
      for (const b of made) b.destroy();
    },
  };
}

/**
 * Host bytes a run holds at once: a slice of generated inputs and its upload, the
 * targets, two readback slices for comparing runs on the device, and with `hostCopies`
 * (small shapes, where the interpreter or the baseline runs) float64 inputs and three
 * float64 sets of results (projc's, the reference's, Runtime.run's).
 */
export function hostBytes(c: CeCase, hostCopies: boolean): number {
  const params = c.N * c.H + c.V * c.H;
  const always = 2 * SLICE * 4 + c.N * 4 + 2 * READBACK_SLICE_BYTES;
  return always + (hostCopies ? params * 8 + c.N * 8 + 3 * params * 8 : 0);
}

/** Why this shape cannot run on this host, or undefined. */
export function hostProblem(c: CeCase, free = freemem(), hostCopies = false): string | undefined {
  const need = hostBytes(c, hostCopies);
  return need > 0.8 * free
    ? `needs ~${(need / 2 ** 30).toFixed(1)} GiB of host memory (${hostCopies ? 'float64 inputs and results for the host references' : 'input generation and readback slices'}), ${(free / 2 ** 30).toFixed(1)} GiB free`
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

/** Buffers a call writes its results into (`outputs` of Session.encode). */
function resultBuffers(device: GPUDevice, c: CeCase, label: string) {
  const make = (name: string, elements: number) =>
    device.createBuffer({
      label: `${label}.${name}`,
      size: Math.max(4, elements * 4),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC,
    });
  const buffers = new Map([
    ['out', make('out', 1)],
    ['grad.X', make('grad.X', c.N * c.H)],
    ['grad.W', make('grad.W', c.V * c.H)],
  ]);
  const get = (name: string): GPUBuffer => {
    const b = buffers.get(name);
    if (!b) throw new Error(`no result buffer ${name}`);
    return b;
  };
  return {
    buffers,
    get,
    targets: Object.fromEntries([...buffers].map(([k, buffer]) => [k, { buffer }])),
    bytes: [...buffers.values()].reduce((a, b) => a + b.size, 0),
    destroy: () => {
      for (const b of buffers.values()) b.destroy();
    },
  };
}

/** max|a−b| / max|b| of two f32 device buffers, read back a slice at a time. */
async function deviceRelativeError(pool: BufferPool, a: GPUBuffer, b: GPUBuffer): Promise<number> {
  let diff = 0;
  let scale = 0;
  for (let at = 0; at < b.size; at += READBACK_SLICE_BYTES) {
    const n = Math.min(READBACK_SLICE_BYTES, b.size - at);
    const x = new Float32Array(await pool.readback(a, n, at));
    const y = new Float32Array(await pool.readback(b, n, at));
    for (let i = 0; i < y.length; i++) {
      const p = x[i] ?? NaN;
      const q = y[i] ?? NaN;
      if (!Number.isFinite(p) || !Number.isFinite(q)) {
        if (p === q && !Number.isNaN(p)) continue;
        return Infinity;
      }
      diff = Math.max(diff, Math.abs(p - q));
      scale = Math.max(scale, Math.abs(q));
    }
  }
  return scale > 0 ? diff / scale : diff;
}

/** A result buffer as a float64 host tensor (small shapes only: the host references). */
async function hostResult(
  pool: BufferPool,
  b: GPUBuffer,
  dims: readonly string[],
  shape: readonly number[],
): Promise<Tensor> {
  const n = shape.reduce((a, x) => a * x, 1);
  const f = new Float32Array(await pool.readback(b, Math.max(4, n * 4)), 0, n);
  return { dtype: 'f32', dims, shape, data: Float64Array.from(f) };
}

export async function benchCrossEntropy(
  rt: Runtime,
  kernel: IrFunction,
  c: CeCase,
  opts: CeOptions,
): Promise<CeResult> {
  const dev = rt.device;
  const { device } = dev;
  const program = rt.program(kernel, ['X', 'W']);
  const sizes: DimSizes = new Map([
    ['N', c.N],
    ['H', c.H],
    ['V', c.V],
  ]);
  const problem = baselineProblem(sizes, dev.limits);
  if (problem !== undefined) opts.log(`  baseline does not fit: ${problem}`);
  // Float64 host copies only where a host reference (the interpreter, the baseline) runs.
  const copies = problem === undefined || opts.interpreter || opts.runtimeRun;
  const t0 = performance.now();
  const inputs = deviceCeInputs(device, kernel, c, opts.seed, copies);
  opts.log(
    `  inputs generated into device buffers in ${((performance.now() - t0) / 1000).toFixed(1)} s${copies ? ' (and float64 host copies for the references)' : ''}`,
  );
  const flops = matmulFlops(program.fn, sizes);
  const predictedBytes = materializedBytes(program, sizes);
  const agreement: Record<string, Record<string, number>> = {};
  const exec = opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {};
  const chunk = chooseChunkRows(memoryModel(program, sizes), dev.limits, exec);
  // The session binds X and W as they are (zero copy) and the targets once; every call
  // writes its results into buffers of the bench's own, which stay on the device.
  const session = await rt.session(kernel, { grad: ['X', 'W'], ...exec });
  const pool = new BufferPool(device, dev.limits);
  const warmOut = resultBuffers(device, c, 'warm');
  const out = resultBuffers(device, c, 'round');
  let eager: Awaited<ReturnType<typeof prepareEager>> | undefined;
  try {
    session.bind({ X: inputs.X, W: inputs.W, target: { data: inputs.target, shape: [c.N] } });
    await device.queue.onSubmittedWorkDone();
    const fixedBytes = inputs.deviceBytes + c.N * 4 + out.bytes;
    /** One call: recorded and submitted by the session, timed until the device is idle. */
    const call = async (o: typeof out) => {
      const s = performance.now();
      const k = session.encode({}, { outputs: o.targets });
      await device.queue.onSubmittedWorkDone();
      const ms = performance.now() - s;
      const loss = new Float32Array(await pool.readback(o.get('out'), 4))[0];
      return { ms, callMs: performance.now() - s, peak: fixedBytes + k.stats.peakBytes, loss };
    };
    // A warm-up call of each side (pipelines compile), then timed rounds, interleaved and
    // alternating which side runs first, on the same inputs.
    const warm = await call(warmOut);
    opts.log(
      `  projc warm-up: ${warm.ms.toFixed(1)} ms, ${chunk.chunks} chunks of ${chunk.chunkRows} rows`,
    );
    if (problem === undefined && inputs.host)
      eager = await prepareEager(dev, program.fn, inputs.host, sizes);
    let warmBaseline = 0;
    if (eager) {
      const s = performance.now();
      await eager.run();
      warmBaseline = performance.now() - s;
    }
    const perRound = Math.max(warm.callMs + warmBaseline, 1);
    const rounds = Math.max(1, Math.min(opts.repeats, Math.floor(opts.budgetMs / perRound)));
    const times: number[] = [];
    const calls: number[] = [];
    const bt: number[] = [];
    let peak = warm.peak;
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
      last = await call(out);
      times.push(last.ms);
      calls.push(last.callMs);
      peak = Math.max(peak, last.peak);
      if (r % 2 === 0) await runBaseline();
      opts.log(
        `  round ${r + 1}/${rounds}: projc ${last.ms.toFixed(1)} ms${eager ? `, baseline ${(bt[bt.length - 1] ?? NaN).toFixed(1)} ms` : ''}`,
      );
    }
    const loss = last.loss ?? NaN;
    // Run to run, on the device: the warm-up's results against the last round's.
    const runToRun: Record<string, number> = {};
    for (const [name, b] of out.buffers)
      runToRun[name] = await deviceRelativeError(pool, warmOut.get(name), b);
    agreement['projc warm-up'] = runToRun;
    if (inputs.host) {
      const got = new Map<string, Tensor>([
        ['out', await hostResult(pool, out.get('out'), [], [])],
        ['grad.X', await hostResult(pool, out.get('grad.X'), ['N', 'H'], [c.N, c.H])],
        ['grad.W', await hostResult(pool, out.get('grad.W'), ['V', 'H'], [c.V, c.H])],
      ]);
      const compare = (against: string, ref: ReadonlyMap<string, Tensor>) => {
        const errs: Record<string, number> = {};
        for (const [name, t] of ref) {
          const g = got.get(name);
          errs[name] = g ? relativeError(g, t) : Infinity;
        }
        agreement[against] = errs;
      };
      if (opts.runtimeRun) {
        // The same call through the public entry point, `Runtime.run` (host inputs by name).
        const r = await rt.run(kernel, Object.fromEntries(inputs.host), {
          grad: ['X', 'W'],
          ...exec,
        });
        compare(
          'Runtime.run',
          new Map([...r.outputs, ...[...r.grads].map(([k, v]) => [`grad.${k}`, v] as const)]),
        );
      }
      if (opts.interpreter) compare('interpreter', interpret(program.fn, inputs.host, sizes));
      if (eager) compare('baseline', await eager.results());
    }
    const time = spread(times);
    const projc = {
      timesMs: times,
      time,
      callMs: spread(calls),
      gflops: flops / (time.median * 1e6),
      peakBytes: peak,
      chunkRows: chunk.chunkRows,
      chunks: chunk.chunks,
      chunkReason: chunk.reason,
      predictedPeakBytes: chunk.predictedPeakBytes,
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
    session.release();
    pool.destroyAll();
    warmOut.destroy();
    out.destroy();
    inputs.release();
  }
}
