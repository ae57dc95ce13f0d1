import { UserError } from '../diagnostics/diagnostic.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { DType, Dim } from '../ir/types.ts';

/**
 * A tensor handed to the runtime: values in row-major order over the parameter's dims, as
 * any numeric typed array or plain array (bf16/f16 parameters are rounded to their storage
 * on upload), or a number for a scalar.
 */
export type TensorInput =
  number | { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

export function toTensor(name: string, dtype: DType, dims: readonly Dim[], v: TensorInput): Tensor {
  if (typeof v === 'number') {
    if (dims.length)
      throw new UserError({
        severity: 'error',
        code: 'P0408',
        message: `\`${name}\` needs a tensor of ${dims.length} dims [${dims.join(', ')}], got a number`,
      });
    return { dtype, dims, shape: [], data: Float64Array.of(v) };
  }
  const n = v.shape.reduce((s, x) => s * x, 1);
  if (v.shape.length !== dims.length)
    throw new UserError({
      severity: 'error',
      code: 'P0408',
      message: `\`${name}\` has ${v.shape.length} dims [${v.shape.join(', ')}], but its declaration has ${dims.length}: [${dims.join(', ')}]`,
    });
  if (v.data.length !== n)
    throw new UserError({
      severity: 'error',
      code: 'P0408',
      message: `\`${name}\` has shape [${v.shape.join(', ')}] (${n} elements) but ${v.data.length} values`,
    });
  return { dtype, dims, shape: [...v.shape], data: Float64Array.from(v.data) };
}
