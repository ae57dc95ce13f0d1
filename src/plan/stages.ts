import type { Dim, IrFunction } from '../ir/types.ts';
import { productRoles } from './products.ts';
import { tieOperands, tieStages } from './tie-operands.ts';
import type { Stage, ValueClass } from './types.ts';

/**
 * Orders one sweep's work for each chunk. Row values are leveled by the products they wait
 * for: level(v) = max over row inputs i of level(i) + [i is a product]. Row stage L computes
 * the non-product values of level L; the products of level L run after it; the carried
 * reductions fold the chunk's partials last.
 */
export function sweepStages(
  fn: IrFunction,
  cls: ReadonlyMap<number, ValueClass>,
  rowIds: readonly number[],
  carriedIds: readonly number[],
  rows: readonly Dim[],
): { stages: Stage[]; level: Map<number, number> } {
  const inSweep = new Set([...rowIds, ...carriedIds]);
  const level = new Map<number, number>();
  const isDot = (id: number) => fn.nodes[id]?.op === 'dot';
  for (const id of [...inSweep].sort((a, b) => a - b)) {
    const node = fn.nodes[id];
    if (!node) continue;
    let l = 0;
    for (const i of node.inputs)
      if (cls.get(i) === 'row' && level.has(i))
        l = Math.max(l, (level.get(i) ?? 0) + (isDot(i) ? 1 : 0));
    level.set(id, l);
  }
  // Then as late as the consumers allow, so that a value computed before the products is
  // not stored for a later stage when it could be computed there: a row value moves to the
  // earliest stage among its consumers (an operand of a product of level L stays in stage L).
  const users = new Map<number, number[]>();
  for (const id of inSweep)
    for (const i of fn.nodes[id]?.inputs ?? [])
      if (inSweep.has(i)) users.set(i, [...(users.get(i) ?? []), id]);
  for (const id of [...rowIds].sort((a, b) => b - a)) {
    if (isDot(id)) continue;
    const consumers = (users.get(id) ?? []).filter((u) => cls.get(u) === 'row' || isDot(u));
    if (!consumers.length) continue;
    level.set(
      id,
      Math.max(level.get(id) ?? 0, Math.min(...consumers.map((u) => level.get(u) ?? 0))),
    );
  }
  const maxLevel = Math.max(0, ...level.values());
  const ties = tieOperands(fn);
  const stages: Stage[] = [];
  for (let L = 0; L <= maxLevel; L++) {
    const rowNodes = rowIds.filter((id) => level.get(id) === L && !isDot(id));
    // Tie operands of max/min gradients are stored by a stage before their readers.
    if (rowNodes.length)
      for (const nodes of tieStages(fn, rowNodes, ties))
        stages.push({ kind: 'row', nodes, stores: [] });
    for (const id of [...rowIds, ...carriedIds].sort((a, b) => a - b))
      if (level.get(id) === L && isDot(id))
        stages.push({ kind: 'matmul', node: id, roles: productRoles(fn, cls, rows, id) });
  }
  for (const id of carriedIds) if (!isDot(id)) stages.push({ kind: 'carry', node: id });
  return { stages, level };
}
