// The measurements of `projc bench` on a device: for each shape, the materialized baseline
// and projc at several chunk sizes, run interleaved on the same seeded inputs, every projc
// run checked against the baseline run of the same round.
import type { Program } from '../../codegen/program.ts';
import { isInline } from '../../codegen/eager-kernel.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import type { IrFunction, Node } from '../ir/types.ts';
import { randomInputs } from '../run/random-inputs.ts';
import type { AcquiredDevice } from '../runtime/device.ts';
import { execute, type ExecuteOptions } from '../runtime/execute.ts';
import { chooseChunkRows, materializedBytes, memoryModel } from '../runtime/memory.ts';
import { stepLabel } from '../runtime/schedule.ts';
import { shapeText, type ChunkRequest } from './bench-args.ts';
import { relativeError, spread } from './bench-stats.ts';
import type { ConfigResult, ProgramShape, ShapeResult } from './bench-types.ts';
import { prepareEager, type EagerRun } from './eager.ts';
import { BufferLimitError } from '../runtime/buffers.ts';
import { prepareTfjs, type PreparedPeer } from './tfjs-peer.ts';

/** A result that differs from the baseline's by more than the tolerance: the bench fails. */
export class BenchCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchCheckError';
  }
}

/** What the measurement reports while it runs (a bar on a terminal, lines otherwise). */
export interface BenchProgress {
  /** Shape `index` of `count` begins. */
  shape(index: number, count: number, text: string): void;
  /** One run is done: `units` of work (rows × inner dim), what it was, its time. */
  run(units: number, what: string, ms: number): void;
}

export interface MeasureRequest {
  readonly dev: AcquiredDevice;
  /** The joint program (forward and backward) both sides run. */
  readonly program: Program;
  readonly shapes: readonly DimSizes[];
  /** Fixed chunk sizes to run besides the automatic choice. */
  readonly chunks: readonly ChunkRequest[];
  readonly repeats: number;
  readonly seed: number;
  readonly memoryBudget?: number | undefined;
  /** Largest accepted max|a−b|/max|b| between projc and the baseline. */
  readonly tolerance: number;
  /** The forward kernel, for the random inputs (its parameters). */
  readonly kernel: IrFunction;
  /** Run TF.js as a peer too (its gradients of `grad`); the caller checked it can. */
  readonly tfjs?: boolean;
  readonly grad?: readonly string[];
  readonly progress?: BenchProgress;
  /**
   * The same kernel planned rows × vocabulary tiles, one program per tile width: each chunk
   * size also runs on each, at the same chunk rows, and reports its time ÷ the rows-only
   * run's of the same round.
   */
  readonly tiled?: readonly Program[];
}

/** Rows × inner dim of a shape: the unit of work for progress estimates. */
export function workUnits(p: Pick<Program, 'fn' | 'plan'>, sizes: DimSizes): number {
  return Math.max(1, logitsOf(p.fn, sizes), rowsOf(p, sizes));
}

/** How many runs a request makes: (warm-up + repeats) × (baseline + distinct chunk sizes). */
export function plannedRuns(req: MeasureRequest, sizes: DimSizes): number {
  // + the profiled run of the automatic choice.
  return (req.repeats + 1) * (1 + resolveChunks(req, sizes).length + (req.tfjs ? 1 : 0)) + 1;
}

export async function measureShapes(req: MeasureRequest): Promise<ShapeResult[]> {
  const out: ShapeResult[] = [];
  for (const [i, sizes] of req.shapes.entries()) {
    req.progress?.shape(i, req.shapes.length, shapeText(sizes));
    out.push(await measureShape(req, sizes));
  }
  return out;
}

interface Config {
  readonly requests: string[];
  readonly options: ExecuteOptions;
  readonly chunkRows: number;
  /** A tiled twin: the tiled program it runs, its tile width, and its rows-only config's index. */
  readonly twin?: { readonly program: Program; readonly width: number; readonly of: number };
}

