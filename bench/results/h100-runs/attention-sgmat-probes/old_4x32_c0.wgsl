// Attention, subgroup-matrix variant (chromium_experimental_subgroup_matrix; f16 q, k, v): the
// common parts (params, bindings, generated loaders, row mapping, split partials) come from
// wgsl/attention.wgsl. A workgroup of NSG subgroups takes BQ = NSG * FS query rows of one
// (b, kv head), each subgroup FS of them: their Q fragments (D / FS of FS x FS f16) stay in
// registers, their output as D / FS f32 result fragments. Per step of TK keys:
//   K and V tiles go through workgroup memory as f16 (16-byte global loads one step ahead,
//   held in registers while the current step computes);
//   S = Q Kᵀ by fragments, stored to `ss` (f32); the subgroup's lanes (LPR per row) scale and mask
//   their row, reduce the row max by shuffles, and write P = 2^(s - m) as f16 to `ps`;
//   O += P V by fragments.
// The reference max m of a row only moves when the tile's max exceeds it by more than TAU (log2
// units), so P <= 2^TAU stays an f16 and O is rescaled (stored, scaled per row, reloaded) only
// then: a workgroup-uniform flag (workgroupUniformLoad) says whether any row needs it. The final
// output is O / l; l and m in log2 units as the other variants write them (SPLIT).
// The fragment code (SG_*) is generated straight-line (src/ops/attention-sgmat.ts); with
// emulation the fragment types are 4x4 matrices and the builtins plain functions (tests).
// Matrix operations never follow lane-divergent code without a barrier in between (loads past
// the tile end are clamped and masked away), and Q fragments load unconditionally from ks when
// it holds BQ rows (else the rows are staged in passes through ks and vs). The prefetch registers
// are named variables: through an array passed by pointer, the NVIDIA driver stored wrong K
// tiles (lavapipe computed them right).
// Attention family: out[b, h, i, :] = softmax_j(q[b, h, i, :] . k[b, h / G, j, :] * scale
// + mask[b, h, i, j]) v[b, h / G, j, :], fused (flash attention): the L x S scores are never
// stored. Work is cut per (b, kv head hk): its G * L query rows r (head hk * G + r / L, query
// r % L, so GQA heads share each K/V read) in blocks, times key splits. Scores are kept in log2
// units (scale and mask times log2 e) so softmax uses exp2; every row keeps a running max m and
// sum l in f32 and its output in f32, rescaled when m grows.
// Causal: key j is kept iff j <= i + S - L (aligned to the end, as in decode with a KV cache);
// blocks stop after the last key their rows see, and tiles every row sees skip the mask tests.
// Masked keys are -Inf; a row whose every key is masked writes zeros (l = 0), not NaN.
// S is params.s, or per batch min(S, kvlen[b]) (KVLEN: valid prefix of a preallocated cache).
// q, k, v and mask are read through offsets and strides (element units; mask strides broadcast
// to [B, Hq, L, S]); loaders q_raw/k_raw/v_raw (8 elements of a row from d0, as packed halves or
// a V8) and q8/k8/v8 (as f32) are generated (src/ops/attention-kernels.ts): vec4 loads where the
// rows are contiguous and aligned, strided scalar loads otherwise. out is contiguous
// [B, Hq, L, D] in q's dtype (HALF_WORDS: packed pairs; ATOMIC for odd 16-bit D).
// Variants (one entry point each):
//   DECODE  few queries: WG threads, DT lanes per key (NC chunks of 8 elements each), R rows per
//           workgroup, KU keys per lane group and step; dots reduced over the DT lanes by
//           subgroup shuffles (SUBGROUPS) or workgroup memory; per-lane-group softmax states
//           merged through workgroup memory at the end.
//   TILE    prefill: BQ rows x TK keys per step, (BQ / TQ) x NJ threads; Q, K, V tiles in
//           workgroup memory in their dtype (16-bit packed), scores register-blocked TQ x TK/NJ
//           per thread, row max reduced over the NJ threads of a row group, P through workgroup
//           memory, output TQ rows x CPT chunks of 8 per thread.
//   (wgsl/attention_sgmat.wgsl: subgroup-matrix prefill; it includes this file with SGMAT.)
//   COMBINE entry point `combine`: merges SPLIT partials.
// Bindings: params 0, q 1, k 2, v 3, out 4, mask 5 (HAS_MASK), part 6 (SPLIT), kvlen 7 (KVLEN).
// Dispatch: B * Hkv * rblocks * splits workgroups folded into x/y (w = ((b * Hkv + hk) * rblocks
// + rb) * splits + sp). SPLIT: split sp takes keys [sp * chunk, (sp + 1) * chunk) and writes, per
// output row and split, (m, l, unnormalized row of D) in f32 to part [B * Hq * L, splits, D + 2];
// `combine` (compiled alone with COMBINE; one workgroup per output row, params.pad = rows) merges
// them by log-sum-exp rescaling; an all -Inf row gives 0.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
// 16-bit float helpers: f16 and bf16 live packed two to a u32 word (low half = even element).
// Conversions are done on the bits, so NaN, ±Inf, ±0 and rounding are the same on every GPU.

fn half_at(word: u32, index: u32) -> u32 {
  return (word >> ((index & 1u) * 16u)) & 0xffffu;
}

