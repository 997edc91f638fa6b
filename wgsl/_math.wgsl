// Math for elementwise ops, in f32, defined at the edges (NaN, ±Inf, ±0, subnormals) where WGSL
// builtins are not, and accurate to a few ulps on every GPU: exp, log, tanh, sin, cos, pow are
// range reductions and polynomials here (sin/cos in _math_trig, pow and a correctly rounded
// division in _math_pow), since WGSL leaves builtin precision to the driver
// (lavapipe: tanh(1e-12) off 3e4-fold, sin(1e12) and exp(-88) wrong, log(0.996) off 300 ulps).
// Every NaN test is on the bits (compilers may assume comparisons see no NaN); comparisons and
// max/min run on integer orderings of the bits, signs and signed zeros are set on the bits, and
// subnormal operands are normalized on the bits, so all of it holds where a GPU flushes
// subnormals (NVIDIA through Vulkan does) or folds -0 and +0 together. Arithmetic results
// between 0 and 2^-126 still flush to zero on such GPUs.

const F32_INF: u32 = 0x7f800000u;
// Private, not const: WGSL rejects NaN and Inf produced by constant expressions.
var<private> nan_bits: u32 = 0x7fc00000u;
var<private> inf_bits: u32 = 0x7f800000u;
var<private> sign_bit: u32 = 0x80000000u;

fn nan_f32() -> f32 { return bitcast<f32>(nan_bits); }
fn inf_f32(negative: bool) -> f32 { return bitcast<f32>(select(inf_bits, inf_bits | 0x80000000u, negative)); }
fn nan_in(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > F32_INF; }
fn inf_in(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == F32_INF; }
fn neg_sign(x: f32) -> bool { return (bitcast<u32>(x) & 0x80000000u) != 0u; }
fn zero_in(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0u; }
// A zero with the sign of x. Signed zeros are always made from operand bits: a constant -0, or a
// select between +0 and -0, loses its sign in some compilers (Tint/lavapipe; NVIDIA's Vulkan
// driver returns -0 for select(+0, -0, false)).
fn zero_like(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0x80000000u); }
// x with its sign flipped when `flip` (on the bits: select(x, -x, c) may lose the sign of zero).
fn flip_sign(x: f32, flip: bool) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ select(0u, sign_bit, flip)); }
fn abs_bits(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu); }
fn subnormal_in(x: f32) -> bool {
  let b = bitcast<u32>(x) & 0x7fffffffu;
  return b != 0u && b < 0x00800000u;
}

// Finite nonzero |x| as (m, e), x = m 2^e with m in [1, 2); subnormals normalized on the bits.
fn frexp_bits(x: f32) -> vec2<f32> {
  var b = bitcast<u32>(x) & 0x7fffffffu;
  var e = i32(b >> 23u) - 127;
  if (b < 0x00800000u) {
    let sh = countLeadingZeros(b) - 8u;
    b = (b << sh) & 0x007fffffu;
    e = -126 - i32(sh);
  }
  return vec2<f32>(bitcast<f32>((b & 0x007fffffu) | 0x3f800000u), f32(e));
}

// The bits as an integer that orders like the values (-0 and +0 both map to 0); not for NaN.
fn ford(x: f32) -> i32 {
  let b = bitcast<u32>(x);
  return select(i32(b), -i32(b & 0x7fffffffu), (b & 0x80000000u) != 0u);
}

// NaN-propagating; max(-0, 0) = 0 and min(-0, 0) = -0.
fn max_f32(a: f32, b: f32) -> f32 {
  if (nan_in(a)) { return a; }
  if (nan_in(b)) { return b; }
  if (ford(a) == ford(b)) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }
  return select(b, a, ford(a) > ford(b));
}

fn min_f32(a: f32, b: f32) -> f32 {
  if (nan_in(a)) { return a; }
  if (nan_in(b)) { return b; }
  if (ford(a) == ford(b)) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }
  return select(b, a, ford(a) < ford(b));
}

// relu(-0) = +0 (as PyTorch); NaN stays NaN.
fn relu_f32(x: f32) -> f32 {
  return bitcast<f32>(select(bitcast<u32>(x), 0u, neg_sign(x) && !nan_in(x)));
}

// 2^n for n in [-126, 127], exact.
fn pow2i(n: i32) -> f32 { return bitcast<f32>(u32(n + 127) << 23u); }

// v * 2^k for k in [-252, 254] with a single rounding (into the subnormals, or to Inf).
fn scale2(v: f32, k: i32) -> f32 {
  let h = k >> 1u;
  return (v * pow2i(h)) * pow2i(k - h);
}

// exp(r) - 1 for |r| <= 0.35: Taylor to r^8 (truncation below 2^-30 relative).
fn expm1_poly(r: f32) -> f32 {
  return r * (1.0 + r * (0.5 + r * (0.16666667 + r * (0.041666668 + r * (0.008333334 + r * (0.0013888889 +
    r * (1.984127e-4 + r * 2.4801587e-5)))))));
}

// x = k ln2 + r, |r| <= ~0.35 (Cody-Waite: k * LN2_HI is exact for |k| < 512). Returns (r, k).
fn exp_reduce(x: f32) -> vec2<f32> {
  let k = floor(x * 1.4426950408889634 + 0.5);
  return vec2<f32>((x - k * 0.693145751953125) - k * 1.428606765330187e-6, k);
}