/** The distinct chunk sizes of a shape: requests that resolve to the same rows run once. */
function resolveChunks(req: MeasureRequest, sizes: DimSizes): Config[] {
  const total = rowsOf(req.program, sizes);
  const auto = chooseChunkRows(memoryModel(req.program, sizes), req.dev.limits, {
    ...(req.memoryBudget !== undefined ? { memoryBudget: req.memoryBudget } : {}),
  });
  const configs: Config[] = [];
  const add = (request: string, rows: number, options: ExecuteOptions) => {
    const same = configs.find((c) => c.chunkRows === rows);
    if (same) same.requests.push(request);
    else configs.push({ requests: [request], options, chunkRows: rows });
  };
  // `auto` first, so a fixed size equal to it runs exactly as the runtime's own choice.
  add(
    'auto',
    auto.chunkRows,
    req.memoryBudget !== undefined ? { memoryBudget: req.memoryBudget } : {},
  );
  for (const c of req.chunks) {
    if (c === 'auto') continue;
    const rows = c === 'all' ? total : Math.min(c, total);
    add(String(c), rows, { chunkRows: rows });
  }
  configs.sort((a, b) => a.chunkRows - b.chunkRows);
  // Each tile width's shape at every chunk size, its chunk rows given (the same rows as
  // rows-only). Only where the tiles cut the dim: a tile holding all of it is rows-only work
  // in a buffer as wide as the tile.
  const twins = (req.tiled ?? []).flatMap((program) => {
    const shape = program.plan.shape;
    if (shape.kind !== 'tiles' || (sizes.get(shape.dim) ?? 0) <= shape.width) return [];
    return configs.map((c, k): Config => ({
      requests: c.requests.map((r) => `${r} tiles`),
      options: { chunkRows: c.chunkRows },
      chunkRows: c.chunkRows,
      twin: { program, width: shape.width, of: k },
    }));
  });
  return [...configs, ...twins];
}

