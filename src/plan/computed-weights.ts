import type { IrFunction } from '../ir/types.ts';
import type { ValueClass } from './types.ts';

/**
 * Computed weights: values without rows, computed from parameters only (`invariant`), that a
 * product reads as its weight (`Wn = W / norm(W, H)`, then `X @ Wn.T`). The plan
 * materializes each once, whole, into a buffer of its own before the first sweep (one
 * global kernel, one thread per element), and every product of every sweep reads that
 * buffer. The gradient needs nothing special: autodiff turns the product's weight
 * gradient into a carried `dWn += dzᵀ·Xc`, and the chain through the normalization
 * (`dW = f'(W)ᵀ dWn`) is post-sweep work, written by the epilogue once dWn is complete.
 */
export function computedWeights(
  fn: IrFunction,
  classes: ReadonlyMap<number, ValueClass>,
): Set<number> {
  const out = new Set<number>();
  for (const n of fn.nodes) {
    if (n.op !== 'dot') continue;
    for (const i of n.inputs) {
      const x = fn.nodes[i];
      if (
        x &&
        x.dims.length > 0 &&
        classes.get(i) === 'invariant' &&
        x.op !== 'const' &&
        x.op !== 'index' &&
        x.op !== 'size'
      )
        out.add(i);
    }
  }
  return out;
}
