import type { Dim, IrFunction } from '../ir/types.ts';
import { monoidOf } from '../ops/registry.ts';
import type {
  BodyStep,
  TileLoop,
  TileRowStep,
  TiledSweep,
  ChunkPlan,
  LoopStep,
  PlanBuffer,
  RowStatistic,
  ScheduleNode,
  Stage,
  ValueClass,
} from './types.ts';

type Flat = Omit<ChunkPlan, 'schedule' | 'statistics' | 'homes'>;

/**
 * The buffer a computed value is read from, if it is stored: not a result-only buffer unless
 * it is all there is, and never a buffer the epilogue writes (it may not be written yet).
 */
function homeOf(plan: Flat, id: number): string | undefined {
  const all = plan.buffers.filter(
    (b) =>
      b.node === id &&
      b.role !== 'input' &&
      b.role !== 'state' &&
      !(b.role === 'result' && plan.epilogue.includes(id)),
  );
  return (all.find((b) => b.role !== 'result') ?? all[0])?.name;
}

/** The schedule tree and the statistics of a plan. */
export function scheduleTree(
  fn: IrFunction,
  plan: Flat,
): { schedule: ScheduleNode[]; statistics: RowStatistic[]; homes: Map<number, string> } {
  const node = (id: number) => fn.nodes[id];
  const buffersOf = (id: number, pred: (b: PlanBuffer) => boolean) =>
    plan.buffers.filter((b) => b.node === id && pred(b)).map((b) => b.name);
  const inputCopy = (id: number, forProduct: boolean) =>
    plan.buffers.find(
      (b) =>
        b.node === id && b.role === 'input' && (forProduct ? b.home === 'own' : b.home === 'arena'),
    )?.name;
  /** The stored buffers computing `ids` reads, following inlined (unstored) values up. */
  const readsOf = (ids: readonly number[], local: ReadonlySet<number>): string[] => {
    const out = new Set<string>();
    const seen = new Set<number>();
    const visit = (id: number) => {
      if (seen.has(id)) return;
      seen.add(id);
      const n = node(id);
      if (!n) return;
      if (n.op === 'param') {
        const copy = n.dims.length ? inputCopy(id, false) : undefined;
        if (copy) out.add(copy);
        return;
      }
      const home = local.has(id) ? undefined : homeOf(plan, id);
      if (home) out.add(home);
      else for (const i of n.inputs) visit(i);
    };
    for (const id of ids) for (const i of node(id)?.inputs ?? []) visit(i);
    return [...out];
  };
  const product = (st: Extract<Stage, { kind: 'matmul' }>) => {
    const reads = [st.roles.a, st.roles.b].map(
      (i) => inputCopy(i, true) ?? homeOf(plan, i) ?? `%${i}`,
    );
    const writes = buffersOf(st.node, (b) => b.role !== 'input');
    return { ...st, reads: st.roles.accumulate ? [...reads, ...writes] : reads, writes };
  };
  const step = (st: Stage): LoopStep => {
    switch (st.kind) {
      case 'matmul':
        return product(st);
      case 'row':
        return {
          ...st,
          reads: readsOf(st.nodes, new Set(st.nodes)),
          writes: st.stores.flatMap((id) =>
            buffersOf(
              id,
              (b) => b.role !== 'input' && b.role !== 'accumulator' && b.role !== 'state',
            ),
          ),
        };
      case 'carry': {
        const acc = buffersOf(st.node, (b) => b.role === 'accumulator' && b.home === 'arena');
        return { ...st, reads: [...readsOf([st.node], new Set()), ...acc], writes: acc };
      }
    }
  };
  const schedule: ScheduleNode[] = [];
  const global = (g: ChunkPlan['globals'][number]): ScheduleNode => ({
    kind: 'global',
    node: g.node,
    reads: readsOf([g.node], new Set([g.node])),
    writes: [g.buffer],
  });
  for (const g of plan.globals.filter((x) => x.before === 0)) schedule.push(global(g));
  for (const sw of plan.sweeps) {
    schedule.push({
      kind: 'loop',
      dims: sw.rowDims,
      tile: sw.pre ? { dims: sw.rowDims } : { dims: [], chunkRows: true },
      sweep: sw.index,
      body: sw.tiled ? tiledBody(sw.index, sw.tiled, step, product, readsOf) : sw.stages.map(step),
    });
    for (const g of plan.globals.filter((x) => x.before === sw.index + 1 && x.before > 0))
      schedule.push(global(g));
  }
  for (const w of plan.epilogueWrites) {
    const stored = plan.buffers.some(
      (b) => b.node === w.node && b.name !== w.buffer && b.role !== 'result' && b.role !== 'input',
    );
    schedule.push({
      kind: 'epilogue',
      node: w.node,
      reads: stored ? [homeOf(plan, w.node) ?? `%${w.node}`] : readsOf([w.node], new Set([w.node])),
      writes: [w.buffer],
    });
  }
  const homes = new Map<number, string>();
  for (const b of plan.buffers) {
    const h = homeOf(plan, b.node);
    if (h !== undefined) homes.set(b.node, h);
  }
  return { schedule, statistics: statisticsOf(fn, plan.classes, plan), homes };
}