async function measureShape(req: MeasureRequest, sizes: DimSizes): Promise<ShapeResult> {
  const { dev, program } = req;
  const inputs = randomInputs(req.kernel, sizes, req.seed);
  const configs = resolveChunks(req, sizes);
  const units = workUnits(program, sizes);
  const baseline = { times: [] as number[], peak: 0, failure: undefined as string | undefined };
  // Where the materialized baseline passes a device limit (its whole logits in one binding)
  // it cannot run: that is recorded, and projc's own-choice run is the reference there.
  let eager: EagerRun | undefined;
  const failBaseline = (e: unknown) => {
    if (!(e instanceof BufferLimitError)) throw e;
    baseline.failure ??= e.message;
    eager?.release();
    eager = undefined;
  };
  try {
    eager = await prepareEager(dev, program.fn, inputs, sizes, { tiles: program.matmul.tiles });
  } catch (e) {
    failBaseline(e);
  }
  const projc = configs.map(() => ({
    times: [] as number[],
    peak: 0,
    errors: {} as Record<string, number>,
    chunk: undefined as
      undefined | { chunkRows: number; chunks: number; reason: string; predicted: number },
  }));
  // The TF.js peer: a failure (an error, or results that disagree) is recorded, not thrown:
  // where a peer stops working is part of what the bench reports.
  const peer = {
    times: [] as number[],
    peak: 0,
    errors: {} as Record<string, number>,
    failure: undefined as string | undefined,
  };
  let tf: PreparedPeer | undefined;
  const failPeer = (e: unknown) => {
    peer.failure ??= e instanceof Error ? e.message : String(e);
    tf?.release();
    tf = undefined;
  };
  if (req.tfjs) {
    try {
      tf = await prepareTfjs(req.kernel, inputs, sizes, req.grad ?? []);
    } catch (e) {
      failPeer(e);
    }
  }
  try {
    // Round 0 warms up (the first dispatch of a pipeline compiles it on llvmpipe); it is
    // checked but not timed. Odd rounds run in reverse order, so that neither side always
    // runs first after the other's buffers were freed.
    for (let round = 0; round <= req.repeats; round++) {
      const order = [-1, ...configs.keys(), ...(tf ? [-2] : [])];
      if (round % 2 === 1) order.reverse();
      let reference: Map<string, Tensor> | undefined;
      const pending: { k: number; values: Map<string, Tensor> }[] = [];
      let peerValues: Map<string, Tensor> | undefined;
      for (const k of order) {
        if (k === -2) {
          if (!tf) continue;
          try {
            const t0 = performance.now();
            await tf.run();
            const ms = performance.now() - t0;
            peerValues = await tf.results();
            if (round > 0) peer.times.push(ms);
            else peer.peak = await tf.measurePeak();
            req.progress?.run(units, 'TF.js', ms);
          } catch (e) {
            failPeer(e);
          }
          continue;
        }
        if (k < 0) {
          if (!eager) continue;
          const t0 = performance.now();
          try {
            await eager.run();
          } catch (e) {
            failBaseline(e);
            continue;
          }
          const ms = performance.now() - t0;
          reference = await eager.results();
          baseline.peak = Math.max(baseline.peak, eager.peakBytes());
          if (round > 0) baseline.times.push(ms);
          req.progress?.run(units, 'baseline', ms);
          continue;
        }
        const c = configs[k];
        const slot = projc[k];
        if (!c || !slot) continue;
        const run = c.twin?.program ?? program;
        const r = await execute(dev, run, inputs, sizes, c.options);
        slot.peak = Math.max(slot.peak, r.peakBytes);
        slot.chunk = {
          chunkRows: r.chunk.chunkRows,
          chunks: r.chunk.chunks,
          reason: r.chunk.reason,
          predicted: r.chunk.predictedPeakBytes,
        };
        if (round > 0) slot.times.push(r.computeMs);
        pending.push({ k, values: r.values });
        req.progress?.run(units, `projc ${r.chunk.chunkRows} rows`, r.computeMs);
      }
      // Without the baseline, TF.js is checked against projc's own chunk choice.
      const autoIndex = configs.findIndex((c) => c.requests.includes('auto'));
      const against = reference ?? pending.find((p) => p.k === autoIndex)?.values;
      const refName = reference ? 'the baseline' : 'projc';
      if (peerValues && against) {
        for (const [name, ref] of against) {
          const got = peerValues.get(name);
          const err = got ? relativeError(got, ref) : Infinity;
          peer.errors[name] = Math.max(peer.errors[name] ?? 0, err);
          if (!(err <= req.tolerance))
            peer.failure ??= `disagrees with ${refName} on \`${name}\`: max|a−b|/max|b| = ${err.toExponential(3)} > ${req.tolerance}${name === 'out' ? ` (TF.js loss ${got?.data[0]}, ${refName} ${ref.data[0]})` : ''}`;
        }
      }
      for (const { k, values } of pending) {
        const slot = projc[k];
        if (!slot || !reference) continue;
        for (const [name, ref] of reference) {
          const got = values.get(name);
          const err = got ? relativeError(got, ref) : Infinity;
          slot.errors[name] = Math.max(slot.errors[name] ?? 0, err);
          if (!(err <= req.tolerance))
            throw new BenchCheckError(
              `at ${shapeText(sizes)}, projc with chunks of ${configs[k]?.chunkRows} rows disagrees with the baseline in run ${round} on \`${name}\`: max|a−b|/max|b| = ${err.toExponential(3)} > ${req.tolerance}`,
            );
        }
      }
    }
  } finally {
    eager?.release();
    tf?.release();
  }
  // One more, untimed run of the runtime's own choice with each step timed alone: where
  // projc's time goes (its total is a little over a plain run's: the device idles between steps).
  const autoK = configs.findIndex((c) => c.requests.includes('auto'));
  const autoOptions = configs[autoK]?.options;
  const profile = autoOptions
    ? (await execute(dev, program, inputs, sizes, { ...autoOptions, profile: true })).profile
    : undefined;
  if (profile) req.progress?.run(units, 'projc profile', profile.totalMs);
  const flops = matmulFlops(program.fn, sizes);
  const gflops = (ms: number) => (ms > 0 ? flops / (ms * 1e6) : 0);
  const total = rowsOf(program, sizes);
  const shape = programShape(program);
  const steps = (chunks: number) =>
    shape.globalKernels +
    shape.sweeps.reduce((s, sw) => s + (sw.pre ? 1 : chunks) * sw.stepsPerChunk, 0);
  const results: ConfigResult[] = [
    {
      label: 'baseline',
      kind: 'baseline',
      requests: [],
      ...(baseline.failure !== undefined ? { failure: baseline.failure } : {}),
      peakBytes: baseline.peak,
      timesMs: baseline.times,
      time: spread(baseline.times),
      effectiveGflops: gflops(spread(baseline.times).median),
      steps: shape.baselineKernels,
      maxRelError: {},
    },
    ...configs.map((c, k): ConfigResult => {
      const slot = projc[k] ?? { times: [], peak: 0, errors: {}, chunk: undefined };
      const time = spread(slot.times);
      const chunks = slot.chunk?.chunks ?? Math.ceil(total / c.chunkRows);
      const tile = c.twin?.width;
      const rowsOnly = c.twin ? projc[c.twin.of] : undefined;
      return {
        label: `projc ${slot.chunk?.chunkRows ?? c.chunkRows}${tile ? ` tiles ${tile}` : ''}`,
        ...(tile !== undefined ? { vocabTile: tile } : {}),
        ...(rowsOnly
          ? {
              rowsOnlyRatio: spread(
                slot.times.map((t, i) => t / (rowsOnly.times[i] ?? NaN)).filter(Number.isFinite),
              ),
            }
          : {}),
        kind: 'projc',
        requests: c.requests,
        chunkRows: slot.chunk?.chunkRows ?? c.chunkRows,
        chunks,
        ...(slot.chunk ? { chunkReason: slot.chunk.reason } : {}),
        ...(slot.chunk ? { predictedPeakBytes: slot.chunk.predicted } : {}),
        peakBytes: slot.peak,
        timesMs: slot.times,
        time,
        effectiveGflops: gflops(time.median),
        steps: steps(chunks),
        maxRelError: slot.errors,
        timeRatio: spread(
          slot.times.map((t, i) => t / (baseline.times[i] ?? NaN)).filter(Number.isFinite),
        ),
        ...(k === autoK && profile ? { profile } : {}),
      };
    }),
  ];
  if (req.tfjs) {
    const time = spread(peer.times);
    results.push({
      label: 'tfjs',
      kind: 'tfjs',
      requests: [],
      ...(peer.failure !== undefined ? { failure: peer.failure } : {}),
      peakBytes: peer.peak,
      timesMs: peer.times,
      time,
      effectiveGflops: gflops(time.median),
      steps: 0,
      maxRelError: peer.errors,
      timeRatio: spread(
        peer.times.map((t, i) => t / (baseline.times[i] ?? NaN)).filter(Number.isFinite),
      ),
    });
  }
  return {
    dims: Object.fromEntries(sizes),
    rows: total,
    logits: logitsOf(program.fn, sizes),
    matmulFlops: flops,
    products: program.fn.nodes.filter((n) => n.op === 'dot').length,
    paperBaselineBytes: materializedBytes(program, sizes),
    configs: results,
  };
}

