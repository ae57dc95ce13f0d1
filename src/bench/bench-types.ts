// The measurements of `projc bench` as plain data: what results.json holds, and what the
// report and the plots are made from.
import type { MatmulTiles } from '../../codegen/matmul.ts';
import type { RunProfile } from '../runtime/profile.ts';
import type { Spread } from './bench-stats.ts';

/** One way of running a shape: the materialized baseline, projc at one chunk size, or a peer. */
export interface ConfigResult {
  /** `baseline`, `projc 64`, `projc 4096`... (the chunk rows actually used), or `tfjs`. */
  readonly label: string;
  /** `tfjs`: TF.js's own `valueAndGrads` on its webgpu backend (src/bench/tfjs-peer.ts). */
  readonly kind: 'baseline' | 'projc' | 'tfjs';
  /**
   * The baseline or a peer: why it failed at this shape (a device limit, an error, or results
   * that disagree with the reference); it has then no comparable times and no ratio is taken.
   */
  readonly failure?: string;
  /** projc: the chunk requests this run stands for (`auto`, `64`, `all`); two that resolve alike run once. */
  readonly requests: readonly string[];
  readonly chunkRows?: number;
  readonly chunks?: number;
  /** projc: why the runtime chose this size (`given`, `default budget`, `all rows fit`...). */
  readonly chunkReason?: string;
  /** projc: the peak the memory model predicted for this chunk size. */
  readonly predictedPeakBytes?: number;
  /** Device bytes at the peak, as tracked by the buffer pool (the largest over the runs). */
  readonly peakBytes: number;
  /** Compute time of each timed run, in run order. */
  readonly timesMs: readonly number[];
  readonly time: Spread;
  /**
   * projc: time ÷ the baseline's time of the same round, over the rounds. Runs of a round are
   * seconds apart, so this ratio is less exposed to a load that changes over the minutes.
   */
  readonly timeRatio?: Spread;
  /** projc on the rows × vocabulary-tiles shape: the tile width. */
  readonly vocabTile?: number;
  /** Tiled: time ÷ the rows-only run's at the same chunk rows, same round, over the rounds. */
  readonly rowsOnlyRatio?: Spread;
  /** Matmul work of the program ÷ median compute time (non-matmul kernels included in the time). */
  readonly effectiveGflops: number;
  /** Kernels and products launched per run (projc: every step of every chunk of every sweep). */
  readonly steps: number;
  /** projc and peers: the worst relative error against the baseline over all runs, per result. */
  readonly maxRelError: Readonly<Record<string, number>>;
  /** projc's own choice: one more, untimed run with each step timed alone (src/runtime/profile.ts). */
  readonly profile?: RunProfile;
}

export interface ShapeResult {
  readonly dims: Readonly<Record<string, number>>;
  /** Rows in all (the product of the row dims). */
  readonly rows: number;
  /** Elements of the largest per-row value with an inner dim (the logits: rows × V). */
  readonly logits: number;
  /** Floating-point operations of the products, 2·M·N·K each. */
  readonly matmulFlops: number;
  readonly products: number;
  /** materializedBytes of the memory model: bf16 logits, their f32 upcast and dlogits. */
  readonly paperBaselineBytes: number;
  readonly configs: readonly ConfigResult[];
}

export interface CompileTiming {
  readonly file: string;
  readonly kernels: readonly string[];
  readonly ms: Spread;
  readonly modules: number;
  readonly wgslBytes: number;
}

export interface PaperCase {
  readonly command: string;
  readonly dims: Readonly<Record<string, number>>;
  /** The planner's shape (what `projc plan` picks); absent in reports made before tiling. */
  readonly shape?: string;
  /** The bf16 inputs and f32 results the peak is compared with. */
  readonly floorBytes?: number;
  readonly chunkRows: number;
  readonly chunks: number;
  readonly predictedPeakBytes: number;
  readonly materializedBytes: number;
  readonly ratio: number;
}

