import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateProgram, type Program } from '../../codegen/program.ts';
import { matmulTilesFor, parseMatmulTiles } from './matmul-tiles.ts';
import {
  DEFAULT_CHUNK_ROWS,
  parseChunkList,
  parseRepeats,
  parseVocabTiles,
  shapeGrid,
  shapeText,
} from '../bench/bench-args.ts';
import { computeChecks, TOLERANCE } from '../bench/bench-checks.ts';
import { paperCase, timeCompiles } from '../bench/bench-compile.ts';
import { benchProgress } from '../bench/bench-progress.ts';
import {
  BenchCheckError,
  measureShapes,
  plannedRuns,
  programShape,
  recomputedSteps,
  workUnits,
  type MeasureRequest,
} from '../bench/bench-run.ts';
import type { BenchReport, FloorFailure, FloorResult, VocabTiling } from '../bench/bench-types.ts';
import { measureFloor } from '../bench/memory-floor.ts';
import { floorModelError, floorOver } from '../bench/report-floor.ts';
import {
  benchMarkdown,
  pct,
  ratio,
  summaryTable,
  tileCount,
  tiledRatioFromProfile,
  tiledTwinsOf,
} from '../bench/report-markdown.ts';
import { formatJson } from '../bench/report-json.ts';
import { benchPlots } from '../bench/report-plots.ts';
import { loadTfjs, tfjsUnsupported } from '../bench/tfjs-peer.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import type { DimSizes } from '../tensor/tensor.ts';
import { compileFile } from '../frontend/compile.ts';
import { isFloat } from '../ir/types.ts';
import { planKernel } from '../plan/build-plan.ts';
import { acquireDevice } from '../runtime/device.ts';
import { DEFAULT_CHUNK_MIN_ROWS } from '../runtime/memory.ts';
import { tuneShapeOf } from '../runtime/matmul-tune.ts';
import { parseBytes } from './bytes.ts';
import { formatBytes } from '../shell/format-bytes.ts';
import { printDiagnostics, processIo, readSource, type Io } from './io.ts';
import { gradList } from './options.ts';
import { selectKernel } from './select-kernel.ts';
import { UsageError } from './usage.ts';

/** The options `projc bench` reads (a subset of the CLI's parsed values). */
export interface BenchValues {
  readonly kernel?: string | undefined;
  readonly grad?: string | undefined;
  readonly dims?: string | undefined;
  readonly grid?: string | undefined;
  readonly repeats?: string | undefined;
  readonly seed?: string | undefined;
  readonly 'chunk-rows'?: string | undefined;
  readonly 'memory-budget'?: string | undefined;
  readonly 'vocab-tile'?: string | undefined;
  readonly out?: string | undefined;
  readonly json?: boolean | undefined;
  readonly peers?: string | undefined;
  readonly 'matmul-tiles'?: string | undefined;
  /** Skip the memory-floor run at the largest shape. */
  readonly 'no-floor'?: boolean | undefined;
}

export interface BenchCommandOptions {
  /** A progress bar on stderr; default: stderr is a terminal and `io` is the process's. */
  readonly tty?: boolean;
  /** Compile-time runs per example; default max(5, repeats). */
  readonly compileRuns?: number;
}

export const DEFAULT_OUT = 'docs/bench';

/**
 * `projc bench FILE [--kernel K] [--grad X,W] [--dims H=64] [--grid N=a|b,V=x|y]
 * [--repeats R] [--chunk-rows 64,256,all] [--memory-budget B] [--vocab-tile T1,T2]
 * [--seed S] [--json] [--out DIR]`: the materialized baseline against projc at several chunk sizes, written as
 * DIR/README.md, DIR/*.svg and DIR/results.json. Exit 1 when a check fails.
 */
