import type { Cotangent } from '../autodiff/differentiate.ts';
import { differentiate } from '../autodiff/differentiate.ts';
import type { Dim, IrFunction } from '../ir/types.ts';
import { assignBuffers } from './buffers.ts';
import { splitRowReductions } from './canonicalize.ts';
import { computedWeights } from './computed-weights.ts';
import { checkRowSets, classifyRowSets, rowSetsOf, splitByRowSet } from './row-sets.ts';
import { sweepStages } from './stages.ts';
import { assignSweeps } from './sweeps.ts';
import type { ChunkPlan, DraftBuffer, PlanBuffer, Stage, Sweep } from './types.ts';
import { monoidOf } from '../ops/registry.ts';
import { checkProductLayout, storageLayout } from './products.ts';
import { scheduleTree } from './schedule-tree.ts';
import { shareAccumulatorBuffers, sharedAccumulators } from './shared-accumulators.ts';
import { validatePlan } from './validate.ts';
import { checkTileWidth, NotTileable, tiledSweeps } from './tiled-shape.ts';
import { UserError } from '../diagnostics/diagnostic.ts';

export interface PlanRequest {
  /** The kernel as written (forward). */
  readonly kernel: IrFunction;
  /** Parameters to differentiate; empty for a forward-only plan. */
  readonly grad?: readonly string[];
  /** Cotangents of the results (spec §7 defaults otherwise). */
  readonly cotangents?: ReadonlyMap<string, Cotangent>;
  /** Compute only the gradients (the backward of forward/backward), not the results. */
  readonly gradientsOnly?: boolean;
  /** Forces choices of the schedule (Halide style); results never depend on it. */
  readonly schedule?: ScheduleOverride;
}

/**
 * Schedule choices a caller may force, validated (P0405 for one that cannot hold).
 * `carriedIn`: the sweep in which a carried value (node id of the planned program, as
 * `projc plan` prints it) is accumulated; by default each is as late as its consumers allow.
 */
export interface ScheduleOverride {
  readonly carriedIn?: ReadonlyMap<number, number>;
  /**
   * The rows × vocabulary-tiles shape with tiles of this many elements of the projections'
   * output dim (src/plan/tiled-shape.ts); P0405 with the analysis' reason where no sweep can
   * take it. By default a plan is rows-only.
   */
  readonly vocabTile?: number;
}

/** The program a plan runs, and the plan. */
export interface Planned {
  readonly fn: IrFunction;
  readonly plan: ChunkPlan;
}

/**
 * Plans a kernel: derives the backward program if gradients are asked for, then schedules
 * the joint graph into sweeps over row chunks (see docs/runtime.md). The plan is data;
 * results never depend on it.
 */
export function planKernel(req: PlanRequest): Planned {
  const sets = rowSetsOf(req.kernel);
  checkRowSets(req.kernel, sets);
  const rows = sets.flat();
  let fn = req.grad?.length
    ? differentiate(req.kernel, { wrt: req.grad, cotangents: req.cotangents ?? new Map() })
    : req.kernel;
  if (req.gradientsOnly)
    fn = { ...fn, results: fn.results.filter((r) => r.name.startsWith('grad.')) };
  for (const set of sets) fn = splitRowReductions(fn, set);
  const plan = schedule(fn, rows, req.schedule, sets);
  validatePlan(plan);
  return { fn, plan };
}