/** projc under a budget of its inputs and results plus 1% (src/bench/memory-floor.ts). */
export interface FloorResult {
  readonly dims: Readonly<Record<string, number>>;
  /** The inputs as stored (bf16 2 bytes an element) and the f32 results, gradients included. */
  readonly floorBytes: number;
  readonly budget: number;
  /** The planner's shape for that budget, its tile and why. */
  readonly shape: 'rows' | 'tiles';
  readonly tileWidth?: number;
  readonly tileDim?: string;
  readonly reason: string;
  readonly chunkRows: number;
  readonly chunks: number;
  readonly predictedPeakBytes: number;
  /** The pool's measured peak (inputs, results and readback included). */
  readonly peakBytes: number;
  readonly computeMs: number;
  /** The rows-only run of the default chunk that the floor run is checked against. */
  readonly referenceComputeMs: number;
  readonly referencePeakBytes: number;
  readonly referenceChunkRows: number;
  /** max|a−b|/max|b| against the reference, per result. */
  readonly maxRelError: Readonly<Record<string, number>>;
  readonly failure?: undefined;
}

/** A floor run that could not be planned: the budget holds not even one row (P0405). */
export interface FloorFailure {
  readonly dims: Readonly<Record<string, number>>;
  readonly floorBytes: number;
  readonly budget: number;
  readonly failure: string;
}

export interface ProgramShape {
  readonly sweeps: readonly {
    readonly index: number;
    readonly projections: number;
    readonly stepsPerChunk: number;
    /** Products (matmul steps) per chunk, weight projections and gradient products alike. */
    readonly productsPerChunk: number;
    /** A pre-pass: once over all the rows, not per chunk. */
    readonly pre?: boolean;
  }[];
  /** Kernels run outside the chunk loop (before, between sweeps and the epilogue). */
  readonly globalKernels: number;
  /** Kernels of the baseline per run (one per materialized node). */
  readonly baselineKernels: number;
}

export interface Checks {
  readonly tolerance: number;
  /** Every projc run agreed with the baseline run before it, for every result. */
  readonly agreement: boolean;
  readonly worstRelError: number;
  /** projc peak ≤ peakLimit × baseline peak at every shape, for every chunk size. */
  readonly peakLimit: number;
  readonly peakOk: boolean;
  readonly worstPeakRatio: number;
  /** The largest shape (most logits), the smallest projc/baseline peak ratio there and its config. */
  readonly largestShape: Readonly<Record<string, number>>;
  readonly largestShapeRatio: number;
  readonly largestShapeConfig: string;
  readonly largestShapeAim: number;
}

/** The rows × vocabulary-tiles programs the bench ran beside rows-only (`--vocab-tile T1,T2`). */
export interface VocabTiling {
  /** The dim the tiles cut (the vocabulary). */
  readonly dim: string;
  /** The tile widths, ascending: one tiled program, and one twin of every chunk size, each. */
  readonly widths: readonly number[];
  /**
   * The steps of the rows-only profile that the tiled shape computes in each of its `passes`
   * over the tiles (the forward product z = X·Wᵀ; 2 passes with gradients): every pass after
   * the first skips one resident tile, so t tiles compute them (P − 1)·(t − 1)/t more.
   */
  readonly recomputed: readonly { readonly step: string; readonly passes: number }[];
}

export interface BenchReport {
  readonly version: 1;
  readonly date: string;
  readonly adapter: string;
  readonly command: string;
  readonly file: string;
  readonly kernel: string;
  readonly grad: readonly string[];
  /** The row dims of the kernel: a chunk is a range of their flattened product. */
  readonly rowDims: readonly string[];
  readonly repeats: number;
  readonly seed: number;
  readonly memoryBudget: number | null;
  /** The peers run beside projc (`eager` is the baseline); absent in reports made before peers. */
  readonly peers?: readonly string[];
  /** Why a peer that `--peers` did not name explicitly was left out (not installed...). */
  readonly peersSkipped?: readonly string[];
  readonly program: ProgramShape;
  /** The matmul tiles projc and the baseline ran: the fastest of the tuner's on this device. */
  readonly matmulTiles?: MatmulTiles;
  /** Whether those tiles were tuned on the device (`--matmul-tiles`); absent: tuned. */
  readonly matmulTilesPortable?: boolean;
  /** `--vocab-tile`: the tiled twins' widths and what the report predicts their cost from. */
  readonly vocabTiling?: VocabTiling;
  readonly shapes: readonly ShapeResult[];
  readonly compile: readonly CompileTiming[];
  readonly paper: PaperCase;
  /** The memory floor at each shape of the grid; absent in reports made before it. */
  readonly floor?: readonly (FloorResult | FloorFailure)[];
  readonly checks: Checks;
  readonly wallMs: number;
}
