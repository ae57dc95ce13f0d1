import type { Program } from '../../codegen/program.ts';
import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim } from '../ir/types.ts';
import type { ChunkPlan } from '../plan/types.ts';
import { rowProjections } from '../plan/products.ts';
import { vocabTiling } from '../plan/vocab-tiling.ts';
import { chooseChunkRows, memoryModel, type ChunkChoice, type MemoryModel } from './memory.ts';

/** Rows per chunk below which a product's M is too small to use a GPU well. */
export const MIN_CHUNK_ROWS = 128;
/** The smallest tile of the vocabulary the planner picks, and the multiple it rounds to. */
export const MIN_TILE = 1024;
const TILE_ALIGN = 256;
/** The lean working set: 1/256 of the fixed bytes (≈ 0.4%), within [16 MiB, 256 MiB]. */
const LEAN_SHARE = 256;
const LEAN_MIN = 16 * 1024 * 1024;
const LEAN_MAX = 256 * 1024 * 1024;

export interface ShapeRequest {
  readonly chunkRows?: number;
  readonly memoryBudget?: number;
  /** `rows`: rows-only; a number: tiles of that width; absent: the planner's choice. */
  readonly vocabTile?: number | 'rows';
}

export interface ShapeChoice {
  readonly program: Program;
  readonly model: MemoryModel;
  readonly chunk: ChunkChoice;
  readonly shape: ChunkPlan['shape'];
  /** Why this shape, in words. */
  readonly reason: string;
  /**
   * Where the choice fixed the chunk with the shape (tiles picked for the budget): the
   * options to run with (its rows, and why), so the runtime does not choose again.
   */
  readonly run?: { readonly chunkRows: number; readonly chunkReason: string };
}

/**
 * Picks the plan's shape and its chunk from the memory budget. `make(width)` plans and
 * generates the program rows-only (no width) or with vocabulary tiles of `width`.
 *
 * Rows-only wherever a chunk of MIN_CHUNK_ROWS rows divided by the factor of products the
 * tiled shape adds (4/3 for cross-entropy with gradients: 96 rows), or every row, fits the
 * budget (the caller's, else the lean working set: the fixed bytes plus 1/256 of them,
 * within [16 MiB, 256 MiB]), or where the dim fits one tile of MIN_TILE; that plan then
 * takes its usual chunk (the caller's options, else the default budget). Otherwise rows ×
 * vocabulary tiles, where the kernel allows them: the chunk rows of the rows-only default
 * (so both shapes compare at the same rows), fewer only if even tiles of MIN_TILE do not
 * fit (one row when not one row of them fits), and the widest tile (a multiple of 256, at
 * most the dim) that fits the budget with those rows.
 */
