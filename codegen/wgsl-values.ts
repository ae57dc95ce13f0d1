import { isFloat, type DType } from '../src/ir/types.ts';

/** The WGSL type a value of an IR dtype has inside kernels (floats compute in f32). */
export function wgslType(d: DType): 'f32' | 'i32' | 'bool' {
  return isFloat(d) ? 'f32' : d === 'i32' ? 'i32' : 'bool';
}

const F32_MAX = 3.4028234663852886e38;

/** A literal of the value type of `d`. */
export function literal(v: number, d: DType): string {
  const t = wgslType(d);
  if (t === 'bool') return v ? 'true' : 'false';
  if (t === 'i32') return v === -2147483648 ? '(-2147483647i - 1i)' : `${v | 0}i`;
  if (Number.isNaN(v)) return 'nan_()';
  if (Math.abs(v) > F32_MAX) return v > 0 ? 'inf_()' : '(-inf_())';
  if (Object.is(v, -0)) return '-0.0';
  const s = String(v);
  return /[.e]/.test(s) ? (s.startsWith('-') ? `(${s})` : s) : `${s}.0`.replace(/^-(.*)$/, '(-$1)');
}

/** Reads a u32 word as a value of dtype `d` (the arena and uniforms hold words). */
export function fromWord(word: string, d: DType): string {
  const t = wgslType(d);
  return t === 'f32'
    ? `bitcast<f32>(${word})`
    : t === 'i32'
      ? `bitcast<i32>(${word})`
      : `(${word} != 0u)`;
}

/** A value of dtype `d` as a u32 word. */
export function toWord(v: string, d: DType): string {
  const t = wgslType(d);
  return t === 'bool' ? `select(0u, 1u, ${v})` : `bitcast<u32>(${v})`;
}