/** The schedule's shape: projections and steps per chunk of each sweep, kernels around them. */
export function programShape(p: Program): ProgramShape {
  return {
    sweeps: p.sweeps.map((sw) => ({
      index: sw.index,
      projections: p.plan.sweeps[sw.index]?.projections ?? 0,
      stepsPerChunk: sw.chunk.length,
      productsPerChunk: sw.chunk.filter((s) => s.kind === 'matmul').length,
      pre: p.plan.sweeps[sw.index]?.pre ?? false,
    })),
    globalKernels:
      p.before.length + p.epilogue.length + p.sweeps.reduce((s, sw) => s + sw.after.length, 0),
    baselineKernels: p.fn.nodes.filter((n) => !isInline(n) && n.op !== 'param').length,
  };
}

function size(dims: readonly string[], sizes: DimSizes): number {
  return dims.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
}

function rowsOf(p: Pick<Program, 'plan'>, sizes: DimSizes): number {
  return size(p.plan.rows, sizes);
}

/** 2·(output elements)·(contracted elements) summed over the products of the program. */
export function matmulFlops(fn: IrFunction, sizes: DimSizes): number {
  let flops = 0;
  for (const n of fn.nodes) {
    if (n.op !== 'dot') continue;
    const operands = n.inputs.map((i) => fn.nodes[i]).filter((x): x is Node => x !== undefined);
    const contracted = [...new Set(operands.flatMap((x) => x.dims))].filter(
      (d) => !n.dims.includes(d),
    );
    flops += 2 * size(n.dims, sizes) * size(contracted, sizes);
  }
  return flops;
}

/** Elements of the largest product output: the logits. */
function logitsOf(fn: IrFunction, sizes: DimSizes): number {
  let most = 0;
  for (const n of fn.nodes) if (n.op === 'dot') most = Math.max(most, size(n.dims, sizes));
  return most;
}

/**
 * The steps of the rows-only program's profile that a tiled program computes in each of its
 * passes over the tiles: the products it projects tile by tile (`forward` in its tile loops;
 * z = X·Wᵀ for cross-entropy), whose output dims hold the tiled dim, with the number of tile
 * loops that project each (2 for cross-entropy with gradients: the statistics, then the
 * backward). Every pass after the first skips the tile the previous one left resident, so P
 * passes over t tiles compute such a product 1 + (P − 1)·(t − 1)/t times as much as rows-only.
 */
export function recomputedSteps(
  program: Program,
  tiled: Program,
): { step: string; passes: number }[] {
  const shape = tiled.plan.shape;
  if (shape.kind !== 'tiles') return [];
  const passes = new Map<number, number>();
  for (const sw of tiled.sweeps)
    for (const s of sw.chunk)
      if (s.kind === 'tiles')
        for (const node of new Set(
          s.steps.flatMap((x) => (x.kind === 'matmul' && x.forward ? [x.spec.node] : [])),
        ))
          passes.set(node, (passes.get(node) ?? 0) + 1);
  const out: { step: string; passes: number }[] = [];
  for (const sw of program.sweeps)
    for (const s of sw.chunk) {
      const n = s.kind === 'matmul' ? passes.get(s.spec.node) : undefined;
      if (s.kind === 'matmul' && n && program.fn.nodes[s.spec.node]?.dims.includes(shape.dim))
        out.push({ step: stepLabel(program.fn, sw.index, s), passes: n });
    }
  return out;
}
