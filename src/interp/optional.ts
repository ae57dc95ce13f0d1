import { UserError } from '../diagnostics/diagnostic.ts';
import type { Dim, IrFunction } from '../ir/types.ts';
import { scalarTensor, type Tensor } from '../tensor/tensor.ts';

/**
 * Completes the inputs of a kernel with optional tensor parameters (`b: f32[V]?`), after
 * `bindDims`: an absent one becomes zeros of its bound shape and its hidden `present(b)`
 * flag false; a given one sets the flag true. A gradient asked of an absent optional tensor
 * is an error (P0431): like PyTorch's `bias=None`, it has none. Every backend binds through
 * here, so `b` absent means the same on each.
 */
export function completeOptional(
  fn: IrFunction,
  tensors: Map<string, Tensor>,
  sizes: ReadonlyMap<Dim, number>,
  grad: readonly string[] = [],
): void {
  for (const p of fn.params) {
    if (p.presenceOf === undefined) continue;
    const of = fn.params.find((q) => q.name === p.presenceOf);
    if (!of) continue;
    // A flag already false: inputs completed before (saved for a later backward).
    const present = tensors.has(of.name) && (tensors.get(p.name)?.data[0] ?? 1) !== 0;
    tensors.set(p.name, scalarTensor('bool', present ? 1 : 0));
    if (present) continue;
    if (grad.includes(of.name))
      throw new UserError({
        severity: 'error',
        code: 'P0431',
        message: `no gradient for \`${of.name}\`: the optional tensor was not given`,
        help: [`give \`${of.name}\`, or leave it out of the gradients`],
      });
    if (tensors.has(of.name)) continue;
    const shape = of.dims.map((d) => sizes.get(d) ?? 0);
    tensors.set(of.name, {
      dtype: of.dtype,
      dims: of.dims,
      shape,
      data: new Float64Array(shape.reduce((a, b) => a * b, 1)),
    });
  }
}