fn f16_to_f32(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let mag = f32(m) * 5.9604644775390625e-8; // subnormal: m * 2^-24
    return bitcast<f32>(bitcast<u32>(mag) | sign);
  }
  if (e == 31u) {
    return bitcast<f32>(sign | 0x7f800000u | (m << 13u));
  }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}

fn f32_to_f16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let e8 = (b >> 23u) & 0xffu;
  var m = b & 0x7fffffu;
  if (e8 == 0xffu) {
    return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u);
  }
  let e = i32(e8) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    m = m | 0x800000u;
    let shift = u32(14 - e);
    let half = 1u << (shift - 1u);
    let rest = m & ((1u << shift) - 1u);
    var r = m >> shift;
    if (rest > half || (rest == half && (r & 1u) == 1u)) { r = r + 1u; }
    return sign | r;
  }
  // Rounding may carry into the exponent; adding the fields handles that (and overflow to Inf).
  var r = (u32(e) << 10u) | (m >> 13u);
  let rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (r & 1u) == 1u)) { r = r + 1u; }
  return sign | min(r, 0x7c00u);
}

fn bf16_to_f32(h: u32) -> f32 {
  return bitcast<f32>(h << 16u);
}

fn f32_to_bf16(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0u) {
    return ((b >> 16u) | 0x40u) & 0xffffu; // keep NaN a (quiet) NaN
  }
  return ((b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u) & 0xffffu;
}

// NaN is tested on the bits: compilers may fold `x != x` to false.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn f32_to_i32(x: f32) -> i32 {
  if (is_nan(x)) { return 0; }
  if (x >= 2147483648.0) { return 2147483647; }
  if (x <= -2147483648.0) { return -2147483647 - 1; }
  return i32(x);
}

fn f32_to_u32(x: f32) -> u32 {
  if (!(x > 0.0)) { return 0u; }
  if (x >= 4294967296.0) { return 4294967295u; }
  return u32(x);
}

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

// sin and cos for wgsl/_math.wgsl (included from there): Taylor polynomials on [-pi/4, pi/4]
// after an exact Payne-Hanek reduction, so every finite argument is within ~2 ulps.

// sin and cos of |r| <= pi/4: Taylor to r^9 and r^10 (truncation below 2^-28).
fn sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-0.16666667 + z * (0.008333334 + z * (-1.984127e-4 + z * 2.7557319e-6)));
}

fn cos_poly(r: f32) -> f32 {
  let z = r * r;
  return 1.0 - 0.5 * z + z * z * (0.041666668 + z * (-0.0013888889 + z * (2.4801587e-5 + z * -2.7557319e-7)));
}

// a * b as (low word, high word).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let mid = lh + ah * bl;
  let lo = ll + (mid << 16u);
  return vec2<u32>(lo, ah * bh + (mid >> 16u) + select(0u, 0x10000u, mid < lh) + select(0u, 1u, lo < ll));
}

// Payne-Hanek: a = q pi/2 + r for finite a >= pi/4, |r| <= pi/4; returns (r, q mod 4). The
// mantissa times a 96-bit window of 2/pi is exact in integers, so r is right for every a.
fn trig_reduce(a: f32) -> vec2<f32> {
  // 2/pi in 32-bit words after one zero word (for small exponents).
  var tbl = array<u32, 8>(0u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u, 0xfe5163abu);
  let bits = bitcast<u32>(a);
  let m = (bits & 0x7fffffu) | 0x800000u;
  // a = m 2^(e - 150); the bits of 2/pi weighing 4 or more contribute whole turns: skip them.
  let kb = (bits >> 23u) - 120u;
  let w = kb >> 5u;
  let s = kb & 31u;
  var win = array<u32, 3>(0u, 0u, 0u);
  for (var j = 0u; j < 3u; j = j + 1u) {
    let hi = tbl[w + j];
    win[j] = select((hi << s) | (tbl[w + j + 1u] >> (32u - s)), hi, s == 0u);
  }
  // m * win: 120 bits; bits 95..94 are q, bits 93..30 the fraction.
  let p2 = mul_wide(m, win[2]);
  let p1 = mul_wide(m, win[1]);
  let p0 = mul_wide(m, win[0]);
  let r2 = p2.y + p1.x;
  let r1 = p1.y + p0.x + select(0u, 1u, r2 < p1.x);
  var q = r1 >> 30u;
  var fh = (r1 << 2u) | (r2 >> 30u);
  var fl = (r2 << 2u) | (p2.x >> 30u);
  // A fraction of 1/2 or more rounds q up and leaves a negative remainder.
  let neg = (fh & 0x80000000u) != 0u;
  if (neg) {
    q = q + 1u;
    fh = ~fh;
    fl = ~fl + 1u;
    if (fl == 0u) { fh = fh + 1u; }
  }
  var e = 0i;
  if (fh == 0u) {
    fh = fl;
    fl = 0u;
    e = 32;
  }
  let lz = countLeadingZeros(fh);
  fh = select((fh << lz) | (fl >> (32u - lz)), fh, lz == 0u);
  let sh = e + i32(lz);
  let f_hi = f32(fh >> 8u) * pow2i(-24 - sh);
  let f_lo = f32(fh & 0xffu) * pow2i(-32 - sh);
  // r = f pi/2 with pi/2 = 1.5707963705062866 - 4.371139006309477e-8.
  let r = f_hi * 1.5707963705062866 + (f_lo * 1.5707963705062866 - f_hi * 4.371139006309477e-8);
  return vec2<f32>(flip_sign(r, neg), f32(q & 3u));
}

