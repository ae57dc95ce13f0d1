import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../ir/types.ts';
import { monoidOf } from '../ops/registry.ts';
import type { ChunkPlan, PlanBuffer, Stage, Sweep, TileStatistic, TiledSweep } from './types.ts';
import { vocabTiling, type SweepTiling } from './vocab-tiling.ts';

type Eligible = Extract<SweepTiling, { eligible: true }>;
type Product = Extract<Stage, { kind: 'matmul' }>;

/** Why a plan cannot take the tiled shape: the analysis' reasons, or the shape's own limits. */
export class NotTileable extends Error {}

/**
 * The rows × vocabulary-tiles shape of a rows-only plan: every sweep the analysis finds
 * eligible (src/plan/vocab-tiling.ts) is cut into tiles of `width` elements of its
 * projections' output dim. The logits and dz buffers hold one tile a row (`width` × chunk
 * rows instead of V × chunk rows); each statistic gets a chunk-scoped state slot holding its
 * monoid's state per row. Sweeps without a projection stay as they are. Throws `NotTileable`
 * with the reasons when no sweep can be tiled.
 */
export function tiledSweeps(
  fn: IrFunction,
  plan: ChunkPlan,
  width: number,
): { sweeps: Sweep[]; buffers: PlanBuffer[]; dim: Dim } {
  const tilings = vocabTiling(fn, plan);
  const eligible = tilings.filter((t): t is Eligible => t.eligible);
  if (!eligible.length) {
    const why = tilings.map((t) => (t.eligible ? '' : `sweep ${t.sweep}: ${t.reason}`));
    throw new NotTileable(
      why.length ? why.join('; ') : 'no sweep has a projection producing a non-row dim',
    );
  }
  const dim = eligible[0]?.dim ?? '';
  if (eligible.some((t) => t.dim !== dim))
    throw new NotTileable(`its sweeps' projections produce different dims`);
  const buffers = new Map(plan.buffers.map((b) => [b.name, b]));
  const sweeps = plan.sweeps.map((sw) => {
    const t = eligible.find((x) => x.sweep === sw.index);
    if (!t) return sw;
    const tiled = tiledSweep(fn, plan, sw, t, width, buffers);
    return { ...sw, tiled };
  });
  // A chunk buffer cut into tiles must not also be read whole by a rows-only sweep.
  const tiledBuffers = new Set([...buffers.values()].filter((b) => b.tile).map((b) => b.node));
  for (const sw of sweeps) {
    if (sw.tiled) continue;
    for (const st of sw.stages) {
      const ids = st.kind === 'row' ? st.nodes.flatMap((id) => fn.nodes[id]?.inputs ?? []) : [];
      const touched = st.kind === 'row' ? ids : [st.node, ...(fn.nodes[st.node]?.inputs ?? [])];
      const shared = touched.find((id) => tiledBuffers.has(id));
      if (shared !== undefined)
        throw new NotTileable(
          `sweep ${sw.index} stays rows-only and reads %${shared} whole, which a tiled sweep holds one tile at a time`,
        );
    }
  }
  return { sweeps, buffers: [...buffers.values()], dim };
}

