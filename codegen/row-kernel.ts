import { InternalError } from '../src/diagnostics/diagnostic.ts';
import type { Dim, IrFunction, Node } from '../src/ir/types.ts';
import type { ChunkPlan, Stage } from '../src/plan/types.ts';
import { rowEnv, rowFrame } from './row-frame.ts';
import { GRID_X, type KernelModule } from './kernel-module.ts';
import type { ProgramLayout } from './layout.ts';
import { reduction, treeReduce } from './reduce-wgsl.ts';
import { helperSource } from './wgsl-helpers.ts';
import { monoidOf } from '../src/ops/registry.ts';

/** The non-row dim of a row value, if it has one. */
function innerDim(n: Node, rows: readonly Dim[]): Dim | undefined {
  return n.dims.find((d) => !rows.includes(d));
}

/**
 * A fused row kernel: one workgroup per row of the chunk computes the stage's row values.
 * Reductions over a row's inner dim (logsumexp over V, ...) run as strided loops whose
 * partial results meet in a workgroup tree; reductions that need earlier ones wait for them
 * (one loop per level). Per-element values are recomputed inside each loop rather than
 * stored (fusion); the stage's stores are written in a final loop, so a value may overwrite
 * the chunk buffer it was computed from (dz over z).
 */
export function rowKernel(
  fn: IrFunction,
  plan: ChunkPlan,
  layout: ProgramLayout,
  stage: Extract<Stage, { kind: 'row' }>,
  name: string,
  wg: number,
): KernelModule {
  const env = rowEnv(fn, plan, layout, stage.nodes);
  const { bindings } = env;
  const rows = plan.rows;
  const node = (id: number) => fn.nodes[id] as Node;
  const inStage = new Set(stage.nodes);
  const isRowReduction = (n: Node) => {
    if (!monoidOf(n.op)) return false;
    const x = node(n.inputs[0] ?? -1);
    const inner = innerDim(x, rows);
    return inner !== undefined && (n.attrs.axes ?? []).length === 1 && n.attrs.axes?.[0] === inner;
  };
  for (const id of stage.nodes) {
    const n = node(id);
    if (monoidOf(n.op) && !isRowReduction(n))
      throw new InternalError(`row stage holds a reduction %${id} that is not over its inner dim`);
  }
  // Levels: a reduction needs a loop after everything it reads.
  const level = new Map<number, number>();
  for (const id of stage.nodes) {
    const n = node(id);
    const l = Math.max(0, ...n.inputs.filter((i) => inStage.has(i)).map((i) => level.get(i) ?? 0));
    level.set(id, isRowReduction(n) ? l + 1 : l);
  }
  const maxLevel = Math.max(0, ...level.values());

  // Coordinates of the row: g = chunkStart + lr unflattened over the row dims.
  const { U, head, row, body, shared, flush } = rowFrame(env, layout, rows);
  const scalarsUpTo = (L: number) => {
    for (const id of stage.nodes) {
      const n = node(id);
      if (innerDim(n, rows) === undefined && (level.get(id) ?? 0) <= L && !isRowReduction(n))
        row.value(id);
    }
    flush();
  };

  let acc = 0;
  for (let L = 1; L <= maxLevel; L++) {
    scalarsUpTo(L - 1);
    const here = stage.nodes.filter((id) => level.get(id) === L && isRowReduction(node(id)));
    const byDim = new Map<Dim, number[]>();
    for (const id of here) {
      const d = innerDim(node(node(id).inputs[0] ?? -1), rows) ?? '';
      byDim.set(d, [...(byDim.get(d) ?? []), id]);
    }
    for (const [d, ids] of byDim) {
      const loop = row.child(new Map([[d, 'i']]));
      const reds = ids.map((id) => ({
        id,
        r: reduction(monoidOf(node(id).op) ?? noMonoid(id), node(id).dtype),
        v: `a${acc++}`,
      }));
      for (const x of reds) for (const h of x.r.helpers) env.helpers.add(h);
      for (const x of reds) body.push(`var ${x.v} = ${x.r.init};`);
      for (const x of reds) {
        const v = loop.value(node(x.id).inputs[0] ?? -1);
        loop.lines.push(`${x.v} = ${x.r.push(x.v, v)};`);
      }
      body.push(
        `for (var i = lid; i < ${row.size(d)}; i = i + ${wg}u) {`,
        ...loop.lines.map((l) => `  ${l}`),
        '}',
      );
      for (const x of reds) {
        const sh = `red_${x.v}`;
        shared.push(`var<workgroup> ${sh}: array<${x.r.type}, ${wg}>;`);
        body.push(...treeReduce(sh, x.v, x.r, wg));
        row.define(x.id, `${x.v}_all`);
        body.push(`let ${x.v}_all = ${x.r.finish(`${sh}[0]`)};`);
      }
    }
  }
  scalarsUpTo(maxLevel);

  // Stores: per-element values in a final loop per inner dim, per-row values by thread 0.
  const destinations = (id: number) =>
    plan.buffers.filter((b) => b.node === id && b.role !== 'input' && b.role !== 'accumulator');
  const vectorStores = new Map<Dim, number[]>();
  const scalarStores: number[] = [];
  for (const id of stage.stores) {
    const d = innerDim(node(id), rows);
    if (d === undefined) scalarStores.push(id);
    else vectorStores.set(d, [...(vectorStores.get(d) ?? []), id]);
  }
  for (const [d, ids] of vectorStores) {
    const loop = row.child(new Map([[d, 'i']]));
    const values = ids.map((id) => loop.value(id));
    ids.forEach((id, k) => {
      for (const b of destinations(id)) loop.lines.push(loop.store(b, values[k] ?? ''));
    });
    body.push(
      `for (var i = lid; i < ${row.size(d)}; i = i + ${wg}u) {`,
      ...loop.lines.map((l) => `  ${l}`),
      '}',
    );
  }
  // A stage of per-row scalars only (no reduction over an inner dim, nothing per element
  // stored: the pre-pass's `keep`) has one thread's work per row: one thread per row, not a
  // workgroup per row whose other threads idle.
  const perRow = maxLevel === 0 && vectorStores.size === 0;
  if (scalarStores.length) {
    const lines = scalarStores.flatMap((id) =>
      destinations(id).map((b) => row.store(b, row.value(id))),
    );
    flush();
    if (perRow) body.push(...lines);
    else body.push('if (lid == 0u) {', ...lines.map((l) => `  ${l}`), '}');
  }

  const code = [
    helperSource(env.helpers),
    bindings.declarations(Math.ceil(layout.uniform.length / 4)),
    ...shared,
    `@compute @workgroup_size(${wg})`,
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
    perRow
      ? `  let lr = (wid.y * ${GRID_X}u + wid.x) * ${wg}u + lid;`
      : `  let lr = wid.y * ${GRID_X}u + wid.x;`,
    `  if (lr >= ${U((w) => w.kind === 'chunkRows')}) { return; }`,
    `  let g = ${U((w) => w.kind === 'chunkStart')} + lr;`,
    ...head.map((l) => `  ${l}`),
    ...body.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
  return {
    name,
    code,
    workgroupSize: wg,
    bindings: bindings.specs(),
    dispatch: perRow
      ? { kind: 'elements', count: { dims: [], chunkRows: true } }
      : { kind: 'rows' },
  };
}

function noMonoid(id: number): never {
  throw new InternalError(`%${id} is not a reduction`);
}
