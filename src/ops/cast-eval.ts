import { roundToBf16, roundToF16 } from '../io/dtype-bits.ts';
import { makeTensor, type DimSizes, type Tensor } from '../tensor/tensor.ts';
import { isFloat, type DType, type Node } from '../ir/types.ts';

/**
 * Cast semantics: float → i32 truncates toward zero and saturates out of range (NaN → 0,
 * see `castToI32`), anything → bool is `!= 0`, bool → number is 0/1, float → bf16/f16
 * rounds to nearest even.
 */
export function castEval(args: readonly Tensor[], node: Node, sizes: DimSizes): Tensor {
  const a = args[0];
  const out = makeTensor(node.dtype, node.dims, sizes);
  if (!a) return out;
  const f = castFn(node.dtype);
  for (let i = 0; i < a.data.length; i++) out.data[i] = f(a.data[i] ?? 0);
  return out;
}

/** A value converted to dtype `to`, in float64 (f32 is kept exact: the interpreter's precision). */
export function castFn(to: Node['dtype']): (x: number) => number {
  switch (to) {
    case 'f32':
      return (x) => x;
    case 'bf16':
      return roundToBf16;
    case 'f16':
      return roundToF16;
    case 'i32':
      return castToI32;
    case 'bool':
      return (x) => (x !== 0 ? 1 : 0);
  }
}

/**
 * float → i32, the same rule on both backends (docs/language.md, "Casts to i32"): truncate
 * toward zero; past the ends of [-2^31, 2^31 − 1] (±inf included) saturate to the nearer
 * end; NaN → 0. WGSL's own conversion saturates too, and wrapping (`| 0`) would turn 1e10
 * into 1410065408.
 */
export function castToI32(x: number): number {
  if (Number.isNaN(x)) return 0;
  if (x >= 2 ** 31) return 2 ** 31 - 1;
  if (x <= -(2 ** 31)) return -(2 ** 31);
  return Math.trunc(x) + 0; // + 0 turns -0 into 0
}

/** The WGSL of a cast from a value of dtype `from` (floats are f32 in WGSL) to `to`. */
export function castWgsl(a: string, from: DType, to: DType): string {
  const f = isFloat(from) ? 'float' : from;
  const asF32 = f === 'bool' ? `select(0.0, 1.0, ${a})` : f === 'i32' ? `f32(${a})` : a;
  switch (to) {
    case 'f32':
      return asF32;
    case 'bf16':
      return `round_bf16_(${asF32})`;
    case 'f16':
      return `round_f16_(${asF32})`;
    case 'i32':
      return f === 'bool' ? `select(0i, 1i, ${a})` : f === 'i32' ? a : `trunc_i32_(${a})`;
    case 'bool':
      return f === 'bool' ? a : f === 'i32' ? `(${a} != 0i)` : `(${a} != 0.0)`;
  }
}
