import { UserError } from '../diagnostics/diagnostic.ts';
import type { DType, Dim } from '../ir/types.ts';
import type { DeviceTensor, InputSource } from '../runtime/input-sources.ts';

/**
 * A tensor handed to the runtime, row-major over the parameter's dims:
 * - `{ data, shape }`: values as any numeric array. A Float32Array for an f32 parameter
 *   and an Int32Array for an i32 one are uploaded as they are; a Float32Array for a
 *   bf16/f16 parameter is rounded on the device; anything else is packed on the host.
 * - `{ bits, dtype, shape }`: bf16/f16 bit patterns (a Uint16Array), uploaded as they are.
 * - `{ buffer, dtype, shape, offset? }`: a GPUBuffer of the caller's on the runtime's
 *   device, `dtype` saying how it stores its elements (f32, bf16/f16 packed two per u32,
 *   i32, bool as 0/1 words). Bound as it is when the storage matches and `offset` is 0;
 *   copied or converted on the device otherwise; never read by the host.
 * - a number, for a scalar.
 */
export type TensorInput =
  | number
  | { readonly data: ArrayLike<number>; readonly shape: readonly number[] }
  | {
      readonly bits: Uint16Array;
      readonly dtype: 'bf16' | 'f16';
      readonly shape: readonly number[];
    }
  | DeviceTensor;

function shapeError(message: string): UserError {
  return new UserError({ severity: 'error', code: 'P0408', message });
}

/** Checks an input against its parameter's declaration and says where its values are. */
export function toSource(
  name: string,
  dtype: DType,
  dims: readonly Dim[],
  v: TensorInput,
): InputSource {
  if (typeof v === 'number') {
    if (dims.length)
      throw shapeError(
        `\`${name}\` needs a tensor of ${dims.length} dims [${dims.join(', ')}], got a number`,
      );
    return { kind: 'scalar', value: checkI32(name, dtype, [v]) };
  }
  if (v.shape.length !== dims.length)
    throw shapeError(
      `\`${name}\` has ${v.shape.length} dims [${v.shape.join(', ')}], but its declaration has ${dims.length}: [${dims.join(', ')}]`,
    );
  const n = v.shape.reduce((s, x) => s * x, 1);
  if ('buffer' in v) return { kind: 'device', ...v, shape: [...v.shape] };
  const data = 'bits' in v ? v.bits : v.data;
  if (data.length !== n)
    throw shapeError(
      `\`${name}\` has shape [${v.shape.join(', ')}] (${n} elements) but ${data.length} values`,
    );
  if ('bits' in v) {
    if (v.dtype !== dtype)
      throw shapeError(`\`${name}\` holds ${v.dtype} bits but the parameter is ${dtype}`);
    return { kind: 'host', shape: [...v.shape], data, bits: v.dtype };
  }
  checkI32(name, dtype, data, v.shape.length > 0);
  // A scalar given as a one-element tensor of shape [] stays a scalar (the uniform).
  if (dims.length === 0) return { kind: 'scalar', value: data[0] ?? 0 };
  return { kind: 'host', shape: [...v.shape], data };
}

/**
 * Host values of an i32 input must be integers in [-2^31, 2^31): a target of 2^32 + 3
 * would otherwise wrap to 3 on upload, and an `ignore_index` of 0.5 truncate to 0, both
 * silently. (A GPUBuffer's words are i32 already.) Returns the first value.
 */
function checkI32(name: string, dtype: DType, data: ArrayLike<number>, indexed = false): number {
  if (dtype === 'i32')
    for (let i = 0; i < data.length; i++) {
      const x = data[i] ?? 0;
      if (Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31) continue;
      throw new UserError({
        severity: 'error',
        code: 'P0407',
        message: `\`${name}\` is i32, but its value ${x}${indexed ? ` at index ${i}` : ''} is not an integer in [-2^31, 2^31)`,
      });
    }
  return data[0] ?? 0;
}