/**
 * A tiled sweep's loop body: the stages before, one pass over the tiles per statistic level
 * (the projections' tile, then that level's statistics merged into their states), the
 * per-row stores, the backward pass (the projections' tile, dz, the backward products over
 * the tile), the stages after.
 */
function tiledBody(
  sweep: number,
  t: TiledSweep,
  step: (st: Stage) => LoopStep,
  product: (st: Extract<Stage, { kind: 'matmul' }>) => Extract<LoopStep, { kind: 'matmul' }>,
  readsOf: (ids: readonly number[], local: ReadonlySet<number>) => string[],
): BodyStep[] {
  const local = new Set(t.stage.nodes);
  const tileBuffers = new Set(t.forward.flatMap((p) => product(p).writes));
  const stageReads = readsOf(t.stage.nodes, local);
  const states = (levels: number) =>
    t.statistics.slice(0, levels).flatMap((l) => l.map((s) => s.state));
  const tile = { dims: [], tileWidth: true };
  const forward = t.forward.map((p) => ({ ...product(p), tiled: 'n' as const }));
  const rowStep = (
    role: TileRowStep['role'],
    level: number,
    reads: string[],
    writes: string[],
  ): TileRowStep => ({ kind: 'tile-row', role, sweep, level, reads, writes });
  const body: BodyStep[] = t.before.map(step);
  t.statistics.forEach((level, k) => {
    const loop: TileLoop = {
      kind: 'tiles',
      dim: t.dim,
      tile,
      pass: k + 1,
      backward: false,
      reverse: k % 2 === 1,
      reusesTile: k > 0,
      body: [
        ...forward,
        rowStep(
          'statistics',
          k + 1,
          [...stageReads, ...states(k)],
          level.map((s) => s.state),
        ),
      ],
    };
    body.push(loop);
  });
  const all = t.statistics.length;
  const storesOf = (ids: readonly number[]) =>
    ids.flatMap((id) => step({ kind: 'row', nodes: [], stores: [id] }).writes);
  if (t.rowStores.length)
    body.push(
      rowStep(
        'finish',
        all,
        [...stageReads.filter((b) => !tileBuffers.has(b)), ...states(all)],
        storesOf(t.rowStores),
      ),
    );
  if (t.backward.length)
    body.push({
      kind: 'tiles',
      dim: t.dim,
      tile,
      pass: all + 1,
      backward: true,
      reverse: all % 2 === 1,
      reusesTile: all > 0,
      body: [
        ...forward,
        rowStep('dz', all, [...stageReads, ...states(all)], storesOf(t.dz)),
        ...t.backward.map((p) => ({
          ...product(p),
          tiled: p.roles.k.includes(t.dim) ? ('k' as const) : ('m' as const),
        })),
      ],
    });
  body.push(...t.after.map(step));
  return body;
}

function statisticsOf(
  fn: IrFunction,
  classes: ReadonlyMap<number, ValueClass>,
  plan: Flat,
): RowStatistic[] {
  return fn.nodes.flatMap((n): RowStatistic[] => {
    if (!monoidOf(n.op)) return [];
    const cls = classes.get(n.id);
    const scope = cls === 'row' ? 'row' : cls === 'carried' ? 'carried' : 'global';
    const buffer =
      plan.buffers.find((b) => b.node === n.id && b.role === 'accumulator')?.name ??
      homeOf(plan, n.id);
    return [
      {
        node: n.id,
        name: fn.labels?.get(n.id) ?? `%${n.id}`,
        monoid: n.op,
        over: n.attrs.axes ?? [],
        scope,
        ...(buffer ? { buffer } : {}),
      },
    ];
  });
}