export async function benchCommand(
  files: readonly string[],
  v: BenchValues,
  io: Io,
  opts: BenchCommandOptions = {},
): Promise<number> {
  const t0 = performance.now();
  if (files.length !== 1) throw new UsageError('bench needs exactly one FILE');
  const path = files[0] ?? '';
  const c = compileFile(readSource(path));
  if (printDiagnostics(io, c.diagnostics)) return 1;
  const fn = selectKernel(c, path, v.kernel);
  const grad = gradList(v.grad);
  for (const g of grad) {
    const p = fn.params.find((q) => q.name === g);
    if (!p || !isFloat(p.dtype) || p.dims.length === 0)
      throw new UserError({
        severity: 'error',
        code: 'P0301',
        message: `--grad ${g}: \`${fn.name}\` has no floating tensor parameter \`${g}\``,
        notes: [`parameters: ${fn.params.map((q) => q.name).join(', ')}`],
      });
  }
  const shapes = shapeGrid(fn, v.grid, v.dims);
  const chunks = parseChunkList(v['chunk-rows'] ?? DEFAULT_CHUNK_ROWS);
  const repeats = parseRepeats(v.repeats);
  // --vocab-tile T1,T2: each chunk size also runs rows × vocabulary tiles of each width, at
  // the same rows.
  const vocabTiles = v['vocab-tile'] === undefined ? [] : parseVocabTiles(v['vocab-tile']);
  const seed = v.seed === undefined ? 0 : Number(v.seed);
  if (!Number.isSafeInteger(seed))
    throw new UsageError(`--seed must be an integer, got \`${v.seed}\``);
  const memoryBudget =
    v['memory-budget'] === undefined
      ? undefined
      : parseBytes('--memory-budget', v['memory-budget']);
  const outDir = v.out ?? DEFAULT_OUT;
  const peers = parsePeers(v.peers);
  // TF.js runs where it is asked for; by default wherever it is installed and implements the kernel.
  const peersSkipped: string[] = [];
  let tfjs = false;
  if (peers.tfjs !== false) {
    const why = tfjsUnsupported(fn, grad) ?? errorOf(await loadTfjs());
    if (why === undefined) tfjs = true;
    else if (peers.tfjs === true) throw new UsageError(`--peers tfjs: ${why}`);
    else peersSkipped.push(`TF.js: ${why}`);
  }

  const planned = planKernel({ kernel: fn, grad });
  const largest = largestShape(planned, shapes);
  const tiledPlans = vocabTiles.map((vocabTile) =>
    planKernel({ kernel: fn, grad, schedule: { vocabTile } }),
  );
  const paper = paperCase();
  const compile = timeCompiles(opts.compileRuns ?? Math.max(5, repeats));

  const tilesChoice = parseMatmulTiles(v['matmul-tiles'], 'tune');
  const dev = await acquireDevice();
  // By default the matmul tiles this device runs fastest (src/runtime/matmul-tune.ts, what
  // Runtime.create({ matmulTiles: 'tune' }) does), for projc and the baseline alike.
  let program: Program;
  let tiled: Program[];
  try {
    // Tuned on a chunk of the grid's largest shape: the products the measurements run.
    const tuneShape = largest && tuneShapeOf(planned, largest, DEFAULT_CHUNK_MIN_ROWS);
    const tiles = await matmulTilesFor(dev, tilesChoice, tuneShape);
    program = generateProgram(planned.fn, planned.plan, tiles && { tiles });
    tiled = tiledPlans.map((t) => generateProgram(t.fn, t.plan, tiles && { tiles }));
  } catch (e) {
    dev.release();
    throw e;
  }
  let shapesMeasured;
  let floor: (FloorResult | FloorFailure)[] | undefined;
  try {
    const tty = opts.tty ?? (io === processIo && process.stderr.isTTY === true);
    const base: Omit<MeasureRequest, 'progress'> = {
      dev,
      program,
      kernel: fn,
      shapes,
      chunks,
      repeats,
      seed,
      memoryBudget,
      tolerance: TOLERANCE,
      tfjs,
      grad,
      ...(tiled.length ? { tiled } : {}),
    };
    const total = shapes.reduce(
      (s, sizes) => s + plannedRuns(base, sizes) * workUnits(program, sizes),
      0,
    );
    const progress = benchProgress(io, tty, total);
    try {
      shapesMeasured = await measureShapes({ ...base, progress });
    } finally {
      progress.finish();
    }
    // The memory floor at the largest shape (the most logits): src/bench/memory-floor.ts.
    if (largest && v['no-floor'] !== true) {
      io.err(`memory floor at ${shapeText(largest)}...\n`);
      floor = [
        await measureFloor({
          dev,
          kernel: fn,
          grad,
          program,
          tiles: program.matmul.tiles,
          sizes: largest,
          seed,
          tolerance: TOLERANCE,
        }),
      ];
    }
  } catch (e) {
    if (e instanceof BenchCheckError) {
      io.err(`error: bench check failed: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    dev.release();
  }

  const report: BenchReport = {
    version: 1,
    date: new Date()
      .toISOString()
      .replace(/:\d\d\.\d+Z$/, ' UTC')
      .replace('T', ' '),
    adapter: dev.adapterInfo,
    command: commandLine(files, v),
    file: path,
    kernel: fn.name,
    grad,
    rowDims: planned.plan.rows,
    repeats,
    seed,
    memoryBudget: memoryBudget ?? null,
    peers: ['eager', ...(tfjs ? ['tfjs'] : [])],
    peersSkipped,
    program: programShape(program),
    matmulTiles: program.matmul.tiles,
    ...(tilesChoice === 'portable' ? { matmulTilesPortable: true } : {}),
    ...(vocabTilingOf(program, tiled) ?? {}),
    shapes: shapesMeasured,
    compile,
    paper,
    ...(floor ? { floor } : {}),
    checks: computeChecks(shapesMeasured, TOLERANCE),
    wallMs: performance.now() - t0,
  };
  const plots = benchPlots(report);
  mkdirSync(outDir, { recursive: true });
  for (const p of plots) writeFileSync(join(outDir, p.file), p.svg);
  writeFileSync(join(outDir, 'results.json'), formatJson(report));
  writeFileSync(join(outDir, 'README.md'), benchMarkdown(report, plots));

  const ck = report.checks;
  if (v.json) io.out(JSON.stringify(report) + '\n');
  else
    io.out(
      [
        `${fn.name} on ${dev.adapterInfo}, ${repeats} runs per configuration, ${(report.wallMs / 1000).toFixed(0)} s`,
        summaryTable(report),
        `agreement: worst ${ck.worstRelError.toExponential(2)} (tolerance ${ck.tolerance})`,
        `peak: worst projc/baseline ${pct(ck.worstPeakRatio)} (limit ${pct(ck.peakLimit)}); at ${shapeText(ck.largestShape)} ${pct(ck.largestShapeRatio)} (${ck.largestShapeConfig}, aim < ${pct(ck.largestShapeAim)})`,
        ...tiledLines(report),
        ...(report.floor ?? []).map((f) =>
          f.failure !== undefined
            ? `memory floor at ${shapeText(f.dims)}: not planned (${f.failure})`
            : `memory floor at ${shapeText(f.dims)}: peak ${(100 * floorOver(f)).toFixed(2)}% over the inputs and results (${f.shape === 'tiles' ? `${f.chunkRows} rows × tiles of ${f.tileWidth}` : `${f.chunkRows} rows`}), model within ${pct(floorModelError(f))}`,
        ),
        `seed case on paper: ${pct(paper.ratio)} of materializing (${ratio(paper.materializedBytes / paper.predictedPeakBytes)} less)`,
        `wrote ${join(outDir, 'README.md')}, results.json and ${plots.length} plots`,
        '',
      ].join('\n'),
    );
  if (!ck.peakOk) {
    io.err(
      `error: bench check failed: projc's peak reached ${pct(ck.worstPeakRatio)} of the baseline's (limit ${pct(ck.peakLimit)})\n`,
    );
    return 1;
  }
  return 0;
}

/** The report's record of the tiled programs: their dim, widths, and the steps they recompute. */
function vocabTilingOf(
  program: Program,
  tiled: readonly Program[],
): { vocabTiling: VocabTiling } | undefined {
  const shapes = tiled.flatMap((t) => (t.plan.shape.kind === 'tiles' ? [t.plan.shape] : []));
  const first = tiled[0];
  if (!first || !shapes[0]) return undefined;
  return {
    vocabTiling: {
      dim: shapes[0].dim,
      widths: shapes.map((x) => x.width),
      recomputed: recomputedSteps(program, first),
    },
  };
}

/**
 * Per shape, chunk size and tile width: the tiled run's time ÷ the rows-only run's at the
 * same rows, and what the profile predicts (report-markdown.ts `tiledRatioFromProfile`).
 */
function tiledLines(report: BenchReport): string[] {
  return report.shapes.flatMap((sh) =>
    tiledTwinsOf(sh).flatMap((c) => {
      if (!c.rowsOnlyRatio || c.vocabTile === undefined) return [];
      const t = tileCount(report, sh, c.vocabTile);
      const predicted = tiledRatioFromProfile(report, sh, c);
      return [
        `vocabulary tiles of ${c.vocabTile}${t !== undefined ? ` (${t} tiles)` : ''} at ${shapeText(sh.dims)}, ${c.chunkRows} rows: ${c.rowsOnlyRatio.median.toFixed(3)}× the rows-only time (${c.rowsOnlyRatio.min.toFixed(3)}–${c.rowsOnlyRatio.max.toFixed(3)})${predicted !== undefined ? `, ${predicted.toFixed(3)}× from the profile` : ''}, peak ${formatBytes(c.peakBytes)}`,
      ];
    }),
  );
}

const errorOf = (r: object) => ('error' in r && typeof r.error === 'string' ? r.error : undefined);

/**
 * `--peers eager,tfjs`: what runs beside projc. `eager` (the materialized baseline) is the
 * reference every result is checked against and must be listed; tfjs is true when named,
 * false when a list without it is given, undefined (run when installed) by default.
 */
export function parsePeers(s: string | undefined): { tfjs: boolean | undefined } {
  if (s === undefined) return { tfjs: undefined };
  const names = s.split(',').map((x) => x.trim());
  for (const n of names)
    if (n !== 'eager' && n !== 'tfjs')
      throw new UsageError(
        `--peers takes \`eager\` and \`tfjs\` separated by commas, got \`${n}\``,
      );
  if (!names.includes('eager'))
    throw new UsageError(
      '--peers must include `eager`: the materialized baseline is the reference every run is checked against',
    );
  return { tfjs: names.includes('tfjs') };
}

/** The command as typed, options in a fixed order, quoted where a shell needs it. */
export function commandLine(files: readonly string[], v: BenchValues): string {
  const q = (s: string) => (/^[\w.,=/:@+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
  const parts = ['npx projc bench', ...files.map(q)];
  const flags: [string, string | boolean | undefined][] = [
    ['kernel', v.kernel],
    ['grad', v.grad],
    ['dims', v.dims],
    ['grid', v.grid],
    ['repeats', v.repeats],
    ['chunk-rows', v['chunk-rows']],
    ['memory-budget', v['memory-budget']],
    ['vocab-tile', v['vocab-tile']],
    ['peers', v.peers],
    ['matmul-tiles', v['matmul-tiles']],
    ['no-floor', v['no-floor']],
    ['seed', v.seed],
    ['json', v.json],
    ['out', v.out],
  ];
  for (const [name, value] of flags) {
    if (value === undefined || value === false) continue;
    parts.push(value === true ? `--${name}` : `--${name} ${q(value)}`);
  }
  return parts.join(' ');
}

/** The shape of the grid with the most logits (rows × inner dim); the first of equals. */
function largestShape(
  p: Pick<Program, 'fn' | 'plan'>,
  shapes: readonly DimSizes[],
): DimSizes | undefined {
  let best: DimSizes | undefined;
  for (const s of shapes) if (!best || workUnits(p, s) > workUnits(p, best)) best = s;
  return best;
}
