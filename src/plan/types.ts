import type { DType, Dim } from '../ir/types.ts';
import type { SizeExpr } from './size-expr.ts';

/**
 * How a value of the joint graph is computed by the chunked schedule.
 * - `input`: a parameter (or cotangent), uploaded whole.
 * - `invariant`: no row dims and no carried value upstream (constants, sizes, scalars from
 *   parameters): inlined wherever it is used.
 * - `row`: has every row dim: computed per chunk of rows, in the sweeps that need it.
 * - `carried`: a reduction over row dims (sum/max/min/logsumexp, or a `dot` contracting
 *   rows such as dW) of row values: accumulated across the chunks of one sweep.
 * - `post`: no complete set of row dims, computed from carried values: available once they
 *   are complete (inlined where used, or written by the epilogue when it is a result).
 */
export type ValueClass = 'input' | 'invariant' | 'row' | 'carried' | 'post';

/**
 * The roles of a product of the chunk loop as the strided matmul
 * `C[m, n] (+)= Σ_k A(m, k)·B(k, n)`: which operand is A and which B, and the dims of m, n and
 * k. A row product (z = Xc·Wᵀ, dXc = dz·W) has the chunk's rows as m and the contracted dims
 * as k; a carried one (dW += dzᵀ·Xc) contracts the rows (k), each chunk adding to C.
 */
export interface ProductRoles {
  readonly a: number;
  readonly b: number;
  readonly m: readonly Dim[];
  readonly n: readonly Dim[];
  readonly k: readonly Dim[];
  readonly accumulate: boolean;
}

/** One step of the work done for each chunk of rows, in order. */
export type Stage =
  /** A projection-shaped product: `dot` over the chunk (`z = Xc·Wᵀ`, `dXc = dz·W`, or `dW += dzᵀ·Xc`). */
  | { readonly kind: 'matmul'; readonly node: number; readonly roles: ProductRoles }
  /**
   * A fused row kernel: one workgroup per row computes `nodes` (row values) with loops over
   * their inner dims and workgroup reductions, and writes the `stores`.
   */
  | { readonly kind: 'row'; readonly nodes: readonly number[]; readonly stores: readonly number[] }
  /** Folds the chunk's per-row partials of a carried reduction into its accumulator. */
  | { readonly kind: 'carry'; readonly node: number };

export interface Sweep {
  readonly index: number;
  /** Row values computed in this sweep (each chunk), in id order. */
  readonly rows: readonly number[];
  /** The row dims this sweep's chunk loop walks: the plan's rows, or one of its row sets. */
  readonly rowDims: readonly Dim[];
  /** Carried values accumulated over this sweep's chunks. */
  readonly carried: readonly number[];
  readonly stages: readonly Stage[];
  /** Products recomputed per chunk that read a weight (`X·Wᵀ`-like): the costly part. */
  readonly projections: number;
  /**
   * A pre-pass: no products and nothing stored per chunk but per-row scalars, so it runs once
   * over all the rows (one dispatch per stage) before the sweeps: the count of kept rows,
   * the sum of a mask. Its per-row values are sized for every row (4 bytes a row).
   */
  readonly pre: boolean;
  /** The vocabulary-tiled form of this sweep, when the plan has that shape (see tiled-shape.ts). */
  readonly tiled?: TiledSweep;
}

/** A statistic of a tiled sweep: its monoid's state per row of the chunk, merged tile by tile. */
export interface TileStatistic {
  readonly node: number;
  /** The reduction op whose record holds the monoid, or `gather`. */
  readonly monoid: string;
  /** Read as the Σ half of `logsumexp(of)`'s state (a softmax denominator Σ e^(x − max x)). */
  readonly of?: number;
  /** The chunk-scoped arena slot holding the state (`width` words per row). */
  readonly state: string;
  readonly width: 1 | 2;
}