/** Schedules a graph whose row dims are known. */
export function schedule(
  fn: IrFunction,
  rows: readonly Dim[],
  override: ScheduleOverride = {},
  sets: readonly (readonly Dim[])[] = [rows],
): ChunkPlan {
  const classes = classifyRowSets(fn, sets);
  // One sweep per row set and level (one set: the sweeps as assigned).
  const { assignment: a, rowDims } = splitByRowSet(
    fn,
    classes,
    assignSweeps(fn, classes, override.carriedIn),
    sets,
  );
  const weights = computedWeights(fn, classes);
  const sweeps: Sweep[] = [];
  const allStages: Stage[][] = [];
  for (let s = 0; s < a.count; s++) {
    const rowIds = [...a.rows]
      .filter(([, set]) => set.has(s))
      .map(([id]) => id)
      .sort((x, y) => x - y);
    const carried = [...a.carried]
      .filter(([, w]) => w === s)
      .map(([id]) => id)
      .sort((x, y) => x - y);
    const sweepRows = rowDims[s] ?? rows;
    const { stages } = sweepStages(fn, classes, rowIds, carried, sweepRows);
    allStages.push(stages);
    const projections = stages.filter(
      (st) => st.kind === 'matmul' && readsWeight(fn, st.node, rows, weights),
    ).length;
    sweeps.push({
      index: s,
      rows: rowIds,
      rowDims: sweepRows,
      carried,
      stages,
      projections,
      pre: false,
    });
  }
  const results = new Set(fn.results.map((r) => r.node));
  // Post and invariant reductions are computed whole between sweeps; results that are not
  // row or carried values are written by the epilogue.
  const globals = fn.nodes
    .filter(
      (n) =>
        ((classes.get(n.id) === 'post' || classes.get(n.id) === 'invariant') &&
          monoidOf(n.op) !== undefined) ||
        weights.has(n.id),
    )
    .map((n) => ({
      node: n.id,
      buffer: `global.%${n.id}`,
      before:
        classes.get(n.id) === 'invariant' ? 0 : Math.min(a.count, a.postNeed.get(n.id) ?? a.count),
    }));
  const shared = sharedAccumulators(fn, classes);
  const epilogue = fn.results
    .map((r) => r.node)
    .filter(
      (id) =>
        classes.get(id) !== 'row' &&
        !(classes.get(id) === 'carried' && fn.nodes[id]?.op === 'dot') &&
        !shared.has(id),
    );
  const assigned = assignBuffers(fn, classes, sweeps, results, rows);
  const { sweeps: withStores, buffers } = markPrePasses(
    assigned.sweeps,
    shareAccumulatorBuffers(fn, assigned.buffers, shared),
  );
  for (const g of globals) {
    const n = fn.nodes[g.node];
    if (n)
      buffers.push({
        name: g.buffer,
        home: weights.has(n.id) ? 'own' : 'arena',
        node: n.id,
        dtype: n.dtype,
        dims: n.dims,
        role: 'value',
      });
  }
  const epilogueWrites = fn.results
    .filter((r) => epilogue.includes(r.node))
    .map((r) => ({ result: r.name, node: r.node, buffer: `result.${r.name}` }));
  for (const w of epilogueWrites) {
    const n = fn.nodes[w.node];
    if (n)
      buffers.push({
        name: w.buffer,
        home: 'own',
        node: n.id,
        dtype: n.dtype,
        dims: n.dims,
        role: 'result',
        result: w.result,
      });
  }
  const scoped = buffers.map((b) => withScope(b, classes, rows));
  checkProducts(fn, withStores, scoped, rows);
  const flat = {
    kernel: fn.name,
    shape: { kind: 'rows' } as const,
    rows,
    classes,
    sweeps: withStores,
    epilogue: [...new Set(epilogue)],
    epilogueWrites,
    buffers: scoped,
    globals,
  };
  const rowsOnly = { ...flat, ...scheduleTree(fn, flat) };
  if (override.vocabTile === undefined) return rowsOnly;
  const width = override.vocabTile;
  checkTileWidth(width);
  let t: ReturnType<typeof tiledSweeps>;
  try {
    t = tiledSweeps(fn, rowsOnly, width);
  } catch (e) {
    if (!(e instanceof NotTileable)) throw e;
    throw new UserError({
      severity: 'error',
      code: 'P0405',
      message: `schedule override: \`${fn.name}\` cannot be tiled over its vocabulary: ${e.message}`,
      help: ['leave vocabTile out: the rows-only shape runs every kernel'],
    });
  }
  const tiled = {
    ...flat,
    shape: { kind: 'tiles', dim: t.dim, width } as const,
    sweeps: t.sweeps,
    buffers: t.buffers,
  };
  return { ...tiled, ...scheduleTree(fn, tiled) };
}