fn sin_f32(x: f32) -> f32 {
  if (nan_in(x) || inf_in(x)) { return nan_f32(); }
  let a = abs_bits(x);
  var s = a;
  if (a > 0.78539818) {
    let rq = trig_reduce(a);
    let q = u32(rq.y);
    s = select(sin_poly(rq.x), cos_poly(rq.x), (q & 1u) == 1u);
    s = flip_sign(s, q >= 2u);
  } else if (a >= 2.44140625e-4) {
    s = sin_poly(a);
  }
  return flip_sign(s, neg_sign(x));
}

fn cos_f32(x: f32) -> f32 {
  if (nan_in(x) || inf_in(x)) { return nan_f32(); }
  let a = abs_bits(x);
  if (a < 2.44140625e-4) { return 1.0; }
  if (a <= 0.78539818) { return cos_poly(a); }
  let rq = trig_reduce(a);
  let q = u32(rq.y);
  let c = select(cos_poly(rq.x), sin_poly(rq.x), (q & 1u) == 1u);
  return flip_sign(c, q == 1u || q == 2u);
}

// pow and correctly rounded division for wgsl/_math.wgsl (included from there): both need more
// than f32 precision in between, got from numbers cut to 12 significant bits, whose products are
// exact (and stay exact when a compiler fuses multiply-adds).

fn mask12(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0xfffff000u); }

// a - q b exactly, for a, b in [1, 2) and q within a few ulps of a / b: q and b cut into 12-bit
// halves multiply exactly and every partial difference fits in 24 bits (Dekker), so neither
// rounding nor a compiler's fused multiply-add changes it.
fn div_residual(a: f32, q: f32, b: f32) -> f32 {
  let qh = mask12(q);
  let ql = q - qh;
  let bh = mask12(b);
  let bl = b - bh;
  return (((a - qh * bh) - qh * bl) - ql * bh) - ql * bl;
}

// Correctly rounded a / b, also on GPUs whose division is not (WGSL allows 2.5 ulps; NVIDIA's
// Vulkan division is off by one in a third of cases). Mantissas in [1, 2) are divided, the
// quotient is corrected with the exact residual and checked against the half-ulp bound, then
// scaled by the exponent difference (exact, or a single rounding to Inf).
fn div_f32(a: f32, b: f32) -> f32 {
  let neg = neg_sign(a) != neg_sign(b);
  if (nan_in(a) || nan_in(b) || (inf_in(a) && inf_in(b)) || (zero_in(a) && zero_in(b))) { return nan_f32(); }
  if (inf_in(a) || zero_in(b)) { return flip_sign(inf_f32(false), neg); }
  if (inf_in(b) || zero_in(a)) { return flip_sign(zero_like(a), neg_sign(b)); }
  let fa = frexp_bits(a);
  let fb = frexp_bits(b);
  let q0 = fa.x / fb.x;
  var q = q0 + div_residual(fa.x, q0, fb.x) / fb.x;
  // q is now within an ulp; move it if the quotient lies beyond half the gap on either side.
  let r = div_residual(fa.x, q, fb.x);
  let ulp = pow2i(i32(bitcast<u32>(q) >> 23u) - 150);
  let below = select(ulp, 0.5 * ulp, (bitcast<u32>(q) & 0x007fffffu) == 0u);
  if (2.0 * r > ulp * fb.x) {
    q = q + ulp;
  } else if (-2.0 * r > below * fb.x) {
    q = q - below;
  }
  let res = scale2(q, clamp(i32(fa.y - fb.y), -160, 130));
  // A subnormal result would round twice here: the GPU's own quotient (flushed where it flushes).
  if (bitcast<u32>(res) < 0x00800000u) { return a / b; }
  return flip_sign(res, neg);
}

