// Bit-exact conversions between f32 and the 16-bit storage formats bf16 and f16.
//
// bf16 is the top half of an f32 (1 sign, 8 exponent, 7 mantissa bits); f16 is IEEE
// binary16 (1 sign, 5 exponent, 10 mantissa bits, bias 15). Both narrowings round to
// nearest, ties to even, exactly as PyTorch's `.to(torch.bfloat16)` / `.to(torch.float16)`
// and numpy's `astype(np.float16)` do from f32. Inputs are numbers (f64) and are first
// rounded to f32 with Math.fround, because the reference conversions start from f32: a
// double that lies between two f32s is rounded twice (f64 → f32 → 16 bits), as in PyTorch.

// Shared scratch: writing a number to F32[0] rounds it to f32 and exposes its bits in U32[0].
const SCRATCH = new ArrayBuffer(4);
const F32 = new Float32Array(SCRATCH);
const U32 = new Uint32Array(SCRATCH);

/** The bf16 pattern PyTorch's scalar conversion gives every NaN (positive, quiet). */
export const BF16_NAN = 0x7fc0;
/** The f16 pattern for a NaN (quiet, sign kept), as in PyTorch's `fp16_ieee_from_fp32_value`. */
export const F16_QUIET_NAN = 0x7e00;

/** The IEEE f32 bit pattern of `x` rounded to f32. */
export function f32Bits(x: number): number {
  F32[0] = x;
  return U32[0] ?? 0;
}

/** The f32 value of a 32-bit pattern. */
export function f32FromBits(bits: number): number {
  U32[0] = bits >>> 0;
  return F32[0] ?? 0;
}

/** f32 bits → bf16 bits, round to nearest even; see `f32ToBf16Bits`. */
function bf16FromF32Bits(u: number): number {
  // NaN: exponent all ones, mantissa non-zero. Rounding would turn small payloads into inf.
  if ((u & 0x7fffffff) > 0x7f800000) return BF16_NAN;
  // c10::round_to_nearest_even: add 0x7fff plus the lowest kept bit, then truncate. A
  // remainder above half carries, exactly half carries only when the kept part is odd, and
  // a carry out of the mantissa bumps the exponent (so the largest f32s overflow to inf).
  // u + 0x8000 <= 0xff808000 < 2^32 for non-NaN u, so the sum is an exact integer.
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Rounds `x` to f32, then to bf16 (round to nearest, ties to even), and returns the 16-bit
 * pattern. ±inf and ±0 are kept; finite values past the bf16 range round to ±inf; every
 * NaN becomes the quiet NaN 0x7fc0, as in PyTorch's scalar conversion.
 */
export function f32ToBf16Bits(x: number): number {
  return bf16FromF32Bits(f32Bits(x));
}

/** The f32 value of a bf16 pattern (exact: bf16 is the upper half of an f32). */
export function bf16BitsToF32(bits: number): number {
  return f32FromBits((bits & 0xffff) << 16);
}

/** f32 bits → f16 bits, round to nearest even; see `f32ToF16Bits`. */
function f16FromF32Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? F16_QUIET_NAN : 0x7c00);
  // |x| >= 2^16 always overflows (the largest f16 is 65504 = (2 - 2^-10)·2^15).
  if (exp >= 143) return sign | 0x7c00;
  if (exp >= 113) {
    // Normal f16 range 2^-14 <= |x| < 2^16: rebias the exponent (127 → 15, i.e. -112),
    // keep the top 10 mantissa bits, round on the 13 dropped ones. A carry out of the
    // mantissa increments the exponent field, which also turns 65520 into inf (0x7c00).
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  // Subnormal f16 (or zero): the result counts units of 2^-24. With the implicit bit, |x| =
  // m·2^(exp-150), so |x| / 2^-24 = m / 2^(126-exp). For shift >= 25 that quotient is below
  // 1/2 (m < 2^24) and rounds to 0. f32 subnormals (exp 0) land there too.
  const shift = 126 - exp;
  if (shift >= 25) return sign;
  const m = mant | 0x800000;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  // Rounding up from 0x3ff gives 0x400, the smallest normal, which is the right pattern.
  if (rest > half || (rest === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/**
 * Rounds `x` to f32, then to IEEE f16 (round to nearest, ties to even, with subnormals),
 * and returns the 16-bit pattern. Values from 65520 up overflow to ±inf; NaN becomes the
 * quiet NaN 0x7e00 with the sign of the input.
 */
export function f32ToF16Bits(x: number): number {
  return f16FromF32Bits(f32Bits(x));
}

/** The value of an f16 pattern (exact in f32 and f64). */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** `x` rounded to f32. */
export function roundToF32(x: number): number {
  return Math.fround(x);
}

/** `x` stored as bf16 and read back (f32 first, then bf16, ties to even). */
export function roundToBf16(x: number): number {
  return bf16BitsToF32(f32ToBf16Bits(x));
}

/** `x` stored as f16 and read back (f32 first, then f16, ties to even). */
export function roundToF16(x: number): number {
  return f16BitsToF32(f32ToF16Bits(x));
}

/** Element-wise `f32ToBf16Bits` of an f32 array. */
export function f32ToBf16Array(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = bf16FromF32Bits(bits[i] ?? 0);
  return out;
}

/** Element-wise `bf16BitsToF32`. */
export function bf16BitsToF32Array(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < u16.length; i++) outBits[i] = (u16[i] ?? 0) << 16;
  return out;
}

/** Element-wise `f32ToF16Bits` of an f32 array. */
export function f32ToF16Array(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = f16FromF32Bits(bits[i] ?? 0);
  return out;
}

/** Element-wise `f16BitsToF32`. */
export function f16BitsToF32Array(u16: Uint16Array): Float32Array {
  const out = new Float32Array(u16.length);
  for (let i = 0; i < u16.length; i++) out[i] = f16BitsToF32(u16[i] ?? 0);
  return out;
}