fn exp_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  if (x > 89.0) { return inf_f32(false); }
  if (x < -104.0) { return 0.0; }
  let rk = exp_reduce(x);
  return scale2(1.0 + expm1_poly(rk.x), i32(rk.y));
}

fn expm1_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  if (abs(x) < 0.34657359) { return expm1_poly(x); }
  if (x < -18.0) { return -1.0; }
  if (x > 20.0) { return exp_f32(x); }
  let rk = exp_reduce(x);
  let t = pow2i(i32(rk.y));
  return t * expm1_poly(rk.x) + (t - 1.0);
}

// log of a positive finite x as (log m, k) with x = m 2^k, m in [sqrt(1/2), sqrt(2)] (musl's
// logf: |error| < 2^-34 in the polynomial). Subnormals are normalized on the bits.
fn log_parts(x: f32) -> vec2<f32> {
  var ix = bitcast<u32>(x);
  var k = 0i;
  if (ix < 0x00800000u) {
    let sh = countLeadingZeros(ix) - 8u;
    ix = ((ix << sh) & 0x007fffffu) | 0x00800000u;
    k = -i32(sh);
  }
  ix = ix + (0x3f800000u - 0x3f3504f3u);
  k = k + i32(ix >> 23u) - 127;
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  let f = bitcast<f32>(ix) - 1.0;
  let s = f / (2.0 + f);
  let z = s * s;
  let w = z * z;
  let r = z * (0.66666662693 + w * 0.28498786688) + w * (0.40000972152 + w * 0.24279078841);
  let hfsq = 0.5 * f * f;
  return vec2<f32>(s * (hfsq + r) - hfsq + f, f32(k));
}

fn log_f32(x: f32) -> f32 {
  if (nan_in(x) || (neg_sign(x) && !zero_in(x))) { return nan_f32(); }
  if (zero_in(x)) { return inf_f32(true); }
  if (inf_in(x)) { return x; }
  let lk = log_parts(x);
  return (lk.x + lk.y * 9.0580006145e-06) + lk.y * 0.69313812256;
}

// Subnormal x: sqrt(m 2^e) = sqrt(m 2^(e mod 2)) 2^(e div 2), exact scalings of normal values.
fn sqrt_f32(x: f32) -> f32 {
  if (nan_in(x) || (neg_sign(x) && !zero_in(x))) { return nan_f32(); }
  if (inf_in(x) || zero_in(x)) { return x; }
  if (subnormal_in(x)) {
    let me = frexp_bits(x);
    let e = i32(me.y);
    return sqrt(me.x * pow2i(e & 1)) * pow2i(e >> 1u);
  }
  return sqrt(x);
}

fn rsqrt_f32(x: f32) -> f32 {
  if (nan_in(x) || (neg_sign(x) && !zero_in(x))) { return nan_f32(); }
  if (zero_in(x)) { return inf_f32(neg_sign(x)); }
  if (inf_in(x)) { return 0.0; }
  if (subnormal_in(x)) {
    let me = frexp_bits(x);
    let e = i32(me.y);
    return (1.0 / sqrt(me.x * pow2i(e & 1))) * pow2i(-(e >> 1u));
  }
  return 1.0 / sqrt(x);
}

fn tanh_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  let a = abs_bits(x);
  if (a < 2.44140625e-4) { return x; } // tanh x = x within x^3/3
  var t = 1.0;
  if (a < 9.1) {
    let e = expm1_f32(-2.0 * a);
    t = -e / (e + 2.0);
  }
  return flip_sign(t, neg_sign(x));
}

fn sigmoid_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  // exp of -|x| only: no overflow, and e / (1 + e) keeps relative precision for x << 0.
  let e = exp_f32(-abs_bits(x));
  let d = 1.0 + e;
  return select(1.0 / d, e / d, neg_sign(x));
}

// silu(-Inf) = -0 (the limit; x * sigmoid(x) would be NaN).
fn silu_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  if (inf_in(x) && neg_sign(x)) { return zero_like(x); }
  return x * sigmoid_f32(x);
}

// erfc(a / sqrt 2) for a >= 0 (Numerical Recipes' erfcc, relative error < 1.2e-7). The Gaussian
// factor is exp(-ah^2/2) * exp(-(a - ah)(a + ah)/2 + poly), ah = a cut to 12 bits (ah^2 exact),
// so the tail keeps its relative precision.
fn erfc_scaled(a: f32) -> f32 {
  let z = a * 0.70710678118654752;
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let ah = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  return t * exp_f32(-0.5 * ah * ah) * exp_f32(poly - 0.5 * (a - ah) * (a + ah));
}

// gelu(x) = x Φ(x) = x erfc(-x / sqrt 2) / 2; gelu(-Inf) = -0.
fn gelu_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  if (x > 10.0) { return x; }
  if (x < -15.0) { return zero_like(x); }
  let e = erfc_scaled(abs_bits(x));
  return select(x - 0.5 * x * e, 0.5 * x * e, neg_sign(x));
}

// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)):
// no cancellation for x << 0. gelu_tanh(-Inf) = -0.
fn gelu_tanh_f32(x: f32) -> f32 {
  if (nan_in(x)) { return x; }
  if (inf_in(x) && neg_sign(x)) { return zero_like(x); }
  return x * sigmoid_f32(x * (1.5957691216057308 + 0.07135481627260025 * x * x));
}

#include "_math_trig"
#include "_math_pow"

#if F16
fn f16_of(x: f32) -> f16 {
  return bitcast<vec2<f16>>(f32_to_f16(x))[0];
}
#endif
