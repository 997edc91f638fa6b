// Math for elementwise ops, in f32, defined at the edges (NaN, ±Inf, ±0) where WGSL builtins
// are not: every NaN test is on the bits, since compilers may assume comparisons see no NaN.

const F32_INF: u32 = 0x7f800000u;
// Private, not const: WGSL rejects NaN and Inf produced by constant expressions.
var<private> nan_bits: u32 = 0x7fc00000u;
var<private> inf_bits: u32 = 0x7f800000u;

fn nan_f32() -> f32 { return bitcast<f32>(nan_bits); }
fn inf_f32(negative: bool) -> f32 { return bitcast<f32>(select(inf_bits, inf_bits | 0x80000000u, negative)); }
fn nan_in(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > F32_INF; }
fn inf_in(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == F32_INF; }
fn neg_sign(x: f32) -> bool { return (bitcast<u32>(x) & 0x80000000u) != 0u; }

fn log_f32(x: f32) -> f32 {
  if (nan_in(x) || (neg_sign(x) && x != 0.0)) { return nan_f32(); }
  if (x == 0.0) { return inf_f32(true); }
  if (inf_in(x)) { return x; }
  return log(x);
}

fn sqrt_f32(x: f32) -> f32 {
  if (nan_in(x) || (neg_sign(x) && x != 0.0)) { return nan_f32(); }
  if (inf_in(x) || x == 0.0) { return x; }
  return sqrt(x);
}

fn rsqrt_f32(x: f32) -> f32 {
  if (nan_in(x) || (neg_sign(x) && x != 0.0)) { return nan_f32(); }
  if (x == 0.0) { return inf_f32(neg_sign(x)); }
  if (inf_in(x)) { return 0.0; }
  return 1.0 / sqrt(x);
}

fn exp_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  if (x > 88.72284) { return inf_f32(false); }
  if (x < -103.97208) { return 0.0; }
  return exp(x);
}

fn tanh_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  // Large |x| would overflow exp inside some tanh implementations.
  return tanh(clamp(x, -15.0, 15.0));
}

fn sigmoid_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  return 1.0 / (1.0 + exp_f32(-x));
}

// erf by Abramowitz & Stegun 7.1.26 refined (max abs error ~1.2e-7).
fn erf_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.5 * a);
  let y = 1.0 - t * exp_f32(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(y, -y, x < 0.0);
}

fn sin_f32(x: f32) -> f32 {
  if (nan_in(x) || inf_in(x)) { return nan_f32(); }
  return sin(x);
}

fn cos_f32(x: f32) -> f32 {
  if (nan_in(x) || inf_in(x)) { return nan_f32(); }
  return cos(x);
}

fn silu_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  return x * sigmoid_f32(x);
}

fn gelu_f32(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476));
}

fn gelu_tanh_f32(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh_f32(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

fn exp2_f32(e: f32) -> f32 {
  if (e >= 128.0) { return inf_f32(false); }
  if (e < -150.0) { return 0.0; }
  return exp2(e);
}

// pow with the C99 special cases (pow(x, ±0) = 1, pow(1, y) = 1, pow(-1, ±Inf) = 1, ...).
fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (nan_in(x) || nan_in(y)) { return nan_f32(); }
  let ax = abs(x);
  if (inf_in(y)) {
    if (ax == 1.0) { return 1.0; }
    return select(inf_f32(false), 0.0, (ax < 1.0) == (y > 0.0));
  }
  let y_int = floor(y) == y;
  let odd = y_int && abs(y) < 16777216.0 && fract(y * 0.5) != 0.0;
  if (x == 0.0) {
    if (y < 0.0) { return inf_f32(odd && neg_sign(x)); }
    return select(0.0, x, odd);
  }
  if (inf_in(x)) {
    if (neg_sign(x)) {
      if (y < 0.0) { return select(0.0, -0.0, odd); }
      return inf_f32(odd);
    }
    return select(0.0, x, y > 0.0);
  }
  if (neg_sign(x) && !y_int) { return nan_f32(); }
  let r = exp2_f32(y * log2(ax));
  return select(r, -r, neg_sign(x) && odd);
}

#if F16
fn f16_of(x: f32) -> f16 {
  return bitcast<vec2<f16>>(f32_to_f16(x))[0];
}
#endif
