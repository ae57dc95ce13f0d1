/**
 * WGSL helper functions used by the op records' expressions (`log_`, `pow_`...). WGSL's
 * built-ins leave some inputs undefined (log of a negative, pow of a negative base, clamp
 * with lo > hi) or lose accuracy (log(1 + x) near 0); these give PyTorch's answers.
 */
export const WGSL_HELPERS = /* wgsl */ `
// Through a var: WGSL rejects NaN and inf as constant expressions.
fn nan_() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
fn inf_() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn log_(x: f32) -> f32 {
  if (x < 0.0 || isnan_(x)) { return nan_(); }
  if (x == 0.0) { return -inf_(); }
  if (x == inf_()) { return x; }
  return log(x);
}
fn sqrt_(x: f32) -> f32 { if (x < 0.0 || isnan_(x)) { return nan_(); } return sqrt(x); }
// log(1 + x) = log(u) · x / (u − 1) with u = 1 + x rounded: exact to rounding near 0.
fn log1p_(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (u == inf_()) { return u; }
  return log_(u) * (x / (u - 1.0));
}
// e^x − 1 = (u − 1) · x / log(u) with u = e^x rounded.
fn expm1_(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  if (u == inf_()) { return u; }
  return um1 * (x / log(u));
}
fn tanh_(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, x >= 0.0);
}
fn sigmoid_(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn softplus_(x: f32) -> f32 { return max(x, 0.0) + log1p_(exp(-abs(x))); }
fn relu_(x: f32) -> f32 { if (isnan_(x)) { return x; } return max(x, 0.0); }
fn maximum_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return max(a, b); }
fn minimum_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return min(a, b); }
fn clamp_(x: f32, lo: f32, hi: f32) -> f32 { if (isnan_(x)) { return x; } return min(max(x, lo), hi); }
// pow with C's conventions (as PyTorch): x^0 = 1, negative bases with integral exponents.
fn pow_(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (isnan_(x) || isnan_(y)) { return nan_(); }
  if (x == 0.0) { return select(inf_(), 0.0, y > 0.0); }
  if (x > 0.0) { return exp2(y * log2(x)); }
  if (fract(y) != 0.0) { return nan_(); }
  let r = exp2(y * log2(-x));
  return select(r, -r, fract(y * 0.5) != 0.0);
}
// Round to nearest even at bf16 precision (the value stays f32).
fn round_bf16_(x: f32) -> f32 {
  if (isnan_(x)) { return x; }
  let b = bitcast<u32>(x);
  return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);
}
fn round_f16_(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }
// Toward zero like PyTorch's .to(int32); NaN gives 0.
fn trunc_i32_(x: f32) -> i32 { if (isnan_(x)) { return 0i; } return i32(clamp(trunc(x), -2147483648.0, 2147483520.0)); }
`;
