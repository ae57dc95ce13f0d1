import type { IrFunction, Node } from '../ir/types.ts';
import { OPS } from '../ops/registry.ts';

/** Ops a kernel can recompute at any position from the parameters alone. */
const STRUCTURAL = new Set(['param', 'const', 'size', 'index', 'broadcast', 'transpose', 'gather']);

/**
 * Why the operand of a `shift`/`cumsum` cannot be recomputed at other positions, or
 * undefined when it can. A row kernel holds one chunk of rows, so a value at another row
 * (t + 1, or every s ≤ t) is recomputed there from the parameters, which are uploaded
 * whole; that works for values computed elementwise from parameters (targets, masks,
 * rewards: the pre-pass class), not for values of products or reductions.
 */
export function scanOperandProblem(fn: IrFunction, n: Node): string | undefined {
  const stack = [...n.inputs];
  const seen = new Set<number>();
  while (stack.length) {
    const id = stack.pop() as number;
    if (seen.has(id)) continue;
    seen.add(id);
    const x = fn.nodes[id];
    if (!x) continue;
    const inline =
      STRUCTURAL.has(x.op) ||
      x.op === 'shift' ||
      x.op === 'cumsum' ||
      OPS[x.op].kind === 'elementwise';
    if (!inline)
      return x.op === 'dot'
        ? 'reads a value computed from a projection'
        : `reads a value computed by \`${x.op}\` (a reduction)`;
    stack.push(...x.inputs);
  }
  return undefined;
}

/** The workaround P0302 names for a scan it rejects. */
export const SCAN_HELP =
  '`shift` and `cumsum` take values computed elementwise from parameters: shift or sum the inputs (the targets, the rewards) rather than what a projection computes, or pass the shifted tensor as a parameter; for the gradient of one, `detach` its operand or leave that parameter out of the gradients';