// pow with the C99 special cases (pow(x, ±0) = 1, pow(1, y) = 1, pow(-1, ±Inf) = 1, ...). The
// rest follows fdlibm's e_powf.c (Sun Microsystems, freely redistributable): log2|x| = t1 + t2
// and y log2|x| = p_h + p_l in extended precision, where numbers cut to 12 significant bits
// multiply exactly; then 2^(p_h + p_l) with the result scaled in two exact steps.
fn pow_f32(x: f32, y: f32) -> f32 {
  if (zero_in(y) || x == 1.0) { return 1.0; }
  if (nan_in(x) || nan_in(y)) { return nan_f32(); }
  let ax = abs_bits(x);
  if (inf_in(y)) {
    if (ax == 1.0) { return 1.0; }
    return select(inf_f32(false), 0.0, (ax < 1.0) == (y > 0.0));
  }
  // Signs and parity on the bits: a subnormal y is neither an integer nor zero, nor of either
  // sign by comparison, where the GPU flushes it.
  let ay = abs_bits(y);
  let y_int = !subnormal_in(y) && floor(y) == y;
  let odd = y_int && ay < 16777216.0 && (u32(ay) & 1u) == 1u;
  let y_neg = neg_sign(y);
  if (zero_in(x)) {
    if (y_neg) { return inf_f32(odd && neg_sign(x)); }
    return flip_sign(zero_like(x), neg_sign(x) && !odd);
  }
  if (inf_in(x)) {
    if (neg_sign(x)) {
      if (y_neg) { return flip_sign(zero_like(x), !odd); }
      return inf_f32(odd);
    }
    return select(x, 0.0, y_neg); // +Inf or +0
  }
  if (neg_sign(x) && !y_int) { return nan_f32(); }
  if (y == 2.0) { return x * x; }
  if (y == 1.0) { return x; }
  var t1: f32;
  var t2: f32;
  var ix = bitcast<u32>(ax);
  if ((bitcast<u32>(y) & 0x7fffffffu) > 0x4d000000u) {
    // |y| > 2^27: overflow or underflow unless |x| is within 2^-20 of 1.
    if (ix < 0x3f7ffff8u || ix > 0x3f800007u) { return select(0.0, inf_f32(false), (ix < 0x3f7ffff8u) == (y < 0.0)); }
    let t = ax - 1.0;
    let w = (t * t) * (0.5 - t * (0.333333333333 - t * 0.25));
    let u = 1.4426879883 * t;
    let v = t * 7.0526075433e-06 - w * 1.4426950216;
    t1 = mask12(u + v);
    t2 = v - (t1 - u);
  } else {
    var n = 0i;
    if (ix < 0x00800000u) {
      let sh = countLeadingZeros(ix) - 8u;
      ix = ((ix << sh) & 0x007fffffu) | 0x00800000u;
      n = -i32(sh);
    }
    n = n + i32(ix >> 23u) - 127;
    let j = ix & 0x007fffffu;
    ix = j | 0x3f800000u;
    var k = 0u;
    if (j > 0x1cc471u && j < 0x5db3d7u) {
      k = 1u;
    } else if (j >= 0x5db3d7u) {
      n = n + 1;
      ix = ix - 0x00800000u;
    }
    let m = bitcast<f32>(ix);
    let bp = select(1.0, 1.5, k == 1u);
    let dp_h = select(0.0, 5.84960938e-01, k == 1u);
    let dp_l = select(0.0, 1.56322085e-06, k == 1u);
    // s = s_h + s_l = (m - bp) / (m + bp)
    let u = m - bp;
    let v = 1.0 / (m + bp);
    let s = u * v;
    let s_h = mask12(s);
    var t_h = bitcast<f32>((((ix >> 1u) & 0xfffff000u) | 0x20000000u) + 0x00400000u + (k << 21u));
    let t_l = m - (t_h - bp);
    let s_l = v * ((u - s_h * t_h) - s_h * t_l);
    var s2 = s * s;
    var r = s2 * s2 * (0.60000002384 + s2 * (0.42857143283 + s2 * (0.33333334327 + s2 * (0.27272811532 +
      s2 * (0.23066075146 + s2 * 0.20697501302)))));
    r = r + s_l * (s_h + s);
    s2 = s_h * s_h;
    t_h = mask12(3.0 + s2 + r);
    let t_l2 = r - ((t_h - 3.0) - s2);
    let u2 = s_h * t_h;
    let v2 = s_l * t_h + t_l2 * s;
    let p_h = mask12(u2 + v2);
    let p_l = v2 - (p_h - u2);
    // log2(m) = (p_h + p_l) 2/(3 ln 2) + dp (FreeBSD's constants: cp_h has 12 bits, so z_h is exact)
    let z_h = 9.6191406250e-01 * p_h;
    let z_l = -1.1736857402e-04 * p_h + p_l * 9.6179670095e-01 + dp_l;
    let tn = f32(n);
    t1 = mask12(((z_h + z_l) + dp_h) + tn);
    t2 = z_l - (((t1 - tn) - dp_h) - z_h);
  }
  let y1 = mask12(y);
  let p_l = (y - y1) * t1 + y * t2;
  var p_h = y1 * t1;
  let z = p_l + p_h;
  var res = 0.0;
  if (z > 129.0) {
    res = inf_f32(false);
  } else if (z >= -151.0) {
    let n = floor(z + 0.5);
    p_h = p_h - n;
    let t = bitcast<f32>(bitcast<u32>(p_l + p_h) & 0xffff8000u);
    let u = t * 6.93145752e-01;
    let v = (p_l - (t - p_h)) * 6.9314718246e-01 + t * 1.42860654e-06;
    let zz = u + v;
    let w = v - (zz - u);
    // e^(zz + w) = e^zz (1 + w)
    let e = expm1_poly(zz);
    res = scale2(1.0 + (e + (1.0 + e) * w), i32(n));
  }
  return flip_sign(res, neg_sign(x) && odd);
}


fn f16_of(x: f32) -> f16 {
  return bitcast<vec2<f16>>(f32_to_f16(x))[0];
}


struct Params {
  q_off: u32, k_off: u32, v_off: u32, m_off: u32,
  q_sb: u32, q_sh: u32, q_sl: u32, q_sd: u32,
  k_sb: u32, k_sh: u32, k_ss: u32, k_sd: u32,
  v_sb: u32, v_sh: u32, v_ss: u32, v_sd: u32,
  m_sb: u32, m_sh: u32, m_sl: u32, m_ss: u32,
  hkv: u32, l: u32, s: u32, group: u32,
  rblocks: u32, grid_x: u32, scale: f32, pad: u32, // scale in log2 units; pad: workgroups
  splits: u32, chunk: u32, rows: u32, pad1: u32, // rows = G * L per kv head
}

const D: u32 = 128u;
const DP: u32 = ((D + 7u) / 8u) * 8u;
const NCH: u32 = DP / 8u;
const LOG2E: f32 = 1.4426950408889634;

