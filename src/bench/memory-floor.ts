// The memory floor: how close projc's measured peak comes to the bytes a call cannot do
// without (its inputs as stored and its results: for cross-entropy the bf16 X and W, the
// targets, the f32 gradients and the loss) when the budget allows only FLOOR_MARGIN more.
// The planner (src/runtime/shape-choice.ts) picks the shape (rows-only or vocabulary
// tiles), the tile width and the chunk rows for that budget, as `projc run
// --memory-budget` does; the run is checked against a rows-only run of the default chunk.
import type { MatmulTiles } from '../../codegen/matmul.ts';
import type { Program } from '../../codegen/program.ts';
import type { IrFunction } from '../ir/types.ts';
import { programMaker } from '../run/program-maker.ts';
import { randomInputs } from '../run/random-inputs.ts';
import type { AcquiredDevice } from '../runtime/device.ts';
import { execute } from '../runtime/execute.ts';
import { chooseShape } from '../runtime/shape-choice.ts';
import type { DimSizes } from '../tensor/tensor.ts';
import { shapeText } from './bench-args.ts';
import { BenchCheckError } from './bench-run.ts';
import { relativeError } from './bench-stats.ts';
import type { FloorFailure, FloorResult } from './bench-types.ts';
import { UserError } from '../diagnostics/diagnostic.ts';

/** The budget of the floor run: the inputs and results plus this fraction of them. */
export const FLOOR_MARGIN = 0.01;

/** Bytes of the inputs as stored on the device (bf16/f16 2, else 4) and the f32 results. */
export function inputsAndResultsBytes(fn: IrFunction, p: Program, sizes: DimSizes): number {
  const count = (dims: readonly string[]) => dims.reduce((s, d) => s * (sizes.get(d) ?? 0), 1);
  let bytes = 0;
  for (const q of fn.params) {
    if (q.dims.length === 0) continue; // a scalar rides in the uniform block
    const elem = q.dtype === 'bf16' || q.dtype === 'f16' ? 2 : 4;
    bytes += Math.ceil((count(q.dims) * elem) / 4) * 4;
  }
  for (const r of p.fn.results) bytes += Math.max(4, 4 * count(p.fn.nodes[r.node]?.dims ?? []));
  return bytes;
}

export interface FloorRequest {
  readonly dev: AcquiredDevice;
  /** The forward kernel (its parameters give the inputs). */
  readonly kernel: IrFunction;
  readonly grad: readonly string[];
  /** The bench's rows-only program: the reference run, and its matmul tiles. */
  readonly program: Program;
  readonly tiles?: MatmulTiles | undefined;
  readonly sizes: DimSizes;
  readonly seed: number;
  /** Largest accepted max|a−b|/max|b| against the reference (else BenchCheckError). */
  readonly tolerance: number;
}

/** One floor run at `sizes` under inputs + results + FLOOR_MARGIN, and its reference. */
export async function measureFloor(req: FloorRequest): Promise<FloorResult | FloorFailure> {
  const { dev, sizes } = req;
  const inputs = randomInputs(req.kernel, sizes, req.seed);
  const floorBytes = inputsAndResultsBytes(req.kernel, req.program, sizes);
  const budget = Math.floor(floorBytes * (1 + FLOOR_MARGIN));
  const make = programMaker(req.kernel, req.grad, new Map(), req.tiles);
  const dims = Object.fromEntries(sizes);
  let choice;
  let r;
  try {
    choice = chooseShape(make, sizes, dev.limits, { memoryBudget: budget });
    r = await execute(dev, choice.program, inputs, sizes, {
      memoryBudget: budget,
      ...(choice.run ?? {}),
    });
  } catch (e) {
    // A shape of a few KiB: the model's fixed slack for uniforms is over 1% of it.
    if (e instanceof UserError)
      return { dims, floorBytes, budget, failure: e.diagnostics[0]?.message ?? String(e) };
    throw e;
  }
  const reference = await execute(dev, req.program, inputs, sizes, {});
  const maxRelError: Record<string, number> = {};
  for (const [name, want] of reference.values) {
    const got = r.values.get(name);
    maxRelError[name] = got ? relativeError(got, want) : Infinity;
    if (!(maxRelError[name] <= req.tolerance))
      throw new BenchCheckError(
        `the memory-floor run at ${shapeText(sizes)} disagrees with the rows-only run on \`${name}\`: max|a−b|/max|b| = ${maxRelError[name].toExponential(3)} > ${req.tolerance}`,
      );
  }
  const shape = choice.program.plan.shape;
  return {
    dims,
    floorBytes,
    budget,
    shape: shape.kind === 'tiles' ? 'tiles' : 'rows',
    ...(shape.kind === 'tiles' ? { tileWidth: shape.width, tileDim: shape.dim } : {}),
    reason: choice.reason,
    chunkRows: r.chunk.chunkRows,
    chunks: r.chunk.chunks,
    predictedPeakBytes: r.chunk.predictedPeakBytes,
    peakBytes: r.peakBytes,
    computeMs: r.computeMs,
    referenceComputeMs: reference.computeMs,
    referencePeakBytes: reference.peakBytes,
    referenceChunkRows: reference.chunk.chunkRows,
    maxRelError,
  };
}