/**
 * A sweep with its projections' output dim cut into tiles (Cut Cross-Entropy): per chunk,
 * the stages `before`, one pass over the tiles per statistic level (each recomputing the
 * forward products' tile and merging that level's statistics into their states), the
 * per-row values after the statistics, a last pass forming dz per tile from the finished
 * statistics and running the backward products on it, then the stages `after`.
 */
export interface TiledSweep {
  readonly dim: Dim;
  /** Elements of `dim` per tile; the last tile holds what is left. */
  readonly width: number;
  readonly before: readonly Stage[];
  readonly forward: readonly Extract<Stage, { kind: 'matmul' }>[];
  /** The row stage of the tile values, the statistics and the per-row values after them. */
  readonly stage: Extract<Stage, { kind: 'row' }>;
  readonly statistics: readonly (readonly TileStatistic[])[];
  /** The stage's per-element stores (dz), formed tile by tile in the backward pass. */
  readonly dz: readonly number[];
  /** The stage's per-row stores, written once the statistics are finished. */
  readonly rowStores: readonly number[];
  readonly backward: readonly Extract<Stage, { kind: 'matmul' }>[];
  readonly after: readonly Stage[];
}

/**
 * Where a materialized value lives on the device.
 * - `chunk`: per chunk, `chunkRows` × the product of `inner` dims, f32, reused every chunk;
 * - `arena`: a slot of the shared word arena (small tensors: inputs read by row kernels,
 *   per-row partials, accumulators of row reductions, small results);
 * - `own`: a buffer of its own (matmul operands and accumulators, big results).
 */
export type Home = 'chunk' | 'arena' | 'own';

export interface PlanBuffer {
  readonly name: string;
  readonly home: Home;
  /** The value stored: a node id of the joint graph. */
  readonly node: number;
  /** Storage dtype: inputs keep theirs (bf16 packed two per word); computed values are f32, i32 or bool. */
  readonly dtype: DType;
  /** The dims held; for `chunk` buffers the row dims stand for the chunk's rows. */
  readonly dims: readonly Dim[];
  readonly role: 'input' | 'value' | 'partial' | 'accumulator' | 'result' | 'state';
  /**
   * A chunk buffer holding one tile of its inner dim `dim` (`width` elements a row, the row
   * stride), at the current tile's start: the tiled shape's logits and dz.
   */
  readonly tile?: { readonly dim: Dim; readonly width: number };
  /** For results: the result name (`out`, `grad.X`...). */
  readonly result?: string;
  /** A chunk buffer reusing the storage of another (dz overwriting z). */
  readonly aliasOf?: string;
  /** A per-row value of a pre-pass: held for every row, not per chunk. */
  readonly allRows?: boolean;
  /**
   * `chunk`: one entry per row of the current chunk, rows first (chunk buffers, per-row
   * partials and values in the arena); `whole`: every element, in `dims` order.
   */
  readonly scope: 'chunk' | 'whole';
  /** Elements held: the inner dims times the chunk's rows, or every dim. */
  readonly elements: SizeExpr;
}

/** A buffer as the passes build it, before its scope and size are derived. */
export type DraftBuffer = Omit<PlanBuffer, 'scope' | 'elements'>;

/** A stage of a loop body, with the buffers it reads and writes (by name). */
export type LoopStep = Stage & {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
};

/** A product over the current tile: of its `n` (z = Xc·W_tᵀ), `k` (dXc += dz_t·W_t) or `m` (dW[t]). */
export type TileProductStep = Extract<LoopStep, { kind: 'matmul' }> & {
  readonly tiled: 'm' | 'n' | 'k';
};

/**
 * A row kernel of a tiled sweep (one workgroup per row): `statistics` merges the tile's part
 * of the statistics of `level` into their states; `dz` forms the per-element stores of the
 * tile; `finish` (outside the tile loops) writes the per-row stores from finished statistics.
 */
export interface TileRowStep {
  readonly kind: 'tile-row';
  readonly role: 'statistics' | 'dz' | 'finish';
  readonly sweep: number;
  readonly level: number;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
}

