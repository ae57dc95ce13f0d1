import type { Dim, IrFunction } from '../ir/types.ts';

/**
 * The row dims of a kernel (spec §8): the dims of the left operand of its projections other
 * than the contracted one, in the left operand's order. Empty when there is no projection.
 * Computed on the forward program (the backward's products would add the vocab dim).
 */
export function rowDimsOf(fn: IrFunction): Dim[] {
  const rows: Dim[] = [];
  for (const n of fn.nodes) {
    if (n.op !== 'dot') continue;
    const left = fn.nodes[n.inputs[0] ?? -1];
    for (const d of left?.dims ?? []) if (n.dims.includes(d) && !rows.includes(d)) rows.push(d);
  }
  return rows;
}