struct V8 { a: vec4<f32>, b: vec4<f32> }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

fn is_neg_inf(x: f32) -> bool {
  return bitcast<u32>(x) == 0xff800000u;
}

fn stored(r: f32) -> u32 {
  return f32_to_f16(r);
}

fn put(o: u32, r: f32) {
  // unused: even D writes whole words
}

// Output elements d and d + 1 (d even) of the row at `obase`; the second only when d + 1 < D.
fn put_pair(obase: u32, d: u32, o: vec2<f32>) {
  out[(obase + d) >> 1u] = stored(o.x) | (stored(o.y) << 16u);
}

fn f16x4(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<f16>>(w));
}

fn bf16x4(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(bitcast<f32>(w.x << 16u), bitcast<f32>(w.x & 0xffff0000u), bitcast<f32>(w.y << 16u), bitcast<f32>(w.y & 0xffff0000u));
}

// 8 halves (two per word, low half first) from consecutive elements i0, i0 + st, ... of `word(i)`.
fn pack8(h: array<u32, 8>) -> vec4<u32> {
  return vec4<u32>(h[0] | (h[1] << 16u), h[2] | (h[3] << 16u), h[4] | (h[5] << 16u), h[6] | (h[7] << 16u));
}

// q: f16, vec4 loads; 8 elements of the row at `base` from d0 (0 past D).
fn q_raw(base: u32, d0: u32) -> vec4<u32> {
  return q[(base + d0) >> 3u];
}
fn q_unpack(w: vec4<u32>) -> V8 { return V8(f16x4(w.xy), f16x4(w.zw)); }
fn q8(base: u32, d0: u32) -> V8 { return q_unpack(q_raw(base, d0)); }

// k: f16, vec4 loads; 8 elements of the row at `base` from d0 (0 past D).
fn k_raw(base: u32, d0: u32) -> vec4<u32> {
  return k[(base + d0) >> 3u];
}
fn k_unpack(w: vec4<u32>) -> V8 { return V8(f16x4(w.xy), f16x4(w.zw)); }
fn k8(base: u32, d0: u32) -> V8 { return k_unpack(k_raw(base, d0)); }

// v: f16, vec4 loads; 8 elements of the row at `base` from d0 (0 past D).
fn v_raw(base: u32, d0: u32) -> vec4<u32> {
  return v[(base + d0) >> 3u];
}
fn v_unpack(w: vec4<u32>) -> V8 { return V8(f16x4(w.xy), f16x4(w.zw)); }
fn v8(base: u32, d0: u32) -> V8 { return v_unpack(v_raw(base, d0)); }


// Element index of the first element of query row r (of kv head hk, batch b).
fn q_row(b: u32, hk: u32, r: u32) -> u32 {
  let h = hk * params.group + r / params.l;
  return params.q_off + b * params.q_sb + h * params.q_sh + (r % params.l) * params.q_sl;
}

// Output row (b, h, i) of query row r.
fn out_row(b: u32, hk: u32, r: u32) -> u32 {
  let h = hk * params.group + r / params.l;
  return (b * params.hkv * params.group + h) * params.l + r % params.l;
}

fn mask_row(b: u32, hk: u32, r: u32) -> u32 {
  let h = hk * params.group + r / params.l;
  return params.m_off + b * params.m_sb + h * params.m_sh + (r % params.l) * params.m_sl;
}

// Keys [0, end) that query r % L sees among S: all, or causal i + S - L + 1 clamped to [0, S].
fn row_end(r: u32, s: u32) -> u32 {
  return s;
}


// Valid keys of batch b, the same for the whole workgroup (uniform: loop bounds depend on it).
fn seq_len(b: u32, lid: u32) -> u32 {
  return params.s;
}

// Keys visible to the rows [r0, r1) (r1 > r0): the last one any of them sees (+1), and the
// first tile boundary below which every one of them sees every key.
fn block_ends(r0: u32, r1: u32, s: u32) -> vec2<u32> {
  return vec2<u32>(s, s);
}

struct Work { sp: u32, rb: u32, b: u32, hk: u32 }

fn work_of(w: u32) -> Work {
  let rbk = w / params.splits;
  let bk = rbk / params.rblocks;
  var rb = rbk % params.rblocks;
  return Work(w % params.splits, rb, bk / params.hkv, bk % params.hkv);
}





const SG: u32 = 32;
const FS: u32 = 16;
const NSG: u32 = 4;
const BQ: u32 = NSG * FS;
const WG: u32 = NSG * SG;
const TK: u32 = 32u;
const KP: u32 = D + 8u; // K/V tile row pitch (halves): rows shift banks, pitch a multiple of 8
const KR: u32 = 64u; // rows of ks: TK, or BQ when Q is staged there whole
const SP: u32 = TK + 4u; // ss row pitch (f32)
const PP: u32 = TK + 8u; // ps row pitch (f16)
const LPR: u32 = SG / FS; // softmax lanes per row
const KPL: u32 = TK / LPR; // keys per lane
const TAU: f32 = 8.0;

alias Left = subgroup_matrix_left<f16, 16, 16>;
alias Right = subgroup_matrix_right<f16, 16, 16>;
alias Acc = subgroup_matrix_result<f32, 16, 16>;

