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
// WGSL's log has an absolute (not relative) error bound near 1, so near 0 this uses
// log(1 + x) = 2 atanh(s) = 2(s + s³/3 + s⁵/5 + ...) with s = x / (2 + x), |s| ≤ 1/7 here
// (the terms to s¹¹ leave a relative error below 1e-10).
fn log1p_(x: f32) -> f32 {
  if (abs(x) < 0.25) {
    let s = x / (2.0 + x);
    let q = s * s;
    return 2.0 * s * (1.0 + q * (1.0 / 3.0 + q * (0.2 + q * (1.0 / 7.0 + q * (1.0 / 9.0 + q / 11.0)))));
  }
  return log_(1.0 + x);
}`,
  [LOG],
);
export const EXPM1 = helper(
  'expm1_',
  `
// Near 0, Taylor to x⁹/9! (relative error below 3e-10 for |x| < 0.5), where e^x − 1
// would cancel; elsewhere e^x − 1 loses nothing.
fn expm1_(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    return x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0 * (1.0 + x / 6.0 * (1.0 + x / 7.0 * (1.0 + x / 8.0 * (1.0 + x / 9.0))))))));
  }
  return exp(x) - 1.0;
}`,
);
export const TANH = helper(
  'tanh_',
  `
// Near 0, tanh x = x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835 (relative error below 1e-8 for
// |x| < 0.25), where (1 − e)/(1 + e) would cancel.
fn tanh_(x: f32) -> f32 {
  if (abs(x) < 0.25) {
    let q = x * x;
    return x * (1.0 + q * (-1.0 / 3.0 + q * (2.0 / 15.0 + q * (-17.0 / 315.0 + q * (62.0 / 2835.0)))));
  }
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
  // NaN in any operand gives NaN (PyTorch's clamp); WGSL's min/max leave NaN unspecified.
  'fn clamp_(x: f32, lo: f32, hi: f32) -> f32 { if (isnan_(x) || isnan_(lo) || isnan_(hi)) { return nan_(); } return min(max(x, lo), hi); }',
);
export const POW = helper(
  'pow_',
  `
// pow with C's conventions (as PyTorch): x^0 = 1^y = 1, (−1)^±inf = 1, infinite exponents
// and bases by magnitude, signed zeros and negative bases with integral exponents.
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (isnan_(x) || isnan_(y)) { return nan_(); }
  let ax = abs(x);
  if (abs(y) == inf_()) {
    if (ax == 1.0) { return 1.0; }
    return select(0.0, inf_(), (ax > 1.0) == (y > 0.0));
  }
  let odd = fract(y) == 0.0 && fract(y * 0.5) != 0.0;
  let neg = (bitcast<u32>(x) >> 31u) == 1u;
  var r: f32;
  if (ax == 0.0) { r = select(inf_(), 0.0, y > 0.0); }
  else if (ax == inf_()) { r = select(0.0, inf_(), y > 0.0); }
  else {
    if (neg && fract(y) != 0.0) { return nan_(); }
    r = exp2(y * log2(ax));
  }
  return select(r, -r, neg && odd);
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
// Toward zero like PyTorch's .to(int32), saturating out of range; NaN gives 0.
fn trunc_i32_(x: f32) -> i32 {
  if (isnan_(x)) { return 0i; }
  if (x >= 2147483648.0) { return 2147483647i; }
  return i32(max(trunc(x), -2147483648.0));
}`,
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
