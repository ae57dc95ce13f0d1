// The report's memory-floor check and section (src/bench/memory-floor.ts measures it).
import { formatBytes } from '../shell/format-bytes.ts';
import { shapeText } from './bench-args.ts';
import type { BenchReport, FloorFailure, FloorResult } from './bench-types.ts';
import { FLOOR_MARGIN } from './memory-floor.ts';
import { pct, ratio, table } from './report-table.ts';

/** A fraction as a percentage to two decimals: the floor is judged against 1%. */
const pct2 = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : '–');

/** How far above the inputs and results a floor run's measured peak went (0.004 = 0.4%). */
export const floorOver = (f: FloorResult) => f.peakBytes / f.floorBytes - 1;
/** How far the model's prediction is from the measured peak, as a fraction of it. */
export const floorModelError = (f: FloorResult) =>
  Math.abs(f.predictedPeakBytes - f.peakBytes) / f.peakBytes;
const worstError = (f: FloorResult) => Math.max(0, ...Object.values(f.maxRelError));

/** Whether the floor run stayed within FLOOR_MARGIN over its inputs and results. */
export function floorMet(f: FloorResult): boolean {
  return floorOver(f) <= FLOOR_MARGIN;
}

/** The line of the Checks list; none in a report without a floor run. */
export function floorCheckLine(r: BenchReport): string[] {
  const f = r.floor?.[0];
  if (!f) return [];
  if (f.failure !== undefined)
    return [
      `- **not met** At the largest shape (${shapeText(f.dims)}) a budget of its inputs and results plus ${pct(FLOOR_MARGIN)} (${formatBytes(f.budget)}) could not be planned: ${f.failure}.`,
    ];
  return [
    `- ${floorMet(f) ? '**met**' : '**not met**'} At the largest shape (${shapeText(f.dims)}), under a budget of its inputs and results plus ${pct(FLOOR_MARGIN)}, projc's measured peak is ${pct2(floorOver(f))} above them (${formatBytes(f.peakBytes)} against ${formatBytes(f.floorBytes)}); the model predicted it within ${pct(floorModelError(f))}.`,
  ];
}

function shapeOf(f: FloorResult): string {
  return f.shape === 'tiles' ? `${f.tileDim ?? 'V'} tiles of ${f.tileWidth}` : 'rows-only';
}

/** The section: the floor run beside the rows-only run it was checked against. */
export function floorSection(r: BenchReport): string[] {
  if (!r.floor?.length) return [];
  const rows = r.floor.map((f) => (f.failure !== undefined ? failedRow(f) : floorRow(f)));
  return [
    '## Memory floor',
    '',
    `The largest shape once more, with a memory budget of only the bytes the call cannot do without plus ${pct(FLOOR_MARGIN)}: its inputs as stored (bf16 X and W, the targets) and its f32 results (the gradients and the loss). The planner (\`chooseShape\`, what \`projc run --memory-budget\` does) picks the shape, the tile width and the chunk rows for that budget; the run reads its results back after freeing its other buffers, through slices that fit in what it freed, so the readback adds nothing. It is checked against a rows-only run of the default chunk size; its time is that of one run, not interleaved rounds.`,
    '',
    table(
      [
        'shape',
        'inputs + results',
        'budget',
        'planner',
        'chunks × rows',
        'measured peak',
        'over inputs + results',
        'model − measured',
        'rows-only default peak',
        'time / rows-only default',
        'max|a−b|/max|b|',
      ],
      rows,
    ),
    '',
  ];
}

function floorRow(f: FloorResult): string[] {
  return [
    shapeText(f.dims),
    formatBytes(f.floorBytes),
    formatBytes(f.budget),
    shapeOf(f),
    `${f.chunks} × ${f.chunkRows}`,
    formatBytes(f.peakBytes),
    pct2(floorOver(f)),
    pct(floorModelError(f)),
    `${formatBytes(f.referencePeakBytes)} (${f.referenceChunkRows} rows)`,
    ratio(f.computeMs / f.referenceComputeMs),
    worstError(f).toExponential(2),
  ];
}

function failedRow(f: FloorFailure): string[] {
  return [shapeText(f.dims), formatBytes(f.floorBytes), formatBytes(f.budget), f.failure];
}
