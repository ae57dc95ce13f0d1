import type { Cotangent } from '../autodiff/differentiate.ts';
import type { DimSizes, Tensor } from '../tensor/tensor.ts';
import type { IrFunction } from '../ir/types.ts';
import { planSummary } from '../plan/print-plan.ts';
import type { RunResult } from '../run/run-cpu.ts';
import { acquireDevice } from '../runtime/device.ts';
import { execute } from '../runtime/execute.ts';
import { materializedBytes } from '../runtime/memory.ts';
import { chooseShape } from '../runtime/shape-choice.ts';
import { DEFAULT_CHUNK_MIN_ROWS } from '../runtime/memory.ts';
import { tuneShapeOf } from '../runtime/matmul-tune.ts';
import { matmulTilesFor, type MatmulTilesChoice } from './matmul-tiles.ts';
import { programMaker } from '../run/program-maker.ts';
import type { Io } from './io.ts';
import type { RunMeta } from './run-report.ts';

/** `projc run --backend webgpu`: plan, generate, and run chunk by chunk on the device. */
export async function runWebgpu(
  fn: IrFunction,
  inputs: ReadonlyMap<string, Tensor>,
  sizes: DimSizes,
  grad: readonly string[],
  cotangents: ReadonlyMap<string, Cotangent>,
  opts: {
    chunkRows?: number | undefined;
    memoryBudget?: number | undefined;
    vocabTile?: number | 'rows' | undefined;
    profile?: boolean | undefined;
    matmulTiles?: MatmulTilesChoice | undefined;
  },
  io: Io,
): Promise<{ result: RunResult; meta: RunMeta }> {
  const dev = await acquireDevice();
  try {
    // The plan's shape for these sizes and the device's limits (rows-only or vocabulary tiles).
    // Tuned (when asked) on a chunk of this call's own first projection.
    const tilesChoice = opts.matmulTiles ?? 'portable';
    const tiles = await matmulTilesFor(
      dev,
      tilesChoice,
      tilesChoice === 'tune'
        ? tuneShapeOf(programMaker(fn, grad, cotangents)(), sizes, DEFAULT_CHUNK_MIN_ROWS)
        : undefined,
    );
    const shape = chooseShape(programMaker(fn, grad, cotangents, tiles), sizes, dev.limits, {
      ...(opts.chunkRows !== undefined ? { chunkRows: opts.chunkRows } : {}),
      ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
      ...(opts.vocabTile !== undefined ? { vocabTile: opts.vocabTile } : {}),
    });
    const program = shape.program;
    const planned = program;
    const bar = progressBar(io);
    const r = await execute(dev, program, inputs, sizes, {
      ...(opts.chunkRows !== undefined ? { chunkRows: opts.chunkRows } : {}),
      ...shape.run,
      ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
      onProgress: bar,
      ...(opts.profile ? { profile: true } : {}),
    });
    bar(-1, 0);
    const outputs = new Map<string, Tensor>();
    const grads = new Map<string, Tensor>();
    for (const [k, t] of r.values)
      (k.startsWith('grad.') ? grads : outputs).set(k.replace(/^grad\./, ''), t);
    return {
      result: { outputs, grads, peakBytes: r.peakBytes, ms: r.ms },
      meta: {
        backend: `webgpu (${dev.adapterInfo})`,
        chunkRows: r.chunk.chunkRows,
        chunks: r.chunk.chunks,
        passes: r.sweeps,
        prePasses: r.prePasses,
        chunkReason: r.chunk.reason,
        predictedPeakBytes: r.chunk.predictedPeakBytes,
        materializedBytes: materializedBytes(program, sizes),
        plan: planSummary(planned.fn, planned.plan),
        ...(r.profile ? { profile: r.profile } : {}),
      },
    };
  } finally {
    dev.release();
  }
}

/** A one-line bar on a terminal's stderr; nothing when stderr is not a terminal. */
function progressBar(io: Io): (done: number, total: number) => void {
  const tty =
    io === undefined
      ? false
      : process.stderr.isTTY === true && io.err === undefined
        ? false
        : process.stderr.isTTY === true;
  let shown = false;
  return (done, total) => {
    if (!tty || total < 16) {
      if (done < 0 && shown) io.err('\n');
      return;
    }
    if (done < 0) {
      if (shown) io.err('\n');
      return;
    }
    const w = 30;
    const k = Math.round((done / total) * w);
    io.err(`\r[${'#'.repeat(k)}${'.'.repeat(w - k)}] ${done}/${total} chunks`);
    shown = true;
  };
}
