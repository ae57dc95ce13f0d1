import { compileFile } from '../frontend/compile.ts';
import { bindDims } from '../interp/bind.ts';
import { PLAN_LIMITS } from '../plan/device-limits.ts';
import { printPlan } from '../plan/print-plan.ts';
import { checkDeviceFit } from '../runtime/device-fit.ts';
import { materializedBytes } from '../runtime/memory.ts';
import { chooseShape } from '../runtime/shape-choice.ts';
import { programMaker } from '../run/program-maker.ts';
import { shapeText } from '../plan/print-plan.ts';
import { parseBytes, parseChunkRows, parseVocabTile } from './bytes.ts';
import { printDiagnostics, readSource, type Io } from './io.ts';
import { gradList, parseDims, planningCotangents, type CliValues } from './options.ts';
import { formatBytes } from './run-report.ts';
import { selectKernel } from './select-kernel.ts';
import { UsageError } from './usage.ts';

/**
 * `projc plan FILE --dims ... [--grad X,W] [--memory-budget B] [--chunk-rows K]
 * [--vocab-tile auto|rows|T] [--json]`.
 */
export function planCommand(files: readonly string[], v: CliValues, io: Io): number {
  if (files.length !== 1) throw new UsageError('plan needs exactly one FILE');
  if (v.dims === undefined)
    throw new UsageError('plan needs --dims, e.g. --dims N=16384,H=4096,V=128256');
  const path = files[0] ?? '';
  const c = compileFile(readSource(path));
  if (printDiagnostics(io, c.diagnostics)) return 1;
  const fn = selectKernel(c, path, v.kernel);
  const grad = gradList(v.grad);
  const given = parseDims(v.dims);
  const missing = fn.dims.filter((d) => !given.has(d));
  if (missing.length)
    throw new UsageError(
      `--dims must size every dim of \`${fn.name}\`; missing ${missing.join(', ')}`,
    );
  const shapes = new Map(
    fn.params
      .filter((p) => p.dims.length)
      .map((p) => [p.name, p.dims.map((d) => given.get(d) ?? 0)]),
  );
  const sizes = bindDims(fn, shapes, given);
  const cotangents = planningCotangents(fn, v.cotangent);
  const chunkRows = parseChunkRows(v['chunk-rows']);
  const budget =
    v['memory-budget'] === undefined
      ? undefined
      : parseBytes('--memory-budget', v['memory-budget']);
  const vocabTile = parseVocabTile(v['vocab-tile']);
  const shape = chooseShape(programMaker(fn, grad, cotangents), sizes, PLAN_LIMITS, {
    ...(chunkRows !== undefined ? { chunkRows } : {}),
    ...(budget !== undefined ? { memoryBudget: budget } : {}),
    ...(vocabTile !== undefined ? { vocabTile } : {}),
  });
  const { program, model, chunk: choice } = shape;
  const planned = program;
  checkDeviceFit(program, sizes, PLAN_LIMITS, choice.chunkRows);
  const baseline = materializedBytes(program, sizes);
  const summary = {
    kernel: fn.name,
    dims: Object.fromEntries(sizes),
    rows: planned.plan.rows,
    sweeps: planned.plan.sweeps.map((s) => ({
      index: s.index,
      projections: s.projections,
      stages: s.stages.length,
    })),
    shape: shape.shape.kind,
    ...(shape.shape.kind === 'tiles'
      ? { tileDim: shape.shape.dim, tileWidth: shape.shape.width }
      : {}),
    shapeReason: shape.reason,
    chunkRows: choice.chunkRows,
    chunks: choice.chunks,
    chunkReason: choice.reason,
    fixedBytes: model.fixedBytes,
    perRowBytes: model.perRowBytes,
    predictedPeakBytes: choice.predictedPeakBytes,
    materializedBytes: baseline,
    ratio: choice.predictedPeakBytes / baseline,
  };
  if (v.json) {
    io.out(JSON.stringify(summary) + '\n');
    return 0;
  }
  io.out(printPlan(planned.fn, planned.plan));
  io.out(
    [
      `memory with ${[...sizes].map(([d, n]) => `${d}=${n}`).join(' ')}:`,
      `  fixed (inputs, results, accumulators): ${formatBytes(model.fixedBytes)}`,
      `  shape: ${shapeText(shape.shape)} (${shape.reason})`,
      `  per chunk row: ${formatBytes(model.perRowBytes)}`,
      `  chunk: ${choice.chunkRows} rows (${choice.reason}), ${choice.chunks} chunk${choice.chunks === 1 ? '' : 's'} per sweep`,
      `  predicted peak: ${formatBytes(choice.predictedPeakBytes)}`,
      `  materialized logits (eager baseline): ${formatBytes(baseline)}`,
      `  projc / baseline: ${(100 * summary.ratio).toFixed(2)}%`,
      '',
    ].join('\n'),
  );
  return 0;
}