export function chooseShape(
  make: (vocabTile?: number) => Program,
  sizes: ReadonlyMap<Dim, number>,
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  req: ShapeRequest,
): ShapeChoice {
  const opts = {
    ...(req.chunkRows !== undefined ? { chunkRows: req.chunkRows } : {}),
    ...(req.memoryBudget !== undefined ? { memoryBudget: req.memoryBudget } : {}),
  };
  // A shape taken as it is, with its usual chunk (the caller's options, else the default).
  const taken = (
    program: Program,
    reason: string,
    model = memoryModel(program, sizes),
  ): ShapeChoice => {
    return {
      program,
      model,
      chunk: chooseChunkRows(model, limits, opts),
      shape: program.plan.shape,
      reason,
    };
  };
  if (req.vocabTile === 'rows') return taken(make(), 'forced');
  if (typeof req.vocabTile === 'number') return taken(make(req.vocabTile), 'forced');
  if (req.chunkRows !== undefined) return taken(make(), 'the chunk rows are given');
  // The rows-only program, planned once: every rows-only answer below is this one.
  const base = make();
  const model = memoryModel(base, sizes);
  const rowsOnly = (reason: string) => taken(base, reason, model);
  const lean = Math.min(LEAN_MAX, Math.max(LEAN_MIN, Math.floor(model.fixedBytes / LEAN_SHARE)));
  const budget = req.memoryBudget ?? model.fixedBytes + lean;
  const room = budget - model.fixedBytes;
  const fitting = model.perRowBytes > 0 ? Math.floor(room / model.perRowBytes) : model.rows;
  // Products run at full speed from MIN_CHUNK_ROWS rows and about proportionally slower
  // below; the tiled shape runs `products / rowsOnly` times the products (4/3 for CE with
  // gradients, 3 for a 3-pass entropy): rows-only is the faster below MIN_CHUNK_ROWS rows
  // until its chunk is that factor smaller.
  const tilings = vocabTiling(base.fn, base.plan).flatMap((t) => (t.eligible ? [t] : []));
  const extra = tilings.length
    ? tilings.reduce((s, t) => s + t.products, 0) /
      tilings.reduce((s, t) => s + t.rowsOnlyProducts, 0)
    : 1;
  const enough = Math.min(Math.ceil(MIN_CHUNK_ROWS / extra), Math.max(1, model.rows));
  const budgetText =
    req.memoryBudget !== undefined ? 'the memory budget' : 'the lean working set (fixed / 256)';
  if (fitting >= enough)
    return rowsOnly(`a chunk of ${Math.min(fitting, model.rows)} rows fits ${budgetText}`);
  // Tiles: the per-row bytes are a + b·width (b: the tile buffers' bytes per element).
  const dimOf = vocabDim(base);
  if (dimOf !== undefined && (sizes.get(dimOf) ?? 0) <= MIN_TILE)
    return rowsOnly(`${dimOf} fits in one tile of ${MIN_TILE}: tiles would save nothing`);
  let probe: Program;
  try {
    probe = make(TILE_ALIGN);
  } catch (e) {
    if (e instanceof UserError)
      return rowsOnly(`the tiled shape does not apply: ${e.diagnostics[0]?.message ?? ''}`);
    throw e;
  }
  const dim = probe.plan.shape.kind === 'tiles' ? probe.plan.shape.dim : '';
  const size = sizes.get(dim) ?? 0;
  const m1 = memoryModel(probe, sizes);
  const perElement =
    probe.plan.buffers
      .filter((b) => b.tile && !b.aliasOf)
      .reduce((s, b) => s + 4 * (b.elements.factor ?? 1), 0) / TILE_ALIGN;
  const a = m1.perRowBytes - perElement * TILE_ALIGN;
  const usual = chooseChunkRows(model, limits, {}).chunkRows;
  let minTile = MIN_TILE;
  let rows = Math.min(usual, Math.max(1, model.rows));
  if (rows * (a + perElement * minTile) > room)
    rows = Math.floor(room / (a + perElement * minTile));
  // A budget within a few KiB of the fixed bytes: one row at a time, in narrower tiles
  // (slow, but it keeps to the budget the caller gave).
  if (rows < 1 && a + perElement * TILE_ALIGN <= room) [rows, minTile] = [1, TILE_ALIGN];
  if (rows < 1) return rowsOnly(`not even one row of tiles of ${TILE_ALIGN} fits ${budgetText}`);
  let width = Math.floor((room / rows - a) / perElement);
  width = width >= size ? size : Math.max(minTile, Math.floor(width / TILE_ALIGN) * TILE_ALIGN);
  const program = make(width);
  const tiled = memoryModel(program, sizes);
  const chunkReason = req.memoryBudget !== undefined ? 'memory budget' : 'lean working set';
  return {
    program,
    model: tiled,
    chunk: {
      ...chooseChunkRows(tiled, limits, { chunkRows: rows, memoryBudget: budget }),
      reason: chunkReason,
    },
    run: { chunkRows: rows, chunkReason },
    shape: program.plan.shape,
    reason: `rows-only chunks of ${budgetText} would hold ${fitting} rows, under ${enough}`,
  };
}

/** The dim a tiled plan would cut: the output dim of the first row product that has one. */
function vocabDim(p: Program): Dim | undefined {
  return rowProjections(p.plan).find((st) => st.roles.n.length === 1)?.roles.n[0];
}
