// Made-up measurements for the tests of the report writer.
import { computeChecks } from '../../src/bench/bench-checks.ts';
import { spread } from '../../src/bench/bench-stats.ts';
import type { BenchReport, ConfigResult, ShapeResult } from '../../src/bench/bench-types.ts';

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
