import { roundToBf16, roundToF16 } from '../io/dtype-bits.ts';
import { makeTensor, type DimSizes, type Tensor } from '../interp/tensor.ts';
import type { Node } from '../ir/types.ts';

/**
 * Cast semantics (PyTorch's): float → i32 truncates toward zero (NaN → 0), anything → bool
 * is `!= 0`, bool → number is 0/1, float → bf16/f16 rounds to nearest even.
 */
export function castEval(args: readonly Tensor[], node: Node, sizes: DimSizes): Tensor {
  const a = args[0];
  const out = makeTensor(node.dtype, node.dims, sizes);
  if (!a) return out;
  const f = castFn(node.dtype);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i] ?? 0);
  return out;
}

function castFn(to: Node['dtype']): (x: number) => number {
  switch (to) {
    case 'f32':
      return (x) => x;
    case 'bf16':
      return roundToBf16;
    case 'f16':
      return roundToF16;
    case 'i32':
      return (x) => (Number.isFinite(x) ? Math.trunc(x) | 0 : 0);
    case 'bool':
      return (x) => (x !== 0 ? 1 : 0);
  }
}