function tiledSweep(
  fn: IrFunction,
  plan: ChunkPlan,
  sw: Sweep,
  t: Eligible,
  width: number,
  buffers: Map<string, PlanBuffer>,
): TiledSweep {
  const dim = t.dim;
  const node = (id: number) => fn.nodes[id] as Node;
  const no = (why: string): never => {
    throw new NotTileable(`sweep ${sw.index}: ${why}`);
  };
  const forwardIds = new Set(t.forward);
  const backwardIds = new Set(t.backward);
  const hasDim = (id: number) => node(id).dims.includes(dim);
  const stages = sw.stages;
  const firstForward = stages.findIndex((st) => st.kind === 'matmul' && forwardIds.has(st.node));
  const statIds = new Set(t.statistics.flat().map((s) => s.node));
  const tileStages = stages.flatMap((st, k) =>
    st.kind === 'row' && st.nodes.some((id) => hasDim(id) || statIds.has(id)) ? [k] : [],
  );
  const r = tileStages[0];
  if (r === undefined || tileStages.length > 1)
    no(`its tile values and statistics are in ${tileStages.length} row stages, not one`);
  const stageIndex = r ?? 0;
  const stage = stages[stageIndex];
  if (stage?.kind !== 'row') return no('no row stage');
  const before = stages.slice(0, firstForward);
  if (before.some((st) => st.kind !== 'row')) no('a product or carry runs before its projections');
  const between = stages.slice(firstForward, stageIndex);
  if (between.length !== forwardIds.size || between.some((st) => st.kind !== 'matmul'))
    no('something other than its projections runs between them and the row stage');
  const forward = between.flatMap((st) => (st.kind === 'matmul' ? [st] : []));
  const rest = stages.slice(stageIndex + 1);
  const backward = rest.flatMap((st) =>
    st.kind === 'matmul' && backwardIds.has(st.node) ? [st] : [],
  );
  const after = rest.filter((st) => !(st.kind === 'matmul' && backwardIds.has(st.node)));
  if (after.some((st) => st.kind === 'matmul'))
    no('a product other than the backward ones runs after the row stage');
  for (const p of forward) {
    const [a, b] = [node(p.roles.a), node(p.roles.b)];
    if (!a.dims.some((d) => plan.rows.includes(d)) || b.dims.some((d) => plan.rows.includes(d)))
      no(`the projection %${p.node} does not read rows × a weight`);
  }
  for (const p of backward)
    if (!hasDim(p.roles.a) || p.roles.n.includes(dim))
      no(`the backward product %${p.node} does not read the tile value as its first operand`);
  for (const s of statIds)
    if (!stage.nodes.includes(s)) no(`the statistic %${s} is outside the tile values' row stage`);
  const dz = stage.stores.filter(hasDim);
  const rowStores = stage.stores.filter((id) => !hasDim(id));
  for (const id of rowStores)
    if (node(id).dims.some((d) => !plan.rows.includes(d)))
      no(`the row stage stores %${id}, a vector over another dim`);
  // The tile buffers: the projections' logits and dz (often in the logits' storage).
  const tileNodes = new Set([...forward.map((p) => p.node), ...dz]);
  for (const b of buffers.values())
    if (tileNodes.has(b.node) && b.home === 'chunk' && b.dims.includes(dim))
      buffers.set(b.name, {
        ...b,
        tile: { dim, width },
        elements: { dims: [], chunkRows: true, factor: width },
      });
  for (const id of tileNodes)
    if (![...buffers.values()].some((b) => b.node === id && b.tile))
      no(`the tile value %${id} is not held in a chunk buffer`);
  const statistics = t.statistics.map((level) =>
    level.map((s): TileStatistic => {
      const w: 1 | 2 =
        s.of !== undefined
          ? 2
          : s.monoid === 'gather'
            ? 1
            : (monoidOf(node(s.node).op)?.width ?? 1);
      const name = `state.%${s.node}`;
      const n = node(s.node);
      buffers.set(name, {
        name,
        home: 'arena',
        node: s.node,
        dtype: w === 2 ? 'f32' : n.dtype,
        dims: n.dims,
        role: 'state',
        scope: 'chunk',
        elements: { dims: [], chunkRows: true, ...(w === 2 ? { factor: 2 } : {}) },
      });
      return { ...s, state: name, width: w };
    }),
  );
  return {
    dim,
    width,
    before,
    forward,
    stage,
    statistics,
    dz,
    rowStores,
    backward,
    after,
  };
}

/** A vocabulary tile width the override may ask for: a positive integer (else P0405). */
export function checkTileWidth(width: number): void {
  if (!(Number.isSafeInteger(width) && width >= 1))
    throw new UserError({
      severity: 'error',
      code: 'P0405',
      message: `schedule override: vocabTile must be a positive integer, got ${width}`,
    });
}