var<workgroup> ks: array<f16, KR * KP>;
var<workgroup> vs: array<f16, TK * KP>;
var<workgroup> ss: array<f32, BQ * SP>;
var<workgroup> ps: array<f16, BQ * PP>;
var<workgroup> rowa: array<f32, BQ>; // per row: rescale factor, then 1 / l (or l with SPLIT)
var<workgroup> rowm: array<f32, BQ>;
var<workgroup> flag: u32;



fn put_ks(p: u32, w: vec4<u32>) {
  let a = bitcast<vec2<f16>>(w.x);
  let b = bitcast<vec2<f16>>(w.y);
  let c = bitcast<vec2<f16>>(w.z);
  let d = bitcast<vec2<f16>>(w.w);
  ks[p] = a.x; ks[p + 1u] = a.y; ks[p + 2u] = b.x; ks[p + 3u] = b.y;
  ks[p + 4u] = c.x; ks[p + 5u] = c.y; ks[p + 6u] = d.x; ks[p + 7u] = d.y;
}

fn put_vs(p: u32, w: vec4<u32>) {
  let a = bitcast<vec2<f16>>(w.x);
  let b = bitcast<vec2<f16>>(w.y);
  let c = bitcast<vec2<f16>>(w.z);
  let d = bitcast<vec2<f16>>(w.w);
  vs[p] = a.x; vs[p + 1u] = a.y; vs[p + 2u] = b.x; vs[p + 3u] = b.y;
  vs[p + 4u] = c.x; vs[p + 5u] = c.y; vs[p + 6u] = d.x; vs[p + 7u] = d.y;
}

// The block's BQ query rows into ks (KR >= BQ); zeros past r1.
fn stage_q_all(b: u32, hk: u32, r0: u32, r1: u32, lid: u32) {
  workgroupBarrier();
  for (var u = lid; u < BQ * NCH; u = u + WG) {
    let rr = u / NCH;
    let c = u % NCH;
    var x = vec4<u32>();
    if (r0 + rr < r1) { x = q_raw(q_row(b, hk, r0 + rr), (u % NCH) * 8u); }
    put_ks(rr * KP + c * 8u, x);
  }
  workgroupBarrier();
}

// QSPLIT: query rows [first, first + 2 TK) of the block into ks (first TK) and vs (next TK).
fn stage_q(b: u32, hk: u32, r0: u32, r1: u32, first: u32, lid: u32) {
  workgroupBarrier();
  for (var u = lid; u < 2u * TK * NCH; u = u + WG) {
    let rr = u / NCH;
    let c = u % NCH;
    let r = r0 + first + rr;
    var x = vec4<u32>();
    if (first + rr < BQ && r < r1) { x = q_raw(q_row(b, hk, r), c * 8u); }
    let p = (rr % TK) * KP + c * 8u;
    if (rr < TK) { put_ks(p, x); } else { put_vs(p, x); }
  }
  workgroupBarrier();
}

// Multiplies the n fragments this subgroup stored in its ss rows by each row's factor rowa.
fn scale_rows(sg: u32, lane: u32, n: u32) {
  for (var e = lane; e < n * FS * FS; e = e + SG) {
    let rr = (e % (FS * FS)) / FS;
    let i = (sg * FS + rr) * SP + (e / (FS * FS)) * FS + e % FS;
    ss[i] = ss[i] * rowa[sg * FS + rr];
  }
}

