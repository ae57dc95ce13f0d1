import type { IrFunction, Node } from '../ir/types.ts';

/**
 * The operands of max/min reductions whose ties are tested: `x` in `eq(x, max(x, d))`, the
 * mask of the max/min gradient (split evenly among the elements equal to the result). A
 * computed `x` must be the same f32 values in the reduction and in the tie test: WGSL lets
 * a compiler evaluate two copies of one expression differently (Mesa turned `(z − lse) + 3`
 * into `z + (3 − lse)` in one loop of a row kernel and not in another), and then no element
 * equals the max, the tie count is 0 and the gradient g/0·0 is NaN. So the plan stores such
 * an `x` once and every reader loads those stored values: the max is one of them exactly,
 * the count is at least 1, and the mask holds where the count found it. Parameters and
 * products are stored already (their loads are exact), so they are left out.
 */
export function tieOperands(fn: IrFunction): Set<number> {
  const out = new Set<number>();
  for (const e of fn.nodes) {
    if (e.op !== 'eq') continue;
    const [a, b] = e.inputs.map((i) => fn.nodes[i]);
    for (const [x, r] of [
      [a, b],
      [b, a],
    ] as const)
      if (isTie(x, r)) out.add(x.id);
  }
  return out;
}

function isTie(x: Node | undefined, r: Node | undefined): x is Node {
  return (
    x !== undefined &&
    r !== undefined &&
    (r.op === 'max' || r.op === 'min') &&
    r.inputs[0] === x.id &&
    x.op !== 'param' &&
    x.op !== 'dot'
  );
}

/**
 * Splits the row nodes of one stage so that a tie operand is stored by a stage before every
 * reader of it (the max/min, the tie test): depth(v) = max over inputs i in the stage of
 * depth(i), plus one where i is a tie operand. A stage per depth; nodes other than tie
 * operands move as late as their consumers in the stage allow (the rest of the stage's work
 * stays where it was), so the stage of a tie operand computes the operand and what it is
 * computed from only. With the stores of such a stage fixed for the whole graph (buffers.ts),
 * it is the same module in every sweep that computes it: a max over rows, folded in one sweep
 * and tested in later ones, meets the same per-row values.
 */
export function tieStages(
  fn: IrFunction,
  nodes: readonly number[],
  ties: ReadonlySet<number>,
): number[][] {
  const here = new Set(nodes);
  const order = [...nodes].sort((a, b) => a - b);
  const depth = new Map<number, number>();
  for (const id of order) {
    let d = 0;
    for (const i of fn.nodes[id]?.inputs ?? [])
      if (here.has(i)) d = Math.max(d, (depth.get(i) ?? 0) + (ties.has(i) ? 1 : 0));
    depth.set(id, d);
  }
  const deepest = Math.max(0, ...depth.values());
  if (deepest === 0) return [order];
  const users = new Map<number, number[]>();
  for (const id of order)
    for (const i of fn.nodes[id]?.inputs ?? [])
      if (here.has(i)) users.set(i, [...(users.get(i) ?? []), id]);
  for (const id of [...order].reverse()) {
    if (ties.has(id)) continue;
    const us = users.get(id) ?? [];
    const latest = us.length ? Math.min(...us.map((u) => depth.get(u) ?? 0)) : deepest;
    depth.set(id, Math.max(depth.get(id) ?? 0, latest));
  }
  const parts: number[][] = [];
  for (let d = 0; d <= deepest; d++) {
    const part = order.filter((id) => depth.get(id) === d);
    if (part.length) parts.push(part);
  }
  return parts;
}
