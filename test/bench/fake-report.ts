// Made-up measurements for the tests of the report writer.
import { computeChecks } from '../../src/bench/bench-checks.ts';
import { spread } from '../../src/bench/bench-stats.ts';
import type { BenchReport, ConfigResult, ShapeResult } from '../../src/bench/bench-types.ts';
import type { RunProfile } from '../../src/runtime/profile.ts';

export const MiB = 2 ** 20;

function config(
  kind: 'baseline' | 'projc',
  peakBytes: number,
  times: number[],
  chunk?: { rows: number; chunks: number; requests: string[] },
): ConfigResult {
  return {
    label: kind === 'baseline' ? 'baseline' : `projc ${chunk?.rows}`,
    kind,
    requests: chunk?.requests ?? [],
    ...(chunk ? { chunkRows: chunk.rows, chunks: chunk.chunks, chunkReason: 'given' } : {}),
    ...(chunk ? { predictedPeakBytes: peakBytes * 0.98 } : {}),
    peakBytes,
    timesMs: times,
    time: spread(times),
    effectiveGflops: 1.5,
    steps: kind === 'baseline' ? 38 : 1 + (chunk?.chunks ?? 1) * 7,
    maxRelError: kind === 'baseline' ? {} : { out: 1e-7, 'grad.X': 2e-7, 'grad.W': 3e-6 },
    // Per round against the baseline's [100, 110, 90].
    ...(kind === 'projc'
      ? { timeRatio: spread(times.map((t, i) => t / ([100, 110, 90][i] ?? NaN))) }
      : {}),
  };
}

export function shape(
  N: number,
  V: number,
  base: number,
  projc: [number, number, number][],
): ShapeResult {
  return {
    dims: { N, H: 64, V },
    rows: N,
    logits: N * V,
    matmulFlops: 3 * 2 * N * V * 64,
    products: 3,
    paperBaselineBytes: N * V * 10,
    configs: [
      config('baseline', base, [100, 110, 90]),
      ...projc.map(([rows, peak, ms]) =>
        config('projc', peak, [ms, ms * 1.1, ms * 0.9], {
          rows,
          chunks: Math.ceil(N / rows),
          requests: rows === N ? ['auto', 'all'] : [String(rows)],
        }),
      ),
    ],
  };
}

export function fakeReport(shapes: ShapeResult[]): BenchReport {
  return {
    version: 1,
    date: '2025-01-01 00:00 UTC',
    adapter: 'fake adapter',
    command: "npx projc bench examples/cross_entropy.proj --grad X,W --grid 'N=256|1024,V=512'",
    file: 'examples/cross_entropy.proj',
    kernel: 'cross_entropy',
    grad: ['X', 'W'],
    rowDims: ['N'],
    repeats: 3,
    seed: 0,
    memoryBudget: null,
    program: {
      sweeps: [
        { index: 0, projections: 0, stepsPerChunk: 2, productsPerChunk: 0 },
        { index: 1, projections: 2, stepsPerChunk: 5, productsPerChunk: 3 },
      ],
      globalKernels: 1,
      baselineKernels: 38,
    },
    shapes,
    compile: [
      {
        file: 'examples/cross_entropy.proj',
        kernels: ['cross_entropy'],
        ms: spread([3, 4, 5]),
        modules: 5,
        wgslBytes: 23860,
      },
    ],
    paper: {
      command: 'projc plan examples/cross_entropy.proj --dims N=16384,H=4096,V=128256 --grad X,W',
      dims: { N: 16384, H: 4096, V: 128256 },
      chunkRows: 523,
      chunks: 32,
      predictedPeakBytes: 3.6 * 2 ** 30,
      materializedBytes: 22.9 * 2 ** 30,
      ratio: 3.6 / 22.9,
    },
    checks: computeChecks(shapes),
    wallMs: 123456,
  };
}

export const fakeShapes = (): ShapeResult[] => [
  shape(256, 512, 4 * MiB, [
    [64, 1 * MiB, 120],
    [256, 1.5 * MiB, 80],
  ]),
  shape(1024, 512, 16 * MiB, [
    [64, 1 * MiB, 400],
    [1024, 5 * MiB, 200],
  ]),
];

/** The forward product's step in the profile of the fake program (what `recomputedSteps` names). */
export const FORWARD_STEP = 'sweep1 matmul %5 [N, V] = in.X · in.W';

/**
 * A profile of `totalMs` of which `zMs` in the forward product, for the run of its shape
 * at the chunk rows it is attached to.
 */
export function fakeProfile(totalMs: number, zMs: number): RunProfile {
  return {
    timer: 'wall (onSubmittedWorkDone)',
    steps: [
      {
        step: 'sweep1 matmul %50 [V, H] += chunk.%5 · in.X',
        phase: 'chunk',
        calls: 4,
        ms: totalMs - zMs - 10,
      },
      { step: FORWARD_STEP, phase: 'chunk', calls: 4, ms: zMs },
      { step: 'sweep1_row1', phase: 'chunk', calls: 4, ms: 10 },
    ],
    totalMs,
  };
}

/** The tiled twin of a rows-only config: tiles of `width`, its peak, its ratio's median. */
export function tiledTwin(
  rowsOnly: ConfigResult,
  width: number,
  peakBytes: number,
  median: number,
): ConfigResult {
  return {
    ...rowsOnly,
    label: `projc ${rowsOnly.chunkRows} tiles ${width}`,
    requests: rowsOnly.requests.map((r) => `${r} tiles`),
    vocabTile: width,
    peakBytes,
    predictedPeakBytes: peakBytes * 1.001,
    rowsOnlyRatio: { median, q1: median, q3: median, min: median - 0.1, max: median + 0.1, n: 3 },
  };
}

/**
 * One shape (N=1024, V=512) with rows-only runs at 256 rows (profiled: 100 ms, 40 of them in
 * z = X·Wᵀ) and 1024 rows, each with tiled twins of 128 and 256 (4 and 2 tiles).
 */
export function fakeTiledReport(): BenchReport {
  const s = shape(1024, 512, 100 * MiB, [
    [256, 40 * MiB, 60],
    [1024, 60 * MiB, 50],
  ]);
  const [base, r256, r1024] = s.configs;
  if (!base || !r256 || !r1024) throw new Error('no projc configs');
  const configs = [
    base,
    { ...r256, profile: fakeProfile(100, 40) },
    r1024,
    tiledTwin(r256, 128, 20 * MiB, 1.31),
    tiledTwin(r1024, 128, 30 * MiB, 1.25),
    tiledTwin(r256, 256, 25 * MiB, 1.18),
    tiledTwin(r1024, 256, 40 * MiB, 1.15),
  ];
  return {
    ...fakeReport([{ ...s, configs }]),
    vocabTiling: { dim: 'V', widths: [128, 256], recomputed: [{ step: FORWARD_STEP, passes: 2 }] },
  };
}