/** A loop over the tiles of `dim` inside a chunk: a statistics pass, or the backward one. */
export interface TileLoop {
  readonly kind: 'tiles';
  readonly dim: Dim;
  readonly tile: SizeExpr;
  readonly pass: number;
  readonly backward: boolean;
  /**
   * Tiles from the last to the first (passes alternate), so that the first tile a pass
   * visits is the one the previous pass left in the tile buffers: `reusesTile` passes skip
   * the projections (`tiled: 'n'`) on that tile.
   */
  readonly reverse: boolean;
  readonly reusesTile: boolean;
  readonly body: readonly (TileProductStep | TileRowStep)[];
}

/** A step of a chunk loop's body. */
export type BodyStep = LoopStep | TileLoop | TileRowStep;

/**
 * The schedule as a tree of loops: a loop over the row dims in tiles of `tile` rows (a chunk;
 * a pre-pass takes every row at once) whose body is the sweep's stages in order; whole
 * reductions between loops; the epilogue's writes last.
 */
export type ScheduleNode =
  | {
      readonly kind: 'loop';
      readonly dims: readonly Dim[];
      readonly tile: SizeExpr;
      readonly sweep: number;
      readonly body: readonly BodyStep[];
    }
  | {
      readonly kind: 'global' | 'epilogue';
      readonly node: number;
      readonly reads: readonly string[];
      readonly writes: readonly string[];
    };

/**
 * A reduction of the plan as a named value with its monoid: within a row over its inner dim
 * (`row`: a workgroup reduction of the row kernel), across the chunks (`carried`: folded into
 * an accumulator), or whole between loops (`global`). These are the statistics a vocabulary
 * tiling or a sharding would merge with the same monoid.
 */
export interface RowStatistic {
  readonly node: number;
  readonly name: string;
  /** The reduction op, whose record holds the monoid. */
  readonly monoid: string;
  readonly over: readonly Dim[];
  readonly scope: 'row' | 'carried' | 'global';
  /** Where it is held (an accumulator, or where a row kernel stores it), when it is stored. */
  readonly buffer?: string;
}

export interface ChunkPlan {
  readonly kernel: string;
  /** The plan's shape: rows-only, or rows × tiles of `dim` (`width` each) in its tiled sweeps. */
  readonly shape:
    | { readonly kind: 'rows' }
    | { readonly kind: 'tiles'; readonly dim: Dim; readonly width: number };
  /**
   * Row dims, flattened row-major in this order; chunks are ranges of flattened rows. A kernel
   * over several disjoint row sets lists them all; each sweep walks one (`Sweep.rowDims`).
   */
  readonly rows: readonly Dim[];
  readonly classes: ReadonlyMap<number, ValueClass>;
  readonly sweeps: readonly Sweep[];
  /**
   * Reductions of values without rows (post or invariant), computed whole before sweep
   * `before` (= the number of sweeps: after the last one) into arena slots.
   */
  readonly globals: readonly {
    readonly node: number;
    readonly before: number;
    /** The buffer it is written to. */
    readonly buffer: string;
  }[];
  /** Results that no sweep writes (post, invariant or carried reductions): the epilogue writes them. */
  readonly epilogue: readonly number[];
  /** What the epilogue writes: each such result and its buffer, in result order. */
  readonly epilogueWrites: readonly {
    readonly result: string;
    readonly node: number;
    readonly buffer: string;
  }[];
  readonly buffers: readonly PlanBuffer[];
  /** The schedule as a tree of loops with each step's reads and writes (derived from the above). */
  readonly schedule: readonly ScheduleNode[];
  /** Every reduction as a named plan value with its monoid and where it is held. */
  readonly statistics: readonly RowStatistic[];
  /** The buffer each stored computed value is read from (what the schedule's `reads` name). */
  readonly homes: ReadonlyMap<number, string>;
}
