// How tensors live in device buffers and how WGSL reads them.
//
// WGSL has no 16-bit storage without the optional `shader-f16` feature, so bf16 and f16
// are packed two per u32: element i is in word i >> 1, the low half first. That is the
// little-endian layout of a Uint16Array, so safetensors bytes upload as they are. Every
// read widens to f32 (language.md §6: arithmetic and accumulation are f32).
import { f32ToBf16Bits, f32ToF16Bits } from '../src/io/dtype-bits.ts';

/** The dtypes a tensor can be stored as on the device. */
export type StorageDtype = 'f32' | 'bf16' | 'f16' | 'i32' | 'bool';

/** The WGSL type of a storage buffer holding elements of `d`. */
export function wgslArrayType(d: StorageDtype): string {
  switch (d) {
    case 'f32':
      return 'array<f32>';
    case 'i32':
      return 'array<i32>';
    case 'bf16':
    case 'f16':
    case 'bool':
      return 'array<u32>';
  }
}

/**
 * A WGSL expression reading element `index` (a u32 expression, evaluated up to twice, so
 * keep it free of side effects) of `buffer`: an f32 for f32/bf16/f16, an i32 for i32, and
 * a u32 (0 or 1) for bool.
 */
export function loadExpr(buffer: string, d: StorageDtype, index: string): string {
  const i = `(${index})`;
  switch (d) {
    case 'f32':
    case 'i32':
    case 'bool':
      return `${buffer}[${i}]`;
    case 'bf16':
      // bf16 is the top half of an f32: move the wanted half (bits 16·(i&1)..) down, then
      // up into bits 16..31; the low mantissa bits become 0.
      return `bitcast<f32>((${buffer}[${i} >> 1u] >> ((${i} & 1u) << 4u)) << 16u)`;
    case 'f16':
      // unpack2x16float is core WGSL: no shader-f16 feature needed. Component 0 is the low half.
      return `unpack2x16float(${buffer}[${i} >> 1u])[${i} & 1u]`;
  }
}

/** Bytes of a buffer holding `count` elements of `d`, rounded up to a multiple of 4. */
export function bytesOf(d: StorageDtype, count: number): number {
  const raw = d === 'bf16' || d === 'f16' ? count * 2 : count * 4;
  return Math.ceil(raw / 4) * 4;
}

/** The element types `packForUpload` accepts: values, not bit patterns. */
export type NumericArray = ArrayLike<number>;

/**
 * The upload image of `values` stored as `d`: f32 → Float32Array (rounded to f32), i32 →
 * Int32Array (ToInt32: truncated, wrapped), bool → Uint32Array of 0/1 (non-zero is true),
 * bf16/f16 → Uint32Array of ⌈n/2⌉ words, each value rounded to nearest even from f32
 * (bit-exact with PyTorch), element 2w in the low half of word w, a trailing odd half 0.
 */
export function packForUpload(
  d: StorageDtype,
  values: NumericArray,
): Float32Array | Int32Array | Uint32Array {
  const n = values.length;
  switch (d) {
    case 'f32':
      return Float32Array.from(values);
    case 'i32':
      return Int32Array.from(values);
    case 'bool':
      return Uint32Array.from(values, (v) => (v !== 0 ? 1 : 0));
    case 'bf16':
    case 'f16': {
      const toBits = d === 'bf16' ? f32ToBf16Bits : f32ToF16Bits;
      const words = new Uint32Array(Math.ceil(n / 2));
      for (let i = 0; i < n; i++) {
        const bits = toBits(values[i] ?? 0);
        words[i >> 1] = (words[i >> 1] ?? 0) | (i & 1 ? bits << 16 : bits);
      }
      return words;
    }
  }
}
