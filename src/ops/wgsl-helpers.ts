import type { WgslHelper } from './record.ts';

// WGSL helper functions the op records' expressions call (`log_`, `pow_`...). WGSL's built-ins
// leave some inputs undefined (log of a negative, pow of a negative base, clamp with lo > hi)
// or lose accuracy (log(1 + x) near 0); these give PyTorch's answers. Each record lists the
// helpers it calls, and a module includes those of the ops it renders (with what they call).

function helper(name: string, code: string, needs: readonly WgslHelper[] = []): WgslHelper {
  return { name, code: code.trim(), needs };
}

// Through a var: WGSL rejects NaN and inf as constant expressions. Every module has these
// three (literals of NaN and ±inf are spelled with them).
export const NAN = helper(
  'nan_',
  'fn nan_() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }',
);
export const INF = helper(
  'inf_',
  'fn inf_() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }',
);
export const ISNAN = helper(
  'isnan_',
  'fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }',
);
export const CORE_HELPERS: readonly WgslHelper[] = [NAN, INF, ISNAN];

export const LOG = helper(
  'log_',
  `
fn log_(x: f32) -> f32 {
  if (x < 0.0 || isnan_(x)) { return nan_(); }
  if (x == 0.0) { return -inf_(); }
  if (x == inf_()) { return x; }
  return log(x);
}`,
);
export const SQRT = helper(
  'sqrt_',
  'fn sqrt_(x: f32) -> f32 { if (x < 0.0 || isnan_(x)) { return nan_(); } return sqrt(x); }',
);
export const LOG1P = helper(
  'log1p_',
  `
// log(1 + x) = log(u) · x / (u − 1) with u = 1 + x rounded: exact to rounding near 0.
fn log1p_(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (u == inf_()) { return u; }
  return log_(u) * (x / (u - 1.0));
}`,
  [LOG],
);
export const EXPM1 = helper(
  'expm1_',
  `
// e^x − 1 = (u − 1) · x / log(u) with u = e^x rounded.
fn expm1_(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  if (u == inf_()) { return u; }
  return um1 * (x / log(u));
}`,
);
export const TANH = helper(
  'tanh_',
  `
fn tanh_(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= 0.0);
}`,
);
export const SIGMOID = helper(
  'sigmoid_',
  `
fn sigmoid_(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}`,
);
export const SOFTPLUS = helper(
  'softplus_',
  'fn softplus_(x: f32) -> f32 { return max(x, 0.0) + log1p_(exp(-abs(x))); }',
  [LOG1P],
);
export const RELU = helper(
  'relu_',
  'fn relu_(x: f32) -> f32 { if (isnan_(x)) { return x; } return max(x, 0.0); }',
);
export const MAXIMUM = helper(
  'maximum_',
  'fn maximum_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return max(a, b); }',
);
export const MINIMUM = helper(
  'minimum_',
  'fn minimum_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return min(a, b); }',
);
export const CLAMP = helper(
  'clamp_',
  'fn clamp_(x: f32, lo: f32, hi: f32) -> f32 { if (isnan_(x)) { return x; } return min(max(x, lo), hi); }',
);
export const POW = helper(
  'pow_',
  `
// pow with C's conventions (as PyTorch): x^0 = 1, negative bases with integral exponents.
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (isnan_(x) || isnan_(y)) { return nan_(); }
  if (x == 0.0) { return select(inf_(), 0.0, y > 0.0); }
  if (x > 0.0) { return exp2(y * log2(x)); }
  if (fract(y) != 0.0) { return nan_(); }
  let r = exp2(y * log2(-x));
  return select(r, -r, fract(y * 0.5) != 0.0);
}`,
);
export const ROUND_BF16 = helper(
  'round_bf16_',
  `
// Round to nearest even at bf16 precision (the value stays f32).
fn round_bf16_(x: f32) -> f32 {
  if (isnan_(x)) { return x; }
  let b = bitcast<u32>(x);
  return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);
}`,
);
export const ROUND_F16 = helper(
  'round_f16_',
  'fn round_f16_(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }',
);
export const TRUNC_I32 = helper(
  'trunc_i32_',
  `
// Toward zero like PyTorch's .to(int32); NaN gives 0.
fn trunc_i32_(x: f32) -> i32 { if (isnan_(x)) { return 0i; } return i32(clamp(trunc(x), -2147483648.0, 2147483520.0)); }`,
);
export const LSE = helper(
  'lse_',
  `
// Online (max, Σ e^(x − max)) pairs: fold x into (m, s), merge two pairs, and log Σ at the end.
fn lse_finish_(a: vec2<f32>) -> f32 {
  let m = a.x;
  if (m == -inf_() || m == inf_() || isnan_(m)) { return m; }
  return m + log(a.y);
}
fn lse_push_(acc: vec2<f32>, x: f32) -> vec2<f32> {
  if (isnan_(x) || isnan_(acc.x)) { return vec2<f32>(nan_(), nan_()); }
  if (x == -inf_()) { return acc; }
  if (x > acc.x) { return vec2<f32>(x, select(acc.y * exp(acc.x - x), 0.0, acc.x == -inf_()) + 1.0); }
  return vec2<f32>(acc.x, acc.y + exp(x - acc.x));
}
fn lse_merge_(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  if (isnan_(a.x) || isnan_(b.x)) { return vec2<f32>(nan_(), nan_()); }
  if (a.x == -inf_()) { return b; }
  if (b.x == -inf_()) { return a; }
  if (a.x == inf_() || b.x == inf_()) { return vec2<f32>(inf_(), 1.0); }
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}`,
);