/** Every product reads and writes its operands with one stride per role (else P0302). */
function checkProducts(
  fn: IrFunction,
  sweeps: readonly Sweep[],
  buffers: readonly PlanBuffer[],
  rows: readonly Dim[],
): void {
  const layoutOf = (id: number): readonly Dim[] => {
    const b =
      buffers.find((x) => x.node === id && x.home === 'own' && x.role === 'input') ??
      buffers.find((x) => x.node === id && x.home !== 'arena' && x.role !== 'input');
    return b ? storageLayout(b, b.scope === 'chunk', rows) : (fn.nodes[id]?.dims ?? []);
  };
  for (const sw of sweeps)
    for (const st of sw.stages)
      if (st.kind === 'matmul') checkProductLayout(fn, st.node, st.roles, layoutOf);
}

/**
 * A buffer's scope and element count: chunk buffers, and arena slots of row values that are
 * not inputs or pre-pass values, hold the current chunk's rows (rows first); the rest are
 * whole. Codegen indexes, the arena is laid out and the runtime allocates from these.
 */
function withScope(
  b: DraftBuffer,
  classes: ReadonlyMap<number, string>,
  rows: readonly Dim[],
): PlanBuffer {
  const chunk =
    b.home === 'chunk' ||
    (b.home === 'arena' && classes.get(b.node) === 'row' && b.role !== 'input' && !b.allRows);
  return chunk
    ? {
        ...b,
        scope: 'chunk',
        elements: { dims: b.dims.filter((d) => !rows.includes(d)), chunkRows: true },
      }
    : { ...b, scope: 'whole', elements: { dims: b.dims } };
}

/**
 * Sweeps with no product whose stages store only per-row scalars (a count of kept rows, a
 * mask sum) run once over all the rows: their stored values are sized for every row.
 */
function markPrePasses(
  sweeps: readonly Sweep[],
  buffers: DraftBuffer[],
): { sweeps: Sweep[]; buffers: DraftBuffer[] } {
  const storedIn = (sw: Sweep) => sw.stages.flatMap((st) => (st.kind === 'row' ? st.stores : []));
  const pre = (sw: Sweep) =>
    sw.stages.every((st) => st.kind !== 'matmul') &&
    storedIn(sw).every((id) =>
      buffers.filter((b) => b.node === id && b.role !== 'result').every((b) => b.home === 'arena'),
    );
  // A value stored by another sweep too keeps its per-chunk storage, so such a sweep is not
  // a pre-pass (its all-rows writes would overflow that storage).
  const sharesStores = (sw: Sweep) =>
    sweeps.some((o) => o !== sw && storedIn(o).some((id) => storedIn(sw).includes(id)));
  const out = sweeps.map((sw) => ({ ...sw, pre: pre(sw) && !sharesStores(sw) }));
  const preStored = new Set(out.filter((sw) => sw.pre).flatMap(storedIn));
  return {
    sweeps: out,
    buffers: buffers.map((b) =>
      b.home === 'arena' && preStored.has(b.node) && b.role !== 'input'
        ? { ...b, allRows: true }
        : b,
    ),
  };
}

/** A product that reads a weight (a parameter without row dims) is a projection: the costly part. */
function readsWeight(
  fn: IrFunction,
  id: number,
  rows: readonly Dim[],
  weights: ReadonlySet<number>,
): boolean {
  return (fn.nodes[id]?.inputs ?? []).some((i) => {
    const x = fn.nodes[i];
    return (
      (x?.op === 'param' || weights.has(i)) &&
      x !== undefined &&
      x.dims.length > 0 &&
      !x.dims.some((d) => rows.includes(d))
    );
  });
}