// Writes the n output fragments this subgroup stored in its ss rows (columns d0..): O / l, or the
// split partials (m, l, O).
fn write_rows(b: u32, hk: u32, r0: u32, r1: u32, sp: u32, sg: u32, lane: u32, n: u32, d0: u32) {
  for (var e = 2u * lane; e < n * FS * FS; e = e + 2u * SG) {
    let rr = (e % (FS * FS)) / FS;
    let cc = (e / (FS * FS)) * FS + e % FS;
    let lr = sg * FS + rr;
    let row = r0 + lr;
    if (row >= r1) { continue; }
    let o = vec2<f32>(ss[lr * SP + cc], ss[lr * SP + cc + 1u]);
    let orow = out_row(b, hk, row);
    put_pair(orow * D, d0 + cc, o * rowa[lr]);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32) {
  let w = wid.x + wid.y * params.grid_x;
  if (w >= params.pad) { return; }
  let wk = work_of(w);
  let b = wk.b;
  let hk = wk.hk;
  let sp = wk.sp;
  let S = seq_len(b, lid);
  let sg = lid / SG;
  let r0 = wk.rb * BQ;
  let r1 = min(r0 + BQ, params.rows);
  let ends = block_ends(r0, r1, S);
  let kbeg = sp * params.chunk;
  let kend = min(ends.x, kbeg + params.chunk);
  let kfull = min(ends.y, kend);
  let kbase = params.k_off + b * params.k_sb + hk * params.k_sh;
  let vbase = params.v_off + b * params.v_sb + hk * params.v_sh;

  stage_q_all(b, hk, r0, r1, lid);
  let q0 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 0u, false, KP);
  let q1 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 16u, false, KP);
  let q2 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 32u, false, KP);
  let q3 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 48u, false, KP);
  let q4 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 64u, false, KP);
  let q5 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 80u, false, KP);
  let q6 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 96u, false, KP);
  let q7 = subgroupMatrixLoad<Left>(&ks, sg * FS * KP + 112u, false, KP);

  // This lane's softmax row and its keys e * LPR + part of each tile.
  let lrow = sg * FS + lane / LPR;
  let part_ = lane % LPR;
  let row = r0 + lrow;
  let lim = select(0u, min(row_end(row, S), kend), row < r1);
  let mrow = mask_row(b, hk, min(row, r1 - 1u));
  var m = inf_f32(true);
  var l = 0.0;
  var o0 = Acc(); var o1 = Acc(); var o2 = Acc(); var o3 = Acc(); var o4 = Acc(); var o5 = Acc(); var o6 = Acc(); var o7 = Acc();

  // K and V units (8 halves) of the next tile, in named registers (pk0.., pv0..): keys past kend
  // load key kend - 1 and are masked to zero, branch-free.
  var pk0 = vec4<u32>(); var pv0 = vec4<u32>(); var pk1 = vec4<u32>(); var pv1 = vec4<u32>(); var pk2 = vec4<u32>(); var pv2 = vec4<u32>(); var pk3 = vec4<u32>(); var pv3 = vec4<u32>();
  if (kbeg < kend) {
    let jn = kbeg;
    { let u = min(lid + 0u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk0 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv0 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
    { let u = min(lid + 128u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk1 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv1 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
    { let u = min(lid + 256u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk2 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv2 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
    { let u = min(lid + 384u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk3 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv3 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
  }
  for (var j0 = kbeg; j0 < kend; j0 = j0 + TK) {
    workgroupBarrier();
    if (lid == 0u) { flag = 0u; }
    { let u = lid + 0u; let p = (u / NCH) * KP + (u % NCH) * 8u; put_ks(p, pk0); put_vs(p, pv0); }
    { let u = lid + 128u; let p = (u / NCH) * KP + (u % NCH) * 8u; put_ks(p, pk1); put_vs(p, pv1); }
    { let u = lid + 256u; let p = (u / NCH) * KP + (u % NCH) * 8u; put_ks(p, pk2); put_vs(p, pv2); }
    { let u = lid + 384u; let p = (u / NCH) * KP + (u % NCH) * 8u; put_ks(p, pk3); put_vs(p, pv3); }
    workgroupBarrier();
    // The next tile's loads fly while this one computes.
    if (j0 + TK < kend) {
      let jn = j0 + TK;
      { let u = min(lid + 0u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk0 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv0 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
    { let u = min(lid + 128u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk1 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv1 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
    { let u = min(lid + 256u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk2 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv2 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
    { let u = min(lid + 384u, 511u); let j = jn + u / NCH; let jc = min(j, kend - 1u);
      let keep = vec4<u32>(select(0u, 0xffffffffu, j < kend));
      pk3 = k_raw(kbase + jc * params.k_ss, (u % NCH) * 8u) & keep;
      pv3 = v_raw(vbase + jc * params.v_ss, (u % NCH) * 8u) & keep; }
    }
    {
      var s = Acc();
      let k0 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 0u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q0, k0, s);
      let k1 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 16u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q1, k1, s);
      let k2 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 32u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q2, k2, s);
      let k3 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 48u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q3, k3, s);
      let k4 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 64u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q4, k4, s);
      let k5 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 80u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q5, k5, s);
      let k6 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 96u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q6, k6, s);
      let k7 = subgroupMatrixLoad<Right>(&ks, 0u * KP + 112u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q7, k7, s);
      subgroupMatrixStore(&ss, sg * FS * SP + 0u, s, false, SP);
    }
    {
      var s = Acc();
      let k0 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 0u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q0, k0, s);
      let k1 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 16u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q1, k1, s);
      let k2 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 32u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q2, k2, s);
      let k3 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 48u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q3, k3, s);
      let k4 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 64u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q4, k4, s);
      let k5 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 80u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q5, k5, s);
      let k6 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 96u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q6, k6, s);
      let k7 = subgroupMatrixLoad<Right>(&ks, 16u * KP + 112u, true, KP);
      s = subgroupMatrixMultiplyAccumulate(q7, k7, s);
      subgroupMatrixStore(&ss, sg * FS * SP + 16u, s, false, SP);
    }
    workgroupBarrier();

    let full = j0 + TK <= kfull;
    var sv: array<f32, KPL>;
    var tmax = inf_f32(true);
    for (var e = 0u; e < KPL; e = e + 1u) {
      let jj = e * LPR + part_;
      let j = j0 + jj;
      var s = ss[lrow * SP + jj] * params.scale;
      if (!full && j >= lim) {
        s = inf_f32(true);
      } else {
      }
      sv[e] = s;
      tmax = max(tmax, s);
    }
    for (var o = LPR / 2u; o > 0u; o = o >> 1u) { tmax = max(tmax, subgroupShuffleXor(tmax, o)); }
    var alpha = 1.0;
    if (!is_neg_inf(tmax)) {
      if (is_neg_inf(m)) {
        m = tmax; // nothing accumulated yet: nothing to rescale
      } else if (tmax > m + TAU) {
        alpha = exp2(m - tmax);
        m = tmax;
        flag = 1u;
      }
    }
    l = l * alpha;
    for (var e = 0u; e < KPL; e = e + 1u) {
      let p = select(exp2(sv[e] - m), 0.0, is_neg_inf(sv[e]));
      l = l + p;
      ps[lrow * PP + e * LPR + part_] = f16(p);
    }
    if (part_ == 0u) { rowa[lrow] = alpha; }
    if (workgroupUniformLoad(&flag) != 0u) {
      subgroupMatrixStore(&ss, sg * FS * SP + 0u, o0, false, SP);
      subgroupMatrixStore(&ss, sg * FS * SP + 16u, o1, false, SP);
      workgroupBarrier();
      scale_rows(sg, lane, 2u);
      workgroupBarrier();
      o0 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 0u, false, SP);
      o1 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 16u, false, SP);
      workgroupBarrier();
      subgroupMatrixStore(&ss, sg * FS * SP + 0u, o2, false, SP);
      subgroupMatrixStore(&ss, sg * FS * SP + 16u, o3, false, SP);
      workgroupBarrier();
      scale_rows(sg, lane, 2u);
      workgroupBarrier();
      o2 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 0u, false, SP);
      o3 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 16u, false, SP);
      workgroupBarrier();
      subgroupMatrixStore(&ss, sg * FS * SP + 0u, o4, false, SP);
      subgroupMatrixStore(&ss, sg * FS * SP + 16u, o5, false, SP);
      workgroupBarrier();
      scale_rows(sg, lane, 2u);
      workgroupBarrier();
      o4 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 0u, false, SP);
      o5 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 16u, false, SP);
      workgroupBarrier();
      subgroupMatrixStore(&ss, sg * FS * SP + 0u, o6, false, SP);
      subgroupMatrixStore(&ss, sg * FS * SP + 16u, o7, false, SP);
      workgroupBarrier();
      scale_rows(sg, lane, 2u);
      workgroupBarrier();
      o6 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 0u, false, SP);
      o7 = subgroupMatrixLoad<Acc>(&ss, sg * FS * SP + 16u, false, SP);
      workgroupBarrier();
    }
    let p0 = subgroupMatrixLoad<Left>(&ps, sg * FS * PP + 0u, false, PP);
    let p1 = subgroupMatrixLoad<Left>(&ps, sg * FS * PP + 16u, false, PP);
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 0u, false, KP); o0 = subgroupMatrixMultiplyAccumulate(p0, v, o0); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 0u, false, KP); o0 = subgroupMatrixMultiplyAccumulate(p1, v, o0); }
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 16u, false, KP); o1 = subgroupMatrixMultiplyAccumulate(p0, v, o1); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 16u, false, KP); o1 = subgroupMatrixMultiplyAccumulate(p1, v, o1); }
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 32u, false, KP); o2 = subgroupMatrixMultiplyAccumulate(p0, v, o2); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 32u, false, KP); o2 = subgroupMatrixMultiplyAccumulate(p1, v, o2); }
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 48u, false, KP); o3 = subgroupMatrixMultiplyAccumulate(p0, v, o3); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 48u, false, KP); o3 = subgroupMatrixMultiplyAccumulate(p1, v, o3); }
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 64u, false, KP); o4 = subgroupMatrixMultiplyAccumulate(p0, v, o4); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 64u, false, KP); o4 = subgroupMatrixMultiplyAccumulate(p1, v, o4); }
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 80u, false, KP); o5 = subgroupMatrixMultiplyAccumulate(p0, v, o5); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 80u, false, KP); o5 = subgroupMatrixMultiplyAccumulate(p1, v, o5); }
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 96u, false, KP); o6 = subgroupMatrixMultiplyAccumulate(p0, v, o6); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 96u, false, KP); o6 = subgroupMatrixMultiplyAccumulate(p1, v, o6); }
    { let v = subgroupMatrixLoad<Right>(&vs, 0u * KP + 112u, false, KP); o7 = subgroupMatrixMultiplyAccumulate(p0, v, o7); }
    { let v = subgroupMatrixLoad<Right>(&vs, 16u * KP + 112u, false, KP); o7 = subgroupMatrixMultiplyAccumulate(p1, v, o7); }
  }

  for (var o = LPR / 2u; o > 0u; o = o >> 1u) { l = l + subgroupShuffleXor(l, o); }
  workgroupBarrier();
  if (part_ == 0u) {
    rowa[lrow] = select(1.0 / l, 0.0, l == 0.0);
    rowm[lrow] = m;
  }
  subgroupMatrixStore(&ss, sg * FS * SP + 0u, o0, false, SP);
  subgroupMatrixStore(&ss, sg * FS * SP + 16u, o1, false, SP);
  workgroupBarrier();
  write_rows(b, hk, r0, r1, sp, sg, lane, 2u, 0u);
  workgroupBarrier();
  subgroupMatrixStore(&ss, sg * FS * SP + 0u, o2, false, SP);
  subgroupMatrixStore(&ss, sg * FS * SP + 16u, o3, false, SP);
  workgroupBarrier();
  write_rows(b, hk, r0, r1, sp, sg, lane, 2u, 32u);
  workgroupBarrier();
  subgroupMatrixStore(&ss, sg * FS * SP + 0u, o4, false, SP);
  subgroupMatrixStore(&ss, sg * FS * SP + 16u, o5, false, SP);
  workgroupBarrier();
  write_rows(b, hk, r0, r1, sp, sg, lane, 2u, 64u);
  workgroupBarrier();
  subgroupMatrixStore(&ss, sg * FS * SP + 0u, o6, false, SP);
  subgroupMatrixStore(&ss, sg * FS * SP + 16u, o7, false, SP);
  workgroupBarrier();
  write_rows(b, hk, r0, r1, sp, sg, lane, 2u, 96u);
  workgroupBarrier();
}

