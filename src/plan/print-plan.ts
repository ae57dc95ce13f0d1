import { nodeText } from '../ir/print.ts';
import type { IrFunction } from '../ir/types.ts';
import type { ChunkPlan, Stage, TiledSweep } from './types.ts';

function stageText(fn: IrFunction, st: Stage): string {
  const name = (id: number) => {
    const l = fn.labels?.get(id);
    return l ? `%${id} (${l})` : `%${id}`;
  };
  switch (st.kind) {
    case 'matmul':
      return `matmul   ${nodeText(fn.nodes[st.node]!)}`;
    case 'row':
      return `row      computes ${st.nodes.map(name).join(' ')}${st.stores.length ? `; stores ${st.stores.map(name).join(' ')}` : ''}`;
    case 'carry':
      return `carry    ${nodeText(fn.nodes[st.node]!)}`;
  }
}

/** The plan's shape in words: `rows-only`, or `rows × V tiles of 8192`. */
export function shapeText(shape: ChunkPlan['shape']): string {
  return shape.kind === 'rows' ? 'rows-only' : `rows × ${shape.dim} tiles of ${shape.width}`;
}

/** A tiled sweep's chunk body: the stages before, the passes over the tiles, the stages after. */
function tiledText(fn: IrFunction, t: TiledSweep): string[] {
  const name = (id: number) => {
    const l = fn.labels?.get(id);
    return l ? `%${id} (${l})` : `%${id}`;
  };
  const out = t.before.map((st) => `    ${stageText(fn, st)}`);
  const forward = t.forward.map((st) => `      ${stageText(fn, st)} over the tile`);
  t.statistics.forEach((level, k) => {
    out.push(`    for each tile of ${t.width} along ${t.dim} (statistics pass ${k + 1}):`);
    out.push(...forward);
    out.push(
      `      merge    ${level.map((s) => `${name(s.node)} ${s.of !== undefined ? `as Σ of logsumexp(%${s.of})` : `by ${s.monoid}`}`).join(', ')}`,
    );
  });
  if (t.rowStores.length) out.push(`    finish   stores ${t.rowStores.map(name).join(' ')}`);
  if (t.backward.length) {
    out.push(`    for each tile of ${t.width} along ${t.dim} (backward pass):`);
    out.push(...forward);
    out.push(`      dz       stores ${t.dz.map(name).join(' ')} over the tile`);
    for (const st of t.backward) out.push(`      ${stageText(fn, st)} over the tile`);
  }
  out.push(...t.after.map((st) => `    ${stageText(fn, st)}`));
  return out;
}

/** The chunk plan as text, for `projc ir` and `projc plan`. */
export function printPlan(fn: IrFunction, plan: ChunkPlan): string {
  const lines = [
    `chunk plan of ${plan.kernel}: rows [${plan.rows.join(', ')}], ${plan.sweeps.length} sweep${plan.sweeps.length === 1 ? '' : 's'}${plan.shape.kind === 'tiles' ? `, ${shapeText(plan.shape)}` : ''}`,
  ];
  for (const g of plan.globals.filter((x) => x.before === 0))
    lines.push(`  before sweep 0: ${nodeText(fn.nodes[g.node]!)}`);
  for (const sw of plan.sweeps) {
    lines.push(
      sw.pre
        ? `  sweep ${sw.index}: a pre-pass over all the rows at once (no products):`
        : `  sweep ${sw.index} (${sw.projections} projection${sw.projections === 1 ? '' : 's'} per chunk), for each chunk of rows${sw.rowDims.length < plan.rows.length ? ` [${sw.rowDims.join(', ')}]` : ''}:`,
    );
    if (sw.tiled) lines.push(...tiledText(fn, sw.tiled));
    else for (const st of sw.stages) lines.push(`    ${stageText(fn, st)}`);
    for (const g of plan.globals.filter((x) => x.before === sw.index + 1))
      lines.push(`  after sweep ${sw.index}: ${nodeText(fn.nodes[g.node]!)}`);
  }
  if (plan.epilogue.length)
    lines.push(`  epilogue: ${plan.epilogue.map((id) => `%${id}`).join(' ')}`);
  lines.push('  buffers:');
  for (const b of plan.buffers)
    lines.push(
      `    ${b.name.padEnd(18)} ${b.home.padEnd(6)} ${b.role.padEnd(11)} ${b.dtype}[${b.dims.join(', ')}]${b.aliasOf ? ` (reuses ${b.aliasOf})` : ''}${b.tile ? ` (a tile of ${b.tile.width} along ${b.tile.dim} a row)` : ''}${b.role === 'state' ? ` (${b.elements.factor ?? 1} word${(b.elements.factor ?? 1) === 1 ? '' : 's'} a row)` : ''}`,
    );
  return lines.join('\n') + '\n';
}

/** One line per sweep, for run reports: `sweep 1: X·W → row kernel → dz·W → dzᵀ·X (+=) → carry`. */
export function planSummary(fn: IrFunction, plan: ChunkPlan): string[] {
  const name = (id: number) => {
    const n = fn.nodes[id];
    const p = n?.op === 'param' ? n.attrs.name : undefined;
    return (
      p ??
      fn.labels?.get(id) ??
      (fn.nodes[id]?.dims.some((d) => !plan.rows.includes(d)) ? 'dz' : `%${id}`)
    );
  };
  const text = (st: Stage) => {
    if (st.kind === 'row') return 'row kernel';
    if (st.kind === 'carry') return 'carry';
    const n = fn.nodes[st.node];
    const [a, b] = (n?.inputs ?? []).map(name);
    return `${a}·${b} [${n?.dims.join(', ')}]${plan.classes.get(st.node) === 'carried' ? ' (+=)' : ''}`;
  };
  return plan.sweeps.map((sw) => {
    const t = sw.tiled;
    const steps = t
      ? [
          ...t.before.map(text),
          ...t.statistics.map(
            (_, k) =>
              `[${t.dim} tiles of ${t.width}: ${t.forward.map(text).join(' → ')} → statistics ${k + 1}]`,
          ),
          ...(t.rowStores.length ? ['finish'] : []),
          ...(t.backward.length
            ? [
                `[${t.dim} tiles of ${t.width}: ${[...t.forward.map(text), 'dz', ...t.backward.map(text)].join(' → ')}]`,
              ]
            : []),
          ...t.after.map(text),
        ]
      : sw.stages.map(text);
    return `${sw.pre ? `pre-pass ${sw.index} (all rows at once)` : `sweep ${sw.index}`}: ${steps.join(' → ')}`;
  });
}
